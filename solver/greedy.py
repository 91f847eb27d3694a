"""The rank-ordered baseline: what a spreadsheet "waterline" or a Jira-style auto-scheduler decides.

Initiatives are ranked by the framework's ratio score (value per effort), and capacity is filled in
rank order, each at its earliest possible start, respecting dependencies, windows, exclusions, floors,
caps and theme shares. Required work (mandatory, committed, forced in, and their prerequisites) goes
first, then invisible work and themes with a minimum share until their floors are met, then everything
else. It cannot say why and it is rarely optimal: it is the yardstick the optimiser's uplift is measured
against, and the first solution CP-SAT is given as a hint.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

from planner.allocations import reserves_hold, reserves_of, shortfalls
from planner.plan import Placement, Plan, PlanStatus, SolveSettings, build_plan, is_required, need_loads, score_placements, window
from planner.quantities import SHARE_SCALE, hundredths
from planner.scenario import Allocation, Choice, Initiative, Objective, Scenario
from planner.scoring import outcome_totals, ratio_score, thousandths


class _Fill:
    """Capacity left per team and period, and what the plan holds so far."""

    def __init__(self, scenario: Scenario, settings: SolveSettings) -> None:
        self.s = scenario
        self.settings = settings
        self.n = len(scenario.periods)
        self.left = {(t.id, k): hundredths(scenario.capacity(t.id)[k]) for t in scenario.teams for k in range(self.n)}
        self.invisible: defaultdict[tuple[str, int], int] = defaultdict(int)  # (team, k) -> hundredths
        self.theme_effort: dict[str | None, int] = defaultdict(int)
        self.placements: dict[str, Placement] = {}
        # Theme minimums are only defended once the phase that meets them is done.
        self.protect_minimums = False
        self.exclusive: dict[str, set[str]] = defaultdict(set)
        for initiative in scenario.initiatives:
            for other in initiative.excludes:
                self.exclusive[initiative.id].add(other)
                self.exclusive[other].add(initiative.id)
        self.org_capacity = [sum(hundredths(scenario.capacity(t.id)[k]) for t in scenario.teams) for k in range(self.n)]
        self.kind_load: defaultdict[tuple[str, int, str], int] = defaultdict(int)  # (team, k, kind) -> hundredths
        self.reserved_kinds = {t.id: {kind for a in reserves_of(scenario, t.id) for kind in a.kinds} for t in scenario.teams}
        self.choices: dict[str, list[Choice]] = defaultdict(list)  # initiative -> the choices it is an option of
        for choice in scenario.choices:
            for option in choice.of:
                self.choices[option].append(choice)

    # --- rules ----------------------------------------------------------------------------------------

    def finish(self, initiative_id: str) -> int:
        """The period after a placed initiative's last."""
        return self.placements[initiative_id].start + self.s.initiative_by_id[initiative_id].duration

    def starts(self, initiative: Initiative) -> range:
        """Candidate starts in order: the window, after every prerequisite (and the first placed alternative
        prerequisite) has finished."""
        allowed = window(self.s, initiative, self.settings)
        first = max((self.finish(p) for p in initiative.depends_on), default=0)
        if initiative.depends_on_any:
            first = max(first, min(self.finish(a) for a in initiative.depends_on_any if a in self.placements))
        return range(max(first, allowed.start), allowed.stop)

    def ready(self, initiative: Initiative) -> bool:
        return (
            initiative.id not in self.placements
            and all(p in self.placements for p in initiative.depends_on)
            and (not initiative.depends_on_any or any(a in self.placements for a in initiative.depends_on_any))
            and not any(other in self.placements for other in self.exclusive[initiative.id])
            and not any(self.taken(choice) >= choice.max for choice in self.choices[initiative.id] if choice.max is not None)
        )

    def taken(self, choice: Choice) -> int:
        """How many of a choice's options are placed."""
        return sum(1 for option in choice.of if option in self.placements)

    def short_targets(self) -> list[str]:
        """The KPIs whose target the placed work does not meet yet."""
        totals = outcome_totals(self.s, self.placements)
        return [kpi for kpi, target in self.s.policies.targets.items() if totals[kpi] < thousandths(target)]

    def choices_met(self) -> bool:
        return all(self.taken(choice) >= choice.min for choice in self.s.choices)

    def try_place(self, initiative: Initiative, covering: tuple[str | None, int] | None = None) -> bool:
        """Place it at its earliest start that fits.

        With `covering=(team or None, k)`, only where it loads period k, starting as late as it can: the
        floors of the periods before k are met already, so its load should go to k and after.
        """
        if not self.ready(initiative) or not self._shares_allow(initiative):
            return False
        starts = self.starts(initiative)
        if covering is not None:
            k = covering[1]
            starts = range(min(k, starts.stop - 1), max(k - initiative.duration, starts.start - 1), -1)
        for start in starts:
            teams = self._teams_with_room(initiative, start)
            if teams is None or (covering is not None and covering[0] is not None and covering[0] not in teams):
                continue
            if self._cap_allows(initiative, start, teams):
                self._place(initiative, Placement(start=start, teams=tuple(teams)))
                return True
        return False

    def _teams_with_room(self, initiative: Initiative, start: int) -> list[str] | None:
        left = dict(self.left)
        kinds = self.kind_load.copy()
        teams = []
        for need in initiative.all_needs:
            loads = need_loads(need, initiative.duration)
            candidates = [need.team] if need.team else [t.id for t in self.s.teams if need.skill in t.skills]
            for team in candidates:
                if all(left[team, start + o] >= amount for o, amount in enumerate(loads)) and self._reserves_allow(
                    team, start, loads, initiative.kind, kinds, left
                ):
                    for o, amount in enumerate(loads):
                        left[team, start + o] -= amount
                        kinds[team, start + o, initiative.kind] += amount
                    teams.append(team)
                    break
            else:
                return None
        return teams

    def _reserves_allow(
        self, team: str, start: int, loads: list[int], kind: str, kinds: defaultdict[tuple[str, int, str], int], left: dict[tuple[str, int], int]
    ) -> bool:
        """The team's reserves still hold with these loads of a `kind` added from `start` on."""
        if not self.reserved_kinds[team]:
            return True
        for o, amount in enumerate(loads):
            k = start + o
            view = {(team, k, kd): kinds[team, k, kd] + (amount if kd == kind else 0) for kd in self.reserved_kinds[team]}
            total = hundredths(self.s.capacity(team)[k]) - left[team, k] + amount
            if not reserves_hold(self.s, view, team, k, total):
                return False
        return True

    def _cap_allows(self, initiative: Initiative, start: int, teams: list[str]) -> bool:
        cap = self.s.policies.invisible_work.max_share
        if cap is None or not self.s.is_invisible(initiative):
            return True
        extra: dict[int, int] = defaultdict(int)
        for need in initiative.all_needs:
            for o, amount in enumerate(need_loads(need, initiative.duration)):
                extra[start + o] += amount
        for k, amount in extra.items():
            total = sum(self.invisible[t.id, k] for t in self.s.teams) + amount
            if total * SHARE_SCALE > int(cap * SHARE_SCALE) * self.org_capacity[k]:
                return False
        return True

    def _shares_allow(self, initiative: Initiative) -> bool:
        """Adding it keeps every theme within its bounds that it is within now."""
        effort = hundredths(initiative.total_effort)
        total = sum(self.theme_effort.values())
        for theme, bounds in self.s.policies.themes.items():
            before = self.theme_effort[theme]
            after = before + (effort if initiative.theme == theme else 0)
            if bounds.max_share is not None and after * SHARE_SCALE > int(bounds.max_share * SHARE_SCALE) * (total + effort):
                return False
            if bounds.min_share is not None and self.protect_minimums:
                floor = int(bounds.min_share * SHARE_SCALE)
                if before * SHARE_SCALE >= floor * total and after * SHARE_SCALE < floor * (total + effort):
                    return False
        return True

    def _place(self, initiative: Initiative, placement: Placement) -> None:
        for need, team in zip(initiative.all_needs, placement.teams):
            for o, amount in enumerate(need_loads(need, initiative.duration)):
                self.left[team, placement.start + o] -= amount
                self.kind_load[team, placement.start + o, initiative.kind] += amount
                if self.s.is_invisible(initiative):
                    self.invisible[team, placement.start + o] += amount
        self.theme_effort[initiative.theme] += hundredths(initiative.total_effort)
        self.placements[initiative.id] = placement

    # --- guardrails -----------------------------------------------------------------------------------

    def short_floors(self, k: int) -> list[str | None]:
        """The floors not met in period k: team ids for team floors, None for the organisation's."""
        policy = self.s.policies.invisible_work
        short: list[str | None] = [
            team
            for team, share in policy.team_min_share.items()
            if self.invisible[team, k] * SHARE_SCALE < int(share * SHARE_SCALE) * hundredths(self.s.capacity(team)[k])
        ]
        org = sum(self.invisible[t.id, k] for t in self.s.teams)
        if org * SHARE_SCALE < int(policy.min_share * SHARE_SCALE) * self.org_capacity[k]:
            short.append(None)
        return short

    def floors_met(self) -> bool:
        return not any(self.short_floors(k) for k in range(self.n)) and not self.short_allocations()

    def short_allocations(self) -> list[tuple[Allocation, int | None]]:
        """The hard allocation floors not met: (floor, period index or None for the horizon)."""
        return [(f.allocation, f.period) for f in shortfalls(self.s, self.kind_load) if f.short and f.allocation.soft is None]

    def theme_minimums_met(self) -> bool:
        total = sum(self.theme_effort.values())
        return all(
            self.theme_effort[theme] * SHARE_SCALE >= int(bounds.min_share * SHARE_SCALE) * total
            for theme, bounds in self.s.policies.themes.items()
            if bounds.min_share is not None
        )


