"""`planner explain` and the reasons `planner solve` prints: what a planner reads, in each format."""

from __future__ import annotations

import csv
import io
import json

from api.cli import main
from planner import load_scenario
from planner.explanation import Explanation
from planner.plan import Plan
from tests.factories import BUNDLED, REFERENCE
from tests.solving import verified


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_solve_says_why_each_initiative_is_out_or_late(capsys):
    code, out, _ = run(capsys, "solve", str(REFERENCE), "--workers", "1")
    assert code == 0
    line = next(line for line in out.splitlines() if line.strip().startswith("fraud-new-data"))
    assert line.endswith("excluded_by: an alternative is in the plan (fraud-rules-bridge)")
    line = next(line for line in out.splitlines() if line.strip().startswith("observability-upgrade"))
    assert "late: capacity: displaced by higher-value work (soc2-renewal on sre in 2027-Q2)" in line
    # SOC 2 is worth nothing (mandatory, no value inputs): starting it in Q2 rather than Q1 costs nothing, so it is not late.
    line = next(line for line in out.splitlines() if line.strip().startswith("soc2-renewal"))
    assert "late" not in line
    assert "Explanations" not in out  # the what-ifs only with --explain


def test_solve_json_carries_the_reasons_in_the_plan(capsys):
    code, out, _ = run(capsys, "solve", str(REFERENCE), "--format", "json", "--workers", "1")
    assert code == 0
    plan = Plan.model_validate(json.loads(out))
    verified(load_scenario(REFERENCE), plan)
    reasons = {i.id: i.reason.value for i in plan.explanation.initiatives if i.reason}
    assert reasons["support-chatbot"] == "capacity" and reasons["fraud-new-data"] == "excluded_by"
    assert not plan.explanation.what_ifs and plan.explanation.policy_costs == []


def test_no_reasons_skips_them_and_csv_has_a_reason_column(capsys):
    code, out, _ = run(capsys, "solve", str(REFERENCE), "--format", "json", "--no-reasons", "--workers", "1")
    assert code == 0 and json.loads(out)["explanation"] is None
    code, out, _ = run(capsys, "solve", str(REFERENCE), "--format", "csv", "--workers", "1")
    assert code == 0
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(out))}
    assert rows["support-chatbot"]["reason"] == "capacity" and rows["checkout-redesign"]["reason"] == ""


def test_solve_explain_adds_the_what_ifs_and_the_policy_costs(capsys):
    code, out, _ = run(capsys, "solve", str(REFERENCE), "--explain", "--workers", "1")
    assert code == 0
    assert "Explanations (each number from a re-solve):" in out
    assert "  force in: objective 264.235 (value lost 27.71); starts 2027-Q3; drops size-recommendation, visual-search" in out
    assert "  'soc2-renewal' is mandatory: 2.025" in out


def test_explain_one_initiative_as_json(capsys):
    code, out, _ = run(capsys, "explain", str(REFERENCE), "--initiative", "support-chatbot", "--format", "json", "--workers", "1")
    assert code == 0
    explanation = Explanation.model_validate(json.loads(out))
    (chatbot,) = explanation.initiatives
    assert chatbot.id == "support-chatbot" and chatbot.reason.value == "capacity"
    assert [c.kind for c in chatbot.counterfactuals] == ["force_in", "value_to_fit", "capacity_to_fit"]
    assert explanation.policy_costs == []  # the whole-plan what-ifs only when explaining every initiative


def test_explain_names_an_unknown_initiative(capsys):
    code, _, err = run(capsys, "explain", str(REFERENCE), "--initiative", "support-chatbt")
    assert code == 1
    assert "--initiative support-chatbt: no initiative 'support-chatbt'" in err and "support-chatbot" in err


def test_explain_an_infeasible_scenario_gives_the_conflict_and_repairs(capsys):
    code, out, _ = run(capsys, "explain", str(BUNDLED / "acme-2027-no-fraud-pivot.yaml"), "--format", "md")
    assert code == 3
    assert "No plan: these rules cannot all hold (dropping any one makes the rest feasible):" in out
    assert "- team_invisible_floor[platform]: team 'platform' spends at least 25% on invisible work every period" in out
    assert "- lower team platform's invisible-work floor to 23.07%: optimal, objective 237.421" in out
    # More capacity is not always better (a team floor grows with it): the search finds SRE's 2 weeks all the same.
    assert "- give team sre 2 more engineer-weeks in 2027-Q1: optimal, objective 239.22" in out


def test_solve_of_an_infeasible_scenario_prints_the_conflict(capsys):
    code, out, _ = run(capsys, "solve", str(BUNDLED / "acme-2027-no-fraud-pivot.yaml"))
    assert code == 3
    assert "  - committed[gpu-cost-controls, 2027-Q1]: 'gpu-cost-controls' is committed to start in 2027-Q1" in out
    assert "  - capacity[sre, 2027-Q1]: team 'sre' has 10 engineer-weeks in 2027-Q1" in out
    assert "Repairs" not in out  # repairs take many re-solves: planner explain, or solve --explain


def test_every_force_in_claim_on_the_reference_is_what_planner_solve_force_in_finds(capsys):
    code, out, _ = run(capsys, "explain", str(REFERENCE), "--format", "json", "--workers", "1")
    explanation = Explanation.model_validate(json.loads(out))
    out_of_plan = [i for i in explanation.initiatives if not i.scheduled]
    assert out_of_plan and all(i.reason is not None for i in out_of_plan)
    for item in out_of_plan:
        claims = [c for c in item.counterfactuals if c.kind == "force_in"]
        if item.reason.value in ("excluded_by", "prerequisite_not_scheduled", "window_too_short"):
            continue  # answered from the plan's structure, without a re-solve
        (claim,) = claims
        assert claim.settings.force_in == [item.id]
        code, out, _ = run(capsys, "solve", str(REFERENCE), "--force-in", item.id, "--format", "json", "--no-reasons")
        plan = Plan.model_validate(json.loads(out))
        assert code == (0 if plan.status.found else 3)
        verified(load_scenario(REFERENCE), plan) if plan.objective is not None else None
        assert (plan.status.value, plan.objective) == (claim.status.value, claim.objective), item.id
