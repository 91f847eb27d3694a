"""Explanations proven by re-solving: every reason and every what-if here is an actual CP-SAT solve of an
edited scenario (`planner.whatif`) or of the same scenario with an initiative forced in or out.

Re-solves start from the current plan as a hint, use one worker each and run side by side in threads
(CP-SAT releases the GIL while it searches), so a 2-core machine runs two at once.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import cached_property, partial
from typing import Any

from planner.explanation import (
    BindingCapacity,
    CapacityCell,
    Counterfactual,
    CounterfactualKind,
    Displacement,
    Explanation,
    GuardrailFamily,
    Hold,
    Holding,
    InitiativeExplanation,
    JointCost,
    Move,
    PolicyCost,
    Reason,
    Shortage,
)
from planner.plan import Plan, PlanStatus, SolveSettings, is_required, need_loads, placements_of, window
from planner.quantities import MAX_VALUE, hundredths
from planner.rules import Rule, RuleKind, rule_name
from planner.scenario import Initiative, Objective, Scenario
from planner.scoring import finish_value, initiative_value
from planner.whatif import GUARDRAILS, guardrails, policy_rules, with_capacity, with_initiative, without, without_policies
from solver.cpsat import solve_cpsat
from solver.diagnose import diagnose
from solver.robust import solved_on

FAMILIES: dict[GuardrailFamily, frozenset[RuleKind]] = {
    "floors": frozenset({RuleKind.invisible_floor, RuleKind.team_invisible_floor, RuleKind.allocation_floor}),
    "shares": frozenset({RuleKind.theme_min_share, RuleKind.theme_max_share}),
    "guardrails": GUARDRAILS,
}
"""The families of guardrails priced together (`JointCost`), as well as one at a time."""


class _OutOfTime(Exception):
    """The explanation's overall budget is spent: what is left is reported unexplained."""


class _Unproven(_OutOfTime):
    """A re-solve stopped at its time limit with neither a plan nor a proof that there is none: no reason
    can be claimed from it, so the initiative is reported unexplained rather than given a guess."""


