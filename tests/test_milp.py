"""The MILP backend solves the CP-SAT model: the same proven optimum, the same infeasibility, valid plans.

Two independent solvers proving the same integer objective is the strongest check either model gets:
a constraint one of them drops or miscounts shows up as a different optimum or as a plan the solver-free
checker rejects. Every agreement test runs once with CBC and once with HiGHS, so the MILP is checked
against CP-SAT by two solvers as well.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pulp
import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

from api.cli import main
from planner import load_scenario
from planner.errors import PlannerError
from planner.plan import Plan, PlanStatus, SolveSettings
from planner.scenario import Scenario
from solver import milp
from solver.cpsat import solve_cpsat
from solver.milp import solve_milp
from tests.factories import BUNDLED, REFERENCE, scenario_data
from tests.solving import verified
from tests.strategies import scenarios

CPSAT = SolveSettings(workers=1, seed=0, time_limit=20)
FOUND = (PlanStatus.optimal, PlanStatus.feasible)
BUNDLED_SCENARIOS = sorted(BUNDLED.glob("*.yaml"))
SOLVER_NAME = {"cbc": "CBC", "highs": "HiGHS"}
each_milp_solver = pytest.mark.parametrize("milp_solver", sorted(SOLVER_NAME))


def solved_by_milp(scenario: Scenario, milp_solver: str, **settings: object) -> Plan:
    """The MILP backend's plan with this solver, verified by the checker."""
    options = {"backend": "pulp", "milp_solver": milp_solver, "time_limit": 20} | settings
    return verified(scenario, solve_milp(scenario, SolveSettings(**options)))


def both(scenario: Scenario, milp_solver: str) -> tuple[Plan, Plan]:
    return verified(scenario, solve_cpsat(scenario, CPSAT)), solved_by_milp(scenario, milp_solver)


@cache
def bundled(path: Path) -> tuple[Scenario, Plan]:
    scenario = load_scenario(path)
    return scenario, verified(scenario, solve_cpsat(scenario, CPSAT))


@cache
def bundled_milp(path: Path, milp_solver: str) -> Plan:
    scenario, _ = bundled(path)
    return solved_by_milp(scenario, milp_solver)


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


@each_milp_solver
@pytest.mark.parametrize("path", BUNDLED_SCENARIOS, ids=lambda p: p.stem)
def test_every_bundled_scenario_gets_the_same_answer_from_both_backends(path, milp_solver):
    _, cpsat = bundled(path)
    mip = bundled_milp(path, milp_solver)
    assert mip.status is cpsat.status
    assert mip.status in (PlanStatus.optimal, PlanStatus.infeasible)
    assert mip.objective == cpsat.objective


@each_milp_solver
def test_a_proven_milp_plan_is_its_own_best_bound(milp_solver):
    mip = bundled_milp(REFERENCE, milp_solver)
    assert mip.status is PlanStatus.optimal
    assert (mip.best_bound, mip.gap) == (mip.objective, 0.0)
    assert mip.backend == "pulp"


@each_milp_solver
def test_the_message_names_the_solver_that_proved_the_plan(milp_solver):
    assert bundled_milp(REFERENCE, milp_solver).message == f"{SOLVER_NAME[milp_solver]}: proven optimal"


# --- choosing the solver ----------------------------------------------------------------------------


def _without_highs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pulp.HiGHS, "available", lambda self: False)


def _without_cbc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(milp, "_cbc_path", lambda: "/nonexistent/cbc")


def test_auto_chooses_highs_when_it_is_installed():
    scenario = Scenario.model_validate(scenario_data())
    assert solved_by_milp(scenario, "auto").message == "HiGHS: proven optimal"


def test_auto_falls_back_to_cbc_without_highs(monkeypatch):
    _without_highs(monkeypatch)
    scenario = Scenario.model_validate(scenario_data())
    assert solved_by_milp(scenario, "auto").message == "CBC: proven optimal"


@pytest.mark.parametrize(("milp_solver", "uninstall", "package"), [("highs", _without_highs, "highspy"), ("cbc", _without_cbc, "cbcbox")])
def test_asking_for_a_solver_that_is_not_installed_says_which_and_what_to_install(monkeypatch, milp_solver, uninstall, package):
    uninstall(monkeypatch)
    scenario = Scenario.model_validate(scenario_data())
    with pytest.raises(PlannerError, match=f"^the {milp_solver} MILP solver is not installed: install {package} ") as raised:
        solve_milp(scenario, SolveSettings(backend="pulp", milp_solver=milp_solver))
    assert f"pip install 'pulp[{milp_solver}]'" in str(raised.value)


