"""The status of a solve, shared by plans and the explanations of them."""

from __future__ import annotations

from enum import Enum


class PlanStatus(str, Enum):
    optimal = "optimal"  # proven best
    feasible = "feasible"  # a valid plan, not proven best (the time limit came first)
    infeasible = "infeasible"  # proven: no plan satisfies every hard constraint
    unknown = "unknown"  # no plan found and no proof either way within the time limit
