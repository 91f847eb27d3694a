"""The solver-free plan checker: does a plan keep every rule of its scenario?

Written from the scenario's semantics (the comments of scenarios/acme-2027.yaml and
docs/scenario-format.md), not from any backend's model, so that a bug in a model is caught here rather
than copied. Every plan a test sees goes through `check_plan`; `score_plan` recomputes its objective.
All arithmetic is in whole hundredths of the unit (capacity, effort) and ten-thousandths (shares).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from pydantic import Field

from planner.plan import Plan, PlanStatus
from planner.quantities import SHARE_SCALE, hundredths, spread
from planner.scenario import Frozen, Objective, Scenario
from planner.periods import period_offset
from planner.rules import FIGURES, RuleKind, rule_name
from planner.scoring import VALUE_SCALE, decayed_value, stability_cost


class Violation(Frozen):
    """One rule of the scenario the plan breaks, located by the ids it is about."""

    rule: RuleKind = Field(description="The kind of rule, as the model names its rows: `capacity`, `deadline`, `depends_on`.")
    message: str = Field(description="What is wrong, in the scenario's words and numbers.")
    initiative: str | None = Field(default=None, description="The initiative the broken rule is about.")
    team: str | None = Field(default=None, description="The team, for a capacity rule, a team floor or a need.")
    theme: str | None = Field(default=None, description="The theme, for a share bound.")
    period: str | None = Field(default=None, description="The period, for a per-period rule, a start or a finish.")

    @property
    def name(self) -> str:
        """The rule's name from its ids, as the model names its row: `capacity[web, 2027-Q1]`."""
        return rule_name(self.rule, self.initiative, self.team, self.theme, self.period)

    @property
    def figure(self) -> bool:
        """About what the plan reports rather than what it decides (`planner.rules.FIGURES`)."""
        return self.rule in FIGURES

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