def test_the_cli_reports_a_missing_solver_on_stderr_and_exits_1(monkeypatch, capsys):
    _without_highs(monkeypatch)
    code = main(["solve", str(REFERENCE), "--backend", "pulp", "--milp-solver", "highs", "--format", "json"])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.startswith("planner: the highs MILP solver is not installed")
    assert "Traceback" not in err


def test_an_unknown_solver_choice_is_rejected_with_the_choices():
    with pytest.raises(ValidationError, match="'auto', 'highs' or 'cbc'"):
        SolveSettings(backend="pulp", milp_solver="gurobi")


# --- makespan ---------------------------------------------------------------------------------------


@each_milp_solver
def test_makespan_mode_finds_the_same_fewest_periods(milp_solver):
    scenario = Scenario.model_validate(scenario_data(policies={"objective": "makespan"}))
    cpsat, mip = both(scenario, milp_solver)
    assert_the_backends_agree(scenario, cpsat, mip)
    # promo depends on signup, so it cannot finish before the second quarter
    assert (mip.status, mip.objective) == (PlanStatus.optimal, 2.0)


@each_milp_solver
def test_makespan_mode_schedules_every_initiative(milp_solver):
    scenario = Scenario.model_validate(scenario_data(policies={"objective": "makespan"}))
    mip = solved_by_milp(scenario, milp_solver)
    assert sorted(decisions(mip)) == ["cdn", "promo", "signup"]
    assert mip.not_scheduled == []


@each_milp_solver
def test_makespan_mode_is_infeasible_when_a_dependency_chain_outlasts_the_horizon(milp_solver):
    data = scenario_data(policies={"objective": "makespan"})
    data["horizon"]["periods"] = 1
    data["teams"][1]["capacity"] = [4]
    scenario = Scenario.model_validate(data)
    cpsat, mip = both(scenario, milp_solver)
    assert cpsat.status is PlanStatus.infeasible
    assert mip.status is PlanStatus.infeasible


@each_milp_solver
@pytest.mark.parametrize("objective", ["value", "makespan"])
def test_a_scenario_with_nothing_to_schedule_gets_an_empty_plan(milp_solver, objective):
    # The theme bound has no effort to weigh: its row is `0 >= 0`, which the solver must never see.
    scenario = Scenario.model_validate(scenario_data(initiatives=[], policies={"objective": objective, "themes": {"growth": {"min_share": 0.1}}}))
    mip = solved_by_milp(scenario, milp_solver)
    assert (mip.status, mip.scheduled) == (PlanStatus.optimal, [])


# --- decisions and names ----------------------------------------------------------------------------


@each_milp_solver
def test_ids_that_differ_only_in_dash_and_underscore_stay_distinct(milp_solver):
    data = scenario_data()
    data["initiatives"] = [
        {"id": "cdn-move", "title": "CDN move", "effort": {"ops": 2}, "value": 3},
        {"id": "cdn_move", "title": "CDN move, again", "effort": {"ops": 2}, "value": 4},
    ]
    scenario = Scenario.model_validate(data)
    mip = solved_by_milp(scenario, milp_solver)
    assert sorted(decisions(mip)) == ["cdn-move", "cdn_move"]


@each_milp_solver
def test_a_skill_need_is_carried_by_one_qualified_team(milp_solver):
    data = scenario_data()
    data["teams"].append({"id": "web-2", "capacity": 10, "skills": ["frontend"]})
    data["initiatives"] = [
        {"id": f"page-{n}", "title": f"Page {n}", "needs": [{"skill": "frontend", "effort": 10}], "value": 5, "deadline": "2027-Q1"} for n in range(2)
    ]
    scenario = Scenario.model_validate(data)
    cpsat, mip = both(scenario, milp_solver)
    assert_the_backends_agree(scenario, cpsat, mip)
    # each team has room for one page in Q1, so both are scheduled only by using both teams
    assert sorted(team for _, teams in decisions(mip).values() for team in teams) == ["web", "web-2"]


@each_milp_solver
def test_forcing_out_mandatory_work_is_infeasible_for_both_backends(milp_solver):
    data = scenario_data()
    data["initiatives"][0]["mandatory"] = True
    scenario = Scenario.model_validate(data)
    forced = {"force_out": ["signup"]}
    assert verified(scenario, solve_cpsat(scenario, CPSAT.model_copy(update=forced))).status is PlanStatus.infeasible
    assert solved_by_milp(scenario, milp_solver, **forced).status is PlanStatus.infeasible


