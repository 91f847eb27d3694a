"""The formulation's rows as a MILP solver takes them: linear, in integers, reduced, with the MILP's own
strengthening. Shared by the PuLP backend (`solver.milp`) and HiGHS racing CP-SAT (`solver.race`), so both
MILP paths see the same rows.

Rows are kept in integers and divided by the gcd of their coefficients (`reduced`): an equivalent row,
but a floor like `invisible * 10000 >= 2000 * capacity` becomes `invisible * 5 >= capacity`, far from the
floating-point tolerances a MILP solver works within.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from solver.formulation import Formulation, Row, Sense
from solver.variables import Var


class LinearRow(NamedTuple):
    """`sum(coefficient x variable) (sense) rhs`, each coefficient nonzero and each variable once."""

    terms: dict[Var, int]
    sense: Sense
    rhs: int
    kind: str
    ids: tuple[str, ...]


def reduced(terms: Iterable[tuple[int, Var]], sense: Sense, rhs: int, kind: str, ids: tuple[str, ...]) -> LinearRow | None:
    """The row with its terms merged and divided by the gcd of its coefficients (the same integer points,
    smaller numbers); None for a row that says nothing.

    A row without variables is kept only when it cannot hold: `0 >= 1` is how an impossible requirement
    reaches the solver, which then reports the model infeasible, as CP-SAT does for an empty clause.
    One that holds (`0 >= 0`: a theme bound with nothing to schedule, or the objective kept by the
    tie-break when nothing is scheduled) says nothing, and the CBC that cbcbox 2.931 and later builds
    aborts on it, so it is left out. "Without variables" means without a nonzero coefficient.
    """
    merged: dict[Var, int] = {}
    for amount, var in terms:
        merged[var] = merged.get(var, 0) + amount
    merged = {var: amount for var, amount in merged.items() if amount}
    if not merged and (rhs == 0 if sense == "==" else rhs >= 0 if sense == "<=" else rhs <= 0):
        return None
    divisor = math.gcd(*merged.values(), rhs)
    if divisor > 1:
        merged = {var: amount // divisor for var, amount in merged.items()}
        rhs //= divisor
    return LinearRow(merged, sense, rhs, kind, ids)


def linear_rows(f: Formulation, rows: list[Row]) -> Iterator[LinearRow]:
    """Every row as its linear meaning (a typed row's derived from its literals), reduced, then the redundant rows."""
    for row in rows:
        terms, sense, rhs = row.linear(f.upper)
        if (kept := reduced(terms, sense, rhs, row.kind, row.ids)) is not None:
            yield kept
    yield from _finish_per_initiative(f)


def _finish_per_initiative(f: Formulation) -> Iterator[LinearRow]:
    """Redundant, makespan mode: `periods_used >= sum_p (p + duration) x start[i, p]`, one row per initiative.

    The formulation's rows say `periods_used >= p + duration` whenever `start[i, p]`; at most one start
    of i is set, so the sum says no more in integers, and in the LP relaxation, where starts are
    fractions, it is the stronger row: the per-start rows alone let a fractional start weigh its
    finish by its fraction, and the LP bound of a MILP solver is what proves its plans."""
    if f.periods_used is None:
        return
    for initiative in f.scenario.initiatives:
        starts = f.v.starts(initiative.id)
        if starts:
            finish = [(-(p + initiative.duration), var) for p, var in starts]
            if (kept := reduced([(1, f.periods_used), *finish], ">=", 0, "finish", (initiative.id,))) is not None:
                yield kept
