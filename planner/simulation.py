"""Monte Carlo of a plan: how likely it is to hold when the estimates are drawn instead of taken at likely.

Each sample draws every uncertain number (`planner.uncertainty.sample`), then plays the plan forward,
period by period, by one execution rule (docs/scenario-format.md, "Simulating a plan"):

1. A team's capacity in a period is its capacity times its drawn availability.
2. An initiative starts in its planned period, or later when a prerequisite has not finished in an
   earlier period (dependents wait); work under way starts in the first period.
3. It works at its planned pace, scaled to its drawn effort: by the end of the o-th period of its work
   it wants `drawn effort x the planned share of the effort by then` done (the plan spreads an effort
   evenly over its duration). It never works ahead of that, so it never finishes before its planned
   duration has passed since its actual start.
4. Each team serves the work it carries in plan order (by planned start, then id): each item gets what
   it wants of what is left of the team's capacity. What does not fit is wanted again the next period:
   the work slips.
5. An initiative finishes in the period in which the last of its needs is done (and not before its
   duration has passed). Work not done by the end of the horizon finishes "after the horizon".
6. It delivers its drawn value, after decay and lateness costs for the period it finishes in, when it
   finishes within the horizon and succeeds (`success`); a synergy is earned when all of its
   initiatives deliver. The plan's stability cost and soft floors' penalties count as planned.

With point estimates only, every sample is the plan itself: each initiative finishes in its planned
period (the plan's loads fit its capacities), and the value is the plan's objective.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field

from planner.plan import Plan, is_required, need_loads
from planner.scenario import Frozen, InitiativeId, Objective, PeriodLabel, Scenario, TeamId
from planner.scoring import VALUE_SCALE, finish_value, thousandths
from planner.uncertainty import Samples, blocks, sample_block

DEFAULT_SAMPLES = 1000
MAX_SAMPLES = 100_000
DRIVERS = 10  # the estimates listed as driving the risk most
_EPS = 1e-9


class InitiativeOutlook(Frozen):
    """One scheduled initiative over the samples."""

    id: InitiativeId
    title: str
    required: bool = Field(description="Mandatory or committed (every initiative under makespan): the plan had to schedule it.")
    deadline: PeriodLabel | None = Field(description="Its hard deadline, if any.")
    planned_finish: PeriodLabel
    by_deadline: float | None = Field(description="Share of samples in which it finishes by its deadline (None without one).")
    by_planned_finish: float = Field(description="Share of samples in which it finishes by its planned finish.")
    in_horizon: float = Field(description="Share of samples in which it finishes within the horizon.")
    delivery: float = Field(description="Delivery confidence: by its deadline, or within the horizon without one.")
    p50_finish: PeriodLabel | None = Field(description="The period by which it finishes in half the samples; None: after the horizon.")
    p80_finish: PeriodLabel | None = Field(description="The period by which it finishes in 80% of the samples; None: after the horizon.")
    finishes: dict[str, float] = Field(description="Share of samples finishing in each period (and `later`: after the horizon).")
    success: float = Field(description="Its chance of delivering its value at all (`success`).")
    expected_value: float = Field(description="Mean value delivered (value mode), after decay, lateness and success.")

    @property
    def must_hold(self) -> bool:
        """Required, or with a hard deadline: what delivery confidence and `--confidence` are about."""
        return self.required or self.deadline is not None


class ValueOutlook(Frozen):
    """The plan's value (value mode) over the samples."""

    planned: float = Field(
        description="The plan's objective: every estimate at likely and every initiative succeeding (an expected value, for a plan made by expected value)."
    )
    mean: float
    p10: float
    p50: float
    p90: float
    histogram: list[tuple[float, float, int]] = Field(description="(from, to, samples) bins of the sampled value, for a chart.")


class TeamOverload(Frozen):
    """One team in one period: how often the work it carries wants more than its capacity."""

    team: TeamId
    period: PeriodLabel
    probability: float = Field(description="Share of samples in which the work wanted exceeds the capacity that materialised.")


