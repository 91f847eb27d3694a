"""What a solve is asked (`SolveSettings`) and what comes out (`Plan`).

A plan's decisions are few: for each scheduled initiative, its start period and the team that carries
each of its needs. Everything else in a `Plan` (loads, utilisation, shares, value) follows from those
decisions and the scenario, and is derived here, in the domain, by `build_plan`: every backend and the
greedy baseline report through it, and `planner.check.check_plan` re-derives it independently.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from planner.allocations import floors, penalty, reserve_uses, shortfalls
from planner.explanation import Explanation, Reason
from planner.quantities import Amount, hundredths, spread
from planner.scenario import Frozen, Initiative, InitiativeId, MoSCoW, Need, Objective, PeriodLabel, Scenario, TeamId
from planner.scoring import VALUE_SCALE, finish_value, initiative_value, outcome_totals, ratio_score, stability_cost, synergy_value
from planner.settings import Backend, PlanStatus, SolveSettings


class NeedAssignment(Frozen):
    """Which team carries one need of a scheduled initiative."""

    team: TeamId = Field(description="The team doing the work.")
    skill: str | None = Field(default=None, description="The skill asked for, when the need named a skill.")
    effort: Amount = Field(description="Total effort of the need.")


class ScheduledInitiative(Frozen):
    """An initiative in the plan: when it runs, who does it, what it is worth."""

    id: InitiativeId
    title: str
    kind: str
    theme: str | None
    invisible: bool = Field(description="Its kind counts as invisible work.")
    required: bool = Field(default=False, description="The plan had to schedule it: mandatory, committed, or every initiative under makespan.")
    moscow: MoSCoW | None = Field(default=None, description="Its MoSCoW label, when the scenario gives one.")
    in_progress: bool = Field(default=False, description="Work already under way, continued with what is left of it.")
    start: PeriodLabel = Field(description="First period of the work.")
    finish: PeriodLabel = Field(description="Last period of the work.")
    needs: list[NeedAssignment] = Field(description="One per need, in the order of `effort` then `needs`.")
    load: dict[TeamId, dict[PeriodLabel, Amount]] = Field(description="Effort per team per period.")
    value: float = Field(description="Value if delivered in the first period.")
    decayed_value: float = Field(description="Value counted in the objective: after decay, cost of delay and lateness past its due period.")
    ratio_score: float = Field(description="The familiar ranking score (value per effort; ICE with ease).")


class UnscheduledInitiative(Frozen):
    id: InitiativeId
    title: str
    kind: str
    mandatory: bool
    moscow: MoSCoW | None = Field(default=None, description="Its MoSCoW label (won't have: never scheduled).")
    value: float = Field(description="Value if delivered in the first period.")
    ratio_score: float


class PlanChange(Frozen):
    """An initiative the previous plan scheduled, and what this plan does with it."""

    id: InitiativeId
    previous_start: PeriodLabel = Field(description="Where the previous plan started it.")
    start: PeriodLabel | None = Field(description="Where this plan starts it; None when it is left out.")
    moved: int | None = Field(description="Periods later (negative: earlier) than before; None when left out.")
    cost: float = Field(description="Value given up for the change (`policies.stability`).")


class TeamPeriod(Frozen):
    """One team in one period: capacity, what the plan loads on it, and how much of that is invisible work."""

    team: TeamId
    period: PeriodLabel
    capacity: Amount
    load: Amount
    invisible: Amount
    utilisation: float = Field(description="load / capacity (0 when the team has no capacity).")

    @property
    def full(self) -> bool:
        """No room left: the binding capacity an extra unit could relieve."""
        return self.capacity > 0 and self.load >= self.capacity


class ReserveReport(Frozen):
    """One reserve on one team in one period: what it keeps, what listed work of its kinds uses, what is left."""

    allocation: str = Field(description="The allocation's id (its kinds joined by `+` when it has none).")
    team: TeamId
    period: PeriodLabel
    reserved: Amount = Field(description="share x capacity: kept for its kinds.")
    used: Amount = Field(description="What listed work of its kinds uses of it (they use the reserve first).")
    left: Amount = Field(description="What is left for unlisted work of its kinds: bugs, upgrades, paper cuts.")


class FloorReport(Frozen):
    """One allocation floor, per period or over the horizon: what it asks, what listed work gives, what is short."""

    allocation: str
    period: PeriodLabel | None = Field(description="None for a floor over the horizon.")
    floor: Amount = Field(description="share x the listed teams' capacity, rounded up to a hundredth.")
    load: Amount = Field(description="Listed work of its kinds on those teams.")
    short: Amount = Field(description="How far the load falls short of the floor (a soft floor's shortfall; 0 for a hard one in a plan).")
    penalty: float = Field(default=0, description="Value the shortfall costs (soft floors).")


class SynergyReport(Frozen):
    """A synergy of the scenario, and whether the plan earns it (schedules all of its initiatives)."""

    synergy: str = Field(description="Its id (its initiatives joined by `+` when it has none).")
    value: float
    earned: bool


class ConfidenceReport(Frozen):
    """How a robust plan (`SolveSettings.confidence`) was made, and the confidence an independent simulation gives it."""

    asked: float = Field(description="The confidence asked: every hard deadline and required item holds in at least this share of samples.")
    achieved: float | None = Field(description="The least delivery confidence of those items in the independent simulation; None when there are none.")
    met: bool = Field(description="achieved >= asked (or there is nothing to hold).")
    samples: int = Field(description="Samples of the independent simulation.")
    seed: int = Field(description="Its seed: the solve's seed plus 1,000,003, independent of the samples the search used.")
    headroom: dict[TeamId, dict[PeriodLabel, float]] = Field(
        description="Share of a team's capacity the plan leaves free for overruns, per period (where it keeps any)."
    )
    rounds: int = Field(description="Solves the search took (each one simulated).")
    unbuffered_objective: float | None = Field(description="The objective without headroom: the plan planned on likely estimates alone.")
    items: dict[InitiativeId, float] = Field(default_factory=dict, description="Each such item's delivery confidence in the independent simulation.")


class Plan(Frozen):
    """The outcome of a solve."""

    scenario: str = Field(description="The scenario's name.")
    status: PlanStatus
    objective: float | None = Field(description="Total decayed value minus the stability cost (value mode), or periods used (makespan mode).")
    best_bound: float | None = Field(description="The best the objective can be, as proven by the backend.")
    gap: float | None = Field(description="Relative gap between objective and best bound (0 when proven optimal).")
    objective_mode: Objective
    solve_seconds: float
    backend: Backend
    settings: SolveSettings
    scheduled: list[ScheduledInitiative] = Field(default_factory=list, description="In order of start, then id.")
    not_scheduled: list[UnscheduledInitiative] = Field(default_factory=list)
    utilisation: list[TeamPeriod] = Field(default_factory=list, description="Every team in every period.")
    invisible_share: dict[PeriodLabel, float] = Field(default_factory=dict, description="Invisible work / organisation capacity, per period.")
    invisible_share_by_team: dict[TeamId, dict[PeriodLabel, float]] = Field(default_factory=dict)
    theme_mix: dict[str, float] = Field(default_factory=dict, description="Share of scheduled effort per theme ('' = no theme).")
    reserves: list[ReserveReport] = Field(default_factory=list, description="Each reserve (policies.allocations) per team and period.")
    floors: list[FloorReport] = Field(default_factory=list, description="Each allocation floor per period, or over the horizon.")
    synergies: list[SynergyReport] = Field(default_factory=list, description="Each synergy, and whether the plan earns it.")
    outcomes: dict[str, float] = Field(default_factory=dict, description="Each business KPI the scheduled initiatives move, in total.")
    stopped: list[InitiativeId] = Field(default_factory=list, description="Work under way (`in_progress` with `may_stop`) that the plan stops.")
    value: float | None = Field(default=None, description="Total decayed value of the scheduled initiatives (value mode).")
    stability_cost: float | None = Field(default=None, description="Value given up for changing the previous plan; None without a previous plan.")
    changes: list[PlanChange] = Field(default_factory=list, description="Every initiative of the previous plan that moved or was left out, in file order.")
    baseline_objective: float | None = Field(default=None, description="The rank-ordered greedy baseline's objective.")
    uplift: float | None = Field(default=None, description="objective - baseline_objective (value mode).")
    message: str = Field(default="", description="What the backend said, for a person.")
    found_by: str | None = Field(
        default=None, description="The search that found the plan: CP-SAT, HiGHS, CBC, or greedy (the rank-ordered baseline's plan, kept)."
    )
    bound_by: str | None = Field(default=None, description="The search that proved best_bound (or the infeasibility): CP-SAT, HiGHS or CBC.")
    explanation: Explanation | None = Field(default=None, description="Why each initiative is in, out or late (and with --explain, what would change it).")
    confidence: ConfidenceReport | None = Field(default=None, description="Robust plans (`--confidence`): the headroom kept and the confidence achieved.")

    def scheduled_by_id(self) -> dict[str, ScheduledInitiative]:
        return {s.id: s for s in self.scheduled}

    def reasons(self) -> dict[InitiativeId, Reason]:
        """Why each initiative is out or late, from the plan's explanation (empty when it was not explained)."""
        items = self.explanation.initiatives if self.explanation else []
        return {i.id: i.reason for i in items if i.reason is not None}

    def uplift_share(self) -> float | None:
        """The uplift relative to the baseline's objective; None without a baseline or with one of 0."""
        if self.uplift is None or not self.baseline_objective:
            return None
        return round(self.uplift / abs(self.baseline_objective), 6)


