"""The solver-free plan checker: does a plan keep every rule of its scenario?

Written from the scenario's semantics (the comments of scenarios/acme-2027.yaml and
docs/scenario-format.md), not from any backend's model, so that a bug in a model is caught here rather
than copied. Every plan a test sees goes through `check_plan`; `score_plan` recomputes its objective.
All arithmetic is in whole hundredths of the unit (capacity, effort) and ten-thousandths (shares).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal

from pydantic import Field

from planner.periods import period_offset
from planner.plan import Plan, PlanStatus, TeamPeriod
from planner.quantities import SHARE_SCALE, hundredths, plain_number, spread
from planner.rules import FIGURES, RuleKind, need_name, pair, rule_name
from planner.scenario import Allocation, Frozen, Objective, Scenario
from planner.scoring import VALUE_SCALE, finish_value, stability_cost, synergy_value, thousandths
from planner.uncertainty import valued


class Violation(Frozen):
    """One rule of the scenario the plan breaks, located by the ids it is about."""

    rule: RuleKind = Field(description="The kind of rule, as the model names its rows: `capacity`, `deadline`, `depends_on`.")
    message: str = Field(description="What is wrong, in the scenario's words and numbers.")
    initiative: str | None = Field(default=None, description="The initiative the broken rule is about.")
    other: str | None = Field(default=None, description="The second initiative of a pair rule: the prerequisite, or the alternative.")
    skill: str | None = Field(default=None, description="The skill of a need a team must carry (`ml.2` for an initiative's second ml need).")
    team: str | None = Field(default=None, description="The team, for a capacity rule, a team floor or a need.")
    theme: str | None = Field(default=None, description="The theme, for a share bound.")
    group: str | None = Field(default=None, description="The choice, for a choice's bound.")
    period: str | None = Field(
        default=None,
        description="The period: of a per-period rule (capacity, floors, loads); the one the scenario names for a "
        "window rule (deadline, earliest start, committed start); else where the plan starts the work.",
    )

    @property
    def name(self) -> str:
        """The rule's name from its ids, as the model names its row: `capacity[web, 2027-Q1]`,
        `depends_on[promo, signup, 2027-Q2]`, `needs[model, ml, 2027-Q1]`, `one_start[signup]`."""
        if self.rule is RuleKind.needs:
            return rule_name(self.rule, self.initiative, self.skill or self.team, self.period)
        if self.rule is RuleKind.one_start:
            return rule_name(self.rule, self.initiative)
        return rule_name(self.rule, self.initiative, self.other, self.team, self.theme, self.group, self.period)

    @property
    def figure(self) -> bool:
        """About what the plan reports rather than what it decides (`planner.rules.FIGURES`)."""
        return self.rule in FIGURES

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


Cells = defaultdict[tuple[str, int], int]
"""Hundredths of load per (team, period index)."""
KindLoads = defaultdict[tuple[str, int, str], int]
"""Hundredths of load per (team, period index, kind)."""
Fail = Callable[..., None]
"""Records a violation: `fail(rule, message, initiative=..., team=..., theme=..., period=...)`."""


def check_plan(scenario: Scenario, plan: Plan) -> list[Violation]:
    """Every rule the plan breaks (an empty list for a valid plan). Plans without a solution pass trivially."""
    out: list[Violation] = []

    def fail(rule: RuleKind, message: str, **where: str | None) -> None:
        out.append(Violation(rule=rule, message=message, **where))

    if plan.status in (PlanStatus.infeasible, PlanStatus.unknown):
        if plan.scheduled:
            fail(RuleKind.status, f"a plan with status {plan.status.value} lists scheduled initiatives")
        return out

    scenario = valued(scenario, plan.settings)  # `--objective expected` scores the plan by expected values
    index = scenario.period_index
    labels = scenario.periods
    by_id = scenario.initiative_by_id
    makespan = scenario.policies.objective is Objective.makespan
    starts: dict[str, int] = {}
    load: Cells = defaultdict(int)
    invisible: Cells = defaultdict(int)
    by_kind: KindLoads = defaultdict(int)
    theme_effort: dict[str | None, int] = defaultdict(int)

    for item in plan.scheduled:
        initiative = by_id.get(item.id)
        if initiative is None:
            fail(RuleKind.unknown_initiative, f"'{item.id}' is not an initiative of the scenario", initiative=item.id)
            continue
        if item.id in starts:
            fail(
                RuleKind.one_start,
                f"'{item.id}' is scheduled twice, starting in {labels[starts[item.id]]} and in {item.start}",
                initiative=item.id,
                period=item.start,
            )
            continue
        if item.start not in index:
            fail(
                RuleKind.horizon,
                f"'{item.id}' starts in {item.start}, outside the horizon {labels[0]}..{labels[-1]}",
                initiative=item.id,
                period=item.start,
            )
            continue
        # The decision is the start; the finish follows from the scenario's duration. A plan whose reported
        # finish disagrees (a duration re-estimated since, or a hand edit) is judged by the finish the
        # scenario gives, so that a deadline, the horizon and the prerequisites see where the work really ends.
        start = index[item.start]
        finish = start + initiative.duration - 1
        if item.finish != label_of(scenario, finish):
            runs = f"runs {index[item.finish] - start + 1} periods" if item.finish in index else f"is reported to finish in {item.finish}"
            fail(
                RuleKind.duration,
                f"'{item.id}' {runs}, its duration is {initiative.duration}: from {item.start} it ends in {label_of(scenario, finish)}",
                initiative=item.id,
                period=item.start,
            )
        if finish >= len(labels):
            fail(
                RuleKind.horizon,
                f"'{item.id}' starts in {item.start} and runs {initiative.duration} period(s), past the horizon's end {labels[-1]}",
                initiative=item.id,
                period=item.start,
            )
        starts[item.id] = start
        # A window rule is located by the period the scenario names, as the model names the rule
        # (`deadline[feature-store, 2027-Q2]`); the message says where the plan put the work.
        if initiative.earliest_start and start < index[initiative.earliest_start]:
            fail(
                RuleKind.earliest_start,
                f"'{item.id}' starts in {item.start}, before its earliest start {initiative.earliest_start}",
                initiative=item.id,
                period=initiative.earliest_start,
            )
        if initiative.deadline and finish > index[initiative.deadline]:
            fail(
                RuleKind.deadline,
                f"'{item.id}' finishes in {label_of(scenario, finish)}, after its deadline {initiative.deadline}",
                initiative=item.id,
                period=initiative.deadline,
            )
        if initiative.in_progress is not None and start != 0:
            fail(
                RuleKind.in_progress,
                f"'{item.id}' is under way: it continues from the first period {labels[0]}, not from {item.start}",
                initiative=item.id,
                period=item.start,
            )
        if initiative.committed and item.start != initiative.committed:
            fail(
                RuleKind.committed,
                f"'{item.id}' was committed to start in {initiative.committed}, not {item.start}",
                initiative=item.id,
                period=initiative.committed,
            )

        needs = list(initiative.all_needs)
        if len(item.needs) != len(needs):
            fail(RuleKind.needs, f"'{item.id}' has {len(needs)} needs, the plan assigns {len(item.needs)}", initiative=item.id, period=item.start)
            continue
        expected: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for n, (need, assigned) in enumerate(zip(needs, item.needs)):
            team = scenario.team_by_id.get(assigned.team)
            if team is None:
                fail(
                    RuleKind.needs,
                    f"'{item.id}' is assigned to unknown team '{assigned.team}'",
                    initiative=item.id,
                    skill=need_name(initiative, n) if need.skill else None,
                    team=assigned.team,
                    period=item.start,
                )
                continue
            if need.team is not None and assigned.team != need.team:
                fail(
                    RuleKind.needs,
                    f"'{item.id}' needs team '{need.team}', the plan gives it '{assigned.team}'",
                    initiative=item.id,
                    team=assigned.team,
                    period=item.start,
                )
            if need.skill is not None and need.skill not in team.skills:
                fail(
                    RuleKind.needs,
                    f"'{item.id}' needs skill '{need.skill}', which team '{team.id}' lacks",
                    initiative=item.id,
                    skill=need_name(initiative, n) if need.skill else None,
                    team=team.id,
                    period=item.start,
                )
            # Spread evenly over the duration, exactly, the remainder on the earliest periods.
            for offset, amount in enumerate(spread(hundredths(need.effort), initiative.duration)):
                expected[team.id][start + offset] += amount
        for team_id, cells in expected.items():
            for k, amount in cells.items():
                if k >= len(labels):
                    continue
                load[team_id, k] += amount
                by_kind[team_id, k, initiative.kind] += amount
                if scenario.is_invisible(initiative):
                    invisible[team_id, k] += amount
        reported = {(team, label): hundredths(amount) for team, row in item.load.items() for label, amount in row.items() if amount}
        computed = {(team, labels[k]): amount for team, row in expected.items() for k, amount in row.items() if amount and k < len(labels)}
        for team_id, label in sorted(reported.keys() | computed.keys(), key=lambda cell: (cell[0], index.get(cell[1], len(labels)), cell[1])):
            said, given = reported.get((team_id, label), 0), computed.get((team_id, label), 0)
            if said != given:
                fail(
                    RuleKind.load,
                    f"'{item.id}' reports {said / 100:g} for team '{team_id}' in {label}, its effort and start give {given / 100:g}",
                    initiative=item.id,
                    team=team_id,
                    period=label,
                )
        theme_effort[initiative.theme] += hundredths(initiative.total_effort)

    scheduled = set(starts)
    excluded: set[tuple[str, str]] = set()  # a pair that both list each other breaks one rule, not two
    for initiative in scenario.initiatives:
        if initiative.id not in scheduled:
            if initiative.mandatory:
                fail(RuleKind.mandatory, f"'{initiative.id}' is not scheduled, but it is mandatory", initiative=initiative.id)
            elif initiative.committed:
                fail(
                    RuleKind.committed,
                    f"'{initiative.id}' is not scheduled, but it was committed to start in {initiative.committed}",
                    initiative=initiative.id,
                    period=initiative.committed,
                )
            elif makespan:
                fail(RuleKind.required, f"'{initiative.id}' is not scheduled, but every initiative is scheduled in makespan mode", initiative=initiative.id)
            continue
        if initiative.wont:
            fail(RuleKind.wont, f"'{initiative.id}' is a won't have (moscow: wont), but it is scheduled", initiative=initiative.id)
        if initiative.depends_on_any:
            done_in_time = [a for a in initiative.depends_on_any if a in scheduled and starts[a] + by_id[a].duration - 1 < starts[initiative.id]]
            if not done_in_time:
                fail(
                    RuleKind.depends_on_any,
                    f"'{initiative.id}' starts in {labels[starts[initiative.id]]}, but none of {', '.join(initiative.depends_on_any)} "
                    "is scheduled to finish before it",
                    initiative=initiative.id,
                    period=labels[starts[initiative.id]],
                )
        for prerequisite in initiative.depends_on:
            if prerequisite not in scheduled:
                fail(
                    RuleKind.depends_on,
                    f"'{initiative.id}' depends on '{prerequisite}', which is not scheduled",
                    initiative=initiative.id,
                    other=prerequisite,
                    period=labels[starts[initiative.id]],
                )
            elif starts[prerequisite] + by_id[prerequisite].duration - 1 >= starts[initiative.id]:
                fail(
                    RuleKind.depends_on,
                    f"'{initiative.id}' starts in {labels[starts[initiative.id]]} before its prerequisite '{prerequisite}' "
                    f"finishes (in {label_of(scenario, starts[prerequisite] + by_id[prerequisite].duration - 1)})",
                    initiative=initiative.id,
                    other=prerequisite,
                    period=labels[starts[initiative.id]],
                )
        for other in initiative.excludes:
            if other in scheduled and pair(initiative.id, other) not in excluded:
                excluded.add(pair(initiative.id, other))
                first, second = pair(initiative.id, other)
                fail(RuleKind.excludes, f"'{initiative.id}' and '{other}' exclude each other but both are scheduled", initiative=first, other=second)

    for choice in scenario.choices:
        taken = [o for o in choice.of if o in scheduled]
        if len(taken) < choice.min:
            fail(RuleKind.choice_min, f"choice '{choice.id}' asks for at least {choice.min} of its options, the plan has {len(taken)}", group=choice.id)
        if choice.max is not None and len(taken) > choice.max:
            fail(
                RuleKind.choice_max,
                f"choice '{choice.id}' allows at most {choice.max} of its options, the plan has {len(taken)}: {', '.join(taken)}",
                group=choice.id,
            )
    for kpi, target in scenario.policies.targets.items():
        # Each outcome counted in thousandths, rounded half-even, as the objective counts values.
        delivered = sum(thousandths(i.outcomes[kpi]) for i in scenario.initiatives if i.id in scheduled and kpi in i.outcomes)
        if delivered < thousandths(target):
            fail(RuleKind.target, f"the plan delivers {delivered / VALUE_SCALE:g} of KPI '{kpi}', below its target {target:g}", group=kpi)
    _check_capacity_and_floors(scenario, load, invisible, fail)
    _check_allocations(scenario, load, by_kind, fail)
    _check_theme_shares(scenario, theme_effort, fail)
    _check_report(scenario, plan, load, invisible, fail)
    _check_planning_report(scenario, plan, by_kind, fail)
    return out


def label_of(scenario: Scenario, k: int) -> str:
    """The label of period index k, or where it lies past the horizon's end."""
    return scenario.periods[k] if k < len(scenario.periods) else f"{k - len(scenario.periods) + 1} period(s) after {scenario.periods[-1]}"


