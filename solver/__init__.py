"""Solvers: scenario in, plan out. Builds on the `planner` domain; the domain never imports this package.

`solve` is the one entry point: it runs the rank-ordered greedy baseline, gives its plan to the chosen
backend as a first solution, and reports the backend's plan with the baseline's value and the uplift.
"""

from __future__ import annotations

import math
import time

from planner.check import check_plan
from planner.plan import Placement, Plan, PlanStatus, SolveSettings, build_plan, placements_of
from planner.scenario import Scenario
from planner.scoring import improvement
from planner.uncertainty import valued
from solver.cpsat import Progress, solve_cpsat
from solver.greedy import greedy_plan

__all__ = ["Progress", "greedy_plan", "solve"]

GREEDY, WARM_START, PREVIOUS_PLAN = "greedy", "warm start", "previous plan"
"""A plan's `found_by` when it is the plan held before the search: the rank-ordered baseline's, a neighbouring
scenario's (a sweep's previous point) or the scenario's `previous_plan`."""


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
    every rule of this scenario and beat the baseline's, the backend starts from them instead. So does the
    scenario's `previous_plan` (a re-plan), under the same conditions.

    `search_time` is the share of the settings' time limit the search may take, when the rest is kept for the
    reasons that come with the plan (`planner.settings.split_time`); the plan's settings keep the whole limit,
    with which a solve with reasons reproduces it.
    """
    began = time.perf_counter()
    settings = settings or SolveSettings()
    if settings.confidence is not None:  # the robust plan: solves with headroom, each one simulated
        from solver.robust import solve_robust

        total = search_time or settings.time_limit
        return solve_robust(scenario, settings, solve, total=total, on_progress=on_progress, warm_start=warm_start)
    scenario = valued(scenario, settings)  # `--objective expected`: planned on expected values
    asked = settings
    if search_time is not None:
        settings = settings.model_copy(update={"time_limit": search_time})
    baseline = greedy_plan(scenario, settings)
    # The plan held before the search: the baseline's, or a neighbour's or the previous plan's when they keep every
    # rule and are worth more. It is the backend's first solution (CP-SAT, HiGHS) and its makespan bound.
    held = baseline.model_copy(update={"found_by": GREEDY}) if baseline.status is PlanStatus.feasible else None
    if warm_start is not None and warm_start.status.found:
        held = _better_start(scenario, settings, held, placements_of(scenario, warm_start), WARM_START)
    if previous := _previous_placements(scenario):
        held = _better_start(scenario, settings, held, previous, PREVIOUS_PLAN)
    hint = placements_of(scenario, held) if held is not None else None
    if on_progress and held is not None and held.objective is not None and settings.backend != "greedy":
        on_progress(held.objective, math.nan, time.perf_counter() - began)
    if settings.backend == "greedy":
        plan = baseline.model_copy(update={"found_by": GREEDY if baseline.objective is not None else None})
    elif settings.backend == "pulp":
        from solver.milp import solve_milp  # PuLP is only imported when asked for

        plan = solve_milp(scenario, settings, hint=hint, on_progress=on_progress, began=began)
    else:
        plan = solve_cpsat(scenario, settings, hint=hint, on_progress=on_progress, began=began)
    if held is not None:
        plan = _no_worse(plan, held, scenario, began)
    plan = with_baseline(plan, baseline, scenario)
    return plan if search_time is None else plan.model_copy(update={"settings": asked})


def _no_worse(plan: Plan, held: Plan, scenario: Scenario, began: float) -> Plan:
    """The backend's plan, or the one held before the search (`held`, whose `found_by` says whose) when the backend
    stopped at its time limit with none as good (CBC, which takes no start; any backend given too little time): a
    solve never returns less than the valid plan it already held. The backend's bound, when it proved one, still stands."""
    if held.objective is None or plan.status in (PlanStatus.optimal, PlanStatus.infeasible):
        return plan
    if plan.objective is not None and improvement(scenario.policies.objective, held.objective, plan.objective) >= 0:
        return plan
    kept = build_plan(
        scenario,
        placements_of(scenario, held),
        status=PlanStatus.feasible,
        best_bound=plan.best_bound,
        solve_seconds=time.perf_counter() - began,
        backend=plan.backend,
        settings=plan.settings,
    )
    whose = "the rank-ordered baseline's" if held.found_by == GREEDY else f"the {held.found_by}'s"
    why = f"its best plan was below {whose}, which is kept" if plan.objective is not None else f"{whose} plan is kept"
    return kept.model_copy(update={"message": f"{plan.message}; {why}", "found_by": held.found_by, "bound_by": plan.bound_by})


def with_baseline(plan: Plan, baseline: Plan, scenario: Scenario) -> Plan:
    """The plan with the baseline's objective and the uplift over it (positive = better than the baseline)."""
    if plan.objective is None or baseline.objective is None:
        return plan.model_copy(update={"baseline_objective": baseline.objective})
    uplift = improvement(scenario.policies.objective, baseline.objective, plan.objective)
    return plan.model_copy(update={"baseline_objective": baseline.objective, "uplift": round(uplift, 6)})


def _previous_placements(scenario: Scenario) -> dict[str, Placement]:
    """The previous plan's starts as decisions, for those that fit in this horizon; a skill need goes to the first
    team with the skill. Whether they keep every rule is for `_better_start` (the checker) to say."""
    periods = len(scenario.periods)
    by_id = scenario.initiative_by_id
    out: dict[str, Placement] = {}
    for initiative_id, start in scenario.previous_start.items():
        initiative = by_id[initiative_id]
        teams = [need.team or next((t.id for t in scenario.teams if need.skill in t.skills), None) for need in initiative.all_needs]
        if start >= 0 and start + initiative.duration <= periods and None not in teams:
            out[initiative_id] = Placement(start=start, teams=tuple(t for t in teams if t is not None))
    return out


def _better_start(scenario: Scenario, settings: SolveSettings, held: Plan | None, neighbour: dict[str, Placement], source: str) -> Plan | None:
    """The plan of the neighbour's decisions when they are valid here (the solver-free checker says so) and at
    least as good as the one held; else the one held."""
    forced = any(i in settings.force_out for i in neighbour) or any(i not in neighbour for i in settings.force_in)
    if forced:
        return held
    rebuilt = build_plan(scenario, neighbour, status=PlanStatus.feasible, best_bound=None, solve_seconds=0, backend="greedy", settings=settings)
    if check_plan(scenario, rebuilt):
        return held
    rebuilt = rebuilt.model_copy(update={"found_by": source})
    if held is None or held.objective is None or rebuilt.objective is None:
        return rebuilt
    return rebuilt if improvement(scenario.policies.objective, held.objective, rebuilt.objective) >= 0 else held
