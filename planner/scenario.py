"""The scenario: what a planner user writes by hand (see scenarios/acme-2027.yaml).

Every model is frozen and forbids unknown keys. The `Scenario` validates itself once, as a whole
(references, cycles, windows, policies: see `planner.validation`); nothing downstream re-checks or
patches its input.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    Tag,
    WithJsonSchema,
    model_validator,
)

from planner.errors import ScenarioError
from planner.periods import Granularity, period_labels, period_offset
from planner.quantities import MAX_VALUE, Amount, Effort, EstimatedValue, Share, plain_number, three_points


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


_ID = StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")

TeamId = Annotated[str, _ID, Field(description="A team's id, e.g. `platform`.")]
ThemeId = Annotated[str, _ID, Field(description="A theme's id, e.g. `trust`.")]
InitiativeId = Annotated[str, _ID, Field(description="An initiative's id, e.g. `feature-store`.")]
ChoiceId = Annotated[str, _ID, Field(description="A choice's id, e.g. `fraud-pivot`.")]
KpiId = Annotated[str, _ID, Field(description="A business KPI, e.g. `conversion` or `fraud_loss_avoided`.")]
_Outcome = Annotated[float, Field(ge=-MAX_VALUE, le=MAX_VALUE, allow_inf_nan=False)]
Skill = Annotated[str, _ID, Field(description="A skill name, e.g. `ml`.")]


def _period_label(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        raise ValueError(f"{value} is a date; refer to periods by label, like 2027-Q2 or 2027-06")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # sprints may be written as bare numbers
    return value


PeriodLabel = Annotated[
    str,
    BeforeValidator(_period_label),
    StringConstraints(min_length=1, max_length=40),
    Field(description="A period label of the horizon, e.g. `2027-Q2`, `2027-06`, `2027-W14`, `S7`."),
]


class Horizon(Frozen):
    """The run of periods being planned."""

    start: PeriodLabel = Field(description="Label of the first period, e.g. `2027-Q1`.")
    periods: int = Field(ge=1, le=520, description="Number of periods in the horizon.")
    granularity: Granularity = Field(default=Granularity.quarter, description="quarter | month | sprint | week.")

    @cached_property
    def labels(self) -> tuple[str, ...]:
        return tuple(period_labels(self.start, self.periods, self.granularity))


def _capacity_form(value: Any) -> str:
    if isinstance(value, list):
        return "per_period"
    if isinstance(value, dict):
        return "by_period"
    return "constant"


def _plain_capacity(value: Decimal | list[Decimal] | dict[str, Decimal]) -> Any:
    if isinstance(value, list):
        return [plain_number(v) for v in value]
    if isinstance(value, dict):
        return {label: plain_number(v) for label, v in value.items()}
    return plain_number(value)


Capacity = Annotated[
    Annotated[Amount, Tag("constant")] | Annotated[list[Amount], Tag("per_period")] | Annotated[dict[str, Amount], Tag("by_period")],
    # Dispatch on the shape the user wrote, so an error speaks of that shape only.
    Discriminator(_capacity_form),
    # Serialise the union as a whole: pydantic's tagged-union serialiser skips the members' own serialisers.
    PlainSerializer(_plain_capacity),
]


def _in_order(points: Any) -> Any:
    """A model of `low`, `likely` and `high`, once they are in that order."""
    if not points.low <= points.likely <= points.high:
        raise ValueError(f"needs low <= likely <= high, got {points.low:g}, {points.likely:g}, {points.high:g}")
    return points


class ThreePoint(Frozen):
    """A share estimated as `{low, likely, high}`, each between 0 and 1."""

    low: float = Field(ge=0, le=1, allow_inf_nan=False)
    likely: float = Field(ge=0, le=1, allow_inf_nan=False)
    high: float = Field(ge=0, le=1, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> ThreePoint:
        return _in_order(self)


class Multipliers(Frozen):
    """`estimate: {low, high}`: how far an initiative's efforts may fall short of or run past what is written."""

    low: float = Field(gt=0, le=100, allow_inf_nan=False, description="The effort times this, at best (0.8: a fifth less).")
    likely: float = Field(default=1, gt=0, le=100, allow_inf_nan=False, description="Usually 1: the efforts as written.")
    high: float = Field(gt=0, le=100, allow_inf_nan=False, description="The effort times this, at worst (1.6: 60% more).")

    @model_validator(mode="after")
    def _ordered(self) -> Multipliers:
        return _in_order(self)


