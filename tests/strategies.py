"""Hypothesis strategies that generate valid scenarios, as the plain data a user would write.

Valid by construction: references point at existing ids, dependencies only point at earlier initiatives
(so there are no cycles), windows fit the horizon, and required initiatives never exclude each other.
Feasibility is not promised: mandatory work may not fit, which the solver must report as `infeasible`.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from planner.periods import Granularity, period_labels

STARTS = {
    Granularity.quarter: ["2027-Q1", "2027-Q3", "2026-Q4"],
    Granularity.month: ["2027-01", "2027-11"],
    Granularity.week: ["2026-W52", "2027-W51", "2027-W10"],
    Granularity.sprint: ["S1", "2027-S09", "7"],
}
SKILLS = ["backend", "data", "ml"]
KINDS = ["feature", "feature", "tech_debt", "compliance", "fairness_audit", "infrastructure", "research"]


def amounts(max_hundredths: int, min_hundredths: int = 0) -> st.SearchStrategy[float | int]:
    """Numbers with at most two decimals, written as a user would (4, 2.5, 0.25)."""

    def plain(h: int) -> float | int:
        return h // 100 if h % 100 == 0 else h / 100

    return st.integers(min_hundredths, max_hundredths).map(plain)


@st.composite
def capacities(draw: st.DrawFn, labels: list[str]) -> Any:
    form = draw(st.sampled_from(["constant", "per_period", "by_period"]))
    if form == "constant":
        return draw(amounts(3000, 100))
    if form == "per_period":
        return [draw(amounts(3000, 0)) for _ in labels]
    chosen = draw(st.lists(st.sampled_from(labels), unique=True, max_size=len(labels)))
    mapping: dict[str, Any] = {"default": draw(amounts(3000, 100))}
    mapping.update({label: draw(amounts(3000, 0)) for label in chosen})
    return mapping


def _value_inputs(draw: st.DrawFn, scoring: str) -> dict[str, Any]:
    score = st.integers(0, 100)
    if (draw(st.booleans()) and scoring == "value") or draw(st.integers(0, 9)) == 0:
        return {"value": draw(score)}
    if scoring == "rice":
        return {"rice": {"reach": draw(score), "impact": draw(st.sampled_from([0.25, 0.5, 1, 2, 3])), "confidence": draw(st.sampled_from([0.5, 0.8, 1]))}}
    if scoring == "ice":
        return {"ice": {"impact": draw(st.integers(1, 10)), "confidence": draw(st.sampled_from([0.5, 1])), "ease": draw(st.integers(1, 10))}}
    if scoring == "wsjf":
        return {"wsjf": {"business_value": draw(st.integers(1, 20)), "time_criticality": draw(st.integers(0, 20)), "risk_reduction": draw(st.integers(0, 20))}}
    if scoring == "weighted":
        return {"weighted": {"reach": draw(st.integers(0, 5)), "strategy": draw(st.integers(0, 5))}}
    return {"value": draw(score)}


@st.composite
def scenarios(
    draw: st.DrawFn,
    *,
    max_periods: int = 4,
    max_teams: int = 3,
    max_initiatives: int = 7,
    granularities: tuple[Granularity, ...] = tuple(Granularity),
    allow_mandatory: bool = True,
) -> dict[str, Any]:
    """A valid scenario as plain data (load it with `Scenario.model_validate`)."""
    granularity = draw(st.sampled_from(granularities))
    start = draw(st.sampled_from(STARTS[granularity]))
    periods = draw(st.integers(1, max_periods))
    labels = period_labels(start, periods, granularity)
    horizon: dict[str, Any] = {"start": start, "periods": periods}
    if granularity is not Granularity.quarter or draw(st.booleans()):
        horizon["granularity"] = granularity.value

    team_ids = [f"team-{n}" for n in range(draw(st.integers(1, max_teams)))]
    teams = []
    for team_id in team_ids:
        team: dict[str, Any] = {"id": team_id, "capacity": draw(capacities(labels))}
        skills = draw(st.lists(st.sampled_from(SKILLS), unique=True, max_size=2))
        if skills:
            team["skills"] = skills
        if draw(st.booleans()):
            team["name"] = team_id.replace("-", " ").title()
        teams.append(team)
    skills_held = sorted({skill for team in teams for skill in team.get("skills", [])})
    theme_ids = [f"theme-{n}" for n in range(draw(st.integers(0, 3)))]
    scoring = draw(st.sampled_from(["value", "rice", "ice", "wsjf", "weighted"]))

    initiatives: list[dict[str, Any]] = []
    required: set[str] = set()
    for n in range(draw(st.integers(0, max_initiatives))):
        initiative = _initiative(draw, n, labels, team_ids, skills_held, theme_ids, scoring)
        earlier = [other["id"] for other in initiatives]
        depends = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=2)) if earlier else []
        if depends:
            initiative["depends_on"] = depends
        is_required = allow_mandatory and _make_required(draw, initiative, labels)
        optional_earlier = [i for i in earlier if i not in required]
        excludable = optional_earlier if is_required else earlier
        excludes = draw(st.lists(st.sampled_from(excludable), unique=True, max_size=1)) if excludable else []
        if excludes and not (is_required and excludes[0] in required):
            initiative["excludes"] = excludes
        if is_required:
            required.add(initiative["id"])
        initiatives.append(initiative)

    data: dict[str, Any] = {"name": draw(st.sampled_from(["generated", "what if", "Q-plan 2027"])), "horizon": horizon}
    data["teams"] = teams
    if theme_ids:
        data["themes"] = [{"id": theme_id} for theme_id in theme_ids]
    data["policies"] = _policies(draw, scoring, team_ids, theme_ids)
    data["initiatives"] = initiatives
    if data["policies"].get("objective") != "makespan" and draw(st.integers(0, 2)) == 0:
        data["previous_plan"] = _previous_plan(draw, [i["id"] for i in initiatives], period_labels(start, periods + 1, granularity))
        if draw(st.booleans()):
            data["policies"]["stability"] = {"move_cost": draw(amounts(500)), "drop_cost": draw(amounts(2000))}
    return data


def _previous_plan(draw: st.DrawFn, ids: list[str], labels: list[str]) -> dict[str, str]:
    """Starts of a plan made earlier: some of today's initiatives, one period past today's horizon at most,
    and sometimes an initiative that has since been removed."""
    kept = draw(st.lists(st.sampled_from(ids), unique=True)) if ids else []
    previous = {i: draw(st.sampled_from(labels)) for i in kept}
    if draw(st.integers(0, 3)) == 0:
        previous["removed-since"] = labels[0]
    return previous


def _initiative(draw: st.DrawFn, n: int, labels: list[str], team_ids: list[str], skills: list[str], theme_ids: list[str], scoring: str) -> dict[str, Any]:
    initiative: dict[str, Any] = {"id": f"init-{n}", "title": f"Initiative {n}"}
    kind = draw(st.sampled_from(KINDS))
    if kind != "feature":
        initiative["kind"] = kind
    if theme_ids and draw(st.booleans()):
        initiative["theme"] = draw(st.sampled_from(theme_ids))
    effort_teams = draw(st.lists(st.sampled_from(team_ids), unique=True, min_size=0, max_size=2))
    if effort_teams:
        initiative["effort"] = {team: draw(amounts(2000, 1)) for team in effort_teams}
    if skills and (not effort_teams or draw(st.booleans())):
        initiative["needs"] = [{"skill": draw(st.sampled_from(skills)), "effort": draw(amounts(2000, 1))}]
    elif not effort_teams:
        initiative["needs"] = [{"team": draw(st.sampled_from(team_ids)), "effort": draw(amounts(2000, 1))}]
    duration = draw(st.integers(1, len(labels)))
    if duration > 1:
        initiative["duration"] = duration
    initiative.update(_value_inputs(draw, scoring))
    return initiative


def _make_required(draw: st.DrawFn, initiative: dict[str, Any], labels: list[str]) -> bool:
    """Maybe give the initiative a window, a mandatory flag or a committed start that fits its duration."""
    duration = initiative.get("duration", 1)
    slack = len(labels) - duration  # starts 0..slack fit in the horizon
    choice = draw(st.sampled_from(["none", "none", "window", "mandatory", "committed"]))
    if choice == "none":
        return False
    first = draw(st.integers(0, slack))
    last_start = draw(st.integers(first, slack))
    if first > 0 or draw(st.booleans()):
        initiative["earliest_start"] = labels[first]
    if last_start < slack or draw(st.booleans()):
        initiative["deadline"] = labels[last_start + duration - 1]
    if choice == "mandatory":
        initiative["mandatory"] = True
    if choice == "committed":
        initiative["committed"] = labels[draw(st.integers(first, last_start))]
    return choice in ("mandatory", "committed")


def _policies(draw: st.DrawFn, scoring: str, team_ids: list[str], theme_ids: list[str]) -> dict[str, Any]:
    policies: dict[str, Any] = {"scoring": scoring}
    if scoring == "weighted":
        policies["weights"] = {"reach": draw(st.integers(1, 3)), "strategy": draw(st.integers(1, 3))}
    if draw(st.booleans()):
        policies["value_decay_per_period"] = draw(st.sampled_from([0.05, 0.1, 0.25]))
    invisible: dict[str, Any] = {}
    if draw(st.booleans()):
        invisible["min_share"] = draw(st.sampled_from([0.05, 0.1, 0.2]))
    if draw(st.booleans()):
        invisible["max_share"] = draw(st.sampled_from([0.3, 0.5, 1]))
    if draw(st.booleans()):
        invisible["team_min_share"] = {draw(st.sampled_from(team_ids)): draw(st.sampled_from([0.1, 0.25]))}
    if invisible:
        policies["invisible_work"] = invisible
    if draw(st.integers(0, 5)) == 0:
        policies["objective"] = "makespan"
    if theme_ids and draw(st.booleans()):
        theme = draw(st.sampled_from(theme_ids))
        bounds = draw(st.sampled_from([{"min_share": 0.1}, {"max_share": 0.6}, {"min_share": 0.05, "max_share": 0.8}]))
        policies["themes"] = {theme: bounds}
    return policies
