"""The one vocabulary of rules: model rows, checker violations, diagnosis entries and the docs share it.

A rule is named by its kind and the domain ids it is about, `capacity[web, 2027-Q1]`: the constraint
model names its rows this way (`solver.formulation`), the solver-free checker names what a plan breaks
this way (`planner.check`), and a diagnosis lists the business rules that cannot all hold this way.
"""

from __future__ import annotations

from enum import Enum

from pydantic import Field

from planner.scenario import Frozen, Initiative


class RuleKind(str, Enum):
    """Every kind of rule a plan must keep, by the name the model, the checker and the docs use."""

    # The decisions themselves.
    one_start = "one_start"  # an initiative starts at most once
    needs = "needs"  # each need is carried by the team it names, or by exactly one team with its skill
    horizon = "horizon"  # it runs inside the planning horizon
    duration = "duration"  # it runs for exactly its duration
    # Work that must be scheduled, and when (a diagnosis lists its rules in this order).
    mandatory = "mandatory"  # a mandatory initiative is scheduled
    committed = "committed"  # it starts in the period it was committed to (and so is scheduled)
    in_progress = "in_progress"  # work under way continues from the first period
    deadline = "deadline"  # it finishes by its deadline period
    earliest_start = "earliest_start"  # it starts no earlier than its earliest start
    required = "required"  # in makespan mode every initiative is scheduled
    force_in = "force_in"  # an initiative the solve was asked to include (`--force-in`)
    force_out = "force_out"  # an initiative the solve was asked to leave out (`--force-out`)
    # The scenario's constraints.
    capacity = "capacity"  # a team's load in a period stays within its capacity
    depends_on = "depends_on"  # a dependent starts after each prerequisite finishes
    depends_on_any = "depends_on_any"  # a dependent starts after at least one of its alternative prerequisites finishes
    excludes = "excludes"  # of two initiatives that exclude each other, at most one is scheduled
    choice_min = "choice_min"  # at least `min` of a choice's options are scheduled
    choice_max = "choice_max"  # at most `max` of a choice's options are scheduled
    wont = "wont"  # a won't-have initiative (MoSCoW) is not scheduled
    target = "target"  # policies.targets[kpi]: the scheduled initiatives' outcomes add up to at least it
    synergy = "synergy"  # a synergy's value is earned exactly when all its initiatives are scheduled (objective only)
    invisible_floor = "invisible_floor"  # policies.invisible_work.min_share, per period
    invisible_cap = "invisible_cap"  # policies.invisible_work.max_share, per period
    team_invisible_floor = "team_invisible_floor"  # policies.invisible_work.team_min_share[team], per period
    theme_min_share = "theme_min_share"  # policies.themes[theme].min_share, over the horizon
    theme_max_share = "theme_max_share"  # policies.themes[theme].max_share, over the horizon
    reserve = "reserve"  # work of other kinds leaves a reserve's share of a team's capacity free, per period
    allocation_floor = "allocation_floor"  # listed work of a floor's kinds takes at least its share, per period or over the horizon
    # What only a plan file can get wrong: its figures disagree with its decisions or its scenario.
    unknown_initiative = "unknown_initiative"  # it schedules an id the scenario does not have
    load = "load"  # an item's load per team and period is not what its effort and start give
    report = "report"  # utilisation, the required flags or the lists of work disagree with the decisions
    objective = "objective"  # the objective is not what the decisions are worth
    stability = "stability"  # the changes to the previous plan, or their cost, are misreported
    status = "status"  # a plan without a solution lists scheduled work


FIGURES = frozenset({RuleKind.load, RuleKind.report, RuleKind.objective, RuleKind.stability})
"""Rules about what a plan reports rather than what it decides: a plan checked against a scenario that
has changed since (`planner check --plan`) may break these and still be a plan that fits."""


def rule_name(kind: RuleKind | str, *ids: str | None) -> str:
    """`capacity[web, 2027-Q1]`: the kind, then the ids the rule is about (those that are None left out)."""
    kind = kind.value if isinstance(kind, RuleKind) else kind
    named = [i for i in ids if i is not None]
    return f"{kind}[{', '.join(named)}]" if named else kind


def pair(a: str, b: str) -> tuple[str, str]:
    """The two initiatives of an exclusion, in the order rules name them (`excludes[cdn, cdn-lite]`): id order,
    so that the rule has one name whichever side lists the other."""
    return (a, b) if a <= b else (b, a)


def need_name(initiative: Initiative, n: int) -> str:
    """How rules name an initiative's n-th need: its skill, or the team it names; with the need's number
    after a dot when the initiative has two needs of that skill or team (`ml.2`), so every name is its own."""
    needs = initiative.all_needs
    label = needs[n].skill or needs[n].team or ""
    if sum(1 for other in needs if (other.skill or other.team) == label) > 1:
        return f"{label}.{n + 1}"
    return label


class Rule(Frozen):
    """One business rule of a scenario, named by the ids it is about."""

    kind: RuleKind
    initiative: str | None = Field(default=None, description="The initiative a mandatory, committed or deadline rule is about.")
    team: str | None = Field(default=None, description="The team of a capacity rule or a team floor.")
    theme: str | None = Field(default=None, description="The theme of a share bound.")
    group: str | None = Field(default=None, description="The choice, allocation or KPI a rule is about.")
    period: str | None = Field(default=None, description="The period of a capacity rule, a deadline or a committed start.")
    limit: str | None = Field(default=None, description="The rule's number as the scenario writes it (a share, a capacity).")

    @property
    def name(self) -> str:
        """`capacity[web, 2027-Q1]`, `deadline[feature-store, 2027-Q2]`, `choice_max[fraud-pivot]`, `invisible_floor`."""
        return rule_name(self.kind, self.initiative, self.team, self.theme, self.group, self.period)