class Placement(Frozen):
    """The decisions for one scheduled initiative: start period index and the team for each need."""

    start: int
    teams: tuple[TeamId, ...]


def need_loads(need: Need, duration: int) -> list[int]:
    """Hundredths of effort the need puts on its team in each period of the work, exactly."""
    return spread(hundredths(need.effort), duration)


def build_plan(
    scenario: Scenario,
    placements: dict[str, Placement],
    *,
    status: PlanStatus,
    best_bound: float | None,
    solve_seconds: float,
    backend: Backend,
    settings: SolveSettings,
    message: str = "",
) -> Plan:
    """Derive the whole plan report from the decisions. An infeasible or unknown plan schedules nothing."""
    labels = scenario.periods
    policies = scenario.policies
    load = {(team.id, k): 0 for team in scenario.teams for k in range(len(labels))}
    invisible = dict.fromkeys(load, 0)
    kind_load: dict[tuple[str, int, str], int] = {}  # for the allocations' reports
    theme_effort: dict[str, int] = {}
    scheduled: list[ScheduledInitiative] = []
    for initiative in scenario.initiatives:
        placement = placements.get(initiative.id)
        if placement is None:
            continue
        per_team: dict[str, dict[str, Decimal]] = {}
        for need, team_id in zip(initiative.all_needs, placement.teams):
            for offset, amount in enumerate(need_loads(need, initiative.duration)):
                k = placement.start + offset
                load[team_id, k] += amount
                kind_load[team_id, k, initiative.kind] = kind_load.get((team_id, k, initiative.kind), 0) + amount
                if scenario.is_invisible(initiative):
                    invisible[team_id, k] += amount
                cell = per_team.setdefault(team_id, {})
                cell[labels[k]] = cell.get(labels[k], Decimal(0)) + Decimal(amount) / 100
        theme_effort[initiative.theme or ""] = theme_effort.get(initiative.theme or "", 0) + hundredths(initiative.total_effort)
        finish = placement.start + initiative.duration - 1
        scheduled.append(
            ScheduledInitiative(
                id=initiative.id,
                title=initiative.title,
                kind=initiative.kind,
                theme=initiative.theme,
                invisible=scenario.is_invisible(initiative),
                required=is_required(initiative, scenario),
                moscow=initiative.moscow,
                in_progress=initiative.in_progress is not None,
                start=labels[placement.start],
                finish=labels[finish],
                needs=[NeedAssignment(team=team, skill=need.skill, effort=need.effort) for need, team in zip(initiative.all_needs, placement.teams)],
                load={team: dict(sorted(cells.items(), key=lambda kv: scenario.period_index[kv[0]])) for team, cells in sorted(per_team.items())},
                value=initiative_value(initiative, policies),
                decayed_value=finish_value(scenario, initiative, finish) / VALUE_SCALE,
                ratio_score=ratio_score(initiative, policies),
            )
        )
    scheduled.sort(key=lambda s: (scenario.period_index[s.start], s.id))
    unscheduled = [
        UnscheduledInitiative(
            id=i.id,
            title=i.title,
            kind=i.kind,
            mandatory=i.mandatory,
            moscow=i.moscow,
            value=initiative_value(i, policies),
            ratio_score=ratio_score(i, policies),
        )
        for i in scenario.initiatives
        if i.id not in placements
    ]
    utilisation = []
    for team in scenario.teams:
        for k, label in enumerate(labels):
            capacity = scenario.capacity(team.id)[k]
            utilisation.append(
                TeamPeriod(
                    team=team.id,
                    period=label,
                    capacity=capacity,
                    load=Decimal(load[team.id, k]) / 100,
                    invisible=Decimal(invisible[team.id, k]) / 100,
                    utilisation=_ratio(load[team.id, k], hundredths(capacity)),
                )
            )
    org_capacity = [sum(hundredths(scenario.capacity(t.id)[k]) for t in scenario.teams) for k in range(len(labels))]
    total_effort = sum(theme_effort.values())
    found = status.found
    objective = score_placements(scenario, placements) if found else None
    value_mode = policies.objective is Objective.value
    changes = _changes(scenario, placements) if found else []
    return Plan(
        scenario=scenario.name,
        status=status,
        objective=objective,
        best_bound=best_bound,
        gap=_gap(objective, best_bound),
        objective_mode=policies.objective,
        solve_seconds=round(solve_seconds, 3),
        backend=backend,
        settings=settings,
        scheduled=scheduled,
        not_scheduled=unscheduled,
        utilisation=utilisation,
        invisible_share={label: _ratio(sum(invisible[t.id, k] for t in scenario.teams), org_capacity[k]) for k, label in enumerate(labels)},
        invisible_share_by_team={
            t.id: {label: _ratio(invisible[t.id, k], hundredths(scenario.capacity(t.id)[k])) for k, label in enumerate(labels)} for t in scenario.teams
        },
        theme_mix={theme: _ratio(effort, total_effort) for theme, effort in sorted(theme_effort.items())},
        reserves=[
            ReserveReport(
                allocation=use.allocation.name,
                team=use.team,
                period=labels[use.period],
                reserved=Decimal(use.reserved) / 100,
                used=Decimal(use.used) / 100,
                left=Decimal(use.reserved - use.used) / 100,
            )
            for use in reserve_uses(scenario, kind_load)
        ]
        if found
        else [],
        floors=[
            FloorReport(
                allocation=f.allocation.name,
                period=labels[f.period] if f.period is not None else None,
                floor=Decimal(f.floor) / 100,
                load=Decimal(f.load) / 100,
                short=Decimal(f.short) / 100,
                penalty=penalty(f.allocation, f.short) / VALUE_SCALE,
            )
            for f in shortfalls(scenario, kind_load)
        ]
        if found
        else [],
        outcomes={kpi: total / VALUE_SCALE for kpi, total in outcome_totals(scenario, placements).items()} if found else {},
        stopped=[i.id for i in scenario.initiatives if i.in_progress is not None and i.id not in placements] if found else [],
        synergies=[SynergyReport(synergy=x.name, value=x.value, earned=all(i in placements for i in x.ids)) for x in scenario.synergies] if found else [],
        value=round(sum(s.decayed_value for s in scheduled), 3) if found and value_mode else None,
        stability_cost=round(sum(c.cost for c in changes), 3) if found and scenario.previous_plan is not None else None,
        changes=changes,
        message=message,
    )