def _value(value: Any) -> float | None:
    if value is None or isinstance(value, EstimatedValue):
        return value
    if isinstance(value, dict):
        low, likely, high = three_points(value, _one_value, "value")
        return likely if low == likely == high else EstimatedValue(likely, low, high)
    return _one_value(value)


def _one_value(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"a value must be a number, got {value!r}")
    try:
        number = float(value)  # a string too, as YAML 1.1 reads `1e300`
    except ValueError:
        raise ValueError(f"a value must be a number, got {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"a value must be a finite number, got {value!r}")
    if number < 0:
        raise ValueError(f"a value must be at least 0, got {value}")
    if number > MAX_VALUE:
        raise ValueError(f"a value must be at most {MAX_VALUE}, got {value}")
    return number


def _plain_value(value: float | None) -> Any:
    if isinstance(value, EstimatedValue):
        return {"low": value.low, "likely": value.likely, "high": value.high}
    return value


EstimatedValueField = Annotated[
    float | None,
    PlainValidator(_value),
    PlainSerializer(_plain_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": MAX_VALUE},
                {
                    "type": "object",
                    "properties": {k: {"type": "number", "minimum": 0, "maximum": MAX_VALUE} for k in ("low", "likely", "high")},
                    "required": ["low", "likely", "high"],
                    "additionalProperties": False,
                },
                {"type": "null"},
            ]
        }
    ),
]


class Team(Frozen):
    """A team and its roadmap capacity per period (after on-call and support)."""

    id: TeamId
    name: str | None = Field(default=None, description="Display name; the id when omitted.")
    capacity: Capacity = Field(
        description="In the scenario's unit per period: one number for every period, a list with one "
        "number per period, or a mapping `{default: n, <period>: n}`."
    )
    skills: list[Skill] = Field(default_factory=list, description="Skills this team can serve in `needs`.")
    availability: ThreePoint | None = Field(
        default=None,
        description="`{low, likely, high}` shares of its capacity that materialise (holidays, incidents, on-call), for the simulation; the plan uses all of it.",
    )

    @property
    def display_name(self) -> str:
        return self.name or self.id


class Theme(Frozen):
    """A strategic theme initiatives belong to; policies may bound its share of effort."""

    id: ThemeId
    name: str | None = Field(default=None, description="Display name; the id when omitted.")
    description: str | None = Field(default=None, description="What the theme is about.")


class Need(Frozen):
    """Effort an initiative needs from one named team, or from any one team with a skill."""

    team: TeamId | None = Field(default=None, description="The team that must do this work.")
    skill: Skill | None = Field(default=None, description="Any one team with this skill may do this work.")
    effort: Effort = Field(description="Total effort in the scenario's unit, spread evenly over the duration; or `{low, likely, high}`, planned at likely.")

    @model_validator(mode="after")
    def _one_of_team_or_skill(self) -> Need:
        if (self.team is None) == (self.skill is None):
            raise ValueError("a need names either a team or a skill (not both, not neither)")
        return self


_Score = Annotated[float, Field(ge=0, allow_inf_nan=False)]
_Confidence = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


def _confidence_form(value: Any) -> str:
    return "factors" if isinstance(value, dict) else "number"


Confidence = Annotated[
    Annotated[_Confidence, Tag("number")] | Annotated[dict[Annotated[str, _ID], _Confidence], Field(min_length=1), Tag("factors")],
    Discriminator(_confidence_form),  # an error speaks of the form written, a number or named factors
    Field(
        description="0 to 1, or named factors each 0 to 1, e.g. `{hypothesis: 0.7, data_availability: 0.8, proven_approach: 0.3}`, "
        "combined by `policies.confidence_rule`."
    ),
]


