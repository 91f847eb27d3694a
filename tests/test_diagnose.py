"""Diagnoses of infeasible scenarios that break in several places: each conflict named, and repairs of the
whole scenario that the test makes itself, change by change, and solves (the plan checked by the
solver-free checker)."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from api.render.plans import explanation_lines, explanation_text
from planner import load_scenario
from planner.explanation import Conflict, Diagnosis, Explanation, Unfinished
from planner.plan import PlanStatus, SolveSettings
from planner.rules import Rule, RuleKind
from planner.scenario import Scenario
from planner.whatif import with_capacity, with_policy, without
from solver import solve
from solver.diagnose import MAX_CONFLICTS, diagnose
from solver.explain import explain
from tests.factories import BUNDLED
from tests.solving import solved
from tests.test_solver import scenario, work

SETTINGS = SolveSettings(time_limit=10, workers=1, seed=0)

ORGANISATION_FLOOR = Rule(kind=RuleKind.invisible_floor, limit="0.3")
OPS_FLOOR = Rule(kind=RuleKind.team_invisible_floor, team="ops", limit="0.5")


def two_floors() -> Scenario:
    """Invisible work of 3 in 20 weeks, 1 of them on ops: the organisation's floor of 30% (6 weeks) cannot
    hold, and neither can ops's of 50% (5 weeks), each whatever the other asks."""
    return Scenario.model_validate(
        scenario(
            work("checkout", {"web": 6, "ops": 4}, 40),
            work("debt", {"web": 2}, 1, kind="tech_debt"),
            work("patching", {"ops": 1}, 1, kind="infrastructure"),
            periods=1,
            teams=[{"id": "web", "capacity": 10}, {"id": "ops", "capacity": 10}],
            invisible_work={"min_share": 0.3, "team_min_share": {"ops": 0.5}},
        )
    )


def diagnosed(s: Scenario, **options: Any) -> Diagnosis:
    diagnosis, _ = diagnose(s, SETTINGS, threads=1, **options)
    return diagnosis


def lines(s: Scenario, d: Diagnosis) -> list[str]:
    explanation = Explanation(scenario=s.name, status=PlanStatus.infeasible, objective=None, diagnosis=d, resolves=0, seconds=0)
    return explanation_lines(explanation, s)


def test_an_organisation_floor_and_a_team_floor_each_impossible_are_two_conflicts():
    s = two_floors()
    assert solved(without(s, ORGANISATION_FLOOR)).status is PlanStatus.infeasible  # dropping one leaves the other
    assert solved(without(s, OPS_FLOOR)).status is PlanStatus.infeasible
    d = diagnosed(s)
    assert [c.rules for c in d.conflicts] == [[ORGANISATION_FLOOR], [OPS_FLOOR]]
    assert all(c.minimal for c in d.conflicts) and d.unfinished == []
    assert (d.conflict, d.minimal) == ([ORGANISATION_FLOOR], True)  # the first conflict, where it always was


def test_a_repair_of_two_conflicts_makes_one_change_in_each_and_the_scenario_solves_with_both():
    s = two_floors()
    d = diagnosed(s)
    (repair,) = d.repairs
    assert [(c.rule, c.change, c.amount) for c in repair.changes] == [
        (ORGANISATION_FLOOR, "floor_lowered", Decimal("0.15")),  # all 3 weeks of invisible work, of 20
        (OPS_FLOOR, "floor_lowered", Decimal("0.1")),  # patching's 1 week, of ops's 10
    ]
    both = solved(with_policy(with_policy(s, ORGANISATION_FLOOR, Decimal("0.15")), OPS_FLOOR, Decimal("0.1")))
    assert both.status is repair.status is PlanStatus.optimal
    assert both.objective == repair.objective == 42
    # The smallest changes: either floor a ten-thousandth higher and there is no plan.
    assert solved(with_policy(with_policy(s, ORGANISATION_FLOOR, Decimal("0.1501")), OPS_FLOOR, Decimal("0.1"))).status is PlanStatus.infeasible
    assert solved(with_policy(with_policy(s, ORGANISATION_FLOOR, Decimal("0.15")), OPS_FLOOR, Decimal("0.1001"))).status is PlanStatus.infeasible


def test_each_conflicts_own_repair_holds_with_the_other_conflicts_rules_dropped():
    s = two_floors()
    first, second = diagnosed(s).conflicts
    ((organisation,), (ops,)) = first.repairs, second.repairs
    assert (organisation.amount, organisation.also) == (Decimal("0.15"), [])
    assert solved(with_policy(without(s, OPS_FLOOR), ORGANISATION_FLOOR, organisation.amount)).objective == organisation.objective
    assert solved(with_policy(without(s, ORGANISATION_FLOOR), OPS_FLOOR, ops.amount)).objective == ops.objective


def test_two_conflicts_are_told_apart_and_their_repair_reads_as_one_thing_to_do():
    s = two_floors()
    assert lines(s, diagnosed(s)) == [
        "No plan: 2 independent conflicts (each found with the earlier ones' rules relaxed): a plan needs a change in each.",
        "Conflict 1: these rules cannot all hold (dropping any one makes the rest of them feasible):",
        "  - invisible_floor: invisible work is at least 30% of capacity every period",
        "Conflict 2: these rules cannot all hold (dropping any one makes the rest of them feasible):",
        "  - team_invisible_floor[ops]: team 'ops' spends at least 50% on invisible work every period",
        "Repairs of the whole scenario (each verified by a re-solve):",
        "  - lower the organisation's invisible-work floor to 15% and lower team ops's invisible-work floor to 10%: optimal, objective 42",
    ]


