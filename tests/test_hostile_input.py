"""Hostile and broken input: every file gets a located sentence and changes nothing; none gets a traceback.

The corpus is `tests/hostile/` (one small file per way of breaking a scenario, see CORPUS) plus what is
too big to commit, made here: nesting 50,000 deep, a 5,000-digit number, an oversized file, a FIFO named
by `extends:`. Each is read by `planner check` and sent to the service; then random bytes and random YAML
structures are, as a property.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.cli import main
from planner import ScenarioError, load
from planner.source import parse_text
from tests.service import Api, close, make_api

HOSTILE = Path(__file__).parent / "hostile"

CORPUS = {
    # file: (line, column, words the message holds)
    "control-raw-esc.yaml": (6, 22, "the document holds the control character U+001B, which is not text"),
    "control-raw-nul.yaml": (6, 21, "the document holds the control character U+0000, which is not text"),
    "control-escaped.yaml": (6, 20, "this text holds the control character U+001B"),
    "control-escaped.json": (3, 39, "this text holds the control character U+0000"),
    "impossible-date.yaml": (6, 64, "`2027-02-30` is not a date: day is out of range for month"),
    "tag-int.yaml": (6, 48, "`abc` is not an integer"),
    "tag-float.yaml": (6, 48, "`abc` is not a number"),
    "tag-timestamp.yaml": (6, 64, "`foo` is not a date"),
    "tag-binary.yaml": (6, 20, "binary data (!!binary) is not text"),
    "tag-python.yaml": (6, 20, "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'"),
    "recursive-alias.yaml": (7, 14, "this value holds itself through an alias"),
    "recursive-alias-overlay.yaml": (3, 14, "this value holds itself through an alias"),
    "beyond-64-bit.yaml": (4, 25, "an amount of 100000000000000000000000 is more than the planner counts exactly (at most 10,000,000)"),
    "value-1e300.yaml": (6, 48, "must be at most 1000000000"),
    "rice-overflow.yaml": (10, 11, "initiative 'a' scores 1e+18 by rice, more than the planner counts exactly"),
    "theme-floors-over-1.yaml": (10, 5, "the themes' min_share add up to 1.8 (growth 0.9, health 0.9)"),
    "not-utf8.yaml": (6, 24, "not UTF-8 text: byte 0xE9"),
    "empty.yaml": (1, 1, "the document is empty"),
    "comments-only.yaml": (1, 1, "the document is empty"),
    "not-a-mapping.yaml": (1, 1, "the document is not a mapping"),
    "alias-bomb.yaml": (6, 4, "this value expands to more than 1,000,000 values through YAML aliases"),
}
VALID = ["merge-key.yaml", "bidi-name.yaml"]

CONTENT_TYPES = {".yaml": "application/yaml", ".json": "application/json"}


def test_the_corpus_is_all_here():
    assert sorted(p.name for p in HOSTILE.iterdir()) == sorted([*CORPUS, *VALID])


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Any:
    service = make_api(tmp_path_factory.mktemp("service"))
    yield service
    close(service)


def checked(capsys: pytest.CaptureFixture[str], path: Path | str) -> tuple[int, str]:
    """`planner check PATH`: its exit code and everything it printed (never a traceback)."""
    code = main(["check", str(path)])
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err
    return code, printed.out + printed.err


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_planner_check_locates_each_hostile_file(capsys, monkeypatch, name):
    monkeypatch.chdir(HOSTILE)
    line, column, words = CORPUS[name]
    code, printed = checked(capsys, name)
    assert code == 1
    first = printed.splitlines()[0]
    assert first.startswith(f"{name}:{line}:{column}: ") and words in first, first


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_the_service_answers_each_hostile_file_with_its_location_and_stores_nothing(api: Api, name):
    body = (HOSTILE / name).read_bytes()
    line, _, words = CORPUS[name]
    headers = {"Content-Type": CONTENT_TYPES[Path(name).suffix]}
    before = api.get("/scenarios").get_json()["total"]
    answer = api.post("/scenarios/validate", role="viewer", data=body, headers=headers)
    if not body:
        assert answer.status_code == 400 and "send the scenario document" in answer.get_json()["detail"]
        return
    # A document: valid or not (200). A body that is not text at all is a bad request (400), located the same.
    if answer.status_code == 200:
        assert answer.get_json()["valid"] is False
        error = answer.get_json()["errors"][0]
        assert error["location"]["line"] == line and words in error["message"]
    else:
        assert answer.status_code == 400 and answer.get_json()["errors"][0]["location"]["line"] == line, answer.get_data(as_text=True)[:300]
    stored = api.post("/scenarios", data=body, headers=headers)
    assert stored.status_code in (400, 422) and stored.get_json()["errors"][0]["location"]["line"] == line
    assert api.get("/scenarios").get_json()["total"] == before


def test_the_yaml_merge_key_simply_works_and_its_values_stand_where_they_were_written(tmp_path):
    initiatives = {i.id: i for i in load(HOSTILE / "merge-key.yaml").scenario.initiatives}
    assert initiatives["b"].title == "B" and initiatives["b"].kind == "tech_debt" and float(initiatives["b"].effort["web"]) == 3
    assert initiatives["c"].value == 7 and initiatives["c"].kind == "tech_debt" and initiatives["a"].value == 5
    broken = tmp_path / "merge.yaml"
    broken.write_text((HOSTILE / "merge-key.yaml").read_text().replace("effort: {web: 3}", "effort: {wbe: 3}"))
    with pytest.raises(ScenarioError) as caught:
        load(broken)
    # The bad team is in the anchored original (line 6): each initiative that merges it is pointed there.
    assert {(p.location.line, p.location.path) for p in caught.value.problems} == {
        (6, "initiatives[0].effort.wbe"),
        (6, "initiatives[1].effort.wbe"),
        (6, "initiatives[2].effort.wbe"),
    }


@pytest.mark.parametrize(
    "text, words",
    [
        ("name: x\nfoo: " + "[" * 50_000 + "]" * 50_000 + "\n", "exceeded maximum nesting depth"),
        ("name: x\nfoo:\n" + "- " * 50_000 + "x\n", "YAML syntax error"),
        ("name: x\nfoo: " + "{a: " * 200 + "1" + "}" * 200 + "\n", "nested more than 64 deep"),
        ("name: x\nhorizon: {periods: " + "9" * 5_000 + "}\n", "a number of 5,000 digits is too long to read"),
    ],
    ids=["flow-50000-deep", "block-50000-deep", "mapping-200-deep", "5000-digits"],
)
def test_deep_and_long_documents_are_refused_with_a_sentence(capsys, tmp_path, text, words):
    (tmp_path / "big.yaml").write_text(text)
    code, printed = checked(capsys, tmp_path / "big.yaml")
    assert code == 1 and words in printed


@pytest.mark.parametrize(
    "text",
    ['{"name": "x", "foo": ' + "[" * 50_000 + "]" * 50_000 + "}", '{"name": "x", "horizon": {"periods": ' + "9" * 5_000 + "}}"],
    ids=["json-50000-deep", "json-5000-digits"],
)
def test_deep_and_long_json_is_refused_with_a_sentence(capsys, tmp_path, text):
    (tmp_path / "big.json").write_text(text)
    code, printed = checked(capsys, tmp_path / "big.json")
    assert code == 1 and ("nested too deeply" in printed or "too long to read" in printed)


def test_a_file_over_the_limit_is_refused_before_it_is_read(capsys, tmp_path):
    (tmp_path / "huge.yaml").write_bytes(b"name: x\n" + b"#" * (6 * 1024 * 1024))
    code, printed = checked(capsys, tmp_path / "huge.yaml")
    assert code == 1 and "the file is 6.0 MB; scenarios are limited to 5 MB" in printed


def test_extends_naming_a_fifo_is_refused_at_the_extends_line_instead_of_blocking(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.mkfifo("base.yaml")
    Path("overlay.yaml").write_text("name: overlay\nextends: base.yaml\n")
    code, printed = checked(capsys, "overlay.yaml")  # before: blocked for ever, waiting for a writer
    assert code == 1 and printed.startswith("overlay.yaml:2:10: extends: the base scenario 'base.yaml' is not a regular file")


def test_a_problem_in_an_overlays_base_names_the_extends_that_led_there(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("base.yaml").write_text((HOSTILE / "merge-key.yaml").read_text().replace("effort: {web: 3}", "effort: {wbe: 3}"))
    Path("overlay.yaml").write_text("name: overlay\nextends: base.yaml\n")
    code, printed = checked(capsys, "overlay.yaml")
    assert code == 1
    assert "base.yaml:6:" in printed and "unknown team 'wbe'" in printed and "(in the base scenario, named by `extends` at overlay.yaml:2:10)" in printed


def test_values_the_solver_cannot_count_are_refused_by_solve_too(capsys):
    code = main(["solve", str(HOSTILE / "beyond-64-bit.yaml")])
    printed = capsys.readouterr()
    assert code == 1 and "Traceback" not in printed.err and "more than the planner counts exactly" in printed.err


def test_bidi_controls_are_marked_on_a_terminal_and_kept_exact_elsewhere():
    command = [sys.executable, "-m", "api", "check", str(HOSTILE / "bidi-name.yaml")]
    controller, terminal = pty.openpty()
    subprocess.run(command, stdout=terminal, stderr=terminal, check=True, timeout=60)
    os.close(terminal)
    shown = os.read(controller, 10_000).decode()
    os.close(controller)
    assert "invoice<U+202E>gnp.exe" in shown and "\u202e" not in shown
    piped = subprocess.run([*command[:-1], "--format", "json", command[-1]], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(piped.stdout)[0]["summary"].startswith("invoice\u202egnp.exe: ")


# --- random input --------------------------------------------------------------------------------------

SCENARIO_KEYS = ["name", "horizon", "teams", "initiatives", "policies", "themes", "extends", "id", "capacity", "effort", "value", "<<", "start", "periods"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.dates().map(str),
)
structures = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.sampled_from(SCENARIO_KEYS), st.text(max_size=6)), inner, max_size=5)),
    max_leaves=25,
)
REFERENCE_TEXT = (Path(__file__).parent.parent / "scenarios" / "acme-2027.yaml").read_bytes()


@st.composite
def mutated_reference(draw: st.DrawFn) -> bytes:
    """The reference scenario with a few bytes replaced, inserted or cut: nearly valid, so it reaches far."""
    text = bytearray(REFERENCE_TEXT)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text) - 1))
        cut = draw(st.integers(0, 3))
        text[at : at + cut] = draw(st.binary(max_size=3))
    return bytes(text)


documents = st.one_of(st.binary(max_size=300), structures.map(lambda d: yaml.safe_dump(d).encode()), mutated_reference())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_random_documents_load_or_get_located_problems(document):
    try:
        load(parse_text(document, name="random.yaml"))
    except ScenarioError as exc:
        assert exc.problems and all(p.message for p in exc.as_problems())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(document=documents, content_type=st.sampled_from(["application/yaml", "application/json", "text/plain", "application/octet-stream"]))
def test_random_documents_never_get_a_500_from_the_service(api: Api, document, content_type):
    for path, role in (("/scenarios/validate", "viewer"), ("/scenarios", "planner")):
        answer = api.post(path, role=role, data=document, headers={"Content-Type": content_type})
        assert answer.status_code in (200, 201, 400, 413, 415, 422), (answer.status_code, answer.get_data(as_text=True)[:300])
        assert "Traceback" not in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("not-utf8.yaml", (HOSTILE / "not-utf8.yaml").read_bytes(), "not-utf8.yaml:6:24: the document is not UTF-8 text"),
        ("huge.yaml", b"name: x\n" + b"#" * (6 * 1024 * 1024), "huge.yaml: the file is 6.0 MB; scenarios are limited to 5 MB"),
        ("deep.yaml", b"name: x\nfoo: " + b"[" * 50_000 + b"]" * 50_000, "deep.yaml:2:1005: YAML syntax error"),
        ("invalid.yaml", b"name: x\n", "invalid.yaml:1:1: horizon: missing required key 'horizon'"),
    ],
    ids=["not-utf8", "too-large", "too-deep", "invalid"],
)
def test_serve_load_refuses_a_bad_file_by_name_and_line_before_it_serves(tmp_path, name, content, words):
    (tmp_path / name).write_bytes(content)
    command = [sys.executable, "-m", "api", "serve", "--instance", str(tmp_path / "instance"), "--port", "0", "--load", str(tmp_path / name)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)  # before: a traceback (or for ever)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert any(line.endswith(words) or words in line for line in done.stderr.splitlines()), done.stderr[-500:]