class RiceInputs(Frozen):
    """RICE: value = reach x impact x confidence (effort is charged through capacity, not divided in)."""

    reach: _Score = Field(description="People reached per period, in any consistent unit.")
    impact: _Score = Field(description="Impact per person (e.g. 0.25, 0.5, 1, 2, 3).")
    confidence: Confidence


class IceInputs(Frozen):
    """ICE: value = impact x confidence; ease only enters the familiar ratio score."""

    impact: _Score = Field(description="Impact score.")
    confidence: Confidence
    ease: _Score = Field(default=1, description="Ease score (the inverse of effort), for the ratio score.")


class WsjfInputs(Frozen):
    """WSJF: value = cost of delay = business value + time criticality + risk reduction."""

    business_value: _Score = Field(description="User or business value.")
    time_criticality: _Score = Field(default=0, description="How fast value decays with delay.")
    risk_reduction: _Score = Field(default=0, description="Risk reduction or opportunity enablement.")
    job_size: _Score | None = Field(default=None, description="Job size for the ratio score; total effort when omitted.")


class InProgress(Frozen):
    """Work already under way: it continues from the first period with only what is left of it."""

    remaining: dict[TeamId, Amount] = Field(min_length=1, description="Effort left per team, spread over `periods`.")
    periods: int = Field(default=1, ge=1, description="The first periods of the horizon it occupies.")
    may_stop: bool = Field(default=False, description="Stopping it is a choice the plan may make (and reports); else it is scheduled.")


class Due(Frozen):
    """A soft deadline: finishing later is allowed, at a cost per period late."""

    period: PeriodLabel = Field(description="Finished by the end of this period, or it costs `late_cost` per period after it.")
    late_cost: float = Field(ge=0, le=MAX_VALUE, allow_inf_nan=False, description="Value lost per period it finishes after `period`.")


class MoSCoW(str, Enum):
    """MoSCoW priority: must is mandatory, won't is never scheduled; should and could are valued by
    `policies.moscow_weights` under `scoring: moscow`, and are labels under any other scoring."""

    must = "must"
    should = "should"
    could = "could"
    wont = "wont"


