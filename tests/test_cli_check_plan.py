"""`planner check SCENARIO --plan PLAN.json`: a plan re-checked against its scenario, which may have changed since.

A plan's decisions must still fit (exit 1 with every broken rule named, `capacity[web, 2027-Q2]`); the
figures it reports that a changed scenario now gives differently are stale, listed apart, and do not
fail it. A file that is not a plan gets a located error, never a traceback. Every plan here comes from
`planner solve --format json` and is verified by the solver-free checker before a test edits it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from planner import load_scenario
from planner.plan import Plan
from planner.settings import PlanStatus
from tests.factories import scenario_data, write_yaml
from tests.solving import verified


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)  # file names as a user types them
    return tmp_path


def solve_to_file(folder: Path, data: dict[str, Any], plan: str = "plan.json") -> dict[str, Any]:
    """Write the scenario as tiny.yaml, solve it into `plan` as `planner solve --format json` does, verify the
    plan, and return it as the JSON document it is."""
    write_yaml(folder, "tiny.yaml", data)
    main(["solve", "tiny.yaml", "--format", "json", "--out", plan, "--workers", "1", "--no-reasons", "--quiet"])
    document = json.loads((folder / plan).read_text())
    verified(load_scenario(folder / "tiny.yaml"), Plan.model_validate(document))
    return document


def check(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()  # what solving the plan printed
    code = main(["check", "tiny.yaml", "--plan", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def edit_scenario(folder: Path, data: dict[str, Any]) -> None:
    write_yaml(folder, "tiny.yaml", data)


def write_plan(folder: Path, document: Any, name: str = "plan.json") -> None:
    (folder / name).write_text(json.dumps(document, indent=2))


def item(document: dict[str, Any], initiative: str) -> dict[str, Any]:
    return next(s for s in document["scheduled"] if s["id"] == initiative)


def test_a_plan_from_solve_holds_against_its_own_scenario(capsys, folder):
    solve_to_file(folder, scenario_data())
    code, out, _ = check(capsys, "plan.json")
    assert code == 0
    assert out == "ok plan.json against tiny.yaml: the 3 scheduled initiatives keep every rule\n"


def test_a_capacity_cut_below_the_planned_load_fails_naming_the_team_and_period(capsys, folder):
    data = scenario_data()
    plan = solve_to_file(folder, data)
    loaded = next(u for u in plan["utilisation"] if u["team"] == "web" and u["load"] > 0)
    k = 0 if loaded["period"] == "2027-Q1" else 1
    capacity = [10, 10]
    capacity[k] = loaded["load"] - 1
    data["teams"][0]["capacity"] = capacity
    edit_scenario(folder, data)
    code, out, _ = check(capsys, "plan.json")
    assert code == 1
    period = loaded["period"]
    assert f"capacity[web, {period}]: team 'web' is loaded {loaded['load']:g} in {period}, capacity {loaded['load'] - 1:g}" in out.splitlines()
    assert out.splitlines()[-1].startswith("failed plan.json against tiny.yaml: 1 violation; ")


def test_a_start_moved_past_a_deadline_by_hand_fails_naming_the_deadline(capsys, folder):
    data = scenario_data()
    data["initiatives"][1]["deadline"] = "2027-Q1"
    plan = solve_to_file(folder, data)
    assert item(plan, "cdn")["start"] == "2027-Q1"
    item(plan, "cdn").update(start="2027-Q2", finish="2027-Q2")
    write_plan(folder, plan)
    code, out, _ = check(capsys, "plan.json")
    assert code == 1
    assert "deadline[cdn, 2027-Q1]: 'cdn' finishes in 2027-Q2, after its deadline 2027-Q1" in out.splitlines()


def test_a_dependent_moved_alongside_its_prerequisite_by_hand_fails_naming_the_dependency(capsys, folder):
    plan = solve_to_file(folder, scenario_data())
    start = item(plan, "signup")["start"]
    item(plan, "promo").update(start=start, finish=start)
    write_plan(folder, plan)
    code, out, _ = check(capsys, "plan.json")
    assert code == 1
    assert f"depends_on[promo, signup, {start}]: 'promo' starts in {start} before its prerequisite 'signup' finishes (in {start})" in out.splitlines()


def test_an_excluded_alternative_added_by_hand_fails_naming_the_exclusion(capsys, folder):
    data = scenario_data()
    data["initiatives"].append({"id": "cdn-lite", "title": "CDN, lite", "kind": "infrastructure", "effort": {"ops": 4}, "value": 1, "excludes": ["cdn"]})
    plan = solve_to_file(folder, data)
    assert "cdn-lite" in [u["id"] for u in plan["not_scheduled"]]
    lite = {**item(plan, "cdn"), "id": "cdn-lite", "title": "CDN, lite", "theme": None, "value": 1.0, "decayed_value": 1.0}
    plan["scheduled"].append(lite)
    plan["not_scheduled"] = [u for u in plan["not_scheduled"] if u["id"] != "cdn-lite"]
    write_plan(folder, plan)
    code, out, _ = check(capsys, "plan.json")
    assert code == 1
    assert "excludes[cdn, cdn-lite]: 'cdn-lite' and 'cdn' exclude each other but both are scheduled" in out.splitlines()


def test_a_changed_value_makes_the_objective_stale_but_the_plan_still_holds(capsys, folder):
    data = scenario_data()
    plan = solve_to_file(folder, data)
    data["initiatives"][0]["value"] = 25
    edit_scenario(folder, data)
    code, out, _ = check(capsys, "plan.json")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("Stale figures")
    assert lines[1].startswith(f"  objective: the plan reports objective {plan['objective']}, its decisions are worth ")
    assert lines[2:] == ["ok plan.json against tiny.yaml: the 3 scheduled initiatives keep every rule; 1 stale figure"]


def test_json_output_names_each_violation_by_its_rule_and_ids(capsys, folder):
    data = scenario_data()
    data["initiatives"][1]["deadline"] = "2027-Q1"
    plan = solve_to_file(folder, data)
    item(plan, "cdn").update(start="2027-Q2", finish="2027-Q2")
    write_plan(folder, plan)
    code, out, _ = check(capsys, "plan.json", "--format", "json")
    result = json.loads(out)
    assert code == 1 and result["holds"] is False and result["checked"] is True and result["problems"] == []
    deadline = next(v for v in result["violations"] if v["rule"] == "deadline")
    assert {k: deadline[k] for k in ("name", "initiative", "team", "theme", "period")} == {
        "name": "deadline[cdn, 2027-Q1]",
        "initiative": "cdn",
        "team": None,
        "theme": None,
        "period": "2027-Q1",
    }
    # cdn's load per period was reported for a start in 2027-Q1: a stale figure, listed apart.
    stale = {v["rule"] for v in result["stale_figures"]}
    assert "load" in stale and stale <= {"load", "report", "objective", "stability"}


def test_json_output_of_a_plan_that_holds(capsys, folder):
    solve_to_file(folder, scenario_data())
    code, out, _ = check(capsys, "plan.json", "--format", "json")
    result = json.loads(out)
    assert code == 0
    assert (result["holds"], result["status"], result["scheduled"], result["violations"], result["stale_figures"]) == (True, "optimal", 3, [], [])


def test_a_plan_without_a_solution_has_nothing_to_check(capsys, folder):
    data = scenario_data()
    data["initiatives"][0].update(mandatory=True, effort={"web": 30})  # three quarters of work in a two-quarter horizon
    plan = solve_to_file(folder, data)
    assert plan["status"] == PlanStatus.infeasible.value
    code, out, _ = check(capsys, "plan.json")
    assert code == 0
    assert out == "ok plan.json against tiny.yaml: nothing to check, the plan has status infeasible and schedules nothing\n"


BAD_PLANS = [
    ("not JSON", lambda text, _: text.replace('"status": "optimal",', '"status": "optimal"', 1), "plan.json:4:3: JSON syntax error: Expecting ',' delimiter"),
    ("a list", lambda _, plan: json.dumps([plan]), "plan.json:1:1: the document is not a mapping: a plan, as `planner solve --format json` writes it"),
    (
        "no scheduled",
        lambda _, plan: json.dumps({k: v for k, v in plan.items() if k != "scheduled"}),
        "plan.json:1:1: scheduled: missing required key 'scheduled'",
    ),
    (
        "a start that is a list",
        lambda _, plan: json.dumps({**plan, "scheduled": [{**plan["scheduled"][0], "start": ["2027-Q1"]}, *plan["scheduled"][1:]]}, indent=2),
        "scheduled[0].start: must be text, got a list",
    ),
    (
        "a misspelt key",
        lambda _, plan: json.dumps({**plan, "scheduled": [{**plan["scheduled"][0], "strat": "2027-Q1"}, *plan["scheduled"][1:]]}, indent=2),
        "scheduled[0].strat: unknown key 'strat' (did you mean 'start'?)",
    ),
    (
        "an explanation of the wrong shape",
        lambda _, plan: json.dumps(
            {
                **plan,
                "explanation": {
                    "scenario": "tiny",
                    "status": "optimal",
                    "objective": 1,
                    "initiatives": [{"id": "promo", "title": "t", "scheduled": False, "earliest_possible": None, "excluded_by": 5}],
                    "resolves": 0,
                    "seconds": 0,
                },
            },
            indent=2,
        ),
        "explanation.initiatives[0].excluded_by",
    ),
]


@pytest.mark.parametrize(("case", "spoil", "problem"), BAD_PLANS, ids=[b[0] for b in BAD_PLANS])
def test_a_file_that_is_not_a_plan_gets_a_located_error_and_exit_1(capsys, folder, case, spoil, problem):
    plan = solve_to_file(folder, scenario_data())
    (folder / "plan.json").write_text(spoil((folder / "plan.json").read_text(), plan))
    code, out, err = check(capsys, "plan.json")
    assert code == 1 and err == ""
    assert problem in out
    assert out.splitlines()[-1] == "failed plan.json against tiny.yaml: cannot be checked"


def test_problems_with_both_files_are_reported_together(capsys, folder):
    solve_to_file(folder, scenario_data())
    (folder / "plan.json").write_text("[]")
    (folder / "tiny.yaml").write_text("name: tiny\nhorizon: {start: 2027-Q1, periods: 2}\nteams: []\ninitiatives: []\nvalu: 3\n")
    code, out, _ = check(capsys, "plan.json", "--format", "json")
    result = json.loads(out)
    assert code == 1 and result["checked"] is False
    assert {p["location"]["file"] for p in result["problems"]} == {"tiny.yaml", "plan.json"}


def test_a_missing_plan_file_is_a_usage_error(capsys, folder):
    write_yaml(folder, "tiny.yaml", scenario_data())
    code, _, err = check(capsys, "nowhere.json")
    assert code == 2
    assert "usage: planner check" in err and "nowhere.json: no such file" in err


def test_a_plan_is_checked_against_one_scenario_only(capsys, folder):
    solve_to_file(folder, scenario_data())
    code = main(["check", "tiny.yaml", "tiny.yaml", "--plan", "plan.json"])
    assert code == 2
    assert "--plan checks a plan against one scenario FILE, not 2" in capsys.readouterr().err


def test_strict_fails_a_plan_checked_against_a_scenario_with_warnings(capsys, folder):
    data = scenario_data()
    solve_to_file(folder, data)
    del data["initiatives"][1]["value"]  # optional and worth nothing: valid, but probably a slip
    edit_scenario(folder, data)
    code, out, _ = check(capsys, "plan.json")
    assert code == 0 and "warning:" in out
    code, out, _ = check(capsys, "plan.json", "--strict")
    assert code == 1
    assert out.splitlines()[-1] == "failed plan.json against tiny.yaml: 1 warning about the scenario, and --strict treats warnings as errors"


def test_a_duration_re_estimated_past_the_horizon_fails_naming_the_horizon(capsys, folder):
    plan = solve_to_file(folder, scenario_data())
    assert item(plan, "promo")["start"] == "2027-Q2"
    data = scenario_data()
    data["initiatives"][2]["duration"] = 2  # promo now takes two quarters: from 2027-Q2 it would end after the horizon
    edit_scenario(folder, data)
    code, out, err = check(capsys, "plan.json")
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert "horizon[promo, 2027-Q2]: 'promo' starts in 2027-Q2 and runs 2 period(s), past the horizon's end 2027-Q2" in lines
    assert "duration[promo, 2027-Q2]: 'promo' runs 1 periods, its duration is 2: from 2027-Q2 it ends in 1 period(s) after 2027-Q2" in lines


def test_a_start_of_another_granularity_against_a_scenario_with_a_previous_plan_is_located(capsys, folder):
    plan = solve_to_file(folder, scenario_data())
    item(plan, "cdn").update(start="2027-06", finish="2027-06")
    write_plan(folder, plan)
    data = scenario_data()
    data["previous_plan"] = {"cdn": "2027-Q1"}
    edit_scenario(folder, data)
    code, out, err = check(capsys, "plan.json")
    assert code == 1 and err == ""
    assert "horizon[cdn, 2027-06]: 'cdn' starts in 2027-06, outside the horizon 2027-Q1..2027-Q2" in out.splitlines()