def _changes(scenario: Scenario, placements: dict[str, Placement]) -> list[PlanChange]:
    out = []
    previous = scenario.previous_start
    previous_labels = scenario.previous_plan or {}
    for initiative in scenario.initiatives:
        if initiative.id not in previous:
            continue
        placed = placements.get(initiative.id)
        start = placed.start if placed else None
        if start == previous[initiative.id]:
            continue
        out.append(
            PlanChange(
                id=initiative.id,
                previous_start=previous_labels[initiative.id],
                start=scenario.periods[start] if start is not None else None,
                moved=start - previous[initiative.id] if start is not None else None,
                cost=stability_cost(scenario.policies, previous[initiative.id], start) / VALUE_SCALE,
            )
        )
    return out


def kind_loads(scenario: Scenario, placements: dict[str, Placement]) -> dict[tuple[str, int, str], int]:
    """Hundredths of load per (team, period index, kind) that the decisions put on the teams."""
    out: dict[tuple[str, int, str], int] = {}
    for initiative_id, placement in placements.items():
        initiative = scenario.initiative_by_id[initiative_id]
        for need, team in zip(initiative.all_needs, placement.teams):
            for offset, amount in enumerate(need_loads(need, initiative.duration)):
                key = (team, placement.start + offset, initiative.kind)
                out[key] = out.get(key, 0) + amount
    return out


