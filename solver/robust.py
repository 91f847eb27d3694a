"""Robust planning: a plan whose hard deadlines and required items hold in at least the share of samples asked.

Method: capacity headroom, found by sample-average approximation and confirmed by an independent simulation.

1. Solve on likely estimates (the deterministic plan), and play it forward over `SEARCH_SAMPLES` samples
   drawn with the solve's seed (`planner.simulation`).
2. Every required item (mandatory or committed) and every item with a hard deadline has a delivery
   confidence: the share of samples in which it finishes by its deadline (within the horizon without one).
   If one falls short of the confidence asked plus a sampling margin, each team carrying it or one of its
   prerequisites keeps `STEP` more of its capacity free in each period up to the item's planned finish in
   which the work it carries overflows in more than the share of samples the confidence allows (in all
   those periods when none does). Headroom is a reserve for a kind no initiative has, in one period
   (`policies.allocations` with `periods`): everything the plan schedules fits in what is left, while the
   floors stay shares of the whole capacity. The plan is solved again.
3. The first plan whose items all pass is kept; when none does within the time limit, or the headroom
   cannot grow (`MAX_HEADROOM`, or no plan fits), the plan with the highest confidence found is kept, and
   the plan says it falls short.
4. Growth is coarse (every risky cell at once), so a passing plan gives back what it does not need: each
   cell's headroom, largest first, is set to 0 and the plan solved again, and the lighter plan is kept when
   its items still pass (at most `TRIM_ROUNDS` more solves).
5. The kept plan is simulated again on `CHECK_SAMPLES` samples of another seed, and that confidence is the
   one reported (`Plan.confidence`).

Why headroom: an overrun delays an item only when its team's capacity in that period is used up (the
execution rule serves what fits and lets the rest slip), so free capacity is what absorbs overruns, and
it stays in the one model as an ordinary reserve: every backend, the greedy baseline and the checker
already hold it. Its cost is the value of the work it keeps out, which the plan reports against the
deterministic plan's objective.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from planner.errors import ScenarioError
from planner.plan import ConfidenceReport, Plan, build_plan, placements_of
from planner.scenario import Scenario
from planner.scoring import improvement
from planner.settings import PlanStatus, SolveSettings
from planner.simulation import Simulation, outlook
from planner.uncertainty import sample, uncertain, valued
from planner.whatif import edited

SEARCH_SAMPLES = 2000
CHECK_SAMPLES = 2000
SEED_OFFSET = 1_000_003
STEP = 0.05
MAX_HEADROOM = 0.6
MAX_ROUNDS = 12
TRIM_ROUNDS = 12  # solves spent giving back headroom a passing plan does not need
FIRST_SHARE = 0.5  # of the time limit, for the first (deterministic) round: the plan every other is measured against
ROUND_SHARE = 0.25  # the most of the time limit any other round's solve may take
HEADROOM_KIND = "confidence-headroom"  # the kind a headroom reserve is kept for: no initiative has it

Solve = Callable[..., Plan]


def margin(confidence: float, samples: int) -> float:
    """One-sided 95% sampling margin of a share near `confidence` measured on `samples` samples: an item that
    passes with it on the search's samples is unlikely to fall short on independent ones."""
    return 1.645 * math.sqrt(confidence * (1 - confidence) / samples)


Cell = tuple[str, str]  # (team, period)


def with_headroom(scenario: Scenario, headroom: dict[Cell, float]) -> Scenario:
    """The scenario with `share` of a team's capacity kept free in a period: a reserve for a kind no initiative has."""
    kept = {cell: share for cell, share in headroom.items() if share > 0}
    if not kept:
        return scenario

    def change(data: dict[str, Any]) -> None:
        allocations = data.setdefault("policies", {}).setdefault("allocations", [])
        for n, ((team, period), share) in enumerate(sorted(kept.items()), 1):
            allocations.append(
                {
                    # Its kind is its name too, one per reserve (names are unique); the rules name its team and period apart.
                    "kinds": [f"{HEADROOM_KIND}-{n}"],
                    "share": str(Decimal(str(share)).quantize(Decimal("0.0001"))),
                    "teams": [team],
                    "periods": [period],
                }
            )

    return edited(scenario, change)


