"""`planner batch`: solve scenario files for CI, check each, and report in the forms CI reads.

Each scenario is solved in its own process (`api.cli.processes`), so one that crashes or overruns fails alone.
A scenario passes when it is valid, its plan passes the solver-free checker, the plan shows what its
`expect:` block asks (without one: that a plan exists) and, with a baseline, it has not regressed.
Reports: JUnit XML (one test case per scenario), a Markdown summary for a CI job page, and per scenario
its JSON plan and a self-contained HTML report, each written as soon as that scenario is done.
"""

from __future__ import annotations

import glob
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from api.cli.files import write_atomically
from api.cli.processes import Crashed, run_each
from api.render import plans, tables
from planner.check import check_plan
from planner.errors import ScenarioError
from planner.expectations import Unmet, regressions, unmet
from planner.loader import load
from planner.plan import Plan
from planner.scenario import Scenario
from planner.settings import SolveSettings, TimeSplit
from solver import solve
from solver.explain import explain

# A folder is searched for YAML only: JSON beside scenarios is usually a plan (a `previous_plan`, a report).
# A JSON scenario is named as a file or by a pattern.
FOLDER_SUFFIXES = (".yaml", ".yml")


class Case(BaseModel):
    """One scenario file to run, and how."""

    path: str
    key: str = Field(description="Its name in the reports: the path below the inputs' common folder, without suffix.")
    settings: SolveSettings = Field(description="Its time limit is the whole case's: the search and the reasons together (`split`).")
    split: TimeSplit
    reasons: bool = Field(description="Explain why work is out or late (for the HTML report).")
    baseline: str | None = Field(default=None, description="Where an earlier JSON plan of this scenario would be (it may not exist yet).")
    max_regression: float = 0.0


class CaseResult(BaseModel):
    """What running one scenario gave; `plan` is None when the file was invalid or the process crashed."""

    path: str
    key: str
    scenario: str | None = None
    plan: Plan | None = None
    headline: str = ""
    problems: list[str] = Field(default_factory=list, description="The file's located errors: it is invalid.")
    warnings: list[str] = Field(default_factory=list)
    violations: list[str] = Field(default_factory=list, description="Rules the plan breaks, found by the plan checker.")
    failures: list[Unmet] = Field(default_factory=list, description="Expectations unmet and regressions.")
    baseline: str = Field(default="", description="What the plan was compared with, for the reports.")
    crashed: str | None = None
    html: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not (self.problems or self.violations or self.failures or self.crashed)

    def reasons(self) -> list[str]:
        """Why it failed, one line each."""
        if self.crashed:
            return [self.crashed]
        return [*self.problems, *(f"plan checker: {v}" for v in self.violations), *map(str, self.failures)]


def collect(patterns: list[str], skip: list[str] | None = None) -> list[Path]:
    """The scenario files named: files as given, folders searched for .yaml/.yml, globs expanded.

    A folder search passes over hidden folders and the folders in `skip` (the run's own report and baseline folders, whose
    JSON plans are not scenarios). Raises ValueError (a usage error) for a name that matches nothing, so a
    typo never passes as "0 failed".
    """
    skipped = [Path(s).resolve() for s in skip or []]
    found: list[Path] = []
    for pattern in patterns:
        if os.path.isdir(pattern):
            matches = sorted(
                p
                for p in Path(pattern).rglob("*")
                if p.suffix in FOLDER_SUFFIXES
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(pattern).parts)
                and not any(p.resolve().is_relative_to(s) for s in skipped)
            )
            if not matches:
                raise ValueError(f"{pattern}: no scenario files (.yaml, .yml) in this folder")
        elif os.path.isfile(pattern):
            matches = [Path(pattern)]
        else:
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
            if not matches:
                raise ValueError(f"{pattern}: no such file, and no file matches it as a pattern")
        found += [m for m in matches if m not in found]
    return found


def keys(paths: list[Path]) -> list[str]:
    """Report names: each path below the common folder of them all, without its suffix; unique or a ValueError."""
    folders = [str(p.resolve().parent) for p in paths]
    root = Path(os.path.commonpath(folders))
    names = [str(p.resolve().relative_to(root).with_suffix("")) for p in paths]
    for name in set(names):
        clash = [str(p) for p, n in zip(paths, names) if n == name]
        if len(clash) > 1:
            raise ValueError(f"{' and '.join(clash)} would write the same reports ({name}.json): rename one")
    return names


def run_case(case: Case) -> CaseResult:
    """Load, solve, explain and check one scenario (in a child process)."""
    began = time.perf_counter()
    result = CaseResult(path=case.path, key=case.key)
    try:
        loaded = load(case.path)
    except ScenarioError as exc:
        return result.model_copy(update={"problems": [str(p) for p in exc.problems], "seconds": time.perf_counter() - began})
    scenario = loaded.scenario
    plan = solve(scenario, case.settings, search_time=case.split.search)
    if case.reasons:
        explanation = explain(scenario, plan, counterfactuals=False, time_limit=case.split.resolve, budget=case.split.left(began))
        plan = plan.model_copy(update={"explanation": explanation})
    failures = unmet(scenario, plan)
    compared = "no baseline"
    if case.baseline and not os.path.exists(case.baseline):
        compared = f"no earlier plan at {case.baseline}"
    elif case.baseline:
        try:
            earlier = Plan.model_validate_json(Path(case.baseline).read_text(encoding="utf-8"))
        except (OSError, ValidationError, ValueError) as exc:
            failures.append(
                Unmet(check="regression.baseline", message=f"{case.baseline} is not a plan JSON ({type(exc).__name__}): {str(exc).splitlines()[0]}")
            )
        else:
            failures += regressions(scenario, plan, earlier, case.max_regression)
            compared = f"compared with {case.baseline}"
    violations = [str(v) for v in check_plan(scenario, plan)]
    checks = [(True, f"expected {_expected(scenario)}"), (True, compared)] if not (failures or violations) else []
    checks += [(False, str(f)) for f in failures] + [(False, f"plan checker: {v}") for v in violations]
    return result.model_copy(
        update={
            "scenario": scenario.name,
            "plan": plan,
            "headline": plans.headline(plan, scenario),
            "warnings": [str(w) for w in loaded.warnings],
            "violations": violations,
            "failures": failures,
            "baseline": compared,
            "html": plans.page(plan, scenario, checks),
            "seconds": time.perf_counter() - began,
        }
    )