class Initiative(Frozen):
    """A piece of work competing for capacity: a feature or invisible work."""

    id: InitiativeId
    title: str = Field(min_length=1, description="What the initiative is, in a few words.")
    kind: str = Field(
        default="feature",
        min_length=1,
        description="feature, tech_debt, compliance, fairness_audit, infrastructure, or any other word.",
    )
    theme: ThemeId | None = Field(default=None, description="The theme it serves.")
    description: str | None = Field(default=None, description="Longer notes.")
    effort: dict[TeamId, Effort] = Field(
        default_factory=dict, description="Total effort per team, spread evenly over the duration; each may be `{low, likely, high}`, planned at likely."
    )
    needs: list[Need] = Field(default_factory=list, description="Long form of effort: per team or per skill.")
    duration: int = Field(default=1, ge=1, description="Consecutive periods the work occupies.")
    value: EstimatedValueField = Field(default=None, description="Explicit value; overrides the scoring inputs. `{low, likely, high}`: planned at likely.")
    estimate: Multipliers | None = Field(
        default=None, description="`{low, high}` (likely 1): multipliers of all its efforts, for the simulation; the plan uses the efforts as written."
    )
    success: float = Field(
        default=1,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="The probability that it delivers its value at all (the data exists, the model reaches its metric); its effort is spent either way.",
    )
    rice: RiceInputs | None = Field(default=None, description="RICE inputs (policies.scoring: rice).")
    ice: IceInputs | None = Field(default=None, description="ICE inputs (policies.scoring: ice).")
    wsjf: WsjfInputs | None = Field(default=None, description="WSJF inputs (policies.scoring: wsjf).")
    weighted: dict[str, _Score] | None = Field(default=None, description="Scores per criterion (policies.scoring: weighted, with policies.weights).")
    mandatory: bool = Field(default=False, description="Must be scheduled (`moscow: must` says the same, and so does `in_progress` unless it may stop).")
    moscow: MoSCoW | None = Field(default=None, description="must | should | could | wont: must is mandatory, won't is never scheduled.")
    deadline: PeriodLabel | None = Field(default=None, description="Finished by the end of this period.")
    due: Due | None = Field(default=None, description="A soft deadline: `{period, late_cost}`; `deadline` stays hard.")
    cost_of_delay: float | None = Field(
        default=None,
        ge=0,
        le=MAX_VALUE,
        allow_inf_nan=False,
        description="Value lost per period its finish is later than the first period (its own decay, beside `policies.value_decay_per_period`).",
    )
    earliest_start: PeriodLabel | None = Field(default=None, description="Starts in this period or later.")
    committed: PeriodLabel | None = Field(default=None, description="Promised in an earlier plan: scheduled, starting in this period.")
    in_progress: InProgress | None = Field(
        default=None, description="Work already under way: `{remaining: {team: effort}, periods, may_stop}`; it continues from the first period."
    )
    depends_on: list[InitiativeId] = Field(default_factory=list, description="Prerequisites: each finishes before this one starts.")
    outcomes: dict[KpiId, _Outcome] = Field(
        default_factory=dict, description="What it moves each business KPI by when delivered, e.g. `{conversion: 0.4}`; the plan totals them."
    )
    depends_on_any: list[InitiativeId] = Field(
        default_factory=list, description="Alternative prerequisites: at least one of them is scheduled and finishes before this one starts."
    )
    excludes: list[InitiativeId] = Field(default_factory=list, description="Alternatives: at most one of this and each of these is scheduled.")

    @model_validator(mode="before")
    @classmethod
    def _must_is_mandatory(cls, data: Any) -> Any:
        """`moscow: must` means mandatory, and so does work under way that may not stop, so every rule about
        mandatory work holds for them; work under way runs its `periods` unless `duration` says otherwise.
        Saying these differently is an error (`planner.validation`)."""
        if not isinstance(data, dict):
            return data
        if "mandatory" not in data:
            under_way = data.get("in_progress")
            must_continue = isinstance(under_way, dict) and not under_way.get("may_stop", False)
            if data.get("moscow") == MoSCoW.must.value or must_continue:
                data = {**data, "mandatory": True}
        if isinstance(data.get("in_progress"), dict) and "duration" not in data and isinstance(data["in_progress"].get("periods", 1), int):
            data = {**data, "duration": data["in_progress"].get("periods", 1)}
        return data

    @property
    def wont(self) -> bool:
        """MoSCoW's won't have: never scheduled."""
        return self.moscow is MoSCoW.wont

    @cached_property
    def all_needs(self) -> tuple[Need, ...]:
        """The short form (`effort`) and the long form (`needs`) as one list of needs; for work under way,
        what is left of it (`in_progress.remaining`), which is all a plan schedules."""
        if self.in_progress is not None:
            return tuple(Need(team=team, effort=amount) for team, amount in self.in_progress.remaining.items())
        return tuple(Need(team=team, effort=amount) for team, amount in self.effort.items()) + tuple(self.needs)

    @property
    def total_effort(self) -> Decimal:
        return sum((need.effort for need in self.all_needs), Decimal(0))


class Synergy(Frozen):
    """Initiatives worth more (or, with a negative value, costing more) together than apart."""

    id: Annotated[str, _ID] | None = Field(default=None, description="A name for reports; the ids joined by `+` when omitted.")
    ids: list[InitiativeId] = Field(min_length=2, description="The initiatives: the plan earns `value` when it schedules every one of them.")
    value: float = Field(ge=-MAX_VALUE, le=MAX_VALUE, allow_inf_nan=False, description="Value earned when all are scheduled; negative for a combined cost.")

    @property
    def name(self) -> str:
        return self.id or "+".join(self.ids)


