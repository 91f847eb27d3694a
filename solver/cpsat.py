"""The CP-SAT model: the best allocation, and a proof of how good it is.

Formulation: time-indexed starts. `start[i, p]` is true when initiative i starts in period p; only the
periods its window allows get a variable, so earliest starts, deadlines and committed starts are
domain restrictions rather than constraints. A skill need gets one `serve[i, n, team, p]` per qualified
team and start. Why time-indexed: planning horizons are short (4 quarters to ~100 weeks), loads are
per period and uneven (effort spread with the remainder on the earliest periods), and this form gives
the LP relaxation CP-SAT runs alongside its search the tightest capacity and precedence rows (a
dependent may start at p only if a prerequisite started early enough: one row per start, not one
big-M row per pair).

The constraint families are listed in `FAMILIES`, in the order the scenario file reads; each is one
function with a docstring saying what it holds, and each constraint is named from domain ids.
"""

from __future__ import annotations

import os
import time
from typing import Callable

from ortools.sat.python import cp_model

from planner.plan import Placement, Plan, PlanStatus, SolveSettings, build_plan, is_required, window
from planner.quantities import SHARE_SCALE, hundredths, plain_number
from planner.scenario import Initiative, Objective, Scenario
from planner.scoring import VALUE_SCALE
from planner.rules import Rule, RuleKind
from solver.variables import Variables, periods_used, status_message, tightened

Progress = Callable[[float, float, float], None]
"""Called on each better plan, and once more when the search ends (then the bound is final, and equals the
objective when optimality is proven): (objective, best bound or NaN when the solver gives none, seconds of
search), in the scenario's units. The PuLP backend, which has no callback, calls it only at the end."""


def _expression(terms: list[tuple[int, cp_model.IntVar]]) -> cp_model.LinearExprT:
    return cp_model.LinearExpr.WeightedSum([var for _, var in terms], [amount for amount, _ in terms])


class Model:
    """A scenario turned into a CP-SAT model."""

    def __init__(self, scenario: Scenario, settings: SolveSettings, *, finish_by: int | None = None, diagnosing: bool = False) -> None:
        """`finish_by`: in makespan mode, the periods a known plan uses; no start that ends later is created.

        With `diagnosing`, every business rule (a deadline, a committed start, a mandatory initiative, a
        team's capacity in a period, a floor, a cap, a share) holds only while its literal in `rules` is
        true, and there is no objective: `solver.diagnose` asks which rules cannot all hold."""
        self.scenario = scenario
        self.settings = settings
        self.model = cp_model.CpModel()
        self.v: Variables[cp_model.IntVar] = Variables(scenario)
        self.objective: cp_model.LinearExprT = 0
        self.tie_break: cp_model.LinearExprT = 0
        self.diagnosing = diagnosing
        self.rules: dict[Rule, cp_model.IntVar] = {}
        self.finish_by = finish_by
        _add_decisions(self)
        for family in FAMILIES:
            family(self)
        if diagnosing:
            _add_windows(self)
        else:
            _add_objective(self)

    def guard(self, constraint: cp_model.Constraint, rule: Rule) -> None:
        """While diagnosing, make the constraint hold only when the rule's literal is true."""
        if self.diagnosing:
            if rule not in self.rules:
                self.rules[rule] = self.model.NewBoolVar(f"rule[{rule.kind.value},{rule.initiative or rule.team or rule.theme or ''},{rule.period or ''}]")
            constraint.OnlyEnforceIf(self.rules[rule])

    def window(self, initiative: Initiative) -> range:
        """Starts to create variables for: the window, or while diagnosing, all but the deadline and commitment."""
        if not self.diagnosing or initiative.id in self.settings.force_out:
            return window(self.scenario, initiative, self.settings)
        first = self.scenario.period_index[initiative.earliest_start] if initiative.earliest_start else 0
        return range(first, len(self.scenario.periods) - initiative.duration + 1)

    def hint(self, placements: dict[str, Placement]) -> None:
        """Start the search from a known plan (the greedy baseline's)."""
        for initiative in self.scenario.initiatives:
            placed = placements.get(initiative.id)
            if self.v.selected(initiative.id) is None:
                continue
            self.model.AddHint(self.v.selected(initiative.id), placed is not None)
            for p, literal in self.v.starts(initiative.id):
                started = placed is not None and placed.start == p
                self.model.AddHint(literal, started)
                for n in range(len(initiative.all_needs)):
                    for team, serve in self.v.serving(initiative.id, n, p):
                        self.model.AddHint(serve, started and placed.teams[n] == team)


# --- decisions --------------------------------------------------------------------------------------


def _add_decisions(m: Model) -> None:
    """start[i, p], chosen[i] and serve[i, skill, team, p] (`Variables.declare`), as CP-SAT literals."""

    def binary(family: str, *ids: str) -> cp_model.IntVar:
        return m.model.NewBoolVar(f"{family}[{','.join(ids)}]")

    def sum_equals(literals: list[cp_model.IntVar], total: cp_model.IntVar, family: str, *ids: str) -> None:
        # For literals, "sum == total" is "exactly one of them or not total": CP-SAT's native form.
        m.model.AddExactlyOne(literals + [total.Not()]).WithName(f"{family}[{','.join(ids)}]")

    # While diagnosing, deadlines and commitments are rules that may be dropped: no tails from them.
    m.v.declare(tightened(m.scenario, m.settings, m.window, finish_by=m.finish_by, tails=not m.diagnosing), binary, sum_equals)