def _expected(scenario: Scenario) -> str:
    """The scenario's expectations in a few words, for a report that shows what passed."""
    if scenario.expect is None:
        return "a plan (no expect: block)"
    fields = scenario.expect.model_dump(mode="json", exclude_defaults=True)
    fields.setdefault("status", scenario.expect.status.value)
    shown = {k: ", ".join(v) if isinstance(v, list) else format(v, "g") if isinstance(v, float) else v for k, v in fields.items()}
    return "; ".join(f"{k} {v}" for k, v in shown.items())


def case_timeout(settings: SolveSettings) -> float:
    """Seconds after which a scenario's process is stopped: its time limit (the solve and its reasons), twice
    over, and start-up."""
    return 2 * settings.time_limit + 60


def run(cases: list[Case], *, jobs: int, report_dir: str | None) -> Iterator[CaseResult]:
    """Run the cases, `jobs` at a time, yielding each result as it finishes (its reports already written)."""
    timeout = max((case_timeout(c.settings) for c in cases), default=None)
    for index, outcome in run_each(run_case, cases, jobs=jobs, timeout=timeout):
        case = cases[index]
        result = CaseResult(path=case.path, key=case.key, crashed=outcome.message) if isinstance(outcome, Crashed) else outcome
        if report_dir:
            for suffix, text in ((".json", plans.as_json(result.plan) if result.plan else None), (".html", result.html)):
                target = Path(report_dir) / f"{result.key}{suffix}"
                if text is not None:
                    write_atomically(target, text)
                else:
                    target.unlink(missing_ok=True)  # a stale plan from an earlier run must not pass as this run's baseline
        yield result


# --- reports -------------------------------------------------------------------------------------------------


def _status(result: CaseResult) -> str:
    if result.crashed:
        return "crashed"
    if result.plan is None:
        return "invalid"
    return result.plan.status.value


def line(result: CaseResult) -> str:
    """One line for a terminal or a CI log."""
    return f"{'pass' if result.passed else 'FAIL'}  {result.path}: {result.headline or _status(result)}"


def junit(results: list[CaseResult], seconds: float) -> str:
    """JUnit XML: one test case per scenario; a crash is an error, anything else that fails is a failure."""
    failures = sum(1 for r in results if not r.passed and not r.crashed)
    errors = sum(1 for r in results if r.crashed)
    suites = ET.Element("testsuites", name="planner batch", tests=str(len(results)), failures=str(failures), errors=str(errors), time=f"{seconds:.3f}")
    suite = ET.SubElement(suites, "testsuite", name="planner batch", tests=str(len(results)), failures=str(failures), errors=str(errors), time=f"{seconds:.3f}")
    for r in sorted(results, key=lambda r: r.key):
        case = ET.SubElement(suite, "testcase", classname="scenarios", name=r.key, file=r.path, time=f"{r.seconds:.3f}")
        if not r.passed:
            reasons = r.reasons()
            tag = "error" if r.crashed else "failure"
            element = ET.SubElement(case, tag, message=f"{r.path}: {reasons[0]}", type=_status(r))
            element.text = "\n".join(reasons)
        out = [line(r), r.baseline, *(f"warning: {w}" for w in r.warnings)]
        ET.SubElement(case, "system-out").text = "\n".join(x for x in out if x)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _figure(value: float | None, fmt: str) -> str:
    return "" if value is None else format(value, fmt)


def summary(results: list[CaseResult], seconds: float) -> str:
    """Markdown for a CI job summary: a table of every scenario, then what failed."""
    passed = sum(1 for r in results if r.passed)
    out = [f"## Planner batch: {passed} of {len(results)} scenarios passed ({seconds:.1f} s)", ""]
    rows = []
    for r in sorted(results, key=lambda r: r.key):
        p = r.plan
        share = p.uplift_share() if p else None
        uplift = _figure(p.uplift if p else None, "+,.2f") + (f" ({share:+.1%})" if share is not None else "")
        rows.append(
            [
                "pass" if r.passed else "**FAIL**",
                f"`{r.path}`",
                _status(r),
                _figure(p.objective if p else None, ",.2f"),
                uplift,
                _figure(p.gap if p else None, ".2%"),
                f"{r.seconds:.1f}",
            ]
        )
    out += tables.markdown(["", "Scenario", "Status", "Value", "Uplift over baseline", "Gap", "Seconds"], rows)
    failed = [r for r in sorted(results, key=lambda r: r.key) if not r.passed]
    if failed:
        out += ["### Failures", ""]
        for r in failed:
            out.append(f"- `{r.path}`")
            out += [f"  - {reason}" for reason in r.reasons()]
    return "\n".join(out) + "\n"