class Scoring(str, Enum):
    rice = "rice"
    ice = "ice"
    wsjf = "wsjf"
    weighted = "weighted"
    moscow = "moscow"
    value = "value"


class Choice(Frozen):
    """A choice between options: at least `min` and at most `max` of the initiatives in `of` are scheduled.
    `min: 1, max: 1` is "exactly one of" (a pivot between A, B and C)."""

    id: ChoiceId
    of: list[InitiativeId] = Field(min_length=2, description="The options: initiative ids.")
    min: int = Field(default=0, ge=0, description="At least this many of them are scheduled.")
    max: int | None = Field(default=None, ge=0, description="At most this many (no limit when omitted).")


class ExpectedStatus(str, Enum):
    feasible = "feasible"  # a plan, optimal or not
    optimal = "optimal"
    infeasible = "infeasible"


class Objective(str, Enum):
    value = "value"
    makespan = "makespan"


DEFAULT_INVISIBLE_KINDS = ("tech_debt", "compliance", "fairness_audit", "infrastructure")


class SoftFloor(Frozen):
    """A floor that may be missed at a price instead of making the scenario infeasible."""

    penalty: Annotated[Decimal, PlainSerializer(plain_number, return_type=float)] = Field(
        ge=0,
        le=MAX_VALUE,
        decimal_places=1,
        description="Value lost per unit of effort short of the floor (to 0.1: the objective counts thousandths of value per hundredth of effort).",
    )


class AllocationMode(str, Enum):
    reserve = "reserve"
    floor = "floor"


class Allocation(Frozen):
    """A share of capacity for some kinds of work: set aside (`reserve`) or a minimum (`floor`).

    reserve: `share` of each listed team's capacity (every team when `teams` is absent), in every period
    (or in those of `periods`), is kept for work of the kinds. Other work cannot use it; listed work of the kinds uses it first and may
    use the rest of the capacity too; what listed work leaves is for unlisted work (bugs, upgrades, paper
    cuts), and the plan reports it. Never infeasible on its own.
    floor: at least `share` of the listed teams' combined capacity goes to listed work of the kinds, in
    every period (`over: period`) or over the horizon in all (`over: horizon`, which lumpy work can meet).
    With `soft`, a shortfall costs `soft.penalty` per unit of effort instead of making the scenario infeasible.
    """

    id: Annotated[str, _ID] | None = Field(default=None, description="A name for the rules and reports; the kinds joined by `+` when omitted.")
    kinds: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(min_length=1, description="The kinds of work it is for.")
    share: Share = Field(description="The share of capacity, 0 to 1.")
    mode: AllocationMode = Field(default=AllocationMode.reserve, description="reserve (default) or floor.")
    over: Literal["period", "horizon"] = Field(default="period", description="floor: every period, or the horizon in all.")
    teams: list[TeamId] | None = Field(default=None, description="The teams whose capacity it takes a share of; all when omitted.")
    soft: SoftFloor | None = Field(default=None, description="floor: missing it costs value instead of being infeasible.")
    periods: list[PeriodLabel] | None = Field(default=None, min_length=1, description="reserve: the periods it is kept in; every period when omitted.")

    @property
    def name(self) -> str:
        return self.id or "+".join(self.kinds)

    def share_in(self, period: str) -> Decimal:
        """The share it keeps in a period: `share`, or 0 outside its `periods`."""
        return self.share if self.periods is None or period in self.periods else Decimal(0)


class InvisibleWorkPolicy(Frozen):
    """Guardrails for the work that keeps systems healthy and keeps losing to visible features."""

    kinds: list[str] = Field(
        default_factory=lambda: list(DEFAULT_INVISIBLE_KINDS),
        description="Initiative kinds that count as invisible work.",
    )
    min_share: Share = Field(default=Decimal(0), description="Floor, as a share of the organisation's capacity, every period.")
    max_share: Share | None = Field(default=None, description="Cap, as a share of the organisation's capacity, every period.")
    team_min_share: dict[TeamId, Share] = Field(default_factory=dict, description="Floor per team, as a share of that team's capacity, every period.")


