"""What a solve is asked (`SolveSettings`) and what its status can be: shared by plans and their explanations."""

from __future__ import annotations

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
    time_limit: float = Field(default=10.0, gt=0, le=86_400, description="Wall-clock limit in seconds.")
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
    force_in: list[InitiativeId] = Field(default_factory=list, description="Initiatives the plan must schedule.")
    force_out: list[InitiativeId] = Field(default_factory=list, description="Initiatives the plan must leave out.")

    @model_validator(mode="after")
    def _work_limit_is_cpsats(self) -> SolveSettings:
        if self.work_limit is not None and self.backend == "pulp":
            raise ValueError("a work limit is CP-SAT's (HiGHS and CBC stop on the wall clock): use --backend cpsat, or no --work-limit")
        return self


REASONS_BUDGET = 30.0  # seconds the reasons that come with every plan may take at most (or the time limit, if longer)


def reasons_budget(time_limit: float) -> float:
    """What explaining the reasons for work out or late may take in all, so a large portfolio is not held up by them."""
    return max(REASONS_BUDGET, time_limit)