def _check_capacity_and_floors(scenario: Scenario, load: Cells, invisible: Cells, fail: Fail) -> None:
    policy = scenario.policies.invisible_work
    for k, label in enumerate(scenario.periods):
        org_capacity = 0
        org_invisible = 0
        for team in scenario.teams:
            capacity = hundredths(scenario.capacity(team.id)[k])
            org_capacity += capacity
            org_invisible += invisible[team.id, k]
            if load[team.id, k] > capacity:
                fail(
                    RuleKind.capacity,
                    f"team '{team.id}' is loaded {load[team.id, k] / 100:g} in {label}, capacity {capacity / 100:g}",
                    team=team.id,
                    period=label,
                )
            share = policy.team_min_share.get(team.id)
            if share is not None and invisible[team.id, k] * SHARE_SCALE < int(share * SHARE_SCALE) * capacity:
                fail(
                    RuleKind.team_invisible_floor,
                    f"team '{team.id}' spends {invisible[team.id, k] / 100:g} on invisible work in {label}, below its floor of {share} x {capacity / 100:g}",
                    team=team.id,
                    period=label,
                )
        if org_invisible * SHARE_SCALE < int(policy.min_share * SHARE_SCALE) * org_capacity:
            fail(
                RuleKind.invisible_floor,
                f"invisible work is {org_invisible / 100:g} in {label}, below the floor of {policy.min_share} x {org_capacity / 100:g}",
                period=label,
            )
        if policy.max_share is not None and org_invisible * SHARE_SCALE > int(policy.max_share * SHARE_SCALE) * org_capacity:
            fail(
                RuleKind.invisible_cap,
                f"invisible work is {org_invisible / 100:g} in {label}, above the cap of {policy.max_share} x {org_capacity / 100:g}",
                period=label,
            )


