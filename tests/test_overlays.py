"""What-if overlays: `extends: base.yaml` plus only what changes, merged as JSON Merge Patch, items by id.

Each test writes a base (from the factory) and an overlay into a fresh folder and loads the overlay from
inside that folder, the way a user runs `planner check overlay.yaml`, so problems name the files as the
user knows them.
"""

from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest

from planner import Problem, Scenario, ScenarioError, load
from planner.loader import MAX_EXTENDS_DEPTH
from tests.factories import BUNDLED, REFERENCE, scenario_data, write_yaml


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_overlay(folder, text: str, base: dict | None = None, name: str = "overlay.yaml") -> str:
    """The overlay's file name, with base.yaml (the factory's scenario unless given) beside it."""
    write_yaml(folder, "base.yaml", scenario_data() if base is None else base)
    (folder / name).write_text(textwrap.dedent(text))
    return name


def merged(folder, text: str, base: dict | None = None) -> Scenario:
    return load(write_overlay(folder, text, base)).scenario


def problems(folder, text: str, base: dict | None = None, name: str = "overlay.yaml") -> list[Problem]:
    path = write_overlay(folder, text, base, name)
    with pytest.raises(ScenarioError) as caught:
        load(path)
    return caught.value.problems


def line_of(path, words: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if words in line)


# --- merging -------------------------------------------------------------------------------------------


def test_an_overlay_changes_one_teams_capacity_and_keeps_the_other_teams(folder):
    scenario = merged(
        folder,
        """\
        extends: base.yaml
        teams:
          - {id: ops, capacity: 9}
        """,
    )
    assert [team.id for team in scenario.teams] == ["web", "ops"]
    assert scenario.capacity("ops") == (9, 9)
    assert scenario.capacity("web") == (10, 10)
    assert scenario.team_by_id["ops"].skills == ["infra"]


def test_an_overlay_adds_an_initiative_the_base_lacks_at_the_end(folder):
    scenario = merged(
        folder,
        """\
        extends: base.yaml
        initiatives:
          - {id: search, title: Site search, effort: {web: 3}, value: 9}
        """,
    )
    assert [i.id for i in scenario.initiatives] == ["signup", "cdn", "promo", "search"]
    assert scenario.initiative_by_id["search"].effort == {"web": Decimal(3)}


def test_changing_one_field_of_an_initiative_keeps_its_other_fields(folder):
    scenario = merged(
        folder,
        """\
        extends: base.yaml
        initiatives:
          - {id: promo, value: 11}
        """,
    )
    promo = scenario.initiative_by_id["promo"]
    assert promo.value == 11
    assert (promo.title, promo.effort, promo.depends_on) == ("Promo page", {"web": Decimal(4)}, ["signup"])


def test_a_mapping_inside_an_initiative_merges_key_by_key(folder):
    scenario = merged(
        folder,
        """\
        extends: base.yaml
        initiatives:
          - {id: signup, effort: {ops: 2}}
        """,
    )
    assert scenario.initiative_by_id["signup"].effort == {"web": Decimal(8), "ops": Decimal(2)}


def test_a_list_other_than_teams_themes_and_initiatives_is_replaced_whole(folder):
    scenario = merged(
        folder,
        """\
        extends: base.yaml
        teams:
          - {id: web, skills: [design]}
        """,
    )
    assert scenario.team_by_id["web"].skills == ["design"]


def test_remove_true_drops_an_initiative(folder):
    base = scenario_data()
    base["initiatives"][2].pop("depends_on")
    scenario = merged(
        folder,
        """\
        extends: base.yaml
        initiatives:
          - {id: signup, remove: true}
        """,
        base,
    )
    assert [i.id for i in scenario.initiatives] == ["cdn", "promo"]


def test_null_deletes_a_key_of_the_base(folder):
    base = scenario_data()
    base["initiatives"][0]["deadline"] = "2027-Q1"
    scenario = merged(
        folder,
        """\
        extends: base.yaml
        initiatives:
          - {id: signup, deadline: null}
        """,
        base,
    )
    assert scenario.initiative_by_id["signup"].deadline is None
    assert scenario.initiative_by_id["signup"].title == "New signup"


def test_null_in_a_mapping_the_base_lacks_is_dropped_as_in_json_merge_patch(folder):
    scenario = merged(
        folder,
        """\
        extends: base.yaml
        policies:
          invisible_work: {min_share: 0.1, team_min_share: null}
        """,
    )
    assert scenario.policies.invisible_work.min_share == Decimal("0.1")
    assert scenario.policies.invisible_work.team_min_share == {}


def test_an_overlay_may_extend_another_overlay(folder):
    write_overlay(folder, "extends: base.yaml\nteams:\n  - {id: web, capacity: 12}\n", name="middle.yaml")
    (folder / "top.yaml").write_text("extends: middle.yaml\nname: top\n")
    scenario = load("top.yaml").scenario
    assert (scenario.name, scenario.capacity("web")) == ("top", (12, 12))


# --- located errors ------------------------------------------------------------------------------------


def test_an_error_written_in_the_overlay_is_reported_at_the_overlays_line(folder):
    (problem,) = problems(
        folder,
        """\
        extends: base.yaml
        initiatives:
          - id: promo
            effort: {wbe: 4}
        """,
    )
    assert "unknown team 'wbe'" in problem.message and "did you mean 'web'" in problem.message
    assert (problem.location.file, problem.location.line) == ("overlay.yaml", 4)
    assert problem.location.path == "initiatives[2].effort.wbe"


