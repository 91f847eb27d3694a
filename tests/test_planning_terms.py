"""Planning in the planner's own terms (issue 19): MoSCoW, choices between options, alternative prerequisites.

For each rule: a tiny scenario where it binds and changes the plan, and one where breaking it is the only
way to gain value (the plan must not); both backends find the same optimum; every plan passes the checker,
and the checker names what a plan that breaks the rule does wrong; bad uses are located errors.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import yaml

from api.cli import main
from planner import ScenarioError, load_scenario
from planner.check import check_plan
from planner.explanation import Reason
from planner.loader import parse_scenario
from planner.plan import Placement, PlanStatus, SolveSettings, build_plan
from planner.scenario import Scenario
from solver.explain import explain
from solver.greedy import greedy_plan
from tests.factories import BUNDLED, scenario_data
from tests.factories import REFERENCE as REFERENCE_FILE
from tests.solving import solved, starts, verified

BACKENDS = ["cpsat", "pulp"]


def scenario(*initiatives: dict[str, Any], capacity: int = 10, **top: Any) -> Scenario:
    """One team `web` of `capacity` per quarter over two quarters, and these initiatives."""
    data = scenario_data(initiatives=list(initiatives), teams=[{"id": "web", "capacity": capacity}], themes=[], **top)
    return Scenario.model_validate(data)


def work(id: str, effort: float = 4, value: float = 10, **fields: Any) -> dict[str, Any]:
    return {"id": id, "title": id, "effort": {"web": effort}, "value": value, **fields}


def problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(field path, message) of each problem `planner check` finds in the scenario written as YAML."""
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(yaml.safe_dump(data, sort_keys=False), name="bad.yaml")
    assert all(p.location.line for p in caught.value.problems)  # each at its line in the file
    return [(p.location.path, p.message) for p in caught.value.problems]


def both(s: Scenario) -> dict[str, Any]:
    """The optimum, the same on both backends, with each plan verified by the checker."""
    plans = [solved(s, backend=backend) for backend in BACKENDS]
    assert {p.status for p in plans} == {PlanStatus.optimal}
    assert plans[0].objective == plans[1].objective
    return {"objective": plans[0].objective, "scheduled": set(starts(plans[0])), "plan": plans[0]}


def plan_of(s: Scenario, decisions: dict[str, int]) -> Any:
    placements = {i: Placement(start=k, teams=("web",)) for i, k in decisions.items()}
    return build_plan(s, placements, status=PlanStatus.feasible, best_bound=None, solve_seconds=0, backend="greedy", settings=SolveSettings(backend="greedy"))


# --- MoSCoW ------------------------------------------------------------------------------------------------


def test_a_must_is_scheduled_though_it_is_worth_least():
    s = scenario(work("must-do", effort=10, value=1, moscow="must"), work("big", effort=10, value=50), work("other", effort=10, value=40))
    assert s.initiative_by_id["must-do"].mandatory
    found = both(s)
    assert "must-do" in found["scheduled"] and found["scheduled"] == {"must-do", "big"}
    assert [v.name for v in check_plan(s, plan_of(s, {"big": 0, "other": 1}))] == ["mandatory[must-do]"]


def test_a_wont_is_never_scheduled_though_it_is_worth_most():
    s = scenario(work("tempting", value=100, moscow="wont"), work("small", value=1))
    found = both(s)
    assert found["scheduled"] == {"small"} and found["objective"] == 1
    assert [v.name for v in check_plan(s, plan_of(s, {"tempting": 0, "small": 0}))] == ["wont[tempting]"]
    assert greedy_plan(s).scheduled_by_id().keys() == {"small"}
    explained = {i.id: i for i in explain(s, found["plan"], counterfactuals=False).initiatives}
    assert explained["tempting"].reason is Reason.wont_have and explained["tempting"].rules == ["wont[tempting]"]
    assert found["plan"].not_scheduled[0].moscow.value == "wont"


def test_moscow_scoring_values_by_label_and_other_scorings_keep_the_labels():
    s = scenario(
        work("should-a", value=None, moscow="should"),
        work("could-b", value=None, moscow="could"),
        work("could-c", value=None, moscow="could", effort=6),
        policies={"scoring": "moscow", "moscow_weights": {"should": 5, "could": 2}},
        capacity=5,
    )
    found = both(s)  # a quarter holds one of them: should-a (5) in one, a could (2) in the other
    assert found["objective"] == 7 and "should-a" in found["scheduled"]
    labelled = scenario(work("a", moscow="should"), work("b", moscow="could"))
    assert {i.id: i.moscow.value for i in both(labelled)["plan"].scheduled} == {"a": "should", "b": "could"}


