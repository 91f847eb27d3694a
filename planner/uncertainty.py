"""The sampling model of three-point estimates: what one sample of a scenario's uncertain numbers is.

A scenario plans on point values (an estimate's `likely`); a simulation draws, per sample:

- each effort written as `{low, likely, high}`, from the distribution of `policies.uncertainty`
  (PERT: low + (high - low) * Beta(1 + 4 (likely - low) / (high - low), 1 + 4 (high - likely) / (high - low));
  triangular: the triangle on the three points). A point effort stays as written.
- an initiative's `estimate: {low, likely, high}` multiplier, from the same distribution, multiplying every
  one of its efforts (the drawn effort, or the written one).
- an initiative's value written as `{low, likely, high}`, from the same distribution; a point value stays.
- whether it succeeds: true with probability `success` (1 unless given), independently of everything else.
  An initiative that does not succeed delivers no value; its effort is spent all the same.
- each team's availability in each period, from its `availability` three-point share (1 unless given),
  independently per period: the share of its capacity that materialises.

Correlation (`policies.uncertainty.correlation`, rho): every draw is the quantile function of its
distribution at a uniform u. An initiative has one common uniform; each of its effort ranges and its
multiplier uses the common uniform with probability sqrt(rho) and an independent uniform otherwise. So each
draw keeps its own distribution exactly, and any two of an initiative's draws have Spearman's rank
correlation rho exactly (both take the common uniform with probability rho; otherwise they are
independent): rho = 1 puts them all at the same quantile, rho = 0 makes them independent. (That is of
the draws; an `estimate` multiplier, one per initiative, then moves all its efforts together whatever rho.)
Values, successes and availabilities are independent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

import numpy as np

from planner.quantities import EstimatedAmount, EstimatedValue
from planner.scenario import Initiative, Objective, Scenario
from planner.scoring import initiative_value
from planner.settings import SolveSettings
from planner.whatif import edited

GRID = 2049  # points of the tabulated PERT quantile function: its error is far below a sample's noise


@lru_cache(maxsize=4096)
def _beta_table(alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """(cdf, t) of Beta(alpha, beta) on a grid, for inverting by interpolation (alpha, beta >= 1 here, so the
    density is finite on [0, 1]; the cumulative trapezoid is exact to well under 1e-6 of the range)."""
    t = np.linspace(0.0, 1.0, GRID)
    density = t ** (alpha - 1) * (1 - t) ** (beta - 1)
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2)])
    return cdf / cdf[-1], t


def quantile(u: np.ndarray, low: float, likely: float, high: float, distribution: str) -> np.ndarray:
    """The distribution's quantile function at `u` (uniforms in [0, 1])."""
    if high <= low:
        return np.full_like(u, likely, dtype=float)
    span = high - low
    if distribution == "triangular":
        mode = (likely - low) / span
        left = u < mode
        out = np.empty_like(u, dtype=float)
        out[left] = low + np.sqrt(u[left] * span * (likely - low))
        out[~left] = high - np.sqrt((1 - u[~left]) * span * (high - likely))
        return out
    alpha, beta = 1 + 4 * (likely - low) / span, 1 + 4 * (high - likely) / span
    cdf, t = _beta_table(round(alpha, 9), round(beta, 9))
    return low + span * np.interp(u, cdf, t)


def pert_mean(low: float, likely: float, high: float) -> float:
    """The closed form: (low + 4 likely + high) / 6."""
    return (low + 4 * likely + high) / 6


@dataclass
class Samples:
    """`n` draws of every uncertain number of a scenario, as arrays of length n (point numbers repeated)."""

    n: int
    effort: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)  # (initiative, need index in all_needs) -> total effort
    value: dict[str, np.ndarray] = field(default_factory=dict)  # initiative -> its value if delivered (before decay)
    success: dict[str, np.ndarray] = field(default_factory=dict)  # initiative -> bool
    availability: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # (team, period) -> share of capacity


BLOCK = 5000
"""Samples are drawn in blocks of this many, block k from its own generator (`block_seed`): so a simulation can be
split into blocks (over processes or queue workers) and give the same samples as when drawn at once."""


def blocks(n: int) -> list[int]:
    """The sizes of the blocks `n` samples are drawn in."""
    return [min(BLOCK, n - start) for start in range(0, n, BLOCK)]


def block_seed(seed: int, k: int) -> int | list[int]:
    """Block 0 draws from `seed` itself (so up to `BLOCK` samples are what one generator of the seed draws); block k
    from the seed sequence (seed, k)."""
    return seed if k == 0 else [seed, k]