def _teams(scenario: Scenario, allocation: Allocation) -> list[str]:
    """The teams an allocation takes a share of: those it lists, or every team."""
    return [t.id for t in scenario.teams] if allocation.teams is None else list(dict.fromkeys(allocation.teams))


def _kept(allocation: Allocation, capacity: int, period: str) -> int:
    """Hundredths a reserve keeps of a capacity in hundredths in a period: share x capacity, rounded down; 0 outside its `periods`."""
    share = allocation.share if allocation.periods is None or period in allocation.periods else 0
    return int(share * SHARE_SCALE) * capacity // SHARE_SCALE


def _floor_spans(scenario: Scenario, allocation: Allocation, by_kind: KindLoads) -> list[tuple[str | None, int, int, int]]:
    """A floor's periods (each, or None for the horizon): (period, the listed teams' capacity, the floor,
    share x capacity rounded up, and the load listed work of its kinds gives it), all in hundredths."""
    teams, periods = _teams(scenario, allocation), range(len(scenario.periods))
    out = []
    for span in [[k] for k in periods] if allocation.over == "period" else [list(periods)]:
        capacity = sum(hundredths(scenario.capacity(t)[k]) for t in teams for k in span)
        floor = -(-int(allocation.share * SHARE_SCALE) * capacity // SHARE_SCALE)
        got = sum(by_kind[t, k, kind] for t in teams for k in span for kind in allocation.kinds)
        out.append((scenario.periods[span[0]] if allocation.over == "period" else None, capacity, floor, got))
    return out


def _check_allocations(scenario: Scenario, load: Cells, by_kind: KindLoads, fail: Fail) -> None:
    """Reserves: work of other kinds leaves each reserve free, and a reserve's kinds use it before the
    capacity no reserve holds. Hard floors: listed work of the kinds takes at least share x capacity."""
    allocations = scenario.policies.allocations

    def given(team: str, k: int, kinds: list[str]) -> int:
        return sum(by_kind[team, k, kind] for kind in kinds)

    for team in scenario.teams:
        reserves = [a for a in allocations if a.mode.value == "reserve" and team.id in _teams(scenario, a)]
        for k in range(len(scenario.periods)) if reserves else ():
            capacity = hundredths(scenario.capacity(team.id)[k])
            kept = [_kept(a, capacity, scenario.periods[k]) for a in reserves]
            listed = [given(team.id, k, a.kinds) for a in reserves]
            other = load[team.id, k] - sum(listed)
            # The reserves their kinds do not fill are what other work (and the overflow of the rest) took from.
            unfilled = [(a, r - used) for a, r, used in zip(reserves, kept, listed) if used < r]
            over = other + sum(max(0, used - r) for used, r in zip(listed, kept)) - (capacity - sum(kept))
            if over > 0 and unfilled and load[team.id, k] <= capacity:
                names = "+".join(a.id or "+".join(a.kinds) for a, _ in unfilled)
                fail(
                    RuleKind.reserve,
                    f"team '{team.id}' gives {over / 100:g} of the capacity reserved for {names} in {scenario.periods[k]} to other work",
                    team=team.id,
                    group=names,
                    period=scenario.periods[k],
                )
    for allocation in allocations:
        if allocation.mode.value != "floor" or allocation.soft is not None:
            continue
        name = allocation.id or "+".join(allocation.kinds)
        for when, capacity, floor, got in _floor_spans(scenario, allocation, by_kind):
            if got < floor:
                fail(
                    RuleKind.allocation_floor,
                    f"{', '.join(allocation.kinds)} get {got / 100:g} {'in ' + when if when else 'over the horizon'}, "
                    f"below the floor of {allocation.share} x {capacity / 100:g}",
                    group=name,
                    period=when,
                )


def _check_theme_shares(scenario: Scenario, theme_effort: dict[str | None, int], fail: Fail) -> None:
    total = sum(theme_effort.values())
    for theme, bounds in scenario.policies.themes.items():
        effort = theme_effort.get(theme, 0)
        if bounds.min_share is not None and effort * SHARE_SCALE < int(bounds.min_share * SHARE_SCALE) * total:
            fail(
                RuleKind.theme_min_share,
                f"theme '{theme}' has {effort / 100:g} of {total / 100:g} scheduled effort, below its min_share {bounds.min_share}",
                theme=theme,
            )
        if bounds.max_share is not None and effort * SHARE_SCALE > int(bounds.max_share * SHARE_SCALE) * total:
            fail(
                RuleKind.theme_max_share,
                f"theme '{theme}' has {effort / 100:g} of {total / 100:g} scheduled effort, above its max_share {bounds.max_share}",
                theme=theme,
            )


def _check_report(scenario: Scenario, plan: Plan, load: Cells, invisible: Cells, fail: Fail) -> None:
    """The figures the plan reports agree with its decisions and its scenario."""
    rows: dict[tuple[str, str], list[TeamPeriod]] = defaultdict(list)
    for row in plan.utilisation:
        rows[row.team, row.period].append(row)
    for team in scenario.teams:
        capacities = scenario.capacity(team.id)
        for k, label in enumerate(scenario.periods):
            found = rows.pop((team.id, label), [])
            if len(found) != 1:
                fail(RuleKind.report, f"utilisation lists team '{team.id}' in {label} {len(found)} times, not once", team=team.id, period=label)
            for row in found:
                # (words before and after the figure, the figure reported, the right one in hundredths, whose it is)
                figures = (
                    ("capacity ", row.capacity, "", hundredths(capacities[k]), "the scenario gives"),
                    ("", row.load, "", load[team.id, k], "the decisions give"),
                    ("", row.invisible, " of invisible work", invisible[team.id, k], "the decisions give"),
                )
                for before, reported, after, actual, whose in figures:
                    if hundredths(reported) != actual:
                        fail(
                            RuleKind.report,
                            f"utilisation reports {before}{plain_number(reported)}{after} for team '{team.id}' in {label}, "
                            f"{whose} {plain_number(Decimal(actual) / 100)}",
                            team=team.id,
                            period=label,
                        )
    for team_id, label in rows:
        fail(RuleKind.report, f"utilisation lists team '{team_id}' in {label}, which the scenario does not plan", team=team_id, period=label)
    makespan = scenario.policies.objective is Objective.makespan
    for item in plan.scheduled:
        initiative = scenario.initiative_by_id.get(item.id)
        if initiative is not None and item.required != bool(initiative.mandatory or initiative.committed or makespan):
            fail(RuleKind.report, f"'{item.id}' is reported {'required' if item.required else 'optional'}, the scenario says otherwise", initiative=item.id)
    listed = Counter(s.id for s in plan.scheduled) + Counter(u.id for u in plan.not_scheduled)
    for initiative in scenario.initiatives:
        times = listed[initiative.id]
        if times == 0:
            fail(RuleKind.report, f"'{initiative.id}' is neither scheduled nor listed as not scheduled", initiative=initiative.id)
        elif times > 1:
            fail(RuleKind.report, f"'{initiative.id}' is listed {times} times in scheduled and not_scheduled, not once", initiative=initiative.id)
    for unscheduled in plan.not_scheduled:
        if unscheduled.id not in scenario.initiative_by_id:
            fail(RuleKind.report, f"'{unscheduled.id}' is listed as not scheduled, but it is not an initiative of the scenario", initiative=unscheduled.id)
    score = _score(scenario, plan)  # `scenario` is the valued one already
    if plan.objective != score:
        fail(RuleKind.objective, f"the plan reports objective {plan.objective}, its decisions are worth {score}")
    if scenario.previous_plan is not None and score is not None:
        cost = _stability_cost(scenario, plan) / VALUE_SCALE
        if plan.stability_cost != cost:
            fail(RuleKind.stability, f"the plan reports a stability cost of {plan.stability_cost}, its changes to the previous plan cost {cost:g}")
        starts = {s.id: s.start for s in plan.scheduled}
        changed = sorted(i for i, label in scenario.previous_plan.items() if i in scenario.initiative_by_id and starts.get(i) != label)
        if sorted(c.id for c in plan.changes) != changed:
            fail(RuleKind.stability, f"the plan lists changes to {_names(c.id for c in plan.changes)}, its decisions change {_names(changed)}")


def _check_planning_report(scenario: Scenario, plan: Plan, by_kind: KindLoads, fail: Fail) -> None:
    """The figures of the planning terms agree with the decisions: each reserve's use, each floor's load and
    shortfall, each KPI's total, which synergies are earned, and which work under way is stopped."""
    scheduled = {s.id for s in plan.scheduled}
    reserves, floors = [], []
    for allocation in scenario.policies.allocations:
        name = allocation.id or "+".join(allocation.kinds)
        if allocation.mode.value == "reserve":
            for team in _teams(scenario, allocation):
                for k, label in enumerate(scenario.periods):
                    kept = _kept(allocation, hundredths(scenario.capacity(team)[k]), label)
                    used = min(kept, sum(by_kind[team, k, kind] for kind in allocation.kinds))
                    reserves.append((name, team, label, kept, used, kept - used))
        else:
            floors += [(name, when, floor, got, max(0, floor - got)) for when, _, floor, got in _floor_spans(scenario, allocation, by_kind)]
    said_reserves = [(r.allocation, r.team, r.period, hundredths(r.reserved), hundredths(r.used), hundredths(r.left)) for r in plan.reserves]
    if said_reserves != reserves:
        fail(RuleKind.report, "the reserves the plan reports are not what its decisions leave of them")
    said_floors = [(f.allocation, f.period, hundredths(f.floor), hundredths(f.load), hundredths(f.short)) for f in plan.floors]
    if said_floors != floors:
        fail(RuleKind.report, "the allocation floors the plan reports are not what its decisions give them")
    kpis = sorted({kpi for i in scenario.initiatives for kpi in i.outcomes} | set(scenario.policies.targets))
    totals = {kpi: sum(thousandths(i.outcomes[kpi]) for i in scenario.initiatives if i.id in scheduled and kpi in i.outcomes) for kpi in kpis}
    if {kpi: thousandths(v) for kpi, v in plan.outcomes.items()} != totals:
        fail(RuleKind.report, f"the plan reports KPI totals {plan.outcomes}, its decisions deliver { ({k: v / VALUE_SCALE for k, v in totals.items()}) }")
    earned = [(x.id or "+".join(x.ids), all(i in scheduled for i in x.ids)) for x in scenario.synergies]
    if [(x.synergy, x.earned) for x in plan.synergies] != earned:
        fail(RuleKind.report, "the synergies the plan reports earned are not those whose initiatives it schedules")
    stopped = [i.id for i in scenario.initiatives if i.in_progress is not None and i.id not in scheduled]
    if plan.stopped != stopped:
        fail(RuleKind.report, f"the plan reports {_names(plan.stopped)} stopped, its decisions stop {_names(stopped)}")


def score_plan(scenario: Scenario, plan: Plan) -> float | None:
    """The plan's objective recomputed from its starts: total decayed value, or periods used in makespan mode.

    Each item finishes where its start and the scenario's duration say; work that starts outside the
    horizon or runs past its end (which the checker reports) counts for nothing. A plan made for expected value
    (`--objective expected`) is scored by expected values."""
    if plan.status in (PlanStatus.infeasible, PlanStatus.unknown):
        return None
    return _score(valued(scenario, plan.settings), plan)


def _score(scenario: Scenario, plan: Plan) -> float:
    """`score_plan` of a plan with a solution, on the scenario it values by (`planner.uncertainty.valued`)."""
    index = scenario.period_index
    by_id = scenario.initiative_by_id
    ends = {s.id: index[s.start] + by_id[s.id].duration - 1 for s in plan.scheduled if s.id in by_id and s.start in index}
    finishes = {i: k for i, k in ends.items() if k < len(scenario.periods)}
    if scenario.policies.objective is Objective.makespan:
        return float(max((k + 1 for k in finishes.values()), default=0))
    value = sum(finish_value(scenario, by_id[i], k) for i, k in finishes.items()) + synergy_value(scenario, finishes)
    return (value - _stability_cost(scenario, plan) - _shortfall_cost(scenario, plan)) / VALUE_SCALE


def _shortfall_cost(scenario: Scenario, plan: Plan) -> int:
    """Thousandths of value charged for the soft floors the plan's loads fall short of: the penalty (one
    decimal) for each hundredth of effort between the floor (share x capacity, rounded up) and the load."""
    given: KindLoads = defaultdict(int)
    index = scenario.period_index
    for item in plan.scheduled:
        initiative = scenario.initiative_by_id.get(item.id)
        if initiative is None or item.start not in index:
            continue
        for need, assigned in zip(initiative.all_needs, item.needs):
            for offset, amount in enumerate(spread(hundredths(need.effort), initiative.duration)):
                given[assigned.team, index[item.start] + offset, initiative.kind] += amount
    return sum(
        int(allocation.soft.penalty * 10) * max(0, floor - got)
        for allocation in scenario.policies.allocations
        if allocation.mode.value == "floor" and allocation.soft is not None
        for _, _, floor, got in _floor_spans(scenario, allocation, given)
    )


def _stability_cost(scenario: Scenario, plan: Plan) -> int:
    """Thousandths of value charged for the plan's changes to the previous plan: each initiative the previous
    plan scheduled that this one leaves out, or starts some periods earlier or later."""
    horizon = scenario.horizon
    # A start outside the horizon (reported by the checker) cannot be measured against the previous one.
    starts = {s.id: s.start for s in plan.scheduled if s.start in scenario.period_index}
    total = 0
    for initiative_id, previous in (scenario.previous_plan or {}).items():
        if initiative_id not in scenario.initiative_by_id:
            continue  # no longer in the scenario: nothing to keep
        start = starts.get(initiative_id)
        moved = None if start is None else period_offset(previous, start, horizon.granularity)
        total += stability_cost(scenario.policies, 0, moved)
    return total


def _names(ids: Iterable[str]) -> str:
    listed = sorted(ids)
    return ", ".join(listed) if listed else "nothing"
