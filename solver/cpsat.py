"""CP-SAT: the formulation (`solver.formulation`) compiled to a CP-SAT model, solved, and its proof read back.

Typed rows become CP-SAT's native constraints (`exactly_one`, `at_most_one`, `bool_or`), the rest
linear constraints over the same integers. While diagnosing, every row that carries a business rule
holds only while that rule's literal is true, and there is no objective: `solver.diagnose` asks which
rules cannot all hold.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable

from ortools.sat.python import cp_model

from planner.check import check_plan
from planner.plan import Placement, Plan, PlanStatus, SolveSettings
from planner.rules import Rule
from planner.scenario import Objective, Scenario
from planner.scoring import VALUE_SCALE
from solver.formulation import Form, Formulation, Row
from solver.race import CPSAT, CpsatRunner, Race, integral_bound, joins, partner, partner_placements
from solver.variables import backend_plan, periods_used, time_left

log = logging.getLogger(__name__)

Progress = Callable[[float, float, float], None]
"""Called on each better plan, and once more when the search ends (then the bound is final, and equals the
objective when optimality is proven): (objective, best bound or NaN when the solver gives none, seconds since
the solve began), in the scenario's units. `solve` first reports the plan it holds from the start (the
baseline's, a warm start's or the previous plan's); the PuLP backend, which has no callback, then reports
only at the end."""


def _sum(terms: list[tuple[int, cp_model.IntVar]]) -> cp_model.LinearExprT:
    return cp_model.LinearExpr.weighted_sum([var for _, var in terms], [amount for amount, _ in terms])


class Model:
    """A formulation compiled to CP-SAT."""

    def __init__(self, f: Formulation, rows: list[Row] | None = None) -> None:
        """Compiles `rows` when given (the formulation's, taken by a caller that compiles them twice), else takes them."""
        self.f = f
        self.model = cp_model.CpModel()
        self.vars = [self.model.new_bool_var(f.name(var)) if upper == 1 else self.model.new_int_var(0, upper, f.name(var)) for var, upper in enumerate(f.upper)]
        self.rules: dict[Rule, cp_model.IntVar] = {}
        for row in f.take_rows() if rows is None else rows:
            if row.form is not Form.linear:
                literals = [self.vars[var] for var in row.positive] + [~self.vars[var] for var in row.negative]
            if row.form is Form.exactly_one:
                constraint = self.model.add_exactly_one(literals)
            elif row.form is Form.at_most_one:
                constraint = self.model.add_at_most_one(literals)
            elif row.form is Form.clause:
                constraint = self.model.add_bool_or(literals)  # no literal at all: infeasible, as it should be
            else:
                expression = self.expression(row.terms)
                constraint = self.model.add(
                    expression <= row.rhs if row.sense == "<=" else expression >= row.rhs if row.sense == ">=" else expression == row.rhs
                )
            constraint.with_name(row.name)
            if row.enforced_by is not None:
                constraint.only_enforce_if(self.vars[row.enforced_by])
            if f.diagnosing and row.rule is not None:
                if row.rule not in self.rules:
                    self.rules[row.rule] = self.model.new_bool_var(f"rule[{row.rule.name}]")
                constraint.only_enforce_if(self.rules[row.rule])
        goal = f.objective
        self.objective = self.expression(goal.terms) + goal.constant
        if not f.diagnosing:
            (self.model.maximize if goal.sense == "maximize" else self.model.minimize)(self.objective)

    def expression(self, terms: list[tuple[int, int]]) -> cp_model.LinearExprT:
        return _sum([(amount, self.vars[var]) for amount, var in terms])

    def hint(self, placements: dict[str, Placement]) -> None:
        """Start the search from a known plan (the greedy baseline's)."""
        for var, value in self.f.v.decision_values(placements).items():
            self.model.add_hint(self.vars[var], bool(value))

    def placements(self, solver: cp_model.CpSolver) -> dict[str, Placement]:
        return self.f.v.placements(lambda var: bool(solver.value(self.vars[var])))


MIN_WORKERS = 4
"""CP-SAT's portfolio at 2 workers is one LP search plus time-shared LNS; at 4 it adds the core-based and
the LP-free searches. On 2 cores, 4 workers (sharing the cores) found better plans and more proofs in the
same wall time: docs/benchmarks.md, "Workers"."""


def automatic_workers() -> int:
    """Workers when the settings say 0: one per core, and never fewer than `MIN_WORKERS`."""
    return max(MIN_WORKERS, os.cpu_count() or 1)


def configured(settings: SolveSettings, began: float) -> cp_model.CpSolver:
    """A CP-SAT solver with the settings' limits (the time left since `began`), workers and seed; with a work
    limit, bounded by work done on one worker, not by the clock, so that the plan is reproducible."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_left(settings, began)
    solver.parameters.num_workers = settings.workers or automatic_workers()
    solver.parameters.random_seed = settings.seed
    if settings.work_limit is not None:
        solver.parameters.max_deterministic_time = settings.work_limit
        solver.parameters.num_workers = 1
    return solver


class Reporter(cp_model.CpSolverSolutionCallback):
    """Each better solution, to a `Progress` callback, in the scenario's units (the objective over `scale`)."""

    def __init__(self, report: Progress, scale: float, began: float) -> None:
        super().__init__()
        self.report, self.scale, self.began = report, scale, began

    def on_solution_callback(self) -> None:
        self.report(self.objective_value / self.scale, self.best_objective_bound / self.scale, time.perf_counter() - self.began)


STATUS = {
    cp_model.OPTIMAL: PlanStatus.optimal,
    cp_model.FEASIBLE: PlanStatus.feasible,
    cp_model.INFEASIBLE: PlanStatus.infeasible,
    cp_model.UNKNOWN: PlanStatus.unknown,
}


def solve_cpsat(
    scenario: Scenario,
    settings: SolveSettings,
    *,
    hint: dict[str, Placement] | None = None,
    on_progress: Progress | None = None,
    began: float | None = None,
    on_built: Callable[[float], None] | None = None,
    intervals: bool = True,
) -> Plan:
    """The best plan CP-SAT finds within the settings' limits. The time limit counts from `began` (default:
    now), so building the model is part of it; `on_built` hears how long the building took. A scenario the
    interval model holds (`solver.intervals.covers`) is solved with it, unless `intervals` is false."""
    began = time.perf_counter() if began is None else began
    from solver.intervals import covers, solve_intervals  # it builds on this module

    if intervals and covers(scenario, settings):  # a scheduling scenario: CP-SAT's own scheduling model holds all of it
        return solve_intervals(scenario, settings, hint=hint, on_progress=on_progress, began=began, on_built=on_built)
    building = time.perf_counter()
    f = Formulation(scenario, settings, finish_by=periods_used(scenario, hint))
    rows = f.take_rows()
    m = Model(f, rows)
    if hint:
        m.hint(hint)
    if on_built:
        on_built(time.perf_counter() - building)
    solver = configured(settings, began)
    makespan = scenario.policies.objective is Objective.makespan
    scale = 1 if makespan else VALUE_SCALE
    if joins(settings, began):
        return _race(m, solver, rows, settings, began, scale, on_progress, hint)
    del rows
    callback = Reporter(on_progress, scale, began) if on_progress else None
    code = solver.solve(m.model, callback)
    if code == cp_model.MODEL_INVALID:  # a bug in this module, never the user's input
        raise RuntimeError(f"CP-SAT rejected the model: {m.model.validate()}")
    status = STATUS[code]
    if not status.found:
        return backend_plan(scenario, settings, {}, status, None, began=began, backend="cpsat", bound_by=CPSAT)
    placements = m.placements(solver)
    best_bound = solver.best_objective_bound / scale
    if on_progress:
        on_progress(solver.objective_value / scale, best_bound, time.perf_counter() - began)
    if status is PlanStatus.optimal:
        placements = _break_ties(m, round(solver.objective_value), settings, began) or placements
    return backend_plan(scenario, settings, placements, status, best_bound, began=began, backend="cpsat", found_by=CPSAT, bound_by=CPSAT)


def _race(
    m: Model,
    solver: cp_model.CpSolver,
    rows: list[Row],
    settings: SolveSettings,
    began: float,
    scale: float,
    on_progress: Progress | None,
    hint: dict[str, Placement] | None,
) -> Plan:
    """CP-SAT with HiGHS beside it (`solver.race`): the better plan, the better bound, and whose each is."""
    f, scenario = m.f, m.f.scenario
    maximize = f.objective.sense == "maximize"
    report = (lambda objective, bound, seconds: on_progress(objective / scale, math.nan if bound is None else bound / scale, seconds)) if on_progress else None
    race = Race(maximize, began, report)
    name, run = partner(f)

    def alongside() -> None:
        try:
            run(race, f, rows, settings, began, solver, hint)
        except Exception as exc:  # the partner is a bonus: CP-SAT's own search and plan stand without it
            log.warning("%s stopped (%s: %s); CP-SAT searches on alone", name, type(exc).__name__, exc)

    beside = threading.Thread(target=alongside, name=name, daemon=True)
    beside.start()
    code = solver.solve(m.model, CpsatRunner(race))
    race.stop.set()
    beside.join()
    if code == cp_model.MODEL_INVALID:
        raise RuntimeError(f"CP-SAT rejected the model: {m.model.validate()}")
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):  # CP-SAT's last word on its own plan and bound
        objective = round(solver.objective_value)
        race.offer(CPSAT, objective, objective if code == cp_model.OPTIMAL else integral_bound(solver.best_objective_bound, maximize))
    if race.best is None:
        status = PlanStatus.infeasible if code == cp_model.INFEASIBLE or race.infeasible_by else PlanStatus.unknown
        return backend_plan(scenario, settings, {}, status, None, began=began, backend="cpsat", bound_by=race.infeasible_by or CPSAT)
    found_by, placements = CPSAT, None
    if race.partner_values is not None:
        found_by, placements = name, partner_placements(f, race.partner_values)
        if check_plan(scenario, backend_plan(scenario, settings, placements, PlanStatus.feasible, None, began=began, backend="cpsat")):
            log.warning("%s's plan breaks a rule once rounded; CP-SAT's is kept", name)  # never seen; the checker has the last word
            if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                return backend_plan(scenario, settings, {}, PlanStatus.unknown, None, began=began, backend="cpsat")
            race = Race(maximize, began)
            race.offer(CPSAT, round(solver.objective_value), integral_bound(solver.best_objective_bound, maximize))
            found_by, placements = CPSAT, None
    placements = placements or m.placements(solver)
    status = PlanStatus.optimal if race.closed() else PlanStatus.feasible
    assert race.best is not None
    if status is PlanStatus.optimal:
        placements = _break_ties(m, race.best, settings, began) or placements
    bound = None if race.bound is None else race.bound / scale
    return backend_plan(scenario, settings, placements, status, bound, began=began, backend="cpsat", found_by=found_by, bound_by=race.bound_by)


def _break_ties(m: Model, objective: int, settings: SolveSettings, began: float) -> dict[str, Placement] | None:
    """Among plans with the optimal objective, the one that starts work earliest, then earliest in the file.

    One worker, a fixed seed and a deterministic time budget: the same scenario gives the same plan on
    any machine, whatever the first phase's worker count found first.
    """
    left = time_left(settings, began)
    if left <= 0.05:
        return None
    m.model.add(m.objective == objective)
    m.model.minimize(m.expression(m.f.tie_break))
    m.model.clear_hints()
    second = cp_model.CpSolver()
    second.parameters.max_time_in_seconds = left
    second.parameters.max_deterministic_time = 10.0
    second.parameters.num_workers = 1
    second.parameters.random_seed = settings.seed
    code = second.solve(m.model)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return m.placements(second)
