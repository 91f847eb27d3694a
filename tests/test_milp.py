"""The MILP backend solves the CP-SAT model: the same proven optimum, the same infeasibility, valid plans.

Two independent solvers proving the same integer objective is the strongest check either model gets:
a constraint one of them drops or miscounts shows up as a different optimum or as a plan the solver-free
checker rejects.
"""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

import pulp
import pytest
from hypothesis import HealthCheck, given, settings

from planner import load_scenario
from planner.plan import Plan, PlanStatus, SolveSettings
from planner.scenario import Scenario
from solver import milp
from solver.cpsat import solve_cpsat
from solver.milp import solve_milp
from tests.factories import BUNDLED, scenario_data
from tests.solving import verified
from tests.strategies import scenarios

CPSAT = SolveSettings(workers=1, seed=0, time_limit=20)
PULP = SolveSettings(backend="pulp", time_limit=20)
FOUND = (PlanStatus.optimal, PlanStatus.feasible)
BUNDLED_SCENARIOS = sorted(BUNDLED.glob("*.yaml"))


def both(scenario: Scenario) -> tuple[Plan, Plan]:
    return solve_cpsat(scenario, CPSAT), solve_milp(scenario, PULP)


@lru_cache(maxsize=None)
def bundled(path: Path) -> tuple[Scenario, Plan, Plan]:
    scenario = load_scenario(path)
    return (scenario, *both(scenario))


def decisions(plan: Plan) -> dict[str, tuple[str, list[str]]]:
    return {s.id: (s.start, [need.team for need in s.needs]) for s in plan.scheduled}


def assert_the_backends_agree(scenario: Scenario, cpsat: Plan, mip: Plan) -> None:
    """Both plans pass the checker; where both prove optimality the objectives are equal, exactly;
    where both answer, they agree on whether any plan exists."""
    verified(scenario, cpsat)
    verified(scenario, mip)
    if cpsat.status is PlanStatus.optimal and mip.status is PlanStatus.optimal:
        assert mip.objective == cpsat.objective
    answered = (*FOUND, PlanStatus.infeasible)
    if cpsat.status in answered and mip.status in answered:
        assert (mip.status is PlanStatus.infeasible) == (cpsat.status is PlanStatus.infeasible)


# --- bundled scenarios ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", BUNDLED_SCENARIOS, ids=lambda p: p.stem)
def test_every_bundled_scenario_gets_the_same_answer_from_both_backends(path):
    _, cpsat, mip = bundled(path)
    assert mip.status is cpsat.status
    assert mip.status in (PlanStatus.optimal, PlanStatus.infeasible)
    assert mip.objective == cpsat.objective


@pytest.mark.parametrize("path", BUNDLED_SCENARIOS, ids=lambda p: p.stem)
def test_every_bundled_plan_of_both_backends_passes_the_checker(path):
    scenario, cpsat, mip = bundled(path)
    verified(scenario, cpsat)
    verified(scenario, mip)


def test_a_proven_milp_plan_is_its_own_best_bound():
    _, _, mip = bundled(BUNDLED / "acme-2027.yaml")
    assert mip.status is PlanStatus.optimal
    assert (mip.best_bound, mip.gap) == (mip.objective, 0.0)
    assert mip.backend == "pulp"


def test_the_message_names_the_solver_that_proved_the_plan():
    _, _, mip = bundled(BUNDLED / "acme-2027.yaml")
    solver = "HiGHS" if pulp.HiGHS(msg=False).available() or pulp.HiGHS_CMD(msg=False).available() else "CBC"
    assert mip.message == f"{solver}: proven optimal"


# --- makespan ---------------------------------------------------------------------------------------


def test_makespan_mode_finds_the_same_fewest_periods():
    scenario = Scenario.model_validate(scenario_data(policies={"objective": "makespan"}))
    cpsat, mip = both(scenario)
    assert_the_backends_agree(scenario, cpsat, mip)
    # promo depends on signup, so it cannot finish before the second quarter
    assert (mip.status, mip.objective) == (PlanStatus.optimal, 2.0)


def test_makespan_mode_schedules_every_initiative():
    scenario = Scenario.model_validate(scenario_data(policies={"objective": "makespan"}))
    mip = solve_milp(scenario, PULP)
    assert sorted(decisions(mip)) == ["cdn", "promo", "signup"]
    assert mip.not_scheduled == []


def test_makespan_mode_is_infeasible_when_a_dependency_chain_outlasts_the_horizon():
    data = scenario_data(policies={"objective": "makespan"})
    data["horizon"]["periods"] = 1
    data["teams"][1]["capacity"] = [4]
    scenario = Scenario.model_validate(data)
    cpsat, mip = both(scenario)
    assert cpsat.status is PlanStatus.infeasible
    assert mip.status is PlanStatus.infeasible