def test_an_error_left_in_the_base_is_reported_at_the_bases_line(folder):
    base = scenario_data()
    base["initiatives"][2]["effort"] = {"wbe": 4}
    (problem,) = problems(
        folder,
        """\
        extends: base.yaml
        name: what-if
        """,
        base,
    )
    assert "unknown team 'wbe'" in problem.message
    assert (problem.location.file, problem.location.line) == ("base.yaml", line_of(folder / "base.yaml", "wbe:"))
    assert problem.location.path == "initiatives[2].effort.wbe"


def test_an_unknown_key_added_by_the_overlay_is_reported_in_the_overlay(folder):
    (problem,) = problems(
        folder,
        """\
        extends: base.yaml
        initiatives:
          - id: cdn
            titel: CDN move
        """,
    )
    assert "unknown key 'titel'" in problem.message
    assert (problem.location.file, problem.location.line, problem.location.path) == ("overlay.yaml", 4, "initiatives[1].titel")


def test_an_extends_loop_is_a_located_error_naming_the_loop(folder):
    (folder / "a.yaml").write_text("name: a\nextends: b.yaml\n")
    (folder / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(ScenarioError) as caught:
        load("a.yaml")
    (problem,) = caught.value.problems
    assert "`extends` loops: a.yaml -> b.yaml -> a.yaml" in problem.message
    assert (problem.location.file, problem.location.line, problem.location.path) == ("b.yaml", 1, "extends")


def test_a_missing_base_is_a_located_error_naming_the_missing_file(folder):
    (folder / "overlay.yaml").write_text("name: what-if\nextends: acme-2072.yaml\n")
    with pytest.raises(ScenarioError) as caught:
        load("overlay.yaml")
    (problem,) = caught.value.problems
    assert "the base scenario 'acme-2072.yaml' does not exist" in problem.message
    assert (problem.location.file, problem.location.line, problem.location.path) == ("overlay.yaml", 2, "extends")


def test_removing_an_id_the_base_lacks_is_an_error(folder):
    (problem,) = problems(
        folder,
        """\
        extends: base.yaml
        initiatives:
          - {id: promo, remove: true}
          - {id: signupp, remove: true}
        """,
    )
    assert "removes 'signupp', which the base does not have" in problem.message
    assert (problem.location.file, problem.location.line, problem.location.path) == ("overlay.yaml", 4, "initiatives[1].id")


def test_an_overlay_item_without_an_id_is_an_error(folder):
    (problem,) = problems(
        folder,
        """\
        extends: base.yaml
        teams:
          - {capacity: 12}
        """,
    )
    assert "needs an `id`" in problem.message
    assert (problem.location.file, problem.location.line, problem.location.path) == ("overlay.yaml", 3, "teams[0]")


def test_overlays_extending_each_other_too_deep_are_refused(folder):
    write_yaml(folder, "base.yaml", scenario_data())
    layers = MAX_EXTENDS_DEPTH + 1
    for k in range(layers):
        below = "base.yaml" if k == layers - 1 else f"o{k + 1}.yaml"
        (folder / f"o{k}.yaml").write_text(f"extends: {below}\n")
    load(f"o{layers - MAX_EXTENDS_DEPTH}.yaml")  # exactly the limit still loads
    with pytest.raises(ScenarioError) as caught:
        load("o0.yaml")
    (problem,) = caught.value.problems
    assert f"more than {MAX_EXTENDS_DEPTH} deep" in problem.message
    assert problem.location.path == "extends"


# --- the bundled what-ifs differ from the reference exactly as their comments say --------------------


def differences(base: Scenario, other: Scenario) -> set[str]:
    """Top-level keys, policies and items (by id) that differ between two scenarios."""

    def flat(scenario: Scenario) -> dict[str, object]:
        out: dict[str, object] = {}
        for key, value in scenario.model_dump(mode="json").items():
            if key in ("teams", "themes", "initiatives"):
                out.update({f"{key}.{item['id']}": item for item in value})
            elif key == "policies":
                out.update({f"policies.{name}": setting for name, setting in value.items()})
            else:
                out[key] = value
        return out

    a, b = flat(base), flat(other)
    return {key for key in a.keys() | b.keys() if a.get(key) != b.get(key)}


@pytest.fixture(scope="module")
def acme() -> Scenario:
    return load(REFERENCE).scenario


def test_hire_ml_only_raises_ml_capacity_from_q2(acme):
    hire = load(BUNDLED / "acme-2027-hire-ml.yaml").scenario
    assert differences(acme, hire) == {"name", "description", "teams.ml", "expect"}  # expect: what batch checks, not plan input
    assert acme.capacity("ml") == (16, 20, 20, 20)
    assert hire.capacity("ml") == (16, 30, 40, 40)


def test_no_fraud_pivot_only_drops_both_fraud_options(acme):
    pivotless = load(BUNDLED / "acme-2027-no-fraud-pivot.yaml").scenario
    assert differences(acme, pivotless) == {"name", "description", "initiatives.fraud-new-data", "initiatives.fraud-rules-bridge", "expect"}
    assert [i.id for i in pivotless.initiatives] == [i.id for i in acme.initiatives if i.id not in ("fraud-new-data", "fraud-rules-bridge")]


def test_invisible_30_only_raises_the_organisation_wide_floor(acme):
    floor = load(BUNDLED / "acme-2027-invisible-30.yaml").scenario
    assert differences(acme, floor) == {"name", "description", "policies.invisible_work", "expect"}
    assert floor.policies.invisible_work.min_share == Decimal("0.3")
    assert floor.policies.invisible_work.model_copy(update={"min_share": Decimal("0.2")}) == acme.policies.invisible_work