def test_bad_uses_of_moscow_are_located():
    data = scenario_data(initiatives=[work("a", moscow="must", mandatory=False), work("b", moscow="wont", committed="2027-Q1")])
    assert problems(data) == [
        ("initiatives[0].mandatory", "initiative 'a' is a must (moscow: must), which is mandatory: leave out `mandatory: false`"),
        ("initiatives[1].committed", "initiative 'b' is a won't have (moscow: wont), which is never scheduled, but it is committed"),
    ]
    blocked = scenario_data(initiatives=[work("a", moscow="wont"), work("b", moscow="must", depends_on=["a"]), work("c", mandatory=True, depends_on_any=["a"])])
    assert problems(blocked) == [
        ("initiatives[1].depends_on[0]", "'b' must be scheduled, but it depends on 'a', a won't have (moscow: wont)"),
        ("initiatives[2].depends_on_any", "'c' must be scheduled, but every one of its alternative prerequisites is a won't have"),
    ]
    assert problems(scenario_data(initiatives=[work("c", moscow="may")])) == [
        ("initiatives[0].moscow", "'may' is not one of 'must', 'should', 'could' or 'wont'")
    ]


# --- choices -----------------------------------------------------------------------------------------------


PIVOT = [
    work("new-data", effort=10, value=30),
    work("rules-bridge", effort=4, value=12),
    work("delay", effort=1, value=2),
]


def test_exactly_one_of_a_pivot_is_scheduled_though_two_would_fit_and_be_worth_more():
    free = both(scenario(*PIVOT, capacity=20))
    assert free["scheduled"] == {"new-data", "rules-bridge", "delay"}  # without the choice, all three
    s = scenario(*PIVOT, capacity=20, choices=[{"id": "fraud-pivot", "of": ["new-data", "rules-bridge", "delay"], "min": 1, "max": 1}])
    found = both(s)
    assert found["scheduled"] == {"new-data"} and found["objective"] == 30
    assert [v.name for v in check_plan(s, plan_of(s, {"new-data": 0, "delay": 1}))] == ["choice_max[fraud-pivot]"]
    assert [v.name for v in check_plan(s, plan_of(s, {}))] == ["choice_min[fraud-pivot]"]
    explained = {i.id: i for i in explain(s, found["plan"], counterfactuals=False).initiatives}
    assert explained["rules-bridge"].reason is Reason.choice_full and explained["rules-bridge"].excluded_by == ["new-data"]
    assert explained["rules-bridge"].rules == ["choice_max[fraud-pivot]"]
    baseline = verified(s, greedy_plan(s))
    assert len(set(starts(baseline)) & {"new-data", "rules-bridge", "delay"}) == 1


def test_a_choice_minimum_schedules_work_worth_nothing():
    s = scenario(
        work("audit-a", value=0), work("audit-b", value=0), work("feature", value=5), choices=[{"id": "audits", "of": ["audit-a", "audit-b"], "min": 2}]
    )
    found = both(s)
    assert {"audit-a", "audit-b"} <= found["scheduled"]
    assert verified(s, greedy_plan(s)).status is PlanStatus.feasible


def test_at_least_two_of_three_is_a_linear_row_on_both_backends():
    s = scenario(*PIVOT, capacity=8, choices=[{"id": "two", "of": ["new-data", "rules-bridge", "delay"], "min": 2, "max": 2}])
    found = both(s)  # new-data (10) does not fit a quarter of 8: rules-bridge and delay
    assert found["scheduled"] == {"rules-bridge", "delay"}


def test_bad_choices_are_located():
    data = scenario_data(
        initiatives=[work("a"), work("b", mandatory=True), work("c", mandatory=True)],
        choices=[
            {"id": "x", "of": ["a", "bb"], "min": 1},
            {"id": "x", "of": ["a", "a"], "max": 1},
            {"id": "y", "of": ["a", "b"], "min": 3},
            {"id": "z", "of": ["a", "b"]},
            {"id": "w", "of": ["a", "b", "c"], "max": 1},
        ],
    )
    found = dict(problems(data))
    assert found["choices[0].of[1]"] == "unknown initiative 'bb' (did you mean 'b'?)"
    assert found["choices[1].id"] == "duplicate id 'x': choices[0] has it already"
    assert found["choices[1].of[1]"] == "'a' is listed twice in choice 'x'"
    assert found["choices[2].min"] == "choice 'y' asks for at least 3 of its 2 options"
    assert "give `min`, `max` or both" in found["choices[3]"]
    assert found["choices[4].max"] == "choice 'w' allows at most 1 of its options, but b, c must be scheduled"


# --- alternative prerequisites -----------------------------------------------------------------------------


def test_work_after_a_or_b_waits_for_the_first_of_them_and_not_for_both():
    s = scenario(
        work("dataset-a", effort=10, value=1),
        work("dataset-b", effort=10, value=1),
        work("model", effort=4, value=30, depends_on_any=["dataset-a", "dataset-b"]),
        capacity=14,
    )
    found = both(s)
    plan = found["plan"]
    assert "model" in found["scheduled"] and starts(plan)["model"] == "2027-Q2"
    assert len(found["scheduled"] & {"dataset-a", "dataset-b"}) >= 1
    broken = plan_of(s, {"model": 0, "dataset-a": 0})
    assert [v.name for v in check_plan(s, broken)] == ["depends_on_any[model, 2027-Q1]"]