def _fill_in_passes(fill: _Fill, ranked: list[Initiative], until: Callable[[], bool] = lambda: False) -> None:
    """Place in rank order; repeat while something new fits, since a placed prerequisite frees its dependents."""
    progress = True
    while progress and not until():
        progress = False
        for initiative in ranked:
            if until():
                return
            if fill.try_place(initiative):
                progress = True


def _fill_floors(fill: _Fill, invisible: list[Initiative]) -> None:
    """Period by period, place the best-ranked invisible work that loads each floor still short."""
    for k in range(fill.n):
        for floor in fill.short_floors(k):
            while floor in fill.short_floors(k):
                if not any(fill.try_place(i, covering=(floor, k)) for i in invisible):
                    break


def _place_with_prerequisites(fill: _Fill, initiative: Initiative, ranked: list[Initiative], seen: frozenset[str] = frozenset()) -> bool:
    """Place it, with its prerequisites first and, if it has alternative prerequisites and none is placed,
    the best-ranked of them that can be placed; True when it is placed."""
    if initiative.id in fill.placements:
        return True
    if initiative.id in seen:
        return False  # alternatives that lead back to it
    seen = seen | {initiative.id}
    by_id = fill.s.initiative_by_id
    if not all(_place_with_prerequisites(fill, by_id[p], ranked, seen) for p in initiative.depends_on):
        return False
    if initiative.depends_on_any and not any(a in fill.placements for a in initiative.depends_on_any):
        alternatives = [i for i in ranked if i.id in initiative.depends_on_any]
        if not any(_place_with_prerequisites(fill, a, ranked, seen) for a in alternatives):
            return False
    return fill.try_place(initiative)


