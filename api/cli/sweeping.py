"""`planner sweep`: solve the points of a trade-off curve in parallel processes.

The points are split into `jobs` runs of neighbouring settings; each run is one process that solves its
points in order, each warm-started from the plan of the point before it (`planner.sweep.solve_points`),
so a process pays for a hard first point once and its neighbours start close to their answer.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from api.cli.processes import Crashed, run_each
from planner.loader import load
from planner.scenario import Scenario
from planner.settings import SolveSettings
from planner.sweep import Knob, Solved, Sweep, assemble, point_settings, solve_points
from solver import solve


class Run(BaseModel):
    """Neighbouring points of a sweep, solved in order by one process."""

    path: str
    knob: Knob
    team: str | None
    settings: list[float]
    solve: SolveSettings


def solve_run(run: Run) -> list[Solved]:
    """Each point's plan, or the reason its scenario is not valid (in a child process)."""
    return solve_points(
        load(run.path).scenario,
        run.knob,
        run.team,
        run.settings,
        lambda at, previous, setting: solve(at, point_settings(run.knob, setting, run.solve), warm_start=previous),
    )


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
    path: str,
    scenario: Scenario,
    knob: Knob,
    team: str | None,
    settings: list[float],
    solve_settings: SolveSettings,
    jobs: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> Sweep:
    """Solve every point of the scenario in `path` (loaded as `scenario`) in `jobs` processes, which read the file
    themselves, and assemble the curve; a crashed run's points say so."""
    cut = runs(path, knob, team, settings, solve_settings, jobs)
    solved: list[Solved] = []
    for index, result in run_each(solve_run, cut, jobs=jobs):
        if isinstance(result, Crashed):
            solved += [(s, None, result.message) for s in cut[index].settings]
        else:
            solved += result
        if on_progress:
            on_progress(len(solved), len(settings))
    return assemble(scenario, knob, team, solved)