def test_without_any_of_its_alternatives_the_work_cannot_be_scheduled():
    s = scenario(
        work("dataset-a", effort=10, value=1, moscow="wont"),
        work("model", effort=4, value=30, depends_on_any=["dataset-a"]),
    )
    found = both(s)
    assert found["scheduled"] == set()
    explained = {i.id: i for i in explain(s, found["plan"], counterfactuals=False).initiatives}
    assert explained["model"].reason is Reason.prerequisite_not_scheduled and explained["model"].rules == ["depends_on_any[model]"]


def test_a_required_initiative_brings_its_best_alternative_into_the_baseline():
    s = scenario(
        work("dataset-a", effort=6, value=1),
        work("dataset-b", effort=6, value=3),
        work("model", effort=4, value=30, mandatory=True, depends_on_any=["dataset-a", "dataset-b"]),
    )
    baseline = verified(s, greedy_plan(s))
    assert {"model", "dataset-b"} <= set(starts(baseline))


# --- allocations -------------------------------------------------------------------------------------------


def reserving(*initiatives: dict[str, Any], capacity: int = 10, **allocation: Any) -> Scenario:
    return scenario(*initiatives, capacity=capacity, policies={"allocations": [allocation]})


def test_a_reserve_keeps_its_share_from_other_work_though_that_work_would_be_worth_more():
    items = [work("big", effort=9, value=50), work("small", effort=8, value=30)]
    assert both(scenario(*items))["scheduled"] == {"big", "small"}  # without the reserve: one each quarter
    s = reserving(*items, kinds=["tech_debt"], share=0.2)  # 2 of each quarter's 10 set aside
    found = both(s)
    assert found["scheduled"] == {"small"} and found["objective"] == 30
    report = {(r.team, r.period): (float(r.reserved), float(r.used), float(r.left)) for r in found["plan"].reserves}
    assert report == {("web", "2027-Q1"): (2, 0, 2), ("web", "2027-Q2"): (2, 0, 2)}  # left for unlisted tech debt
    assert [v.name for v in check_plan(s, plan_of(s, {"big": 0}))] == ["reserve[web, tech_debt, 2027-Q1]"]
    assert set(starts(verified(s, greedy_plan(s)))) == {"small"}


def test_listed_work_of_a_reserves_kinds_uses_it_first_and_then_the_rest():
    s = reserving(work("debt", effort=3, value=1, kind="tech_debt"), work("feature", effort=7, value=20), kinds=["tech_debt"], share=0.2)
    found = both(s)
    assert found["scheduled"] == {"debt", "feature"} and found["objective"] == 21
    uses = [(r.period, float(r.used), float(r.left)) for r in found["plan"].reserves if float(r.used)]
    assert uses == [(starts(found["plan"])["debt"], 2, 0)]


def test_a_reserve_is_never_infeasible_on_its_own():
    s = reserving(work("feature", effort=8, value=5), kinds=["tech_debt"], share=0.5)  # no tech debt listed at all
    found = both(s)
    assert found["scheduled"] == set() and found["plan"].status is PlanStatus.optimal  # 8 > 5: it cannot fit, and that is all


def test_a_floor_over_the_horizon_is_met_by_lumpy_work_a_floor_per_period_is_not():
    items = [work("audit", effort=6, value=0, kind="compliance"), work("feature", effort=10, value=20), work("other", effort=10, value=20)]
    horizon = reserving(*items, kinds=["compliance"], share=0.3, mode="floor", over="horizon")  # 6 of 20 in all
    found = both(horizon)
    assert "audit" in found["scheduled"] and found["objective"] == 20  # the audit displaces a feature
    per_period = reserving(*items, kinds=["compliance"], share=0.3, mode="floor")  # 3 in each quarter: one audit cannot
    plans = [solved(per_period, backend=b) for b in BACKENDS]
    assert {p.status for p in plans} == {PlanStatus.infeasible}
    assert [v.name for v in check_plan(horizon, plan_of(horizon, {"feature": 0, "other": 1}))] == ["allocation_floor[compliance]"]


@pytest.mark.parametrize("penalty, chosen, objective", [(3, {"f1", "f2"}, 2 * (20 - 15)), (5, {"c1", "c2"}, 0)])
def test_a_soft_floor_costs_its_penalty_per_unit_short_instead_of_being_infeasible(penalty, chosen, objective):
    items = [
        work("c1", effort=5, value=0, kind="compliance"),
        work("c2", effort=5, value=0, kind="compliance"),
        work("f1", effort=10, value=20),
        work("f2", effort=10, value=20),
    ]
    s = reserving(*items, kinds=["compliance"], share=0.5, mode="floor", soft={"penalty": penalty})
    found = both(s)  # a quarter holds a feature (20, but 5 short of the floor) or compliance work (0, none short)
    assert found["scheduled"] == chosen and found["objective"] == objective
    shorts = {f.period: (float(f.short), f.penalty) for f in found["plan"].floors}
    assert shorts == ({"2027-Q1": (5, 15), "2027-Q2": (5, 15)} if penalty == 3 else {"2027-Q1": (0, 0), "2027-Q2": (0, 0)})


