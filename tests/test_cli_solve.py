"""`planner solve FILE`: the plan in four formats, exit codes by status, errors named, files whole."""

from __future__ import annotations

import csv
import io
import json

import pytest

from api.cli import main
from planner import load_scenario
from planner.plan import Plan
from tests.factories import REFERENCE, scenario_data, write_yaml
from tests.solving import verified


@pytest.fixture
def tiny(tmp_path, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)
    write_yaml(tmp_path, "tiny.yaml", scenario_data())
    return "tiny.yaml"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_output_is_the_plan_itself_and_passes_the_checker(capsys):
    code, out, _ = run(capsys, "solve", str(REFERENCE), "--format", "json", "--workers", "1")
    assert code == 0
    document = json.loads(out)
    assert document["status"] == "optimal" and document["gap"] == 0
    verified(load_scenario(REFERENCE), Plan.model_validate(document))


def test_the_table_is_a_roadmap_grid_with_periods_across_and_teams_down(capsys, tiny):
    code, out, _ = run(capsys, "solve", tiny, "--workers", "1")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("tiny: optimal; value 31")
    header = next(n for n, line in enumerate(lines) if line.startswith("team"))
    assert [cell.strip() for cell in lines[header].split("|")] == ["team", "2027-Q1", "2027-Q2"]
    web = next(n for n, line in enumerate(lines) if line.startswith("web"))
    assert [cell.strip() for cell in lines[web].split("|")] == ["web", "8/10 80%", "4/10 40%"]
    assert [cell.strip() for cell in lines[web + 1].split("|")] == ["", "signup 8", "promo 4"]
    assert "Not scheduled (0):" in out


def test_csv_has_one_row_per_initiative(capsys, tiny):
    code, out, _ = run(capsys, "solve", tiny, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert {row["id"]: row["start"] for row in rows} == {"signup": "2027-Q1", "cdn": "2027-Q1", "promo": "2027-Q2"}


def test_markdown_has_the_roadmap_and_the_initiatives(capsys, tiny):
    code, out, _ = run(capsys, "solve", tiny, "--format", "md")
    assert code == 0 and "## Roadmap" in out and "| New signup (`signup`) | feature | 2027-Q1 | 2027-Q1 | 20 |" in out


def test_an_infeasible_scenario_exits_3_with_a_plan_saying_so(capsys, tmp_path):
    data = scenario_data()
    data["initiatives"][0].update(mandatory=True, effort={"web": 30})
    path = write_yaml(tmp_path, "impossible.yaml", data)
    code, out, _ = run(capsys, "solve", str(path), "--format", "json")
    assert code == 3
    assert json.loads(out)["status"] == "infeasible" and json.loads(out)["scheduled"] == []


def test_an_invalid_scenario_exits_1_with_located_problems(capsys, tmp_path):
    data = scenario_data()
    data["initiatives"][0]["effort"] = {"wbe": 8}
    path = write_yaml(tmp_path, "broken.yaml", data)
    code, out, err = run(capsys, "solve", str(path))
    assert code == 1 and out == ""
    assert "broken.yaml:" in err and "initiatives[0].effort.wbe: unknown team 'wbe'" in err


def test_an_unknown_forced_initiative_is_named_with_a_suggestion(capsys, tiny):
    code, _, err = run(capsys, "solve", tiny, "--force-out", "sigup")
    assert code == 1 and "no initiative 'sigup'" in err and "did you mean 'signup'" in err


def test_force_out_leaves_the_initiative_out(capsys, tiny):
    code, out, _ = run(capsys, "solve", tiny, "--format", "json", "--force-out", "signup")
    plan = json.loads(out)
    assert code == 0 and "signup" in [u["id"] for u in plan["not_scheduled"]]


def test_out_writes_the_file_and_a_failed_run_keeps_the_previous_one(capsys, tiny, tmp_path):
    code, out, err = run(capsys, "solve", tiny, "--format", "json", "--out", "plan.json")
    assert code == 0 and out == "" and "tiny: optimal" in err
    first = (tmp_path / "plan.json").read_text()
    assert json.loads(first)["status"] == "optimal"
    (tmp_path / "tiny.yaml").write_text("name: [broken")
    assert main(["solve", tiny, "--format", "json", "--out", "plan.json"]) == 1
    assert (tmp_path / "plan.json").read_text() == first
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".planner-")] == []


@pytest.mark.parametrize("argv", [["solve"], ["solve", "x.yaml", "--time-limit", "0"], ["solve", "x.yaml", "--backend", "gurobi"], ["solve", "missing.yaml"]])
def test_usage_errors_exit_2(capsys, argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.yaml").write_text("name: x\n")
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    assert "usage: planner" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "refusal"),
    [
        (["--workers", "100000"], "--workers 100000: must be at most 64"),
        (["--workers", "-1"], "--workers -1: must be at least 0"),
        (["--seed", "2147483648"], "--seed 2147483648: must be at most 2147483647"),
        (["--seed", "-1"], "--seed -1: must be at least 0"),
    ],
)
def test_search_settings_the_solver_cannot_take_are_usage_errors_naming_the_option(capsys, argv, refusal):
    code, out, err = run(capsys, "solve", str(REFERENCE), *argv)
    assert (code, out) == (2, "")
    assert "usage: planner solve" in err and f"planner: error: {refusal}" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "command",
    [["compare", str(REFERENCE), str(REFERENCE)], ["sweep", str(REFERENCE), "--capacity", "all"], ["batch", str(REFERENCE)], ["explain", str(REFERENCE)]],
)
def test_every_solving_command_refuses_a_seed_out_of_range_before_solving(capsys, command):
    code, out, err = run(capsys, *command, "--seed", "4294967296")
    assert (code, out) == (2, "")
    assert f"usage: planner {command[0]}" in err and "--seed 4294967296: must be at most 2147483647" in err


def test_the_largest_seed_is_taken(capsys):
    code, out, _ = run(capsys, "solve", str(REFERENCE), "--seed", "2147483647", "--workers", "1", "--no-reasons", "--format", "json")
    assert code == 0
    verified(load_scenario(REFERENCE), Plan.model_validate_json(out))
