"""`planner check SCENARIO --plan PLAN.json`: does a plan still hold against its scenario, which may have changed since?

The plan's decisions (what it schedules, when, by which teams) are what must fit: a decision that breaks
a rule of the scenario fails the check. The figures the plan reports about itself (loads, utilisation,
the objective, the cost of changes) were right for the scenario it was made for; when that scenario has
changed since, they are listed as stale and do not fail it (`Violation.figure`).
"""

from __future__ import annotations

import json

from pydantic import BaseModel, Field

from planner.check import Violation, check_plan
from planner.errors import Problem, ScenarioError, Severity
from planner.loader import load, load_plan
from planner.settings import PlanStatus


class PlanCheck(BaseModel):
    """What checking one plan file against one scenario file found."""

    scenario: str = Field(description="The scenario file, as given.")
    plan: str = Field(description="The plan file, as given.")
    status: PlanStatus | None = Field(default=None, description="The plan's status; None when the plan file cannot be read.")
    scheduled: int = Field(default=0, description="Initiatives the plan schedules.")
    problems: list[Problem] = Field(default_factory=list, description="What is wrong with either file (errors), or suspicious in the scenario (warnings).")
    violations: list[Violation] = Field(default_factory=list, description="Rules of the scenario the plan's decisions break.")
    stale: list[Violation] = Field(default_factory=list, description="Figures the plan reports that its decisions and this scenario give differently.")
    strict: bool = Field(default=False, description="Warnings about the scenario fail the check.")

    @property
    def readable(self) -> bool:
        """Both files could be read: the plan was checked."""
        return not any(p.severity is Severity.error for p in self.problems)

    @property
    def holds(self) -> bool:
        return self.readable and not self.violations and not (self.strict and self.problems)


def check_files(scenario_path: str, plan_path: str, *, strict: bool = False) -> PlanCheck:
    """Read both files (every problem of either is reported, each located) and check the plan against the scenario."""
    problems: list[Problem] = []
    scenario = plan = None
    try:
        loaded = load(scenario_path)
        scenario, problems = loaded.scenario, list(loaded.warnings)
    except ScenarioError as exc:
        problems += exc.as_problems()
    try:
        plan = load_plan(plan_path)
    except ScenarioError as exc:
        problems += exc.as_problems()
    found = check_plan(scenario, plan) if scenario is not None and plan is not None else []
    return PlanCheck(
        scenario=scenario_path,
        plan=plan_path,
        status=plan.status if plan else None,
        scheduled=len(plan.scheduled) if plan else 0,
        problems=problems,
        violations=[v for v in found if not v.figure],
        stale=[v for v in found if v.figure],
        strict=strict,
    )


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def text(result: PlanCheck) -> str:
    """Each problem and violation on a line of its own, named like the model's rows; the stale figures apart; then the verdict."""
    lines = [str(p) for p in result.problems] + [str(v) for v in result.violations]
    if result.stale:
        lines.append("Stale figures (the plan reports them, this scenario gives them differently; they do not fail the check):")
        lines += [f"  {v}" for v in result.stale]
    against = f"{result.plan} against {result.scenario}"
    stale = f"; {_count(len(result.stale), 'stale figure')}" if result.stale else ""
    if not result.readable:
        lines.append(f"failed {against}: cannot be checked")
    elif result.violations:
        lines.append(f"failed {against}: {_count(len(result.violations), 'violation')}{stale}")
    elif not result.holds:
        lines.append(f"failed {against}: {_count(len(result.problems), 'warning')} about the scenario, and --strict treats warnings as errors")
    elif result.status in (PlanStatus.infeasible, PlanStatus.unknown):
        lines.append(f"ok {against}: nothing to check, the plan has status {result.status.value} and schedules nothing")
    else:
        lines.append(f"ok {against}: the {_count(result.scheduled, 'scheduled initiative')} keep every rule{stale}")
    return "\n".join(lines) + "\n"


def as_json(result: PlanCheck) -> str:
    """The result for CI: whether it holds, and each violation and stale figure with its name and the ids it is about."""

    def listed(violations: list[Violation]) -> list[dict[str, object]]:
        return [{"name": v.name, **v.model_dump(mode="json")} for v in violations]

    document = {
        "scenario": result.scenario,
        "plan": result.plan,
        "holds": result.holds,
        "checked": result.readable,
        "status": result.status.value if result.status else None,
        "scheduled": result.scheduled,
        "violations": listed(result.violations),
        "stale_figures": listed(result.stale),
        "problems": [p.model_dump(mode="json") for p in result.problems],
    }
    return json.dumps(document, indent=2) + "\n"


FORMATS = {"text": text, "json": as_json}