@each_milp_solver
def test_the_tie_break_prefers_earlier_starts_like_cpsat(milp_solver):
    # Without decay, signup's value does not depend on when it runs: only the tie-break picks Q1.
    scenario = Scenario.model_validate(scenario_data())
    cpsat, mip = both(scenario, milp_solver)
    assert decisions(mip) == decisions(cpsat)
    assert decisions(mip)["signup"][0] == "2027-Q1"


# --- what a solver's answer proves ------------------------------------------------------------------


def _reporting(status: int, sol_status: int, after: float = 0.0) -> Callable[[SolveSettings, float], tuple[str, pulp.LpSolver]]:
    """`milp._solver`, with a solver that solves for real and then, `after` seconds later, reports this
    status: how PuLP reports a solver that the time limit stopped."""
    choose = milp._solver

    def chosen(settings: SolveSettings, limit: float) -> tuple[str, pulp.LpSolver]:
        name, solver = choose(settings, limit)
        solve = solver.actualSolve

        def stopped(lp: pulp.LpProblem, **kwargs: Any) -> int:
            solve(lp, **kwargs)
            time.sleep(after)
            lp.assignStatus(status, sol_status)
            return lp.status

        solver.actualSolve = stopped  # type: ignore[method-assign]
        return name, solver

    return chosen


@each_milp_solver
def test_a_solution_found_before_the_time_limit_is_feasible_not_optimal(monkeypatch, milp_solver):
    # Both solvers report LpStatusOptimal then; only the solution status says the plan is not proven.
    monkeypatch.setattr(milp, "_solver", _reporting(pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible))
    scenario = Scenario.model_validate(scenario_data())
    plan = solved_by_milp(scenario, milp_solver)
    assert plan.status is PlanStatus.feasible
    assert plan.message == f"{SOLVER_NAME[milp_solver]}: the 20 s search limit came before a proof of optimality"


def test_cbc_stopped_by_the_time_limit_gives_no_bound(monkeypatch):
    monkeypatch.setattr(milp, "_solver", _reporting(pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible))
    scenario = Scenario.model_validate(scenario_data())
    assert solved_by_milp(scenario, "cbc").best_bound is None  # CBC through PuLP exposes no bound


@pytest.mark.parametrize("objective", ["value", "makespan"])
def test_highs_stopped_by_the_time_limit_gives_its_own_bound_in_the_plans_units(monkeypatch, objective):
    # The solve itself ran to optimality, so HiGHS's dual bound is the proven objective: read back with
    # the wrong sign or scale, it would not be.
    monkeypatch.setattr(milp, "_solver", _reporting(pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible))
    scenario = Scenario.model_validate(scenario_data(policies={"objective": objective}))
    plan = solved_by_milp(scenario, "highs")
    assert plan.status is PlanStatus.feasible
    assert plan.best_bound == plan.objective
    assert plan.objective == verified(scenario, solve_cpsat(scenario, CPSAT)).objective


@each_milp_solver
def test_an_infeasibility_claimed_after_the_time_limit_is_unknown(monkeypatch, milp_solver):
    # CBC 2.10 says "Integer infeasible" when its time limit cuts its preprocessing short.
    monkeypatch.setattr(milp, "_solver", _reporting(pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible, after=0.05))
    scenario = Scenario.model_validate(scenario_data())
    plan = solved_by_milp(scenario, milp_solver, time_limit=0.01)
    assert plan.status is PlanStatus.unknown
    assert plan.scheduled == []


# --- generated scenarios ----------------------------------------------------------------------------


@each_milp_solver
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_generated_scenarios_get_the_same_answer_from_both_backends(milp_solver, data):
    scenario = Scenario.model_validate(data)
    assert_the_backends_agree(scenario, *both(scenario, milp_solver))


@each_milp_solver
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_initiatives=5))
def test_generated_makespan_scenarios_get_the_same_answer_from_both_backends(milp_solver, data):
    data["policies"]["objective"] = "makespan"
    data.pop("previous_plan", None)  # re-planning charges value, and makespan has none
    scenario = Scenario.model_validate(data)
    assert_the_backends_agree(scenario, *both(scenario, milp_solver))


def test_highs_starts_from_the_baseline_so_a_short_limit_never_returns_less_than_it():
    # Before, PuLP handed HiGHS no start: in one second it returned 392 where the baseline it held had 2,320.
    from bench.generate import portfolio
    from solver import solve
    from solver.greedy import greedy_plan

    s = Scenario.model_validate(portfolio(200, 10, 8, seed=1))
    baseline = verified(s, greedy_plan(s))
    plan = verified(s, solve(s, SolveSettings(backend="pulp", milp_solver="highs", time_limit=1, workers=1)))
    assert plan.status.found and plan.objective >= baseline.objective
