"""Scheduling scenarios compiled to CP-SAT's own scheduling model: an interval per initiative and a cumulative
constraint per team, instead of a Boolean per initiative and start.

It is the same problem, not a relaxation: for the scenarios `covers` accepts (makespan, no guardrails, no
alternatives) the time-indexed formulation (`solver.formulation`) has exactly these rules — each initiative
once, in its (tightened) window, after its prerequisites finish, every team within its capacity in every
period — and both minimise the periods used, then break ties the same way (`Variables.tie_break_weights`:
Σ start × (2n − position), a linear function of each start). What differs is what CP-SAT can reason with:
cumulative constraints over interval starts propagate energy and time-tables that a sum of Booleans per
period hides, and the model no longer grows with the horizon (PSPLIB j60: docs/benchmarks.md). Every plan
it gives is re-built by `build_plan` and re-checked by the solver-free checker like any other.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ortools.sat.python import cp_model

from planner.plan import Placement, Plan, PlanStatus, SolveSettings, need_loads, window
from planner.quantities import hundredths
from planner.scenario import Objective, Scenario
from solver.cpsat import STATUS, Progress, Reporter, configured
from solver.race import CPSAT
from solver.variables import backend_plan, periods_used, tightened, time_left

TIE_BREAK_WORK = 1.0
"""Deterministic seconds the tie-break may take. Among schedules of the optimal makespan, the one with the
least weighted sum of starts is a hard problem of its own: with the Boolean model's 10, j3013_1, proven
optimal at 6 s, spent the other 4 s of its limit on it; a preference is not worth that."""


def covers(scenario: Scenario, settings: SolveSettings) -> bool:
    """Whether the interval model holds every rule of the scenario: makespan, and nothing that needs to know
    which period a load falls in beyond capacity (floors, caps, shares, allocations, targets) or a choice
    between initiatives (excludes, choices, alternative prerequisites, won't haves, work under way)."""
    p = scenario.policies
    guarded = (
        p.invisible_work.min_share
        or p.invisible_work.max_share is not None
        or any(p.invisible_work.team_min_share.values())
        or any(b.min_share is not None or b.max_share is not None for b in p.themes.values())
        or p.allocations
        or p.targets
    )
    choosing = scenario.choices or any(i.excludes or i.depends_on_any or i.wont or i.in_progress is not None for i in scenario.initiatives)
    return p.objective is Objective.makespan and not guarded and not choosing and not settings.force_out and scenario.previous_plan is None


class _Model:
    def __init__(self, scenario: Scenario, settings: SolveSettings, hint: dict[str, Placement] | None) -> None:
        s = scenario
        self.s = s
        self.model = m = cp_model.CpModel()
        window_of = tightened(s, settings, lambda i: window(s, i, settings), finish_by=periods_used(s, hint))
        self.starts: dict[str, cp_model.IntVar] = {}
        self.serve: dict[tuple[str, int], list[tuple[str, cp_model.IntVar]]] = {}
        usage: dict[str, list[tuple[cp_model.IntervalVar, int]]] = {}
        self.impossible = False  # some initiative has no start at all: every one is required, so no plan exists
        for initiative in s.initiatives:
            allowed = list(window_of(initiative))
            if not allowed:
                self.impossible = True
                return
            start = self.starts[initiative.id] = m.new_int_var_from_domain(cp_model.Domain.from_values(allowed), f"start[{initiative.id}]")
            for n, need in enumerate(initiative.all_needs):
                loads = need_loads(need, initiative.duration)
                carriers: list[tuple[str, cp_model.IntVar | None]] = [(need.team, None)] if need.team is not None else []
                if need.team is None:  # one qualified team carries it: an optional copy of the work per team, exactly one present
                    serving = [(t.id, m.new_bool_var(f"serve[{initiative.id}, {n}, {t.id}]")) for t in s.teams if need.skill in t.skills]
                    m.add_exactly_one([present for _, present in serving])
                    self.serve[initiative.id, n] = serving
                    carriers = list(serving)
                for team, present in carriers:
                    # Even loads: one interval over the whole duration; uneven ones: one per period.
                    pieces = [(0, initiative.duration, loads[0])] if len(set(loads)) == 1 else [(k, 1, a) for k, a in enumerate(loads)]
                    for offset, size, amount in pieces:
                        if not amount:
                            continue
                        name = f"work[{initiative.id}, {n}, {team}, +{offset}]"
                        interval = (
                            m.new_fixed_size_interval_var(start + offset, size, name)
                            if present is None
                            else m.new_optional_fixed_size_interval_var(start + offset, size, present, name)
                        )
                        usage.setdefault(team, []).append((interval, amount))
        for initiative in s.initiatives:
            for prerequisite in initiative.depends_on:
                m.add(self.starts[initiative.id] >= self.starts[prerequisite] + s.initiative_by_id[prerequisite].duration)
        for team, items in usage.items():
            capacities = [hundredths(c) for c in s.capacity(team)]
            top = max(capacities)
            # A period with less than the most: a fixed interval there takes up the difference.
            closed = [(m.new_fixed_size_interval_var(k, 1, f"closed[{team}, {s.periods[k]}]"), top - c) for k, c in enumerate(capacities) if c < top]
            m.add_cumulative([interval for interval, _ in items + closed], [amount for _, amount in items + closed], top)
        self.makespan = m.new_int_var(0, len(s.periods), "periods_used")
        ends = [self.starts[i.id] + i.duration for i in s.initiatives]
        if ends:
            m.add_max_equality(self.makespan, ends)
        else:
            m.add(self.makespan == 0)  # nothing to schedule
        m.minimize(self.makespan)
        for ident, placed in (hint or {}).items():
            m.add_hint(self.starts[ident], placed.start)
            for n, _ in enumerate(s.initiative_by_id[ident].all_needs):
                for team, present in self.serve.get((ident, n), []):
                    m.add_hint(present, placed.teams[n] == team)

    def placements(self, solver: cp_model.CpSolver) -> dict[str, Placement]:
        out = {}
        for initiative in self.s.initiatives:
            teams = tuple(
                need.team if need.team is not None else next(team for team, present in self.serve[initiative.id, n] if solver.boolean_value(present))
                for n, need in enumerate(initiative.all_needs)
            )
            out[initiative.id] = Placement(start=solver.value(self.starts[initiative.id]), teams=teams)
        return out

    def tie_break(self) -> cp_model.LinearExprT:
        """`Variables.tie_break_weights` as a function of the starts: start × (2n − position) each (the +1 per
        scheduled initiative is the same for every plan here, where all are)."""
        n = len(self.s.initiatives)
        return cp_model.LinearExpr.weighted_sum([self.starts[i.id] for i in self.s.initiatives], [2 * n - k for k in range(n)])


def solve_intervals(
    scenario: Scenario,
    settings: SolveSettings,
    *,
    hint: dict[str, Placement] | None = None,
    on_progress: Progress | None = None,
    began: float,
    on_built: Callable[[float], None] | None = None,
) -> Plan:
    """The best plan the interval model finds within the settings' limits (counted from `began`), then the
    tie-break among plans of the same makespan, as `solver.cpsat.solve_cpsat` does for the Boolean model."""
    building = time.perf_counter()
    m = _Model(scenario, settings, hint)
    if on_built:
        on_built(time.perf_counter() - building)
    if m.impossible:
        return backend_plan(scenario, settings, {}, PlanStatus.infeasible, None, began=began, backend="cpsat")
    solver = configured(settings, began)
    code = solver.solve(m.model, Reporter(on_progress, 1, began) if on_progress else None)  # makespan: periods, unscaled
    if code == cp_model.MODEL_INVALID:  # a bug in this module, never the user's input
        raise RuntimeError(f"CP-SAT rejected the interval model: {m.model.validate()}")
    status = STATUS[code]
    if not status.found:
        return backend_plan(scenario, settings, {}, status, None, began=began, backend="cpsat", bound_by=CPSAT)
    placements = m.placements(solver)
    bound = solver.best_objective_bound
    if on_progress:
        on_progress(solver.objective_value, bound, time.perf_counter() - began)
    if status is PlanStatus.optimal:
        placements = _break_ties(m, solver, settings, began) or placements
    return backend_plan(scenario, settings, placements, status, bound, began=began, backend="cpsat", found_by=CPSAT, bound_by=CPSAT)


def _break_ties(m: _Model, first: cp_model.CpSolver, settings: SolveSettings, began: float) -> dict[str, Placement] | None:
    """Among plans of the optimal makespan, the one the tie-break prefers: one worker, a fixed seed and a
    deterministic budget, so the same scenario gives the same plan on any machine."""
    left = time_left(settings, began)
    if left <= 0.05:
        return None
    m.model.add(m.makespan == round(first.objective_value))
    m.model.minimize(m.tie_break())
    m.model.clear_hints()
    for initiative, placed in m.placements(first).items():
        m.model.add_hint(m.starts[initiative], placed.start)
    second = cp_model.CpSolver()
    second.parameters.max_time_in_seconds = left
    second.parameters.max_deterministic_time = TIE_BREAK_WORK
    second.parameters.num_workers = 1
    second.parameters.random_seed = settings.seed
    if second.solve(m.model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return m.placements(second)