class ThemeShare(Frozen):
    """Bounds on a theme's share of all effort scheduled over the horizon."""

    min_share: Share | None = Field(default=None, description="At least this share of scheduled effort.")
    max_share: Share | None = Field(default=None, description="At most this share of scheduled effort.")


class Stability(Frozen):
    """What re-planning against `previous_plan` charges for changing it, in the scenario's value units."""

    move_cost: float = Field(
        default=1,
        ge=0,
        le=MAX_VALUE,
        allow_inf_nan=False,
        description="Value lost per period that an initiative of the previous plan starts earlier or later.",
    )
    drop_cost: float = Field(
        default=5,
        ge=0,
        le=MAX_VALUE,
        allow_inf_nan=False,
        description="Value lost when an initiative of the previous plan is left out.",
    )


class Uncertainty(Frozen):
    """How three-point estimates are drawn (docs/scenario-format.md, "Uncertainty", states the sampling model)."""

    distribution: Literal["pert", "triangular"] = Field(
        default="pert", description="pert: a beta between low and high with its mode at likely (weight 4); triangular: a triangle on the three points."
    )
    correlation: float = Field(
        default=0.5,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="How much an initiative's efforts (and its multiplier) move together: Spearman's rank correlation of any two of its draws "
        "(0: independent, 1: all at the same quantile).",
    )


class Policies(Frozen):
    """How value is scored and which guardrails every plan must respect."""

    scoring: Scoring = Field(default=Scoring.value, description="rice | ice | wsjf | weighted | moscow | value.")
    weights: dict[str, _Score] = Field(default_factory=dict, description="Weight per criterion, for `scoring: weighted`.")
    confidence_rule: Literal["mean", "product", "min"] = Field(
        default="mean", description="How named confidence factors combine into one confidence: their mean, product or minimum."
    )
    moscow_weights: dict[MoSCoW, Annotated[float, Field(ge=0, le=MAX_VALUE, allow_inf_nan=False)]] = Field(
        default_factory=lambda: {MoSCoW.should: 3.0, MoSCoW.could: 1.0},
        description="Value per MoSCoW label, for `scoring: moscow` (must is mandatory and won't is never scheduled: they need none).",
    )
    value_decay_per_period: float = Field(
        default=0,
        ge=0,
        lt=1,
        allow_inf_nan=False,
        description="Delivered one period later = worth this fraction less (0.1 = 10%).",
    )
    invisible_work: InvisibleWorkPolicy = Field(default_factory=InvisibleWorkPolicy, description="Invisible-work floors and caps.")
    uncertainty: Uncertainty = Field(default_factory=lambda: Uncertainty(), description="How the simulation draws the three-point estimates.")
    targets: dict[KpiId, _Outcome] = Field(
        default_factory=dict, description="A hard minimum per KPI: the scheduled initiatives' outcomes add up to at least this."
    )
    allocations: list[Allocation] = Field(
        default_factory=list, description="Shares of capacity set aside for kinds of work (`reserve`), or minimums for them (`floor`)."
    )
    themes: dict[ThemeId, ThemeShare] = Field(default_factory=dict, description="Share bounds per theme id.")
    objective: Objective = Field(
        default=Objective.value,
        description="value: maximise decayed value; makespan: schedule everything as early as possible.",
    )
    stability: Stability = Field(default_factory=Stability, description="Costs of changing the previous plan (with `previous_plan`).")


