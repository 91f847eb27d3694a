"""`planner import-csv` on real exports: a Jira Cloud "all fields" export and its Excel re-save become an overlay
of the reference scenario that solves, and what the import leaves out, or cannot read, is said where it stands.

The export (tests/fixtures/jira/) is anonymised and of the shape Jira Cloud writes: 68 issues, 92 columns, the
estimate in `Custom field (Story Points)`, repeated Labels, Sprint, Fix versions and Blocks columns, blank
estimates and teams, sub-tasks and Done issues, epics with children, and multi-line quoted descriptions.
"""

from __future__ import annotations

import io
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.cli import main
from api.cli.importing import USUAL_MOSCOW, Columns, Mapping
from planner import load_scenario
from planner.plan import PlanStatus
from planner.scenario import MoSCoW
from tests.factories import REFERENCE, REPO
from tests.solving import solved
from tests.test_docs import yaml_blocks

FIXTURES = Path(__file__).parent / "fixtures" / "jira"
CLOUD = FIXTURES / "jira-cloud-all-fields.csv"
EXCEL = FIXTURES / "jira-excel-semicolon-cp1252.csv"
MAPPING = (FIXTURES / "mapping.yaml").read_text()


def run(tmp_path: Path, export: Path | str, mapping: str | None = MAPPING, *extra: str) -> tuple[int, dict | None]:
    """Import into the reference scenario; the overlay written (None when nothing was)."""
    if isinstance(export, str):
        (tmp_path / "export.csv").write_text(export, encoding="utf-8")
        export = tmp_path / "export.csv"
    options = ["--mapping", str(tmp_path / "mapping.yaml")] if mapping is not None else []
    if mapping is not None:
        (tmp_path / "mapping.yaml").write_text(mapping)
    out = tmp_path / "imported.yaml"
    code = main(["import-csv", str(export), "--into", str(REFERENCE), *options, "--out", str(out), *extra], out=io.StringIO())
    return code, yaml.safe_load(out.read_text()) if out.exists() else None


def by_id(overlay: dict) -> dict[str, dict]:
    return {item["id"]: item for item in overlay["initiatives"]}


def test_a_jira_cloud_export_becomes_an_overlay_of_the_reference_that_loads_and_solves(tmp_path):
    code, overlay = run(tmp_path, CLOUD)
    assert code == 0 and overlay is not None
    imported = by_id(overlay)
    assert len(imported) == 36
    scenario = load_scenario(tmp_path / "imported.yaml")
    assert len(scenario.initiatives) == len(load_scenario(REFERENCE).initiatives) + 36
    plan = solved(scenario)  # and re-checked by the solver-free checker
    assert plan.status is PlanStatus.optimal
    assert {"SHOP-151", "SHOP-163"} <= {s.id for s in plan.scheduled}


def test_done_issues_and_sub_tasks_are_excluded_and_an_epic_holds_its_childrens_work(tmp_path):
    _, overlay = run(tmp_path, CLOUD)
    imported = by_id(overlay)
    # Done (SHOP-104, SHOP-113, SHOP-166) and Sub-tasks (SHOP-115, SHOP-124) are not imported; nor are the
    # children of an imported epic, whose story points (2 per engineer-week) are summed per team into it.
    assert not {"SHOP-104", "SHOP-113", "SHOP-166", "SHOP-115", "SHOP-124", "SHOP-111", "SHOP-112", "SHOP-121"} & set(imported)
    assert imported["SHOP-101"] == {
        "id": "SHOP-101",
        "title": "Checkout revamp",
        "effort": {"platform": 3, "web": 4},  # SHOP-112: 6 points on Platform; SHOP-111: 8 on Web
        "theme": "growth",
        "deadline": "2027-Q2",  # its children's fix version 2027.2
        "earliest_start": "2027-Q1",  # its children's sprints 41 and 42
        "value": 30,  # its own Priority, High
    }
    assert imported["SHOP-102"]["effort"] == {"data": 5.75, "ml": 6.5}  # 8 + 3.5 data points, 13 ml points
    # The epic's own rough estimate (8 points on SRE) gives way to its children's.
    assert imported["SHOP-103"]["effort"] == {"platform": 1.5, "sre": 2.5}
    # A story of a Done epic stands on its own.
    assert imported["SHOP-142"]["effort"] == {"platform": 2}