def placements_of(scenario: Scenario, plan: Plan) -> dict[str, Placement]:
    """The decisions behind a plan (the inverse of `build_plan`), e.g. to warm-start a solve from it."""
    index = scenario.period_index
    return {s.id: Placement(start=index[s.start], teams=tuple(n.team for n in s.needs)) for s in plan.scheduled}


def score_placements(scenario: Scenario, placements: dict[str, Placement]) -> float:
    """The objective of a set of decisions, by the scenario's semantics.

    value mode: the sum of each scheduled initiative's value after decay for the period it finishes in,
    counted in thousandths (`planner.scoring.decayed_value`), minus the cost of each change to the previous
    plan (`planner.scoring.stability_cost`) and of each soft floor's shortfall (`planner.allocations.penalty`),
    plus each synergy whose initiatives are all scheduled (`planner.scoring.synergy_value`). makespan mode: the number of periods up to and including the
    last one in which any scheduled initiative finishes.
    """
    by_id = scenario.initiative_by_id
    if scenario.policies.objective is Objective.makespan:
        return float(max((p.start + by_id[i].duration for i, p in placements.items()), default=0))
    total = sum(finish_value(scenario, by_id[i], p.start + by_id[i].duration - 1) for i, p in placements.items())
    for i, previous in scenario.previous_start.items():
        placed = placements.get(i)
        total -= stability_cost(scenario.policies, previous, placed.start if placed else None)
    total += synergy_value(scenario, placements)
    if any(a.soft for a in floors(scenario)):
        total -= sum(penalty(f.allocation, f.short) for f in shortfalls(scenario, kind_loads(scenario, placements)))
    return total / VALUE_SCALE


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def _gap(objective: float | None, bound: float | None) -> float | None:
    if objective is None or bound is None:
        return None
    return round(abs(bound - objective) / max(abs(bound), 1e-9), 6) if bound != objective else 0.0


def window(scenario: Scenario, initiative: Initiative, settings: SolveSettings) -> range:
    """Period indices the initiative may start in: its window, or its committed start; none for work left
    out by the solve (`force_out`) or by MoSCoW (won't have)."""
    if initiative.id in settings.force_out or initiative.wont:
        return range(0)
    index = scenario.period_index
    if initiative.committed:
        return range(index[initiative.committed], index[initiative.committed] + 1)
    if initiative.in_progress is not None:  # under way: it continues from the first period
        return range(0, 1)
    first = index[initiative.earliest_start] if initiative.earliest_start else 0
    last_finish = index[initiative.deadline] if initiative.deadline else len(scenario.periods) - 1
    return range(first, last_finish - initiative.duration + 2)


def is_required(initiative: Initiative, scenario: Scenario) -> bool:
    """Must be scheduled: mandatory, committed, or every initiative in makespan mode."""
    return initiative.mandatory or initiative.committed is not None or scenario.policies.objective is Objective.makespan