class _Explainer:
    def __init__(self, scenario: Scenario, plan: Plan, settings: SolveSettings, time_limit: float, deadline: float = math.inf) -> None:
        self.s = scenario
        self.plan = plan
        # Each re-solve on one worker, within the explanation's own limit (and a work limit no larger, when the solve had one),
        # without HiGHS beside it: re-solves are many, short, and already run two at a time.
        work = None if settings.work_limit is None else min(settings.work_limit, time_limit)
        self.settings = settings.model_copy(update={"workers": 1, "time_limit": time_limit, "backend": "cpsat", "work_limit": work, "race": False})
        self.hint = placements_of(scenario, plan)
        self.starts = {s.id: scenario.period_index[s.start] for s in plan.scheduled}
        self.placed = plan.scheduled_by_id()
        self.makespan = scenario.policies.objective is Objective.makespan
        self.count = 0
        self.deadline = deadline
        self.building = 0.0  # the longest a re-solve's model took to build: no re-solve starts with less time left
        self._lock = threading.Lock()
        self._once: dict[tuple[str, ...], Any] = {}  # what `once` worked out, by key
        self._computing: dict[tuple[str, ...], threading.Lock] = {}

    # --- re-solving ---

    def in_time(self) -> float:
        """The seconds left of the budget; out of time when none are (checked before a re-solve's scenario is
        even built: building one of a large portfolio takes a while)."""
        left = self.deadline - time.perf_counter()
        if left <= 0:
            raise _OutOfTime
        return left

    def built(self, seconds: float) -> None:
        with self._lock:
            self.building = max(self.building, seconds)

    def resolve(self, scenario: Scenario | None = None, *, force_in: Iterable[str] = (), force_out: Iterable[str] = ()) -> Plan:
        left = self.in_time()
        if left <= self.building:  # the model could not even be built in the time left (2 s for 2,000 initiatives)
            raise _OutOfTime
        settings = self.settings.model_copy(
            update={
                "force_in": [*self.settings.force_in, *force_in],
                "force_out": [*self.settings.force_out, *force_out],
                "time_limit": min(self.settings.time_limit, left),
            }
        )
        with self._lock:
            self.count += 1
        return solve_cpsat(scenario or self.s, settings, hint=self.hint, on_built=self.built)

    def loss(self, other: Plan, base: float | None = None) -> float | None:
        """How much worse `other` is than the plan (or than `base`); None when it has no plan."""
        base = self.plan.objective if base is None else base
        if other.objective is None or base is None:
            return None
        return round(other.objective - base if self.makespan else base - other.objective, 6) + 0.0

    @cached_property
    def bare(self) -> Scenario | None:
        """The scenario without floors, caps and theme shares (None when it has none)."""
        bare = without_policies(self.s)
        return None if bare == self.s else bare

    @property
    def relaxed(self) -> Plan:
        """The best plan of the bare scenario (solved once, whichever thread asks first)."""
        bare = self.bare
        assert bare is not None
        return self.once(("relaxed",), lambda: self.resolve(bare))

    def once(self, key: tuple[str, ...], compute: Callable[[], Any]) -> Any:
        """`compute()`, worked out once per key however many threads ask at once (the others wait for it);
        not kept when it runs out of time."""
        with self._lock:
            if key in self._once:
                return self._once[key]
            lock = self._computing.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._once:
                    return self._once[key]
            value = compute()
            with self._lock:
                self._once[key] = value
            return value

    def gain(self, other: Plan) -> float | None:
        lost = self.loss(other)
        return None if lost is None else 0.0 - lost  # 0.0 - x: no "-0.0" in reports

    def counterfactual(self, kind: CounterfactualKind, initiative: str, other: Plan, **extra: object) -> Counterfactual:
        if not other.status.found:
            return Counterfactual(kind=kind, status=other.status, objective=None, value_lost=None, settings=other.settings, **extra)
        after = {s.id: s.start for s in other.scheduled}
        before = {s.id: s.start for s in self.plan.scheduled}
        return Counterfactual(
            kind=kind,
            status=other.status,
            objective=other.objective,
            value_lost=self.loss(other),
            start=after.get(initiative),
            added=sorted(i for i in after if i not in before and i != initiative),
            dropped=sorted(i for i in before if i not in after and i != initiative),
            moved=[Move(id=i, start=before[i], to=after[i]) for i in sorted(before) if i in after and after[i] != before[i] and i != initiative],
            settings=other.settings,
            **extra,
        )

    # --- structure ---

    @cached_property
    def earliest(self) -> dict[str, int | None]:
        """Earliest possible start of each initiative from its window and its prerequisites' durations alone."""
        out: dict[str, int | None] = {}
        by_id = self.s.initiative_by_id

        def visit(i: Initiative) -> int | None:
            if i.id not in out:
                allowed = window(self.s, i, self.settings)
                first = allowed.start if allowed else None
                for p in i.depends_on:
                    ready = visit(by_id[p])
                    first = None if first is None or ready is None else max(first, ready + by_id[p].duration)
                out[i.id] = first if first is not None and first < allowed.stop else None
            return out[i.id]

        for initiative in self.s.initiatives:
            visit(initiative)
        return out

    def holdings(self, initiative: Initiative, start: int) -> list[Holding]:
        labels = self.s.periods
        out = []
        if initiative.committed:
            out.append(Holding(code=Hold.committed, period=initiative.committed))
        allowed = window(self.s, initiative, self.settings)
        if start == allowed.start and not initiative.committed:
            out.append(Holding(code=Hold.earliest_start, period=labels[start]))
        by_id = self.s.initiative_by_id
        for p in initiative.depends_on:
            if p in self.starts and self.starts[p] + by_id[p].duration == start:
                out.append(Holding(code=Hold.prerequisite, prerequisite=p, period=labels[start - 1]))
        if initiative.deadline and start + initiative.duration - 1 == self.s.period_index[initiative.deadline]:
            out.append(Holding(code=Hold.deadline, period=initiative.deadline))
        if start > 0 and not initiative.committed:
            room = self.room(exclude=initiative.id)
            for team, cells in self.loads(initiative, start - 1).items():
                for k, amount in cells.items():
                    if k < len(labels) and amount > room[team, k]:
                        out.append(
                            Holding(
                                code=Hold.full_team,
                                team=team,
                                period=labels[k],
                                room=Decimal(room[team, k]) / 100,
                                needed=Decimal(amount) / 100,
                            )
                        )
                        break
        return out

    def loads(self, initiative: Initiative, start: int) -> dict[str, dict[int, int]]:
        """Hundredths the initiative puts on each team per period index when started at `start`."""
        out: dict[str, dict[int, int]] = {}
        placed = self.hint.get(initiative.id)
        for n, need in enumerate(initiative.all_needs):
            team = need.team or (placed.teams[n] if placed else None)
            # Not placed: any qualified team could carry a skill need, so it would need room on each.
            candidates = [team] if team else [t.id for t in self.s.teams if need.skill in t.skills]
            for candidate in candidates:
                for offset, amount in enumerate(need_loads(need, initiative.duration)):
                    cell = out.setdefault(candidate, {})
                    cell[start + offset] = cell.get(start + offset, 0) + amount
        return out

    @cached_property
    def left(self) -> dict[tuple[str, int], int]:
        """Capacity left per (team, period index) in the plan, in hundredths."""
        left = {(t.id, k): hundredths(self.s.capacity(t.id)[k]) for t in self.s.teams for k in range(len(self.s.periods))}
        for s in self.plan.scheduled:
            for team, row in s.load.items():
                for label, amount in row.items():
                    left[team, self.s.period_index[label]] -= hundredths(amount)
        return left

    def room(self, exclude: str) -> dict[tuple[str, int], int]:
        """Capacity left per (team, period index) in the plan, in hundredths, without one initiative's load."""
        room = dict(self.left)
        placed = self.placed.get(exclude)
        for team, row in placed.load.items() if placed else ():
            for label, amount in row.items():
                room[team, self.s.period_index[label]] += hundredths(amount)
        return room

    def displaced(self, initiative: Initiative, forced: Plan, found: Counterfactual) -> list[Displacement]:
        """Work in the plan on the teams and periods the initiative takes in the forced plan, that the forced plan drops or moves."""
        taken = forced.scheduled_by_id().get(initiative.id)
        if taken is None:
            return []
        mine = {(team, label) for team, row in taken.load.items() for label in row}
        return self.work_on(mine, {m.id for m in found.moved} | set(found.dropped))

    def work_on(self, cells: set[tuple[str, str]], among: set[str]) -> list[Displacement]:
        """The plan's initiatives among `among` that load any of the (team, period label) cells, and where."""
        out = []
        for s in self.plan.scheduled:
            if s.id not in among:
                continue
            for team, row in sorted(s.load.items()):
                periods = [label for label in row if (team, label) in cells]
                if periods:
                    out.append(Displacement(initiative=s.id, team=team, periods=periods))
        return out

    # --- one initiative ---

    def base(self, initiative: Initiative) -> dict[str, str | None]:
        earliest = self.earliest[initiative.id]
        return dict(id=initiative.id, title=initiative.title, earliest_possible=self.s.periods[earliest] if earliest is not None else None)

    def explain_one(self, initiative: Initiative, counterfactuals: bool) -> InitiativeExplanation:
        earliest = self.earliest[initiative.id]
        base = self.base(initiative)
        placed = self.placed.get(initiative.id)
        if placed is not None:
            start = self.starts[initiative.id]
            late_by = start - earliest if earliest is not None else 0
            found: list[Counterfactual] = []
            reason: Reason | None = None
            displaced: list[Displacement] = []
            blocking: list[Rule] = []
            together = False
            if late_by > 0 and self.loses_by_waiting(initiative, start):
                sooner = self.earlier(initiative, start)
                reason, displaced, earlier, _ = self.classify(initiative, "force_earlier", sooner)
                found.append(earlier)
                if reason is Reason.floor_or_share:
                    blocking, together = self.blocking(sooner)
            if counterfactuals and not is_required(initiative, self.s):
                found.append(self.counterfactual("force_out", initiative.id, self.resolve(force_out=[initiative.id])))
            return InitiativeExplanation(
                **base,
                scheduled=True,
                start=placed.start,
                finish=placed.finish,
                late_by=late_by,
                contributes=placed.decayed_value,
                reason=reason,
                held_by=self.holdings(initiative, start),
                displaced_by=displaced,
                blocked_by=blocking,
                blocked_together=together,
                counterfactuals=found,
                rules=[r.name for r in blocking],
            )
        settled = self.settled(initiative)
        if settled is not None:
            return settled

        def force(scenario: Scenario) -> Plan:
            return self.resolve(scenario, force_in=[initiative.id])

        reason, displaced, forced_in, forced_plan = self.classify(initiative, "force_in", force)
        blocking, together = self.blocking(force) if reason is Reason.floor_or_share else ([], False)
        found = [forced_in]
        if counterfactuals and not self.makespan and forced_in.value_lost is not None and forced_in.value_lost > 0:
            fit = self.value_to_fit(initiative, forced_in)
            if fit is not None:
                found.append(fit)
        if counterfactuals and reason is Reason.capacity and forced_plan.status.found:
            fit = self.capacity_to_fit(initiative, forced_plan)
            if fit is not None:
                found.append(fit)
        return InitiativeExplanation(
            **base,
            scheduled=False,
            reason=reason,
            displaced_by=displaced,
            blocked_by=blocking,
            blocked_together=together,
            counterfactuals=found,
            rules=[r.name for r in blocking],
        )

    def settled(self, initiative: Initiative) -> InitiativeExplanation | None:
        """Why work is out of the plan when a rule or the numbers settle it without a re-solve (won't have, a
        full choice, an alternative or a prerequisite, no room in its window, never fits); None otherwise.
        Worked out once per initiative: `explain` asks it first of all, so that time running out for the
        re-solves leaves none of this to do."""
        found: InitiativeExplanation | None = self.once(("settled", initiative.id), lambda: self._settle(initiative))
        return found

    def _settle(self, initiative: Initiative) -> InitiativeExplanation | None:
        base = self.base(initiative)
        if initiative.wont:
            return InitiativeExplanation(**base, scheduled=False, reason=Reason.wont_have, rules=[rule_name(RuleKind.wont, initiative.id)])
        for choice in self.s.choices:
            taken = [o for o in choice.of if o in self.starts]
            if initiative.id in choice.of and choice.max is not None and len(taken) >= choice.max:
                rules = [rule_name(RuleKind.choice_max, choice.id)]
                return InitiativeExplanation(**base, scheduled=False, reason=Reason.choice_full, excluded_by=taken, rules=rules)
        if initiative.depends_on_any and not any(a in self.starts for a in initiative.depends_on_any):
            rules = [rule_name(RuleKind.depends_on_any, initiative.id)]
            return InitiativeExplanation(
                **base, scheduled=False, reason=Reason.prerequisite_not_scheduled, missing_prerequisites=initiative.depends_on_any, rules=rules
            )
        excluded = sorted({o for o in initiative.excludes if o in self.starts} | (self.excluders.get(initiative.id, set()) & self.starts.keys()))
        if excluded:
            return InitiativeExplanation(**base, scheduled=False, reason=Reason.excluded_by, excluded_by=excluded)
        missing = [p for p in initiative.depends_on if p not in self.starts]
        if missing:
            return InitiativeExplanation(**base, scheduled=False, reason=Reason.prerequisite_not_scheduled, missing_prerequisites=missing)
        if self.earliest[initiative.id] is None:
            return InitiativeExplanation(**base, scheduled=False, reason=Reason.window_too_short)
        short = self.shortage(initiative)
        if short is not None:
            return InitiativeExplanation(**base, scheduled=False, reason=Reason.never_fits, never_fits=short)
        return None

    @cached_property
    def excluders(self) -> dict[str, set[str]]:
        """Each initiative's id -> the ids of those that exclude it."""
        out: dict[str, set[str]] = {}
        for other in self.s.initiatives:
            for excluded in other.excludes:
                out.setdefault(excluded, set()).add(other.id)
        return out

    def blocking(self, force: Callable[[Scenario], Plan]) -> tuple[list[Rule], bool]:
        """The guardrails that keep the work out (or late), each proven by re-solves: without it, doing what
        `force` does costs nothing, so a best plan does it: relaxing it changes the decision. When no one of
        them does that alone, they do together: the first family that does (every floor, every theme share,
        as priced together in `joint_costs`), else all of them (`classify` proved it without all of them); the
        second value says they are named together."""
        every = guardrails(self.s)
        alone = [rule for rule in every if self.free_without(force, [rule])]
        if alone:
            return alone, False
        for family, rules in self.families:
            if family != "guardrails" and self.free_without(force, rules):
                return rules, True
        return every, len(every) > 1

    def free_without(self, force: Callable[[Scenario], Plan], rules: list[Rule]) -> bool:
        """Whether, without these rules, doing what `force` does costs nothing: a best plan does it (proven
        only against a plan proven best)."""
        scenario, best = self.without_rules(rules)
        cost = self.loss(force(scenario), best.objective)
        return cost is not None and cost <= 0 and best.status is PlanStatus.optimal

    def without_rules(self, rules: list[Rule]) -> tuple[Scenario, Plan]:
        """The scenario without these guardrails, and its best plan (worked out once per set of rules)."""

        def compute() -> tuple[Scenario, Plan]:
            self.in_time()
            scenario = self.s
            for rule in rules:
                scenario = without(scenario, rule)
            return scenario, self.resolve(scenario)

        known: tuple[Scenario, Plan] = self.once(("without", *(rule.name for rule in rules)), compute)
        return known

    def shortage(self, initiative: Initiative) -> Shortage | None:
        """What makes the work fit nowhere, with nothing else planned: None when some start of its window has
        the capacity. Sound, not complete: a need that names its team adds to that team's other such needs;
        a skill need is compared with the largest capacity any team with the skill has alone."""
        earliest = self.earliest[initiative.id]
        allowed = window(self.s, initiative, self.settings)
        closest: tuple[int, str, int, int, int] | None = None  # (excess, team, period, needed, available)
        for start in range(max(earliest or 0, allowed.start), allowed.stop):
            worst: tuple[int, str, int, int, int] | None = None
            fixed: dict[tuple[str, int], int] = {}
            for need in initiative.all_needs:
                for offset, amount in enumerate(need_loads(need, initiative.duration)):
                    k = start + offset
                    if need.team is not None:
                        fixed[need.team, k] = fixed.get((need.team, k), 0) + amount
                        continue
                    best = max((t.id for t in self.s.teams if need.skill in t.skills), key=lambda t: hundredths(self.s.capacity(t)[k]))
                    available = hundredths(self.s.capacity(best)[k])
                    if amount > available and (worst is None or amount - available > worst[0]):
                        worst = (amount - available, best, k, amount, available)
            for (team, k), amount in fixed.items():
                available = hundredths(self.s.capacity(team)[k])
                if amount > available and (worst is None or amount - available > worst[0]):
                    worst = (amount - available, team, k, amount, available)
            if worst is None:
                return None
            if closest is None or worst[0] < closest[0]:
                closest = worst
        if closest is None:
            return None
        _, team, k, needed, available = closest
        return Shortage(team=team, period=self.s.periods[k], needed=Decimal(needed) / 100, available=Decimal(available) / 100)

    def questioned(self, initiative: Initiative) -> bool:
        """Whether the plan leaves the work out (and nothing but a re-solve can say why), or starts it later than
        it could at a loss: what a reason is asked for, by a re-solve."""
        start = self.starts.get(initiative.id)
        earliest = self.earliest[initiative.id]
        if start is None:
            return self.settled(initiative) is None
        return earliest is not None and start > earliest and self.loses_by_waiting(initiative, start)

    def loses_by_waiting(self, initiative: Initiative, start: int) -> bool:
        """Whether starting at `start` rather than its earliest possible start costs anything: always under
        makespan; in value mode, only when the value it counts falls (decay, cost of delay, a due period)."""
        earliest = self.earliest[initiative.id]
        if self.makespan or earliest is None:
            return True
        last = initiative.duration - 1
        return finish_value(self.s, initiative, earliest + last) > finish_value(self.s, initiative, start + last)

    def earlier(self, initiative: Initiative, start: int) -> Callable[[Scenario], Plan]:
        """Re-solve a scenario with the initiative required to start at least one period before `start`."""
        finish = start - 1 + initiative.duration - 1
        if initiative.deadline:
            finish = min(finish, self.s.period_index[initiative.deadline])
        deadline = self.s.periods[finish]

        def sooner(scenario: Scenario) -> Plan:
            self.in_time()
            return self.resolve(with_initiative(scenario, initiative.id, deadline=deadline, mandatory=True))

        return sooner

    def classify(
        self, initiative: Initiative, kind: CounterfactualKind, force: Callable[[Scenario], Plan]
    ) -> tuple[Reason, list[Displacement], Counterfactual, Plan]:
        """Why the plan does not do what `force` forces: a re-solve doing it is better (the search stopped too
        soon), it would cost nothing (not worth it), without the guardrails a best plan does it (floor or
        share: relaxing them changes the decision), or else capacity."""
        forced = force(self.s)
        if forced.status is PlanStatus.unknown:
            raise _Unproven
        found = self.counterfactual(kind, initiative.id, forced)
        lost = self.loss(forced)
        if lost is not None and lost < 0:  # only a plan not proven optimal can be beaten by a more constrained re-solve
            return Reason.search_stopped, [], found, forced
        if lost is not None and lost == 0:
            return Reason.not_worth_it, [], found, forced
        if self.bare is not None:
            done, relaxed = force(self.bare), self.relaxed
            if PlanStatus.unknown in (done.status, relaxed.status):
                raise _Unproven
            relaxed_lost = self.loss(done, relaxed.objective)
            if relaxed_lost is not None and relaxed_lost <= 0:  # without the guardrails a best plan does it
                if relaxed.status is not PlanStatus.optimal:
                    raise _Unproven  # ...or the best plan found without them is not the best there is
                return Reason.floor_or_share, [], found, forced
        if not forced.status.found:
            return Reason.capacity, self.occupants(initiative), found, forced
        return Reason.capacity, self.displaced(initiative, forced, found), found, forced

    def occupants(self, initiative: Initiative) -> list[Displacement]:
        """When no plan can do what was forced: the work on the teams that are too full for it in the periods it
        would need first (its earliest possible start, or for late work the period before its start)."""
        placed = self.starts.get(initiative.id)
        earliest = self.earliest[initiative.id]
        if earliest is None:
            return []
        start = earliest if placed is None else placed - 1  # late work: the period just before its start
        room = self.room(exclude=initiative.id)
        wanted = {
            (team, self.s.periods[k])
            for team, cells in self.loads(initiative, start).items()
            for k, amount in cells.items()
            if k < len(self.s.periods) and amount > room[team, k]  # only where the team is too full for it
        }
        return self.work_on(wanted, set(self.starts) - {initiative.id})

    def value_to_fit(self, initiative: Initiative, forced_in: Counterfactual) -> Counterfactual | None:
        """The value at which the initiative enters the optimal plan: its value plus the loss of forcing it in,
        divided by the decay at the period it finishes in there; checked by a re-solve just above it. None when
        that value is beyond any a scenario may hold."""
        assert forced_in.start is not None and forced_in.value_lost is not None
        self.in_time()
        finish = self.s.period_index[forced_in.start] + initiative.duration - 1
        keep = (1 - self.s.policies.value_decay_per_period) ** finish
        current = initiative_value(initiative, self.s.policies)
        needed = math.floor((current + forced_in.value_lost / keep) * 1000 + 1) / 1000
        if needed > MAX_VALUE:
            return None
        other = self.resolve(with_initiative(self.s, initiative.id, value=needed))
        entered = initiative.id in other.scheduled_by_id()
        return self.counterfactual("value_to_fit", initiative.id, other, value=needed, entered=entered)

    def capacity_to_fit(self, initiative: Initiative, forced: Plan) -> Counterfactual | None:
        """The extra capacity (team, periods, amount) with which the initiative fits next to the plan: the
        plan as it is, plus the initiative and its prerequisites where the best forced-in plan puts them;
        every team-period that combination overloads gets the overload. A re-solve with that capacity then
        says whether the initiative enters and what else changes (floors grow with capacity, so it may not)."""
        by_id = self.s.initiative_by_id
        moved = {initiative.id}
        stack = [initiative.id]
        while stack:
            for p in by_id[stack.pop()].depends_on:
                if p not in moved:
                    moved.add(p)
                    stack.append(p)
        combined = {i: p for i, p in self.hint.items() if i not in moved}
        combined.update({i: p for i, p in placements_of(self.s, forced).items() if i in moved})
        for i, placed in combined.items():  # a prerequisite moved later would break its dependents: no answer then
            if any(p in combined and combined[p].start + by_id[p].duration > placed.start for p in by_id[i].depends_on):
                return None
        left = {(t.id, k): hundredths(self.s.capacity(t.id)[k]) for t in self.s.teams for k in range(len(self.s.periods))}
        for i, placed in combined.items():
            for n, need in enumerate(by_id[i].all_needs):
                for offset, amount in enumerate(need_loads(need, by_id[i].duration)):
                    left[placed.teams[n], placed.start + offset] -= amount
        extra = {(team, self.s.periods[k]): Decimal(-room) / 100 for (team, k), room in left.items() if room < 0}
        if not extra:
            return None
        self.in_time()
        other = self.resolve(with_capacity(self.s, extra))
        return self.counterfactual(
            "capacity_to_fit",
            initiative.id,
            other,
            extra_capacity=[
                CapacityCell(team=t, period=p, amount=a) for (t, p), a in sorted(extra.items(), key=lambda kv: (kv[0][0], self.s.period_index[kv[0][1]]))
            ],
            entered=initiative.id in other.scheduled_by_id(),
        )

    # --- the plan as a whole ---

    def policy_cost(self, rule: Rule) -> PolicyCost:
        self.in_time()
        other = self.resolve(without(self.s, rule))
        return PolicyCost(rule=rule, status=other.status, objective_without=other.objective, cost=self.gain(other))

    @cached_property
    def families(self) -> list[tuple[GuardrailFamily, list[Rule]]]:
        """Each family with two or more guardrails, and its rules (the whole set once, when one family is all of it)."""
        every = guardrails(self.s)
        out: list[tuple[GuardrailFamily, list[Rule]]] = []
        for family, kinds in FAMILIES.items():
            rules = [r for r in every if r.kind in kinds]
            if len(rules) > 1 and all(rules != known for _, known in out):
                out.append((family, rules))
        return out

    def joint_cost(self, family: GuardrailFamily, rules: list[Rule]) -> JointCost:
        """The price of a family of guardrails together: one re-solve without all of them."""
        self.in_time()
        # The bare scenario is the one without every guardrail.
        other = self.relaxed if family == "guardrails" else self.without_rules(rules)[1]
        return JointCost(family=family, rules=rules, status=other.status, objective_without=other.objective, cost=self.gain(other))

    def binding(self) -> list[tuple[str, str, Decimal]]:
        return [(u.team, u.period, u.capacity) for u in self.plan.utilisation if u.full]

    def marginal(self, team: str, period: str, capacity: Decimal) -> BindingCapacity:
        self.in_time()
        other = self.resolve(with_capacity(self.s, {(team, period): Decimal(1)}))
        return BindingCapacity(team=team, period=period, capacity=capacity, marginal_value=self.gain(other))


