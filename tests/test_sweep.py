"""`planner sweep`: each point of a trade-off curve is the plan a direct solve of that point gives."""

from __future__ import annotations

import io
import json

import pytest

from api.cli import main, sweeping
from api.render import sweeps
from planner import load_scenario
from planner.loader import dump_scenario
from planner.plan import PlanStatus
from planner.rules import RuleKind
from planner.settings import SolveSettings
from planner.sweep import Knob, Point, knee, point_scenario, settings_between
from planner.whatif import policy_rules, without
from tests.factories import REFERENCE, scenario_data, write_yaml
from tests.solving import solved

ONE_WORKER = SolveSettings(workers=1, seed=0, time_limit=20)
ML_SETTINGS = settings_between(-0.2, 0.3, 6)


@pytest.fixture(scope="module")
def ml_sweep():
    return sweeping.sweep(str(REFERENCE), load_scenario(REFERENCE), Knob.capacity, "ml", ML_SETTINGS, ONE_WORKER, jobs=2)


def test_the_settings_run_evenly_from_one_end_to_the_other():
    assert ML_SETTINGS == [-0.2, -0.1, 0.0, 0.1, 0.2, 0.3]
    assert settings_between(0, 0.4, 3) == [0.0, 0.2, 0.4]


def test_each_point_of_an_ml_capacity_sweep_is_worth_what_a_direct_solve_of_it_is(ml_sweep):
    reference = load_scenario(REFERENCE)
    assert [p.setting for p in ml_sweep.points] == ML_SETTINGS
    for point in ml_sweep.points:
        direct = solved(point_scenario(reference, Knob.capacity, point.setting, "ml"))
        assert direct.status is PlanStatus.optimal and point.status is PlanStatus.optimal
        assert point.objective == pytest.approx(direct.objective, abs=1e-6), point.setting


def test_the_sweep_names_what_enters_and_leaves_between_neighbours(ml_sweep):
    by_setting = {p.setting: p for p in ml_sweep.points}
    for before, after in zip(ml_sweep.points, ml_sweep.points[1:]):
        assert set(after.entered) == set(after.scheduled) - set(before.scheduled)
        assert set(after.left) == set(before.scheduled) - set(after.scheduled)
    assert "support-chatbot" not in by_setting[0.0].scheduled  # out for capacity in the reference
    assert ml_sweep.knee in ML_SETTINGS[1:-1]


def test_without_the_floors_more_ml_capacity_never_lowers_the_value(tmp_path):
    reference = load_scenario(REFERENCE)
    for rule in policy_rules(reference):
        if rule.kind in (RuleKind.invisible_floor, RuleKind.team_invisible_floor):
            reference = without(reference, rule)
    path = tmp_path / "no-floors.yaml"
    path.write_text(dump_scenario(reference))
    curve = sweeping.sweep(str(path), reference, Knob.capacity, "ml", settings_between(-0.5, 0.5, 6), ONE_WORKER, jobs=2)
    values = [p.objective for p in curve.points]
    assert all(v is not None for v in values)
    assert values == sorted(values), values
    assert curve.falls == []


def test_a_floor_that_grows_with_capacity_can_lower_the_value_and_the_sweep_says_where(tmp_path):
    # 20 units, a 40% floor: two 4-unit chores (8) leave room for the big feature (12). At 21 units the
    # floor is 8.4: a third chore is required and the feature no longer fits.
    data = scenario_data(
        horizon={"start": "2027-Q1", "periods": 1},
        teams=[{"id": "web", "capacity": 20}],
        initiatives=[
            {"id": "big", "title": "Big feature", "effort": {"web": 12}, "value": 50},
            *({"id": f"chore-{n}", "title": f"Chore {n}", "kind": "tech_debt", "effort": {"web": 4}, "value": 1} for n in range(3)),
        ],
        policies={"invisible_work": {"min_share": 0.4}},
    )
    lumpy = write_yaml(tmp_path, "lumpy.yaml", data)
    curve = sweeping.sweep(str(lumpy), load_scenario(lumpy), Knob.capacity, None, [0.0, 0.05, 0.1], ONE_WORKER, jobs=1)
    assert [p.objective for p in curve.points] == [52, 3, 3]
    assert curve.points[1].left == ["big"] and len(curve.points[1].entered) == 1  # one more chore, whichever
    assert sorted(curve.points[1].scheduled) == ["chore-0", "chore-1", "chore-2"]
    assert curve.falls == [0.05]
    assert "The plan gets worse at +5% although capacity grew: invisible-work floors are shares of capacity" in sweeps.table(curve)


def test_the_knee_is_where_the_curve_bends_most():
    def points(values):
        return [Point(setting=float(x), status=PlanStatus.optimal, objective=y, gap=0) for x, y in enumerate(values)]

    assert knee(points([0, 10, 12, 13])) == 1
    assert knee(points([0, 1, 2, 3])) is None  # a straight line has no knee
    assert knee(points([5, 6])) is None


def test_a_floor_sweep_marks_the_points_the_floor_makes_infeasible():
    curve = sweeping.sweep(str(REFERENCE), load_scenario(REFERENCE), Knob.invisible_floor, None, [0.0, 0.2, 0.4], ONE_WORKER, jobs=1)
    assert [p.status for p in curve.points] == [PlanStatus.optimal, PlanStatus.optimal, PlanStatus.infeasible]
    assert curve.points[1].objective == solved(load_scenario(REFERENCE)).objective  # the reference's own floor is 20%


def test_the_command_reads_percent_changes_and_prints_json(capsys):
    out = io.StringIO()
    code = main(["sweep", str(REFERENCE), "--capacity", "ml", "--from", "-10%", "--to", "+10%", "--steps", "3", "--workers", "1", "--format", "json"], out=out)
    assert code == 0
    curve = json.loads(out.getvalue())
    assert [p["setting"] for p in curve["points"]] == [-0.1, 0.0, 0.1]
    assert curve["knob"] == "capacity" and curve["team"] == "ml"


def test_an_unknown_team_is_named_with_a_suggestion(capsys):
    assert main(["sweep", str(REFERENCE), "--capacity", "mll"]) == 1
    assert "--capacity mll: no team 'mll' in" in capsys.readouterr().err
