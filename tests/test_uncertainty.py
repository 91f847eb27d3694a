"""Three-point estimates in the format, and the sampling model against its closed forms (docs/scenario-format.md, "Uncertainty")."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from planner.errors import ScenarioError
from planner.loader import load
from planner.quantities import EstimatedAmount
from planner.scenario import Scenario
from planner.source import parse_text
from planner.uncertainty import pert_mean, quantile, sample
from tests.factories import REFERENCE, scenario_data, write_yaml
from tests.solving import solved

N = 200_000


def ranged(**policies: object) -> dict[str, object]:
    """The tiny scenario with a three-point effort, value, multiplier, success and availability."""
    data = scenario_data()
    data["initiatives"][0]["effort"] = {"web": {"low": 6, "likely": 8, "high": 14}}
    data["initiatives"][0]["value"] = {"low": 10, "likely": 20, "high": 25}
    data["initiatives"][0]["success"] = 0.6
    data["initiatives"][1]["estimate"] = {"low": 0.8, "high": 1.6}
    data["initiatives"][1]["success"] = 0.5
    data["teams"][1]["availability"] = {"low": 0.7, "likely": 0.9, "high": 1.0}
    data["policies"] = {"uncertainty": policies} if policies else {}
    return data


def test_a_three_point_estimate_is_planned_at_likely_exactly_as_the_point_estimate() -> None:
    with_ranges, point = solved(ranged()), solved(scenario_data())  # success, multipliers and availability leave the plan alone too
    assert with_ranges.objective == point.objective
    assert [(s.id, s.start) for s in with_ranges.scheduled] == [(s.id, s.start) for s in point.scheduled]


def test_a_scenario_keeps_its_ranges_through_a_round_trip() -> None:
    scenario = Scenario.model_validate(ranged())
    dumped = scenario.model_dump(mode="json")
    assert dumped["initiatives"][0]["effort"] == {"web": {"low": 6, "likely": 8, "high": 14}}
    assert dumped["initiatives"][0]["value"] == {"low": 10.0, "likely": 20.0, "high": 25.0}
    again = Scenario.model_validate(copy.deepcopy(dumped))
    effort = again.initiatives[0].effort["web"]
    assert isinstance(effort, EstimatedAmount) and (effort.low, effort.likely, effort.high) == (6, 8, 14)
    assert again.model_dump(mode="json") == dumped


def test_a_range_out_of_order_is_refused_at_its_line(tmp_path: Path) -> None:
    data = ranged()
    data["initiatives"][0]["effort"] = {"web": {"low": 9, "likely": 8, "high": 14}}
    path = write_yaml(tmp_path, "bad.yaml", data)
    line = next(n for n, row in enumerate(path.read_text().splitlines(), 1) if row.strip() == "low: 9")  # where the range starts
    with pytest.raises(ScenarioError) as raised:
        load(parse_text(path.read_bytes(), name=str(path)))
    (problem,) = raised.value.as_problems()
    assert problem.location.path == "initiatives[0].effort.web"
    assert problem.location.line == line
    assert "low <= likely <= high, got 9, 8, 14" in problem.message


def test_point_estimates_draw_exactly_the_numbers_written() -> None:
    scenario = load(parse_text(REFERENCE.read_bytes(), name="acme")).scenario
    drawn = sample(scenario, 1000, seed=3)
    for (initiative, index), efforts in drawn.effort.items():
        written = float(scenario.initiative_by_id[initiative].all_needs[index].effort)
        assert np.all(efforts == written)
    assert drawn.value == {} and all(s.all() for s in drawn.success.values())
    assert all(np.all(a == 1) for a in drawn.availability.values())


@pytest.mark.parametrize(("low", "likely", "high"), [(6, 8, 14), (0, 0, 10), (2, 9, 10)])
def test_pert_draws_have_the_closed_form_mean(low: float, likely: float, high: float) -> None:
    draws = quantile(np.random.default_rng(1).random(N), low, likely, high, "pert")
    mean = pert_mean(low, likely, high)
    spread = np.sqrt((mean - low) * (high - mean) / 7)  # PERT's variance with weight 4
    assert abs(draws.mean() - mean) < 4 * spread / np.sqrt(N)
    assert abs(draws.std() - spread) < 0.01 * spread
    assert draws.min() >= low and draws.max() <= high


def test_triangular_draws_have_the_closed_form_mean_and_variance() -> None:
    low, likely, high = 6.0, 8.0, 14.0
    draws = quantile(np.random.default_rng(2).random(N), low, likely, high, "triangular")
    mean = (low + likely + high) / 3
    variance = (low**2 + likely**2 + high**2 - low * likely - low * high - likely * high) / 18
    assert abs(draws.mean() - mean) < 4 * np.sqrt(variance / N)
    assert abs(draws.var() - variance) < 0.01 * variance


def test_two_independent_items_both_succeed_with_the_product_of_their_probabilities() -> None:
    drawn = sample(Scenario.model_validate(ranged()), N, seed=5)
    both = drawn.success["signup"] & drawn.success["cdn"]
    p = 0.6 * 0.5
    assert abs(both.mean() - p) < 4 * np.sqrt(p * (1 - p) / N)
    assert abs(drawn.success["signup"].mean() - 0.6) < 4 * np.sqrt(0.24 / N)
    assert drawn.success["promo"].all()  # no success given: it always delivers


def test_the_multiplier_scales_the_written_effort_and_availability_stays_in_its_range() -> None:
    drawn = sample(Scenario.model_validate(ranged()), N, seed=7)
    cdn = drawn.effort[("cdn", 0)]  # 4 written, times a PERT multiplier on 0.8, 1, 1.6
    assert abs(cdn.mean() - 4 * pert_mean(0.8, 1.0, 1.6)) < 0.01
    assert cdn.min() >= 4 * 0.8 - 1e-9 and cdn.max() <= 4 * 1.6 + 1e-9
    available = drawn.availability[("ops", "2027-Q1")]
    assert available.min() >= 0.7 and available.max() <= 1.0 and abs(available.mean() - pert_mean(0.7, 0.9, 1.0)) < 0.001
    assert np.all(drawn.availability[("web", "2027-Q2")] == 1)


@pytest.mark.parametrize(("rho", "expected"), [(1.0, 1.0), (0.0, 0.0), (0.5, 0.5)])
def test_correlation_moves_an_initiatives_efforts_together(rho: float, expected: float) -> None:
    data = ranged(correlation=rho, distribution="triangular")
    data["initiatives"][0]["effort"] = {"web": {"low": 6, "likely": 8, "high": 14}, "ops": {"low": 1, "likely": 2, "high": 5}}
    drawn = sample(Scenario.model_validate(data), 50_000, seed=11)
    ranks = [np.argsort(np.argsort(drawn.effort[("signup", i)])) for i in (0, 1)]
    assert abs(np.corrcoef(ranks)[0, 1] - expected) < 0.02  # Spearman's rank correlation: rho, by the mixture's construction


def test_the_same_seed_draws_the_same_samples_and_another_seed_others() -> None:
    scenario = Scenario.model_validate(ranged())
    first, again, other = sample(scenario, 100, seed=1), sample(scenario, 100, seed=1), sample(scenario, 100, seed=2)
    assert np.array_equal(first.effort[("signup", 0)], again.effort[("signup", 0)])
    assert not np.array_equal(first.effort[("signup", 0)], other.effort[("signup", 0)])
