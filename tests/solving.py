"""Solve helpers for tests: every plan a test sees is re-verified by the solver-free checker."""

from __future__ import annotations

from typing import Any

from planner.check import check_plan, score_plan
from planner.plan import Plan, PlanStatus, SolveSettings
from planner.scenario import Scenario
from solver import solve


def verified(scenario: Scenario, plan: Plan) -> Plan:
    """The plan, after asserting it keeps every rule and reports the objective its decisions are worth."""
    violations = check_plan(scenario, plan)
    assert violations == [], "\n".join(map(str, violations))
    assert plan.objective == score_plan(scenario, plan)
    if plan.status is PlanStatus.optimal and plan.best_bound is not None and plan.objective is not None:
        assert abs(plan.best_bound - plan.objective) < 1e-6
    return plan


def solved(data: dict[str, Any] | Scenario, **settings: Any) -> Plan:
    """Solve with one worker and a fixed seed (reproducible), and verify the plan."""
    scenario = data if isinstance(data, Scenario) else Scenario.model_validate(data)
    options = {"workers": 1, "seed": 0, "time_limit": 20.0} | settings
    return verified(scenario, solve(scenario, SolveSettings(**options)))


def starts(plan: Plan) -> dict[str, str]:
    """Initiative id -> start period label, for the scheduled ones."""
    return {s.id: s.start for s in plan.scheduled}
