"""Peers that are not the planner's own backends, for the benchmarks only.

`scip_plan` is SCIP on the planner's own MILP, the peer the MILP backends have no PuLP route to keep.

`interval_plan` is the plain CP-SAT scheduling model a user would write for PSPLIB: an integer start and
a fixed-size interval per initiative, a cumulative constraint per team, precedences on the starts, and
the makespan as the maximum end. It covers makespan scenarios whose needs name their team and load it
evenly (PSPLIB's); anything else is refused. Its plan is built by `build_plan` from its decisions, so the
solver-free checker verifies it like any other.
"""

from __future__ import annotations

import math
import time

from ortools.sat.python import cp_model

from planner.plan import Placement, Plan, PlanStatus, SolveSettings, need_loads, placements_of, window
from planner.quantities import hundredths
from planner.scenario import Objective, Scenario
from planner.scoring import VALUE_SCALE
from solver.greedy import greedy_plan
from solver.variables import backend_plan

STATUS = {cp_model.OPTIMAL: PlanStatus.optimal, cp_model.FEASIBLE: PlanStatus.feasible, cp_model.INFEASIBLE: PlanStatus.infeasible}


def interval_plan(scenario: Scenario, settings: SolveSettings) -> Plan:
    """The interval model's plan within the settings' time limit, started from the rank-ordered baseline."""
    if scenario.policies.objective is not Objective.makespan:
        raise ValueError("the interval peer models makespan scenarios only")
    began = time.perf_counter()
    model = cp_model.CpModel()
    starts: dict[str, cp_model.IntVar] = {}
    demands: dict[str, list[tuple[cp_model.IntervalVar, int]]] = {}
    for i in scenario.initiatives:
        allowed = window(scenario, i, settings)
        starts[i.id] = model.new_int_var(allowed.start, allowed.stop - 1, f"start[{i.id}]")
        interval = model.new_fixed_size_interval_var(starts[i.id], i.duration, f"interval[{i.id}]")
        for need in i.all_needs:
            loads = need_loads(need, i.duration)
            if need.team is None or len(set(loads)) != 1:
                raise ValueError(f"{i.id}: the interval peer needs a named team loaded evenly")
            demands.setdefault(need.team, []).append((interval, loads[0]))
    for i in scenario.initiatives:
        for prerequisite in i.depends_on:
            model.add(starts[i.id] >= starts[prerequisite] + scenario.initiative_by_id[prerequisite].duration)
    for team, items in demands.items():
        capacities = [hundredths(c) for c in scenario.capacity(team)]
        top = max(capacities)
        # Less capacity in some periods: a fixed interval there takes up the difference.
        items = items + [(model.new_fixed_size_interval_var(k, 1, f"closed[{team}, {k}]"), top - c) for k, c in enumerate(capacities) if c < top]
        model.add_cumulative([interval for interval, _ in items], [demand for _, demand in items], top)
    makespan = model.new_int_var(0, len(scenario.periods), "makespan")
    model.add_max_equality(makespan, [starts[i.id] + i.duration for i in scenario.initiatives])
    model.minimize(makespan)
    baseline = greedy_plan(scenario, settings)
    if baseline.status is PlanStatus.feasible:
        for initiative, placed in placements_of(scenario, baseline).items():
            model.add_hint(starts[initiative], placed.start)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, settings.time_limit - (time.perf_counter() - began))
    solver.parameters.num_workers = settings.workers or 4
    solver.parameters.random_seed = settings.seed
    code = solver.solve(model)
    status = STATUS.get(code, PlanStatus.unknown)
    if not status.found:
        return backend_plan(scenario, settings, {}, status, None, began=began, backend="cpsat", solver_name="interval model")
    placements = {i.id: Placement(start=solver.value(starts[i.id]), teams=tuple(need.team or "" for need in i.all_needs)) for i in scenario.initiatives}
    return backend_plan(scenario, settings, placements, status, solver.best_objective_bound, began=began, backend="cpsat", solver_name="interval model")


def scip_plan(scenario: Scenario, settings: SolveSettings) -> Plan:
    """SCIP (pyscipopt) alone on the planner's MILP: the model it races CP-SAT on (`solver.race.scip_model`: the
    rows HiGHS and CBC get), the baseline's decisions as its first solution, the time limit counted from the start."""
    from solver.formulation import Formulation
    from solver.race import scip_model
    from solver.variables import periods_used, time_left

    began = time.perf_counter()
    baseline = greedy_plan(scenario, settings)
    hint = placements_of(scenario, baseline) if baseline.status is PlanStatus.feasible else None
    f = Formulation(scenario, settings, finish_by=periods_used(scenario, hint))
    model, x = scip_model(f, f.take_rows(), settings, time_left(settings, began), hint)
    model.optimize()
    state = model.getStatus()
    scale = 1 if scenario.policies.objective is Objective.makespan else VALUE_SCALE
    bound = model.getDualbound()
    best = None if not math.isfinite(bound) else bound / scale
    if model.getNSols() == 0:
        status = PlanStatus.infeasible if state == "infeasible" else PlanStatus.unknown
        return backend_plan(scenario, settings, {}, status, None, began=began, backend="pulp", solver_name="SCIP")
    solution = model.getBestSol()
    placements = f.v.placements(lambda var: model.getSolVal(solution, x[var]) > 0.5)
    status = PlanStatus.optimal if state == "optimal" else PlanStatus.feasible
    return backend_plan(scenario, settings, placements, status, best, began=began, backend="pulp", solver_name="SCIP")