def test_bad_allocations_are_located():
    data = scenario_data(
        initiatives=[work("a")],
        policies={
            "allocations": [
                {"kinds": ["tech_debt"], "share": 0.6, "over": "horizon", "soft": {"penalty": 1}, "teams": ["wbe"]},
                {"kinds": ["tech_debt", "compliance"], "share": 0.5, "id": "health"},
                {"kinds": ["compliance"], "share": 0.1, "mode": "floor"},
                {"kinds": ["compliance"], "share": 0.2, "mode": "floor"},
            ]
        },
    )
    found = problems(data)
    assert ("policies.allocations[0].over", "a reserve is kept in every period: `over: horizon` is for floors") in found
    assert ("policies.allocations[0].soft", "a reserve is never infeasible on its own: `soft` is for floors") in found
    assert ("policies.allocations[0].teams[0]", "unknown team 'wbe' (did you mean 'web'?)") in found
    assert ("policies.allocations[3]", "allocations[2] is a floor named 'compliance' too: give one of them an `id`") in found
    twice = scenario_data(
        initiatives=[work("a")],
        policies={
            "allocations": [{"kinds": ["tech_debt"], "share": 0.1, "teams": ["web"]}, {"kinds": ["compliance", "tech_debt"], "share": 0.1, "id": "health"}]
        },
    )
    assert problems(twice) == [("policies.allocations[1].kinds", "kind 'tech_debt' is reserved for team 'web' by allocations[0] already")]
    too_much = scenario_data(initiatives=[work("a")], policies={"allocations": [{"kinds": ["x"], "share": 0.6}, {"kinds": ["y"], "share": 0.5}]})
    assert problems(too_much) == [
        ("policies.allocations", f"the reserves of team '{team}' add up to 1.1 of its capacity, more than all of it") for team in ("ops", "web")
    ]


# --- soft deadlines and cost of delay ----------------------------------------------------------------------


def test_work_due_in_the_first_quarter_goes_first_and_being_late_costs_its_late_cost():
    # One quarter holds one of them: without `due`, the tie-break starts the earlier-listed one first.
    items = [work("b", effort=10, value=25), work("a", effort=10, value=20, due={"period": "2027-Q1", "late_cost": 15})]
    s = scenario(*items)
    found = both(s)
    assert starts(found["plan"]) == {"a": "2027-Q1", "b": "2027-Q2"} and found["objective"] == 45
    late = plan_of(s, {"b": 0, "a": 1})  # a late by one quarter: 20 - 15
    assert late.objective == 30 and check_plan(s, late) == []
    assert {i.id: i.decayed_value for i in late.scheduled} == {"a": 5, "b": 25}


def test_a_late_finish_is_chosen_when_the_work_is_worth_more_than_its_lateness():
    # Both fit only one after the other, and c has a hard deadline in Q1: a, due Q1, goes late at a cost.
    s = scenario(work("c", effort=10, value=30, deadline="2027-Q1"), work("a", effort=10, value=20, due={"period": "2027-Q1", "late_cost": 15}))
    found = both(s)
    assert starts(found["plan"]) == {"c": "2027-Q1", "a": "2027-Q2"} and found["objective"] == 35


def test_an_initiatives_own_cost_of_delay_puts_it_first():
    s = scenario(work("steady", effort=10, value=25), work("urgent", effort=10, value=20, cost_of_delay=8))
    found = both(s)
    assert starts(found["plan"]) == {"urgent": "2027-Q1", "steady": "2027-Q2"} and found["objective"] == 45
    assert plan_of(s, {"steady": 0, "urgent": 1}).objective == 37


def test_a_due_period_outside_the_horizon_is_located():
    data = scenario_data(initiatives=[work("a", due={"period": "2029-Q1", "late_cost": 1})])
    assert problems(data) == [("initiatives[0].due.period", "'2029-Q1' is not a period of the horizon (2027-Q1 .. 2027-Q2) (did you mean '2027-Q1'?)")]


# --- synergies ---------------------------------------------------------------------------------------------


def test_a_synergy_makes_two_worth_taking_together():
    items = [work("a", effort=10, value=10), work("b", effort=10, value=10), work("c", effort=10, value=25)]
    without = both(scenario(*items))  # without it: c and one of the others
    assert "c" in without["scheduled"] and len(without["scheduled"]) == 2 and without["objective"] == 35
    s = scenario(*items, synergies=[{"ids": ["a", "b"], "value": 20}])
    found = both(s)
    assert found["scheduled"] == {"a", "b"} and found["objective"] == 40
    assert [(x.synergy, x.earned) for x in found["plan"].synergies] == [("a+b", True)]
    apart = plan_of(s, {"c": 0, "a": 1})
    assert apart.objective == 35 and check_plan(s, apart) == [] and not apart.synergies[0].earned