def test_blocks_links_become_dependencies_between_imported_issues(tmp_path):
    _, overlay = run(tmp_path, CLOUD)
    imported = by_id(overlay)
    assert imported["SHOP-152"]["depends_on"] == ["SHOP-151"]
    assert imported["SHOP-153"]["depends_on"] == ["SHOP-151"]
    # Blocked by SHOP-122, a child of the epic SHOP-102, and by SHOP-113, which is Done.
    assert imported["SHOP-160"]["depends_on"] == ["SHOP-102"]
    # SHOP-131 blocks SHOP-132 inside the epic SHOP-103: no dependency on itself.
    assert "depends_on" not in imported["SHOP-103"]
    assert "depends_on" not in imported["SHOP-170"]  # blocked by CORE-88, which is not in the file


def test_priority_sprints_fix_versions_due_dates_and_defaults_become_fields(tmp_path):
    _, overlay = run(tmp_path, CLOUD)
    imported = by_id(overlay)
    assert imported["SHOP-160"] | {"depends_on": []} == {
        "id": "SHOP-160",
        "title": "Personalised home feed",
        "effort": {"ml": 6},
        "theme": "growth",
        "deadline": "2027-Q3",  # fix version 2027.3
        "earliest_start": "2027-Q2",  # SHOP Sprint 46
        "value": 50,  # Highest
        "depends_on": [],
    }
    assert imported["SHOP-163"]["deadline"] == "2027-Q1"  # due 15/Feb/27
    assert imported["SHOP-173"]["deadline"] == "2027-Q2"  # due 03/Apr/27
    assert imported["SHOP-172"] == {
        "id": "SHOP-172",
        "title": "Retire the legacy job runner",
        "effort": {"platform": 8},
        "kind": "tech_debt",
        "earliest_start": "2027-Q2",
        "value": 10,
    }
    assert imported["SHOP-162"]["effort"] == {"platform": 2.5}  # no team: defaults.team, Platform
    assert imported["SHOP-175"]["value"] == 10  # no Priority: defaults.value, Medium
    assert imported["SHOP-175"]["title"] == "Café menu translations (résumé of EU locales)"


def test_the_summary_says_what_was_imported_excluded_rolled_up_skipped_and_dropped(tmp_path, capsys):
    run(tmp_path, CLOUD)
    err = capsys.readouterr().err
    f = CLOUD
    assert f"imported 36 initiatives from {f} (5 invisible work) into {tmp_path / 'imported.yaml'}" in err
    assert "read 68 rows of 92 columns (utf-8, delimiter ',')" in err
    assert "excluded 20 rows: 12 Status is Done, 8 Issue Type is Sub-task" in err
    assert "rolled 7 child issues into 3 parents: SHOP-101 (2), SHOP-102 (3), SHOP-103 (2)" in err
    assert "skipped 5 rows with a blank and no default (blanks: skip):" in err
    assert f"{f}:15:52: Custom field (Story Points): SHOP-114 is skipped: no effort (a blank, and no default)" in err
    assert "dropped 4 Blocks links to issues that are not imported:" in err
    assert f"{f}:31:42: Inward issue link (Blocks): SHOP-160 is blocked by SHOP-113; SHOP-113 is not imported (excluded: Status is Done)" in err
    assert f"{f}:40:42: Inward issue link (Blocks): SHOP-170 is blocked by CORE-88; CORE-88 is not imported (not in the file)" in err


def test_an_excel_resave_with_semicolons_cp1252_decimal_commas_and_day_first_dates_imports_the_same(tmp_path, capsys):
    assert b";" in EXCEL.read_bytes()[:200] and "Café".encode("cp1252") in EXCEL.read_bytes()
    code, overlay = run(tmp_path, EXCEL)
    assert code == 0
    cloud = tmp_path / "cloud"
    cloud.mkdir()
    assert overlay["initiatives"] == run(cloud, CLOUD)[1]["initiatives"]
    assert "read 68 rows of 92 columns (cp1252, delimiter ';')" in capsys.readouterr().err


