"""The one formulation: typed rows mean what their linear rows say, rows speak the rules' vocabulary, and a
row the checker would name is the row the model holds."""

from __future__ import annotations

import itertools

import pytest

from planner import load
from planner.check import check_plan
from planner.plan import Placement, PlanStatus, build_plan
from planner.rules import RuleKind
from planner.scenario import Scenario
from planner.settings import SolveSettings
from solver.formulation import Form, Formulation, Row
from tests.factories import BUNDLED, scenario_data


def holds(terms: list[tuple[int, int]], sense: str, rhs: int, values: dict[int, int]) -> bool:
    total = sum(a * values[var] for a, var in terms)
    return total <= rhs if sense == "<=" else total >= rhs if sense == ">=" else total == rhs


@pytest.mark.parametrize("form", [Form.exactly_one, Form.at_most_one, Form.clause])
@pytest.mark.parametrize("positive, negative", [(3, 0), (2, 1), (0, 2), (1, 1), (0, 0), (3, 2)])
def test_a_typed_row_and_its_linear_row_accept_the_same_assignments(form, positive, negative):
    row = Row("test", (), form, positive=list(range(positive)), negative=list(range(positive, positive + negative)))
    terms, sense, rhs = row.linear([1] * (positive + negative))
    for bits in itertools.product((0, 1), repeat=positive + negative):
        values = dict(enumerate(bits))
        true = sum(values[v] for v in row.positive) + sum(1 - values[v] for v in row.negative)
        meant = true == 1 if form is Form.exactly_one else true <= 1 if form is Form.at_most_one else true >= 1
        assert holds(terms, sense, rhs, values) == meant, (bits, terms, sense, rhs)


@pytest.mark.parametrize("sense, rhs", [(">=", 5), ("<=", 2), (">=", 0)])
def test_an_enforced_row_holds_when_enforced_and_says_nothing_more_than_the_bounds_otherwise(sense, rhs):
    # y in 0..6, z in 0..3, x binary: x -> 2y - z (sense) rhs
    upper = [6, 3, 1]
    row = Row("test", (), Form.linear, terms=[(2, 0), (-1, 1)], sense=sense, rhs=rhs, enforced_by=2)
    terms, linear_sense, linear_rhs = row.linear(upper)
    for y, z, x in itertools.product(range(7), range(4), range(2)):
        values = {0: y, 1: z, 2: x}
        meant = holds(row.terms, sense, rhs, values) if x else True
        assert holds(terms, linear_sense, linear_rhs, values) == meant, (y, z, x)


@pytest.mark.parametrize("path", sorted(BUNDLED.glob("*.yaml")), ids=lambda p: p.name)
def test_every_row_and_variable_is_named_in_the_rules_vocabulary(path):
    scenario = load(path).scenario
    f = Formulation(scenario, SolveSettings())
    kinds = {k.value for k in RuleKind} | {"periods_used"}
    assert {row.kind for row in f.rows} <= kinds
    assert len({row.name for row in f.rows}) == len(f.rows), "two rows share a name"
    assert len(set(f.names)) == len(f.names), "two variables share a name"
    assert all(name.startswith(("start[", "chosen[", "serve[", "periods_used")) for name in f.names)


def test_a_rule_the_checker_says_a_plan_breaks_is_named_as_the_model_names_its_row():
    scenario = Scenario.model_validate(scenario_data())
    f = Formulation(scenario, SolveSettings())
    # signup (8 on web) and promo (4 on web) both in 2027-Q2: web's 10 is overloaded, and promo starts
    # before the signup it depends on has finished.
    plan = build_plan(
        scenario,
        {"signup": Placement(start=1, teams=("web",)), "promo": Placement(start=1, teams=("web",))},
        status=PlanStatus.feasible,
        best_bound=None,
        solve_seconds=0,
        backend="greedy",
        settings=SolveSettings(),
    )
    broken = {v.name for v in check_plan(scenario, plan) if not v.figure}
    assert broken == {"capacity[web, 2027-Q2]", "depends_on[promo, signup, 2027-Q2]"}
    assert broken <= {row.name for row in f.rows}


def test_diagnosing_puts_each_business_rule_on_its_rows_and_nothing_else():
    data = scenario_data()
    data["initiatives"][0]["mandatory"] = True
    data["initiatives"][0]["deadline"] = "2027-Q1"
    data["policies"] = {"invisible_work": {"min_share": 0.1}}
    scenario = Scenario.model_validate(data)
    f = Formulation(scenario, SolveSettings(), diagnosing=True)
    ruled = {row.name: row.rule.name for row in f.rows if row.rule is not None}
    assert ruled["mandatory[signup]"] == "mandatory[signup]"
    assert ruled["capacity[ops, 2027-Q2]"] == "capacity[ops, 2027-Q2]"
    assert ruled["invisible_floor[2027-Q1]"] == "invisible_floor"
    assert ruled["deadline[signup, 2027-Q2]"] == "deadline[signup, 2027-Q1]"  # the start past the deadline
    assert not any(row.rule for row in f.rows if row.kind in ("one_start", "needs", "depends_on", "excludes"))
