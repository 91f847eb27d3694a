"""CP-SAT and HiGHS on the same formulation at the same time, sharing what they find.

The two are strong in different places (docs/benchmarks.md): CP-SAT's neighbourhood searches find good
plans early on every kind of portfolio, while HiGHS's LP relaxation proves bounds CP-SAT's does not reach
on selection-heavy portfolios, and on the largest ones its own plans overtake CP-SAT's. So:

- CP-SAT searches alone first (`PARTNER_DELAY`): a scenario proven within that second (every bundled
  one) never pays for a second solver.
- Then HiGHS joins, on the same rows (`solver.linear`, as the PuLP backend compiles them) and the same
  integers, in a thread of this process. On two cores CP-SAT keeps its workers and HiGHS runs its
  branch-and-bound on one thread: the operating system shares the cores between them.
- Every plan CP-SAT finds is offered to HiGHS as a user solution, to prune its tree with. A plan either
  finds and a bound either proves make one progress report: the best plan and the best bound.
- When the best plan meets the best bound (one solver's plan, the other's bound), both stop: proven.
- The plan returned is the better one; `Race.found_by` and `Race.bound_by` say whose plan and whose bound.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from planner.plan import Placement
from planner.settings import SolveSettings
from solver.formulation import Formulation, Row
from solver.linear import linear_rows
from solver.variables import time_left

PARTNER_DELAY = 1.0
"""Seconds CP-SAT searches alone before HiGHS joins."""
MIN_PARTNER_TIME = 1.0
"""HiGHS joins only when at least this many seconds of the limit are left after the delay."""

CPSAT, HIGHS = "CP-SAT", "HiGHS"


def joins(settings: SolveSettings, began: float) -> bool:
    """HiGHS joins CP-SAT when asked (`settings.race`), when the search is not bound to be reproducible (a work
    limit), when the limit leaves it time to, and when HiGHS is installed."""
    if not settings.race or settings.work_limit is not None or time_left(settings, began) <= PARTNER_DELAY + MIN_PARTNER_TIME:
        return False
    try:
        import highspy  # noqa: F401
    except ImportError:
        return False
    return True


class Race:
    """What the two searches know, under one lock: the best plan's objective (and HiGHS's values when its plan
    leads), the best bound, and CP-SAT's latest plan for HiGHS. Objectives and bounds in the model's integers."""

    def __init__(self, maximize: bool, began: float, report: Callable[[int, int | None, float], None] | None = None) -> None:
        self.maximize = maximize
        self.report = report  # (objective, bound or None, seconds since `began`), in the model's integers
        self.lock = threading.Lock()
        self.stop = threading.Event()  # either search ended, or the plan met the bound
        self.began = began
        self.best: int | None = None
        self.found_by: str | None = None
        self.highs_values: np.ndarray | None = None
        self.bound: int | None = None
        self.bound_by: str | None = None
        self.for_highs: Sequence[float] | np.ndarray | None = None  # CP-SAT's latest plan, not yet offered to HiGHS
        self.infeasible_by: str | None = None
        self.partner_started = False

    def _better(self, objective: int, than: int | None) -> bool:
        return than is None or (objective > than if self.maximize else objective < than)

    def offer(self, solver: str, objective: int | None, bound: int | None, values: Sequence[float] | np.ndarray | None = None) -> bool:
        """A plan (with its values when HiGHS found it, or when HiGHS should hear of it) and a bound from one
        search; True when the best plan now meets the best bound."""
        with self.lock:
            changed = False
            if objective is not None and self._better(objective, self.best):
                self.best, self.found_by, changed = objective, solver, True
                self.highs_values = np.asarray(values) if solver == HIGHS else None  # the leading plan's values, when HiGHS's
                if solver == CPSAT and values is not None:
                    self.for_highs = values
            if bound is not None and (self.bound is None or (bound < self.bound if self.maximize else bound > self.bound)):
                self.bound, self.bound_by, changed = bound, solver, True
            if changed and self.report and self.best is not None:
                self.report(self.best, self.bound, time.perf_counter() - self.began)
            closed = self.closed()
        if closed:
            self.stop.set()
        return closed

    def closed(self) -> bool:
        if self.best is None or self.bound is None:
            return False
        return self.best >= self.bound if self.maximize else self.best <= self.bound

    def take_for_highs(self) -> Sequence[float] | np.ndarray | None:
        with self.lock:
            values, self.for_highs = self.for_highs, None
            return values


def integral_bound(bound: float, maximize: bool) -> int | None:
    """A solver's bound on an integer objective, rounded inwards; None when it has none."""
    if not math.isfinite(bound):
        return None
    return math.floor(bound + 1e-6) if maximize else math.ceil(bound - 1e-6)