def solved_on(scenario: Scenario, plan: Plan) -> tuple[Scenario, SolveSettings]:
    """The scenario a plan was solved on and settings that re-solve it deterministically: the values it planned by
    (`objective: expected`) and, for a robust plan, the headroom it keeps, with no confidence asked again."""
    settings = plan.settings.model_copy(update={"confidence": None})
    kept = {(team, period): share for team, shares in (plan.confidence.headroom if plan.confidence else {}).items() for period, share in shares.items()}
    return with_headroom(valued(scenario, plan.settings), kept), settings


def solve_robust(scenario: Scenario, settings: SolveSettings, solve: Solve, *, total: float | None = None, **options: Any) -> Plan:
    """The robust plan (module docstring). `solve(scenario, settings, **options)` is the deterministic solve."""
    began = time.perf_counter()
    asked = settings.confidence
    assert asked is not None
    total = total or settings.time_limit
    plain = settings.model_copy(update={"confidence": None})
    scored = valued(scenario, settings)
    drawn = sample(scenario, SEARCH_SAMPLES, settings.seed)
    target = asked + margin(asked, SEARCH_SAMPLES)
    by_id = scenario.initiative_by_id
    index = scenario.period_index
    headroom = {(team.id, period): 0.0 for team in scenario.teams for period in scenario.periods}
    candidates: set[Cell] = set()
    first: Plan | None = None
    chosen: tuple[float, Plan, dict[Cell, float]] | None = None
    frozen: set[Cell] = set()  # cells whose growth left no plan
    before: dict[Cell, float] = {}
    grown: set[Cell] = set()
    late: set[Cell] = set()
    rounds = 0
    passed = False
    stopped = "the time limit came first"
    certain = not uncertain(scenario)  # every sample is the plan: one round, with the whole time
    while rounds < MAX_ROUNDS:
        left = total - (time.perf_counter() - began)
        if rounds and left < 0.2:
            break
        rounds += 1
        limit = total if certain else max(0.2, min(left, total * (FIRST_SHARE if rounds == 1 else ROUND_SHARE)))
        found = _solve(solve, scenario, headroom, plain.model_copy(update={"time_limit": limit}), options)
        if found is None or not found.status.found:
            if first is None:  # not even the deterministic plan: nothing to make robust
                first = found or solve(scenario, plain, **options)
                break
            if found is not None and found.status is PlanStatus.unknown:  # no plan within the round's time: not the headroom's doing
                break
            # The last growth left no plan: take it back, and stop growing the cells of the short items' own periods
            # (the headroom that squeezes them out), or all of that growth when it held none of those.
            headroom = dict(before)
            frozen |= (grown & late) or grown
        else:
            plan = _on(scored, scenario, found, settings, began, headroom)
            first = first or plan
            simulation = outlook(scenario, plan, drawn, settings.seed)
            items = simulation.held()
            least = min(items.values(), default=1.0)
            if chosen is None or least > chosen[0]:
                chosen = (least, plan, dict(headroom))
            short = [i for i, confidence in items.items() if confidence < target]
            if not short:
                passed = True
                break
            candidates, late = _cells(short, plan, by_id, index, scenario.periods, simulation, asked)
        grow = {cell for cell in candidates if headroom[cell] < MAX_HEADROOM and cell not in frozen}
        if not grow:
            stopped = "the headroom that would reach it leaves no plan" if frozen else f"the headroom reached its cap ({MAX_HEADROOM:.0%} of a team's capacity)"
            break
        before, grown = dict(headroom), grow
        for cell in grow:
            headroom[cell] = round(min(MAX_HEADROOM, headroom[cell] + STEP), 4)
    else:
        stopped = f"{MAX_ROUNDS} rounds of headroom did not reach it"
    if chosen is None:
        assert first is not None
        return first.model_copy(update={"settings": settings})
    _, plan, kept = chosen
    if passed:  # give back the headroom the items do not need, a cell at a time, largest first
        for cell in sorted((c for c, share in kept.items() if share > 0), key=lambda c: (-kept[c], c)):
            if rounds >= MAX_ROUNDS + TRIM_ROUNDS or total - (time.perf_counter() - began) < 0.2:
                break
            rounds += 1
            trial = {**kept, cell: 0.0}
            limit = max(0.2, min(total - (time.perf_counter() - began), total * ROUND_SHARE))
            found = _solve(solve, scenario, trial, plain.model_copy(update={"time_limit": limit}), options)
            if found is None or not found.status.found:
                continue
            lighter = _on(scored, scenario, found, settings, began, trial)
            holds = min(outlook(scenario, lighter, drawn, settings.seed).held().values(), default=1.0) >= target
            if (
                holds
                and lighter.objective is not None
                and plan.objective is not None
                and improvement(scenario.policies.objective, plan.objective, lighter.objective) >= 0
            ):
                plan, kept = lighter, trial
    seed = (settings.seed + SEED_OFFSET) % 2**31
    check = outlook(scenario, plan, sample(scenario, CHECK_SAMPLES, seed), seed).held()
    achieved = min(check.values()) if check else None
    met = achieved is None or achieved >= asked
    report = ConfidenceReport(
        asked=asked,
        achieved=achieved,
        met=met,
        samples=CHECK_SAMPLES,
        seed=seed,
        headroom={
            team: {period: share for (t, period), share in kept.items() if t == team and share > 0}
            for team in sorted({t for (t, _), share in kept.items() if share > 0})
        },
        rounds=rounds,
        unbuffered_objective=first.objective if first is not None else None,
        items=check,
    )
    said = f"confidence {achieved:.1%} in an independent simulation" if achieved is not None else "nothing to hold"
    if not met:
        why = "its search's samples passed, these did not" if passed else stopped
        said += f", short of the {asked * 100:g}% asked: {why}"
    return plan.model_copy(update={"confidence": report, "message": f"{plan.message}; {said}", "solve_seconds": round(time.perf_counter() - began, 3)})


