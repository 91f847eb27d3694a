"""`planner import-csv`: a Jira export becomes initiatives of a scenario, and a bad row is named where it stands."""

from __future__ import annotations

import io

import pytest
import yaml

from api.cli import main
from planner import load_scenario
from planner.plan import PlanStatus
from tests.factories import REFERENCE
from tests.solving import solved

JIRA = """Issue key,Summary,Issue Type,Team,Story Points,Due date,Labels,Labels
PLAT-101,Retire the legacy job runner,Story,Platform,16,2027-06-30,tech-debt,reliability
ML-7,"Ranking model v2:
offline evaluation first",Story,ML,12,,growth,
SRE-3,PCI evidence automation,Task,sre,4,2027-02-15,compliance,
"""

MAPPING = """
effort_per_unit: 2          # two story points per engineer-week
teams: {Platform: platform, ML: ml}
kinds: {tech-debt: tech_debt, compliance: compliance}
themes: {reliability: scale, growth: growth}
"""


def run(tmp_path, csv_text: str, *extra: str) -> tuple[int, str]:
    (tmp_path / "jira.csv").write_text(csv_text)
    (tmp_path / "mapping.yaml").write_text(MAPPING)
    out = io.StringIO()
    code = main(["import-csv", str(tmp_path / "jira.csv"), "--into", str(REFERENCE), "--mapping", str(tmp_path / "mapping.yaml"), *extra], out=out)
    return code, out.getvalue()


def test_a_jira_export_becomes_an_overlay_of_the_reference_that_solves(tmp_path):
    code, _ = run(tmp_path, JIRA, "--out", str(tmp_path / "imported.yaml"))
    assert code == 0
    overlay = yaml.safe_load((tmp_path / "imported.yaml").read_text())
    assert overlay["initiatives"] == [
        {"id": "PLAT-101", "title": "Retire the legacy job runner", "effort": {"platform": 8}, "kind": "tech_debt", "theme": "scale", "deadline": "2027-Q2"},
        {"id": "ML-7", "title": "Ranking model v2:\noffline evaluation first", "effort": {"ml": 6}, "theme": "growth"},
        {"id": "SRE-3", "title": "PCI evidence automation", "effort": {"sre": 2}, "kind": "compliance", "deadline": "2027-Q1"},
    ]
    scenario = load_scenario(tmp_path / "imported.yaml")
    reference = load_scenario(REFERENCE)
    assert len(scenario.initiatives) == len(reference.initiatives) + 3
    assert solved(scenario).status is PlanStatus.optimal


def test_every_bad_row_is_reported_at_its_csv_line_and_column_and_nothing_is_written(tmp_path, capsys):
    bad = JIRA.replace("Platform,16", "Growth squad,16").replace("sre,4,2027-02-15", "sre,four,2029-01-01")
    code, _ = run(tmp_path, bad, "--out", str(tmp_path / "imported.yaml"))
    assert code == 1
    err = capsys.readouterr().err
    csv_file = tmp_path / "jira.csv"
    assert f"{csv_file}:2:4: Team: 'Growth squad' is not a team of the scenario and the mapping's teams do not map it" in err
    # ML-7's summary spans two lines, so SRE-3 stands on line 5.
    assert f"{csv_file}:5:5: Story Points: 'four' is not a number" in err
    assert f"{csv_file}:5:6: Due date: due 2029-01-01 falls in 2029-Q1, outside the horizon 2027-Q1..2027-Q4" in err
    assert not (tmp_path / "imported.yaml").exists()


def test_a_missing_column_names_the_columns_there_are(tmp_path, capsys):
    code, _ = run(tmp_path, JIRA.replace("Story Points", "Estimate"))
    assert code == 1
    assert "no column 'Story Points' for effort (the columns are Issue key, Summary, Issue Type, Team, Estimate" in capsys.readouterr().err


def test_lines_stay_right_after_a_blank_line_and_nan_or_repeated_ids_are_named(tmp_path, capsys):
    rows = JIRA.splitlines()
    bad = "\n".join([rows[0], rows[1], "", *rows[2:4], "PLAT-101,Again,Story,Platform,NaN,,,"]) + "\n"
    code, _ = run(tmp_path, bad)
    assert code == 1
    err = capsys.readouterr().err
    csv_file = tmp_path / "jira.csv"
    assert f"{csv_file}:6:1: Issue key: id 'PLAT-101' is on line 2 already" in err
    assert f"{csv_file}:6:5: Story Points: 'NaN' is not a number" in err


def test_a_control_character_in_a_cell_is_located_at_the_cell(tmp_path, capsys):
    code, _ = run(tmp_path, "Issue key,Summary,Team,Story Points\nA-1,Caf\x0be,platform,3\n")
    assert code == 1  # before: located in imported.yaml, a file that does not exist
    assert (
        capsys.readouterr().err.splitlines()[0]
        == f"{tmp_path / 'jira.csv'}:2:2: Summary: the cell holds the control character U+000B, which is not text; remove it"
    )


def test_an_unknown_team_is_one_problem_not_two(tmp_path, capsys):
    code, _ = run(tmp_path, "Issue key,Summary,Team,Story Points\nA-1,Cafe,nowhere,3\n")
    problems = [line for line in capsys.readouterr().err.splitlines() if "jira.csv:2:" in line]
    assert code == 1 and len(problems) == 1 and "'nowhere' is not a team" in problems[0]  # before: also 'effort 3 is not above 0'


def test_an_encoding_that_is_not_a_text_encoding_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "jira.csv").write_text(JIRA)
    with pytest.raises(SystemExit) as caught:
        main(["import-csv", str(tmp_path / "jira.csv"), "--into", str(REFERENCE), "--encoding", "rot13"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "unknown encoding 'rot13'" in err and "Traceback" not in err
