"""Exact quantities.

Capacity and effort are decimals a user writes by hand (`12.5` engineer-weeks). They are kept as
`Decimal` in the model and as whole hundredths (`int`) wherever arithmetic happens, so a capacity check
never loses a fraction to binary floating point.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, PlainValidator, WithJsonSchema

SCALE = 100  # hundredths: the precision every amount is handled with exactly
SHARE_SCALE = 10_000  # shares carry at most four decimals: ten-thousandths are exact
MAX_AMOUNT = 10_000_000
"""The largest capacity or effort: every sum the solvers form (in hundredths, times a share in
ten-thousandths, over every initiative) then stays inside 64-bit integers, which CP-SAT and the MILP
solvers count in. Ten million of any unit is beyond any roadmap; a larger number is a unit mix-up."""
MAX_VALUE = 1_000_000_000
"""The largest value of one initiative (explicit or scored) and of a stability cost, for the same reason:
the objective counts value in thousandths, summed over every initiative."""


def _decimal(value: Any, what: str, places: int, most: int, beyond: str) -> Decimal:
    """`value` as an exact Decimal of at most `places` decimals and at most `most` in size (else `beyond`)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValueError(f"{what} must be a number, got {value!r}")
    try:
        # str() first: Decimal(0.1) would carry the float's binary error into the model.
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    if abs(number) > most:
        raise ValueError(beyond.format(value=value))
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"{what} {value} has more than {places} decimal places")
    return number.normalize() if number != 0 else Decimal(0)


def _amount(value: Any) -> Decimal:
    number = _decimal(
        value, "an amount", 2, MAX_AMOUNT, f"an amount of {{value}} is more than the planner counts exactly (at most {MAX_AMOUNT:,}); is the unit right?"
    )
    if number < 0:
        raise ValueError(f"an amount cannot be negative, got {value}")
    return number


def _share(value: Any) -> Decimal:
    number = _decimal(value, "a share", 4, 1, "a share is a fraction between 0 and 1, got {value}")
    if not 0 <= number <= 1:
        raise ValueError(f"a share is a fraction between 0 and 1, got {value}")
    return number


def plain_number(value: Decimal) -> int | float:
    """A decimal as the plain JSON number a user would write."""
    # Dumped scenarios read like hand-written ones: 26, not "26" or 26.0.
    return int(value) if value == value.to_integral_value() else float(value)


Amount = Annotated[
    Decimal,
    BeforeValidator(_amount),
    PlainSerializer(plain_number, return_type=float),
    WithJsonSchema({"type": "number", "minimum": 0, "multipleOf": 0.01}),
]
"""A non-negative capacity or effort, exact to 0.01 of the scenario's unit."""

Share = Annotated[
    Decimal,
    BeforeValidator(_share),
    PlainSerializer(plain_number, return_type=float),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1}),
]
"""A fraction between 0 and 1 (at most four decimal places)."""


def hundredths(amount: Decimal) -> int:
    """An amount in whole hundredths of the unit (exact: amounts carry at most two decimals)."""
    return int(amount * SCALE)


def spread(total: int, duration: int) -> list[int]:
    """Spread `total` hundredths evenly over `duration` periods, exactly.

    The remainder goes to the earliest periods (10.00 over 3 periods is 3.34, 3.33, 3.33), so the
    per-period loads always add up to the stated effort.
    """
    base, remainder = divmod(total, duration)
    return [base + (1 if k < remainder else 0) for k in range(duration)]


# --- three-point estimates ------------------------------------------------------------------------------


class EstimatedAmount(Decimal):
    """An effort estimated as `{low, likely, high}`: it is its likely value wherever the plan is made (so a
    scenario plans exactly as with that point estimate), and carries its range for the simulation."""

    low: Decimal
    high: Decimal

    def __new__(cls, likely: Decimal, low: Decimal, high: Decimal) -> EstimatedAmount:
        made = super().__new__(cls, likely)
        made.low, made.high = low, high
        return made

    def __reduce__(self) -> Any:  # pickled (to a solver process) with its range
        return (EstimatedAmount, (Decimal(self), self.low, self.high))

    @property
    def likely(self) -> Decimal:
        return Decimal(self)


class EstimatedValue(float):
    """A value estimated as `{low, likely, high}`: its likely value in the plan, its range in the simulation."""

    low: float
    high: float

    def __new__(cls, likely: float, low: float, high: float) -> EstimatedValue:
        made = super().__new__(cls, likely)
        made.low, made.high = low, high
        return made

    def __reduce__(self) -> Any:
        return (EstimatedValue, (float(self), self.low, self.high))

    @property
    def likely(self) -> float:
        return float(self)


_POINTS = ("low", "likely", "high")


def three_points(value: dict[Any, Any], parse: Any, what: str) -> tuple[Any, Any, Any]:
    """`{low, likely, high}`, each read by `parse`, in order (else a ValueError naming `what`)."""
    unknown = sorted(str(k) for k in value if k not in _POINTS)
    if unknown:
        raise ValueError(f"a three-point {what} has low, likely and high, not {', '.join(unknown)}")
    missing = [k for k in _POINTS if k not in value]
    if missing:
        raise ValueError(f"a three-point {what} needs {', '.join(missing)} too: {{low, likely, high}}")
    low, likely, high = (parse(value[k]) for k in _POINTS)
    if not low <= likely <= high:
        raise ValueError(f"a three-point {what} needs low <= likely <= high, got {plain(low)}, {plain(likely)}, {plain(high)}")
    return low, likely, high


def plain(value: Any) -> Any:
    """A number as written: 14 rather than Decimal('14') or 14.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return plain_number(value) if isinstance(value, Decimal) else value


def _effort(value: Any) -> Decimal:
    if isinstance(value, EstimatedAmount):
        return value
    if isinstance(value, dict):
        low, likely, high = three_points(value, _amount, "effort")
        return likely if low == likely == high else EstimatedAmount(likely, low, high)
    return _amount(value)


def _plain_effort(value: Decimal) -> Any:
    if isinstance(value, EstimatedAmount):
        return {"low": plain_number(value.low), "likely": plain_number(value.likely), "high": plain_number(value.high)}
    return plain_number(value)


Effort = Annotated[
    Decimal,
    PlainValidator(_effort),
    PlainSerializer(_plain_effort),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "multipleOf": 0.01},
                {
                    "type": "object",
                    "properties": {p: {"type": "number", "minimum": 0, "multipleOf": 0.01} for p in _POINTS},
                    "required": list(_POINTS),
                    "additionalProperties": False,
                    "description": "A three-point estimate: the plan uses `likely`, the simulation draws between `low` and `high`.",
                },
            ]
        }
    ),
]
"""An effort: an exact amount, or a three-point estimate `{low, likely, high}` planned at `likely`."""
