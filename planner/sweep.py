"""Trade-off curves: one scenario solved at a row of settings of one knob, and what changes along the row.

Three knobs: a team's capacity (or every team's), scaled by a percentage, answers "what do two more ML
engineers buy"; the organisation-wide invisible-work floor answers "what does a 25% floor cost"; the
confidence asked of a robust plan (`SolveSettings.confidence`) answers "what does 90% instead of 70% cost". Pure:
`point_scenario` builds each point's scenario, `solve_points` walks the points with the solve the caller
passes in, and `assemble` reads the solved plans. The knee is where the curve bends most: past it, each step buys (or costs) much less.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from enum import Enum

from pydantic import Field

from planner.errors import ScenarioError
from planner.plan import Plan
from planner.rules import Rule, RuleKind
from planner.scenario import Frozen, InitiativeId, Scenario, TeamId
from planner.scoring import improvement
from planner.settings import PlanStatus, SolveSettings
from planner.whatif import with_capacity_scaled, with_policy

SHARE_PLACES = Decimal("0.0001")  # a scenario's shares have at most four decimal places

# A point's scenario, the plan of the point before it (None for the first), given as a warm start, and the setting -> its plan.
PointSolver = Callable[[Scenario, Plan | None, float], Plan]
# (setting, its plan, why its scenario is not valid): a point has a plan or a problem.
Solved = tuple[float, Plan | None, str | None]


class Knob(str, Enum):
    capacity = "capacity"  # capacity scaled by (1 + setting) in every period
    invisible_floor = "invisible_floor"  # policies.invisible_work.min_share = setting
    confidence = "confidence"  # the solve's settings.confidence = setting: the scenario stays as it is


class Point(Frozen):
    """One solve of the sweep."""

    setting: float = Field(
        description="capacity: the change as a share (-0.2 = 20% less); invisible_floor: the floor's share; confidence: the confidence asked."
    )
    status: PlanStatus | None = Field(description="None when this point's scenario is not valid (see `problem`).")
    objective: float | None
    gap: float | None
    scheduled: list[InitiativeId] = Field(default_factory=list)
    entered: list[InitiativeId] = Field(default_factory=list, description="Scheduled here but not at the previous point.")
    left: list[InitiativeId] = Field(default_factory=list, description="Scheduled at the previous point but not here.")
    change: float | None = Field(default=None, description="objective minus the previous point's, when both have one.")
    problem: str | None = Field(default=None, description="Why this point's scenario is not valid, e.g. a floor above its cap.")
    confidence: float | None = Field(
        default=None, description="confidence: what an independent simulation gives the point's robust plan (`Plan.confidence.achieved`)."
    )


class Sweep(Frozen):
    """The curve: every point in the order of its setting, the knee, and where the value goes against the knob."""

    scenario: str
    knob: Knob
    team: TeamId | None = Field(default=None, description="capacity: the team scaled; None for every team.")
    points: list[Point]
    knee: float | None = Field(
        default=None, description="The setting where the curve bends most; None for fewer than 3 points with a plan, or a straight line."
    )
    falls: list[float] = Field(
        default_factory=list,
        description="capacity: settings where the plan is worse than one step before (less value; more periods under "
        "makespan) although capacity grew: floors are shares of capacity, so more capacity can require more invisible "
        "work, and a solve stopped by its time limit may fall short of the best plan.",
    )


def settings_between(low: float, high: float, steps: int) -> list[float]:
    """`steps` evenly spaced settings from low to high, both included, rounded to a share's four places."""
    if steps < 2:
        return [float(Decimal(str(low)).quantize(SHARE_PLACES))]
    width = (Decimal(str(high)) - Decimal(str(low))) / (steps - 1)
    return [float((Decimal(str(low)) + width * k).quantize(SHARE_PLACES)) for k in range(steps)]


def point_scenario(scenario: Scenario, knob: Knob, setting: float, team: str | None = None) -> Scenario:
    """The scenario at one setting of the knob (raises ScenarioError when that setting breaks a rule of it)."""
    value = Decimal(str(setting)).quantize(SHARE_PLACES)
    if knob is Knob.confidence:
        return scenario.model_copy(update={"name": f"{scenario.name} at {label(knob, setting)}"})
    if knob is Knob.capacity:
        edited = with_capacity_scaled(scenario, 1 + value, team)
    else:
        edited = with_policy(scenario, Rule(kind=RuleKind.invisible_floor), value)
    return edited.model_copy(update={"name": f"{scenario.name} at {label(knob, setting)}"})