def test_a_combined_cost_keeps_two_apart():
    items = [work("a", effort=5, value=10), work("b", effort=5, value=10), work("c", effort=10, value=8)]
    s = scenario(*items, synergies=[{"id": "same-people", "ids": ["a", "b"], "value": -15}])
    found = both(s)  # a and b together: 20 - 15; one of them and c: 18
    assert found["objective"] == 18 and "c" in found["scheduled"] and len(found["scheduled"] & {"a", "b"}) == 1
    assert plan_of(s, {"a": 0, "b": 0}).objective == 5


def test_bad_synergies_are_located():
    data = scenario_data(
        initiatives=[work("a"), work("b")], synergies=[{"ids": ["a", "bb"], "value": 1}, {"ids": ["a", "a"], "value": 1}, {"ids": ["a", "bb"], "value": 2}]
    )
    assert problems(data) == [
        ("synergies[0].ids[1]", "unknown initiative 'bb' (did you mean 'b'?)"),
        ("synergies[1].ids[1]", "'a' is listed twice in the synergy"),
        ("synergies[2]", "synergies[0] is named 'a+bb' too: give one of them an `id`"),
        ("synergies[2].ids[1]", "unknown initiative 'bb' (did you mean 'b'?)"),
    ]


# --- outcomes and targets ----------------------------------------------------------------------------------


def test_kpi_totals_are_reported_and_a_target_is_a_hard_minimum():
    items = [
        work("checkout", effort=10, value=30, outcomes={"conversion": 0.4}),
        work("fraud-model", effort=10, value=10, outcomes={"fraud_loss_avoided": 120}),
        work("search", effort=10, value=25, outcomes={"conversion": 0.2}),
    ]
    free = both(scenario(*items))
    assert free["scheduled"] == {"checkout", "search"} and free["plan"].outcomes == {"conversion": 0.6, "fraud_loss_avoided": 0}
    s = scenario(*items, policies={"targets": {"fraud_loss_avoided": 100}})
    found = both(s)  # the target costs 15 of value: fraud-model displaces search
    assert found["scheduled"] == {"checkout", "fraud-model"} and found["objective"] == 40
    assert found["plan"].outcomes == {"conversion": 0.4, "fraud_loss_avoided": 120}
    broken = plan_of(s, {"checkout": 0, "search": 1})
    assert [v.name for v in check_plan(s, broken)] == ["target[fraud_loss_avoided]"]
    assert "delivers 0 of KPI 'fraud_loss_avoided', below its target 100" in check_plan(s, broken)[0].message
    assert set(starts(verified(s, greedy_plan(s)))) >= {"fraud-model"}


def test_a_target_no_plan_can_meet_is_infeasible_and_the_diagnosis_drops_it():
    from solver.diagnose import diagnose

    s = scenario(work("a", effort=10, value=1, outcomes={"nps": 2}), policies={"targets": {"nps": 5}})
    assert {solved(s, backend=b).status for b in BACKENDS} == {PlanStatus.infeasible}
    diagnosis, _ = diagnose(s, SolveSettings(time_limit=10, workers=1))
    assert [r.name for r in diagnosis.conflict] == ["target[nps]"] and diagnosis.repairs[0].change == "target_dropped"


def test_a_target_for_a_kpi_no_initiative_moves_is_located():
    data = scenario_data(initiatives=[work("a", outcomes={"conversion": 1})], policies={"targets": {"convresion": 1}})
    assert problems(data) == [("policies.targets.convresion", "no initiative has an outcome for KPI 'convresion' (did you mean 'conversion'?)")]


# --- work already under way --------------------------------------------------------------------------------


def test_work_under_way_continues_with_what_is_left_and_cannot_be_dropped_for_more_value():
    migration = work("migration", effort=20, value=0, in_progress={"remaining": {"web": 4}})
    items = [migration, work("f1", effort=6, value=20), work("f2", effort=10, value=25), work("f3", effort=10, value=40)]
    s = scenario(*items)
    found = both(s)  # dropping the migration would make room for f3 beside f2: it stays
    plan = found["plan"]
    assert starts(plan)["migration"] == "2027-Q1" and found["scheduled"] == {"migration", "f1", "f3"} and found["objective"] == 60
    placed = plan.scheduled_by_id()["migration"]
    assert placed.in_progress and placed.load == {"web": {"2027-Q1": 4}} and plan.stopped == []
    assert [v.name for v in check_plan(s, plan_of(s, {"migration": 1, "f3": 0}))] == ["in_progress[migration, 2027-Q2]"]
    assert "migration" in starts(verified(s, greedy_plan(s)))
    assert "migration" not in both(scenario(work("migration", effort=20, value=0), *items[1:]))["scheduled"]  # all 20 never fit a quarter


