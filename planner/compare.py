"""Scenarios side by side: each plan's headline figures, and what changes at the level of initiatives.

Pure: it reads solved plans (with their explanations when they have them) and the scenarios they came
from; solving is the caller's job (`api.cli` solves, the service will read stored plans). Words are
rendered at the edge (`api.render`).
"""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

from pydantic import Field

from planner.explanation import Reason
from planner.plan import Plan
from planner.scenario import Frozen, InitiativeId, PeriodLabel, Scenario, TeamId
from planner.settings import PlanStatus
from planner.simulation import DEFAULT_SAMPLES, simulate
from planner.uncertainty import uncertain


class Outcome(Frozen):
    """One scenario's plan in the figures leadership compares."""

    scenario: str
    status: PlanStatus
    objective: float | None
    value: float | None = Field(description="Total decayed value (value mode).")
    baseline: float | None = Field(description="The rank-ordered baseline's objective; None when it found no plan.")
    uplift: float | None = Field(description="objective - baseline.")
    uplift_share: float | None = Field(description="uplift / |baseline|.")
    gap: float | None
    utilisation: dict[TeamId, float] = Field(description="Per team: load / capacity over the whole horizon (empty without a plan).")
    invisible_share: float | None = Field(description="Invisible work / capacity over the whole horizon (None without a plan).")
    theme_mix: dict[str, float]
    scheduled: int
    deadlines: int = Field(description="Initiatives with a deadline.")
    deadlines_met: int = Field(description="Of those, scheduled (a scheduled initiative always meets its deadline).")
    kpis: dict[str, float] = Field(default_factory=dict, description="Each business KPI the plan delivers in total (initiatives' `outcomes`).")
    value_range: tuple[float, float, float] | None = Field(
        default=None,
        description=f"When the scenario has three-point estimates: the value's P10, P50 and P90 over {DEFAULT_SAMPLES} simulated samples (the plan's seed).",
    )
    delivery: float | None = Field(default=None, description="Then too: the least delivery confidence of a required or deadline item.")


class ChangeKind(str, Enum):
    added = "added"  # scheduled in the variant, not in the base
    dropped = "dropped"  # scheduled in the base, not in the variant
    earlier = "earlier"  # in both, starting earlier in the variant
    later = "later"  # in both, starting later in the variant


class Change(Frozen):
    """One initiative whose fate differs between the base and a variant."""

    id: InitiativeId
    title: str
    change: ChangeKind
    periods: int | None = Field(default=None, description="earlier/later: by how many periods.")
    base_start: PeriodLabel | None = None
    start: PeriodLabel | None = Field(default=None, description="Its start in the variant.")
    reason: Reason | None = Field(default=None, description="From its explanation in the variant: why it is out (dropped) or late (later, or added but late).")
    base_reason: Reason | None = Field(default=None, description="From its explanation in the base: why it was out (added) or late (earlier).")
    removed: bool = Field(default=False, description="dropped because the variant's scenario no longer has it.")


class Variant(Frozen):
    outcome: Outcome
    changes: list[Change] = Field(
        description="Added, dropped, earlier, later: in the base scenario's order, then the variant's new initiatives. "
        "Empty when either plan is missing (infeasible, or none found in time): there is nothing to diff."
    )


class Comparison(Frozen):
    base: Outcome
    variants: list[Variant]