# --- constraint families, in the order the scenario file reads ---------------------------------------


def add_capacity(m: Model) -> None:
    """Hard: each team's load in each period stays within its capacity (in exact hundredths)."""
    for team in m.scenario.teams:
        for k, label in enumerate(m.scenario.periods):
            if m.v.can_load(team.id, k):
                capacity = m.scenario.capacity(team.id)[k]
                row = m.model.Add(_expression(m.v.load_terms(team.id, k)) <= hundredths(capacity)).WithName(f"capacity[{team.id},{label}]")
                m.guard(row, Rule(kind=RuleKind.capacity, team=team.id, period=label, limit=str(plain_number(capacity))))


def add_required(m: Model) -> None:
    """Hard: mandatory and committed initiatives (every initiative in makespan mode, and forced-in ones) are scheduled."""
    for initiative in m.scenario.initiatives:
        if is_required(initiative, m.scenario) or initiative.id in m.settings.force_in:
            # No allowed start at all (forced out, or no room in its window) makes the model infeasible, as it should.
            row = m.model.AddBoolOr([lit for _, lit in m.v.starts(initiative.id)]).WithName(f"required[{initiative.id}]")
            hard = m.scenario.policies.objective is Objective.makespan or initiative.id in m.settings.force_in
            if initiative.mandatory and not hard:
                m.guard(row, Rule(kind=RuleKind.mandatory, initiative=initiative.id))
            elif initiative.committed and not hard:
                m.guard(row, Rule(kind=RuleKind.committed, initiative=initiative.id, period=initiative.committed))


def add_dependencies(m: Model) -> None:
    """Hard: a dependent starts at p only if each prerequisite started early enough to finish before p."""
    by_id = m.scenario.initiative_by_id
    for initiative in m.scenario.initiatives:
        for prerequisite in initiative.depends_on:
            duration = by_id[prerequisite].duration
            before = m.v.starts(prerequisite)
            for p, literal in m.v.starts(initiative.id):
                in_time = [lit for q, lit in before if q + duration <= p]
                m.model.AddBoolOr(in_time + [literal.Not()]).WithName(f"depends_on[{initiative.id},{prerequisite},{m.scenario.periods[p]}]")


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
            m.model.AddBoolOr([this.Not(), that.Not()]).WithName(f"excludes[{initiative.id},{other}]")


def add_invisible_work_floor(m: Model) -> None:
    """Hard: in every period, invisible work is at least `min_share` of the organisation's capacity,
    at least `team_min_share` of each named team's capacity, and at most `max_share` (all in exact integers)."""
    s = m.scenario
    policy = s.policies.invisible_work
    floor = int(policy.min_share * SHARE_SCALE)
    for k, label in enumerate(s.periods):
        org_capacity = sum(hundredths(s.capacity(t.id)[k]) for t in s.teams)
        invisible = cp_model.LinearExpr.Sum([_expression(m.v.load_terms(t.id, k, invisible_only=True)) for t in s.teams])
        if floor:
            row = m.model.Add(invisible * SHARE_SCALE >= floor * org_capacity).WithName(f"invisible_floor[{label}]")
            m.guard(row, Rule(kind=RuleKind.invisible_floor, limit=str(policy.min_share)))
        if policy.max_share is not None:
            row = m.model.Add(invisible * SHARE_SCALE <= int(policy.max_share * SHARE_SCALE) * org_capacity).WithName(f"invisible_cap[{label}]")
            m.guard(row, Rule(kind=RuleKind.invisible_cap, limit=str(policy.max_share)))
        for team, share in policy.team_min_share.items():
            capacity = hundredths(s.capacity(team)[k])
            if share and capacity:
                row = m.model.Add(_expression(m.v.load_terms(team, k, invisible_only=True)) * SHARE_SCALE >= int(share * SHARE_SCALE) * capacity).WithName(
                    f"team_invisible_floor[{team},{label}]"
                )
                m.guard(row, Rule(kind=RuleKind.team_invisible_floor, team=team, limit=str(share)))


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
            terms = [
                (m.v.selected(i), sense * effort * (SHARE_SCALE * (s.initiative_by_id[i].theme == theme) - share))
                for i, effort in efforts.items()
            ]
            name = "min" if sense == 1 else "max"
            row = m.model.Add(cp_model.LinearExpr.WeightedSum([t[0] for t in terms], [t[1] for t in terms]) >= 0).WithName(
                f"theme_{name}_share[{theme}]"
            )
            kind = RuleKind.theme_min_share if sense == 1 else RuleKind.theme_max_share
            m.guard(row, Rule(kind=kind, theme=theme, limit=str(bound)))


