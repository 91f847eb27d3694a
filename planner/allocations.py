"""What `policies.allocations` mean for a plan's loads: reserves kept and used, floors met or missed.

Given the load a plan puts on each team in each period, split by kind, these say how much of each
reserve listed work uses and how much it leaves for unlisted work, and how far each floor falls short
(in whole hundredths: the floor, `share x capacity`, rounded up). `planner.plan` reports and scores with
them and the baseline fills by them; the checker (`planner.check`) works the same rules out on its own.

A reserve keeps `share` of a team's capacity for its kinds: other work cannot use it, and work of its
kinds uses it first and then the capacity no reserve holds. Loads fit a team's reserves when

    other load + sum over reserves of max(0, load of its kinds - its reserve) <= the unreserved capacity

(a reserve's kinds are its own: two reserves of one team share no kind).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from planner.quantities import SHARE_SCALE, hundredths
from planner.scenario import Allocation, AllocationMode, Scenario

KindLoad = Mapping[tuple[str, int, str], int]
"""Hundredths of load per (team, period index, kind)."""


def teams_of(scenario: Scenario, allocation: Allocation) -> list[str]:
    """The teams whose capacity an allocation takes a share of."""
    return list(allocation.teams) if allocation.teams is not None else [t.id for t in scenario.teams]


def reserves_of(scenario: Scenario, team: str, period: str | None = None) -> list[Allocation]:
    """The reserves that hold part of a team's capacity (in `period` only, when given)."""
    return [
        a
        for a in scenario.policies.allocations
        if a.mode is AllocationMode.reserve and team in teams_of(scenario, a) and (period is None or a.share_in(period) > 0)
    ]


def floors(scenario: Scenario) -> list[Allocation]:
    return [a for a in scenario.policies.allocations if a.mode is AllocationMode.floor]


def reserved(allocation: Allocation, capacity: int, period: str) -> int:
    """Hundredths of a capacity (in hundredths) a reserve keeps in a period: `share x capacity`, rounded down (0 outside its periods)."""
    return int(allocation.share_in(period) * SHARE_SCALE) * capacity // SHARE_SCALE


def floor_amount(allocation: Allocation, capacity: int) -> int:
    """Hundredths a floor asks of a capacity (in hundredths): `share x capacity`, rounded up."""
    return -(-int(allocation.share * SHARE_SCALE) * capacity // SHARE_SCALE)


def load_of(load: KindLoad, team: str, k: int, kinds: list[str]) -> int:
    return sum(load.get((team, k, kind), 0) for kind in kinds)


@dataclass(frozen=True)
class ReserveUse:
    allocation: Allocation
    team: str
    period: int
    reserved: int  # hundredths
    used: int  # by listed work of its kinds, at most `reserved`


def reserve_uses(scenario: Scenario, load: KindLoad) -> list[ReserveUse]:
    out = []
    for allocation in scenario.policies.allocations:
        if allocation.mode is not AllocationMode.reserve:
            continue
        for team in teams_of(scenario, allocation):
            for k in range(len(scenario.periods)):
                kept = reserved(allocation, hundredths(scenario.capacity(team)[k]), scenario.periods[k])
                out.append(ReserveUse(allocation, team, k, kept, min(kept, load_of(load, team, k, allocation.kinds))))
    return out


def reserves_hold(scenario: Scenario, load: KindLoad, team: str, k: int, total: int) -> bool:
    """The team's loads in period k (`total` of them) fit its capacity and its reserves."""
    reserves = reserves_of(scenario, team)
    capacity = hundredths(scenario.capacity(team)[k])
    kept = [reserved(a, capacity, scenario.periods[k]) for a in reserves]
    listed = [load_of(load, team, k, a.kinds) for a in reserves]
    other = total - sum(listed)
    return other + sum(max(0, used - r) for used, r in zip(listed, kept)) <= capacity - sum(kept)


@dataclass(frozen=True)
class Shortfall:
    allocation: Allocation
    period: int | None  # None: a floor over the horizon
    floor: int  # hundredths asked
    load: int  # hundredths of listed work of its kinds

    @property
    def short(self) -> int:
        return max(0, self.floor - self.load)


def shortfalls(scenario: Scenario, load: KindLoad) -> list[Shortfall]:
    """Every floor's amount and what listed work gives it: per period, or over the horizon."""
    out = []
    periods = range(len(scenario.periods))
    for allocation in floors(scenario):
        teams = teams_of(scenario, allocation)
        capacity = {k: sum(hundredths(scenario.capacity(t)[k]) for t in teams) for k in periods}
        given = {k: sum(load_of(load, t, k, allocation.kinds) for t in teams) for k in periods}
        if allocation.over == "horizon":
            out.append(Shortfall(allocation, None, floor_amount(allocation, sum(capacity.values())), sum(given.values())))
        else:
            out += [Shortfall(allocation, k, floor_amount(allocation, capacity[k]), given[k]) for k in periods]
    return out


def penalty(allocation: Allocation, short: int) -> int:
    """Thousandths of value a soft floor costs for `short` hundredths of effort missing (exact: the penalty has one decimal)."""
    return int(allocation.soft.penalty * 10) * short if allocation.soft else 0
