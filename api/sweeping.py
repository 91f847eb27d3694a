"""`planner sweep`: solve the points of a trade-off curve in parallel processes, and render the curve.

The points are split into `jobs` runs of neighbouring settings; each run is one process that solves its
points in order, each warm-started from the plan of the point before it (`solver.solve(warm_start=)`),
so a process pays for a hard first point once and its neighbours start close to their answer.
"""

from __future__ import annotations

import json
from typing import Callable

from pydantic import BaseModel

from api import pages, tables
from api.processes import Crashed, run_each
from planner.errors import ScenarioError
from planner.loader import load
from planner.plan import Plan
from planner.scenario import Scenario
from planner.settings import PlanStatus, SolveSettings
from planner.sweep import Knob, Sweep, assemble, label, point_scenario
from solver import solve


class Run(BaseModel):
    """Neighbouring points of a sweep, solved in order by one process."""

    path: str
    knob: Knob
    team: str | None
    settings: list[float]
    solve: SolveSettings


def solve_run(run: Run) -> list[tuple[float, Plan | None, str | None]]:
    """Each point's plan, or the reason its scenario is not valid (in a child process)."""
    return solve_points(load(run.path).scenario, run.knob, run.team, run.settings, run.solve)


def solve_points(
    scenario: Scenario, knob: Knob, team: str | None, settings: list[float], solve_settings: SolveSettings,
    on_point: Callable[[int, int], None] | None = None,
) -> list[tuple[float, Plan | None, str | None]]:
    """Solve the points in order, each warm-started from the plan before it; a point whose scenario breaks a rule says why."""
    out: list[tuple[float, Plan | None, str | None]] = []
    previous: Plan | None = None
    for setting in settings:
        try:
            at = point_scenario(scenario, knob, setting, team)
        except ScenarioError as exc:
            out.append((setting, None, "not valid: " + "; ".join(p.message for p in exc.problems)))
        else:
            plan = solve(at, solve_settings, warm_start=previous)
            out.append((setting, plan, None))
            previous = plan if plan.status.found else previous
        if on_point:
            on_point(len(out), len(settings))
    return out


def runs(path: str, knob: Knob, team: str | None, settings: list[float], solve_settings: SolveSettings, jobs: int) -> list[Run]:
    """The settings cut into `jobs` runs of neighbours, as even as they come."""
    count = max(1, min(jobs, len(settings)))
    size, extra = divmod(len(settings), count)
    out, start = [], 0
    for k in range(count):
        end = start + size + (1 if k < extra else 0)
        out.append(Run(path=path, knob=knob, team=team, settings=settings[start:end], solve=solve_settings))
        start = end
    return out


def sweep(
    path: str, scenario: Scenario, knob: Knob, team: str | None, settings: list[float], solve_settings: SolveSettings, jobs: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> Sweep:
    """Solve every point of the scenario in `path` (loaded as `scenario`) in `jobs` processes, which read the file
    themselves, and assemble the curve; a crashed run's points say so."""
    cut = runs(path, knob, team, settings, solve_settings, jobs)
    solved: list[tuple[float, Plan | None, str | None]] = []
    for index, result in run_each(solve_run, cut, jobs=jobs):
        if isinstance(result, Crashed):
            solved += [(s, None, result.message) for s in cut[index].settings]
        else:
            solved += result
        if on_progress:
            on_progress(len(solved), len(settings))
    return assemble(scenario, knob, team, solved)


# --- rendering ----------------------------------------------------------------------------------------------


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _title(s: Sweep) -> str:
    if s.knob is Knob.invisible_floor:
        return f"{s.scenario}: value against the invisible-work floor"
    whose = f"team {s.team}" if s.team else "every team"
    return f"{s.scenario}: value against the capacity of {whose}"


def rows(s: Sweep) -> tuple[list[str], list[list[str]]]:
    knob = "capacity" if s.knob is Knob.capacity else "floor"
    header = [knob, "status", "value", "change", "gap", "entered", "left"]
    out = []
    for p in s.points:
        status = p.status.value if p.status else p.problem or ""
        out.append([
            label(s.knob, p.setting) + (" (knee)" if p.setting == s.knee else ""), status, _num(p.objective),
            "" if p.change is None else f"{p.change:+,.2f}", "-" if p.gap is None else f"{p.gap:.1%}", ", ".join(p.entered), ", ".join(p.left),
        ])
    return header, out


def _notes(s: Sweep) -> list[str]:
    notes = []
    if s.knee is not None:
        curve = [(p.setting, p.objective) for p in s.points if p.objective is not None]
        k = [x for x, _ in curve].index(s.knee)
        before = (curve[k][1] - curve[0][1]) / k
        after = (curve[-1][1] - curve[k][1]) / (len(curve) - 1 - k)
        notes.append(
            f"Knee at {label(s.knob, s.knee)}: the curve bends most there. Up to it the value changes by {before:+,.2f} "
            f"per step on average, beyond it by {after:+,.2f}."
        )
    else:
        notes.append("No knee: fewer than three points with a plan, or the curve is close to a straight line.")
    if s.falls:
        where = ", ".join(label(s.knob, f) for f in s.falls)
        why = "invisible-work floors are shares of capacity, so more capacity can require more invisible work"
        if any(p.status is not PlanStatus.optimal for p in s.points if p.setting in s.falls):
            why += "; and a solve stopped by its time limit may fall short of the best plan"
        notes.append(f"The plan gets worse at {where} although capacity grew: {why}.")
    return notes


def table(s: Sweep) -> str:
    return "\n".join([_title(s), "", *tables.aligned(*rows(s)), "", *_notes(s)]) + "\n"


def markdown(s: Sweep) -> str:
    return "\n".join([f"# {_title(s)}", "", *tables.markdown(*rows(s)), *_notes(s)]) + "\n"


def as_json(s: Sweep) -> str:
    return json.dumps(s.model_dump(mode="json"), indent=2) + "\n"


def page(s: Sweep) -> str:
    return pages.document(_title(s), [f"<h1>{pages.escape(_title(s))}</h1>", pages.table(*rows(s)), pages.items(_notes(s))])


FORMATS = {"table": table, "json": as_json, "md": markdown, "html": page}