FAMILIES: list[Callable[[Model], None]] = [
    add_capacity,
    add_required,
    add_dependencies,
    add_exclusions,
    add_invisible_work_floor,
    add_theme_shares,
]


def _add_windows(m: Model) -> None:
    """While diagnosing: deadlines and committed starts as rules over the widened windows."""
    s = m.scenario
    for initiative in s.initiatives:
        allowed = window(s, initiative, m.settings)
        for p, literal in m.v.starts(initiative.id):
            if p in allowed:
                continue
            if initiative.committed:
                rule = Rule(kind=RuleKind.committed, initiative=initiative.id, period=initiative.committed)
            else:
                rule = Rule(kind=RuleKind.deadline, initiative=initiative.id, period=initiative.deadline)
            m.guard(m.model.Add(literal == 0).WithName(f"window[{initiative.id},{s.periods[p]}]"), rule)


def _add_objective(m: Model) -> None:
    """value: maximise total decayed value less the cost of changing the previous plan (thousandths).
    makespan: minimise the periods used.

    The tie-break is a second phase that keeps the objective: start work early, earlier-listed
    initiatives first (a start at p costs p x (2n - position)), and leave out work that adds nothing."""
    s, model, v = m.scenario, m.model, m.v
    m.tie_break = _expression(v.tie_break_weights())
    if s.policies.objective is Objective.makespan:
        periods = model.NewIntVar(0, len(s.periods), "periods_used")
        for i, p, literal in v.all_starts():
            model.Add(periods >= p + s.initiative_by_id[i].duration).OnlyEnforceIf(literal)
        m.objective = periods
        model.Minimize(periods)
        return
    terms, constant = v.value_terms()
    m.objective = _expression(terms) + constant
    model.Maximize(m.objective)


MIN_WORKERS = 4
"""CP-SAT's portfolio at 2 workers is one LP search plus time-shared LNS; at 4 it adds the core-based and
the LP-free searches. On 2 cores, 4 workers (sharing the cores) found better plans and more proofs in the
same wall time: docs/benchmarks.md, "Workers"."""


def automatic_workers() -> int:
    """Workers when the settings say 0: one per core, and never fewer than `MIN_WORKERS`."""
    return max(MIN_WORKERS, os.cpu_count() or 1)


class _Progress(cp_model.CpSolverSolutionCallback):
    def __init__(self, report: Progress, scale: float) -> None:
        super().__init__()
        self.report, self.scale = report, scale

    def on_solution_callback(self) -> None:
        self.report(self.ObjectiveValue() / self.scale, self.BestObjectiveBound() / self.scale, self.WallTime())


_STATUS = {
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
) -> Plan:
    began = time.perf_counter()
    m = Model(scenario, settings, finish_by=periods_used(scenario, hint))
    if hint:
        m.hint(hint)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = settings.time_limit
    solver.parameters.num_workers = settings.workers or automatic_workers()
    solver.parameters.random_seed = settings.seed
    makespan = scenario.policies.objective is Objective.makespan
    scale = 1 if makespan else VALUE_SCALE
    callback = _Progress(on_progress, scale) if on_progress else None
    code = solver.Solve(m.model, callback)
    if code == cp_model.MODEL_INVALID:  # a bug in this module, never the user's input
        raise RuntimeError(f"CP-SAT rejected the model: {m.model.Validate()}")
    status = _STATUS[code]
    if not status.found:
        return build_plan(
            scenario, {}, status=status, best_bound=None, solve_seconds=time.perf_counter() - began,
            backend="cpsat", settings=settings, message=status_message(status, settings),
        )
    placements = m.v.placements(lambda var: bool(solver.Value(var)))
    best_bound = solver.BestObjectiveBound() / scale
    if on_progress:
        on_progress(solver.ObjectiveValue() / scale, best_bound, solver.WallTime())
    if status is PlanStatus.optimal:
        placements = _break_ties(m, solver, settings, began) or placements
    return build_plan(
        scenario, placements, status=status, best_bound=best_bound, solve_seconds=time.perf_counter() - began,
        backend="cpsat", settings=settings, message=status_message(status, settings),
    )


def _break_ties(m: Model, first: cp_model.CpSolver, settings: SolveSettings, began: float) -> dict[str, Placement] | None:
    """Among plans with the optimal objective, the one that starts work earliest, then earliest in the file.

    One worker, a fixed seed and a deterministic time budget: the same scenario gives the same plan on
    any machine, whatever the first phase's worker count found first.
    """
    left = settings.time_limit - (time.perf_counter() - began)
    if left <= 0.05:
        return None
    m.model.Add(m.objective == round(first.ObjectiveValue()))
    m.model.Minimize(m.tie_break)
    m.model.ClearHints()
    second = cp_model.CpSolver()
    second.parameters.max_time_in_seconds = left
    second.parameters.max_deterministic_time = 10.0
    second.parameters.num_workers = 1
    second.parameters.random_seed = settings.seed
    code = second.Solve(m.model)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return m.v.placements(lambda var: bool(second.Value(var)))
