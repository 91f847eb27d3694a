"""Why a scenario has no plan: a minimal set of business rules that cannot all hold, and repairs.

The model is built with one assumption literal per business rule (`Formulation(..., diagnosing=True)`): a
deadline, a committed start, a mandatory initiative, a team's capacity in a period, a floor, a cap, a
theme share. CP-SAT returns a set of assumptions sufficient for infeasibility (feasibility only, one
worker: assumptions need both); that core is then shrunk by deletion, each member dropped in turn and
kept only if the rest becomes feasible without it, so that the conflict is minimal and each member is
proven necessary by a re-solve. Each repair is then verified by solving the real, edited scenario.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from ortools.sat.python import cp_model

from planner.explanation import Diagnosis, Repair
from planner.plan import Plan, SolveSettings
from planner.quantities import SHARE_SCALE, hundredths
from planner.rules import Rule, RuleKind
from planner.scenario import Scenario
from planner.whatif import with_capacity, with_initiative, with_policy, without
from solver.cpsat import Model, solve_cpsat
from solver.formulation import Formulation


class _Counter:
    """Solves run, counted from several threads."""

    def __init__(self) -> None:
        self.n = 0
        self._lock = threading.Lock()

    def tick(self) -> None:
        with self._lock:
            self.n += 1


def diagnose(
    scenario: Scenario,
    settings: SolveSettings,
    *,
    time_limit: float = 10.0,
    threads: int | None = None,
    repairs: bool = True,
) -> tuple[Diagnosis, int]:
    """A minimal conflict and (with `repairs`) the repairs, with the number of solves it took."""
    settings = settings.model_copy(update={"workers": 1, "time_limit": time_limit, "backend": "cpsat"})
    count = _Counter()
    conflict, minimal = _minimal_conflict(scenario, settings, time_limit, count)

    def repair(rule: Rule) -> Repair | None:
        return _repair(scenario, settings, rule, count)

    found: list[Repair] = []
    if repairs:
        with ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 1) as pool:
            found = [r for r in pool.map(repair, conflict) if r is not None]
    return Diagnosis(conflict=conflict, minimal=minimal, repairs=found), count.n


def _minimal_conflict(scenario: Scenario, settings: SolveSettings, time_limit: float, count: _Counter) -> tuple[list[Rule], bool]:
    m = Model(Formulation(scenario, settings, diagnosing=True))
    rules = list(m.rules)

    def infeasible(assumed: list[Rule]) -> tuple[bool | None, list[Rule]]:
        """True with a core when the assumed rules cannot all hold, False when they can, None when unknown."""
        m.model.clear_assumptions()
        m.model.add_assumptions([m.rules[r] for r in assumed])
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = time_limit
        solver.parameters.random_seed = settings.seed
        count.tick()
        code = solver.solve(m.model)
        if code == cp_model.INFEASIBLE:
            core = set(solver.sufficient_assumptions_for_infeasibility())
            return True, [r for r in assumed if m.rules[r].index in core]
        return (False if code in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None), []

    verdict, core = infeasible(rules)
    if not verdict:
        return [], False  # infeasible only beyond the business rules (or not proven within the time limit)
    members = list(core)
    minimal = True
    for rule in list(members):
        if rule not in members:
            continue  # already left out by a smaller core
        rest = [r for r in members if r != rule]
        verdict, smaller = infeasible(rest)
        if verdict:
            members = smaller or rest
        elif verdict is None:
            minimal = False  # not proven necessary; kept, and the conflict is not claimed minimal
    return _ordered(scenario, members), minimal


def _ordered(scenario: Scenario, rules: list[Rule]) -> list[Rule]:
    """In the order the scenario file reads: initiatives' rules, then capacity by team and period, then policies."""
    position = {i.id: n for n, i in enumerate(scenario.initiatives)}
    team = {t.id: n for n, t in enumerate(scenario.teams)}
    kinds = list(RuleKind)

    def key(rule: Rule) -> tuple[int, int, int, int]:
        group = 0 if rule.initiative else 1 if rule.kind is RuleKind.capacity else 2
        return (
            group,
            position.get(rule.initiative or "", team.get(rule.team or "", 0)),
            scenario.period_index.get(rule.period or "", 0),
            kinds.index(rule.kind),
        )

    return sorted(rules, key=key)


# --- repairs --------------------------------------------------------------------------------------------


