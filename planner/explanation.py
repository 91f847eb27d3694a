"""Explanations as data: why each initiative is in, out or late, what would change it, what each policy
costs, and why an infeasible scenario is impossible. Every number here comes from an actual re-solve
(`solver.explain`); words are rendered at the edge (`api.render`).
"""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Any, Literal

from pydantic import Field, field_serializer, model_validator

from planner.quantities import Amount, Share, plain_number
from planner.rules import Rule, RuleKind, pair, rule_name
from planner.scenario import Frozen, InitiativeId, PeriodLabel, TeamId
from planner.settings import PlanStatus, SolveSettings


class Reason(str, Enum):
    """Why an initiative is not scheduled, or later than its earliest possible period."""

    excluded_by = "excluded_by"  # an alternative it excludes is in the plan
    prerequisite_not_scheduled = "prerequisite_not_scheduled"  # something it depends on is not in the plan
    window_too_short = "window_too_short"  # earliest start, duration, prerequisites and deadline/horizon leave no room
    capacity = "capacity"  # displaced by higher-value work on the same teams and periods
    floor_or_share = "floor_or_share"  # without the guardrails named in `blocked_by` a best plan does it: relaxing them changes the decision
    not_worth_it = "not_worth_it"  # it fits, but adds nothing to the objective
    wont_have = "wont_have"  # MoSCoW's won't have: never scheduled
    never_fits = "never_fits"  # in no start of its window does a team have the capacity it needs, with nothing else planned
    choice_full = "choice_full"  # a choice it is an option of has `max` of its options in the plan (`excluded_by` names them)
    search_stopped = "search_stopped"  # the plan is not proven optimal, and a re-solve with it (in, or earlier) found a better one


class Hold(str, Enum):
    """What keeps a scheduled initiative where it is."""

    earliest_start = "earliest_start"  # it starts in the first period its window (or the horizon) allows
    prerequisite = "prerequisite"  # a prerequisite finishes the period before it starts
    committed = "committed"  # its start was committed
    deadline = "deadline"  # it finishes in its deadline period: it cannot go later
    full_team = "full_team"  # a team it needs has too little room left in the period before its start


class Holding(Frozen):
    code: Hold
    prerequisite: InitiativeId | None = None
    team: TeamId | None = None
    period: PeriodLabel | None = None
    room: Amount | None = Field(default=None, description="full_team: capacity left on the team in that period.")
    needed: Amount | None = Field(default=None, description="full_team: what the initiative would need there.")


class Displacement(Frozen):
    """Work that holds the capacity an initiative would need: on which team, in which periods."""

    initiative: InitiativeId
    team: TeamId
    periods: list[PeriodLabel]


class Shortage(Frozen):
    """Why work never fits: in the start of its window that comes closest, what one team lacks in one period,
    with nothing else planned."""

    team: TeamId
    period: PeriodLabel
    needed: Amount = Field(description="What the work needs of the team in that period.")
    available: Amount = Field(description="The team's whole capacity in that period.")


class Move(Frozen):
    id: InitiativeId
    start: PeriodLabel = Field(description="Start in the current plan.")
    to: PeriodLabel = Field(description="Start in the re-solved plan.")


class CapacityCell(Frozen):
    team: TeamId
    period: PeriodLabel
    amount: Amount = Field(description="Extra capacity, in the scenario's unit.")


CounterfactualKind = Literal["force_in", "force_earlier", "force_out", "capacity_to_fit", "value_to_fit"]


class Counterfactual(Frozen):
    """A what-if, answered by an actual re-solve."""

    kind: CounterfactualKind
    status: PlanStatus = Field(description="Status of the re-solve.")
    objective: float | None = Field(description="Objective the re-solve reached.")
    value_lost: float | None = Field(description="Current objective minus the re-solve's (positive = the change costs value).")
    start: PeriodLabel | None = Field(default=None, description="Where the initiative starts in the re-solved plan.")
    added: list[InitiativeId] = Field(default_factory=list, description="Scheduled in the re-solve, not in the plan.")
    dropped: list[InitiativeId] = Field(default_factory=list, description="In the plan, not in the re-solve.")
    moved: list[Move] = Field(default_factory=list, description="In both, at a different start.")
    extra_capacity: list[CapacityCell] = Field(default_factory=list, description="capacity_to_fit: the capacity added.")
    value: float | None = Field(default=None, description="value_to_fit: the value with which it enters the optimal plan.")
    entered: bool | None = Field(default=None, description="capacity_to_fit, value_to_fit: whether the initiative is in the re-solved plan.")
    settings: SolveSettings | None = Field(
        default=None, description="The re-solve's settings: with the change above, `planner solve` reproduces its objective."
    )


