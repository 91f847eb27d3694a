"""The CP-SAT model of `solver.cpsat`, solved as a MILP with PuLP and HiGHS or CBC (`SolveSettings.milp_solver`).

Same decisions (time-indexed `start[i, p]`, `chosen[i]`, `serve[i, skill, team, p]`), same constraint
families in the same order, and the same integers (hundredths of the unit, `SHARE_SCALE`
ten-thousandths of a share, thousandths of value), so both backends prove the same optimum and a test
can demand the objectives agree exactly. Each CP-SAT clause becomes its linear twin:

- exactly one of (starts, not chosen)      ->  sum of starts == chosen
- exactly one of (serves, not started)     ->  sum of serves == started
- at least one start (required)            ->  sum of starts >= 1
- a prerequisite in time, or not started   ->  sum of in-time prerequisite starts >= started
- not both of two exclusive initiatives    ->  chosen + chosen <= 1

Rows are kept in integers and divided by the gcd of their coefficients before they reach the solver
(`Model.add`): an equivalent row, but a floor like `invisible * 10000 >= 2000 * capacity` becomes
`invisible * 5 >= capacity`, far from the floating-point tolerances a MILP solver works within.

PuLP is only imported by this module, and this module only when the `pulp` backend is asked for.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from typing import Callable

import pulp

from planner.errors import PlannerError
from planner.plan import Placement, Plan, PlanStatus, SolveSettings, build_plan, is_required, window
from planner.quantities import SHARE_SCALE, hundredths
from planner.scenario import Objective, Scenario
from planner.scoring import VALUE_SCALE
from solver.variables import Variables, periods_used, status_message, tightened


def name(family: str, *parts: object) -> str:
    """A variable or constraint name built from domain ids: `start(feature~store,2027~Q2)`.

    PuLP rewrites `-+[] ->/` to `_`, which would merge ids such as `a-b` and `a_b` and break PuLP's
    rule that names are unique. Ids and period labels never contain `~ , ( )`, so writing `-` as `~`
    and the brackets as parentheses leaves PuLP nothing to rewrite and keeps every name distinct.
    """
    return f"{family}({','.join(str(part) for part in parts)})".replace("-", "~")


def _is_set(variable: pulp.LpVariable) -> bool:
    # Solvers return binaries within their integrality tolerance of 0 or 1 (e.g. 0.9999999).
    return (variable.varValue or 0) > 0.5


class Model:
    """A scenario turned into a PuLP problem."""

    def __init__(self, scenario: Scenario, settings: SolveSettings, *, finish_by: int | None = None) -> None:
        """`finish_by`: in makespan mode, the periods a known plan uses; no start that ends later is created."""
        self.scenario = scenario
        self.settings = settings
        self.finish_by = finish_by
        makespan = scenario.policies.objective is Objective.makespan
        self.problem = pulp.LpProblem("portfolio_plan", pulp.LpMinimize if makespan else pulp.LpMaximize)
        self.v: Variables[pulp.LpVariable] = Variables(scenario)
        self.objective = pulp.LpAffineExpression()
        self.tie_break = pulp.LpAffineExpression()
        _add_decisions(self)
        for family in FAMILIES:
            family(self)
        _add_objective(self)

    def binary(self, variable_name: str) -> pulp.LpVariable:
        return self.problem.add_variable(variable_name, cat=pulp.LpBinary)

    def add(self, constraint: pulp.LpConstraint, constraint_name: str) -> None:
        """Add a row in integers, divided by the gcd of its coefficients (the same integer points, smaller numbers).

        A row without variables is kept only when it cannot hold: `0 >= 1` is how an impossible requirement
        reaches the solver, which then reports the model infeasible, as CP-SAT does for an empty clause.
        One that holds (`0 >= 0`: a theme bound with nothing to schedule, or the objective kept by the
        tie-break when nothing is scheduled) says nothing, and the CBC that cbcbox 2.931 and later builds
        aborts on it, so it is left out. "Without variables" means without a nonzero coefficient: once
        solved, an objective with no variables holds PuLP's `0 * __dummy`.
        """
        if not any(constraint.values()):
            constant = int(constraint.constant)  # PuLP keeps a row as `expression (sense) 0`
            holds = constant == 0 if constraint.sense == pulp.LpConstraintEQ else constant * constraint.sense >= 0
            if holds:
                return
        coefficients = [int(c) for c in constraint.values()] + [int(constraint.constant)]
        divisor = math.gcd(*coefficients)
        if divisor > 1:
            constraint = pulp.LpConstraint(
                pulp.LpAffineExpression([(var, int(c) // divisor) for var, c in constraint.items()], int(constraint.constant) // divisor),
                sense=constraint.sense,
            )
        self.problem.addConstraint(constraint, constraint_name)


# --- decisions --------------------------------------------------------------------------------------


def _add_decisions(m: Model) -> None:
    """start[i, p], chosen[i] and serve[i, skill, team, p] (`Variables.declare`), as binaries."""

    def binary(family: str, *ids: str) -> pulp.LpVariable:
        return m.binary(name(family, *ids))

    def sum_equals(variables: list[pulp.LpVariable], total: pulp.LpVariable, family: str, *ids: str) -> None:
        m.add(pulp.lpSum(variables) == total, name(family, *ids))

    m.v.declare(tightened(m.scenario, m.settings, lambda initiative: window(m.scenario, initiative, m.settings), finish_by=m.finish_by), binary, sum_equals)


# --- constraint families, in the order the scenario file reads ---------------------------------------


def add_capacity(m: Model) -> None:
    """Hard: each team's load in each period stays within its capacity (in exact hundredths)."""
    for team in m.scenario.teams:
        for k, label in enumerate(m.scenario.periods):
            if m.v.can_load(team.id, k):
                m.add(pulp.lpSum(a * x for a, x in m.v.load_terms(team.id, k)) <= hundredths(m.scenario.capacity(team.id)[k]), name("capacity", team.id, label))