def _solve(solve: Solve, scenario: Scenario, headroom: dict[Cell, float], settings: SolveSettings, options: dict[str, Any]) -> Plan | None:
    """The plan with this headroom; None when the headroom breaks a rule of the scenario's own (its reserves would add up
    to more than the capacity, or one period would hold too many): growth that cannot be kept."""
    try:
        edited_scenario = with_headroom(scenario, headroom)
    except ScenarioError:
        return None
    return solve(edited_scenario, settings, **options)


def _on(scored: Scenario, scenario: Scenario, found: Plan, settings: SolveSettings, began: float, headroom: dict[Cell, float]) -> Plan:
    """The plan found with headroom, reported on the scenario itself (without the headroom reserves). What the search
    proved holds for the scenario with the headroom, not for the scenario as written: a plan that keeps headroom is
    `feasible`, without a bound, and its message says so."""
    keeps = any(share > 0 for share in headroom.values())
    optimal = found.status is PlanStatus.optimal
    rebuilt = build_plan(
        scored,
        placements_of(scenario, found),
        status=PlanStatus.feasible if keeps and optimal else found.status,
        best_bound=None if keeps else found.best_bound,
        solve_seconds=time.perf_counter() - began,
        backend=found.backend,
        settings=settings,
        message=f"{found.message} with the headroom kept" if keeps else found.message,
    )
    return rebuilt.model_copy(
        update={"found_by": found.found_by, "bound_by": found.bound_by, "baseline_objective": found.baseline_objective, "uplift": found.uplift}
    )


def _cells(
    short: list[str], plan: Plan, by_id: dict[str, Any], index: dict[str, int], periods: tuple[str, ...], simulation: Simulation, asked: float
) -> tuple[set[Cell], set[Cell]]:
    """Where to keep more capacity free for the items falling short: the teams carrying them or their
    prerequisites, in each period up to the item's planned finish where that team overflows too often (in all
    of those periods when none does); and which of those cells lie in the short items' own periods."""
    scheduled = plan.scheduled_by_id()
    overflow = {(o.team, o.period): o.probability for o in simulation.overloads}
    cells: set[Cell] = set()
    late: set[Cell] = set()
    for item in short:
        start, last = index[scheduled[item].start], index[scheduled[item].finish]
        teams = {need.team for i in _with_prerequisites([item], plan, by_id) for need in scheduled[i].needs}
        cells |= {(team, periods[k]) for team in teams for k in range(last + 1)}
        late |= {(team, periods[k]) for team in teams for k in range(start, last + 1)}
    risky = {cell for cell in cells if overflow.get(cell, 0.0) > 1 - asked}
    return risky or cells, late


def _with_prerequisites(items: list[str], plan: Plan, by_id: dict[str, Any]) -> set[str]:
    """The items and, transitively, their scheduled prerequisites."""
    scheduled = plan.scheduled_by_id()
    out: set[str] = set()
    todo = [i for i in items if i in scheduled]
    while todo:
        item = todo.pop()
        if item in out:
            continue
        out.add(item)
        todo += [p for p in (*by_id[item].depends_on, *by_id[item].depends_on_any) if p in scheduled]
    return out