class RiskDriver(Frozen):
    """One uncertain estimate, and how much it moves the outcome (Spearman's rank correlation over the samples)."""

    estimate: str = Field(description="What is uncertain, in words: `effort of ml-ranking on ml`, `availability of web in 2027-Q2`.")
    initiative: InitiativeId | None = None
    team: TeamId | None = None
    lateness: float = Field(description="Rank correlation with the periods of lateness in all (past each planned finish).")
    value: float | None = Field(description="Rank correlation with the plan's value (value mode).")


class Simulation(Frozen):
    """The outlook of a plan over sampled estimates (`simulate`)."""

    scenario: str
    samples: int
    seed: int
    distribution: str
    correlation: float
    value: ValueOutlook | None = Field(description="The plan's value over the samples (value mode only).")
    confidence: float | None = Field(description="The least delivery confidence of a required item or one with a deadline (None if none).")
    initiatives: list[InitiativeOutlook] = Field(description="Each scheduled initiative, in plan order.")
    overloads: list[TeamOverload] = Field(description="Every team and period, in file order.")
    drivers: list[RiskDriver] = Field(description=f"The {DRIVERS} estimates most rank-correlated with lateness (then with value).")

    def by_id(self) -> dict[str, InitiativeOutlook]:
        return {o.id: o for o in self.initiatives}

    def held(self) -> dict[InitiativeId, float]:
        """The delivery confidence of each item that must hold: required, or with a hard deadline."""
        return {o.id: o.delivery for o in self.initiatives if o.must_hold}


@dataclass
class _Work:
    """One need of a scheduled initiative on its team: drawn effort, planned cumulative share by offset, and what is done."""

    item: int
    team: str
    effort: np.ndarray
    share: np.ndarray
    done: np.ndarray


@dataclass
class Tally:
    """What a block of samples adds to a simulation: counts and sums that add up over blocks, and the per-sample
    value and lateness that the quantiles and the risk drivers need. Blocks are played apart (in one process or
    on queue workers) and merged in block order, so the outlook does not depend on how they were spread."""

    n: int
    finish: np.ndarray  # (items, periods + 1): samples finishing in each period, and after the horizon
    worth: np.ndarray  # (items,): value delivered, summed over the samples
    overload: np.ndarray  # (teams, periods): samples in which the team's work overflows
    values: np.ndarray | None  # (n,): the plan's value per sample (value mode)
    lateness: np.ndarray  # (n,): periods late in all (past each planned finish) per sample

    def merged(self, other: Tally) -> Tally:
        return Tally(
            n=self.n + other.n,
            finish=self.finish + other.finish,
            worth=self.worth + other.worth,
            overload=self.overload + other.overload,
            values=None if self.values is None or other.values is None else np.concatenate([self.values, other.values]),
            lateness=np.concatenate([self.lateness, other.lateness]),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "finish": self.finish.tolist(),
            "worth": self.worth.tolist(),
            "overload": self.overload.tolist(),
            "values": None if self.values is None else self.values.tolist(),
            "lateness": self.lateness.tolist(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], items: int, teams: int, periods: int) -> Tally:
        return cls(
            n=data["n"],
            finish=np.asarray(data["finish"], dtype=np.int64).reshape(items, periods + 1),
            worth=np.asarray(data["worth"], dtype=float).reshape(items),
            overload=np.asarray(data["overload"], dtype=np.int64).reshape(teams, periods),
            values=None if data["values"] is None else np.asarray(data["values"], dtype=float),
            lateness=np.asarray(data["lateness"], dtype=np.int64),
        )


def simulate(scenario: Scenario, plan: Plan, samples: int = DEFAULT_SAMPLES, seed: int = 0) -> Simulation:
    """Play `plan` forward `samples` times (module docstring), block by block (`planner.uncertainty.blocks`); the same
    seed gives the same outlook, however the blocks are spread."""
    sizes = blocks(samples)
    first = sample_block(scenario, sizes[0], seed, 0)  # kept for the risk drivers, rather than drawn again
    tallies = [tally(scenario, plan, first)] + [tally_block(scenario, plan, seed, k, size) for k, size in enumerate(sizes) if k]
    return report(scenario, plan, tallies, seed, first)


def tally_block(scenario: Scenario, plan: Plan, seed: int, k: int, size: int) -> Tally:
    """Block `k` of a simulation: its samples drawn and played."""
    return tally(scenario, plan, sample_block(scenario, size, seed, k))


