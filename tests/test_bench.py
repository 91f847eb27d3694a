"""The benchmark's inputs: converters reproduce the public instances' known answers, the generator is
seeded and always writes a valid scenario. (The benchmark's timings live in docs/benchmarks.md, never here.)"""

from __future__ import annotations

import json
import statistics

import pytest

from bench import cases, orlib, psplib
from bench.generate import portfolio
from planner.loader import parse_scenario
from planner.plan import PlanStatus
from tests.solving import solved

needs_data = pytest.mark.skipif(not cases.DATA.is_dir(), reason=f"benchmark data not found at {cases.DATA}")


@needs_data
@pytest.mark.parametrize("name", ["j301_1", "j304_1"])
def test_a_psplib_instance_solves_to_its_known_optimal_makespan(name):
    known = psplib.optimal_makespans(cases.PSPLIB / "j30opt.sm")
    scenario = psplib.convert(cases.PSPLIB / "instances" / f"{name}.sm").scenario
    plan = solved(scenario, workers=2, time_limit=60)
    assert plan.status is PlanStatus.optimal
    assert plan.objective == known[name]
    assert len(plan.scheduled) == 30  # every real job, the two dummies left out


@needs_data
def test_a_psplib_job_loads_each_resource_by_its_request_in_every_period_it_runs():
    scenario = psplib.convert(cases.PSPLIB / "instances" / "j301_1.sm").scenario
    job = scenario.initiative_by_id["job2"]  # "2  1  8  4 0 0 0": 8 periods, 4 units of R1
    assert job.duration == 8 and job.effort == {"r1": 32}
    assert scenario.initiative_by_id["job6"].depends_on == ["job2"]
    assert [t.id for t in scenario.teams] == ["r1", "r2", "r3", "r4"]
    assert list(scenario.capacity("r3")) == [4] * 158


@needs_data
@pytest.mark.parametrize("index, optimum", [(0, 3800), (1, 8706.1)])
def test_the_first_mknap1_instances_solve_to_their_known_optimum(index, optimum):
    knapsack = orlib.parse(cases.ORLIB / "mknap1.txt")[index]
    assert knapsack.known == optimum
    plan = solved(orlib.convert(knapsack).scenario)
    assert plan.status is PlanStatus.optimal
    assert plan.objective == pytest.approx(optimum, abs=1e-9)


@needs_data
def test_the_mknap_files_are_read_whole_and_the_best_known_table_is_keyed_by_file_and_position():
    assert [(len(k.profits), len(k.capacities)) for k in orlib.parse(cases.ORLIB / "mknap1.txt")] == [
        (6, 10),
        (10, 10),
        (15, 10),
        (20, 10),
        (28, 10),
        (39, 5),
        (50, 5),
    ]
    first = orlib.parse(cases.ORLIB / "mknapcb1.txt")[0]
    assert (len(first.profits), len(first.capacities), first.known, first.capacities[:3]) == (100, 5, 24381, [11927, 13727, 11551])
    best, lp = orlib.best_known(cases.ORLIB / "best-feasible-slns.txt")
    assert best["mknapcb1-00"] == 24381 and lp["mknapcb1-00"] == pytest.approx(24585.90, abs=0.01)
    assert len([k for k in best if k.startswith("mknapcb4-")]) == 30


def test_an_item_that_weighs_nothing_anywhere_is_refused_with_its_number():
    empty = orlib.Knapsack("tiny", [5.0, 3.0], [[1.0, 0.0], [2.0, 0.0]], [3.0, 3.0], 5.0)
    with pytest.raises(ValueError, match="item 2 weighs nothing"):
        orlib.scenario_document(empty)


def test_the_same_seed_gives_the_same_portfolio_and_another_seed_a_different_one():
    assert portfolio(40, 4, 4, seed=3) == portfolio(40, 4, 4, seed=3)
    assert portfolio(40, 4, 4, seed=3) != portfolio(40, 4, 4, seed=4)


