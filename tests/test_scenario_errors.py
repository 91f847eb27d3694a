"""Every class of bad input gets a located, plain-sentence error: file, line, field path, words.

Each case edits one known document (BASE, whose line numbers are fixed) and checks the problem the
user would read.
"""

from __future__ import annotations

import json

import pytest

from planner import Problem, ScenarioError, load, source
from planner.scenario import Scenario
from planner.source import MAX_BYTES
from tests.factories import REFERENCE, scenario_data

BASE = """\
name: t
horizon: {start: 2027-Q1, periods: 4}
themes: [{id: growth}, {id: trust}]
teams:
  - id: web
    capacity: 10
    skills: [frontend]
  - id: ops
    capacity: [4, 6, 6, 6]
    skills: [infra]
initiatives:
  - id: signup
    title: New signup
    theme: growth
    effort: {web: 8}
    value: 20
  - id: cdn
    title: CDN move
    kind: infrastructure
    effort: {ops: 4}
    value: 5
    depends_on: [signup]
policies:
  invisible_work: {min_share: 0.2}
"""


def variant(**lines: str) -> str:
    """BASE with some lines replaced: variant(l13="    titel: x") replaces line 13 (may add lines)."""
    text = BASE.splitlines()
    for key, replacement in sorted(lines.items(), key=lambda kv: -int(kv[0][1:])):
        text[int(key[1:]) - 1 : int(key[1:])] = replacement.splitlines()
    return "\n".join(text) + "\n"


def problems(tmp_path, text: str, name: str = "plan.yaml") -> list[Problem]:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load(path)
    return caught.value.problems


def at(found: list[Problem], path: str) -> Problem:
    matching = [p for p in found if p.location.path == path]
    assert matching, f"no problem at {path}; got: " + "; ".join(str(p) for p in found)
    return matching[0]