def test_blank_estimates_are_errors_at_their_cells_unless_skipped_or_defaulted(tmp_path, capsys):
    code, overlay = run(tmp_path, CLOUD, MAPPING.replace("blanks: skip", "blanks: fail"))
    assert code == 1 and overlay is None
    err = capsys.readouterr().err
    assert (
        f"{CLOUD}:15:52: Custom field (Story Points): SHOP-114 has no effort: the cell is blank; "
        "give defaults: {effort: ...}, or blanks: skip to leave such rows out"
    ) in err
    assert err.count("has no effort") == 5
    code, overlay = run(tmp_path, CLOUD, MAPPING.replace("blanks: skip", "blanks: fail").replace("defaults:", "defaults:\n  effort: 3"))
    assert code == 0
    assert by_id(overlay)["SHOP-161"]["effort"] == {"ml": 1.5}


def test_include_keeps_only_rows_holding_one_of_the_values(tmp_path, capsys):
    mapping = MAPPING.replace("exclude:", "include:\n  Issue Type: [Bug]\nexclude:")
    code, overlay = run(tmp_path, CLOUD, mapping)
    assert code == 0
    assert sorted(by_id(overlay)) == ["SHOP-163", "SHOP-164", "SHOP-195"]
    assert "34 Issue Type is Story, not Bug" in capsys.readouterr().err


def test_a_moscow_column_gives_value(tmp_path):
    mapping = MAPPING.replace("column: Priority", "column: MoSCoW").replace(
        "{Highest: 50, High: 30, Medium: 10, Low: 3, Lowest: 1}", "{Must: 100, Should: 30, Could: 10, Won't: 0}"
    )
    code, overlay = run(tmp_path, CLOUD, mapping.replace("value: Medium", "value: Could"))
    assert code == 0
    assert [by_id(overlay)[i]["value"] for i in ("SHOP-160", "SHOP-173", "SHOP-176", "SHOP-175")] == [100, 30, 10, 10]


def test_a_moscow_column_labels_each_initiative_and_a_default_fills_its_blanks(tmp_path):
    code, overlay = run(tmp_path, CLOUD, MAPPING.replace("defaults:", "defaults:\n  moscow: could") + "moscow: {column: MoSCoW}\n")
    assert code == 0
    imported = by_id(overlay)
    # The export's Custom field (MoSCoW) says Must, Should and Could; SHOP-175 and SHOP-176 leave it blank.
    assert {i: imported[i]["moscow"] for i in ("SHOP-101", "SHOP-102", "SHOP-172", "SHOP-175", "SHOP-176")} == {
        "SHOP-101": "must",
        "SHOP-102": "should",
        "SHOP-172": "should",
        "SHOP-175": "could",
        "SHOP-176": "could",
    }
    assert imported["SHOP-101"]["value"] == 30  # the value still comes from Priority
    scenario = load_scenario(tmp_path / "imported.yaml")
    must = {i.id for i in scenario.initiatives if i.id in imported and i.mandatory}
    assert must == {"SHOP-101", "SHOP-103", "SHOP-151", "SHOP-160", "SHOP-163", "SHOP-164", "SHOP-170", "SHOP-194"}


LABELLED = """Issue key,Summary,Issue Type,Team,Story Points,Parent,Issue id,MoSCoW,Business Value
APP-1,Audit log export,Story,platform,4,,1,Must have,1
APP-2,Saved searches,Story,web,6,,2,should,20
APP-3,Dark mode,Story,web,4,,3,C,5
APP-4,Voice input,Story,ml,8,,4,Won’t have,90
APP-5,Offline mode,Epic,web,,,5,Could,8
APP-6,Offline storage,Story,web,4,5,6,MUST-HAVE,
APP-7,Offline sync,Story,platform,2,5,7,Not sure,
"""
LABELLED_MAPPING = "columns: {parent: Parent, value: Business Value}\nmoscow:\n  column: MoSCoW\n  map: {Not sure: null}\n"


