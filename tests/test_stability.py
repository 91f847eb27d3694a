"""Re-planning against a previous plan: changing what it scheduled costs value, so small changes in the
input give small changes in the plan, and every change is listed with its price."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from api.cli import main
from planner.check import check_plan
from planner.errors import ScenarioError
from planner.loader import load
from planner.scenario import Scenario
from tests.factories import BUNDLED, write_yaml
from tests.solving import solved, starts
from tests.test_solver import scenario, work


def contested(previous: dict[str, str] | None = None, **stability: float) -> dict[str, Any]:
    """Room for one of two initiatives per quarter; `new` is now worth a little more than `old` in Q1."""
    data = scenario(
        work("old", {"web": 8}, 20),
        work("new", {"web": 8}, 21),
        periods=2,
        value_decay_per_period=0.1,
    )
    if stability:
        data["policies"]["stability"] = stability
    if previous is not None:
        data["previous_plan"] = previous
    return data


def test_without_a_previous_plan_the_higher_value_goes_first():
    plan = solved(contested())
    assert starts(plan) == {"new": "2027-Q1", "old": "2027-Q2"}
    assert plan.stability_cost is None and plan.changes == []


def test_the_move_cost_keeps_the_previous_order_when_the_gain_is_smaller():
    # Swapping gains 21 + 18 - (20 + 18.9) = 0.1 of value, but moves both by a period: 2 x 1.
    plan = solved(contested({"old": "2027-Q1", "new": "2027-Q2"}))
    assert starts(plan) == {"old": "2027-Q1", "new": "2027-Q2"}
    assert plan.changes == [] and plan.stability_cost == 0
    assert plan.objective == plan.value == 38.9


def test_a_gain_larger_than_the_move_cost_still_changes_the_plan():
    plan = solved(contested({"old": "2027-Q1", "new": "2027-Q2"}, move_cost=0.04))
    assert starts(plan) == {"new": "2027-Q1", "old": "2027-Q2"}
    assert [(c.id, c.previous_start, c.start, c.moved, c.cost) for c in plan.changes] == [
        ("old", "2027-Q1", "2027-Q2", 1, 0.04),
        ("new", "2027-Q2", "2027-Q1", -1, 0.04),
    ]
    assert plan.value == 39.0 and plan.stability_cost == 0.08 and plan.objective == 38.92


def test_the_drop_cost_keeps_an_initiative_the_previous_plan_scheduled():
    # One quarter, room for one: `new` is worth 1 more, dropping `old` costs 5 by default.
    data = scenario(work("old", {"web": 8}, 20), work("new", {"web": 8}, 21), periods=1)
    assert starts(solved(data)) == {"new": "2027-Q1"}
    data["previous_plan"] = {"old": "2027-Q1"}
    kept = solved(data)
    assert starts(kept) == {"old": "2027-Q1"}
    data["policies"]["stability"] = {"drop_cost": 0.5}
    dropped = solved(data)
    assert starts(dropped) == {"new": "2027-Q1"}
    assert [(c.id, c.start, c.moved, c.cost) for c in dropped.changes] == [("old", None, None, 0.5)]
    assert dropped.objective == 20.5


def test_a_previous_start_before_the_horizon_counts_the_periods_moved():
    # Planned for 2026-Q4 a quarter ago and not started: Q1 is one period late, Q2 two.
    data = scenario(work("late", {"web": 8}, 20), periods=2, value_decay_per_period=0)
    data["previous_plan"] = {"late": "2026-Q4"}
    data["policies"]["stability"] = {"move_cost": 3}
    plan = solved(data)
    assert [(c.start, c.moved, c.cost) for c in plan.changes] == [("2027-Q1", 1, 3.0)]
    assert plan.objective == 17


def test_both_backends_agree_on_a_plan_with_a_previous_plan():
    data = contested({"old": "2027-Q1", "new": "2027-Q2"}, move_cost=0.04)
    cpsat, pulp = solved(data, backend="cpsat"), solved(data, backend="pulp")
    assert cpsat.objective == pulp.objective == 38.92
    assert starts(cpsat) == starts(pulp)


def test_the_checker_catches_a_plan_that_misreports_its_changes():
    data = contested({"old": "2027-Q1", "new": "2027-Q2"}, move_cost=0.04)
    scenario_ = Scenario.model_validate(data)
    plan = solved(data)
    hidden = plan.model_copy(update={"changes": plan.changes[:1], "stability_cost": 0.04})
    rules = [v.rule for v in check_plan(scenario_, hidden)]
    assert rules == ["stability", "stability"]


def test_resolving_the_same_scenario_against_its_own_plan_changes_nothing(tmp_path):
    reference = BUNDLED / "acme-2027.yaml"
    first = tmp_path / "plan.json"
    assert main(["solve", str(reference), "--format", "json", "--out", str(first), "--workers", "1"]) == 0
    loaded = load(reference, previous=first)
    again = solved(loaded.scenario)
    assert again.changes == [] and again.stability_cost == 0
    assert again.objective == json.loads(first.read_text())["objective"]


def test_a_hire_re_plans_when_its_gain_beats_the_price_of_change(tmp_path, capsys):
    # The ML hire is worth 12.547 more by moving feature-store two quarters earlier (and four more changes);
    # at the default prices those changes cost 12, at 10 a period and 50 a drop they are not worth it.
    first = tmp_path / "plan.json"
    assert main(["solve", str(BUNDLED / "acme-2027.yaml"), "--format", "json", "--out", str(first), "--workers", "1"]) == 0
    previous = {s["id"]: s["start"] for s in json.loads(first.read_text())["scheduled"]}
    fresh = solved(load(BUNDLED / "acme-2027-hire-ml.yaml").scenario)
    changed_fresh = [i for i, label in previous.items() if starts(fresh).get(i) != label]
    assert fresh.value == 304.492 and len(changed_fresh) == 5
    overlay = write_yaml(
        tmp_path,
        "hire-stable.yaml",
        {"extends": str(BUNDLED / "acme-2027-hire-ml.yaml"), "policies": {"stability": {"move_cost": 10, "drop_cost": 50}}},
    )
    kept = solved(load(overlay, previous=first).scenario)
    assert kept.changes == [] and kept.objective == kept.value == 291.945
    capsys.readouterr()
    assert main(["solve", str(BUNDLED / "acme-2027-hire-ml.yaml"), "--previous", str(first), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "objective 292.492 (value 304.492 less 12 for changing the previous plan)" in out
    assert f"Changes from the previous plan ({len(changed_fresh)}, cost 12):" in out
    assert "feature-store           2027-Q3 -> 2027-Q1 (2 periods earlier), cost 2" in out
    assert "visual-search           was 2027-Q4, now left out, cost 5" in out


# --- reading the previous plan --------------------------------------------------------------------------


def plan_file(tmp_path, scheduled: list[dict[str, Any]], name: str = "plan.json", **fields: Any):
    path = tmp_path / name
    path.write_text(json.dumps({"status": "optimal", "scheduled": scheduled, **fields}, indent=2))
    return path


def test_previous_plan_names_a_plan_file_relative_to_the_scenario(tmp_path):
    (tmp_path / "plans").mkdir()
    plan_file(tmp_path / "plans", [{"id": "old", "start": "2027-Q1"}, {"id": "new", "start": "2027-Q2"}], "q1.json")
    path = write_yaml(tmp_path, "s.yaml", contested("plans/q1.json"))
    loaded = load(path)
    assert loaded.scenario.previous_plan == {"old": "2027-Q1", "new": "2027-Q2"}


def test_a_missing_previous_plan_file_is_located_at_the_key(tmp_path):
    path = write_yaml(tmp_path, "s.yaml", contested("nowhere.json"))
    with pytest.raises(ScenarioError) as caught:
        load(path)
    (problem,) = caught.value.problems
    assert problem.message == "the previous plan 'nowhere.json' does not exist"
    assert (problem.location.file, problem.location.path) == (str(path), "previous_plan")
    assert problem.location.line is not None


def test_a_bad_start_in_the_plan_file_points_at_that_line_of_the_plan(tmp_path):
    plan = plan_file(tmp_path, [{"id": "old", "start": "2027-Q1"}, {"id": "new", "start": "2027-13"}])
    path = write_yaml(tmp_path, "s.yaml", contested())
    with pytest.raises(ScenarioError) as caught:
        load(path, previous=plan)
    (problem,) = caught.value.problems
    assert problem.location.file == str(plan)
    assert problem.location.line == plan.read_text().splitlines().index('      "start": "2027-13"') + 1
    assert "'2027-13' is not a quarter label like 2027-Q1" in problem.message


def test_a_file_that_is_not_a_plan_is_refused(tmp_path):
    path = write_yaml(tmp_path, "s.yaml", contested())
    not_a_plan = tmp_path / "scenario.json"
    not_a_plan.write_text(json.dumps({"name": "x"}))
    with pytest.raises(ScenarioError, match="not a plan: a plan JSON written by `planner solve --format json`"):
        load(path, previous=not_a_plan)
    infeasible = plan_file(tmp_path, [], status="infeasible")
    with pytest.raises(ScenarioError, match="the previous plan has status infeasible: it schedules nothing to keep"):
        load(path, previous=infeasible)
    broken = plan_file(tmp_path, [{"id": "old"}])
    with pytest.raises(ScenarioError, match="a scheduled initiative needs an `id` and a `start` period label"):
        load(path, previous=broken)


def test_an_initiative_no_longer_in_the_scenario_is_ignored_with_a_warning(tmp_path):
    path = write_yaml(tmp_path, "s.yaml", contested({"old": "2027-Q1", "olt": "2027-Q1"}))
    loaded = load(path)
    (warning,) = loaded.warnings
    assert "the previous plan scheduled 'olt', which is not an initiative of this scenario: it is ignored" in warning.message
    assert warning.location.path == "previous_plan.olt"
    plan = solved(loaded.scenario)
    assert [c.id for c in plan.changes] == []


def test_a_previous_plan_needs_the_value_objective():
    data = contested({"old": "2027-Q1"})
    data["policies"]["objective"] = "makespan"
    with pytest.raises(ScenarioError, match=re.escape("re-planning against a previous plan needs `policies.objective: value`")):
        Scenario.model_validate(data)


def test_negative_stability_costs_are_refused(tmp_path):
    path = write_yaml(tmp_path, "s.yaml", contested({"old": "2027-Q1"}, move_cost=-1))
    with pytest.raises(ScenarioError) as caught:
        load(path)
    (problem,) = caught.value.problems
    assert problem.location.path == "policies.stability.move_cost"
    assert problem.message == "must be at least 0, got -1"


def test_the_cli_reports_a_missing_previous_file_as_a_usage_error(tmp_path, capsys):
    path = write_yaml(tmp_path, "s.yaml", contested())
    assert main(["solve", str(path), "--previous", str(tmp_path / "gone.json")]) == 2
    err = capsys.readouterr().err
    assert "usage: planner solve" in err
    assert "gone.json: no such file" in err


def test_a_previous_plan_written_in_a_base_is_found_next_to_the_base(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "what-if").mkdir()
    plan_file(tmp_path / "base", [{"id": "old", "start": "2027-Q2"}], "last.json")
    write_yaml(tmp_path / "base", "plan.yaml", contested("last.json"))
    overlay = write_yaml(tmp_path / "what-if", "more.yaml", {"extends": "../base/plan.yaml", "teams": [{"id": "web", "capacity": 20}]})
    loaded = load(overlay)
    assert loaded.scenario.previous_plan == {"old": "2027-Q2"}
    plan = solved(loaded.scenario)
    # Room for both in Q1 now: moving `old` a quarter earlier gains 2 of value for a cost of 1.
    assert starts(plan) == {"new": "2027-Q1", "old": "2027-Q1"}
    assert [(c.id, c.moved, c.cost) for c in plan.changes] == [("old", -1, 1.0)]
