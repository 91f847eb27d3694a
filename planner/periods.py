"""Period labels: the planning horizon is a run of labelled periods, referred to by label everywhere."""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum


class Granularity(str, Enum):
    quarter = "quarter"
    month = "month"
    sprint = "sprint"
    week = "week"


_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)$")

EXAMPLES = {
    Granularity.quarter: "2027-Q1",
    Granularity.month: "2027-01",
    Granularity.week: "2027-W01",
    Granularity.sprint: "S1 or 2027-S07",
}


def _iso_weeks(year: int) -> int:
    # December 28th always falls in the last ISO week of its year.
    return dt.date(year, 12, 28).isocalendar().week


def period_labels(start: str, count: int, granularity: Granularity) -> list[str]:
    """The labels of `count` consecutive periods from `start`.

    Raises ValueError with a sentence naming the expected form when `start` does not fit the granularity.
    """
    if granularity is Granularity.quarter:
        first = _ordinal(start, granularity)
        return [f"{q // 4:04d}-Q{q % 4 + 1}" for q in range(first, first + count)]
    if granularity is Granularity.month:
        first = _ordinal(start, granularity)
        return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(first, first + count)]
    if granularity is Granularity.week:
        monday = dt.date.fromordinal(_ordinal(start, granularity) * 7 + 1)
        labels = []
        for k in range(count):
            try:
                year, week, _ = (monday + dt.timedelta(weeks=k)).isocalendar()
            except OverflowError:  # Python's calendar ends with the year 9999
                raise ValueError(f"{count} weeks from '{start}' run past the year 9999") from None
            labels.append(f"{year:04d}-W{week:02d}")
        return labels
    prefix, digits = _sprint(start)
    # Keep the user's zero padding (S07, S08, ..., S10).
    return [f"{prefix}{n:0{len(digits)}d}" for n in range(int(digits), int(digits) + count)]


def period_offset(first: str, label: str, granularity: Granularity) -> int:
    """How many periods `label` lies after `first` (negative when before), whether or not it is in the horizon.

    Raises ValueError when `label` does not fit the granularity (for sprints: the prefix of `first`).
    """
    if granularity is Granularity.sprint:
        prefix, digits = _sprint(label)
        expected, first_digits = _sprint(first)
        if prefix != expected:
            raise ValueError(f"'{label}' is not a sprint of this horizon: its labels look like {first}")
        return int(digits) - int(first_digits)
    return _ordinal(label, granularity) - _ordinal(first, granularity)


def _ordinal(label: str, granularity: Granularity) -> int:
    """A quarter, month or week label as a count of periods since year 0 (weeks: Mondays since 0001-01-01)."""
    if granularity is Granularity.quarter:
        match = _QUARTER.match(label)
        if not match:
            raise ValueError(f"'{label}' is not a quarter label like {EXAMPLES[granularity]}")
        return int(match[1]) * 4 + int(match[2]) - 1
    if granularity is Granularity.month:
        match = _MONTH.match(label)
        if not match:
            raise ValueError(f"'{label}' is not a month label like {EXAMPLES[granularity]}")
        return int(match[1]) * 12 + int(match[2]) - 1
    match = _WEEK.match(label)
    if not match or int(match[1]) < 1 or not 1 <= int(match[2]) <= _iso_weeks(int(match[1])):
        raise ValueError(f"'{label}' is not an ISO week label like {EXAMPLES[granularity]}")
    return (dt.date.fromisocalendar(int(match[1]), int(match[2]), 1).toordinal() - 1) // 7


def _sprint(label: str) -> tuple[str, str]:
    match = _TRAILING_NUMBER.match(label)
    if not match:
        raise ValueError(f"'{label}' is not a sprint label: it must end in a number, like {EXAMPLES[Granularity.sprint]}")
    return match[1], match[2]
