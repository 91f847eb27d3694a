"""Solvers: scenario in, plan out. Builds on the `planner` domain; the domain never imports this package.

`solve` is the one entry point: it runs the rank-ordered greedy baseline, gives its plan to the chosen
backend as a first solution, and reports the backend's plan with the baseline's value and the uplift.
"""

from __future__ import annotations

import math
import time

from planner.check import check_plan
from planner.plan import Placement, Plan, PlanStatus, SolveSettings, build_plan, placements_of, score_placements
from planner.scenario import Scenario
from planner.scoring import improvement
from solver.cpsat import Progress, solve_cpsat
from solver.greedy import greedy_plan

__all__ = ["Progress", "greedy_plan", "solve"]

GREEDY = "greedy"
"""A plan's `found_by` when it is the rank-ordered baseline's."""


def solve(
    scenario: Scenario,
    settings: SolveSettings | None = None,
    *,
    on_progress: Progress | None = None,
    warm_start: Plan | None = None,
    search_time: float | None = None,
) -> Plan:
    """The best plan the backend finds within the settings' limits; infeasibility is a status, never an exception.

    `warm_start` is a plan of a neighbouring scenario (a sweep's previous point): when its decisions keep
    every rule of this scenario and beat the baseline's, the backend starts from them instead.

    `search_time` is the share of the settings' time limit the search may take, when the rest is kept for the
    reasons that come with the plan (`planner.settings.split_time`); the plan's settings keep the whole limit,
    with which a solve with reasons reproduces it.
    """
    began = time.perf_counter()
    settings = settings or SolveSettings()
    asked = settings
    if search_time is not None:
        settings = settings.model_copy(update={"time_limit": search_time})
    baseline = greedy_plan(scenario, settings)
    # The baseline's plan is the backend's first solution (CP-SAT) or its makespan bound (both).
    hint = placements_of(scenario, baseline) if baseline.status is PlanStatus.feasible else None
    if warm_start is not None and warm_start.status.found:
        hint = _better_start(scenario, settings, hint, placements_of(scenario, warm_start))
    if on_progress and baseline.objective is not None and settings.backend != "greedy":  # the plan held from the start
        on_progress(baseline.objective, math.nan, time.perf_counter() - began)
    if settings.backend == "greedy":
        plan = baseline.model_copy(update={"found_by": GREEDY if baseline.objective is not None else None})
    elif settings.backend == "pulp":
        from solver.milp import solve_milp  # PuLP is only imported when asked for

        plan = solve_milp(scenario, settings, hint=hint, on_progress=on_progress, began=began)
    else:
        plan = solve_cpsat(scenario, settings, hint=hint, on_progress=on_progress, began=began)
    plan = with_baseline(_no_worse(plan, baseline, scenario, began), baseline, scenario)
    return plan if search_time is None else plan.model_copy(update={"settings": asked})


def _no_worse(plan: Plan, baseline: Plan, scenario: Scenario, began: float) -> Plan:
    """The backend's plan, or the baseline's when the backend stopped at its time limit with none as good
    (CBC, which takes no start; any backend given too little time): a solve never returns less than the
    valid plan it already held. The backend's bound, when it proved one, still stands."""
    if baseline.status is not PlanStatus.feasible or baseline.objective is None or plan.status in (PlanStatus.optimal, PlanStatus.infeasible):
        return plan
    if plan.objective is not None and improvement(scenario.policies.objective, baseline.objective, plan.objective) >= 0:
        return plan
    kept = build_plan(
        scenario,
        placements_of(scenario, baseline),
        status=PlanStatus.feasible,
        best_bound=plan.best_bound,
        solve_seconds=time.perf_counter() - began,
        backend=plan.backend,
        settings=plan.settings,
    )
    why = "its best plan was below the rank-ordered baseline's, which is kept" if plan.objective is not None else "the rank-ordered baseline's plan is kept"
    return kept.model_copy(update={"message": f"{plan.message}; {why}", "found_by": GREEDY, "bound_by": plan.bound_by})


def with_baseline(plan: Plan, baseline: Plan, scenario: Scenario) -> Plan:
    """The plan with the baseline's objective and the uplift over it (positive = better than the baseline)."""
    if plan.objective is None or baseline.objective is None:
        return plan.model_copy(update={"baseline_objective": baseline.objective})
    uplift = improvement(scenario.policies.objective, baseline.objective, plan.objective)
    return plan.model_copy(update={"baseline_objective": baseline.objective, "uplift": round(uplift, 6)})


def _better_start(
    scenario: Scenario,
    settings: SolveSettings,
    baseline: dict[str, Placement] | None,
    neighbour: dict[str, Placement],
) -> dict[str, Placement] | None:
    """The neighbour's decisions when they are valid here (the solver-free checker says so) and at least as good."""
    rebuilt = build_plan(scenario, neighbour, status=PlanStatus.feasible, best_bound=None, solve_seconds=0, backend="greedy", settings=settings)
    forced = any(i in settings.force_out for i in neighbour) or any(i not in neighbour for i in settings.force_in)
    if forced or check_plan(scenario, rebuilt):
        return baseline
    if baseline is None:
        return neighbour
    gain = improvement(scenario.policies.objective, score_placements(scenario, baseline), score_placements(scenario, neighbour))
    return neighbour if gain >= 0 else baseline
