"""The time asked is the time taken: how --time-limit is shared between the search and the reasons, what
the reasons do when the time runs out or a re-solve proves nothing, and the plan a solve falls back on.

No test here measures time (STYLE: no timing assertions); each checks what the split decides and what a
user reads in the plan.
"""

from __future__ import annotations

import json
from typing import Any

import pulp
import pytest

import solver.explain
from api.cli import main
from api.render.views import executive_sections
from planner import load_scenario
from planner.explanation import Reason
from planner.plan import Plan, PlanStatus, SolveSettings
from planner.scenario import Scenario
from planner.settings import split_time
from planner.views import executive
from planner.whatif import guardrails
from solver import milp, solve
from solver.greedy import greedy_plan
from tests.factories import BUNDLED, REFERENCE
from tests.solving import solved, verified
from tests.test_solver import scenario, work


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_time_limit_is_shared_a_quarter_for_the_reasons_half_for_an_explanation():
    assert split_time(10, reasons=True).model_dump() == {"total": 10, "search": 7.5, "reasons": 2.5}
    assert split_time(10, reasons=True, explaining=True).model_dump() == {"total": 10, "search": 5, "reasons": 5}
    assert split_time(10, reasons=False).model_dump() == {"total": 10, "search": 10, "reasons": 0}
    assert split_time(10, reasons=True, reasons_time=4).search == 6
    assert split_time(40, reasons=True).resolve == 2.5 and split_time(2, reasons=True).resolve == 1  # a quarter of the reasons', at least 1 s
    with pytest.raises(ValueError, match=r"less than the time limit \(10 s\), which includes the search"):
        split_time(10, reasons=True, reasons_time=10)


def test_a_plan_keeps_the_whole_limit_asked_and_its_message_names_the_searchs_share(capsys):
    code, out, _ = run(capsys, "solve", str(REFERENCE), "--format", "json", "--workers", "1", "--time-limit", "8")
    plan = Plan.model_validate_json(out)
    assert code == 0 and plan.settings.time_limit == 8  # the same command reproduces it
    verified(load_scenario(REFERENCE), plan)
    assert plan.explanation is not None and not plan.explanation.unexplained


def test_reasons_time_must_leave_the_search_some_time_and_have_reasons_to_time(capsys):
    code, _, err = run(capsys, "solve", str(REFERENCE), "--time-limit", "5", "--reasons-time", "5")
    assert code == 2 and "--reasons-time 5: must be less than the time limit (5 s), which includes the search" in err
    code, _, err = run(capsys, "solve", str(REFERENCE), "--reasons-time", "2", "--no-reasons")
    assert code == 2 and "--reasons-time 2: there are no reasons to time with --no-reasons" in err


def test_batch_plans_are_reproducible_by_default_and_wall_clock_opts_out(capsys, tmp_path):
    reports = tmp_path / "reports"
    assert run(capsys, "batch", str(REFERENCE), "--report-dir", str(reports), "--time-limit", "6", "--no-reasons")[0] == 0
    plan = Plan.model_validate_json((reports / "acme-2027.json").read_text())
    assert (plan.settings.work_limit, plan.settings.time_limit) == (3.0, 6)  # half the search's time, as deterministic seconds
    assert run(capsys, "batch", str(REFERENCE), "--report-dir", str(reports), "--wall-clock", "--no-reasons")[0] == 0
    assert json.loads((reports / "acme-2027.json").read_text())["settings"]["work_limit"] is None


def test_the_most_decision_relevant_initiatives_are_explained_first():
    # Three pieces of work out of the plan: the first re-solves are about the most valuable of them.
    data = scenario(
        work("big", {"web": 10}, 50),
        work("small", {"web": 6}, 5),
        work("middle", {"web": 8}, 20),
        work("large", {"web": 9}, 30),
        periods=1,
    )
    s = Scenario.model_validate(data)
    plan = solved(s)
    assert [u.id for u in plan.not_scheduled] == ["small", "middle", "large"]
    forced: list[str] = []
    real = solver.explain.solve_cpsat

    def recording(scenario: Scenario, settings: SolveSettings, **options: Any) -> Plan:
        forced.extend(settings.force_in)
        return real(scenario, settings, **options)

    original, solver.explain.solve_cpsat = solver.explain.solve_cpsat, recording
    try:
        explanation = solver.explain.explain(s, plan, counterfactuals=False, threads=1)
    finally:
        solver.explain.solve_cpsat = original
    assert forced == ["large", "middle", "small"]  # by value, not in file order
    assert [i.id for i in explanation.initiatives] == ["big", "small", "middle", "large"]  # reported in file order


def test_a_re_solve_that_proves_nothing_leaves_the_initiative_unexplained_not_blamed_on_capacity(monkeypatch):
    s = Scenario.model_validate(scenario(work("big", {"web": 10}, 50), work("small", {"web": 8}, 10), periods=1))
    plan = solved(s)
    real = solver.explain.solve_cpsat

    def stopped(scenario: Scenario, settings: SolveSettings, **options: Any) -> Plan:
        found = real(scenario, settings, **options)
        if "small" in settings.force_in:  # as a re-solve stopped by its limit with neither plan nor proof would answer
            return found.model_copy(update={"status": PlanStatus.unknown, "objective": None, "scheduled": []})
        return found

    monkeypatch.setattr(solver.explain, "solve_cpsat", stopped)
    explanation = solver.explain.explain(s, plan, counterfactuals=False, threads=1)
    assert explanation.unexplained == ["small"] and [i.id for i in explanation.initiatives] == ["big"]


