"""Why a scenario has no plan: the conflicts among its business rules, and repairs of the whole scenario.

The model is built with one assumption literal per business rule (`Formulation(..., diagnosing=True)`): a
deadline, a committed start, a mandatory initiative, a team's capacity in a period, a floor, a cap, a
theme share. CP-SAT returns a set of assumptions sufficient for infeasibility (feasibility only, one
worker: assumptions need both); that core is then shrunk by deletion, each member dropped in turn and
kept only if the rest of the members becomes feasible without it, so that the conflict is minimal and
each member is proven necessary by a re-solve.

A scenario may break in several independent places. So the conflict's rules are then relaxed (their
literals no longer assumed) and the rules left solved again: while they still cannot all hold, the next
core is found and shrunk among them, the earlier conflicts' rules staying relaxed, up to MAX_CONFLICTS.
The conflicts are disjoint; each is minimal (its rules cannot all hold even with every other rule
relaxed, and without any one of them the rest of them can), and with all of them relaxed the rules left
can all hold.

Each conflict's repairs are found on the scenario with the other conflicts' rules dropped, so that each
repairs that conflict; a repair of the whole scenario makes one change per conflict, and is verified by
solving the scenario with all its changes. Every solve is bounded by the time limit and by the time left
before the diagnosis's deadline; what the deadline leaves undone is said (`Diagnosis.unfinished`).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import TypeVar

from ortools.sat.python import cp_model

from planner.explanation import Change, Conflict, Diagnosis, Repair, RepairChange, Unfinished
from planner.plan import Plan, PlanStatus, SolveSettings
from planner.quantities import SHARE_SCALE, hundredths
from planner.rules import Rule, RuleKind
from planner.scenario import Objective, Scenario
from planner.whatif import with_capacity, with_initiative, with_policy, without
from solver.cpsat import Model, solve_cpsat
from solver.formulation import Formulation

T = TypeVar("T")

MAX_CONFLICTS = 5
"""Conflicts a diagnosis lists at most: each costs a core, its shrinking and its repairs' searches."""

MAX_REPAIRS = 12
"""Repairs of the whole scenario chained at most when there are several conflicts: each costs a repair search
for every other conflict."""


class _OutOfTime(Exception):
    """The diagnosis's deadline has passed: what is left is not started."""


class _Solves:
    """The diagnosis's solves: each bounded by the time limit and the time left, counted from several threads."""

    def __init__(self, settings: SolveSettings, deadline: float) -> None:
        self.settings = settings
        self.deadline = deadline
        self.n = 0
        self._lock = threading.Lock()

    def limit(self) -> float:
        """The next solve's limit, counted as a solve; _OutOfTime when no time is left."""
        left = min(self.settings.time_limit, self.deadline - time.perf_counter())
        if left <= 0:
            raise _OutOfTime
        with self._lock:
            self.n += 1
        return left

    def undecided(self) -> None:
        """After a solve that neither found a plan nor proved there is none: _OutOfTime if the deadline cut it short."""
        if time.perf_counter() >= self.deadline:
            raise _OutOfTime

    def plan(self, scenario: Scenario) -> Plan:
        plan = solve_cpsat(scenario, self.settings.model_copy(update={"time_limit": self.limit()}))
        if plan.status is PlanStatus.unknown:
            self.undecided()
        return plan