# --- decisions and names ----------------------------------------------------------------------------


def test_ids_that_differ_only_in_dash_and_underscore_stay_distinct():
    data = scenario_data()
    data["initiatives"] = [
        {"id": "cdn-move", "title": "CDN move", "effort": {"ops": 2}, "value": 3},
        {"id": "cdn_move", "title": "CDN move, again", "effort": {"ops": 2}, "value": 4},
    ]
    scenario = Scenario.model_validate(data)
    mip = verified(scenario, solve_milp(scenario, PULP))
    assert sorted(decisions(mip)) == ["cdn-move", "cdn_move"]


def test_a_skill_need_is_carried_by_one_qualified_team():
    data = scenario_data()
    data["teams"].append({"id": "web-2", "capacity": 10, "skills": ["frontend"]})
    data["initiatives"] = [
        {"id": f"page-{n}", "title": f"Page {n}", "needs": [{"skill": "frontend", "effort": 10}], "value": 5, "deadline": "2027-Q1"}
        for n in range(2)
    ]
    scenario = Scenario.model_validate(data)
    cpsat, mip = both(scenario)
    assert_the_backends_agree(scenario, cpsat, mip)
    # each team has room for one page in Q1, so both are scheduled only by using both teams
    assert sorted(team for _, teams in decisions(mip).values() for team in teams) == ["web", "web-2"]


def test_forcing_out_mandatory_work_is_infeasible_for_both_backends():
    data = scenario_data()
    data["initiatives"][0]["mandatory"] = True
    scenario = Scenario.model_validate(data)
    forced = {"force_out": ["signup"]}
    assert solve_cpsat(scenario, CPSAT.model_copy(update=forced)).status is PlanStatus.infeasible
    assert solve_milp(scenario, PULP.model_copy(update=forced)).status is PlanStatus.infeasible


def test_the_tie_break_prefers_earlier_starts_like_cpsat():
    # Without decay, signup's value does not depend on when it runs: only the tie-break picks Q1.
    scenario = Scenario.model_validate(scenario_data())
    cpsat, mip = both(scenario)
    assert decisions(mip) == decisions(cpsat)
    assert decisions(mip)["signup"][0] == "2027-Q1"


# --- what a solver's answer proves ------------------------------------------------------------------


class _StoppedWithASolution(pulp.PULP_CBC_CMD):
    """CBC as PuLP reports it when its time limit stops it holding an integer solution."""

    def actualSolve(self, lp, **kwargs):
        super().actualSolve(lp, **kwargs)
        lp.assignStatus(pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible)
        return lp.status


class _InfeasibleAfterTheLimit(pulp.PULP_CBC_CMD):
    """CBC 2.10 saying "Integer infeasible" because its time limit cut its preprocessing short."""

    def actualSolve(self, lp, **kwargs):
        super().actualSolve(lp, **kwargs)
        time.sleep(0.05)
        lp.assignStatus(pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible)
        return lp.status


def test_a_solution_found_before_the_time_limit_is_feasible_not_optimal(monkeypatch):
    monkeypatch.setattr(milp, "_solver", lambda settings, limit: ("CBC", _StoppedWithASolution(msg=False)))
    scenario = Scenario.model_validate(scenario_data())
    plan = verified(scenario, solve_milp(scenario, PULP))
    assert plan.status is PlanStatus.feasible
    assert plan.best_bound is None  # CBC through PuLP exposes no bound
    assert plan.message == "CBC: the 20 s time limit came before a proof of optimality"


def test_an_infeasibility_claimed_after_the_time_limit_is_unknown(monkeypatch):
    monkeypatch.setattr(milp, "_solver", lambda settings, limit: ("CBC", _InfeasibleAfterTheLimit(msg=False)))
    scenario = Scenario.model_validate(scenario_data())
    plan = solve_milp(scenario, PULP.model_copy(update={"time_limit": 0.01}))
    assert plan.status is PlanStatus.unknown
    assert plan.scheduled == []


# --- generated scenarios ----------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_generated_scenarios_get_the_same_answer_from_both_backends(data):
    scenario = Scenario.model_validate(data)
    assert_the_backends_agree(scenario, *both(scenario))


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_initiatives=5))
def test_generated_makespan_scenarios_get_the_same_answer_from_both_backends(data):
    data["policies"]["objective"] = "makespan"
    scenario = Scenario.model_validate(data)
    assert_the_backends_agree(scenario, *both(scenario))