def _feasible(scenario: Scenario, settings: SolveSettings, count: _Counter) -> Plan:
    count.tick()
    return solve_cpsat(scenario, settings)


def _repair(scenario: Scenario, settings: SolveSettings, rule: Rule, count: _Counter) -> Repair | None:
    """The smallest change to one rule of the conflict that makes the whole scenario feasible, verified."""

    def verified(change: str, edited: Scenario, **fields: object) -> Repair | None:
        plan = _feasible(edited, settings, count)
        if not plan.status.found:
            return None
        return Repair(rule=rule, change=change, status=plan.status, objective=plan.objective, **fields)

    if rule.kind is RuleKind.mandatory:
        return verified("made_optional", without(scenario, rule))
    if rule.kind is RuleKind.committed:
        return verified("commitment_dropped", without(scenario, rule))
    if rule.kind in (RuleKind.choice_min, RuleKind.choice_max):
        return verified("choice_dropped", without(scenario, rule))
    if rule.kind is RuleKind.target:
        return verified("target_dropped", without(scenario, rule))
    if rule.kind is RuleKind.deadline:
        assert rule.initiative and rule.period
        last = len(scenario.periods) - 1
        for k in range(scenario.period_index[rule.period] + 1, last + 1):
            found = verified(
                "deadline_moved", with_initiative(scenario, rule.initiative, deadline=scenario.periods[k]), periods=k - scenario.period_index[rule.period]
            )
            if found:
                return found
        return None
    if rule.kind is RuleKind.capacity:
        assert rule.team and rule.period
        cell = (rule.team, rule.period)
        demand = sum(hundredths(i.total_effort) for i in scenario.initiatives)

        def edit(h: int) -> Scenario:
            return with_capacity(scenario, {cell: Decimal(h) / 100})

        capacity = hundredths(scenario.capacity(rule.team)[scenario.period_index[rule.period]])
        least = _least_anywhere(1, max(demand, capacity), lambda h: _feasible(edit(h), settings, count).status.found, unit=100)
        return None if least is None else verified("extra_capacity", edit(least), amount=Decimal(least) / 100)
    # Floors and minimum shares are lowered, caps and maximum shares raised, to the nearest 0.0001 that works.
    current = int(Decimal(rule.limit or "0") * SHARE_SCALE)
    lowering = rule.kind in (RuleKind.invisible_floor, RuleKind.team_invisible_floor, RuleKind.theme_min_share, RuleKind.reserve, RuleKind.allocation_floor)
    change = {RuleKind.invisible_cap: "cap_raised", RuleKind.theme_max_share: "share_relaxed", RuleKind.theme_min_share: "share_relaxed"}.get(
        rule.kind, "floor_lowered"
    )

    def share_edit(step: int) -> Scenario:
        value = current - step if lowering else current + step
        return with_policy(scenario, rule, Decimal(value) / SHARE_SCALE)

    room = current if lowering else SHARE_SCALE - current
    least = _least(1, room, lambda step: _feasible(share_edit(step), settings, count).status.found)
    if least is None:
        return None
    value = current - least if lowering else current + least
    return verified(change, share_edit(least), amount=Decimal(value) / SHARE_SCALE)


PROBES = 24
"""Amounts `_least_anywhere` tries before it narrows one down: it bounds a capacity repair's solves."""


def _least_anywhere(low: int, high: int, works: Callable[[int], bool], unit: int) -> int | None:
    """The least x in [low, high] for which `works(x)`, without assuming that more always works: more
    capacity can break a team's invisible-work floor, which grows with it. Amounts are tried upwards in
    equal steps (at least one `unit`, and few enough for PROBES tries over the range) until one works; the
    least between it and the last that did not is then narrowed down, assuming only that stretch is
    monotone (the repair found is verified by a re-solve either way). None when none of the amounts tried
    works."""
    step = max(unit, -(-(high - low + 1) // PROBES))
    failed = low - 1
    for x in range(low + step - 1, high + step, step):
        x = min(x, high)
        if works(x):
            return _least(failed + 1, x, works)
        failed = x
    return None


def _least(low: int, high: int, works: Callable[[int], bool]) -> int | None:
    """The least x in [low, high] for which `works(x)`, assuming it is monotone; None when even `high` fails."""
    if high < low or not works(high):
        return None
    while low < high:
        middle = (low + high) // 2
        if works(middle):
            high = middle
        else:
            low = middle + 1
    return low