def add_required(m: Model) -> None:
    """Hard: mandatory and committed initiatives (every initiative in makespan mode, and forced-in ones) are scheduled."""
    for initiative in m.scenario.initiatives:
        if is_required(initiative, m.scenario) or initiative.id in m.settings.force_in:
            # No allowed start at all (forced out, or no room in its window) leaves `0 >= 1`: infeasible, as it should.
            m.add(pulp.lpSum(var for _, var in m.v.starts(initiative.id)) >= 1, name("required", initiative.id))


def add_dependencies(m: Model) -> None:
    """Hard: a dependent starts at p only if each prerequisite started early enough to finish before p.

    One row per dependent start, as in CP-SAT, rather than one big-M row per pair: the LP relaxation
    then cannot start a dependent at p on a fraction of a prerequisite that finishes too late.
    """
    by_id = m.scenario.initiative_by_id
    for initiative in m.scenario.initiatives:
        for prerequisite in initiative.depends_on:
            duration = by_id[prerequisite].duration
            before = m.v.starts(prerequisite)
            for p, started in m.v.starts(initiative.id):
                in_time = pulp.lpSum(var for q, var in before if q + duration <= p)
                m.add(in_time >= started, name("depends_on", initiative.id, prerequisite, m.scenario.periods[p]))


def add_exclusions(m: Model) -> None:
    """Hard: of two initiatives that exclude each other, at most one is scheduled."""
    seen: set[frozenset[str]] = set()
    for initiative in m.scenario.initiatives:
        for other in initiative.excludes:
            pair = frozenset((initiative.id, other))
            this, that = m.v.selected(initiative.id), m.v.selected(other)
            if pair in seen or this is None or that is None:
                continue
            seen.add(pair)
            m.add(this + that <= 1, name("excludes", initiative.id, other))


def add_invisible_work_floor(m: Model) -> None:
    """Hard: in every period, invisible work is at least `min_share` of the organisation's capacity,
    at least `team_min_share` of each named team's capacity, and at most `max_share` (all in exact integers)."""
    s = m.scenario
    policy = s.policies.invisible_work
    floor = int(policy.min_share * SHARE_SCALE)
    for k, label in enumerate(s.periods):
        org_capacity = sum(hundredths(s.capacity(t.id)[k]) for t in s.teams)
        invisible = pulp.lpSum(pulp.lpSum(a * x for a, x in m.v.load_terms(t.id, k, invisible_only=True)) for t in s.teams)
        if floor:
            m.add(invisible * SHARE_SCALE >= floor * org_capacity, name("invisible_floor", label))
        if policy.max_share is not None:
            m.add(invisible * SHARE_SCALE <= int(policy.max_share * SHARE_SCALE) * org_capacity, name("invisible_cap", label))
        for team, share in policy.team_min_share.items():
            capacity = hundredths(s.capacity(team)[k])
            if share and capacity:
                m.add(
                    pulp.lpSum(a * x for a, x in m.v.load_terms(team, k, invisible_only=True)) * SHARE_SCALE >= int(share * SHARE_SCALE) * capacity,
                    name("team_invisible_floor", team, label),
                )


def add_theme_shares(m: Model) -> None:
    """Hard: each bounded theme's share of all effort scheduled over the horizon stays within its bounds."""
    s = m.scenario
    efforts = {i.id: hundredths(i.total_effort) for i in s.initiatives if m.v.selected(i.id) is not None}
    for theme, bounds in s.policies.themes.items():
        # share >= min  <=>  sum_i chosen_i * effort_i * (SCALE * [i in theme] - min) >= 0, exact in integers
        for bound, sense in ((bounds.min_share, 1), (bounds.max_share, -1)):
            if bound is None:
                continue
            share = int(bound * SHARE_SCALE)
            weighted = pulp.lpSum(
                sense * effort * (SHARE_SCALE * (s.initiative_by_id[i].theme == theme) - share) * m.v.selected(i)
                for i, effort in efforts.items()
            )
            m.add(weighted >= 0, name(f"theme_{'min' if sense == 1 else 'max'}_share", theme))