@pytest.mark.parametrize("shape", [(25, 3, 4, "quarter"), (40, 4, 8, "quarter"), (120, 10, 12, "month"), (80, 6, 26, "sprint"), (60, 5, 52, "week")])
def test_generated_portfolios_are_valid_scenarios_with_the_promised_shape(shape):
    initiatives, teams, periods, granularity = shape
    loaded = parse_scenario(json.dumps(portfolio(initiatives, teams, periods, granularity=granularity, seed=1)), fmt="json")
    scenario = loaded.scenario
    assert (len(scenario.initiatives), len(scenario.teams), len(scenario.periods)) == (initiatives, teams, periods)
    assert loaded.warnings == []
    assert any(i.depends_on for i in scenario.initiatives)
    assert any(i.mandatory and i.deadline for i in scenario.initiatives)
    assert any(scenario.is_invisible(i) for i in scenario.initiatives)
    assert scenario.policies.invisible_work.min_share > 0 and scenario.policies.themes


def test_the_wide_mix_spreads_initiatives_over_teams_and_values_over_orders_of_magnitude():
    standard = parse_scenario(json.dumps(portfolio(200, 10, 4, seed=1)), fmt="json").scenario
    loaded = parse_scenario(json.dumps(portfolio(200, 10, 4, seed=1, mix="wide")), fmt="json")
    wide = loaded.scenario
    assert loaded.warnings == [] and wide.name.endswith("-wide-s1")

    def teams(s):
        return statistics.mean(len(i.effort) + len(i.needs) for i in s.initiatives)

    def spread(s):
        values = sorted(i.rice.reach * i.rice.impact for i in s.initiatives)
        return values[-1] / values[0]

    assert teams(wide) > 2.2 > 1.6 > teams(standard)
    assert spread(wide) > 10_000 and spread(wide) > 10 * spread(standard)
    with pytest.raises(ValueError, match="mix must be one of standard, wide"):
        portfolio(25, 3, 4, mix="narrow")


def test_a_small_generated_portfolio_has_a_verified_plan_that_beats_the_greedy_baseline():
    scenario = parse_scenario(json.dumps(portfolio(25, 3, 4, seed=1)), fmt="json").scenario
    plan = solved(scenario, time_limit=30)
    assert plan.status is PlanStatus.optimal
    assert plan.baseline_objective is not None and plan.objective >= plan.baseline_objective


@needs_data
def test_the_interval_peer_proves_a_j30_optimum_and_its_plan_passes_the_checker():
    from bench.peers import interval_plan
    from planner.check import check_plan
    from planner.plan import SolveSettings

    known = psplib.optimal_makespans(cases.PSPLIB / "j30opt.sm")
    scenario = cases.load(cases.psplib_case("j301_1"))
    plan = interval_plan(scenario, SolveSettings(time_limit=30, workers=2))
    assert (plan.status, plan.objective) == (PlanStatus.optimal, known["j301_1"])
    assert check_plan(scenario, plan) == []


@needs_data
@pytest.mark.parametrize("case, optimum", [(cases.orlib_case("mknap1", 1), 8706.1), (cases.psplib_case("j301_1"), None)], ids=["mknap1-01", "j301_1"])
def test_the_scip_peer_proves_known_optima_and_its_plans_pass_the_checker(case, optimum):
    from bench.peers import scip_plan
    from planner.check import check_plan
    from planner.plan import SolveSettings

    scenario = cases.load(case)
    plan = scip_plan(scenario, SolveSettings(time_limit=30))
    expected = optimum if optimum is not None else psplib.optimal_makespans(cases.PSPLIB / "j30opt.sm")[case["name"]]
    assert plan.status is PlanStatus.optimal and plan.objective == pytest.approx(expected, abs=1e-9)
    assert (plan.found_by, plan.bound_by) == ("SCIP", "SCIP")
    assert check_plan(scenario, plan) == []


@needs_data
def test_j60_instances_load_and_have_best_known_makespans():
    known = psplib.optimal_makespans(cases.PSPLIB_J60 / "j60hrs.sm", family="j60")
    assert len(known) == 480 and known["j601_1"] == 77
    assert len(cases.load(cases.psplib_case("j601_1")).initiatives) == 60


def test_a_benchmark_run_keeps_the_sections_other_scripts_wrote(tmp_path):
    from bench import overhead, report, timing

    out = tmp_path / "benchmarks.md"
    out.write_text(f"# old\n\n## Something a run rewrites\n\nold\n\n{overhead.HEADING}\n\nrows A\n\n{timing.HEADING}\n\nrows B\n")
    results = tmp_path / "results.jsonl"
    results.write_text(json.dumps({"run": {"command": "test"}}) + "\n")
    report.write(results, out)
    text = out.read_text()
    assert "Something a run rewrites" not in text
    assert f"{overhead.HEADING}\n\nrows A" in text and f"{timing.HEADING}\n\nrows B" in text