def point_settings(knob: Knob, setting: float, settings: SolveSettings) -> SolveSettings:
    """The solve's settings at a point: the confidence asked, for that knob; else as given."""
    return settings.model_copy(update={"confidence": setting}) if knob is Knob.confidence else settings


def label(knob: Knob, setting: float) -> str:
    if knob is Knob.capacity:
        return f"{setting:+.0%}" if setting else "0%"
    return f"{setting:.0%}" if round(setting * 100, 6).is_integer() else f"{setting:.2%}"


def solve_points(
    scenario: Scenario,
    knob: Knob,
    team: str | None,
    settings: list[float],
    solve: PointSolver,
    on_point: Callable[[int, int], None] | None = None,
) -> list[Solved]:
    """Solve the points in order, each warm-started from the plan before it; a point whose scenario breaks a rule says why.

    In order because neighbours are close: a point's plan is usually valid, and good, at the next one.
    """
    out: list[Solved] = []
    previous: Plan | None = None
    for setting in settings:
        try:
            at = point_scenario(scenario, knob, setting, team)
        except ScenarioError as exc:
            out.append((setting, None, "not valid: " + "; ".join(p.message for p in exc.problems)))
        else:
            plan = solve(at, previous, setting)
            out.append((setting, plan, None))
            previous = plan if plan.status.found else previous
        if on_point:
            on_point(len(out), len(settings))
    return out


def assemble(scenario: Scenario, knob: Knob, team: str | None, solved: list[Solved]) -> Sweep:
    """The sweep from each setting's plan (or its scenario's problem), in any order."""
    points: list[Point] = []
    falls: list[float] = []
    previous: Point | None = None
    for setting, plan, problem in sorted(solved, key=lambda s: s[0]):
        scheduled = [s.id for s in plan.scheduled] if plan else []
        point = Point(
            setting=setting,
            status=plan.status if plan else None,
            objective=plan.objective if plan else None,
            gap=plan.gap if plan else None,
            scheduled=scheduled,
            problem=problem,
            confidence=plan.confidence.achieved if plan is not None and plan.confidence is not None else None,
        )
        if previous is not None and point.status is not None and point.status.found and previous.status is not None and previous.status.found:
            point = point.model_copy(
                update={
                    "entered": [i for i in scheduled if i not in previous.scheduled],
                    "left": [i for i in previous.scheduled if i not in scheduled],
                    "change": round(point.objective - previous.objective, 6) if point.objective is not None and previous.objective is not None else None,
                }
            )
            if (
                knob is Knob.capacity
                and previous.objective is not None
                and point.objective is not None
                and improvement(scenario.policies.objective, previous.objective, point.objective) < -1e-6
            ):
                falls.append(setting)
        points.append(point)
        previous = point
    return Sweep(scenario=scenario.name, knob=knob, team=team, points=points, knee=knee(points), falls=falls)


def knee(points: list[Point]) -> float | None:
    """The setting farthest from the straight line through the curve's ends, both axes scaled to 0..1.

    That is where the curve bends most (the Kneedle idea): on a value curve that rises and flattens, the
    capacity beyond which each step buys much less. None when there is no bend to speak of.
    """
    curve = [(p.setting, p.objective) for p in points if p.objective is not None]
    if len(curve) < 3:
        return None
    (x0, y0), (x1, y1) = curve[0], curve[-1]
    ys = [y for _, y in curve]
    span_x, span_y = x1 - x0, max(ys) - min(ys)
    if span_x <= 0 or span_y <= 0:
        return None

    def distance(x: float, y: float) -> float:
        u, v = (x - x0) / span_x, (y - y0) / span_y
        end = (y1 - y0) / span_y
        return abs(v - end * u) / (1 + end * end) ** 0.5

    best = max(curve[1:-1], key=lambda c: distance(*c))
    return best[0] if distance(*best) > 0.05 else None