def test_an_import_with_moscow_labels_solves_with_its_musts_scheduled_and_its_wont_haves_left_out(tmp_path):
    code, overlay = run(tmp_path, LABELLED, LABELLED_MAPPING)
    assert code == 0
    # Any usual spelling, case and apostrophes aside; the epic APP-5 keeps its own label, not its child's.
    assert [(i["id"], i.get("moscow")) for i in overlay["initiatives"]] == [
        ("APP-1", "must"),
        ("APP-2", "should"),
        ("APP-3", "could"),
        ("APP-4", "wont"),
        ("APP-5", "could"),
    ]
    plan = solved(load_scenario(tmp_path / "imported.yaml"))  # and re-checked by the solver-free checker
    assert plan.status is PlanStatus.optimal
    # APP-1 is worth little but is a must; APP-4 is worth the most and fits, but is a won't have.
    assert "APP-1" in plan.scheduled_by_id() and "APP-4" not in plan.scheduled_by_id()
    assert {u.id: u.moscow for u in plan.not_scheduled}["APP-4"] is MoSCoW.wont
    run(tmp_path, LABELLED.replace("Won’t have", "Should"), LABELLED_MAPPING)
    assert "APP-4" in solved(load_scenario(tmp_path / "imported.yaml")).scheduled_by_id()  # as a should, it is


def test_a_moscow_cell_the_map_lacks_is_located_with_a_did_you_mean_and_nothing_is_written(tmp_path, capsys):
    code, overlay = run(tmp_path, LABELLED.replace("should", "Shuold"), "moscow: {column: MoSCoW, map: {P1: must}}\n")
    assert code == 1 and overlay is None
    err = capsys.readouterr().err
    export = tmp_path / "export.csv"
    then = "; map it to must, should, could or wont, or to null to ignore it"
    assert f"{export}:3:8: MoSCoW: 'Shuold' is not in the mapping's moscow.map (did you mean 'Should'?){then}" in err
    assert f"{export}:8:8: MoSCoW: 'Not sure' is not in the mapping's moscow.map (it maps Must, Must have" in err
    assert "P1" in err  # the mapping's own words are among those it maps


def test_a_moscow_default_without_a_moscow_column_is_an_error_in_the_mapping(tmp_path, capsys):
    code, _ = run(tmp_path, LABELLED, "defaults: {moscow: could}\n")
    assert code == 1
    assert "defaults.moscow is read like a cell of the MoSCoW column: give moscow: {column: ...} too" in capsys.readouterr().err


def test_a_missing_column_is_named_where_the_mapping_names_it_with_a_did_you_mean(tmp_path, capsys):
    code, _ = run(tmp_path, CLOUD, MAPPING.replace("effort: Story Points", "effort: Story Pionts").replace("Issue Type: [Sub-task]", "Issue type: [Sub-task]"))
    assert code == 1
    err = capsys.readouterr().err
    mapping = tmp_path / "mapping.yaml"
    assert f"{mapping}:3:11: columns.effort: {CLOUD} has no column 'Story Pionts' (did you mean 'Custom field (Story Points)'?)" in err
    assert "Summary, Issue key" not in err  # not a list of 92 columns
    # Case aside, `Issue type` is the export's `Issue Type`, as Jira Cloud and Server spell their fields differently.
    assert "Issue type" not in err


def test_a_missing_default_column_is_located_at_the_header(tmp_path, capsys):
    code, _ = run(tmp_path, "IssueKey,Summary,Team,Story Points\nA-1,One,platform,3\n", None)
    assert code == 1
    assert f"{tmp_path / 'export.csv'}:1: no column 'Issue key' for id (did you mean 'IssueKey'?); set columns.id in the mapping" in capsys.readouterr().err


SERVER = """Summary,Issue key,Issue id,Issue Type,Status,Custom field (Team),Custom field (Story Points),Fix Version/s,Fix Version/s,Custom field (Epic Link),Due Date
Payments epic,PAY-1,20001,Epic,To Do,Platform,,,,,
Card vault,PAY-2,20002,Story,To Do,Platform,"3,5",2027.3,2027.2,PAY-1,
Refunds,PAY-3,20003,Story,To Do,Web & Mobile,4,,,PAY-1,13/04/2027
Wallets,PAY-4,20004,Story,To Do,Web & Mobile,2,,,,03/04/2027
"""
SERVER_MAPPING = """
columns: {parent: Epic Link}
teams: {Platform: platform, Web & Mobile: web}
deadline: {column: Fix Version/s, map: {"2027.2": 2027-Q2, "2027.3": 2027-Q3}}
"""


def test_a_jira_server_export_with_epic_links_version_s_columns_and_day_first_dates(tmp_path):
    code, overlay = run(tmp_path, SERVER, SERVER_MAPPING)
    assert code == 0
    # 13/04/2027 can only be day-first, so 03/04/2027 in the same column is 3 April, not 4 March.
    assert overlay["initiatives"] == [
        {"id": "PAY-1", "title": "Payments epic", "effort": {"platform": 3.5, "web": 4}, "deadline": "2027-Q2"},
        {"id": "PAY-4", "title": "Wallets", "effort": {"web": 2}, "deadline": "2027-Q2"},
    ]