def explain(
    scenario: Scenario,
    plan: Plan,
    *,
    initiative: str | None = None,
    initiatives: Collection[str] | None = None,
    prices: bool = True,
    counterfactuals: bool = True,
    policy_costs: bool = False,
    time_limit: float = 10.0,
    threads: int | None = None,
    budget: float | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Explanation:
    """Explain a solved plan: every initiative (or one), and with `counterfactuals` the what-ifs, the cost of
    each policy and the value of capacity where teams are full (`policy_costs` asks for the cost of each policy
    alone, and each family of guardrails together, as the executive view does). An infeasible plan gets a
    diagnosis (with `counterfactuals`, its repairs too). Each re-solve gets `time_limit` seconds; with a
    `budget` (seconds for all of it), the most decision-relevant are explained first, and what is not
    explained when it runs out is listed in `unexplained` (a diagnosis says what it left unfinished).

    `initiatives` explains only those (a part of an explanation spread over workers); `prices=False` leaves
    out the policies' prices and the value of full teams, which another part computes."""
    began = time.perf_counter()
    deadline = began + budget if budget is not None else math.inf
    if not plan.status.found:
        diagnosis, count = (
            diagnose(scenario, plan.settings, time_limit=time_limit, threads=threads, repairs=counterfactuals, deadline=deadline)
            if plan.status is PlanStatus.infeasible
            else (None, 0)
        )
        return Explanation(
            scenario=scenario.name,
            status=plan.status,
            objective=None,
            diagnosis=diagnosis,
            what_ifs=counterfactuals,
            resolves=count,
            seconds=round(time.perf_counter() - began, 3),
        )
    # A robust or expected-value plan is explained on what it was solved on: the values it planned by, with the headroom it
    # keeps (each re-solve deterministic, the headroom fixed), so that its re-solves and its objective speak of one model.
    scenario, settings = solved_on(scenario, plan)
    x = _Explainer(scenario, plan, settings, time_limit, deadline)
    chosen = [i for i in scenario.initiatives if (initiative is None or i.id == initiative) and (initiatives is None or i.id in initiatives)]
    whole = initiative is None and prices
    unexplained: list[str] = []
    unpriced: list[str] = []

    def run(job: Callable[[], object], missed: list[str], name: str) -> object:
        try:
            return job()
        except _OutOfTime:
            missed.append(name)
            return None

    # Most decision-relevant first, so that a budget running out leaves the least relevant unexplained: work out
    # of the plan or late, by value; then each policy's price (first of all when the prices are asked for: there
    # are few); then work on time (free without what-ifs, so first then); then the value of full teams.
    ranked: list[tuple[tuple[float, float], Callable[[], object]]] = []
    for i in chosen:
        rank = (1, -initiative_value(i, scenario.policies)) if x.questioned(i) else (0 if not counterfactuals else 3, 0.0)
        ranked.append((rank, partial(run, partial(x.explain_one, i, counterfactuals), unexplained, i.id)))
    if (counterfactuals or policy_costs) and whole:
        first = (0.5 if policy_costs else 2, 0.0)
        ranked += [(first, partial(run, partial(x.policy_cost, r), unpriced, r.name)) for r in policy_rules(scenario)]
        ranked += [(first, partial(run, partial(x.joint_cost, *family), unpriced, family[0])) for family in x.families]
    if counterfactuals and whole:
        ranked += [((4, 0.0), partial(run, partial(x.marginal, *b), [], "")) for b in x.binding()]
    jobs = [job for _, job in sorted(ranked, key=lambda pair: pair[0])]
    done = 0
    position = {i.id: n for n, i in enumerate(scenario.initiatives)}
    results: list[object] = []
    with ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 1) as pool:
        for result in pool.map(lambda job: job(), jobs):
            results.append(result)
            done += 1
            if on_progress:
                on_progress(done, len(jobs))
    missed = set(unexplained)
    return Explanation(
        scenario=scenario.name,
        status=plan.status,
        objective=plan.objective,
        initiatives=sorted((r for r in results if isinstance(r, InitiativeExplanation)), key=lambda r: position[r.id]),
        policy_costs=[r for r in results if isinstance(r, PolicyCost)],
        joint_costs=[r for r in results if isinstance(r, JointCost)],
        binding=[r for r in results if isinstance(r, BindingCapacity)],
        what_ifs=counterfactuals,
        resolves=x.count,
        unexplained=[i.id for i in chosen if i.id in missed],
        unpriced=sorted(unpriced),
        seconds=round(time.perf_counter() - began, 3),
    )
