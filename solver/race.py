"""CP-SAT and a MILP solver (SCIP or HiGHS) on the same formulation at the same time, sharing what they find.

They are strong in different places (docs/solver.md): CP-SAT's neighbourhood searches find good plans early
on every kind of portfolio, while a MILP solver's LP relaxation proves bounds CP-SAT's does not reach on
selection-heavy portfolios, and its own plans sometimes overtake CP-SAT's. So:

- CP-SAT searches alone first (`PARTNER_DELAY`): a scenario proven within that second (every bundled
  one) never pays for a second solver.
- Then the partner joins (`partner`: SCIP on small models, HiGHS on larger ones), on the same rows
  (`solver.linear`, as the PuLP backend compiles them) and the same integers, in a thread of this process.
  On two cores CP-SAT keeps its workers and the partner runs its branch and bound on one thread: the
  operating system shares the cores between them.
- Every plan CP-SAT finds is handed to the partner (HiGHS: a user solution; SCIP: a primal heuristic), to
  prune its tree with. A plan either finds and a bound either proves make one progress report.
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

CPSAT, HIGHS, SCIP = "CP-SAT", "HiGHS", "SCIP"


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
    """What the two searches know, under one lock: the best plan's objective (and the partner's values when its plan
    leads), the best bound, and CP-SAT's latest plan for the partner. Objectives and bounds in the model's integers."""

    def __init__(self, maximize: bool, began: float, report: Callable[[int, int | None, float], None] | None = None) -> None:
        self.maximize = maximize
        self.report = report  # (objective, bound or None, seconds since `began`), in the model's integers
        self.lock = threading.Lock()
        self.stop = threading.Event()  # either search ended, or the plan met the bound
        self.began = began
        self.best: int | None = None
        self.found_by: str | None = None
        self.partner_values: np.ndarray | None = None
        self.bound: int | None = None
        self.bound_by: str | None = None
        self.for_partner: Sequence[float] | np.ndarray | None = None  # CP-SAT's latest plan, not yet offered to HiGHS
        self.infeasible_by: str | None = None
        self.partner_started = False

    def _better(self, objective: int, than: int | None) -> bool:
        return than is None or (objective > than if self.maximize else objective < than)

    def offer(self, solver: str, objective: int | None, bound: int | None, values: Sequence[float] | np.ndarray | None = None) -> bool:
        """A plan (with its values when the partner found it, or when the partner should hear of it) and a bound
        from one search; True when the best plan now meets the best bound."""
        with self.lock:
            changed = False
            if objective is not None and self._better(objective, self.best):
                self.best, self.found_by, changed = objective, solver, True
                self.partner_values = np.asarray(values) if solver != CPSAT else None  # the leading plan's values, when the partner's
                if solver == CPSAT and values is not None:
                    self.for_partner = values
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

    def take_for_partner(self) -> Sequence[float] | np.ndarray | None:
        with self.lock:
            values, self.for_partner = self.for_partner, None
            return values


def integral_bound(bound: float, maximize: bool) -> int | None:
    """A solver's bound on an integer objective, rounded inwards; None when it has none."""
    if not math.isfinite(bound):
        return None
    return math.floor(bound + 1e-6) if maximize else math.ceil(bound - 1e-6)


class CpsatRunner(cp_model.CpSolverSolutionCallback):
    """CP-SAT's side: each better plan and CP-SAT's bound to the race (with the values once the partner is there
    to take them); stops CP-SAT when the race is closed."""

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

    if not _joining(race, settings, began):
        return
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
        values = race.take_for_partner()
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


def partner_placements(f: Formulation, values: np.ndarray) -> dict[str, Placement]:
    """The decisions in a partner's solution (its values rounded, as a MILP solver's binaries come within a tolerance)."""
    return f.v.placements(lambda var: bool(values[var] > 0.5))


def _joining(race: Race, settings: SolveSettings, began: float) -> bool:
    """Waits out `PARTNER_DELAY`; True when the partner should join (CP-SAT is still searching, time is left)."""
    if race.stop.wait(PARTNER_DELAY) or time_left(settings, began) < MIN_PARTNER_TIME:
        return False
    race.partner_started = True
    return True


