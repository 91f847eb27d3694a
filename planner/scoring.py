"""Value of an initiative under the scenario's scoring framework.

Value is the framework's numerator only: effort is charged through capacity, so dividing by it as well
would count it twice. The familiar ratio scores (RICE score, WSJF) are still computed for reports and for
the rank-ordered baseline that spreadsheets use.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from decimal import ROUND_HALF_EVEN, Decimal

from planner.scenario import Initiative, Objective, Policies, Scenario, Scoring

VALUE_SCALE = 1000  # the objective counts value in exact thousandths


def improvement(objective: Objective, before: float, after: float) -> float:
    """How much better `after` is than `before`: more value, or fewer periods under makespan (negative: worse)."""
    return before - after if objective is Objective.makespan else after - before


def initiative_value(initiative: Initiative, policies: Policies) -> float:
    """Value if delivered in the first period: explicit `value`, else the framework's numerator, else 0."""
    if initiative.value is not None:
        return initiative.value
    framework = policies.scoring
    if framework is Scoring.rice and initiative.rice:
        return initiative.rice.reach * initiative.rice.impact * combined_confidence(initiative.rice.confidence, policies)
    if framework is Scoring.ice and initiative.ice:
        return initiative.ice.impact * combined_confidence(initiative.ice.confidence, policies)
    if framework is Scoring.wsjf and initiative.wsjf:
        w = initiative.wsjf
        return w.business_value + w.time_criticality + w.risk_reduction
    if framework is Scoring.weighted and initiative.weighted:
        return sum(policies.weights.get(c, 0.0) * score for c, score in initiative.weighted.items())
    if framework is Scoring.moscow and initiative.moscow:
        return policies.moscow_weights.get(initiative.moscow, 0.0)
    return 0.0


def combined_confidence(confidence: float | Mapping[str, float], policies: Policies) -> float:
    """One confidence from a number or from named factors, by `policies.confidence_rule`: their mean,
    product or minimum (for AI work: how strong the hypothesis is, whether the data exists, how proven the
    approach is)."""
    if not isinstance(confidence, Mapping):
        return confidence
    factors = list(confidence.values())
    if policies.confidence_rule == "product":
        return math.prod(factors)
    if policies.confidence_rule == "min":
        return min(factors)
    return math.fsum(factors) / len(factors)


def ratio_score(initiative: Initiative, policies: Policies) -> float:
    """The familiar ranking score: value per unit of effort (ICE: impact x confidence x ease)."""
    if policies.scoring is Scoring.ice and initiative.ice and initiative.value is None:
        return initiative.ice.impact * combined_confidence(initiative.ice.confidence, policies) * initiative.ice.ease
    size = float(initiative.total_effort)
    if policies.scoring is Scoring.wsjf and initiative.wsjf and initiative.wsjf.job_size and initiative.value is None:
        size = initiative.wsjf.job_size
    return initiative_value(initiative, policies) / size if size > 0 else 0.0


def decayed_value(initiative: Initiative, policies: Policies, finish: int) -> int:
    """Thousandths of value the initiative earns when it finishes in period index `finish` (first = 0).

    Worth `value x (1 - value_decay_per_period) ** finish`, rounded half-even to 0.001: this rounding is
    part of the definition, so every backend and the plan checker count exactly the same objective.
    """
    value = Decimal(repr(initiative_value(initiative, policies)))
    keep = 1 - Decimal(repr(policies.value_decay_per_period))
    return int((value * keep**finish * VALUE_SCALE).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def finish_value(scenario: Scenario, initiative: Initiative, finish: int) -> int:
    """Thousandths of value the initiative counts in the objective when it finishes in period index `finish`:
    its decayed value (`decayed_value`), less its `cost_of_delay` for each period after the first and its
    `due.late_cost` for each period after its due period, each rounded half-even to 0.001 like the rest."""
    value = decayed_value(initiative, scenario.policies, finish)
    if initiative.cost_of_delay:
        value -= thousandths(initiative.cost_of_delay) * finish
    if initiative.due is not None:
        value -= thousandths(initiative.due.late_cost) * max(0, finish - scenario.period_index[initiative.due.period])
    return value


def synergy_value(scenario: Scenario, scheduled: Collection[str]) -> int:
    """Thousandths of value the synergies earn (or cost) whose initiatives are all scheduled."""
    return sum(thousandths(s.value) for s in scenario.synergies if all(i in scheduled for i in s.ids))


def outcome_totals(scenario: Scenario, scheduled: Collection[str]) -> dict[str, int]:
    """Thousandths of each KPI (every one an initiative moves or a target names) the scheduled initiatives deliver."""
    totals = dict.fromkeys(sorted({k for i in scenario.initiatives for k in i.outcomes} | set(scenario.policies.targets)), 0)
    for initiative in scenario.initiatives:
        if initiative.id in scheduled:
            for kpi, amount in initiative.outcomes.items():
                totals[kpi] += thousandths(amount)
    return totals


def thousandths(amount: float) -> int:
    """An amount of value in whole thousandths, rounded half-even: how the objective counts it."""
    return int((Decimal(repr(amount)) * VALUE_SCALE).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def stability_cost(policies: Policies, previous: int | None, start: int | None) -> int:
    """Thousandths of value a plan gives up for changing one initiative of the previous plan.

    `previous` and `start` are period offsets from the horizon's start (None: not in that plan).
    Leaving out what the previous plan scheduled costs `drop_cost`; starting it elsewhere costs
    `move_cost` per period moved; work the previous plan left out costs nothing either way.
    """
    if previous is None:
        return 0
    stability = policies.stability
    if start is None:
        cost = Decimal(repr(stability.drop_cost))
    else:
        cost = Decimal(repr(stability.move_cost)) * abs(start - previous)
    return int((cost * VALUE_SCALE).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