class CpsatRunner(cp_model.CpSolverSolutionCallback):
    """CP-SAT's side: each better plan and CP-SAT's bound to the race (with the values once HiGHS is there to
    take them); stops CP-SAT when the race is closed."""

    def __init__(self, race: Race) -> None:
        super().__init__()
        self.race = race

    def on_solution_callback(self) -> None:
        race = self.race
        values = list(self.response_proto.solution) if race.partner_started else None
        bound = integral_bound(self.best_objective_bound, race.maximize)
        if race.offer(CPSAT, round(self.objective_value), bound, values):
            self.stop_search()


def highs_model(f: Formulation, rows: list[Row], settings: SolveSettings, time_limit: float) -> Any:
    """The formulation's linear rows (`solver.linear`) as a HiGHS model, maximising or minimising its objective."""
    import highspy

    starts, index, value = [0], list[int](), list[int]()
    lower, upper = list[float](), list[float]()
    for row in linear_rows(f, rows):
        index.extend(row.terms)
        value.extend(row.terms.values())
        starts.append(len(index))
        lower.append(row.rhs if row.sense in (">=", "==") else -highspy.kHighsInf)
        upper.append(row.rhs if row.sense in ("<=", "==") else highspy.kHighsInf)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(f.upper), len(lower)
    cost = np.zeros(len(f.upper))
    for amount, var in f.objective.terms:
        cost[var] += amount
    lp.col_cost_, lp.offset_ = cost, float(f.objective.constant)
    lp.sense_ = highspy.ObjSense.kMaximize if f.objective.sense == "maximize" else highspy.ObjSense.kMinimize
    lp.col_lower_, lp.col_upper_ = np.zeros(len(f.upper)), np.array(f.upper, dtype=np.float64)
    lp.row_lower_, lp.row_upper_ = np.array(lower, dtype=np.float64), np.array(upper, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = lp.num_col_, lp.num_row_
    lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(value, dtype=np.float64)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * lp.num_col_
    h = highspy.Highs()
    h.silent()
    h.passModel(lp)
    h.setOptionValue("time_limit", max(time_limit, 0.01))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("random_seed", settings.seed)
    return h


def run_highs(
    race: Race,
    f: Formulation,
    rows: list[Row],
    settings: SolveSettings,
    began: float,
    cpsat: cp_model.CpSolver,
    hint: dict[str, Placement] | None = None,
) -> None:
    """HiGHS's side, in its own thread: waits out `PARTNER_DELAY`, then searches from the `hint` (the baseline's
    decisions, as CP-SAT does) until the limit, a proof, or CP-SAT's end. Its plans and bounds go to the race; a
    proof or an infeasibility stops CP-SAT."""
    import highspy

    if race.stop.wait(PARTNER_DELAY) or time_left(settings, began) < MIN_PARTNER_TIME:
        return
    race.partner_started = True
    h = highs_model(f, rows, settings, time_left(settings, began))
    if race.stop.is_set():
        return
    if hint:
        decided = f.v.decision_values(hint)
        h.setSolution(len(decided), np.array(list(decided), dtype=np.int32), np.array(list(decided.values()), dtype=np.float64))
    maximize = race.maximize

    def improving(e: Any) -> None:
        out = e.data_out
        values = np.array(out.mip_solution, dtype=np.float64)  # a copy: HiGHS reuses the buffer
        race.offer(HIGHS, round(out.objective_function_value), integral_bound(out.mip_dual_bound, maximize), values)

    def interrupt(e: Any) -> None:
        bound = integral_bound(e.data_out.mip_dual_bound, maximize)
        if race.stop.is_set() or race.offer(HIGHS, None, bound):
            e.interrupt()

    def user_solution(e: Any) -> None:
        values = race.take_for_highs()
        if values is not None:
            e.data_in.user_has_solution = True
            e.data_in.setSolution(np.asarray(values[: len(f.upper)], dtype=np.float64))

    h.cbMipImprovingSolution.subscribe(improving)
    h.cbMipInterrupt.subscribe(interrupt)
    h.cbMipUserSolution.subscribe(user_solution)
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        objective = round(h.getInfo().objective_function_value)
        race.offer(HIGHS, objective, objective, np.array(h.getSolution().col_value, dtype=np.float64))
    elif status == highspy.HighsModelStatus.kInfeasible:
        race.infeasible_by = HIGHS
        race.stop.set()
    if race.stop.is_set():
        cpsat.stop_search()


def highs_placements(f: Formulation, values: np.ndarray) -> dict[str, Placement]:
    return f.v.placements(lambda var: bool(values[var] > 0.5))
