"""What the options take: value types for argparse (each refusing a bad value with its reason), the file
checks, and the one translation of the search options into `SolveSettings`.

A bad value is a usage error (exit 2), worded as argparse words its own.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from api.cli.exits import UsageError
from planner.settings import SolveSettings


def count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{text}: give a whole number from 1 to 64")
    return value


def steps(text: str) -> int:
    value = count(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"'{text}': a curve needs at least 2 points")
    return value


def _fraction(text: str, example: str) -> float:
    """A number written as a percentage (`-20%`) or a fraction (`-0.2`)."""
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not {example}") from None


def share(text: str) -> float:
    value = _fraction(text, "a share: write 2% or 0.02")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text}: give a share from 0 to 1 (0% to 100%)")
    return value


def capacity_change(text: str) -> float:
    value = _fraction(text, "a change: write -20% or +30% (or -0.2, 0.3)")
    if not -1 < value <= 10:
        raise argparse.ArgumentTypeError(f"{text}: a change of capacity lies above -100% and at most +1000%")
    return value


def _range(text: str, each: Callable[[str], float], what: str) -> tuple[float, float]:
    """LOW..HIGH, each end read by `each`, the low end below the high one."""
    low, sep, high = text.partition("..")
    if not sep:
        raise argparse.ArgumentTypeError(f"'{text}': write a range of {what} as LOW..HIGH")
    bounds = (each(low), each(high))
    if bounds[0] >= bounds[1]:
        raise argparse.ArgumentTypeError(f"'{text}': the range's low end must be below its high end")
    return bounds


def share_range(text: str) -> tuple[float, float]:
    return _range(text, share, "shares, e.g. 0..0.4")


def confidence(text: str) -> float:
    value = _fraction(text, "a confidence: write 90% or 0.9")
    if not 0.5 <= value <= 0.99:
        raise argparse.ArgumentTypeError(f"{text}: give a confidence from 0.5 to 0.99 (50% to 99%)")
    return value


def confidence_range(text: str) -> tuple[float, float]:
    return _range(text, confidence, "confidence levels, e.g. 0.7..0.95")


def samples(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 100 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"{text}: give a whole number of samples from 100 to 100000")
    return value


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"{text}: give a number of seconds above 0, at most 86400")
    return value


def existing(path: str) -> str:
    """The path of a file the command reads; a missing one is a usage error, as argparse would call it."""
    if not os.path.exists(path):
        raise UsageError(f"{path}: no such file")
    if os.path.isdir(path):
        raise UsageError(f"{path}: is a directory, not a file")
    return path


def solve_settings(args: argparse.Namespace) -> SolveSettings:
    """The settings the command line asks for: each field of `SolveSettings` from its option (`--time-limit` for
    `time_limit`), when the command has it. The model's own bounds decide; a value outside them is a usage
    error naming the option, as argparse names its own."""
    given = {name: getattr(args, name) for name in SolveSettings.model_fields if hasattr(args, name)}
    try:
        return SolveSettings(**given)
    except ValidationError as exc:
        raise UsageError("; ".join(_refusal(error) for error in exc.errors())) from None


def bounds(field: str) -> str:
    """`0 to 64`: the range `SolveSettings` allows a whole-number field, for an option's help."""
    limits = SolveSettings.model_fields[field].metadata
    return f"{next(m.ge for m in limits if hasattr(m, 'ge'))} to {next(m.le for m in limits if hasattr(m, 'le'))}"


def _refusal(error: Any) -> str:
    """One refused value as `--option VALUE: must be ...`; a refused combination of options as its sentence."""
    if not error["loc"]:
        return str(error["msg"]).removeprefix("Value error, ")
    option = "--" + str(error["loc"][0]).replace("_", "-")
    bounds = error.get("ctx") or {}
    for key, words in (("le", "at most"), ("ge", "at least"), ("lt", "below"), ("gt", "above")):
        if key in bounds:
            return f"{option} {error['input']}: must be {words} {bounds[key]}"
    return f"{option} {error['input']}: {error['msg'][0].lower()}{error['msg'][1:]}"