def test_dates_that_could_be_read_two_ways_ask_for_the_order_at_the_cell(tmp_path, capsys):
    ambiguous = SERVER.replace("13/04/2027", "05/04/2027")
    code, overlay = run(tmp_path, ambiguous, SERVER_MAPPING)
    assert code == 1 and overlay is None
    assert (
        f"{tmp_path / 'export.csv'}:4:11: Due Date: '05/04/2027' could be day 5 or day 4 of the month, and no date in the column "
        "tells which comes first: give --dayfirst or --monthfirst (or date_format in the mapping)"
    ) in capsys.readouterr().err
    assert run(tmp_path, ambiguous, SERVER_MAPPING, "--monthfirst")[1]["initiatives"][0]["deadline"] == "2027-Q2"  # 4 May
    assert run(tmp_path, ambiguous, SERVER_MAPPING, "--dayfirst")[1]["initiatives"][1]["deadline"] == "2027-Q2"  # 3 April


def test_a_column_with_both_date_orders_is_an_error_not_two_readings(tmp_path, capsys):
    code, _ = run(tmp_path, SERVER.replace("03/04/2027", "04/13/2027"), SERVER_MAPPING)
    assert code == 1
    assert (
        f"{tmp_path / 'export.csv'}:5:11: Due Date: '04/13/2027' and '13/04/2027' (line 4) put the day in different places: "
        "one column has one order; fix the cell, or set date_format in the mapping"
    ) in capsys.readouterr().err


def test_values_sprints_and_periods_the_mapping_does_not_know_are_located_with_a_did_you_mean(tmp_path, capsys):
    mapping = MAPPING.replace("High: 30", "Hihg: 30").replace("SHOP Sprint 46: 2027-Q2", "SHOP Sprint 46: 2027-Q5")
    code, _ = run(tmp_path, CLOUD.read_text().replace("SHOP Sprint 47", "SHOP Sprint 74"), mapping)
    assert code == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'mapping.yaml'}:30:21: earliest_start.map['SHOP Sprint 46']: '2027-Q5' is not a period of acme-2027 (2027-Q1..2027-Q4)" in err
    code, _ = run(tmp_path, CLOUD.read_text().replace("SHOP Sprint 47", "SHOP Sprint 74"), MAPPING.replace("High: 30", "Hihg: 30"))
    err = capsys.readouterr().err
    assert "export.csv:2:12: Priority: 'High' is not in the mapping's value.map (did you mean 'Hihg'?)" in err
    assert (
        "Sprint: 'SHOP Sprint 74' is not in the mapping's earliest_start.map (did you mean 'SHOP Sprint 47'?); map it to a period, or to null to ignore it"
        in err
    )


def test_blocks_links_that_go_round_in_a_circle_are_located(tmp_path, capsys):
    csv_text = "Issue key,Summary,Team,Story Points,Outward issue link (Blocks)\nA-1,One,platform,3,A-2\nA-2,Two,platform,3,A-3\nA-3,Three,platform,3,A-1\n"
    code, _ = run(tmp_path, csv_text, None)
    assert code == 1
    err = capsys.readouterr().err
    assert "export.csv:2:5: Outward issue link (Blocks): the Blocks links go round in a circle: A-1 blocks A-2 blocks A-3 blocks A-1; remove one of them" in err


def test_a_row_with_more_cells_than_the_header_or_an_open_quote_is_located_without_pandas_words(tmp_path, capsys):
    code, _ = run(tmp_path, "Issue key,Summary,Team,Story Points\nA-1,One,platform,3\nA-2,Two, three,platform,3\n", None)
    assert code == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'export.csv'}:3:5: the row has 5 cells and the header 4 (read with delimiter ','): is a quote out of place" in err
    code, _ = run(tmp_path, 'Issue key,Summary,Team,Story Points\nA-1,"One,platform,3\nA-2,Two,platform,3\n', None)
    assert code == 1
    assert f"{tmp_path / 'export.csv'}:2: a quoted cell in the row that starts here is never closed" in capsys.readouterr().err


