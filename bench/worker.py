"""One benchmark solve in a process of its own: `python -m bench.worker` reads a job as JSON on stdin and
prints the result as JSON on stdout.

A process per solve gives each its own peak memory (`ru_maxrss`), keeps one solver's crash or runaway
from touching the others, and starts every solve from the same cold state, as a CLI user would.
"""

from __future__ import annotations

import json
import math
import resource
import sys
import time
from typing import Any

SOLVERS: dict[str, dict[str, Any]] = {
    "cpsat": {"backend": "cpsat"},
    "highs": {"backend": "pulp", "milp_solver": "highs"},
    "cbc": {"backend": "pulp", "milp_solver": "cbc"},
    "greedy": {"backend": "greedy"},
    "interval": {"backend": "cpsat"},  # the peer model of `bench.peers`, not the planner's
    "scip": {"backend": "pulp"},  # SCIP on the planner's MILP, through `bench.peers`
    "alone": {"backend": "cpsat", "race": False},  # CP-SAT without HiGHS beside it (`--no-race`)
}


def run(job: dict[str, Any]) -> dict[str, Any]:
    if job["suite"] == "queue":
        from bench import queue

        return queue.run(job)
    if job["suite"] == "api":
        from bench import api

        return api.run(job)
    if job["suite"] == "uncertainty":
        from bench import uncertainty

        return uncertainty.run(job)
    from bench.cases import load
    from planner.check import check_plan
    from planner.settings import SolveSettings
    from solver import solve

    began = time.perf_counter()
    scenario = load(job["case"])
    loaded = time.perf_counter()
    settings = SolveSettings(time_limit=job["time_limit"], seed=0, workers=job.get("workers", 0), **SOLVERS[job["solver"]])
    trajectory: list[tuple[float, float, float | None]] = []

    def progress(objective: float, bound: float, _: float) -> None:
        trajectory.append((time.perf_counter() - loaded, objective, None if math.isnan(bound) else bound))

    result: dict[str, Any] = {"load_seconds": loaded - began}
    if job.get("explain"):
        from solver.explain import explain

        plan = solve(scenario, settings)
        explained = time.perf_counter()
        explanation = explain(scenario, plan, counterfactuals=True, time_limit=job["resolve_limit"])
        result.update(
            explain_seconds=time.perf_counter() - explained,
            resolves=explanation.resolves,
            explained=len(explanation.initiatives),
            unexplained=len(explanation.unexplained),
        )
    elif job["solver"] == "interval":
        from bench.peers import interval_plan

        plan = interval_plan(scenario, settings)
    elif job["solver"] == "scip":
        from bench.peers import scip_plan

        plan = scip_plan(scenario, settings)
    else:
        plan = solve(scenario, settings, on_progress=progress)
    finished = time.perf_counter()
    violations = check_plan(scenario, plan) if plan.objective is not None else []
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # CBC runs as a child process
    result.update(
        status=plan.status.value,
        objective=plan.objective,
        bound=plan.best_bound,
        baseline=plan.baseline_objective,
        found_by=plan.found_by,
        bound_by=plan.bound_by,
        seconds=finished - loaded,
        trajectory=trajectory,
        valid=not violations,
        violations=[str(v) for v in violations[:3]],
        initiatives=len(scenario.initiatives),
        scheduled=len(plan.scheduled),
        peak_mb=(self_kb + children_kb) / 1024,
    )
    return result


def main() -> int:
    job = json.loads(sys.stdin.read())
    json.dump(run(job), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