def diagnose(
    scenario: Scenario,
    settings: SolveSettings,
    *,
    time_limit: float = 10.0,
    threads: int | None = None,
    repairs: bool = True,
    deadline: float = math.inf,
) -> tuple[Diagnosis, int]:
    """The conflicts and (with `repairs`) the repairs, with the number of solves it took. Each solve takes at
    most `time_limit` seconds and none goes past `deadline` (a `time.perf_counter()` instant): what is not
    done by then is left out and named in `unfinished`, never raised."""
    settings = settings.model_copy(update={"workers": 1, "time_limit": time_limit, "backend": "cpsat", "race": False})
    solves = _Solves(settings, deadline)
    found, unfinished = _conflicts(scenario, solves)
    conflicts = [Conflict(rules=rules, minimal=minimal) for rules, minimal in found]
    whole: list[Repair] = []
    if repairs and conflicts and Unfinished.more_conflicts not in unfinished:  # with conflicts unlisted, no change to those listed can work
        with ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 1) as pool:
            conflicts, whole, done = _repairs(scenario, conflicts, solves, pool)
        if not done:
            unfinished.append(Unfinished.repairs)
    first = conflicts[0] if conflicts else Conflict(rules=[], minimal=False)
    return Diagnosis(conflict=first.rules, minimal=first.minimal, repairs=whole, conflicts=conflicts, unfinished=unfinished), solves.n


# --- conflicts ------------------------------------------------------------------------------------------


def _conflicts(scenario: Scenario, solves: _Solves) -> tuple[list[tuple[list[Rule], bool]], list[Unfinished]]:
    """Disjoint conflicts (rules, minimal), each found with the earlier ones relaxed, and what was left unfinished."""
    m = Model(Formulation(scenario, solves.settings, diagnosing=True))

    def infeasible(assumed: list[Rule]) -> tuple[bool | None, list[Rule]]:
        """True with a core when the assumed rules cannot all hold, False when they can, None when unknown."""
        m.model.clear_assumptions()
        m.model.add_assumptions([m.rules[r] for r in assumed])
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = solves.limit()
        solver.parameters.random_seed = solves.settings.seed
        code = solver.solve(m.model)
        if code == cp_model.INFEASIBLE:
            core = set(solver.sufficient_assumptions_for_infeasibility())
            return True, [r for r in assumed if m.rules[r].index in core]
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return False, []
        solves.undecided()
        return None, []

    found: list[tuple[list[Rule], bool]] = []
    left = list(m.rules)
    try:
        while True:
            verdict, core = infeasible(left)
            if verdict is False:
                return found, []  # with the conflicts relaxed the rest can hold (none at all: infeasible beyond the business rules)
            if verdict is None:
                return found, [Unfinished.conflicts]
            if not core:  # infeasible whatever the rules left: dependencies, durations, what was forced in or out
                return found, []
            if len(found) == MAX_CONFLICTS:
                return found, [Unfinished.more_conflicts]
            members, minimal = _shrunk(core, infeasible)
            found.append((_ordered(scenario, members), minimal))
            left = [r for r in left if r not in members]
    except _OutOfTime:
        return found, [Unfinished.conflicts]


def _shrunk(core: list[Rule], infeasible: Callable[[list[Rule]], tuple[bool | None, list[Rule]]]) -> tuple[list[Rule], bool]:
    """The core shrunk by deletion, and whether every member was proven necessary. When the deadline comes
    first, the members left (still a conflict, not claimed minimal)."""
    members = list(core)
    minimal = True
    for rule in list(members):
        if rule not in members:
            continue  # already left out by a smaller core
        rest = [r for r in members if r != rule]
        try:
            verdict, smaller = infeasible(rest)
        except _OutOfTime:
            return members, False
        if verdict:
            members = smaller or rest
        elif verdict is None:
            minimal = False  # not proven necessary; kept, and the conflict is not claimed minimal
    return members, minimal


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


def with_changes(scenario: Scenario, changes: Iterable[Change]) -> Scenario:
    """The scenario with a repair's changes made: capacity added, a deadline moved, a share set, a rule dropped."""
    for c in changes:
        rule = c.rule
        if c.change == "extra_capacity":
            assert rule.team and rule.period and c.amount is not None
            scenario = with_capacity(scenario, {(rule.team, rule.period): c.amount})
        elif c.change == "deadline_moved":
            assert rule.initiative and rule.period and c.periods is not None
            scenario = with_initiative(scenario, rule.initiative, deadline=scenario.periods[scenario.period_index[rule.period] + c.periods])
        elif c.change in ("floor_lowered", "cap_raised", "share_relaxed"):
            assert c.amount is not None
            scenario = with_policy(scenario, rule, c.amount)
        else:
            scenario = without(scenario, rule)
    return scenario