def _fill_choices(fill: _Fill, ranked: list[Initiative]) -> None:
    """Each choice's minimum: its best-ranked options that can be placed, in rank order, until it is met."""
    for choice in fill.s.choices:
        for option in (i for i in ranked if i.id in choice.of):
            if fill.taken(choice) >= choice.min:
                break
            _place_with_prerequisites(fill, option, ranked)


def _fill_targets(fill: _Fill, ranked: list[Initiative]) -> None:
    """Place the work that moves each KPI short of its target most, in that order (with its prerequisites),
    until the target is met."""
    for kpi in fill.short_targets():
        movers = sorted((i for i in ranked if i.outcomes.get(kpi, 0) > 0), key=lambda i: -i.outcomes[kpi])
        for initiative in movers:
            if kpi not in fill.short_targets():
                break
            _place_with_prerequisites(fill, initiative, ranked)


def _fill_allocation_floors(fill: _Fill, ranked: list[Initiative]) -> None:
    """Place the best-ranked listed work of each hard allocation floor still short: where it loads the
    period short (a floor per period), or anywhere (a floor over the horizon)."""
    for allocation, k in fill.short_allocations():
        listed = [i for i in ranked if i.kind in allocation.kinds]
        while (allocation, k) in fill.short_allocations():
            if not any(fill.try_place(i, covering=(None, k)) if k is not None else fill.try_place(i) for i in listed):
                break