def test_base_document_is_valid(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(BASE)
    assert load(path).scenario.name == "t"


CASES = [
    # (case, edits, field path, line, words the message must contain)
    ("unknown key", {"l13": "    titel: New signup"}, "initiatives[0].titel", 13, ["unknown key 'titel'", "did you mean 'title'"]),
    ("missing key", {"l13": ""}, "initiatives[0].title", 12, ["missing required key 'title'"]),
    ("wrong type", {"l21": "    value: lots"}, "initiatives[1].value", 21, ["must be a number", "'lots'"]),
    ("negative capacity", {"l6": "    capacity: -10"}, "teams[0].capacity", 6, ["cannot be negative", "-10"]),
    ("non-numeric capacity in a list", {"l9": "    capacity: [4, six, 6, 6]"}, "teams[1].capacity[1]", 9, ["must be a number", "'six'"]),
    ("non-numeric effort", {"l20": "    effort: {ops: four}"}, "initiatives[1].effort.ops", 20, ["must be a number", "'four'"]),
    ("too many decimals", {"l20": "    effort: {ops: 4.125}"}, "initiatives[1].effort.ops", 20, ["4.125", "more than 2 decimal places"]),
    ("unknown team", {"l20": "    effort: {opps: 4}"}, "initiatives[1].effort.opps", 20, ["unknown team 'opps'", "did you mean 'ops'"]),
    ("unknown skill", {"l20": "    needs: [{skill: ml, effort: 4}]"}, "initiatives[1].needs[0].skill", 20, ["no team has skill 'ml'", "frontend, infra"]),
    ("need with team and skill", {"l20": "    needs: [{team: ops, skill: infra, effort: 4}]"}, "initiatives[1].needs[0]", 20, ["either a team or a skill"]),
    ("unknown theme", {"l14": "    theme: growht"}, "initiatives[0].theme", 14, ["unknown theme 'growht'", "did you mean 'growth'"]),
    (
        "unknown period",
        {"l16": "    value: 20\n    deadline: 2027-Q7"},
        "initiatives[0].deadline",
        17,
        ["'2027-Q7' is not a period of the horizon", "2027-Q1 .. 2027-Q4"],
    ),
    ("date instead of a label", {"l16": "    value: 20\n    deadline: 2027-06-30"}, "initiatives[0].deadline", 17, ["is a date", "by label"]),
    ("unknown period in capacity", {"l6": "    capacity: {default: 10, 2027-Q5: 4}"}, "teams[0].capacity.2027-Q5", 6, ["'2027-Q5' is not a period"]),
    ("capacity list of the wrong length", {"l9": "    capacity: [4, 6, 6]"}, "teams[1].capacity", 9, ["lists 3 capacities", "horizon has 4 periods"]),
    (
        "capacity mapping without default",
        {"l6": "    capacity: {2027-Q1: 10}"},
        "teams[0].capacity",
        6,
        ["no capacity for 2027-Q2, 2027-Q3, 2027-Q4", "default"],
    ),
    ("unknown initiative", {"l22": "    depends_on: [sigup]"}, "initiatives[1].depends_on[0]", 22, ["unknown initiative 'sigup'", "did you mean 'signup'"]),
    ("unknown excluded initiative", {"l22": "    excludes: [sign-up]"}, "initiatives[1].excludes[0]", 22, ["unknown initiative 'sign-up'"]),
    ("self dependency", {"l22": "    depends_on: [cdn]"}, "initiatives[1].depends_on[0]", 22, ["cannot name itself"]),
    ("duplicate initiative id", {"l17": "  - id: signup"}, "initiatives[1].id", 17, ["duplicate id 'signup'", "initiatives[0]"]),
    ("duplicate team id", {"l8": "  - id: web"}, "teams[1].id", 8, ["duplicate id 'web'"]),
    ("invalid id", {"l17": "  - id: cdn move"}, "initiatives[1].id", 17, ["'cdn move' is not a valid id"]),
    ("dependency cycle", {"l16": "    value: 20\n    depends_on: [cdn]"}, "initiatives[1].depends_on[0]", 23, ["dependency cycle: signup -> cdn -> signup"]),
    (
        "deadline before earliest start",
        {"l16": "    value: 20\n    earliest_start: 2027-Q3\n    deadline: 2027-Q2"},
        "initiatives[0].deadline",
        18,
        ["deadline 2027-Q2 is before earliest_start 2027-Q3"],
    ),
    (
        "duration longer than the horizon",
        {"l16": "    value: 20\n    duration: 5"},
        "initiatives[0].duration",
        17,
        ["duration 5 does not fit in the horizon of 4 quarters"],
    ),
    (
        "mandatory work whose window is too short",
        {"l16": "    value: 20\n    mandatory: true\n    duration: 3\n    deadline: 2027-Q2"},
        "initiatives[0].duration",
        18,
        ["needs 3 periods but only 2", "deadline 2027-Q2"],
    ),
    (
        "committed start that overruns the horizon",
        {"l16": "    value: 20\n    committed: 2027-Q4\n    duration: 2"},
        "initiatives[0].committed",
        17,
        ["2027-Q4", "run past the horizon's end"],
    ),
    (
        "mandatory initiatives that exclude each other",
        {"l16": "    value: 20\n    mandatory: true\n    excludes: [cdn]", "l21": "    value: 5\n    mandatory: true"},
        "initiatives[0].excludes[0]",
        18,
        ["'signup' and 'cdn' are both required", "exclude each other"],
    ),
    ("share above 1", {"l24": "  invisible_work: {min_share: 1.2}"}, "policies.invisible_work.min_share", 24, ["between 0 and 1", "1.2"]),
    ("negative share", {"l24": "  invisible_work: {team_min_share: {web: -0.1}}"}, "policies.invisible_work.team_min_share.web", 24, ["between 0 and 1"]),
    (
        "floor for an unknown team",
        {"l24": "  invisible_work: {team_min_share: {wbe: 0.1}}"},
        "policies.invisible_work.team_min_share.wbe",
        24,
        ["unknown team 'wbe'", "did you mean 'web'"],
    ),
    (
        "cap below floor",
        {"l24": "  invisible_work: {min_share: 0.3, max_share: 0.1}"},
        "policies.invisible_work.max_share",
        24,
        ["max_share 0.1 is below min_share 0.3"],
    ),
    (
        "share for an unknown theme",
        {"l24": "  themes: {growht: {max_share: 0.5}}"},
        "policies.themes.growht",
        24,
        ["unknown theme 'growht'", "did you mean 'growth'"],
    ),
    (
        "misspelt granularity",
        {"l2": "horizon: {start: 2027-Q1, periods: 4, granularity: quartr}"},
        "horizon.granularity",
        2,
        ["'quartr' is not one of", "did you mean 'quarter'"],
    ),
    (
        "start label of another granularity",
        {"l2": "horizon: {start: 2027-01, periods: 4, granularity: quarter}"},
        "horizon.start",
        2,
        ["'2027-01' is not a quarter label", "2027-Q1"],
    ),
    ("whole number expected", {"l2": "horizon: {start: 2027-Q1, periods: 2.5}"}, "horizon.periods", 2, ["whole number", "2.5"]),
    (
        "inputs of another scoring framework",
        {"l16": "    rice: {reach: 1, impact: 1, confidence: 0.5}"},
        "initiatives[0].rice",
        16,
        ["gives rice inputs but policies.scoring is 'value'"],
    ),
    ("duplicate YAML key", {"l16": "    value: 20\n    value: 30"}, "initiatives[0].value", 17, ["duplicate key 'value'", "line 16"]),
]


@pytest.mark.parametrize("case, edits, path, line, words", CASES, ids=[c[0] for c in CASES])
def test_error_names_file_line_field_and_cause(tmp_path, case, edits, path, line, words):
    problem = at(problems(tmp_path, variant(**edits)), path)
    assert problem.location.file == str(tmp_path / "plan.yaml")
    assert problem.location.line == line, str(problem)
    for word in words:
        assert word in problem.message, str(problem)
    assert str(problem).startswith(f"{tmp_path / 'plan.yaml'}:{line}:")


def test_every_problem_in_a_file_is_reported_at_once(tmp_path):
    found = problems(tmp_path, variant(l14="    theme: growht", l20="    effort: {opps: 4}", l22="    depends_on: [sigup]"))
    assert [p.location.path for p in found] == ["initiatives[0].theme", "initiatives[1].effort.opps", "initiatives[1].depends_on[0]"]


def test_yaml_syntax_error_is_located(tmp_path):
    (problem,) = problems(tmp_path, variant(l13="    title: [New signup"))
    assert "YAML syntax error" in problem.message
    assert problem.location.line is not None and problem.location.line >= 13


@pytest.mark.parametrize("line, found", [("    depends_on: [*nowhere]", "undefined alias 'nowhere'"), ("\tvalue: 5", "character '\\t'")])
def test_yaml_syntax_errors_name_what_they_found(tmp_path, line, found):
    (problem,) = problems(tmp_path, variant(l22=line))
    assert found in problem.message and problem.location.line == 22


def test_libyaml_and_pure_python_read_a_scenario_the_same_to_the_column():
    text = REFERENCE.read_text()
    fast, pure = (source._compose(text, "acme.yaml", construct=True, fast=f) for f in (True, False))
    assert fast[0] == pure[0] and fast[1] == pure[1]


def test_a_document_that_is_not_a_mapping_is_refused(tmp_path):
    (problem,) = problems(tmp_path, "- name: t\n- horizon: {}\n")
    assert "not a mapping" in problem.message and problem.location.line == 1


def test_an_empty_document_is_refused(tmp_path):
    (problem,) = problems(tmp_path, "# nothing yet\n")
    assert "empty" in problem.message


def test_unsafe_yaml_tags_are_refused_not_run(tmp_path):
    (problem,) = problems(tmp_path, variant(l1="name: !!python/object/apply:os.system ['echo hacked']"))
    assert "python/object" in problem.message and problem.location.line == 1


def test_alias_bombs_are_refused(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in range(1, 8):
        bomb += f"{chr(97 + level)}: &{chr(97 + level)} [" + ", ".join([f"*{chr(96 + level)}"] * 10) + "]\n"
    (problem,) = problems(tmp_path, bomb)
    assert "aliases" in problem.message


def test_files_over_5_mb_are_refused_before_reading(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("name: big\n" + "#" * MAX_BYTES)
    with pytest.raises(ScenarioError) as caught:
        load(big)
    (problem,) = caught.value.problems
    assert "limited to 5 MB" in problem.message and problem.location.file == str(big)


def test_a_missing_file_is_a_problem_not_a_traceback(tmp_path):
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path / "nope.yaml")
    assert caught.value.problems[0].message == "no such file"


def test_json_errors_are_located_too(tmp_path):
    data = {
        "name": "j",
        "horizon": {"start": "2027-Q1", "periods": 2},
        "teams": [{"id": "web", "capacity": 5}],
        "initiatives": [{"id": "a", "title": "A", "effort": {"wbe": 1}, "value": 1}],
    }
    text = json.dumps(data, indent=2)
    found = problems(tmp_path, text, name="plan.json")
    problem = at(found, "initiatives[0].effort.wbe")
    assert "unknown team 'wbe'" in problem.message
    wbe_line = next(n for n, line in enumerate(text.splitlines(), 1) if '"wbe"' in line)
    assert problem.location.line == wbe_line


def test_json_syntax_error_is_located(tmp_path):
    (problem,) = problems(tmp_path, '{\n  "name": "j",\n  "horizon": {\n}}}', name="plan.json")
    assert "JSON syntax error" in problem.message and problem.location.line == 4


def test_thousands_of_unknown_references_are_each_located_and_only_the_first_fifty_get_a_suggestion():
    # Each "did you mean" search compares a name with every id: run for every one of thousands of bad
    # references, validation took time quadratic in the file (3,000 took 17 s; 20,000 over 150 s).
    data = scenario_data()
    data["initiatives"] += [{"id": f"item-{k}", "title": "t", "effort": {"web": 1}, "value": 1, "depends_on": [f"item-{k}x"]} for k in range(3000)]
    with pytest.raises(ScenarioError) as caught:
        Scenario.model_validate(data)
    unknown = [p for p in caught.value.problems if "unknown initiative" in p.message]
    assert len(unknown) == 3000
    assert unknown[0].message == "unknown initiative 'item-0x' (did you mean 'item-0'?)"
    assert [("did you mean" in p.message) for p in unknown] == [True] * 50 + [False] * 2950
    assert unknown[2999].message == "unknown initiative 'item-2999x'"
