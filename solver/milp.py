"""PuLP: the formulation (`solver.formulation`) compiled to a MILP, solved with HiGHS or CBC (`SolveSettings.milp_solver`).

Every row goes in as its linear meaning (a typed row's is derived from its literals), over the same
integers CP-SAT sees, so both backends prove the same optimum and a test can demand the objectives
agree exactly.

The rows reach PuLP as `solver.linear` gives them: in integers, reduced by their gcd, with the MILP's
redundant strengthening rows.

PuLP is only imported by this module, and this module only when the `pulp` backend is asked for.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable

import numpy as np
import pulp

from planner.errors import PlannerError
from planner.plan import Placement, Plan, PlanStatus, SolveSettings
from planner.scenario import Objective, Scenario
from planner.scoring import VALUE_SCALE
from solver.formulation import Formulation
from solver.linear import LinearRow, linear_rows, reduced
from solver.variables import backend_plan, periods_used, time_left

_SENSE = {"<=": pulp.LpConstraintLE, ">=": pulp.LpConstraintGE, "==": pulp.LpConstraintEQ}


def name(family: str, *parts: object) -> str:
    """A variable or constraint name for PuLP, built from domain ids: `start(feature~store,2027~Q2)`.

    PuLP rewrites `-+[] ->/` to `_`, which would merge ids such as `a-b` and `a_b` and break PuLP's
    rule that names are unique. Ids and period labels never contain `~ , ( )`, so writing `-` as `~`
    and the brackets as parentheses leaves PuLP nothing to rewrite and keeps every name distinct.
    """
    return f"{family}({','.join(str(part) for part in parts)})".replace("-", "~")


def _is_set(variable: pulp.LpVariable) -> bool:
    # Solvers return binaries within their integrality tolerance of 0 or 1 (e.g. 0.9999999).
    return (variable.varValue or 0) > 0.5


class Model:
    """A formulation compiled to a PuLP problem."""

    def __init__(self, f: Formulation) -> None:
        self.f = f
        maximize = f.objective.sense == "maximize"
        self.problem = pulp.LpProblem("portfolio_plan", pulp.LpMaximize if maximize else pulp.LpMinimize)
        self.vars = []
        for var, upper in enumerate(f.upper):
            family, ids = f.parts(var)
            category = pulp.LpBinary if upper == 1 else pulp.LpInteger
            self.vars.append(self.problem.add_variable(name(family, *ids), lowBound=0, upBound=upper, cat=category))
        for row in linear_rows(f, f.take_rows()):
            self.add(row)
        self.objective = self.expression(f.objective.terms, f.objective.constant)
        self.problem.setObjective(self.objective)

    def warm_start(self, placements: dict[str, Placement]) -> None:
        """Start the search from a known plan (the greedy baseline's), as CP-SAT does: its decisions as the
        variables' initial values, which `_HiGHS` hands to HiGHS (it completes the other variables itself).
        CBC ignores them (see `_solver`)."""
        for var, value in self.f.v.decision_values(placements).items():
            self.vars[var].setInitialValue(value)

    def expression(self, terms: list[tuple[int, int]], constant: int = 0) -> pulp.LpAffineExpression:
        return pulp.LpAffineExpression([(self.vars[var], amount) for amount, var in terms], constant)

    def add(self, row: LinearRow) -> None:
        expression = pulp.LpAffineExpression([(self.vars[var], amount) for var, amount in row.terms.items()], -row.rhs)
        self.problem.addConstraint(pulp.LpConstraint(expression, sense=_SENSE[row.sense]), name(row.kind, *row.ids))

    def placements(self) -> dict[str, Placement]:
        return self.f.v.placements(lambda var: _is_set(self.vars[var]))


# --- solving ----------------------------------------------------------------------------------------


class _HiGHS(pulp.HiGHS):
    """HiGHS through highspy, given the variables' initial values (those set) as a partial solution to start
    from: PuLP 3.3 passes none to highspy, so with a short limit HiGHS returned plans far worse than the
    baseline it had been given."""

    def callSolver(self, lp: pulp.LpProblem) -> None:
        started = [var for var in lp.variables() if var.varValue is not None]
        if started:
            indices = np.array([var.index for var in started], dtype=np.int32)
            lp.solverModel.setSolution(len(started), indices, np.array([float(var.varValue) for var in started], dtype=np.float64))
        lp.solverModel.run()


def _solver(settings: SolveSettings, time_limit: float) -> tuple[str, pulp.LpSolver]:
    """The solver `settings.milp_solver` names: HiGHS through highspy, CBC through the binary cbcbox ships,
    and for `auto` HiGHS when it is installed, else CBC. A named solver that is not installed is an error.

    `gapRel=0`: HiGHS stops at a 0.01% gap by default; "optimal" here means proven, as it does for CP-SAT.
    """
    threads = settings.workers or None
    if settings.milp_solver in ("auto", "highs"):
        highs = _HiGHS(msg=False, timeLimit=time_limit, threads=threads, gapRel=0, random_seed=settings.seed)
        if highs.available():
            return "HiGHS", highs
        if settings.milp_solver == "highs":
            raise PlannerError("the highs MILP solver is not installed: install highspy (`pip install 'pulp[highs]'`) or choose cbc")
    # CBC's search is deterministic for a given thread count, so it takes no seed.
    # CBC is not given the baseline as a MIP start: on the generated 500 x 20 x 8 portfolio, with it CBC stayed
    # at the start's objective for the whole 10 s, while without it CBC proved a far better plan optimal.
    cbc = pulp.COIN_CMD(msg=False, timeLimit=time_limit, threads=threads, gapRel=0, path=_cbc_path())
    if not cbc.available():
        raise PlannerError("the cbc MILP solver is not installed: install cbcbox (`pip install 'pulp[cbc]'`) or put a cbc binary on PATH")
    return "CBC", cbc


def _cbc_path() -> str | None:
    """The CBC binary of the cbcbox package, else None: COIN_CMD then looks for `cbc` on PATH.

    PuLP 3.3 only looks on PATH, which holds the venv's `cbc` only while the venv is activated;
    PuLP 4 looks in cbcbox first, as this does. cbcbox prints which build it picked when CBCBOX_BUILD
    or CBCBOX_VERBOSE is set: that goes to stderr, as stdout may be carrying `--format json`.
    """
    try:
        import cbcbox
    except ImportError:
        return None
    with contextlib.redirect_stdout(sys.stderr):
        return cbcbox.cbc_bin_path()


def _solve(m: Model, solver: pulp.LpSolver, time_limit: float) -> PlanStatus:
    """Run the solver on the problem as it stands and say what its answer proves.

    CBC and HiGHS both report `LpStatusOptimal` when the time limit stops them holding an integer
    solution; only `sol_status` (LpSolutionOptimal vs LpSolutionIntegerFeasible) tells them apart.
    CBC 2.10 also says "Integer infeasible" when the time limit interrupts its preprocessing, on
    models as plainly feasible as one where nothing is required: an infeasibility that arrives
    after the time limit proves nothing, so it is reported as unknown.
    """
    began = time.perf_counter()
    m.problem.solve(solver)
    problem = m.problem
    if problem.status == pulp.LpStatusOptimal:
        if problem.sol_status == pulp.LpSolutionOptimal:
            return PlanStatus.optimal
        if problem.sol_status == pulp.LpSolutionIntegerFeasible:
            return PlanStatus.feasible
        return PlanStatus.unknown
    if problem.status == pulp.LpStatusInfeasible and time.perf_counter() - began < time_limit:
        return PlanStatus.infeasible
    return PlanStatus.unknown


def _integer_value(expression: pulp.LpAffineExpression) -> int:
    """The expression at the rounded solution, exactly: a coefficient of 10^8 times a binary at
    0.9999999 would otherwise be off by 10."""
    return int(expression.constant) + sum(int(c) * round(var.varValue or 0) for var, c in expression.items())


def _best_bound(m: Model, solver: pulp.LpSolver, status: PlanStatus, objective: int) -> int | None:
    """The proven bound on the objective, in the model's integers.

    Proven optimal: the objective itself. Stopped by the time limit: HiGHS's own dual bound, read from
    highspy; CBC through PuLP reports no bound (it is only in CBC's log), so there is none to give.
    """
    if status is PlanStatus.optimal:
        return objective
    if isinstance(solver, pulp.HiGHS) and m.problem.solverModel is not None:
        bound = m.problem.solverModel.getInfo().mip_dual_bound
        if not math.isfinite(bound):
            return None
        # PuLP hands HiGHS `-objective` to maximise; the objective is integral, so its bound rounds inwards.
        return math.floor(-bound + 1e-6) if m.problem.sense == pulp.LpMaximize else math.ceil(bound - 1e-6)
    return None


def solve_milp(
    scenario: Scenario,
    settings: SolveSettings,
    *,
    hint: dict[str, Placement] | None = None,
    on_progress: Callable[[float, float, float], None] | None = None,
    began: float | None = None,
) -> Plan:
    """The best plan HiGHS or CBC finds within the settings' time limit; infeasibility is a status.

    A `hint` (a valid plan, the baseline's) is HiGHS's starting solution, as it is CP-SAT's (CBC gets none,
    see `_solver`); in makespan mode it also bounds the horizon.
    PuLP offers no callback during the search: `on_progress` hears once, when it ends (before the tie-break).

    The plan's objective is recomputed from the decisions by `build_plan`, never read off the solver. The time
    limit counts from `began` (default: now), so building the model is part of it.
    """
    began = time.perf_counter() if began is None else began
    m = Model(Formulation(scenario, settings, finish_by=periods_used(scenario, hint)))
    if hint:
        m.warm_start(hint)
    left = time_left(settings, began)
    solver_name, solver = _solver(settings, left)
    status = _solve(m, solver, left)
    if not status.found:
        return backend_plan(scenario, settings, {}, status, None, began=began, backend="pulp", solver_name=solver_name)
    placements = m.placements()
    objective = _integer_value(m.objective)
    bound = _best_bound(m, solver, status, objective)
    scale = 1 if scenario.policies.objective is Objective.makespan else VALUE_SCALE
    if on_progress:
        on_progress(objective / scale, math.nan if bound is None else bound / scale, time.perf_counter() - began)
    if status is PlanStatus.optimal:
        placements = _break_ties(m, objective, settings, began) or placements
    best_bound = None if bound is None else bound / scale
    return backend_plan(scenario, settings, placements, status, best_bound, began=began, backend="pulp", solver_name=solver_name)


def _break_ties(m: Model, objective: int, settings: SolveSettings, began: float) -> dict[str, Placement] | None:
    """Among plans with the optimal objective, the one that starts work earliest, then earliest in the file:
    the same second phase as CP-SAT's, so both backends prefer the same kind of plan."""
    left = time_left(settings, began)
    if left <= 0.05:
        return None
    if (kept := reduced(m.f.objective.terms, "==", objective - m.f.objective.constant, "keep_objective", ())) is not None:
        m.add(kept)
    m.problem.sense = pulp.LpMinimize
    m.problem.setObjective(m.expression(m.f.tie_break))
    _, solver = _solver(settings, left)
    if not _solve(m, solver, left).found:
        return None
    return m.placements()
