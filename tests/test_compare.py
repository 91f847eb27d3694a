"""`planner compare`: scenarios side by side, and the initiative-level diff with each change's reason."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from api.cli import main
from planner import load_scenario
from planner.compare import ChangeKind, compare
from planner.explanation import Reason
from planner.settings import PlanStatus
from solver.explain import explain
from tests.factories import BUNDLED, REFERENCE, scenario_data, write_yaml
from tests.solving import solved

HIRE_ML = BUNDLED / "acme-2027-hire-ml.yaml"
NO_FRAUD_PIVOT = BUNDLED / "acme-2027-no-fraud-pivot.yaml"


def with_reasons(path):
    scenario = load_scenario(path)
    plan = solved(scenario)
    return scenario, plan.model_copy(update={"explanation": explain(scenario, plan, counterfactuals=False, time_limit=10)})


@pytest.fixture(scope="module")
def reference():
    return with_reasons(REFERENCE)


def test_two_more_ml_engineers_change_six_initiatives_each_with_its_reason(reference):
    comparison = compare(reference, [with_reasons(HIRE_ML)])
    changes = {c.id: c for c in comparison.variants[0].changes}
    assert {(c.id, c.change, c.periods) for c in changes.values()} == {
        ("support-chatbot", ChangeKind.added, None),
        ("visual-search", ChangeKind.dropped, None),
        ("size-recommendation", ChangeKind.later, 1),
        ("returns-labelling", ChangeKind.later, 2),
        ("feature-store", ChangeKind.earlier, 2),
        ("pricing-fairness-audit", ChangeKind.later, 2),
    }
    # Added: it was out for capacity; with the hires it fits.
    assert changes["support-chatbot"].base_reason is Reason.capacity and changes["support-chatbot"].start == "2027-Q3"
    # More capacity raises the invisible-work floors (shares of capacity): that is what pushes these out or later.
    assert changes["visual-search"].reason is Reason.floor_or_share and changes["visual-search"].base_start == "2027-Q4"
    assert changes["pricing-fairness-audit"].reason is Reason.floor_or_share
    assert (changes["feature-store"].base_start, changes["feature-store"].start) == ("2027-Q3", "2027-Q1")
    assert changes["feature-store"].base_reason is Reason.capacity


def test_the_headline_figures_are_the_plans_own(reference):
    hire = with_reasons(HIRE_ML)
    comparison = compare(reference, [hire])
    base, variant = comparison.base, comparison.variants[0].outcome
    assert (base.scenario, variant.scenario) == ("acme-2027", "acme-2027-hire-ml")
    assert variant.objective == hire[1].objective > base.objective == reference[1].objective
    assert variant.uplift == hire[1].uplift and variant.gap == 0
    assert variant.utilisation["ml"] < base.utilisation["ml"]
    assert variant.deadlines == variant.deadlines_met == 2
    assert variant.theme_mix == hire[1].theme_mix


def test_an_infeasible_variant_is_compared_by_status_without_a_diff(reference):
    variant = compare(reference, [with_reasons(NO_FRAUD_PIVOT)]).variants[0]
    assert variant.outcome.status is PlanStatus.infeasible
    assert variant.changes == [] and variant.outcome.utilisation == {} and variant.outcome.invisible_share is None


def test_work_the_variant_removes_is_dropped_as_not_in_the_scenario(tmp_path):
    base = write_yaml(tmp_path, "base.yaml", scenario_data())
    write_yaml(tmp_path, "less.yaml", {"extends": "base.yaml", "name": "less", "initiatives": [{"id": "cdn", "remove": True}]})
    comparison = compare(with_reasons(base), [with_reasons(tmp_path / "less.yaml")])
    assert [(c.id, c.change, c.removed) for c in comparison.variants[0].changes] == [("cdn", ChangeKind.dropped, True)]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_prints_the_figures_and_the_diff_with_reasons(capsys):
    code, out, _ = run(capsys, "compare", str(REFERENCE), str(HIRE_ML), str(NO_FRAUD_PIVOT), "--workers", "1")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Compared with acme-2027:"
    assert any(line.startswith("acme-2027-no-fraud-pivot") and "infeasible" in line for line in lines)
    assert "acme-2027-hire-ml against acme-2027: 6 changes" in lines
    assert any("+ support-chatbot" in line and "in the base: capacity" in line for line in lines)
    assert any("> returns-labelling" in line and "2 periods later, 2027-Q1 -> 2027-Q3; capacity" in line for line in lines)
    assert "acme-2027-no-fraud-pivot against acme-2027: no diff: acme-2027-no-fraud-pivot has no plan (infeasible; `planner explain` says why)" in lines


def test_json_holds_the_same_comparison(capsys):
    code, out, _ = run(capsys, "compare", str(REFERENCE), str(HIRE_ML), "--format", "json", "--workers", "1")
    document = json.loads(out)
    assert code == 0 and document["base"]["scenario"] == "acme-2027"
    assert {c["id"]: c["change"] for c in document["variants"][0]["changes"]}["feature-store"] == "earlier"


def test_markdown_and_html_list_each_change(capsys):
    _, md, _ = run(capsys, "compare", str(REFERENCE), str(HIRE_ML), "--format", "md", "--workers", "1")
    assert "## acme-2027-hire-ml: 6 changes" in md
    assert "- `visual-search` Visual search for products: dropped, was 2027-Q4; floor_or_share" in md
    _, page, _ = run(capsys, "compare", str(REFERENCE), str(HIRE_ML), "--format", "html", "--workers", "1")
    parser = HTMLParser()
    parser.feed(page)  # well-formed enough to parse
    assert page.startswith("<!doctype html>") and "<style>" in page
    assert "http" not in page and "<script" not in page  # opens without network access
    assert page.count('<li class="later">') == 3


def test_an_invalid_variant_fails_before_anything_is_solved_with_its_location(capsys, tmp_path):
    broken = write_yaml(tmp_path, "broken.yaml", scenario_data(teams=[{"id": "web", "capacity": -1}]))
    code, out, err = run(capsys, "compare", str(REFERENCE), str(broken))
    assert code == 1 and out == ""
    assert f"{broken}:" in err and "capacity" in err


def test_a_missing_variant_is_a_usage_error(capsys, tmp_path):
    code, out, err = run(capsys, "compare", str(REFERENCE), str(tmp_path / "nope.yaml"))
    assert code == 2 and out == "" and "nope.yaml: no such file" in err