def test_work_under_way_that_may_stop_is_stopped_when_its_capacity_is_worth_more():
    migration = work("migration", effort=20, value=2, in_progress={"remaining": {"web": 6}, "may_stop": True})
    s = scenario(migration, work("f3", effort=10, value=40), work("f2", effort=10, value=25))
    found = both(s)
    assert found["scheduled"] == {"f3", "f2"} and found["plan"].stopped == ["migration"]


def test_work_under_way_over_two_periods_spreads_what_is_left():
    s = scenario(work("platform", effort=30, value=5, in_progress={"remaining": {"web": 5}, "periods": 2}))
    placed = both(s)["plan"].scheduled_by_id()["platform"]
    assert (placed.start, placed.finish) == ("2027-Q1", "2027-Q2") and placed.load == {"web": {"2027-Q1": 2.5, "2027-Q2": 2.5}}


def test_bad_uses_of_in_progress_are_located():
    data = scenario_data(
        initiatives=[
            work("a", in_progress={"remaining": {"wbe": 2}}, earliest_start="2027-Q2"),
            work("b", in_progress={"remaining": {"web": 2}}, mandatory=False),
            work("c", in_progress={"remaining": {"web": 2}, "periods": 2}, duration=1),
        ]
    )
    found = problems(data)
    assert ("initiatives[0].in_progress.remaining.wbe", "unknown team 'wbe' (did you mean 'web'?)") in found
    assert ("initiatives[0].earliest_start", "'a' is under way (in_progress): it continues from the first period, so it has no earliest_start") in found
    assert ("initiatives[1].mandatory", "'b' is under way and continues unless `in_progress.may_stop: true`: leave out `mandatory: false`") in found
    assert ("initiatives[2].duration", "'c' is under way for in_progress.periods 2, not duration 1") in found


# --- confidence as named factors ---------------------------------------------------------------------------


@pytest.mark.parametrize("rule, combined", [("mean", 0.6), ("product", 0.168), ("min", 0.3)])
def test_confidence_factors_combine_by_the_rule_and_the_executive_view_shows_them(rule, combined):
    from planner.views import executive

    factors = {"hypothesis": 0.7, "data_availability": 0.8, "proven_approach": 0.3}
    chatbot = {"id": "chatbot", "title": "Support chatbot", "effort": {"web": 4}, "ice": {"impact": 10, "confidence": factors}}
    s = scenario(chatbot, work("plain", value=None, ice={"impact": 10, "confidence": 0.5}), policies={"scoring": "ice", "confidence_rule": rule})
    found = both(s)
    assert found["objective"] == pytest.approx(10 * combined + 5, abs=0.001)
    view = executive(s, found["plan"])
    assert [(c.id, c.factors, c.combined) for c in view.confidence] == [("chatbot", factors, pytest.approx(combined))]


def test_a_confidence_factor_outside_0_to_1_is_located():
    data = scenario_data(
        initiatives=[{"id": "a", "title": "A", "effort": {"web": 1}, "ice": {"impact": 1, "confidence": {"hypothesis": 1.5}}}], policies={"scoring": "ice"}
    )
    assert problems(data) == [("initiatives[0].ice.confidence.hypothesis", "must be at most 1, got 1.5")]


# --- the founding case, bundled ----------------------------------------------------------------------------

FOUNDING = BUNDLED / "founding-case-2027.yaml"


def test_the_founding_case_speaks_the_planners_terms_and_both_backends_agree():
    s = load_scenario(FOUNDING)
    found = both(s)
    plan = found["plan"]
    placed = set(starts(plan))
    assert len(placed & {"fraud-new-data", "fraud-rules-bridge", "fraud-delay"}) == 1  # the pivot: exactly one
    assert "realtime-recs-v0" not in placed and plan.scheduled_by_id()["payments-migration"].load == {"platform": {"2027-Q1": 6}, "sre": {"2027-Q1": 2}}
    assert {r.allocation for r in plan.reserves} == {"tech_debt"} and all(float(r.reserved) > 0 for r in plan.reserves)
    assert plan.outcomes["fraud_loss_avoided"] >= 100 and [x.earned for x in plan.synergies] == [True]
    index, finished = s.period_index, {i.id: i.finish for i in plan.scheduled}
    assert index[starts(plan)["support-chatbot"]] > min(index[finished[d]] for d in ("support-transcripts", "support-knowledge-base") if d in placed)


def test_what_reserving_20_percent_for_tech_debt_costs_shows_in_the_comparisons_kpis(tmp_path, capsys):
    overlay = tmp_path / "no-reserve.yaml"
    overlay.write_text(
        f"name: no-reserve\nextends: {FOUNDING}\npolicies:\n  allocations:\n"
        "    - {kinds: [compliance], share: 0.08, mode: floor, over: horizon, teams: [platform, sre]}\n"
    )
    base, variant = (both(load_scenario(p))["plan"] for p in (FOUNDING, overlay))
    assert variant.objective > base.objective  # the reserve costs value: the price leadership asked for
    assert main(["compare", str(FOUNDING), str(overlay), "--time-limit", "10"]) == 0
    shown = capsys.readouterr().out
    assert "Business KPIs" in shown and "conversion" in shown


