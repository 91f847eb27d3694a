"""The three audience views of one plan: what each shows, and that the public one leaks nothing internal."""

from __future__ import annotations

import json
import re

import pytest

from api.cli import main
from planner import load_scenario
from planner.explanation import Reason
from planner.settings import PlanStatus
from planner.views import engineering, executive, public
from solver.explain import explain
from tests.factories import BUNDLED, REFERENCE
from tests.solving import solved


@pytest.fixture(scope="module")
def reference():
    scenario = load_scenario(REFERENCE)
    plan = solved(scenario)
    explanation = explain(scenario, plan, counterfactuals=False, policy_costs=True, time_limit=10)
    return scenario, plan.model_copy(update={"explanation": explanation})


def test_the_executive_view_says_what_was_left_out_why_and_what_each_guardrail_costs(reference):
    scenario, plan = reference
    view = executive(scenario, plan)
    assert view.objective == plan.objective and view.uplift == plan.uplift and view.themes == plan.theme_mix
    assert {(i.id, i.reason) for i in view.left_out} == {
        ("support-chatbot", Reason.capacity),
        ("dynamic-pricing", Reason.capacity),  # the platform floor rules it out, but without it, it is not worth it either
        ("fraud-new-data", Reason.excluded_by),
    }
    prices = {(g.rule.kind.value, g.rule.initiative): g for g in view.guardrails}
    mandatory = prices["mandatory", "eu-ai-act-docs"]
    assert mandatory.cost == pytest.approx(mandatory.objective_without - plan.objective) and mandatory.cost > 0
    assert [g.cost for g in view.guardrails] == sorted((g.cost for g in view.guardrails), reverse=True)
    together = {j.family: [r.name for r in j.rules] for j in view.guardrails_together}
    assert together["floors"] == ["invisible_floor", "team_invisible_floor[platform]", "team_invisible_floor[sre]"]
    assert together["shares"] == ["theme_max_share[growth]", "theme_min_share[trust]"] and len(together["guardrails"]) == 5
    assert [r.id for r in view.deadline_risks] == ["eu-ai-act-docs"]  # finishes in its deadline quarter
    assert {(t.team, t.period) for t in view.full_teams} == {("ml", "2027-Q4"), ("sre", "2027-Q3"), ("sre", "2027-Q4")}


def test_the_engineering_view_holds_every_cell_with_its_work_and_the_tight_dependencies(reference):
    scenario, plan = reference
    view = engineering(scenario, plan)
    assert len(view.cells) == len(scenario.teams) * len(scenario.periods)
    for cell in view.cells:
        assert sum(cell.initiatives.values()) == cell.load
    platform_q2 = next(c for c in view.cells if (c.team, c.period) == ("platform", "2027-Q2"))
    assert set(platform_q2.initiatives) == {"checkout-redesign", "fraud-rules-bridge", "soc2-renewal"}
    assert [(d.prerequisite, d.initiative, d.slack) for d in view.dependencies] == [("returns-labelling", "size-recommendation", 1)]
    assert {(b.team, b.period) for b in view.binding} == {("ml", "2027-Q4"), ("sre", "2027-Q3"), ("sre", "2027-Q4")}
    assert [(a.initiative, a.skill, a.team) for a in view.skill_assignments] == [("pricing-fairness-audit", "ml", "ml")]


def _leaks(text: str, scenario) -> list[str]:
    """Everything internal that appears in a text meant for customers."""
    words = set(re.findall(r"[\w-]+", text))
    found = [i.id for i in scenario.initiatives if i.id in words]
    found += [i.title for i in scenario.initiatives if scenario.is_invisible(i) and i.title in text]
    found += [t.id for t in scenario.teams if t.id in words] + [t.display_name for t in scenario.teams if t.display_name in text]
    found += [key for key in ("value", "capacity", "effort", "depends_on", "team", "objective") if key in text.lower()]
    return found


def test_the_public_view_of_the_reference_shows_visible_work_only_and_nothing_internal(reference, capsys):
    scenario, plan = reference
    view = public(scenario, plan)
    assert [c.label for c in view.columns] == list(scenario.periods)  # proven optimal: by period
    shown = [item.title for c in view.columns for item in c.items]
    visible = [s.title for s in plan.scheduled if not s.invisible]
    assert sorted(shown) == sorted(visible) and shown
    for fmt in ("table", "md", "json"):
        assert main(["solve", str(REFERENCE), "--view", "public", "--format", fmt, "--workers", "1"]) == 0
        out = capsys.readouterr().out
        assert _leaks(out, scenario) == [], fmt


def test_an_unproven_plan_is_announced_as_now_next_and_later(reference):
    scenario, plan = reference
    view = public(scenario, plan.model_copy(update={"status": PlanStatus.feasible}))
    columns = {c.label: [i.title for i in c.items] for c in view.columns}
    assert list(columns) == ["now", "next", "later"]
    assert columns["now"] == ["One-page checkout", "Label 50k returns with fit issues"]
    assert columns["later"] == ["Better-fit size recommendation", "Visual search for products"]


def test_compare_with_the_public_view_prints_the_roadmaps_alone(capsys):
    scenario = load_scenario(REFERENCE)
    code = main(["compare", str(REFERENCE), str(BUNDLED / "acme-2027-hire-ml.yaml"), "--view", "public", "--workers", "1"])
    out = capsys.readouterr().out
    assert code == 0 and out.count("Roadmap 2027-Q1 to 2027-Q4") == 2
    assert _leaks(out, scenario) == []


def test_compare_with_the_executive_view_adds_one_summary_per_scenario(capsys):
    code = main(["compare", str(REFERENCE), str(BUNDLED / "acme-2027-hire-ml.yaml"), "--view", "executive", "--format", "json", "--workers", "1"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0 and document["comparison"]["base"]["scenario"] == "acme-2027"
    assert [v["scenario"] for v in document["views"]] == ["acme-2027", "acme-2027-hire-ml"]
    assert all(v["guardrails"] for v in document["views"])


def test_a_view_in_a_format_it_does_not_come_in_is_a_usage_error(capsys):
    assert main(["solve", str(REFERENCE), "--view", "public", "--format", "csv"]) == 2
    assert "--view public comes as table, md, json, not --format csv" in capsys.readouterr().err


def test_unpriced_guardrails_say_how_many_and_how_to_price_them():
    # Before: "not priced (no guardrails, or not explained)" on a scenario with eight of them
    # (the invisible-work floor, two team floors, two theme shares, two mandatory items, a commitment).
    from api.render.views import executive_sections
    from planner.scenario import Scenario
    from tests.factories import scenario_data

    s = load_scenario(REFERENCE)
    lines = [line for _, section in executive_sections(executive(s, solved(s)), s) for line in section]
    assert "not priced: the scenario has 8; ask for their prices with `planner solve --explain` or `policy_costs: true` in the API" in lines
    bare = Scenario.model_validate(scenario_data())
    lines = [line for _, section in executive_sections(executive(bare, solved(bare)), bare) for line in section]
    assert any(line.startswith("none: the scenario has no floors") for line in lines)