class Expectations(Frozen):
    """What a plan of this scenario must show: `planner batch` checks it and fails the scenario otherwise.

    Not inherited: an overlay states its own expectations, since its changes are the point of it.
    """

    status: ExpectedStatus = Field(
        default=ExpectedStatus.feasible,
        description="feasible (default: any plan, optimal or not), optimal (proven best within the time limit) or infeasible.",
    )
    scheduled: list[InitiativeId] = Field(default_factory=list, description="Initiatives the plan must schedule.")
    not_scheduled: list[InitiativeId] = Field(default_factory=list, description="Initiatives the plan must leave out.")
    min_value: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="The plan's objective is at least this (value objective: decayed value less any stability cost).",
    )
    max_gap: Share | None = Field(default=None, description="The proven gap to the best bound is at most this share, e.g. 0.01.")
    invisible_share_min: Share | None = Field(default=None, description="Invisible work is at least this share of all capacity over the horizon.")
    deadlines_met: bool | None = Field(default=None, description="true: every initiative with a deadline is scheduled (and so finishes by it).")


class Scenario(Frozen):
    """Teams, capacity, initiatives and policies for one planning horizon."""

    name: str = Field(min_length=1, description="Short name of the scenario.")
    description: str | None = Field(default=None, description="What the scenario is about.")
    horizon: Horizon
    unit: str = Field(default="engineer-weeks", min_length=1, description="Unit of every capacity and effort.")
    teams: list[Team] = Field(min_length=1, description="The teams whose capacity is planned.")
    themes: list[Theme] = Field(default_factory=list, description="Themes initiatives may belong to.")
    policies: Policies = Field(default_factory=Policies, description="Scoring and guardrails.")
    initiatives: list[Initiative] = Field(default_factory=list, description="The work competing for capacity.")
    choices: list[Choice] = Field(default_factory=list, description="Choices between options: how many of a group of initiatives are scheduled.")
    synergies: list[Synergy] = Field(default_factory=list, description="Initiatives worth more (or less) together: value earned when all are scheduled.")
    previous_plan: dict[InitiativeId, PeriodLabel] | None = Field(
        default=None,
        description="The plan being revised: start period per initiative it scheduled. In a file, also the path "
        "of a plan JSON written by `planner solve --format json`, relative to the scenario file.",
    )
    expect: Expectations | None = Field(
        default=None, description="What a plan must show for `planner batch` to pass this scenario; an overlay does not inherit it."
    )

    @model_validator(mode="after")
    def _validate_as_a_whole(self) -> Scenario:
        from planner.validation import find_problems  # validation reads this module's models

        problems = find_problems(self)
        if problems:
            raise ScenarioError(problems)
        return self

    # --- lookups: valid only on a validated scenario ------------------------------------------------

    @property
    def periods(self) -> tuple[str, ...]:
        return self.horizon.labels

    @cached_property
    def period_index(self) -> dict[str, int]:
        return {label: k for k, label in enumerate(self.periods)}

    @cached_property
    def team_by_id(self) -> dict[str, Team]:
        return {team.id: team for team in self.teams}

    @cached_property
    def initiative_by_id(self) -> dict[str, Initiative]:
        return {initiative.id: initiative for initiative in self.initiatives}

    def capacity(self, team_id: str) -> tuple[Decimal, ...]:
        """The team's capacity in each period of the horizon."""
        return self._capacities[team_id]

    @cached_property
    def _capacities(self) -> dict[str, tuple[Decimal, ...]]:
        return {team.id: tuple(capacity_per_period(team.capacity, self.periods)) for team in self.teams}

    @cached_property
    def previous_start(self) -> dict[str, int]:
        """Period offset from the horizon's start (may lie outside it) of each initiative the previous plan scheduled."""
        if not self.previous_plan:
            return {}
        return {i: period_offset(self.horizon.start, label, self.horizon.granularity) for i, label in self.previous_plan.items() if i in self.initiative_by_id}

    def is_invisible(self, initiative: Initiative) -> bool:
        return initiative.kind in self.policies.invisible_work.kinds


def capacity_per_period(capacity: Decimal | list[Decimal] | dict[str, Decimal], periods: tuple[str, ...]) -> list[Decimal]:
    """Expand the three written forms of capacity into one value per period (assumes it was validated)."""
    if isinstance(capacity, Decimal):
        return [capacity] * len(periods)
    if isinstance(capacity, list):
        return list(capacity)
    return [capacity.get(label, capacity.get("default", Decimal(0))) for label in periods]
