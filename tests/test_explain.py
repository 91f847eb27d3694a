"""Explanations: every reason code on a scenario built to show it, and every number proven by a re-solve
that the test repeats on its own (with the plan it gives checked by the solver-free checker)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from planner import load_scenario
from planner.explanation import Explanation, Hold, InitiativeExplanation, Reason
from planner.plan import PlanStatus
from planner.rules import Rule, RuleKind
from planner.scenario import Objective, Scenario
from planner.scoring import finish_value
from planner.whatif import with_capacity, with_initiative, with_policy, without
from solver.explain import explain
from tests.factories import BUNDLED, REFERENCE
from tests.solving import solved, starts
from tests.test_solver import scenario, work


def explained(data: dict[str, Any] | Scenario, **options: Any) -> tuple[Scenario, Explanation]:
    s = data if isinstance(data, Scenario) else Scenario.model_validate(data)
    plan = solved(s)
    return s, explain(s, plan, threads=1, **options)


def about(explanation: Explanation, initiative: str) -> InitiativeExplanation:
    return next(i for i in explanation.initiatives if i.id == initiative)


def test_an_alternative_in_the_plan_is_the_reason_for_leaving_one_out():
    _, e = explained(scenario(work("bridge", {"web": 2}, 30), work("rebuild", {"web": 2}, 10, excludes=["bridge"]), periods=1))
    assert (about(e, "rebuild").reason, about(e, "rebuild").excluded_by) == (Reason.excluded_by, ["bridge"])
    assert about(e, "rebuild").rules == ["excludes[bridge, rebuild]"]  # the model's row for the pair


def test_a_missing_prerequisite_is_named():
    data = scenario(work("base", {"web": 20}, 5), work("top", {"web": 2}, 1, depends_on=["base"]), periods=1)
    _, e = explained(data)
    assert (about(e, "top").reason, about(e, "top").missing_prerequisites) == (Reason.prerequisite_not_scheduled, ["base"])
    assert about(e, "top").rules == ["depends_on[top, base]"]


def test_work_displaced_by_other_work_cites_each_full_team_and_period():
    data = scenario(work("big", {"web": 10}, 50), work("small", {"web": 8}, 10), periods=1)
    _, e = explained(data)
    small = about(e, "small")
    assert small.reason is Reason.capacity and [(d.initiative, d.team) for d in small.displaced_by] == [("big", "web")]
    assert small.rules == ["capacity[web, 2027-Q1]"]


def test_no_room_in_the_window_is_window_too_short():
    data = scenario(work("first", {"web": 2}, 5, duration=2), work("then", {"web": 2}, 9, depends_on=["first"]), periods=2)
    _, e = explained(data)
    assert about(e, "then").reason is Reason.window_too_short
    assert about(e, "then").earliest_possible is None


def test_capacity_names_the_work_that_holds_it_and_forcing_it_in_is_re_solved():
    data = scenario(work("big", {"web": 8}, 30), work("small", {"web": 4}, 20), periods=1)
    s, e = explained(data)
    small = about(e, "small")
    assert small.reason is Reason.capacity
    assert [(d.initiative, d.team, d.periods) for d in small.displaced_by] == [("big", "web", ["2027-Q1"])]
    forced = next(c for c in small.counterfactuals if c.kind == "force_in")
    assert forced.dropped == ["big"] and forced.value_lost == 10
    assert solved(s, force_in=["small"]).objective == forced.objective == 20


def test_value_to_fit_is_the_break_even_value_and_a_re_solve_confirms_it():
    data = scenario(work("big", {"web": 8}, 30), work("small", {"web": 4}, 20), periods=1)
    s, e = explained(data)
    fit = next(c for c in about(e, "small").counterfactuals if c.kind == "value_to_fit")
    assert fit.entered and fit.value == 30.001
    assert "small" in starts(solved(with_initiative(s, "small", value=fit.value)))
    assert "small" not in starts(solved(with_initiative(s, "small", value=29.999)))


def test_capacity_to_fit_is_the_overload_of_the_plan_with_it_and_it_then_enters():
    data = scenario(work("big", {"web": 8}, 30), work("small", {"web": 4}, 20), periods=1)
    s, e = explained(data)
    fit = next(c for c in about(e, "small").counterfactuals if c.kind == "capacity_to_fit")
    assert [(x.team, x.period, x.amount) for x in fit.extra_capacity] == [("web", "2027-Q1", Decimal(2))]
    assert fit.entered and fit.dropped == [] and fit.value_lost == -20
    assert starts(solved(with_capacity(s, {("web", "2027-Q1"): Decimal(2)}))) == {"big": "2027-Q1", "small": "2027-Q1"}


def test_a_floor_that_keeps_a_feature_out_is_floor_or_share():
    # Room for the feature, but a 50% floor of invisible work leaves only 5 of 10 for it.
    data = scenario(
        work("feature", {"web": 6}, 40),
        work("debt", {"web": 5}, 1, kind="tech_debt"),
        periods=1,
        invisible_work={"min_share": 0.5},
    )
    _, e = explained(data)
    assert about(e, "feature").reason is Reason.floor_or_share
    floor = next(p for p in e.policy_costs if p.rule.kind is RuleKind.invisible_floor)
    assert floor.cost == 39  # without it: feature (40) instead of debt (1)


def test_work_worth_nothing_is_not_worth_it():
    _, e = explained(scenario(work("paid", {"web": 4}, 10), work("idle", {"web": 2}, 0), periods=1))
    assert about(e, "idle").reason is Reason.not_worth_it


def test_late_work_says_what_holds_it_and_what_earlier_would_cost():
    data = scenario(work("first", {"web": 10}, 50), work("second", {"web": 10}, 40), periods=2, value_decay_per_period=0.1)
    _, e = explained(data)
    second = about(e, "second")
    assert (second.start, second.earliest_possible, second.late_by, second.reason) == ("2027-Q2", "2027-Q1", 1, Reason.capacity)
    assert [(h.code, h.team, h.period, h.room, h.needed) for h in second.held_by] == [(Hold.full_team, "web", "2027-Q1", Decimal(0), Decimal(10))]
    earlier = next(c for c in second.counterfactuals if c.kind == "force_earlier")
    assert earlier.start == "2027-Q1" and [(m.id, m.to) for m in earlier.moved] == [("first", "2027-Q2")]
    assert earlier.value_lost == 1  # 50 + 36 against 45 + 40


def test_every_policy_cost_is_the_gain_of_a_re_solve_without_it():
    s = load_scenario(REFERENCE)
    plan = solved(s)
    e = explain(s, plan)
    assert {p.rule.kind for p in e.policy_costs} >= {RuleKind.invisible_floor, RuleKind.team_invisible_floor, RuleKind.mandatory}
    for cost in e.policy_costs:
        again = solved(without(s, cost.rule))
        assert cost.objective_without == again.objective
        assert cost.cost == round(again.objective - plan.objective, 6)
    for full in e.binding:
        more = solved(with_capacity(s, {(full.team, full.period): Decimal(1)}))
        assert full.marginal_value == round(more.objective - plan.objective, 6)


def test_every_bundled_plan_gets_a_reason_for_each_initiative_out_or_late():
    for path in sorted(BUNDLED.glob("*.yaml")):
        s = load_scenario(path)
        plan = solved(s)
        e = explain(s, plan, counterfactuals=False)
        if plan.status is PlanStatus.infeasible:
            assert e.diagnosis is not None and e.diagnosis.conflict
            continue
        assert [i.id for i in e.initiatives] == [i.id for i in s.initiatives]
        index, by_id = s.period_index, s.initiative_by_id
        for item in e.initiatives:
            # Late work has a reason when waiting cost it value (decay, cost of delay, a due period; any period under makespan).
            last = by_id[item.id].duration - 1
            loses = (
                item.scheduled
                and item.late_by > 0
                and (
                    s.policies.objective is Objective.makespan
                    or finish_value(s, by_id[item.id], index[item.earliest_possible] + last) > finish_value(s, by_id[item.id], index[item.start] + last)
                )
            )
            assert (item.reason is not None) == (not item.scheduled or loses), (path.name, item.id)


# --- infeasible scenarios ----------------------------------------------------------------------------------


def test_an_infeasible_scenario_gets_a_minimal_conflict_in_its_own_rules():
    s = load_scenario(BUNDLED / "acme-2027-no-fraud-pivot.yaml")
    plan = solved(s)
    assert plan.status is PlanStatus.infeasible
    d = explain(s, plan).diagnosis
    assert d is not None and d.minimal
    assert d.conflict == [
        Rule(kind=RuleKind.committed, initiative="gpu-cost-controls", period="2027-Q1"),
        Rule(kind=RuleKind.capacity, team="sre", period="2027-Q1", limit="10"),
        Rule(kind=RuleKind.team_invisible_floor, team="platform", limit="0.25"),
    ]


def test_each_repair_is_feasible_when_the_test_re_solves_it():
    s = load_scenario(BUNDLED / "acme-2027-no-fraud-pivot.yaml")
    d = explain(s, solved(s)).diagnosis
    assert d is not None
    changes = {r.change: r for r in d.repairs}
    assert set(changes) == {"commitment_dropped", "floor_lowered", "extra_capacity"}
    extra = changes["extra_capacity"]  # SRE's Q1 capacity: more helps up to a point (Platform's floor grows with it)
    assert (extra.rule.team, extra.rule.period, extra.amount) == ("sre", "2027-Q1", Decimal(2))
    assert solved(with_capacity(s, {("sre", "2027-Q1"): extra.amount})).objective == extra.objective == 239.22
    assert solved(with_capacity(s, {("sre", "2027-Q1"): Decimal("1.99")})).status is PlanStatus.infeasible
    dropped = solved(without(s, changes["commitment_dropped"].rule))
    assert dropped.status is PlanStatus.optimal and dropped.objective == changes["commitment_dropped"].objective
    floor = changes["floor_lowered"]
    assert floor.amount == Decimal("0.2307")
    assert solved(with_policy(s, floor.rule, floor.amount)).status is PlanStatus.optimal
    # The smallest change: a floor one ten-thousandth higher is still infeasible.
    assert solved(with_policy(s, floor.rule, Decimal("0.2308"))).status is PlanStatus.infeasible


def test_a_deadline_too_early_for_mandatory_work_is_repaired_by_moving_it():
    data = scenario(
        work("audit", {"web": 10}, 0, mandatory=True, deadline="2027-Q1"),
        work("review", {"web": 6}, 0, mandatory=True, deadline="2027-Q1"),
        periods=3,
    )
    s = Scenario.model_validate(data)
    plan = solved(s)
    d = explain(s, plan).diagnosis
    assert d is not None and d.minimal
    # Both must be done, both by Q1, and web has 10 in Q1: drop any one of the five and the rest fits.
    assert [(r.kind, r.initiative or r.team) for r in d.conflict] == [
        (RuleKind.mandatory, "audit"),
        (RuleKind.deadline, "audit"),
        (RuleKind.mandatory, "review"),
        (RuleKind.deadline, "review"),
        (RuleKind.capacity, "web"),
    ]
    assert {r.change for r in d.repairs} == {"made_optional", "deadline_moved", "extra_capacity"}
    extra = next(r for r in d.repairs if r.change == "extra_capacity")
    assert extra.amount == 6
    assert solved(with_capacity(s, {("web", "2027-Q1"): Decimal(6)})).status is PlanStatus.optimal
    assert solved(with_capacity(s, {("web", "2027-Q1"): Decimal("5.99")})).status is PlanStatus.infeasible
    moved = next(r for r in d.repairs if r.change == "deadline_moved")
    assert moved.periods == 1
    assert solved(with_initiative(s, moved.rule.initiative, deadline="2027-Q2")).status is PlanStatus.optimal


def test_what_the_budget_leaves_unexplained_is_listed_not_guessed():
    s = load_scenario(REFERENCE)
    plan = solved(s)
    e = explain(s, plan, counterfactuals=False, budget=0)
    needing_a_re_solve = {"support-chatbot", "dynamic-pricing", "visual-search", "size-recommendation"}
    assert needing_a_re_solve <= set(e.unexplained)
    assert "fraud-new-data" not in e.unexplained  # excluded_by needs no re-solve
    assert about(e, "fraud-new-data").reason is Reason.excluded_by
    assert all(i.id not in e.unexplained for i in e.initiatives)


def test_a_floor_with_too_little_invisible_work_to_fill_it_is_diagnosed_and_lowered():
    data = scenario(
        work("feature", {"web": 6}, 40),
        work("debt", {"web": 2}, 1, kind="tech_debt"),
        periods=1,
        invisible_work={"min_share": 0.3},
    )
    s = Scenario.model_validate(data)
    d = explain(s, solved(s)).diagnosis
    assert d is not None and d.minimal
    assert d.conflict == [Rule(kind=RuleKind.invisible_floor, limit="0.3")]
    (repair,) = d.repairs
    assert (repair.change, repair.amount) == ("floor_lowered", Decimal("0.2"))
    assert solved(with_policy(s, repair.rule, Decimal("0.2"))).status is PlanStatus.optimal
    assert solved(with_policy(s, repair.rule, Decimal("0.2001"))).status is PlanStatus.infeasible


def test_committed_starts_that_contradict_a_dependency_are_the_conflict():
    data = scenario(
        work("api", {"web": 2}, 5, committed="2027-Q2"),
        work("app", {"web": 2}, 5, committed="2027-Q2", depends_on=["api"]),
        periods=3,
    )
    s = Scenario.model_validate(data)
    d = explain(s, solved(s)).diagnosis
    assert d is not None and d.minimal
    assert d.conflict == [
        Rule(kind=RuleKind.committed, initiative="api", period="2027-Q2"),
        Rule(kind=RuleKind.committed, initiative="app", period="2027-Q2"),
    ]
    for rule in d.conflict:  # minimal: without either commitment the rest is feasible
        assert solved(without(s, rule)).status is PlanStatus.optimal
    assert {r.change for r in d.repairs} == {"commitment_dropped"} and len(d.repairs) == 2