def test_the_engineering_view_shows_what_each_reserve_leaves_for_unlisted_work():
    from planner.views import engineering

    s = reserving(work("debt", effort=3, value=1, kind="tech_debt"), work("feature", effort=7, value=20), kinds=["tech_debt"], share=0.2)
    plan = both(s)["plan"]
    debt_period = starts(plan)["debt"]
    left = {c.period: {k: float(v) for k, v in c.reserved_left.items()} for c in engineering(s, plan).cells}
    assert left[debt_period] == {"tech_debt": 0} and all(v == {"tech_debt": 2} for p, v in left.items() if p != debt_period)


def test_the_plans_text_and_markdown_say_the_planning_terms_figures():
    from api.render.plans import markdown, table

    s = load_scenario(FOUNDING)
    plan = both(s)["plan"]
    for text in (table(plan, s), markdown(plan, s)):
        assert "KPIs delivered: " in text and "fraud_loss_avoided 120" in text
        assert "Floor compliance over the horizon: " in text and "left for unlisted work over the horizon" in text
        assert "Synergy feature-store+support-chatbot (4): earned" in text


# --- found in review ---------------------------------------------------------------------------------------


def test_a_reserve_and_a_floor_of_the_same_kinds_are_told_apart_by_what_ifs():
    from planner.rules import Rule, RuleKind
    from planner.whatif import with_policy, without

    s = scenario(
        work("a"),
        policies={"allocations": [{"kinds": ["tech_debt"], "share": 0.3}, {"kinds": ["tech_debt"], "share": 0.2, "mode": "floor", "over": "horizon"}]},
    )
    floor = Rule(kind=RuleKind.allocation_floor, group="tech_debt")
    assert [(a.mode.value, float(a.share)) for a in without(s, floor).policies.allocations] == [("reserve", 0.3)]
    lowered = with_policy(s, floor, Decimal("0.05")).policies.allocations
    assert [(a.mode.value, float(a.share)) for a in lowered] == [("reserve", 0.3), ("floor", 0.05)]


def test_a_diagnosis_names_a_reserve_when_two_on_a_team_keep_mandatory_work_out():
    from solver.diagnose import diagnose

    s = scenario(
        work("big", effort=14, duration=2, mandatory=True),
        policies={"allocations": [{"kinds": ["tech_debt"], "share": 0.2}, {"kinds": ["compliance"], "share": 0.2}]},
    )
    assert solved(s).status is PlanStatus.infeasible
    diagnosis, _ = diagnose(s, SolveSettings(time_limit=10, workers=1))
    assert any(rule.kind.value == "reserve" for rule in diagnosis.conflict), [r.name for r in diagnosis.conflict]


def test_the_baseline_meets_a_choice_and_an_alternative_with_the_options_it_can_place():
    # The best-ranked option (a, 50) can never fit a quarter: the baseline takes b instead, as the optimum does.
    s = scenario(
        work("a", effort=12, value=50),
        work("b", effort=4, value=5),
        work("m", effort=2, value=1, mandatory=True, depends_on_any=["a", "b"]),
        choices=[{"id": "pick", "of": ["a", "b"], "min": 1}],
    )
    baseline = verified(s, greedy_plan(s))
    assert baseline.status is PlanStatus.feasible and baseline.objective == both(s)["objective"] == 6


def test_more_bad_uses_are_located():
    data = scenario_data(
        initiatives=[
            work("a", in_progress={"remaining": {"web": 2}}, depends_on=["b"]),
            work("b", depends_on_any=["c"]),
            work("c", depends_on_any=["b"]),
        ],
        choices=[{"id": "x", "of": ["a", "zz"], "min": 2}],
        policies={"allocations": [{"kinds": ["tech_debt"], "share": 0.2, "teams": ["web", "web"]}]},
    )
    found = problems(data)
    assert ("initiatives[0].depends_on", "'a' is under way (in_progress): nothing can finish before it continues, so it has no depends_on") in found
    assert any(path == "initiatives[2].depends_on_any[0]" and "dependency cycle" in message for path, message in found)
    assert ("policies.allocations[0].teams[1]", "team 'web' is listed twice") in found
    assert [m for p, m in found if p.startswith("choices")] == ["unknown initiative 'zz'"]


# --- explanations (issue 20) -------------------------------------------------------------------------------