def test_a_wrong_delimiter_is_said_at_the_first_rows_only(tmp_path, capsys):
    rows = "".join(f"A-{n};Sizes 3,5 and 4,5;platform;2\n" for n in range(15))
    code, _ = run(tmp_path, "Issue key;Summary;Team;Story Points\n" + rows, None, "--delimiter", ",")
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("cells and the header 1 (read with delimiter ',')") == 10
    assert f"{tmp_path / 'export.csv'}: and 5 more rows with more cells than the header" in err


def test_a_sep_line_and_an_explicit_delimiter_and_encoding_are_honoured(tmp_path, capsys):
    text = "sep=;\nIssue key;Summary;Team;Story Points\nA-1;Crème brûlée;platform;2,5\n"
    (tmp_path / "latin.csv").write_bytes(text.encode("latin-1"))
    code, overlay = run(tmp_path, tmp_path / "latin.csv", None, "--encoding", "latin-1")
    assert code == 0
    assert overlay["initiatives"] == [{"id": "A-1", "title": "Crème brûlée", "effort": {"platform": 2.5}}]
    (tmp_path / "tabs.csv").write_text("Issue key\tSummary\tTeam\tStory Points\nA-1\tOne\tplatform\t2\n")
    assert run(tmp_path, tmp_path / "tabs.csv", None, "--delimiter", "tab")[0] == 0
    with pytest.raises(SystemExit) as usage:
        main(["import-csv", str(tmp_path / "tabs.csv"), "--into", str(REFERENCE), "--encoding", "klingon"], out=io.StringIO())
    assert usage.value.code == 2
    assert "unknown encoding 'klingon'" in capsys.readouterr().err


def test_a_byte_order_mark_does_not_hide_the_first_column_even_with_an_explicit_utf8(tmp_path):
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbfIssue key,Summary,Team,Story Points\nA-1,One,platform,3\n")
    for extra in ([], ["--encoding", "utf-8"]):
        code, overlay = run(tmp_path, tmp_path / "bom.csv", None, *extra)
        assert code == 0 and overlay["initiatives"][0]["id"] == "A-1"


def test_bytes_that_are_neither_utf8_nor_windows_1252_ask_for_the_encoding_at_their_line(tmp_path, capsys):
    (tmp_path / "odd.csv").write_bytes(b"Issue key,Summary,Team,Story Points\nA-1,One,platform,3\nA-2,T\x81o,platform,3\n")
    code, _ = run(tmp_path, tmp_path / "odd.csv", None)
    assert code == 1
    assert f"{tmp_path / 'odd.csv'}:3: byte 0x81 is neither UTF-8 nor Windows-1252: give the file's --encoding" in capsys.readouterr().err


HEADER = "Issue key,Summary,Team,Story Points,Due date,Labels,Labels,Outward issue link (Blocks)\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=400),
        st.lists(st.lists(st.text(alphabet=string.printable + "é\x00\"';,\t", max_size=12), max_size=10).map(",".join), max_size=6).map(
            lambda rows: (HEADER + "\n".join(rows)).encode()
        ),
    )
)
def test_no_input_ends_in_a_traceback_or_a_partial_file(tmp_path, body):
    (tmp_path / "any.csv").write_bytes(body)
    out = tmp_path / "imported.yaml"
    out.unlink(missing_ok=True)
    code = main(["import-csv", str(tmp_path / "any.csv"), "--into", str(REFERENCE), "--out", str(out)], out=io.StringIO())
    assert code in (0, 1)
    assert out.exists() == (code == 0)


def test_the_mapping_the_format_docs_show_has_every_key_and_is_one_the_importer_reads():
    (shown,) = [yaml.safe_load(block) for block in yaml_blocks(REPO / "docs" / "scenario-format.md") if block.startswith("columns:")]
    assert set(shown) == set(Mapping.model_fields)
    assert set(shown["columns"]) == set(Columns.model_fields)
    mapping = Mapping.model_validate(shown)
    assert mapping.moscow is not None and mapping.moscow.map  # the example shows a map of the mapping's own words
    format_docs = (REPO / "docs" / "scenario-format.md").read_text()
    assert [spelling for spelling in USUAL_MOSCOW if f"`{spelling}`" not in format_docs] == []  # the usual spellings are all listed