def _repairs(scenario: Scenario, conflicts: list[Conflict], solves: _Solves, pool: ThreadPoolExecutor) -> tuple[list[Conflict], list[Repair], bool]:
    """Each conflict with its repairs, the repairs of the whole scenario, and whether every search ran to its end.

    A conflict's repairs are searched on the scenario with the other conflicts' rules dropped, so that each
    repairs that conflict. With one conflict that is the scenario itself, so its repairs are the whole
    scenario's. With several, a repair of the whole scenario makes one change per conflict, chained from each
    conflict's repairs in turn (at most MAX_REPAIRS of them) and verified together."""
    apart = [_relaxed(scenario, [other.rules for other in conflicts if other is not c]) for c in conflicts]
    jobs = [(k, rule) for k, c in enumerate(conflicts) for rule in c.rules]
    found = list(pool.map(lambda job: _in_time(lambda: _repair(apart[job[0]], job[1], solves)), jobs))
    done = all(finished for _, finished in found)
    own: list[list[Repair]] = [[] for _ in conflicts]
    for (k, _), (repair, _) in zip(jobs, found, strict=True):
        if repair is not None:
            own[k].append(repair)
    conflicts = [c.model_copy(update={"repairs": repairs}) for c, repairs in zip(conflicts, own, strict=True)]
    if len(conflicts) == 1:
        return conflicts, own[0], done
    if not all(own):
        return conflicts, [], done
    anchors = [(k, repair) for k, repairs in enumerate(own) for repair in repairs][:MAX_REPAIRS]
    chained = list(pool.map(lambda anchor: _in_time(lambda: _chained(scenario, conflicts, own, anchor[0], anchor[1], solves)), anchors))
    whole: list[Repair] = []
    for repair, _ in chained:
        if repair is not None and repair.changes not in [r.changes for r in whole]:
            whole.append(repair)
    return conflicts, whole, done and all(finished for _, finished in chained)


def _chained(scenario: Scenario, conflicts: list[Conflict], own: list[list[Repair]], k: int, anchor: Repair, solves: _Solves) -> Repair | None:
    """A repair of the whole scenario that starts from one repair of conflict k. Each other conflict's repair
    is then searched again, in turn, on the scenario with the changes chosen so far and the conflicts still to
    come dropped, its rules tried best repair first: conflicts meet in shared capacity and shares (an
    organisation's floor grows with the capacity another conflict's repair adds), so amounts found apart
    need not hold together. The last search verifies its change on the scenario with every change made."""
    chosen = {k: anchor.changes[0]}
    rest = [j for j in range(len(conflicts)) if j != k]
    last: Repair | None = None
    for step, j in enumerate(rest):
        edited = _relaxed(with_changes(scenario, chosen.values()), [conflicts[i].rules for i in rest[step + 1 :]])
        last = next((r for tried in _best_first(scenario, own[j]) if (r := _repair(edited, tried.rule, solves))), None)
        if last is None:
            return None
        chosen[j] = last.changes[0]
    assert last is not None, "a repair of the whole scenario is chained only when there are several conflicts"
    return _repair_of([chosen[j] for j in sorted(chosen)], last.status, last.objective)


def _best_first(scenario: Scenario, repairs: list[Repair]) -> list[Repair]:
    """Best objective first (the least periods, in makespan mode); in the conflict's order among equals."""
    sign = 1 if scenario.policies.objective is Objective.makespan else -1
    return sorted(repairs, key=lambda r: (r.objective is None, sign * (r.objective or 0.0)))


def _in_time(job: Callable[[], T]) -> tuple[T | None, bool]:
    """The job's result and True, or None and False when the deadline came first."""
    try:
        return job(), True
    except _OutOfTime:
        return None, False