def outcome(scenario: Scenario, plan: Plan) -> Outcome:
    """The headline figures of one solved scenario."""
    capacity: dict[str, Decimal] = {}
    load: dict[str, Decimal] = {}
    invisible = Decimal(0)
    for cell in plan.utilisation:
        capacity[cell.team] = capacity.get(cell.team, Decimal(0)) + cell.capacity
        load[cell.team] = load.get(cell.team, Decimal(0)) + cell.load
        invisible += cell.invisible
    total = sum(capacity.values(), Decimal(0))
    scheduled = {s.id for s in plan.scheduled}
    with_deadline = [i.id for i in scenario.initiatives if i.deadline]
    simulated = simulate(scenario, plan, DEFAULT_SAMPLES, plan.settings.seed) if plan.status.found and uncertain(scenario) else None
    spread = simulated.value if simulated is not None else None
    return Outcome(
        scenario=plan.scenario,
        status=plan.status,
        objective=plan.objective,
        value=plan.value,
        baseline=plan.baseline_objective,
        uplift=plan.uplift,
        uplift_share=plan.uplift_share(),
        gap=plan.gap,
        utilisation={team: round(float(load[team] / capacity[team]), 6) if capacity[team] else 0.0 for team in capacity} if plan.status.found else {},
        invisible_share=(round(float(invisible / total), 6) if total else 0.0) if plan.status.found else None,
        theme_mix=plan.theme_mix,
        scheduled=len(plan.scheduled),
        deadlines=len(with_deadline),
        deadlines_met=sum(1 for i in with_deadline if i in scheduled),
        kpis=plan.outcomes,
        value_range=(spread.p10, spread.p50, spread.p90) if spread is not None else None,
        delivery=(plan.confidence.achieved if plan.confidence is not None else simulated.confidence) if simulated is not None else None,
    )


def changes(base: tuple[Scenario, Plan], variant: tuple[Scenario, Plan]) -> list[Change]:
    """What the variant's plan does differently with each initiative, and why, in the base's file order."""
    (base_scenario, base_plan), (scenario, plan) = base, variant
    before, after = base_plan.scheduled_by_id(), plan.scheduled_by_id()
    base_index, index = base_scenario.period_index, scenario.period_index
    why_before, why = base_plan.reasons(), plan.reasons()
    titles = {i.id: i.title for i in scenario.initiatives} | {i.id: i.title for i in base_scenario.initiatives}
    shift = _shift(base_scenario, scenario)
    ids = [i.id for i in base_scenario.initiatives] + [i.id for i in scenario.initiatives if i.id not in base_scenario.initiative_by_id]
    out = []
    for id in ids:
        was, now = before.get(id), after.get(id)
        if was is None and now is None:
            continue
        if was is not None and now is not None:
            moved = index[now.start] + shift - base_index[was.start]
            if moved == 0:
                continue
            kind = ChangeKind.later if moved > 0 else ChangeKind.earlier
            out.append(
                Change(
                    id=id,
                    title=titles[id],
                    change=kind,
                    periods=abs(moved),
                    base_start=was.start,
                    start=now.start,
                    reason=why.get(id) if kind is ChangeKind.later else None,
                    base_reason=why_before.get(id) if kind is ChangeKind.earlier else None,
                )
            )
        elif now is not None:
            out.append(Change(id=id, title=titles[id], change=ChangeKind.added, start=now.start, reason=why.get(id), base_reason=why_before.get(id)))
        else:
            assert was is not None
            removed = id not in scenario.initiative_by_id
            out.append(Change(id=id, title=titles[id], change=ChangeKind.dropped, base_start=was.start, reason=why.get(id), removed=removed))
    return out


def _shift(base: Scenario, variant: Scenario) -> int:
    """Where the variant's first period falls in the base's horizon (a variant may start later or earlier)."""
    if variant.periods[0] in base.period_index:
        return base.period_index[variant.periods[0]]
    if base.periods[0] in variant.period_index:
        return -variant.period_index[base.periods[0]]
    return 0  # no period in common: compare by position


def compare(base: tuple[Scenario, Plan], variants: list[tuple[Scenario, Plan]]) -> Comparison:
    """Every variant against the base: headline figures, and the initiative-level diff with reasons."""
    return Comparison(
        base=outcome(*base),
        variants=[
            Variant(outcome=outcome(*variant), changes=changes(base, variant) if base[1].status.found and variant[1].status.found else [])
            for variant in variants
        ],
    )
