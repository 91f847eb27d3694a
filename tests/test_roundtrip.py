"""Loading, dumping and reloading a scenario gives the same model, in YAML and in JSON."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from planner import Scenario, dump_scenario, load_scenario, parse_scenario
from tests.factories import BUNDLED, scenario_data
from tests.strategies import scenarios


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_generated_scenarios_survive_a_yaml_round_trip(data):
    scenario = Scenario.model_validate(data)
    again = parse_scenario(dump_scenario(scenario, "yaml"), name="dumped.yaml").scenario
    assert again == scenario


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_generated_scenarios_survive_a_json_round_trip(data):
    scenario = Scenario.model_validate(data)
    again = parse_scenario(dump_scenario(scenario, "json"), name="dumped.json").scenario
    assert again == scenario


@pytest.mark.parametrize("path", sorted(BUNDLED.glob("*.yaml")), ids=lambda p: p.name)
def test_bundled_scenarios_survive_a_round_trip(path):
    scenario = load_scenario(path)
    for fmt in ("yaml", "json"):
        assert parse_scenario(dump_scenario(scenario, fmt), name=f"dumped.{fmt}").scenario == scenario


def test_a_dumped_scenario_leaves_defaults_out_and_writes_plain_numbers():
    text = dump_scenario(Scenario.model_validate(scenario_data()), "yaml")
    assert "mandatory" not in text and "duration" not in text
    assert "capacity: 10\n" in text and "- 4\n" in text
