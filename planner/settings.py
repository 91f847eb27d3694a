"""What a solve is asked (`SolveSettings`) and what its status can be: shared by plans and their explanations."""

from __future__ import annotations

import time
from enum import Enum
from typing import Literal

from pydantic import Field, model_validator

from planner.scenario import Frozen, InitiativeId


class PlanStatus(str, Enum):
    optimal = "optimal"  # proven best
    feasible = "feasible"  # a valid plan, not proven best (the time limit came first)
    infeasible = "infeasible"  # proven: no plan satisfies every hard constraint
    unknown = "unknown"  # no plan found and no proof either way within the time limit

    @property
    def found(self) -> bool:
        """A plan exists: optimal or feasible."""
        return self in (PlanStatus.optimal, PlanStatus.feasible)


Backend = Literal["cpsat", "pulp", "greedy"]
MilpSolver = Literal["auto", "highs", "cbc"]
# CP-SAT's and HiGHS's `random_seed` are 32-bit signed: a larger seed is refused here, with its field named, not by them.
MAX_SEED = 2**31 - 1


class SolveSettings(Frozen):
    """How to solve: which backend (and MILP solver), for how long, with how many workers and which seed."""

    backend: Backend = Field(default="cpsat", description="cpsat (OR-Tools CP-SAT), pulp (CBC or HiGHS as a MILP) or greedy (the rank-ordered baseline).")
    milp_solver: MilpSolver = Field(default="auto", description="The pulp backend's solver: highs (HiGHS), cbc (CBC) or auto (HiGHS when installed, else CBC).")
    time_limit: float = Field(
        default=10.0,
        gt=0,
        le=86_400,
        description="Wall-clock limit in seconds. For a solve that comes with reasons (planner solve, a solve job) it bounds "
        "the search and the reasons together (`split_time`); a plan's settings hold the whole limit asked.",
    )
    workers: int = Field(
        default=0, ge=0, le=64, description="Parallel search workers; 0 = automatic (CP-SAT: one per core, at least 4; MILP: the solver's default)."
    )
    seed: int = Field(default=0, ge=0, le=MAX_SEED, description="Random seed, 0 to 2**31 - 1; with one worker the same seed gives the same plan.")
    work_limit: float | None = Field(
        default=None,
        gt=0,
        le=86_400,
        description="CP-SAT's deterministic work limit (its deterministic seconds), for runs that must not depend on the "
        "machine's speed (CI): one worker, and the plan depends only on the input and the seed. time_limit still bounds "
        "the wall clock, as a safety net; a search it stops first is not reproducible.",
    )
    race: bool = Field(
        default=True,
        description="cpsat: a MILP solver (SCIP on small models, HiGHS on larger ones) joins CP-SAT on the same model when the "
        "search lasts over a second, and the plan is the better of the two (`solver.race`); not with work_limit, which must be reproducible.",
    )
    confidence: float | None = Field(
        default=None,
        ge=0.5,
        le=0.99,
        description="Robust planning: every hard deadline and every mandatory or committed item holds in at least this share of "
        "simulated samples (`solver.robust`); the plan reports the confidence an independent simulation achieves.",
    )
    objective: Literal["planned", "expected"] = Field(
        default="planned",
        description="planned: value at the likely estimate; expected: each value's mean times its `success` (value mode).",
    )
    force_in: list[InitiativeId] = Field(default_factory=list, description="Initiatives the plan must schedule.")
    force_out: list[InitiativeId] = Field(default_factory=list, description="Initiatives the plan must leave out.")

    @model_validator(mode="after")
    def _work_limit_is_cpsats(self) -> SolveSettings:
        if self.work_limit is not None and self.backend == "pulp":
            raise ValueError("a work limit is CP-SAT's (HiGHS and CBC stop on the wall clock): use --backend cpsat, or no --work-limit")
        if self.work_limit is not None and self.confidence is not None:
            raise ValueError(
                "a work limit makes a plan reproducible, and a robust plan's rounds share the wall clock: use --confidence or --work-limit, not both"
            )
        return self


REASONS_SHARE = 0.25
"""The share of the time limit kept for the reasons that come with a plan (why work is out or late)."""
EXPLAIN_SHARE = 0.5
"""The share kept for a whole explanation (what-ifs, policy costs, binding capacity: `explain`, `solve --explain`)."""
RESOLVES_PER_RESERVE = 4
"""An explanation's re-solve gets at most this fraction of the time kept for the reasons (and at least
`MIN_RESOLVE`): several are tried, most relevant first, rather than one taking it all."""
MIN_RESOLVE = 1.0


class TimeSplit(Frozen):
    """How a time limit is shared between the search for the plan and the reasons that come with it."""

    total: float = Field(description="Seconds the whole command (or job) may take: search and reasons together.")
    search: float = Field(description="Seconds the search may take: the time limit of the plan's solve.")
    reasons: float = Field(description="Seconds kept for the reasons; they also get whatever the search leaves.")

    @property
    def resolve(self) -> float:
        """The most one re-solve of an explanation may take."""
        return max(MIN_RESOLVE, self.reasons / RESOLVES_PER_RESERVE) if self.reasons else 0.0

    def left(self, began: float) -> float:
        """What is left of the whole at this moment, for the reasons, when it all began at `began` (a
        `time.perf_counter()` instant)."""
        return max(0.0, self.total - (time.perf_counter() - began))


def split_time(total: float, *, reasons: bool, explaining: bool = False, reasons_time: float | None = None) -> TimeSplit:
    """Share `total` seconds between the search and the reasons: a quarter kept for the reasons (half for a
    whole explanation), all of it to the search without reasons, or `reasons_time` when given. Refuses a
    `reasons_time` that leaves the search nothing."""
    if not reasons and not explaining:
        return TimeSplit(total=total, search=total, reasons=0.0)
    kept = total * (EXPLAIN_SHARE if explaining else REASONS_SHARE) if reasons_time is None else reasons_time
    if kept >= total:
        raise ValueError(f"must be less than the time limit ({total:g} s), which includes the search")
    return TimeSplit(total=total, search=total - kept, reasons=kept)