def check_plan(scenario: Scenario, plan: Plan) -> list[Violation]:
    """Every rule the plan breaks (an empty list for a valid plan). Plans without a solution pass trivially."""
    out: list[Violation] = []

    def fail(rule: RuleKind, message: str, **where: str | None) -> None:
        out.append(Violation(rule=rule, message=message, **where))

    if plan.status in (PlanStatus.infeasible, PlanStatus.unknown):
        if plan.scheduled:
            fail(RuleKind.status, f"a plan with status {plan.status.value} lists scheduled initiatives")
        return out

    index = scenario.period_index
    labels = scenario.periods
    by_id = scenario.initiative_by_id
    makespan = scenario.policies.objective is Objective.makespan
    starts: dict[str, int] = {}
    # (team, period index) -> hundredths, total and invisible only
    load: dict[tuple[str, int], int] = defaultdict(int)
    invisible: dict[tuple[str, int], int] = defaultdict(int)
    theme_effort: dict[str | None, int] = defaultdict(int)

    for item in plan.scheduled:
        initiative = by_id.get(item.id)
        if initiative is None:
            fail(RuleKind.unknown_initiative, f"'{item.id}' is not an initiative of the scenario", initiative=item.id)
            continue
        if item.id in starts:
            fail(RuleKind.one_start, f"'{item.id}' is scheduled twice", initiative=item.id)
            continue
        if item.start not in index or item.finish not in index:
            fail(RuleKind.horizon, f"'{item.id}' runs {item.start}..{item.finish}, outside the horizon", initiative=item.id)
            continue
        start, finish = index[item.start], index[item.finish]
        if finish - start + 1 != initiative.duration:
            fail(RuleKind.duration, f"'{item.id}' runs {finish - start + 1} periods, its duration is {initiative.duration}", initiative=item.id, period=item.start)
        starts[item.id] = start
        if initiative.earliest_start and start < index[initiative.earliest_start]:
            fail(RuleKind.earliest_start, f"'{item.id}' starts in {item.start}, before its earliest start {initiative.earliest_start}", initiative=item.id, period=item.start)
        if initiative.deadline and finish > index[initiative.deadline]:
            fail(RuleKind.deadline, f"'{item.id}' finishes in {item.finish}, after its deadline {initiative.deadline}", initiative=item.id, period=item.finish)
        if initiative.committed and item.start != initiative.committed:
            fail(RuleKind.committed, f"'{item.id}' was committed to start in {initiative.committed}, not {item.start}", initiative=item.id, period=item.start)

        needs = list(initiative.all_needs)
        if len(item.needs) != len(needs):
            fail(RuleKind.needs, f"'{item.id}' has {len(needs)} needs, the plan assigns {len(item.needs)}", initiative=item.id)
            continue
        expected: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for need, assigned in zip(needs, item.needs):
            team = scenario.team_by_id.get(assigned.team)
            if team is None:
                fail(RuleKind.needs, f"'{item.id}' is assigned to unknown team '{assigned.team}'", initiative=item.id, team=assigned.team)
                continue
            if need.team is not None and assigned.team != need.team:
                fail(RuleKind.needs, f"'{item.id}' needs team '{need.team}', the plan gives it '{assigned.team}'", initiative=item.id, team=assigned.team)
            if need.skill is not None and need.skill not in team.skills:
                fail(RuleKind.needs, f"'{item.id}' needs skill '{need.skill}', which team '{team.id}' lacks", initiative=item.id, team=team.id)
            # Spread evenly over the duration, exactly, the remainder on the earliest periods.
            for offset, amount in enumerate(spread(hundredths(need.effort), initiative.duration)):
                expected[team.id][start + offset] += amount
        for team_id, cells in expected.items():
            for k, amount in cells.items():
                if k >= len(labels):
                    continue
                load[team_id, k] += amount
                if scenario.is_invisible(initiative):
                    invisible[team_id, k] += amount
        reported = {(team, index.get(label, -1)): hundredths(amount) for team, row in item.load.items() for label, amount in row.items() if amount}
        computed = {(team, k): amount for team, row in expected.items() for k, amount in row.items() if amount}
        if reported != computed:
            fail(RuleKind.load, f"'{item.id}' reports a load per team and period that its effort and start do not give", initiative=item.id)
        theme_effort[initiative.theme] += hundredths(initiative.total_effort)

    scheduled = set(starts)
    for initiative in scenario.initiatives:
        if initiative.id not in scheduled:
            if initiative.mandatory:
                fail(RuleKind.mandatory, f"'{initiative.id}' is not scheduled, but it is mandatory", initiative=initiative.id)
            elif initiative.committed:
                fail(RuleKind.committed, f"'{initiative.id}' is not scheduled, but it was committed to start in {initiative.committed}",
                     initiative=initiative.id, period=initiative.committed)
            elif makespan:
                fail(RuleKind.required, f"'{initiative.id}' is not scheduled, but every initiative is scheduled in makespan mode", initiative=initiative.id)
            continue
        for prerequisite in initiative.depends_on:
            if prerequisite not in scheduled:
                fail(RuleKind.depends_on, f"'{initiative.id}' depends on '{prerequisite}', which is not scheduled",
                     initiative=initiative.id, period=labels[starts[initiative.id]])
            elif starts[prerequisite] + by_id[prerequisite].duration - 1 >= starts[initiative.id]:
                fail(
                    RuleKind.depends_on,
                    f"'{initiative.id}' starts in {labels[starts[initiative.id]]} before its prerequisite '{prerequisite}' "
                    f"finishes (in {labels[starts[prerequisite] + by_id[prerequisite].duration - 1]})",
                    initiative=initiative.id, period=labels[starts[initiative.id]],
                )
        for other in initiative.excludes:
            if other in scheduled:
                fail(RuleKind.excludes, f"'{initiative.id}' and '{other}' exclude each other but both are scheduled", initiative=initiative.id)

    _check_capacity_and_floors(scenario, load, invisible, fail)
    _check_theme_shares(scenario, theme_effort, fail)
    _check_report(scenario, plan, load, fail)
    return out