def test_the_repair_of_two_conflicts_in_json_lists_its_other_change_under_also():
    repair = json.loads(diagnosed(two_floors()).model_dump_json())["repairs"][0]
    assert (repair["rule"]["kind"], repair["change"], repair["amount"]) == ("invisible_floor", "floor_lowered", 0.15)
    assert [(c["rule"]["team"], c["change"], c["amount"]) for c in repair["also"]] == [("ops", "floor_lowered", 0.1)]
    assert (repair["status"], repair["objective"]) == ("optimal", 42)


def test_the_reference_without_the_fraud_pivot_and_an_organisation_floor_too_high_is_repaired_in_both_places():
    # SRE has no room for GPU cost controls in 2027-Q1 (with Platform's floor), and 40% invisible work is more than there is.
    floor = Rule(kind=RuleKind.invisible_floor, limit="0.4")
    s = with_policy(load_scenario(BUNDLED / "acme-2027-no-fraud-pivot.yaml"), floor, Decimal("0.4"))
    d = diagnosed(s)
    assert [[r.name for r in c.rules] for c in d.conflicts] == [
        ["committed[gpu-cost-controls, 2027-Q1]", "capacity[sre, 2027-Q1]", "team_invisible_floor[platform]"],
        ["invisible_floor"],
    ]
    repair = next(r for r in d.repairs if r.change == "extra_capacity")
    assert (repair.rule.team, repair.amount, [(c.rule, c.amount) for c in repair.also]) == ("sre", Decimal(2), [(floor, Decimal("0.2906"))])
    again = solved(with_policy(with_capacity(s, {("sre", "2027-Q1"): Decimal(2)}), floor, Decimal("0.2906")))
    assert again.status is PlanStatus.optimal and again.objective == repair.objective == 204.537
    assert (
        "  - give team sre 2 more engineer-weeks in 2027-Q1 and lower the organisation's invisible-work floor to 29.06%: optimal, objective 204.537"
    ) in lines(s, d)
    # An organisation's floor grows with capacity: with SRE's 2 weeks, a ten-thousandth more has no plan.
    assert solved(with_policy(with_capacity(s, {("sre", "2027-Q1"): Decimal(2)}), floor, Decimal("0.2907"))).status is PlanStatus.infeasible


def test_one_conflict_is_diagnosed_as_it_always_was():
    s = load_scenario(BUNDLED / "acme-2027-no-fraud-pivot.yaml")
    d = diagnosed(s)
    assert d.conflicts == [Conflict(rules=d.conflict, minimal=True, repairs=d.repairs)]
    assert [(r.change, r.amount, r.objective, r.also) for r in d.repairs] == [
        ("commitment_dropped", None, 217.22, []),
        ("extra_capacity", Decimal(2), 239.22, []),
        ("floor_lowered", Decimal("0.2307"), 237.421, []),
    ]
    assert d.unfinished == []
    said = lines(s, d)
    assert said[0] == "No plan: these rules cannot all hold (dropping any one makes the rest feasible):"
    assert "Repairs (each verified by a re-solve):" in said


def test_more_conflicts_than_are_listed_are_said_and_no_repair_is_offered():
    teams = [{"id": f"team-{n}", "capacity": 10} for n in range(MAX_CONFLICTS + 1)]
    fixes = [work(f"fix-{n}", {f"team-{n}": 1}, 1, kind="tech_debt") for n in range(MAX_CONFLICTS + 1)]
    s = Scenario.model_validate(scenario(*fixes, periods=1, teams=teams, invisible_work={"team_min_share": {t["id"]: 0.5 for t in teams}}))
    d = diagnosed(s)
    assert len(d.conflicts) == MAX_CONFLICTS and d.unfinished == [Unfinished.more_conflicts]
    assert d.repairs == [] and all(c.repairs == [] for c in d.conflicts)
    assert lines(s, d)[-1] == f"More conflicts exist than the {MAX_CONFLICTS} listed: no repairs were searched."


def test_a_deadline_already_passed_ends_the_diagnosis_unfinished_not_in_an_error():
    d, solves = diagnose(two_floors(), SETTINGS, deadline=time.perf_counter())
    assert solves == 0
    assert (d.conflict, d.conflicts, d.repairs, d.unfinished) == ([], [], [], [Unfinished.conflicts])
    assert lines(two_floors(), d) == ["No plan, and no conflict among the business rules was found within the time limit."]


def test_infeasible_beyond_every_rule_names_no_conflict_and_leaves_nothing_unfinished():
    # Before: forcing in work that cannot fit its window gave five empty conflicts and "more conflicts exist".
    s = load_scenario(BUNDLED / "ai-platform-2027.yaml")
    plan = solve(s, SolveSettings(workers=1, force_in=["agent-toolkit"]))
    diagnosis = explain(s, plan).diagnosis
    assert plan.status is PlanStatus.infeasible and diagnosis is not None
    assert (diagnosis.conflicts, diagnosis.conflict, diagnosis.unfinished, diagnosis.repairs) == ([], [], [], [])
    assert "no business rule is to blame" in explanation_text(explain(s, plan), plan, s)