FAMILIES: list[Callable[[Model], None]] = [
    add_capacity,
    add_required,
    add_dependencies,
    add_exclusions,
    add_invisible_work_floor,
    add_theme_shares,
]


def _add_objective(m: Model) -> None:
    """value: maximise total decayed value less the cost of changing the previous plan (thousandths).
    makespan: minimise the periods used. The tie-break (`Variables.tie_break_weights`) is a second phase that keeps the objective."""
    s, v = m.scenario, m.v
    m.tie_break = pulp.lpSum(weight * var for weight, var in v.tie_break_weights())
    if s.policies.objective is Objective.makespan:
        periods = m.problem.add_variable("periods_used", lowBound=0, upBound=len(s.periods), cat=pulp.LpInteger)
        # CP-SAT says `periods >= p + duration` only if start[i, p]. At most one start of i is set, so
        # one row per initiative, `periods >= sum_p (p + duration) * start[i, p]`, says the same
        # without a big-M, and is the stronger row in the LP relaxation.
        for initiative in s.initiatives:
            starts = v.starts(initiative.id)
            if starts:
                finish = pulp.lpSum((p + initiative.duration) * var for p, var in starts)
                m.add(periods >= finish, name("periods_used", initiative.id))
        m.objective = pulp.LpAffineExpression(periods)
    else:
        terms, constant = v.value_terms()
        m.objective = pulp.LpAffineExpression([(var, weight) for weight, var in terms], constant)
    m.problem.setObjective(m.objective)


# --- solving ----------------------------------------------------------------------------------------


def _solver(settings: SolveSettings, time_limit: float) -> tuple[str, pulp.LpSolver]:
    """The solver `settings.milp_solver` names: HiGHS through highspy, CBC through the binary cbcbox ships,
    and for `auto` HiGHS when it is installed, else CBC. A named solver that is not installed is an error.

    `gapRel=0`: HiGHS stops at a 0.01% gap by default; "optimal" here means proven, as it does for CP-SAT.
    """
    threads = settings.workers or None
    if settings.milp_solver in ("auto", "highs"):
        highs = pulp.HiGHS(msg=False, timeLimit=time_limit, threads=threads, gapRel=0, random_seed=settings.seed)
        if highs.available():
            return "HiGHS", highs
        if settings.milp_solver == "highs":
            raise PlannerError("the highs MILP solver is not installed: install highspy (`pip install 'pulp[highs]'`) or choose cbc")
    # CBC's search is deterministic for a given thread count, so it takes no seed.
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
    scenario: Scenario, settings: SolveSettings, *, hint: dict[str, Placement] | None = None, on_progress: Callable[[float, float, float], None] | None = None
) -> Plan:
    """The best plan HiGHS or CBC finds within the settings' time limit; infeasibility is a status.

    A `hint` (a valid plan) is not handed to the solver; in makespan mode it bounds the horizon, as for CP-SAT.
    PuLP offers no callback during the search: `on_progress` hears once, when it ends (before the tie-break).

    The plan's objective is recomputed from the decisions by `build_plan`, never read off the solver.
    """
    began = time.perf_counter()
    solver_name, solver = _solver(settings, settings.time_limit)
    m = Model(scenario, settings, finish_by=periods_used(scenario, hint))
    status = _solve(m, solver, settings.time_limit)
    if not status.found:
        return build_plan(
            scenario, {}, status=status, best_bound=None, solve_seconds=time.perf_counter() - began,
            backend="pulp", settings=settings, message=f"{solver_name}: " + status_message(status, settings),
        )
    placements = m.v.placements(_is_set)
    objective = _integer_value(m.objective)
    bound = _best_bound(m, solver, status, objective)
    scale = 1 if scenario.policies.objective is Objective.makespan else VALUE_SCALE
    if on_progress:
        on_progress(objective / scale, math.nan if bound is None else bound / scale, time.perf_counter() - began)
    if status is PlanStatus.optimal:
        placements = _break_ties(m, objective, settings, began) or placements
    return build_plan(
        scenario, placements, status=status, best_bound=None if bound is None else bound / scale,
        solve_seconds=time.perf_counter() - began, backend="pulp", settings=settings,
        message=f"{solver_name}: " + status_message(status, settings),
    )


def _break_ties(m: Model, objective: int, settings: SolveSettings, began: float) -> dict[str, Placement] | None:
    """Among plans with the optimal objective, the one that starts work earliest, then earliest in the file:
    the same second phase as CP-SAT's, so both backends prefer the same kind of plan."""
    left = settings.time_limit - (time.perf_counter() - began)
    if left <= 0.05:
        return None
    m.add(m.objective == objective, "keep_objective")
    m.problem.sense = pulp.LpMinimize
    m.problem.setObjective(m.tie_break)
    _, solver = _solver(settings, left)
    if not _solve(m, solver, left).found:
        return None
    return m.v.placements(_is_set)
