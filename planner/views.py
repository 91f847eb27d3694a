"""One solved plan seen by three audiences: leadership, engineering, and customers.

Each view is data built from the plan, its explanation and the scenario, and holds only what its audience
should see: the public view is built from titles, kinds and periods alone, so nothing internal (values,
capacities, ids, teams, dependencies, invisible work) can reach it. Words are rendered at the edge.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Literal

from pydantic import Field

from planner.explanation import JointCost, PolicyCost, Reason
from planner.plan import Plan
from planner.quantities import Amount
from planner.scenario import Frozen, InitiativeId, MoSCoW, PeriodLabel, Scenario, TeamId
from planner.scoring import combined_confidence
from planner.settings import PlanStatus
from planner.simulation import DEFAULT_SAMPLES, simulate
from planner.uncertainty import uncertain

FULL = 0.95  # utilisation above which a team is a delivery risk: no room for the unplanned


class LeftOut(Frozen):
    id: InitiativeId
    title: str
    mandatory: bool
    moscow: MoSCoW | None = Field(default=None, description="Its MoSCoW label: a won't have is left out by definition.")
    reason: Reason | None = Field(description="From the plan's explanation; None when it was not explained.")


class ConfidenceFactors(Frozen):
    """An initiative whose confidence is named factors (how strong the hypothesis, whether the data exists, ...)."""

    id: InitiativeId
    title: str
    scheduled: bool
    factors: dict[str, float]
    combined: float = Field(description="The confidence the value counts: the factors' mean, product or minimum (policies.confidence_rule).")


class DeadlineRisk(Frozen):
    """Scheduled work that finishes in its deadline period: any slip misses the deadline."""

    id: InitiativeId
    title: str
    deadline: PeriodLabel


class DeliveryConfidence(Frozen):
    """A required item (mandatory or committed) or one with a hard deadline, and how likely it is delivered on time."""

    id: InitiativeId
    title: str
    by: PeriodLabel | None = Field(description="Its deadline; None: within the horizon.")
    confidence: float = Field(description="Share of simulated samples in which it finishes by then.")


class FullTeam(Frozen):
    team: TeamId
    period: PeriodLabel
    utilisation: float


class ExecutiveView(Frozen):
    """Themes, the headline, what was left out and why, the price of each guardrail, and the risks."""

    view: Literal["executive"] = "executive"
    scenario: str
    status: PlanStatus
    objective: float | None
    baseline: float | None = Field(description="The rank-ordered baseline's objective.")
    uplift: float | None
    uplift_share: float | None = Field(description="uplift / |baseline|.")
    gap: float | None
    themes: dict[str, float] = Field(description="Share of scheduled effort per theme.")
    invisible_share: dict[PeriodLabel, float]
    left_out: list[LeftOut]
    guardrails: list[PolicyCost] = Field(description="What each floor, share, mandatory item and commitment costs, by re-solve.")
    guardrails_together: list[JointCost] = Field(
        default_factory=list, description="What each family of guardrails costs together (each alone may cost nothing), by re-solve."
    )
    unpriced: list[str] = Field(default_factory=list, description="Guardrails and families asked for but not priced before the time ran out.")
    deadline_risks: list[DeadlineRisk]
    full_teams: list[FullTeam] = Field(description=f"Teams loaded above {FULL:.0%} of capacity in a period.")
    outcomes: dict[str, float] = Field(default_factory=dict, description="Each business KPI the plan moves, in total.")
    confidence: list[ConfidenceFactors] = Field(default_factory=list, description="The confidence factors of the initiatives that name them.")
    delivery: list[DeliveryConfidence] = Field(
        default_factory=list,
        description="When the scenario has three-point estimates: each required or deadline item's delivery confidence, from the robust plan's "
        f"independent simulation, or from a simulation of {DEFAULT_SAMPLES} samples with the plan's seed.",
    )


class Cell(Frozen):
    """One team in one period: its load against its capacity and the work in it."""

    team: TeamId
    period: PeriodLabel
    capacity: Amount
    load: Amount
    utilisation: float
    initiatives: dict[InitiativeId, Amount] = Field(description="Load per initiative.")
    reserved_left: dict[str, Amount] = Field(
        default_factory=dict, description="Per reserve on the team (policies.allocations): what listed work leaves of it for unlisted work."
    )


class Dependency(Frozen):
    initiative: InitiativeId
    prerequisite: InitiativeId
    slack: int = Field(description="Periods between the prerequisite's finish and the dependent's start.")


class SkillAssignment(Frozen):
    initiative: InitiativeId
    skill: str
    team: TeamId
    effort: Amount


class Binding(Frozen):
    """A team with no room left in a period, and what one more unit there is worth when it was re-solved."""

    team: TeamId
    period: PeriodLabel
    marginal_value: float | None


class EngineeringView(Frozen):
    """Per team and period the load and the work; dependencies, binding constraints and skill assignments."""

    view: Literal["engineering"] = "engineering"
    scenario: str
    status: PlanStatus
    cells: list[Cell]
    dependencies: list[Dependency] = Field(description="Between scheduled initiatives, tightest first.")
    binding: list[Binding] = Field(description="Teams at capacity (utilisation 100%).")
    skill_assignments: list[SkillAssignment]


class RoadmapItem(Frozen):
    title: str
    kind: str


class RoadmapColumn(Frozen):
    label: str = Field(description="A period, or now / next / later when the plan is not proven optimal.")
    items: list[RoadmapItem]


class PublicView(Frozen):
    """A customer-facing roadmap: visible work only, by when it starts; no values, capacities, ids, teams or dependencies."""

    view: Literal["public"] = "public"
    title: str
    columns: list[RoadmapColumn]


View = ExecutiveView | EngineeringView | PublicView
VIEWS = ("executive", "engineering", "public")


def executive(scenario: Scenario, plan: Plan) -> ExecutiveView:
    explained = plan.explanation
    why = plan.reasons()
    by_id = scenario.initiative_by_id
    return ExecutiveView(
        scenario=plan.scenario,
        status=plan.status,
        objective=plan.objective,
        baseline=plan.baseline_objective,
        uplift=plan.uplift,
        uplift_share=plan.uplift_share(),
        gap=plan.gap,
        themes=plan.theme_mix,
        invisible_share=plan.invisible_share,
        left_out=[LeftOut(id=u.id, title=u.title, mandatory=u.mandatory, moscow=u.moscow, reason=why.get(u.id)) for u in plan.not_scheduled]
        if plan.status.found
        else [],
        guardrails=sorted(explained.policy_costs, key=lambda c: -(c.cost or 0)) if explained else [],
        guardrails_together=explained.joint_costs if explained else [],
        unpriced=explained.unpriced if explained else [],
        deadline_risks=[DeadlineRisk(id=s.id, title=s.title, deadline=s.finish) for s in plan.scheduled if by_id[s.id].deadline == s.finish],
        full_teams=[FullTeam(team=u.team, period=u.period, utilisation=u.utilisation) for u in plan.utilisation if u.utilisation > FULL],
        outcomes=plan.outcomes,
        confidence=_confidence_factors(scenario, plan),
        delivery=_delivery(scenario, plan),
    )


def _delivery(scenario: Scenario, plan: Plan) -> list[DeliveryConfidence]:
    """Delivery confidence of the items that must hold, when anything about the scenario is uncertain."""
    if not plan.status.found or not uncertain(scenario):
        return []
    if plan.confidence is not None:
        held = plan.confidence.items
    else:
        held = simulate(scenario, plan, DEFAULT_SAMPLES, plan.settings.seed).held()
    by_id = scenario.initiative_by_id
    return [DeliveryConfidence(id=i, title=by_id[i].title, by=by_id[i].deadline, confidence=c) for i, c in held.items()]


def _confidence_factors(scenario: Scenario, plan: Plan) -> list[ConfidenceFactors]:
    scheduled = {s.id for s in plan.scheduled}
    out = []
    for initiative in scenario.initiatives:
        inputs = initiative.rice or initiative.ice
        if inputs is not None and isinstance(inputs.confidence, dict):
            out.append(
                ConfidenceFactors(
                    id=initiative.id,
                    title=initiative.title,
                    scheduled=initiative.id in scheduled,
                    factors=dict(inputs.confidence),
                    combined=round(combined_confidence(inputs.confidence, scenario.policies), 6),
                )
            )
    return out


def engineering(scenario: Scenario, plan: Plan) -> EngineeringView:
    index = scenario.period_index
    scheduled = plan.scheduled_by_id()
    work: dict[tuple[str, str], dict[str, Decimal]] = {}
    for s in plan.scheduled:
        for team, loads in s.load.items():
            for period, amount in loads.items():
                work.setdefault((team, period), {})[s.id] = amount
    dependencies = [
        Dependency(initiative=s.id, prerequisite=p, slack=index[s.start] - index[scheduled[p].finish] - 1)
        for s in plan.scheduled
        for p in scenario.initiative_by_id[s.id].depends_on
        if p in scheduled
    ]
    marginal = {(b.team, b.period): b.marginal_value for b in plan.explanation.binding} if plan.explanation else {}
    left: dict[tuple[str, str], dict[str, Decimal]] = {}
    for r in plan.reserves:
        left.setdefault((r.team, r.period), {})[r.allocation] = r.left
    return EngineeringView(
        scenario=plan.scenario,
        status=plan.status,
        cells=[
            Cell(
                team=u.team,
                period=u.period,
                capacity=u.capacity,
                load=u.load,
                utilisation=u.utilisation,
                initiatives=work.get((u.team, u.period), {}),
                reserved_left=left.get((u.team, u.period), {}),
            )
            for u in plan.utilisation
        ],
        dependencies=sorted(dependencies, key=lambda d: (d.slack, d.initiative, d.prerequisite)),
        binding=[Binding(team=u.team, period=u.period, marginal_value=marginal.get((u.team, u.period))) for u in plan.utilisation if u.full],
        skill_assignments=[SkillAssignment(initiative=s.id, skill=n.skill, team=n.team, effort=n.effort) for s in plan.scheduled for n in s.needs if n.skill],
    )


def public(scenario: Scenario, plan: Plan) -> PublicView:
    """Visible work by the period it starts in; by now / next / later when the plan is not proven optimal,
    since an unproven plan may still move work between later periods."""
    columns: dict[str, list[RoadmapItem]]
    if plan.status is PlanStatus.optimal:
        columns = {label: [] for label in scenario.periods}
        column_of = {label: label for label in scenario.periods}
    else:
        columns = {"now": [], "next": [], "later": []}
        column_of = {label: ("now", "next")[k] if k < 2 else "later" for k, label in enumerate(scenario.periods)}
    for s in plan.scheduled:
        if not s.invisible:
            columns[column_of[s.start]].append(RoadmapItem(title=s.title, kind=s.kind))
    # The title names the horizon only: a scenario's name or description is written for planners.
    return PublicView(
        title=f"Roadmap {scenario.periods[0]} to {scenario.periods[-1]}", columns=[RoadmapColumn(label=label, items=items) for label, items in columns.items()]
    )


def view(name: str, scenario: Scenario, plan: Plan) -> View:
    views: dict[str, Callable[[Scenario, Plan], View]] = {"executive": executive, "engineering": engineering, "public": public}
    return views[name](scenario, plan)
