"""What-if edits of a scenario: the changes an explanation re-solves to prove what it says.

Each edit returns a new, validated `Scenario` (scenarios are immutable), built from the scenario's own
data the way a user would have written the change: a business rule (`planner.rules.Rule`) dropped, a
deadline moved, capacity added to one team in one period, a value changed.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from planner.quantities import plain_number
from planner.rules import Rule, RuleKind
from planner.scenario import Scenario

HUNDREDTH = Decimal("0.01")

GUARDRAILS = frozenset(
    {
        RuleKind.invisible_floor,
        RuleKind.invisible_cap,
        RuleKind.team_invisible_floor,
        RuleKind.theme_min_share,
        RuleKind.theme_max_share,
        RuleKind.reserve,
        RuleKind.allocation_floor,
    }
)
"""The kinds of rule `without_policies` drops: floors, caps, theme shares and allocations."""


def policy_rules(scenario: Scenario) -> list[Rule]:
    """The guardrails whose price a plan can be asked for: floors, caps, theme shares, mandatory and committed work,
    and the bounds of choices."""
    policy = scenario.policies.invisible_work
    rules = []
    if policy.min_share:
        rules.append(Rule(kind=RuleKind.invisible_floor, limit=str(policy.min_share)))
    if policy.max_share is not None:
        rules.append(Rule(kind=RuleKind.invisible_cap, limit=str(policy.max_share)))
    rules += [Rule(kind=RuleKind.team_invisible_floor, team=t, limit=str(s)) for t, s in policy.team_min_share.items() if s]
    for theme, bounds in scenario.policies.themes.items():
        if bounds.min_share is not None:
            rules.append(Rule(kind=RuleKind.theme_min_share, theme=theme, limit=str(bounds.min_share)))
        if bounds.max_share is not None:
            rules.append(Rule(kind=RuleKind.theme_max_share, theme=theme, limit=str(bounds.max_share)))
    for i in scenario.initiatives:
        if i.mandatory:
            rules.append(Rule(kind=RuleKind.mandatory, initiative=i.id))
        if i.committed:
            rules.append(Rule(kind=RuleKind.committed, initiative=i.id, period=i.committed))
    rules += _allocation_rules(scenario, soft=False)
    rules += [Rule(kind=RuleKind.target, group=kpi, limit=f"{target:g}") for kpi, target in scenario.policies.targets.items()]
    for choice in scenario.choices:
        if choice.min:
            rules.append(Rule(kind=RuleKind.choice_min, group=choice.id, limit=str(choice.min)))
        if choice.max is not None and choice.max < len(choice.of):
            rules.append(Rule(kind=RuleKind.choice_max, group=choice.id, limit=str(choice.max)))
    return rules


def edited(scenario: Scenario, change: Callable[[dict[str, Any]], None]) -> Scenario:
    """The scenario with `change` applied to its data, validated again."""
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    change(data)
    return Scenario.model_validate(data)


# The initiative's field that makes each rule about one initiative.
_INITIATIVE_FIELD = {RuleKind.mandatory: "mandatory", RuleKind.committed: "committed", RuleKind.deadline: "deadline"}


def _initiative(data: dict[str, Any], initiative_id: str) -> dict[str, Any]:
    return next(i for i in data["initiatives"] if i["id"] == initiative_id)


def _is_allocation(data: dict[str, Any], rule: Rule) -> bool:
    """The allocation (as written) a reserve or floor rule is about: by its name and its mode, since a
    reserve and a floor of the same kinds share a default name."""
    mode = "reserve" if rule.kind is RuleKind.reserve else "floor"
    return (data.get("id") or "+".join(data["kinds"])) == rule.group and data.get("mode", "reserve") == mode


def without(scenario: Scenario, rule: Rule) -> Scenario:
    """The scenario without one policy rule (a floor, cap, share bound, mandatory flag, committed start or a choice's bound)."""

    def change(data: dict[str, Any]) -> None:
        policies = data.setdefault("policies", {})
        invisible = policies.setdefault("invisible_work", {})
        if rule.kind is RuleKind.invisible_floor:
            invisible.pop("min_share", None)
        elif rule.kind is RuleKind.invisible_cap:
            invisible.pop("max_share", None)
        elif rule.kind is RuleKind.team_invisible_floor:
            invisible.get("team_min_share", {}).pop(rule.team, None)
        elif rule.kind in (RuleKind.theme_min_share, RuleKind.theme_max_share):
            bounds = policies["themes"][rule.theme]
            bounds.pop("min_share" if rule.kind is RuleKind.theme_min_share else "max_share", None)
        elif rule.kind in _INITIATIVE_FIELD:
            assert rule.initiative is not None, f"a {rule.kind.value} rule names its initiative"
            initiative = _initiative(data, rule.initiative)
            initiative.pop(_INITIATIVE_FIELD[rule.kind], None)
            if rule.kind is RuleKind.mandatory and initiative.get("moscow") == "must":
                initiative["moscow"] = "should"  # a must is mandatory: made optional, it is a should
            if rule.kind is RuleKind.mandatory and "in_progress" in initiative:
                initiative["in_progress"]["may_stop"] = True  # work under way is mandatory unless it may stop
        elif rule.kind in (RuleKind.reserve, RuleKind.allocation_floor):
            policies["allocations"] = [a for a in policies["allocations"] if not _is_allocation(a, rule)]
        elif rule.kind is RuleKind.target:
            policies["targets"].pop(rule.group, None)
        elif rule.kind in (RuleKind.choice_min, RuleKind.choice_max):
            choice = next(c for c in data["choices"] if c["id"] == rule.group)
            choice.pop("min" if rule.kind is RuleKind.choice_min else "max", None)
            if "min" not in choice and "max" not in choice:
                data["choices"].remove(choice)
        else:
            raise ValueError(f"a {rule.kind.value} rule cannot be dropped from a scenario; add capacity instead")

    return edited(scenario, change)


def guardrails(scenario: Scenario) -> list[Rule]:
    """Every rule `without_policies` drops, each of which `without` drops alone: the hard guardrails among
    `policy_rules`, and the soft allocations (a penalty in the objective, not a rule a plan must keep, yet
    one that may keep work out as surely)."""
    return [r for r in policy_rules(scenario) if r.kind in GUARDRAILS] + _allocation_rules(scenario, soft=True)


def _allocation_rules(scenario: Scenario, *, soft: bool) -> list[Rule]:
    """The hard (or the soft) allocations with a share, each as the rule that names it: a reserve or a floor."""
    return [
        Rule(kind=RuleKind.reserve if a.mode.value == "reserve" else RuleKind.allocation_floor, group=a.name, limit=str(a.share))
        for a in scenario.policies.allocations
        if a.share and (a.soft is not None) == soft
    ]


def without_policies(scenario: Scenario) -> Scenario:
    """The scenario without invisible-work floors and caps, theme share bounds and allocations."""

    def change(data: dict[str, Any]) -> None:
        policies = data.setdefault("policies", {})
        invisible = policies.setdefault("invisible_work", {})
        for key in ("min_share", "max_share", "team_min_share"):
            invisible.pop(key, None)
        policies.pop("themes", None)
        policies.pop("allocations", None)

    return edited(scenario, change)


def with_capacity(scenario: Scenario, extra: dict[tuple[str, str], Decimal]) -> Scenario:
    """The scenario with `extra` capacity added per (team, period label)."""
    index = scenario.period_index

    def change(data: dict[str, Any]) -> None:
        for team in data["teams"]:
            cells = {k: amount for (t, label), amount in extra.items() if t == team["id"] for k in [index[label]]}
            if cells:
                capacity = scenario.capacity(team["id"])
                team["capacity"] = [plain_number(c + cells.get(k, Decimal(0))) for k, c in enumerate(capacity)]

    return edited(scenario, change)


def with_capacity_scaled(scenario: Scenario, factor: Decimal, team: str | None = None) -> Scenario:
    """The scenario with one team's capacity (or every team's, for None) times `factor` in every period,
    to the hundredth of a unit (the finest amount a scenario holds)."""

    def change(data: dict[str, Any]) -> None:
        for t in data["teams"]:
            if team is None or t["id"] == team:
                t["capacity"] = [plain_number((c * factor).quantize(HUNDREDTH, ROUND_HALF_EVEN)) for c in scenario.capacity(t["id"])]

    return edited(scenario, change)


def with_initiative(scenario: Scenario, initiative_id: str, **fields: Any) -> Scenario:
    """The scenario with fields of one initiative set (None removes a field), e.g. `value=42` or `deadline="2027-Q2"`."""

    def change(data: dict[str, Any]) -> None:
        initiative = _initiative(data, initiative_id)
        for key, value in fields.items():
            if value is None:
                initiative.pop(key, None)
            else:
                initiative[key] = value

    return edited(scenario, change)


def with_policy(scenario: Scenario, rule: Rule, limit: Decimal) -> Scenario:
    """The scenario with a floor, cap or share bound set to `limit`."""

    def change(data: dict[str, Any]) -> None:
        policies = data.setdefault("policies", {})
        invisible = policies.setdefault("invisible_work", {})
        value = plain_number(limit)
        if rule.kind is RuleKind.invisible_floor:
            invisible["min_share"] = value
        elif rule.kind is RuleKind.invisible_cap:
            invisible["max_share"] = value
        elif rule.kind is RuleKind.team_invisible_floor:
            invisible.setdefault("team_min_share", {})[rule.team] = value
        elif rule.kind is RuleKind.theme_min_share:
            policies["themes"][rule.theme]["min_share"] = value
        elif rule.kind is RuleKind.theme_max_share:
            policies["themes"][rule.theme]["max_share"] = value
        elif rule.kind in (RuleKind.reserve, RuleKind.allocation_floor):
            next(a for a in policies["allocations"] if _is_allocation(a, rule))["share"] = value
        else:
            raise ValueError(f"a {rule.kind.value} rule has no share to set")

    return edited(scenario, change)