def scip_model(f: Formulation, rows: list[Row], settings: SolveSettings, time_limit: float, hint: dict[str, Placement] | None = None) -> tuple[Any, list[Any]]:
    """The formulation's linear rows (`solver.linear`) as a SCIP model started from the `hint`'s decisions (a partial
    solution SCIP completes), and its variables by index."""
    from pyscipopt import Model, quicksum

    model = Model()
    model.hideOutput()
    x = [model.addVar(vtype="B" if upper == 1 else "I", lb=0, ub=upper) for upper in f.upper]
    for row in linear_rows(f, rows):
        expression = quicksum(amount * x[var] for var, amount in row.terms.items())
        model.addCons(expression <= row.rhs if row.sense == "<=" else expression >= row.rhs if row.sense == ">=" else expression == row.rhs)
    objective = quicksum(amount * x[var] for amount, var in f.objective.terms) + f.objective.constant
    model.setObjective(objective, sense="maximize" if f.objective.sense == "maximize" else "minimize")
    model.setParam("limits/time", max(time_limit, 0.01))
    model.setParam("limits/gap", 0.0)
    model.setParam("randomization/randomseedshift", settings.seed)
    if hint:
        start = model.createPartialSol()
        for var, value in f.v.decision_values(hint).items():
            model.setSolVal(start, x[var], value)
        model.addSol(start)
    return model, x


def run_scip(
    race: Race,
    f: Formulation,
    rows: list[Row],
    settings: SolveSettings,
    began: float,
    cpsat: cp_model.CpSolver,
    hint: dict[str, Placement] | None = None,
) -> None:
    """SCIP's side, as HiGHS's (`run_highs`, the same signature: either is a race's partner): CP-SAT's plans are
    tried as SCIP solutions before each node, SCIP's best ones and its dual bound go to the race, and SCIP stops
    when the race is closed."""
    from pyscipopt import SCIP_EVENTTYPE, SCIP_HEURTIMING, SCIP_RESULT, Eventhdlr, Heur

    if not _joining(race, settings, began):
        return
    model, x = scip_model(f, rows, settings, time_left(settings, began), hint)
    if race.stop.is_set():
        return
    maximize = race.maximize

    class Listener(Eventhdlr):
        def eventinit(self) -> None:
            self.model.catchEvent(SCIP_EVENTTYPE.BESTSOLFOUND, self)
            self.model.catchEvent(SCIP_EVENTTYPE.NODESOLVED, self)

        def eventexit(self) -> None:
            self.model.dropEvent(SCIP_EVENTTYPE.BESTSOLFOUND, self)
            self.model.dropEvent(SCIP_EVENTTYPE.NODESOLVED, self)

        def eventexec(self, event: Any) -> None:
            bound = integral_bound(model.getDualbound(), maximize)
            if event.getType() == SCIP_EVENTTYPE.BESTSOLFOUND:
                best = model.getBestSol()
                values = np.array([model.getSolVal(best, var) for var in x], dtype=np.float64)
                race.offer(SCIP, round(model.getSolObjVal(best)), bound, values)
                return
            if race.stop.is_set() or race.offer(SCIP, None, bound):
                model.interruptSolve()
                return

    class Handover(Heur):
        """CP-SAT's latest plan, tried as a SCIP solution before each node: a primal heuristic is where SCIP takes them."""

        def heurexec(self, heurtiming: Any, nodeinfeasible: bool) -> dict[str, Any]:
            handed = race.take_for_partner()
            if handed is None:
                return {"result": SCIP_RESULT.DIDNOTRUN}
            # In the original variables: presolve may have fixed or merged some, and SCIP maps them itself.
            given = model.createOrigSol(self)
            for var, value in zip(x, handed[: len(x)], strict=True):
                model.setSolVal(given, var, value)
            return {"result": SCIP_RESULT.FOUNDSOL if model.trySol(given) else SCIP_RESULT.DIDNOTFIND}

    model.includeEventhdlr(Listener(), "race", "SCIP's plans and bound to the race")
    model.includeHeur(Handover(), "cpsat", "CP-SAT's plans", "C", priority=100_000, freq=1, timingmask=SCIP_HEURTIMING.BEFORENODE)
    model.optimizeNogil()
    status = model.getStatus()
    if status == "optimal":
        best = model.getBestSol()
        objective = round(model.getSolObjVal(best))
        race.offer(SCIP, objective, objective, np.array([model.getSolVal(best, var) for var in x], dtype=np.float64))
    elif status == "infeasible":
        race.infeasible_by = SCIP
        race.stop.set()
    if race.stop.is_set():
        cpsat.stop_search()


SCIP_MAX_VARIABLES = 2_000
"""SCIP is the partner for models up to this size, HiGHS for larger ones (`partner`)."""


def partner(f: Formulation) -> tuple[str, Callable[..., None]]:
    """Who races CP-SAT on this model: SCIP on small ones (a one-period selection of a few hundred items is SCIP's
    home ground: on mknapcb5-00 it reached 59,136 in 10 s on a shared core, HiGHS 59,067 and CBC 58,954 on a core
    of their own), HiGHS on larger ones (SCIP was still at the baseline's plan after 30 s on 500 x 20 x 8)."""
    if len(f.upper) <= SCIP_MAX_VARIABLES:
        try:
            import pyscipopt  # noqa: F401
        except ImportError:
            pass
        else:
            return SCIP, run_scip
    return HIGHS, run_highs