def test_a_plan_the_search_stopped_short_of_is_no_reason_to_call_work_not_worth_it():
    # The rank-ordered baseline takes 'dense' (the best value per week) and has no room left for 'big'; the
    # best plan takes 'big' instead. Explaining the baseline's plan: forcing 'big' in finds a better plan.
    s = Scenario.model_validate(scenario(work("dense", {"web": 4}, 12), work("big", {"web": 10}, 25), periods=1))
    baseline = greedy_plan(s, SolveSettings())
    assert [i.id for i in baseline.scheduled] == ["dense"] and baseline.status is PlanStatus.feasible
    why = {i.id: i for i in solver.explain.explain(s, baseline, counterfactuals=False, threads=1).initiatives}["big"]
    assert why.reason is Reason.search_stopped
    assert why.counterfactuals[0].kind == "force_in" and why.counterfactuals[0].value_lost == pytest.approx(-13)


@pytest.mark.parametrize("milp_solver", ["highs", "cbc"])
def test_a_solve_never_returns_less_than_the_baseline_plan_it_held(monkeypatch, milp_solver):
    # Before: CBC, which takes no start, stopped by a short limit returned a plan far below the baseline.
    s = load_scenario(BUNDLED / "acme-2027.yaml")
    choose = milp._solver

    def stopped_empty(settings: SolveSettings, limit: float) -> tuple[str, pulp.LpSolver]:
        name, backend = choose(settings, limit)

        def nothing(lp: pulp.LpProblem, **kwargs: Any) -> int:
            lp.assignStatus(pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound)  # the limit came before any solution
            return lp.status

        backend.actualSolve = nothing  # type: ignore[method-assign]
        return name, backend

    monkeypatch.setattr(milp, "_solver", stopped_empty)
    plan = verified(s, solve(s, SolveSettings(backend="pulp", milp_solver=milp_solver, time_limit=5)))
    assert plan.status is PlanStatus.feasible and plan.objective == plan.baseline_objective and plan.uplift == 0
    assert plan.message.endswith("; the rank-ordered baseline's plan is kept")


def test_what_ifs_of_a_plan_the_search_stopped_short_of_do_not_crash():
    # Before: value_to_fit asked for a negative value (the forced plan was better) and the explanation raised.
    s = Scenario.model_validate(scenario(work("dense", {"web": 4}, 12), work("big", {"web": 10}, 25), periods=1))
    baseline = greedy_plan(s, SolveSettings())
    why = {i.id: i for i in solver.explain.explain(s, baseline, counterfactuals=True, threads=1).initiatives}["big"]
    assert why.reason is Reason.search_stopped and [c.kind for c in why.counterfactuals] == ["force_in"]


def test_prices_asked_for_come_first_and_those_the_time_left_out_are_named():
    s = load_scenario(BUNDLED / "acme-2027-hire-ml.yaml")
    plan = solved(s)
    calls: list[list[str]] = []
    real = solver.explain.solve_cpsat

    def recording(scenario: Scenario, settings: SolveSettings, **options: Any) -> Plan:
        calls.append(list(settings.force_in))
        return real(scenario, settings, **options)

    original, solver.explain.solve_cpsat = solver.explain.solve_cpsat, recording
    try:
        priced = solver.explain.explain(s, plan, counterfactuals=False, policy_costs=True, threads=1)
    finally:
        solver.explain.solve_cpsat = original
    rules = len(priced.policy_costs)
    assert rules == 8 and calls[:rules] == [[]] * rules  # the prices before any work is forced in
    nothing = solver.explain.explain(s, plan, counterfactuals=False, policy_costs=True, budget=0)
    assert nothing.unpriced == sorted([c.rule.name for c in priced.policy_costs] + ["floors", "guardrails", "shares"])
    view = executive(s, plan.model_copy(update={"explanation": nothing}))
    text = "\n".join(line for _, lines in executive_sections(view, s) for line in lines)
    assert "not priced within the time limit: committed[gpu-cost-controls, 2027-Q1], floors, guardrails, invisible_floor," in text


def test_no_guardrail_is_blamed_when_the_plan_without_them_is_not_proven(monkeypatch):
    s = load_scenario(BUNDLED / "acme-2027-hire-ml.yaml")
    plan = solved(s)
    real = solver.explain.solve_cpsat

    def unproven_without_guardrails(scenario: Scenario, settings: SolveSettings, **options: Any) -> Plan:
        found = real(scenario, settings, **options)
        if not guardrails(scenario):  # the scenario without every guardrail, stopped by its limit
            return found.model_copy(update={"status": PlanStatus.feasible})
        return found

    monkeypatch.setattr(solver.explain, "solve_cpsat", unproven_without_guardrails)
    explanation = solver.explain.explain(s, plan, counterfactuals=False, threads=1)
    assert {"dynamic-pricing", "visual-search"} <= set(explanation.unexplained)
    assert not any(i.reason is Reason.floor_or_share for i in explanation.initiatives)


def test_wall_clock_and_a_work_limit_contradict_each_other(capsys):
    code, _, err = run(capsys, "batch", str(REFERENCE), "--wall-clock", "--work-limit", "2")
    assert code == 2 and "--wall-clock searches on the wall clock, --work-limit on CP-SAT's deterministic time: choose one" in err