class InitiativeExplanation(Frozen):
    id: InitiativeId
    title: str
    scheduled: bool
    start: PeriodLabel | None = None
    finish: PeriodLabel | None = None
    earliest_possible: PeriodLabel | None = Field(
        description="The first period it could start in, from its window and its prerequisites' durations; None if none."
    )
    late_by: int = Field(default=0, description="Periods after its earliest possible start.")
    contributes: float = Field(default=0, description="Value counted in the objective (after decay).")
    reason: Reason | None = Field(default=None, description="Why it is out, or late; None for work on time.")
    held_by: list[Holding] = Field(default_factory=list, description="What keeps a scheduled initiative where it is.")
    excluded_by: list[InitiativeId] = Field(default_factory=list)
    missing_prerequisites: list[InitiativeId] = Field(default_factory=list)
    displaced_by: list[Displacement] = Field(default_factory=list)
    never_fits: Shortage | None = Field(default=None, description="never_fits: what is short, and where.")
    blocked_by: list[Rule] = Field(
        default_factory=list,
        description="floor_or_share: the guardrails without which a best plan does it (in, or earlier), each proven by re-solves; "
        "when none does alone, all of them.",
    )
    blocked_together: bool = Field(default=False, description="No one guardrail blocks it alone: `blocked_by` names them all, which do together.")
    counterfactuals: list[Counterfactual] = Field(default_factory=list)
    rules: list[str] = Field(
        default_factory=list,
        description="The rules the reason rests on, named as the model names its rows and the checker its violations: "
        "`excludes[a, b]`, `depends_on[a, b]`, `capacity[web, 2027-Q1]`. Filled from the fields above when not given.",
    )

    @model_validator(mode="before")
    @classmethod
    def _cite_rules(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("rules") or not isinstance(data.get("id"), str):
            return data
        try:
            i = data["id"]
            rules = [rule_name(RuleKind.excludes, *pair(i, other)) for other in data.get("excluded_by") or []]
            rules += [rule_name(RuleKind.depends_on, i, prerequisite) for prerequisite in data.get("missing_prerequisites") or []]
            short = data.get("never_fits")
            if short is not None:
                short = short.model_dump() if isinstance(short, Shortage) else short
                rules.append(rule_name(RuleKind.capacity, short.get("team"), short.get("period")))
            for displaced in data.get("displaced_by") or []:
                d = displaced.model_dump() if isinstance(displaced, Displacement) else displaced
                rules += [rule_name(RuleKind.capacity, d.get("team"), period) for period in d.get("periods") or []]
        except (TypeError, AttributeError):
            return data  # fields of the wrong shape: field validation reports them, located
        return {**data, "rules": sorted(set(rules), key=rules.index)}


class PolicyCost(Frozen):
    """What honouring one rule costs: the objective without it, by re-solve."""

    rule: Rule
    status: PlanStatus = Field(description="Status of the re-solve without the rule.")
    objective_without: float | None
    cost: float | None = Field(description="Value given up to honour the rule (periods, in makespan mode).")


GuardrailFamily = Literal["floors", "shares", "guardrails"]


class JointCost(Frozen):
    """What honouring a family of guardrails costs together, by one re-solve without all of them: each alone may
    cost nothing (another keeps the same work out) while together they cost a great deal."""

    family: GuardrailFamily = Field(
        description="floors (invisible-work floors, organisation and team, and allocation floors), shares (theme "
        "minimum and maximum shares) or guardrails (every floor, cap, share, reserve and allocation)."
    )
    rules: list[Rule]
    status: PlanStatus = Field(description="Status of the re-solve without them.")
    objective_without: float | None
    cost: float | None = Field(description="Value given up to honour them all (periods, in makespan mode).")


class BindingCapacity(Frozen):
    """A team full in a period, and what one more unit of its capacity there is worth."""

    team: TeamId
    period: PeriodLabel
    capacity: Amount
    marginal_value: float | None = Field(description="Objective gained with one more unit of capacity, by re-solve.")
    method: Literal["re-solve"] = "re-solve"


RepairChange = Literal[
    "extra_capacity",
    "deadline_moved",
    "floor_lowered",
    "cap_raised",
    "share_relaxed",
    "made_optional",
    "commitment_dropped",
    "choice_dropped",
    "target_dropped",
]


class Change(Frozen):
    """One edit of one rule of a scenario, as a repair makes it."""

    rule: Rule
    change: RepairChange
    amount: Share | Amount | None = Field(
        default=None, description="extra_capacity: the capacity added; floor_lowered, cap_raised, share_relaxed: the new share."
    )
    periods: int | None = Field(default=None, description="deadline_moved: periods later.")

    @field_serializer("amount")
    def _number(self, amount: Decimal | None) -> float | None:
        # A plain number either way: the union's own serializer writes a whole amount (2) as the string "2".
        return None if amount is None else plain_number(amount)


class Repair(Change):
    """Changes that make an infeasible scenario feasible, verified by a re-solve: this one, and those in `also`."""

    also: list[Change] = Field(
        default_factory=list,
        description="Further changes made together with this one, one for each other conflict: all of them are needed (and verified) together.",
    )
    status: PlanStatus = Field(description="Status of the verifying re-solve.")
    objective: float | None = Field(description="Objective of the verifying re-solve.")

    @property
    def changes(self) -> list[Change]:
        """Every change the repair makes: this one, then those in `also`."""
        return [Change(rule=self.rule, change=self.change, amount=self.amount, periods=self.periods), *self.also]


class Conflict(Frozen):
    """Rules that cannot all hold, with the repairs of this conflict."""

    rules: list[Rule] = Field(description="They cannot all hold, even with every other rule relaxed; without any one of them, the rest of them can.")
    minimal: bool = Field(description="Every rule was checked by a re-solve: without it the rest of them can all hold.")
    repairs: list[Repair] = Field(
        default_factory=list,
        description="The smallest change to each rule that repairs this conflict: each verified by a re-solve of the scenario "
        "with the other conflicts' rules dropped (with one conflict, of the scenario itself).",
    )


class Unfinished(str, Enum):
    """What a diagnosis did not finish."""

    more_conflicts = "more_conflicts"  # the rules left still cannot all hold: more conflicts exist than are listed, and no repairs were searched
    conflicts = "conflicts"  # time ran out (or a re-solve could not decide) before the rules left were shown to hold together
    repairs = "repairs"  # time ran out before every repair was searched and verified


class Diagnosis(Frozen):
    """Why no plan exists: the conflicts among its rules, and repairs of the whole scenario."""

    conflict: list[Rule] = Field(
        description="The first conflict's rules (`conflicts[0].rules`): they cannot all hold; without any one of them, the rest of them can "
        "(each checked by a re-solve). With several conflicts, dropping them leaves the scenario infeasible."
    )
    minimal: bool = Field(description="Each of the first conflict's rules was checked by a re-solve: without it the rest of them can all hold.")
    repairs: list[Repair] = Field(
        default_factory=list,
        description="Repairs of the whole scenario, each verified by a re-solve of the scenario with all its changes: with several conflicts, "
        "each makes one change per conflict (the first, then `also`).",
    )
    conflicts: list[Conflict] = Field(
        default_factory=list,
        description="Disjoint conflicts: each found with the earlier ones' rules relaxed, and with all of them relaxed the rules left can all "
        "hold (unless `unfinished` says otherwise).",
    )
    unfinished: list[Unfinished] = Field(
        default_factory=list,
        description="What was not finished: `more_conflicts` (more exist than are listed; no repairs were searched), `conflicts` (time ran out before the search for "
        "more ended), `repairs` (time ran out before every repair was searched).",
    )


class Explanation(Frozen):
    """Every explanation of one solved plan."""

    scenario: str
    status: PlanStatus
    objective: float | None
    initiatives: list[InitiativeExplanation] = Field(default_factory=list)
    policy_costs: list[PolicyCost] = Field(default_factory=list)
    joint_costs: list[JointCost] = Field(default_factory=list, description="Each family of two or more guardrails priced together.")
    binding: list[BindingCapacity] = Field(default_factory=list)
    diagnosis: Diagnosis | None = None
    what_ifs: bool = Field(default=False, description="Whether the counterfactuals, policy costs and binding capacity were computed.")
    unexplained: list[InitiativeId] = Field(
        default_factory=list, description="Initiatives not explained before the time ran out, or whose re-solve proved nothing either way."
    )
    unpriced: list[str] = Field(
        default_factory=list, description="Guardrails (rule names) and families of them (floors, shares, guardrails) not priced before the time ran out."
    )
    resolves: int = Field(description="Re-solves run to prove these explanations.")
    seconds: float