def greedy_placements(scenario: Scenario, settings: SolveSettings | None = None) -> dict[str, Placement] | None:
    """The baseline's decisions, or None when rank-ordered filling cannot meet every hard rule."""
    settings = settings or SolveSettings(backend="greedy")
    policies = scenario.policies
    by_id = scenario.initiative_by_id
    position = {i.id: n for n, i in enumerate(scenario.initiatives)}
    ranked = sorted(scenario.initiatives, key=lambda i: (-ratio_score(i, policies), position[i.id]))

    required = {i.id for i in scenario.initiatives if is_required(i, scenario) or i.id in settings.force_in}
    stack = list(required)
    while stack:  # prerequisites of required work are required too (alternative prerequisites are placed as they come)
        for prerequisite in by_id[stack.pop()].depends_on:
            if prerequisite not in required:
                required.add(prerequisite)
                stack.append(prerequisite)
    index = scenario.period_index
    rank = {i.id: n for n, i in enumerate(ranked)}

    def urgency(i: Initiative) -> tuple[int, int]:
        due = i.committed or i.deadline
        return (index[due] if due else len(index), rank[i.id])

    # Floors are met with required invisible work first (it must be placed anyway), then in rank order.
    invisible = sorted((i for i in ranked if scenario.is_invisible(i)), key=lambda i: (i.id not in required, rank[i.id]))
    committed = [i for i in scenario.initiatives if i.committed]
    best: dict[str, Placement] | None = None
    # Required work first, or the floors first: a rank-ordered scheduler tries one, a planner the other.
    for floors_first in (False, True):
        fill = _Fill(scenario, settings)
        _fill_in_passes(fill, committed)
        if floors_first:
            _fill_floors(fill, invisible)
        for initiative in sorted((by_id[i] for i in required), key=urgency):
            _place_with_prerequisites(fill, initiative, ranked)
        if not required <= set(fill.placements):
            continue
        _fill_choices(fill, ranked)
        _fill_floors(fill, invisible)
        _fill_allocation_floors(fill, ranked)
        _fill_targets(fill, ranked)
        placements = _fill_the_rest(fill, scenario, ranked)
        if placements is not None and (best is None or _worth(scenario, placements) > _worth(scenario, best)):
            best = placements
    return best


def _worth(scenario: Scenario, placements: dict[str, Placement]) -> float:
    value = score_placements(scenario, placements)
    return -value if scenario.policies.objective is Objective.makespan else value


def _fill_the_rest(fill: _Fill, scenario: Scenario, ranked: list[Initiative]) -> dict[str, Placement] | None:
    policies = scenario.policies
    for theme, bounds in policies.themes.items():
        if bounds.min_share is not None:
            _fill_in_passes(fill, [i for i in ranked if i.theme == theme], until=fill.theme_minimums_met)
    fill.protect_minimums = True
    _fill_in_passes(fill, ranked)
    if not (fill.floors_met() and fill.theme_minimums_met() and fill.choices_met() and not fill.short_targets()):
        return None
    return fill.placements


def greedy_plan(scenario: Scenario, settings: SolveSettings | None = None) -> Plan:
    """The baseline as a plan: status `feasible` (never proven), or `unknown` when it found none."""
    settings = settings or SolveSettings(backend="greedy")
    began = time.perf_counter()
    placements = greedy_placements(scenario, settings)
    status = PlanStatus.unknown if placements is None else PlanStatus.feasible
    message = "the rank-ordered fill could not meet every hard rule" if placements is None else "rank-ordered fill"
    return build_plan(
        scenario,
        placements or {},
        status=status,
        best_bound=None,
        solve_seconds=time.perf_counter() - began,
        backend="greedy",
        settings=settings,
        message=message,
    )