def sample(scenario: Scenario, n: int, seed: int = 0) -> Samples:
    """`n` samples of the scenario's uncertain numbers, reproducible from `seed` (numpy's PCG64), in `blocks`."""
    drawn = [sample_block(scenario, size, seed, k) for k, size in enumerate(blocks(n))]
    if len(drawn) == 1:
        return drawn[0]
    out = Samples(n=n)
    for name in ("effort", "value", "success", "availability"):
        fields: dict[Any, np.ndarray] = getattr(out, name)
        for key in getattr(drawn[0], name):
            fields[key] = np.concatenate([getattr(d, name)[key] for d in drawn])
    return out


def sample_block(scenario: Scenario, n: int, seed: int, k: int = 0) -> Samples:
    """Block `k` of the samples of `seed`: `n` (at most `BLOCK`) draws of every uncertain number."""
    rng = np.random.default_rng(block_seed(seed, k))
    model = scenario.policies.uncertainty
    rho, dist = model.correlation, model.distribution
    out = Samples(n=n)

    shared = float(np.sqrt(rho))  # the chance each draw takes the common uniform: two of them both do with chance rho

    def mixed(common: np.ndarray) -> np.ndarray:
        own = rng.random(n)
        return np.where(rng.random(n) < shared, common, own) if rho < 1 else common

    for initiative in scenario.initiatives:
        common = rng.random(n)
        factor = np.ones(n)
        if initiative.estimate is not None:
            m = initiative.estimate
            factor = quantile(mixed(common), m.low, m.likely, m.high, dist)
        for index, need in enumerate(initiative.all_needs):
            effort = need.effort
            if isinstance(effort, EstimatedAmount):
                drawn = quantile(mixed(common), float(effort.low), float(effort.likely), float(effort.high), dist)
            else:
                drawn = np.full(n, float(Decimal(effort)))
            out.effort[(initiative.id, index)] = drawn * factor
        value = initiative.value
        if isinstance(value, EstimatedValue):
            out.value[initiative.id] = quantile(rng.random(n), value.low, value.likely, value.high, dist)
        out.success[initiative.id] = rng.random(n) < initiative.success if initiative.success < 1 else np.ones(n, dtype=bool)
    for team in scenario.teams:
        for period in scenario.periods:
            a = team.availability
            out.availability[(team.id, period)] = np.ones(n) if a is None else quantile(rng.random(n), a.low, a.likely, a.high, dist)
    return out


def uncertain(scenario: Scenario) -> bool:
    """Anything in the scenario is drawn rather than written: a three-point effort or value, a multiplier, a
    success below 1, or an availability."""
    return any(t.availability is not None for t in scenario.teams) or any(
        i.estimate is not None or i.success < 1 or isinstance(i.value, EstimatedValue) or any(isinstance(need.effort, EstimatedAmount) for need in i.all_needs)
        for i in scenario.initiatives
    )


def mean(low: float, likely: float, high: float, distribution: str) -> float:
    """The distribution's mean, in closed form: PERT (low + 4 likely + high) / 6; triangular (low + likely + high) / 3."""
    return pert_mean(low, likely, high) if distribution == "pert" else (low + likely + high) / 3


def expected_value(initiative: Initiative, scenario: Scenario) -> float:
    """What an initiative is worth on average: its value's mean (a three-point value; else the value) times `success`."""
    value = initiative_value(initiative, scenario.policies)
    if isinstance(initiative.value, EstimatedValue):
        value = mean(initiative.value.low, initiative.value.likely, initiative.value.high, scenario.policies.uncertainty.distribution)
    return value * initiative.success


def valued(scenario: Scenario, settings: SolveSettings) -> Scenario:
    """The scenario a solve with these settings values plans by: as written (`objective: planned`), or with each
    initiative's value replaced by its expected value (its cost of delay and lateness cost times its `success`
    too), and each synergy's by its value times the chance that all of its initiatives succeed (`objective:
    expected`). The checker re-scores a plan on the same scenario."""
    if settings.objective == "planned" or scenario.policies.objective is Objective.makespan:
        return scenario
    by_id = scenario.initiative_by_id

    def change(data: dict[str, Any]) -> None:
        for item in data.get("initiatives", []):  # success is in the value now: the view is its own view (idempotent)
            success = by_id[item["id"]].success
            item["value"] = round(expected_value(by_id[item["id"]], scenario), 6)
            # An initiative that fails delivers nothing, lateness costs included (as the simulation counts it): they are expected too.
            if item.get("cost_of_delay") is not None:
                item["cost_of_delay"] = round(item["cost_of_delay"] * success, 6)
            if item.get("due") is not None:
                item["due"]["late_cost"] = round(item["due"]["late_cost"] * success, 6)
            item.pop("success", None)
        for synergy in data.get("synergies", []):
            synergy["value"] = round(synergy["value"] * math.prod(by_id[i].success for i in synergy["ids"]), 6)

    return edited(scenario, change)