def _check_capacity_and_floors(scenario: Scenario, load, invisible, fail) -> None:  # type: ignore[no-untyped-def]
    policy = scenario.policies.invisible_work
    for k, label in enumerate(scenario.periods):
        org_capacity = 0
        org_invisible = 0
        for team in scenario.teams:
            capacity = hundredths(scenario.capacity(team.id)[k])
            org_capacity += capacity
            org_invisible += invisible[team.id, k]
            if load[team.id, k] > capacity:
                fail(RuleKind.capacity, f"team '{team.id}' is loaded {load[team.id, k] / 100:g} in {label}, capacity {capacity / 100:g}", team=team.id, period=label)
            share = policy.team_min_share.get(team.id)
            if share is not None and invisible[team.id, k] * SHARE_SCALE < int(share * SHARE_SCALE) * capacity:
                fail(
                    RuleKind.team_invisible_floor,
                    f"team '{team.id}' spends {invisible[team.id, k] / 100:g} on invisible work in {label}, "
                    f"below its floor of {share} x {capacity / 100:g}",
                    team=team.id, period=label,
                )
        if org_invisible * SHARE_SCALE < int(policy.min_share * SHARE_SCALE) * org_capacity:
            fail(RuleKind.invisible_floor, f"invisible work is {org_invisible / 100:g} in {label}, below the floor of {policy.min_share} x {org_capacity / 100:g}", period=label)
        if policy.max_share is not None and org_invisible * SHARE_SCALE > int(policy.max_share * SHARE_SCALE) * org_capacity:
            fail(RuleKind.invisible_cap, f"invisible work is {org_invisible / 100:g} in {label}, above the cap of {policy.max_share} x {org_capacity / 100:g}", period=label)


def _check_theme_shares(scenario: Scenario, theme_effort: dict[str | None, int], fail) -> None:  # type: ignore[no-untyped-def]
    total = sum(theme_effort.values())
    for theme, bounds in scenario.policies.themes.items():
        effort = theme_effort.get(theme, 0)
        if bounds.min_share is not None and effort * SHARE_SCALE < int(bounds.min_share * SHARE_SCALE) * total:
            fail(RuleKind.theme_min_share, f"theme '{theme}' has {effort / 100:g} of {total / 100:g} scheduled effort, below its min_share {bounds.min_share}", theme=theme)
        if bounds.max_share is not None and effort * SHARE_SCALE > int(bounds.max_share * SHARE_SCALE) * total:
            fail(RuleKind.theme_max_share, f"theme '{theme}' has {effort / 100:g} of {total / 100:g} scheduled effort, above its max_share {bounds.max_share}", theme=theme)


def _check_report(scenario: Scenario, plan: Plan, load, fail) -> None:  # type: ignore[no-untyped-def]
    """The figures the plan reports agree with its decisions."""
    for row in plan.utilisation:
        k = scenario.period_index.get(row.period)
        if k is not None and hundredths(row.load) != load[row.team, k]:
            fail(RuleKind.report, f"utilisation reports {row.load} for team '{row.team}' in {row.period}, the decisions give {load[row.team, k] / 100:g}", team=row.team, period=row.period)
    makespan = scenario.policies.objective is Objective.makespan
    for item in plan.scheduled:
        initiative = scenario.initiative_by_id.get(item.id)
        if initiative is not None and item.required != bool(initiative.mandatory or initiative.committed or makespan):
            fail(RuleKind.report, f"'{item.id}' is reported {'required' if item.required else 'optional'}, the scenario says otherwise", initiative=item.id)
    listed = [s.id for s in plan.scheduled] + [u.id for u in plan.not_scheduled]
    if sorted(listed) != sorted(i.id for i in scenario.initiatives):
        fail(RuleKind.report, "scheduled and not_scheduled together do not list every initiative exactly once")
    score = score_plan(scenario, plan)
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


def score_plan(scenario: Scenario, plan: Plan) -> float | None:
    """The plan's objective recomputed from its starts: total decayed value, or periods used in makespan mode."""
    if plan.status in (PlanStatus.infeasible, PlanStatus.unknown):
        return None
    index = scenario.period_index
    finishes = {s.id: index[s.finish] for s in plan.scheduled if s.id in scenario.initiative_by_id and s.finish in index}
    if scenario.policies.objective is Objective.makespan:
        return float(max((k + 1 for k in finishes.values()), default=0))
    by_id = scenario.initiative_by_id
    value = sum(decayed_value(by_id[i], scenario.policies, k) for i, k in finishes.items())
    return (value - _stability_cost(scenario, plan)) / VALUE_SCALE


def _stability_cost(scenario: Scenario, plan: Plan) -> int:
    """Thousandths of value charged for the plan's changes to the previous plan: each initiative the previous
    plan scheduled that this one leaves out, or starts some periods earlier or later."""
    horizon = scenario.horizon
    starts = {s.id: s.start for s in plan.scheduled}
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
