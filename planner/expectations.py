"""Does a plan show what its scenario expects, and has it regressed against an earlier plan?

Pure: it reads a solved plan, its scenario and (for regressions) an earlier plan of the same scenario.
`planner batch` runs these checks for CI; each failure names the expectation and says what was found.
"""

from __future__ import annotations

from pydantic import Field

from planner.compare import outcome
from planner.plan import Plan, is_required
from planner.scenario import Expectations, ExpectedStatus, Frozen, Scenario
from planner.scoring import improvement
from planner.settings import PlanStatus


class Unmet(Frozen):
    """One expectation (or regression rule) the plan does not meet."""

    check: str = Field(description="What was checked: `expect.<field>`, `regression.value` or `regression.mandatory`.")
    message: str = Field(description="What was expected and what the plan shows.")

    def __str__(self) -> str:
        return f"{self.check}: {self.message}"


def _status_met(expected: ExpectedStatus, status: PlanStatus) -> bool:
    if expected is ExpectedStatus.feasible:
        return status.found
    return status.value == expected.value


def unmet(scenario: Scenario, plan: Plan) -> list[Unmet]:
    """Every expectation of the scenario the plan misses. Without `expect:` a plan must merely exist."""
    expect = scenario.expect or Expectations()
    out: list[Unmet] = []

    def miss(field: str, message: str) -> None:
        out.append(Unmet(check=f"expect.{field}", message=message))

    if not _status_met(expect.status, plan.status):
        wanted = "a plan (optimal or feasible)" if expect.status is ExpectedStatus.feasible else expect.status.value
        miss("status", f"expected {wanted}, the solve ended {plan.status.value}" + (f": {plan.message}" if plan.message else ""))
    if not plan.status.found:
        return out  # the other expectations are about a plan's content; without one, the status says it all
    scheduled = {s.id for s in plan.scheduled}
    for initiative_id in expect.scheduled:
        if initiative_id not in scheduled:
            reason = plan.reasons().get(initiative_id)
            miss("scheduled", f"'{initiative_id}' is not scheduled" + (f" ({reason.value})" if reason else ""))
    for initiative_id in expect.not_scheduled:
        if initiative_id in scheduled:
            miss("not_scheduled", f"'{initiative_id}' is scheduled, starting {plan.scheduled_by_id()[initiative_id].start}")
    if expect.min_value is not None and (plan.objective is None or plan.objective < expect.min_value):
        miss("min_value", f"expected at least {expect.min_value:g}, the plan's value is {plan.objective:g}")
    if expect.max_gap is not None and (plan.gap is None or plan.gap > expect.max_gap):
        gap = "unknown (no bound)" if plan.gap is None else f"{plan.gap:.2%}"
        miss("max_gap", f"expected a gap of at most {float(expect.max_gap):.2%}, the plan's is {gap}")
    figures = outcome(scenario, plan)
    if expect.invisible_share_min is not None and (figures.invisible_share or 0) < expect.invisible_share_min:
        miss(
            "invisible_share_min",
            f"expected invisible work to be at least {float(expect.invisible_share_min):.1%} of capacity, it is {figures.invisible_share or 0:.1%}",
        )
    if expect.deadlines_met and figures.deadlines_met < figures.deadlines:
        missed = [i.id for i in scenario.initiatives if i.deadline and i.id not in scheduled]
        miss("deadlines_met", f"{len(missed)} of {figures.deadlines} initiatives with a deadline are not scheduled: {', '.join(missed)}")
    return out


def regressions(scenario: Scenario, plan: Plan, earlier: Plan, max_regression: float) -> list[Unmet]:
    """How the plan is worse than an earlier plan of the same scenario file.

    It regresses when its objective is worse by more than `max_regression` (a share of the earlier
    objective), or when an initiative the earlier plan scheduled as required (mandatory or committed, then
    or now) is no longer scheduled, or no longer in the scenario at all.
    """
    out: list[Unmet] = []
    if earlier.objective is not None:
        if plan.objective is None:
            out.append(Unmet(check="regression.value", message=f"the earlier plan had {earlier.objective:g}; this solve ended {plan.status.value}"))
        else:
            worse = -improvement(scenario.policies.objective, earlier.objective, plan.objective)
            allowed = max_regression * abs(earlier.objective)
            if worse > allowed + 1e-9:
                share = f" ({worse / abs(earlier.objective):.2%})" if earlier.objective else ""
                out.append(
                    Unmet(
                        check="regression.value",
                        message=f"{earlier.objective:g} before, {plan.objective:g} now: worse by {worse:g}{share}, more than --max-regression {max_regression:.2%}",
                    )
                )
    scheduled = {s.id for s in plan.scheduled}
    by_id = scenario.initiative_by_id
    for item in earlier.scheduled:
        required = item.required or (item.id in by_id and is_required(by_id[item.id], scenario))
        if item.id in scheduled or not required:
            continue
        now = "is no longer in the scenario" if item.id not in by_id else "is not scheduled now"
        out.append(Unmet(check="regression.mandatory", message=f"required '{item.id}' was scheduled before (from {item.start}) and {now}"))
    return out
