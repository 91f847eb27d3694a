"""CP-SAT: the formulation (`solver.formulation`) compiled to a CP-SAT model, solved, and its proof read back.

Typed rows become CP-SAT's native constraints (`exactly_one`, `at_most_one`, `bool_or`), the rest
linear constraints over the same integers. While diagnosing, every row that carries a business rule
holds only while that rule's literal is true, and there is no objective: `solver.diagnose` asks which
rules cannot all hold.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from ortools.sat.python import cp_model

from planner.plan import Placement, Plan, PlanStatus, SolveSettings
from planner.rules import Rule
from planner.scenario import Objective, Scenario
from planner.scoring import VALUE_SCALE
from solver.formulation import Form, Formulation
from solver.variables import backend_plan, periods_used, time_left

Progress = Callable[[float, float, float], None]
"""Called on each better plan, and once more when the search ends (then the bound is final, and equals the
objective when optimality is proven): (objective, best bound or NaN when the solver gives none, seconds of
search), in the scenario's units. The PuLP backend, which has no callback, calls it only at the end."""


def _sum(terms: list[tuple[int, cp_model.IntVar]]) -> cp_model.LinearExprT:
    return cp_model.LinearExpr.weighted_sum([var for _, var in terms], [amount for amount, _ in terms])


class Model:
    """A formulation compiled to CP-SAT."""

    def __init__(self, f: Formulation) -> None:
        self.f = f
        self.model = cp_model.CpModel()
        self.vars = [self.model.new_bool_var(f.name(var)) if upper == 1 else self.model.new_int_var(0, upper, f.name(var)) for var, upper in enumerate(f.upper)]
        self.rules: dict[Rule, cp_model.IntVar] = {}
        for row in f.take_rows():
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


class Reporter(cp_model.CpSolverSolutionCallback):
    """Each better solution, to a `Progress` callback, in the scenario's units (the objective over `scale`)."""

    def __init__(self, report: Progress, scale: float) -> None:
        super().__init__()
        self.report, self.scale = report, scale

    def on_solution_callback(self) -> None:
        self.report(self.objective_value / self.scale, self.best_objective_bound / self.scale, self.wall_time)


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
    m = Model(Formulation(scenario, settings, finish_by=periods_used(scenario, hint)))
    if hint:
        m.hint(hint)
    if on_built:
        on_built(time.perf_counter() - building)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_left(settings, began)
    solver.parameters.num_workers = settings.workers or automatic_workers()
    solver.parameters.random_seed = settings.seed
    if settings.work_limit is not None:  # reproducible: bounded by work done, on one worker, not by the clock
        solver.parameters.max_deterministic_time = settings.work_limit
        solver.parameters.num_workers = 1
    makespan = scenario.policies.objective is Objective.makespan
    scale = 1 if makespan else VALUE_SCALE
    callback = Reporter(on_progress, scale) if on_progress else None
    code = solver.solve(m.model, callback)
    if code == cp_model.MODEL_INVALID:  # a bug in this module, never the user's input
        raise RuntimeError(f"CP-SAT rejected the model: {m.model.validate()}")
    status = STATUS[code]
    if not status.found:
        return backend_plan(scenario, settings, {}, status, None, began=began, backend="cpsat")
    placements = m.placements(solver)
    best_bound = solver.best_objective_bound / scale
    if on_progress:
        on_progress(solver.objective_value / scale, best_bound, solver.wall_time)
    if status is PlanStatus.optimal:
        placements = _break_ties(m, solver, settings, began) or placements
    return backend_plan(scenario, settings, placements, status, best_bound, began=began, backend="cpsat")


def _break_ties(m: Model, first: cp_model.CpSolver, settings: SolveSettings, began: float) -> dict[str, Placement] | None:
    """Among plans with the optimal objective, the one that starts work earliest, then earliest in the file.

    One worker, a fixed seed and a deterministic time budget: the same scenario gives the same plan on
    any machine, whatever the first phase's worker count found first.
    """
    left = time_left(settings, began)
    if left <= 0.05:
        return None
    m.model.add(m.objective == round(first.objective_value))
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
