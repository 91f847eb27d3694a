"""The reference scenario is the format's contract with users: it loads unchanged and means what it says."""

from decimal import Decimal

import pytest

from planner import load_scenario
from planner.scoring import initiative_value
from tests.factories import REFERENCE, SHARED_REFERENCE


@pytest.fixture(scope="module")
def acme():
    return load_scenario(REFERENCE)


def test_bundled_copy_matches_the_shared_reference():
    if not SHARED_REFERENCE.exists():
        pytest.skip("../shared is not beside this checkout")
    assert REFERENCE.read_bytes() == SHARED_REFERENCE.read_bytes()


def test_shared_reference_loads_unchanged():
    if not SHARED_REFERENCE.exists():
        pytest.skip("../shared is not beside this checkout")
    assert load_scenario(SHARED_REFERENCE) == load_scenario(REFERENCE)


def test_horizon_is_the_four_quarters_of_2027(acme):
    assert acme.periods == ("2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4")


def test_the_three_capacity_forms_expand_per_period(acme):
    assert acme.capacity("platform") == (26, 26, 26, 26)
    assert acme.capacity("data") == (16, 16, 12, 16)
    assert acme.capacity("ml") == (16, 20, 20, 20)


def test_long_form_needs_and_short_form_effort_are_one_list(acme):
    audit = acme.initiative_by_id["pricing-fairness-audit"]
    assert [(n.team, n.skill, n.effort) for n in audit.all_needs] == [(None, "ml", Decimal(6)), ("data", None, Decimal(4))]
    chatbot = acme.initiative_by_id["support-chatbot"]
    assert {n.team: n.effort for n in chatbot.all_needs} == {"ml": 24, "platform": 8, "web": 6}


def test_rice_value_is_the_numerator_and_explicit_value_overrides(acme):
    pricing = acme.initiative_by_id["dynamic-pricing"]
    assert initiative_value(pricing, acme.policies) == pytest.approx(120 * 1 * 0.5)
    assert initiative_value(acme.initiative_by_id["returns-labelling"], acme.policies) == 8


def test_policies_read_as_written(acme):
    invisible = acme.policies.invisible_work
    assert invisible.min_share == Decimal("0.2")
    assert invisible.team_min_share == {"platform": Decimal("0.25"), "sre": Decimal("0.4")}
    assert acme.policies.themes["growth"].max_share == Decimal("0.45")
    assert acme.initiative_by_id["gpu-cost-controls"].committed == "2027-Q1"
    assert acme.is_invisible(acme.initiative_by_id["soc2-renewal"])
    assert not acme.is_invisible(acme.initiative_by_id["visual-search"])