def tally(scenario: Scenario, plan: Plan, drawn: Samples) -> Tally:
    """Samples played forward, as counts and sums."""
    horizon = len(scenario.periods)
    index = scenario.period_index
    finish, overload = _play(scenario, plan, drawn)
    delivered, values = _values(scenario, plan, drawn, finish)
    planned = np.array([index[s.finish] for s in plan.scheduled], dtype=np.int64).reshape(-1, 1)
    return Tally(
        n=drawn.n,
        finish=np.array([np.bincount(f, minlength=horizon + 1) for f in finish], dtype=np.int64).reshape(len(plan.scheduled), horizon + 1),
        worth=delivered.sum(axis=1) if delivered is not None else np.zeros(len(plan.scheduled)),
        overload=overload,
        values=values,
        lateness=np.maximum(finish - planned, 0).sum(axis=0).astype(np.int64) if len(plan.scheduled) else np.zeros(drawn.n, dtype=np.int64),
    )


def _play(scenario: Scenario, plan: Plan, drawn: Samples) -> tuple[np.ndarray, np.ndarray]:
    """Each scheduled initiative's finish period per sample, (items, n), `len(periods)` after the horizon; and per team
    and period the samples in which its work overflows."""
    n, periods, index = drawn.n, scenario.periods, scenario.period_index
    horizon = len(periods)
    by_id = scenario.initiative_by_id
    items = plan.scheduled
    position = {s.id: k for k, s in enumerate(items)}
    duration = [by_id[s.id].duration for s in items]
    planned = [index[s.start] for s in items]
    work: list[_Work] = []
    for k, s in enumerate(items):
        initiative = by_id[s.id]
        for j, (need, assigned) in enumerate(zip(initiative.all_needs, s.needs)):
            loads = need_loads(need, initiative.duration)
            total = sum(loads)
            share = np.cumsum(loads) / total if total else np.ones(initiative.duration)
            work.append(_Work(k, assigned.team, drawn.effort[(s.id, j)], share, np.zeros(n)))
    by_team: dict[str, list[_Work]] = {}
    for w in work:  # plan order within each team: `work` follows `items`
        by_team.setdefault(w.team, []).append(w)
    prerequisites = [
        ([position[p] for p in by_id[s.id].depends_on if p in position], [position[p] for p in by_id[s.id].depends_on_any if p in position]) for s in items
    ]

    started = np.full((len(items), n), -1)
    finish = np.full((len(items), n), horizon)
    complete = np.zeros((len(items), n), dtype=bool)
    overload = np.zeros((len(scenario.teams), horizon), dtype=np.int64)  # samples in which the team overflows
    needs_of: list[list[_Work]] = [[] for _ in items]
    for w in work:
        needs_of[w.item].append(w)
    for k in range(horizon):
        for m in range(len(items)):
            if planned[m] > k:
                continue
            every, any_of = prerequisites[m]
            ready = started[m] < 0
            for p in every:
                ready &= finish[p] < k
            if any_of:
                ready &= np.any([finish[p] < k for p in any_of], axis=0)
            started[m][ready] = k
        for row, team in enumerate(scenario.teams):
            carried = by_team.get(team.id)
            if not carried:
                continue
            left = float(scenario.capacity(team.id)[k]) * drawn.availability[(team.id, periods[k])]
            capacity = left.copy()
            wanted = np.zeros(n)
            for w in carried:
                on = started[w.item] >= 0
                if not on.any():
                    continue
                offset = np.clip(k - started[w.item], 0, len(w.share) - 1)
                target = np.where(on, w.effort * w.share[offset], 0.0)
                want = np.maximum(target - w.done, 0.0)
                give = np.minimum(want, left)
                w.done += give
                left -= give
                wanted += want
            overload[row, k] = np.count_nonzero(wanted > capacity * (1 + _EPS) + _EPS)
        for m in range(len(items)):
            ready = started[m] >= 0
            for w in needs_of[m]:
                ready &= w.done >= w.effort * (1 - _EPS) - _EPS
            now = ready & ~complete[m]
            complete[m] |= now
            finish[m][now] = np.maximum(k, started[m][now] + duration[m] - 1)
    finish = np.where(finish >= horizon, horizon, finish)
    return finish, overload


