"""CP-SAT racing HiGHS or SCIP on one model (`solver/race.py`): HiGHS compiles the same rows to the same optimum,
a race returns the optimum with the same plan CP-SAT alone returns, and a plan says whose search found it and
whose proved its bound."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
from ortools.sat.python import cp_model

from api.cli import main
from planner import load_scenario
from planner.plan import Plan, PlanStatus, SolveSettings
from planner.scenario import Objective, Scenario
from planner.scoring import VALUE_SCALE
from solver import cpsat, race, solve
from solver.formulation import Formulation
from solver.race import CPSAT, HIGHS, SCIP, Race
from solver.variables import backend_plan
from tests.factories import BUNDLED, REFERENCE
from tests.solving import verified
from tests.test_solver import scenario, work

SOLVERS = (CPSAT, HIGHS, SCIP)


@pytest.fixture
def at_once(monkeypatch):
    """HiGHS joins at once, whatever the time limit: a race even on scenarios CP-SAT proves in a blink."""
    monkeypatch.setattr(race, "PARTNER_DELAY", 0.0)
    monkeypatch.setattr(race, "MIN_PARTNER_TIME", 0.0)


@pytest.mark.parametrize("path", sorted(BUNDLED.glob("*.yaml")), ids=lambda p: p.stem)
def test_highs_on_the_race_model_proves_what_cpsat_proves_for_every_bundled_scenario(path):
    s = load_scenario(path)
    settings = SolveSettings(workers=1, seed=0, time_limit=20, race=False)
    alone = verified(s, solve(s, settings))
    f = Formulation(s, settings)
    h = race.highs_model(f, f.take_rows(), settings, 20)
    h.run()
    if alone.status is PlanStatus.infeasible:  # the pivot scenario, on purpose
        assert h.getModelStatus().name == "kInfeasible"
        return
    assert alone.status is PlanStatus.optimal and h.getModelStatus().name == "kOptimal"
    scale = 1 if s.policies.objective is Objective.makespan else VALUE_SCALE
    assert round(h.getInfo().objective_function_value) == round(alone.objective * scale)
    placements = race.partner_placements(f, np.array(h.getSolution().col_value))
    highs_plan = verified(s, backend_plan(s, settings, placements, PlanStatus.optimal, alone.objective, began=time.perf_counter(), backend="cpsat"))
    assert highs_plan.objective == alone.objective


def test_a_race_returns_the_plan_cpsat_alone_returns_and_says_whose_it_is(at_once):
    s = load_scenario(REFERENCE)
    alone = verified(s, solve(s, SolveSettings(workers=1, seed=0, time_limit=20, race=False)))
    raced = verified(s, solve(s, SolveSettings(workers=1, seed=0, time_limit=20)))
    assert raced.status is PlanStatus.optimal and raced.objective == alone.objective
    # The tie-break among optimal plans is CP-SAT's, deterministic: the same plan whoever found the optimum first.
    assert [(p.id, p.start) for p in raced.scheduled] == [(p.id, p.start) for p in alone.scheduled]
    assert raced.found_by in SOLVERS and raced.bound_by in SOLVERS
    assert (alone.found_by, alone.bound_by) == (CPSAT, CPSAT)


def test_a_race_on_an_infeasible_scenario_says_so(at_once):
    s = Scenario.model_validate(scenario(work("a", {"web": 8}, mandatory=True), work("b", {"web": 8}, mandatory=True), periods=1))
    plan = solve(s, SolveSettings(workers=1, time_limit=5))
    assert plan.status is PlanStatus.infeasible and plan.scheduled == []
    assert plan.found_by is None and plan.bound_by in SOLVERS


def test_the_race_keeps_the_best_plan_and_the_best_bound_and_closes_when_they_meet():
    heard: list[tuple[int, int | None]] = []
    r = Race(maximize=True, began=time.perf_counter(), report=lambda objective, bound, _: heard.append((objective, bound)))
    assert not r.offer(CPSAT, 10, 20, values=[1.0, 0.0])
    assert not r.offer(HIGHS, 12, 25, values=np.array([0.0, 1.0]))  # a better plan, a weaker bound: only the plan counts
    assert (r.best, r.found_by, r.bound, r.bound_by) == (12, HIGHS, 20, CPSAT)
    assert list(r.partner_values) == [0.0, 1.0]
    assert not r.offer(CPSAT, 11, None)  # no better: nothing changes, nothing is reported
    assert r.take_for_partner() == [1.0, 0.0] and r.take_for_partner() is None  # CP-SAT's plan is handed over once
    assert r.offer(HIGHS, None, 12) and r.stop.is_set()  # HiGHS's bound meets HiGHS's plan: proven
    assert heard == [(10, 20), (12, 20), (12, 12)]
    assert r.offer(CPSAT, 12, None)  # still closed; an equal plan does not take the lead
    assert r.found_by == HIGHS


def test_a_minimising_race_closes_when_the_bound_rises_to_the_plan():
    r = Race(maximize=False, began=time.perf_counter())
    r.offer(CPSAT, 30, 20)
    r.offer(HIGHS, 28, None, values=[1.0])
    assert not r.offer(CPSAT, None, 27)
    assert r.offer(HIGHS, None, 28) and (r.best, r.found_by, r.bound_by) == (28, HIGHS, HIGHS)
    assert r.partner_values is not None
    r.offer(CPSAT, 27, None)  # impossible past a proof, but the lead passes all the same, with the values
    assert r.found_by == CPSAT and r.partner_values is None


def test_solve_reports_the_baseline_plan_it_holds_first():
    s = load_scenario(REFERENCE)
    heard: list[tuple[float, float]] = []
    plan = verified(s, solve(s, SolveSettings(workers=1, time_limit=10), on_progress=lambda objective, bound, _: heard.append((objective, bound))))
    assert heard[0][0] == plan.baseline_objective and math.isnan(heard[0][1])
    assert heard[-1] == (plan.objective, plan.best_bound)


def test_greedy_and_milp_plans_name_their_solver():
    s = load_scenario(REFERENCE)
    greedy = verified(s, solve(s, SolveSettings(backend="greedy")))
    assert (greedy.found_by, greedy.bound_by) == ("greedy", None)
    milp = verified(s, solve(s, SolveSettings(backend="pulp", milp_solver="highs", time_limit=20)))
    assert (milp.found_by, milp.bound_by) == (HIGHS, HIGHS)


def test_no_race_on_the_command_line_is_kept_in_the_plan(capsys):
    assert main(["solve", str(REFERENCE), "--format", "json", "--workers", "1", "--no-race", "--no-reasons"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["settings"]["race"] is False and (document["found_by"], document["bound_by"]) == (CPSAT, CPSAT)
    verified(load_scenario(REFERENCE), Plan.model_validate(document))


@pytest.mark.parametrize("side", [race.run_highs, race.run_scip], ids=["highs", "scip"])
def test_the_partner_side_of_a_race_proves_the_optimum_and_stops_cpsat(at_once, side):
    s = load_scenario(BUNDLED / "ai-platform-2027.yaml")
    settings = SolveSettings(workers=1, seed=0, time_limit=20)
    alone = verified(s, solve(s, settings.model_copy(update={"race": False})))
    f = Formulation(s, settings)
    r = Race(maximize=True, began=time.perf_counter())
    side(r, f, f.take_rows(), settings, r.began, cp_model.CpSolver())
    assert r.partner_started and r.closed() and r.stop.is_set()
    assert (r.best, r.found_by, r.bound_by) == (round(alone.objective * VALUE_SCALE), *(2 * [HIGHS if side is race.run_highs else SCIP]))
    assert r.partner_values is not None
    placements = race.partner_placements(f, r.partner_values)
    verified(s, backend_plan(s, settings, placements, PlanStatus.optimal, alone.objective, began=r.began, backend="cpsat"))


def test_scip_races_small_models_and_highs_large_ones(monkeypatch):
    f = Formulation(load_scenario(REFERENCE), SolveSettings())
    assert race.partner(f)[0] == race.SCIP
    monkeypatch.setattr(race, "SCIP_MAX_VARIABLES", len(f.upper) - 1)
    assert race.partner(f)[0] == race.HIGHS


def test_a_race_with_scip_hands_it_cpsat_plans_and_returns_the_optimum(at_once):
    s = load_scenario(BUNDLED / "ai-platform-2027.yaml")
    alone = verified(s, solve(s, SolveSettings(workers=1, seed=0, time_limit=20, race=False)))
    raced = verified(s, solve(s, SolveSettings(workers=1, seed=0, time_limit=20)))
    assert raced.status is PlanStatus.optimal and raced.objective == alone.objective
    assert [(p.id, p.start) for p in raced.scheduled] == [(p.id, p.start) for p in alone.scheduled]


def test_a_replan_starts_from_the_previous_plan_when_it_still_holds():
    s = load_scenario(REFERENCE)
    best = verified(s, solve(s, SolveSettings(workers=1, time_limit=20, race=False)))
    replan = s.model_copy(update={"previous_plan": {p.id: p.start for p in best.scheduled}})
    replan = Scenario.model_validate(replan.model_dump())
    # Almost no search: the plan is the start it was given. The baseline (the only start before) is worth less.
    quick = verified(replan, solve(replan, SolveSettings(work_limit=1e-6, time_limit=5)))
    assert quick.baseline_objective < best.objective
    assert quick.objective == best.objective and quick.stability_cost == 0


def test_a_partner_that_fails_leaves_cpsat_to_finish_alone(at_once, monkeypatch, caplog):
    def broken(*_):
        raise MemoryError("no room for a second model")

    monkeypatch.setattr(cpsat, "partner", lambda f: (HIGHS, broken))
    s = load_scenario(REFERENCE)
    plan = verified(s, solve(s, SolveSettings(workers=1, seed=0, time_limit=20)))
    assert plan.status is PlanStatus.optimal and (plan.found_by, plan.bound_by) == (CPSAT, CPSAT)
    assert "HiGHS stopped (MemoryError: no room for a second model); CP-SAT searches on alone" in caplog.text