def test_work_that_can_never_fit_is_said_to_never_fit_with_the_numbers_not_blamed_on_other_work():
    # 12 of web by the end of Q1, and web has 10: nothing displaces it.
    s = scenario(work("big", effort=12, value=50, deadline="2027-Q1"), work("small", effort=4, value=5))
    plan = both(s)["plan"]
    why = {i.id: i for i in explain(s, plan, counterfactuals=False).initiatives}["big"]
    assert why.reason is Reason.never_fits and why.rules == ["capacity[web, 2027-Q1]"]
    assert (why.never_fits.team, why.never_fits.period, float(why.never_fits.needed), float(why.never_fits.available)) == ("web", "2027-Q1", 12, 10)
    alone = scenario(work("big", effort=12, value=50, deadline="2027-Q1"))  # confirmed: forced in with nothing else, no plan
    assert solved(alone, force_in=["big"]).status is PlanStatus.infeasible


def test_late_is_said_only_of_work_that_loses_value_by_waiting():
    items = [work("first", effort=10, value=30), work("second", effort=10, value=20)]
    plain = scenario(*items)  # no decay: the second quarter costs nothing
    why = {i.id: i for i in explain(plain, both(plain)["plan"], counterfactuals=False).initiatives}
    assert why["second"].late_by == 1 and why["second"].reason is None
    decaying = scenario(*items, policies={"value_decay_per_period": 0.1})
    why = {i.id: i for i in explain(decaying, both(decaying)["plan"], counterfactuals=False).initiatives}
    assert why["second"].late_by == 1 and why["second"].reason is Reason.capacity


def test_a_work_limit_makes_a_search_stopped_by_its_limit_give_the_same_plan_every_time(capsys):
    # A search that no limit lets finish: bounded by CP-SAT's deterministic time on one worker, it repeats exactly.
    from bench.generate import portfolio

    s = Scenario.model_validate(portfolio(120, 8, 8, seed=3))
    plans = [solved(s, time_limit=60, work_limit=1, workers=4) for _ in range(2)]
    assert plans[0].status is PlanStatus.feasible  # stopped by the work limit, not proven
    assert (plans[0].objective, starts(plans[0])) == (plans[1].objective, starts(plans[1]))
    assert main(["solve", str(FOUNDING), "--backend", "pulp", "--work-limit", "1"]) == 2  # a usage error
    assert "planner: error: a work limit is CP-SAT's (HiGHS and CBC stop on the wall clock)" in capsys.readouterr().err


def test_a_floor_or_share_reason_names_the_guardrails_and_relaxing_them_changes_the_decision():
    # Before: "an invisible-work floor or a theme share blocks it", never which; then the reference's dynamic
    # pricing was "blocked" by the platform floor although without it no best plan takes dynamic pricing either,
    # and the executive view priced every floor at 0.0, alone and (had it asked) together.
    from planner.whatif import without

    s = load_scenario(BUNDLED / "acme-2027-hire-ml.yaml")
    plan = solved(s)
    explanation = explain(s, plan, counterfactuals=False, policy_costs=True)
    why = {i.id: i for i in explanation.initiatives}["dynamic-pricing"]
    floors = ["invisible_floor", "team_invisible_floor[platform]", "team_invisible_floor[sre]"]
    assert why.reason is Reason.floor_or_share and why.blocked_together and [r.name for r in why.blocked_by] == why.rules == floors
    # No floor alone keeps it out: without any one of them, a best plan still leaves it out.
    for rule in why.blocked_by:
        alone = without(s, rule)
        best, forced = solved(alone), solved(alone, force_in=["dynamic-pricing"])
        assert "dynamic-pricing" not in starts(best) and (forced.objective is None or forced.objective < best.objective)
    # Without all three, a best plan takes it: forcing it in costs nothing.
    relaxed = s
    for rule in why.blocked_by:
        relaxed = without(relaxed, rule)
    assert solved(relaxed, force_in=["dynamic-pricing"]).objective == pytest.approx(solved(relaxed).objective)
    # The prices agree: each floor alone costs nothing, together they cost what the re-solve without them gains.
    alone = {c.rule.name: c.cost for c in explanation.policy_costs}
    assert [alone[name] for name in floors] == [0.0, 0.0, 0.0]
    together = {j.family: j for j in explanation.joint_costs}
    assert [r.name for r in together["floors"].rules] == floors
    assert together["floors"].cost == pytest.approx(solved(relaxed).objective - plan.objective) and together["floors"].cost > 0


def test_work_a_floor_makes_impossible_but_that_is_not_worth_it_without_the_floor_is_not_blamed_on_the_floor():
    from planner.rules import Rule, RuleKind
    from planner.whatif import without

    s = load_scenario(REFERENCE_FILE)
    plan = solved(s)
    why = {i.id: i for i in explain(s, plan, counterfactuals=False).initiatives}["dynamic-pricing"]
    assert solved(s, force_in=["dynamic-pricing"]).status is PlanStatus.infeasible  # the platform floor rules it out...
    relaxed = without(s, Rule(kind=RuleKind.team_invisible_floor, team="platform", limit="0.25"))
    assert solved(relaxed, force_in=["dynamic-pricing"]).objective < solved(relaxed).objective  # ...but without it, it is still not worth it
    assert why.reason is Reason.capacity and not why.blocked_by