def outlook(scenario: Scenario, plan: Plan, drawn: Samples, seed: int) -> Simulation:
    """The simulation's report from samples already drawn (one block of them)."""
    return report(scenario, plan, [tally(scenario, plan, drawn)], seed, drawn)


def report(scenario: Scenario, plan: Plan, tallies: list[Tally], seed: int, first: Samples | None = None) -> Simulation:
    """The outlook from each block's tally, in block order. The risk drivers are ranked on the first block (`first`, its
    samples drawn again when not given): up to `BLOCK` samples pin a rank correlation to about 0.014."""
    periods, index = scenario.periods, scenario.period_index
    by_id = scenario.initiative_by_id
    total = tallies[0]
    for more in tallies[1:]:
        total = total.merged(more)
    n = total.n
    drawn = first if first is not None else sample_block(scenario, tallies[0].n, seed, 0)
    initiatives = []
    for m, s in enumerate(plan.scheduled):
        initiative = by_id[s.id]
        counts = total.finish[m]
        cumulative = np.cumsum(counts)
        deadline = index[initiative.deadline] if initiative.deadline else None
        in_horizon = float(cumulative[-2] / n) if len(periods) else 0.0
        by_deadline = float(cumulative[deadline] / n) if deadline is not None else None
        initiatives.append(
            InitiativeOutlook(
                id=s.id,
                title=s.title,
                required=is_required(initiative, scenario),
                deadline=initiative.deadline,
                planned_finish=s.finish,
                by_deadline=by_deadline,
                by_planned_finish=float(cumulative[index[s.finish]] / n),
                in_horizon=in_horizon,
                delivery=by_deadline if by_deadline is not None else in_horizon,
                p50_finish=_label(periods, cumulative, 0.5),
                p80_finish=_label(periods, cumulative, 0.8),
                finishes={label: round(float(c / n), 6) for label, c in zip([*periods, "later"], counts) if c},
                success=initiative.success,
                expected_value=round(float(total.worth[m] / n), 6),
            )
        )
    held = [o.delivery for o in initiatives if o.must_hold]
    head = tallies[0]
    return Simulation(
        scenario=scenario.name,
        samples=n,
        seed=seed,
        distribution=scenario.policies.uncertainty.distribution,
        correlation=scenario.policies.uncertainty.correlation,
        value=_value_outlook(plan, total.values) if total.values is not None else None,
        confidence=min(held) if held else None,
        initiatives=initiatives,
        overloads=[
            TeamOverload(team=t.id, period=label, probability=round(float(total.overload[r, k] / n), 6))
            for r, t in enumerate(scenario.teams)
            for k, label in enumerate(periods)
        ],
        drivers=_drivers(scenario, plan, drawn, head.lateness, head.values),
    )


def _label(periods: tuple[str, ...], cumulative: np.ndarray, q: float) -> str | None:
    """The first period by which a share q of the samples have finished; None when that is after the horizon."""
    k = int(np.searchsorted(cumulative, int(np.ceil(q * cumulative[-1])), side="left"))
    return periods[k] if k < len(periods) else None


