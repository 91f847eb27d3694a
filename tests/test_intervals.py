"""CP-SAT's interval model (`solver/intervals.py`) holds the same rules as the Boolean model for the
scheduling scenarios it covers: on random ones both give the same status and makespan, and the interval
model's plans pass the solver-free checker."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from planner import load_scenario
from planner.plan import PlanStatus, SolveSettings
from planner.scenario import Scenario
from solver.cpsat import solve_cpsat
from solver.intervals import covers
from tests.factories import REFERENCE
from tests.solving import verified
from tests.strategies import scenarios
from tests.test_solver import scenario, work

ONE_WORKER = SolveSettings(workers=1, seed=0, time_limit=20)


def scheduling(data: dict[str, Any]) -> dict[str, Any]:
    """The scenario as a scheduling problem: makespan, no guardrails, no choice between initiatives."""
    policies = data.setdefault("policies", {})
    for key in ("invisible_work", "themes", "allocations", "targets"):
        policies.pop(key, None)
    policies["objective"] = "makespan"
    data.pop("previous_plan", None)
    data.pop("choices", None)
    for initiative in data["initiatives"]:
        for key in ("excludes", "depends_on_any", "in_progress", "moscow"):
            initiative.pop(key, None)
    return data


@settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_periods=8, max_initiatives=7))
def test_random_scheduling_scenarios_get_the_same_makespan_from_both_models(data):
    s = Scenario.model_validate(scheduling(data))
    assert covers(s, ONE_WORKER)
    interval = verified(s, solve_cpsat(s, ONE_WORKER))
    boolean = verified(s, solve_cpsat(s, ONE_WORKER, intervals=False))
    assert (interval.status, interval.objective) == (boolean.status, boolean.objective)
    if interval.status is PlanStatus.optimal:
        assert interval.best_bound == interval.objective


def test_work_with_uneven_loads_and_a_skill_need_fits_each_period_and_a_qualified_team():
    data = scenario(
        work("a", {"web": 10}, duration=3),  # 3.34, 3.33, 3.33 a period
        work("b", {"web": 7}, duration=1, depends_on=["a"]),
        periods=6,
        teams=[{"id": "web", "capacity": 10, "skills": ["backend"]}, {"id": "api", "capacity": 4, "skills": ["backend"]}],
        objective="makespan",
    )
    data["initiatives"].append({"id": "c", "title": "c", "needs": [{"skill": "backend", "effort": 8}], "duration": 2})
    s = Scenario.model_validate(data)
    assert covers(s, ONE_WORKER)
    plan = verified(s, solve_cpsat(s, ONE_WORKER))
    assert plan.status is PlanStatus.optimal
    assert plan.objective == verified(s, solve_cpsat(s, ONE_WORKER, intervals=False)).objective


def test_only_scheduling_scenarios_are_given_the_interval_model():
    assert not covers(load_scenario(REFERENCE), ONE_WORKER)  # value, floors, shares, choices
    data = scheduling(scenario(work("a", {"web": 2}), periods=2))
    assert covers(Scenario.model_validate(data), ONE_WORKER)
    data["policies"]["invisible_work"] = {"min_share": 0.1}
    assert not covers(Scenario.model_validate(data), ONE_WORKER)  # a floor needs to know which period a load falls in
    assert not covers(Scenario.model_validate(scheduling(scenario(work("a", {"web": 2}), periods=2))), ONE_WORKER.model_copy(update={"force_out": ["a"]}))