def _relaxed(scenario: Scenario, conflicts: list[list[Rule]]) -> Scenario:
    """The scenario with these conflicts' rules dropped. A capacity rule cannot be dropped (a team's capacity
    also sets its floors and reserves): a conflict is relaxed by dropping its other rules, or, when it has
    only capacity rules, by room for all the work in each of its cells."""
    demand = sum((i.total_effort for i in scenario.initiatives), Decimal(0))
    for rules in conflicts:
        droppable = [r for r in rules if r.kind is not RuleKind.capacity]
        for rule in droppable:
            scenario = without(scenario, rule)
        if not droppable:
            scenario = with_capacity(scenario, {(r.team or "", r.period or ""): demand for r in rules})
    return scenario


def _repair_of(changes: list[Change], status: PlanStatus, objective: float | None) -> Repair:
    head, *also = changes
    return Repair(rule=head.rule, change=head.change, amount=head.amount, periods=head.periods, also=also, status=status, objective=objective)


DROPPED: dict[RuleKind, RepairChange] = {
    RuleKind.mandatory: "made_optional",
    RuleKind.committed: "commitment_dropped",
    RuleKind.choice_min: "choice_dropped",
    RuleKind.choice_max: "choice_dropped",
    RuleKind.target: "target_dropped",
}
"""The rules a repair drops, and how it says so."""


def _repair(scenario: Scenario, rule: Rule, solves: _Solves) -> Repair | None:
    """The smallest change to one rule of a conflict that makes the scenario feasible, verified."""
    tried: dict[Change, Plan] = {}  # the search's solves: the least change that works was solved while searching

    def solved(change: Change) -> Plan:
        if change not in tried:
            tried[change] = solves.plan(with_changes(scenario, [change]))
        return tried[change]

    def works(change: Change) -> bool:
        return solved(change).status.found

    def verified(change: Change) -> Repair | None:
        plan = solved(change)
        return _repair_of([change], plan.status, plan.objective) if plan.status.found else None

    if rule.kind in DROPPED:
        return verified(Change(rule=rule, change=DROPPED[rule.kind]))
    if rule.kind is RuleKind.deadline:
        assert rule.period
        for k in range(1, len(scenario.periods) - scenario.period_index[rule.period]):
            found = verified(Change(rule=rule, change="deadline_moved", periods=k))
            if found:
                return found
        return None
    if rule.kind is RuleKind.capacity:
        assert rule.team and rule.period
        demand = sum(hundredths(i.total_effort) for i in scenario.initiatives)

        def extra(h: int) -> Change:
            return Change(rule=rule, change="extra_capacity", amount=Decimal(h) / 100)

        capacity = hundredths(scenario.capacity(rule.team)[scenario.period_index[rule.period]])
        least = _least_anywhere(1, max(demand, capacity), lambda h: works(extra(h)), unit=100)
        return None if least is None else verified(extra(least))
    # Floors and minimum shares are lowered, caps and maximum shares raised, to the nearest 0.0001 that works.
    current = int(Decimal(rule.limit or "0") * SHARE_SCALE)
    lowering = rule.kind in (RuleKind.invisible_floor, RuleKind.team_invisible_floor, RuleKind.theme_min_share, RuleKind.reserve, RuleKind.allocation_floor)
    raised: dict[RuleKind, RepairChange] = {
        RuleKind.invisible_cap: "cap_raised",
        RuleKind.theme_max_share: "share_relaxed",
        RuleKind.theme_min_share: "share_relaxed",
    }
    change = raised.get(rule.kind, "floor_lowered")

    def share(step: int) -> Change:
        return Change(rule=rule, change=change, amount=Decimal(current - step if lowering else current + step) / SHARE_SCALE)

    least = _least(1, current if lowering else SHARE_SCALE - current, lambda step: works(share(step)))
    return None if least is None else verified(share(least))


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