def _values(scenario: Scenario, plan: Plan, drawn: Samples, finish: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per item and sample the value delivered, and per sample the plan's value (value mode; else None, None).

    A drawn value v finishing in period k is worth `finish_value(k) + (v - likely) x keep**k`: the planned
    value for that period (decay, cost of delay and lateness, exactly as the objective counts it), moved by
    the drawn value's difference after decay. With point values it is the objective's number exactly."""
    if scenario.policies.objective is Objective.makespan or plan.objective is None:
        return None, None
    n, horizon = drawn.n, len(scenario.periods)
    by_id = scenario.initiative_by_id
    keep = 1 - scenario.policies.value_decay_per_period
    per_item = np.zeros((len(plan.scheduled), n))
    delivers: dict[str, np.ndarray] = {}
    for m, s in enumerate(plan.scheduled):
        initiative = by_id[s.id]
        table = np.array([finish_value(scenario, initiative, k) / VALUE_SCALE for k in range(horizon)] + [0.0])
        f = finish[m]
        worth = table[f]
        if s.id in drawn.value:
            worth = worth + np.where(f < horizon, (drawn.value[s.id] - float(initiative.value or 0)) * keep ** np.minimum(f, horizon - 1), 0.0)
        delivers[s.id] = (f < horizon) & drawn.success[s.id]
        per_item[m] = np.where(delivers[s.id], worth, 0.0)
    total = per_item.sum(axis=0)
    if scenario.synergies:
        for synergy in scenario.synergies:
            if all(i in delivers for i in synergy.ids):
                earned = np.all([delivers[i] for i in synergy.ids], axis=0)
                total += np.where(earned, thousandths(synergy.value) / VALUE_SCALE, 0.0)
    # the parts of the objective the simulation leaves as planned: the stability cost and soft floors' penalties
    planned_parts = plan.objective - (plan.value or 0.0) - sum(s.value for s in plan.synergies if s.earned)
    return per_item, total + planned_parts


def _value_outlook(plan: Plan, values: np.ndarray) -> ValueOutlook:
    p10, p50, p90 = (float(np.quantile(values, q, method="inverted_cdf")) for q in (0.1, 0.5, 0.9))
    low, high = float(values.min()), float(values.max())
    counts, edges = np.histogram(values, bins=20, range=(low, high if high > low else low + 1))
    return ValueOutlook(
        planned=float(plan.objective or 0.0),
        mean=round(float(values.mean()), 6),
        p10=round(p10, 6),
        p50=round(p50, 6),
        p90=round(p90, 6),
        histogram=[(round(float(a), 6), round(float(b), 6), int(c)) for a, b, c in zip(edges[:-1], edges[1:], counts)],
    )


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share theirs), for Spearman's correlation: vectorised, as scipy's `rankdata` does it."""
    order = np.argsort(x, kind="stable")
    inverse = np.empty(len(x), dtype=np.intp)
    inverse[order] = np.arange(len(x))
    sorted_x = x[order]
    first = np.r_[True, sorted_x[1:] != sorted_x[:-1]]
    dense = first.cumsum()[inverse]
    count = np.r_[np.flatnonzero(first), len(x)]
    return 0.5 * (count[dense] + count[dense - 1] - 1)


def _spearman(rx: np.ndarray, ranked_y: np.ndarray | None) -> float:
    """Spearman's correlation from the ranks of both."""
    if ranked_y is None:
        return 0.0
    sx, sy = rx.std(), ranked_y.std()
    return float(np.mean((rx - rx.mean()) * (ranked_y - ranked_y.mean())) / (sx * sy)) if sx > 0 and sy > 0 else 0.0


def _drivers(scenario: Scenario, plan: Plan, drawn: Samples, lateness: np.ndarray, values: np.ndarray | None) -> list[RiskDriver]:
    """The uncertain estimates of the plan's work and teams, ranked by how strongly they move lateness, then value."""
    by_id = scenario.initiative_by_id
    late, worth = _ranks(lateness.astype(float)), _ranks(values) if values is not None else None
    candidates: list[tuple[str, str | None, str | None, np.ndarray]] = []
    for s in plan.scheduled:
        initiative = by_id[s.id]
        for j, assigned in enumerate(s.needs):
            candidates.append((f"effort of {s.id} on {assigned.team}", s.id, assigned.team, drawn.effort[(s.id, j)]))
        if s.id in drawn.value:
            candidates.append((f"value of {s.id}", s.id, None, drawn.value[s.id]))
        if initiative.success < 1:
            candidates.append((f"success of {s.id}", s.id, None, drawn.success[s.id]))
    loaded = {a.team for s in plan.scheduled for a in s.needs}
    for (team_id, period), share in drawn.availability.items():
        if team_id in loaded:
            candidates.append((f"availability of {team_id} in {period}", None, team_id, share))
    drivers = []
    for words, initiative_id, team, x in candidates:
        if x.min() == x.max():
            continue
        ranked = _ranks(x.astype(float))
        drivers.append(
            RiskDriver(
                estimate=words,
                initiative=initiative_id,
                team=team,
                lateness=round(_spearman(ranked, late), 4),
                value=round(_spearman(ranked, worth), 4) if worth is not None else None,
            )
        )
    drivers.sort(key=lambda d: (-abs(d.lateness), -abs(d.value or 0.0), d.estimate))
    return drivers[:DRIVERS]
