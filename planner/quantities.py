"""Exact quantities.

Capacity and effort are decimals a user writes by hand (`12.5` engineer-weeks). They are kept as
`Decimal` in the model and as whole hundredths (`int`) wherever arithmetic happens, so a capacity check
never loses a fraction to binary floating point.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

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
