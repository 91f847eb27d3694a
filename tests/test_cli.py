"""`planner check FILE... [--strict] [--format text|json]`: exit 0 valid, 1 invalid, 2 usage error.

Most tests call `main` in-process and read what it prints; one runs the real command in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from api.cli import main
from tests.factories import scenario_data, write_yaml

INVALID = """\
name: broken
horizon: {start: 2027-Q1, periods: 2}
teams:
  - {id: web, capacity: 10}
initiatives:
  - id: signup
    title: New signup
    effort: {wbe: 8}
    value: 20
"""
PROBLEM = "initiatives[0].effort.wbe: unknown team 'wbe' (did you mean 'web'?)"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # file names as a user types them
    return tmp_path


@pytest.fixture
def valid(folder) -> str:
    write_yaml(folder, "tiny.yaml", scenario_data())
    return "tiny.yaml"


@pytest.fixture
def invalid(folder) -> str:
    (folder / "broken.yaml").write_text(INVALID)
    return "broken.yaml"


@pytest.fixture
def warned(folder) -> str:
    data = scenario_data()
    del data["initiatives"][2]["value"]  # optional and worth nothing: valid, but probably a slip
    write_yaml(folder, "warned.yaml", data)
    return "warned.yaml"


def usage_error(capsys, argv: list[str]) -> str:
    """What a usage error prints on stderr, after checking it exits 2."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_a_valid_file_exits_0_with_an_ok_line_summarising_it(capsys, valid):
    assert main(["check", valid]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "ok tiny.yaml: tiny: 2 quarters 2027-Q1..2027-Q2, 2 teams, 3 initiatives (0 required), demand 16 of capacity 30 engineer-weeks (25% invisible work)",
        "1 checked: 1 valid, 0 invalid",
    ]


def test_an_invalid_file_exits_1_with_file_line_column_path_and_message(capsys, invalid):
    assert main(["check", invalid]) == 1
    assert capsys.readouterr().out.splitlines() == [f"broken.yaml:8:19: {PROBLEM}", "1 checked: 0 valid, 1 invalid"]


def test_a_missing_file_is_reported_by_name_without_a_traceback(capsys, folder):
    code = main(["check", "nope.yaml"])
    out, err = capsys.readouterr()
    assert code != 0
    assert "nope.yaml: no such file" in err
    assert "Traceback" not in out + err


def test_a_missing_file_is_a_usage_error(capsys, folder):
    assert main(["check", "nope.yaml"]) == 2


def test_no_arguments_is_a_usage_error(capsys):
    assert "usage: planner" in usage_error(capsys, [])


def test_check_without_a_file_is_a_usage_error_naming_what_is_missing(capsys):
    err = usage_error(capsys, ["check"])
    assert "usage: planner check" in err and "required: FILE" in err


def test_an_unknown_option_is_a_usage_error_naming_it(capsys, valid):
    err = usage_error(capsys, ["check", "--fast", valid])
    assert "usage: planner" in err and "unrecognized arguments: --fast" in err


def test_an_unknown_format_is_a_usage_error_listing_the_choices(capsys, valid):
    err = usage_error(capsys, ["check", "--format", "xml", valid])
    assert "invalid choice: 'xml'" in err and "'text', 'json'" in err


def test_json_output_carries_each_located_problem(capsys, invalid):
    assert main(["check", "--format", "json", invalid]) == 1
    (result,) = json.loads(capsys.readouterr().out)
    assert (result["file"], result["valid"], result["summary"]) == ("broken.yaml", False, None)
    assert result["problems"] == [
        {
            "message": "unknown team 'wbe' (did you mean 'web'?)",
            "severity": "error",
            "location": {"file": "broken.yaml", "line": 8, "column": 19, "path": "initiatives[0].effort.wbe"},
        }
    ]


def test_json_output_of_a_valid_file_carries_its_summary(capsys, valid):
    assert main(["check", "--format", "json", valid]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert (result["valid"], result["problems"]) == (True, [])
    assert result["summary"].startswith("tiny: 2 quarters 2027-Q1..2027-Q2")


def test_a_warning_is_printed_but_does_not_fail_the_check(capsys, warned):
    assert main(["check", warned]) == 0
    out = capsys.readouterr().out
    assert "warned.yaml:" in out and "initiatives[2]: warning: initiative 'promo' has no value inputs" in out


def test_solve_prints_a_warning_once_at_its_location(capsys, warned):
    assert main(["solve", warned, "--time-limit", "5", "--no-reasons"]) == 0
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert line.startswith("warned.yaml:") and line.count("warning:") == 1  # was 'warning: warned.yaml:...: warning: ...'


def test_strict_turns_a_warning_into_failure(capsys, warned):
    assert main(["check", "--strict", warned]) == 1
    assert "warning: initiative 'promo' has no value inputs" in capsys.readouterr().out


def test_several_files_are_each_reported_and_any_invalid_one_fails_the_run(capsys, valid, invalid):
    assert main(["check", valid, invalid]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ok tiny.yaml: tiny:")
    assert out[1:] == [f"broken.yaml:8:19: {PROBLEM}", "2 checked: 1 valid, 1 invalid"]


def test_the_installed_command_reports_problems_and_exits_1_without_a_traceback(folder, invalid):
    run = subprocess.run([sys.executable, "-m", "api", "check", invalid], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert f"broken.yaml:8:19: {PROBLEM}" in run.stdout.splitlines()
    assert run.stderr == ""
