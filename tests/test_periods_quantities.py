"""Period labels and exact quantities: the calendar a horizon runs on and the numbers capacity is made of."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from planner.periods import Granularity, period_labels
from planner.quantities import Amount, Share, hundredths, spread

# --- period labels -------------------------------------------------------------------------------------


def test_quarters_roll_over_into_the_next_year():
    assert period_labels("2027-Q3", 3, Granularity.quarter) == ["2027-Q3", "2027-Q4", "2028-Q1"]


def test_months_roll_over_into_the_next_year():
    assert period_labels("2027-11", 4, Granularity.month) == ["2027-11", "2027-12", "2028-01", "2028-02"]


def test_2026_has_a_53rd_iso_week_before_2027_w01():
    assert period_labels("2026-W52", 3, Granularity.week) == ["2026-W52", "2026-W53", "2027-W01"]


def test_a_52_week_year_rolls_from_w52_to_w01():
    assert period_labels("2027-W52", 2, Granularity.week) == ["2027-W52", "2028-W01"]


def test_sprints_count_up_from_the_start():
    assert period_labels("S1", 3, Granularity.sprint) == ["S1", "S2", "S3"]


def test_a_sprint_labels_prefix_is_kept():
    assert period_labels("2027-S07", 2, Granularity.sprint) == ["2027-S07", "2027-S08"]


def test_a_sprint_labels_zero_padding_is_kept_past_nine():
    assert period_labels("S09", 3, Granularity.sprint) == ["S09", "S10", "S11"]


@pytest.mark.parametrize(
    "start, granularity, words",
    [
        ("2027-Q5", Granularity.quarter, "'2027-Q5' is not a quarter label like 2027-Q1"),
        ("2027-01", Granularity.quarter, "'2027-01' is not a quarter label like 2027-Q1"),
        ("2027-13", Granularity.month, "'2027-13' is not a month label like 2027-01"),
        ("2027-W53", Granularity.week, "'2027-W53' is not an ISO week label like 2027-W01"),
        ("2027-W00", Granularity.week, "'2027-W00' is not an ISO week label like 2027-W01"),
        ("Sprint", Granularity.sprint, "'Sprint' is not a sprint label: it must end in a number, like S1 or 2027-S07"),
    ],
)
def test_a_start_label_of_the_wrong_form_is_refused_with_an_example(start, granularity, words):
    with pytest.raises(ValueError) as caught:
        period_labels(start, 2, granularity)
    assert str(caught.value) == words


def test_weeks_past_the_year_9999_are_refused_not_a_crash():
    with pytest.raises(ValueError, match="3 weeks from '9999-W52' run past the year 9999"):
        period_labels("9999-W52", 3, Granularity.week)


def start_labels(granularity: Granularity) -> st.SearchStrategy[str]:
    """Valid start labels of a granularity, from any day of years 1 to 9000."""
    days = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9000, 12, 31))
    if granularity is Granularity.quarter:
        return days.map(lambda d: f"{d.year:04d}-Q{(d.month - 1) // 3 + 1}")
    if granularity is Granularity.month:
        return days.map(lambda d: f"{d.year:04d}-{d.month:02d}")
    return days.map(lambda d: "{:04d}-W{:02d}".format(*d.isocalendar()[:2]))


calendar_horizons = st.sampled_from([Granularity.quarter, Granularity.month, Granularity.week]).flatmap(
    lambda g: st.tuples(st.just(g), start_labels(g), st.integers(1, 60))
)


@settings(max_examples=150, deadline=None)
@given(calendar_horizons)
def test_every_label_of_a_horizon_is_itself_a_valid_start_and_the_first_is_the_start(horizon):
    granularity, start, count = horizon
    labels = period_labels(start, count, granularity)
    assert labels[0] == start
    assert all(period_labels(label, 1, granularity) == [label] for label in labels)


@settings(max_examples=150, deadline=None)
@given(calendar_horizons)
def test_labels_run_in_calendar_order_without_repeats(horizon):
    granularity, start, count = horizon
    labels = period_labels(start, count, granularity)
    assert len(labels) == count
    assert sorted(set(labels)) == labels


# --- quantities ----------------------------------------------------------------------------------------

AMOUNT = TypeAdapter(Amount)
SHARE = TypeAdapter(Share)


def refusal(adapter: TypeAdapter, value: object) -> str:
    """The sentence a user reads when a value is refused."""
    with pytest.raises(ValidationError) as caught:
        adapter.validate_python(value)
    (error,) = caught.value.errors()
    return str(error["ctx"]["error"])


def test_hundredths_of_twelve_and_a_half_is_1250():
    assert hundredths(Decimal("12.5")) == 1250


def test_spread_gives_the_remainder_to_the_earliest_periods():
    assert spread(1000, 3) == [334, 333, 333]


@given(st.integers(0, 10**9), st.integers(1, 520))
def test_spread_is_exact_and_even(total, duration):
    parts = spread(total, duration)
    assert len(parts) == duration
    assert sum(parts) == total
    assert max(parts) - min(parts) <= 1
    assert parts == sorted(parts, reverse=True)


def test_a_float_amount_is_read_as_written_not_as_binary():
    assert AMOUNT.validate_python(0.1) == Decimal("0.1")


def test_an_amount_with_three_decimals_is_refused():
    assert refusal(AMOUNT, 4.125) == "an amount 4.125 has more than 2 decimal places"


def test_a_negative_amount_is_refused():
    assert refusal(AMOUNT, -3) == "an amount cannot be negative, got -3"


def test_an_amount_that_is_not_a_number_is_refused():
    assert refusal(AMOUNT, "lots") == "an amount must be a number, got 'lots'"


def test_true_is_not_an_amount():
    assert refusal(AMOUNT, True) == "an amount must be a number, got True"


def test_an_infinite_amount_is_refused():
    assert refusal(AMOUNT, float("inf")) == "an amount must be a finite number, got inf"


def test_an_amount_too_large_to_hold_exactly_is_refused_not_a_crash():
    assert refusal(AMOUNT, 10**30) == f"an amount of {10**30} is more than the planner counts exactly (at most 10,000,000); is the unit right?"
    assert refusal(AMOUNT, 1e300) == "an amount of 1e+300 is more than the planner counts exactly (at most 10,000,000); is the unit right?"
    assert refusal(SHARE, 1e300) == "a share is a fraction between 0 and 1, got 1e+300"


def test_a_share_above_1_is_refused():
    assert refusal(SHARE, 1.5) == "a share is a fraction between 0 and 1, got 1.5"


def test_a_share_with_five_decimals_is_refused():
    assert refusal(SHARE, 0.12345) == "a share 0.12345 has more than 4 decimal places"
