"""Plans rendered for people and tools: a terminal roadmap grid, Markdown, CSV and JSON.

Words live here, at the edge; the plan itself is data (`planner.plan.Plan`).
"""

from __future__ import annotations

import io
import json

import pandas as pd

from planner.plan import Plan, PlanChange, PlanStatus
from planner.scenario import Objective, Scenario


def _num(value: float | None, places: int = 3) -> str:
    if value is None:
        return "-"
    text = f"{value:,.{places}f}".rstrip("0").rstrip(".")
    return text or "0"


def headline(plan: Plan, scenario: Scenario) -> str:
    """One line: status, objective, proof, baseline and uplift."""
    what = "periods used" if plan.objective_mode is Objective.makespan else "value"
    parts = [f"{plan.scenario}: {plan.status.value}"]
    if plan.objective is not None and plan.stability_cost is not None:
        parts.append(f"objective {_num(plan.objective)} (value {_num(plan.value)} less {_num(plan.stability_cost)} for changing the previous plan)")
    elif plan.objective is not None:
        parts.append(f"{what} {_num(plan.objective)}")
        if plan.best_bound is not None:
            parts.append(f"bound {_num(plan.best_bound)}, gap {plan.gap or 0:.2%}")
    if plan.baseline_objective is not None:
        parts.append(f"rank-ordered baseline {_num(plan.baseline_objective)}")
        if plan.uplift is not None:
            relative = f" ({plan.uplift / abs(plan.baseline_objective):+.1%})" if plan.baseline_objective else ""
            parts.append(f"uplift {plan.uplift:+,.3f}".rstrip("0").rstrip(".") + relative)
    elif plan.status in (PlanStatus.optimal, PlanStatus.feasible):
        parts.append("the rank-ordered baseline found no valid plan")
    parts.append(f"{plan.solve_seconds:.2f} s, {plan.backend}")
    return "; ".join(parts)


def table(plan: Plan, scenario: Scenario) -> str:
    """What a person reads in a terminal: a roadmap grid (periods across, teams down), then the lists."""
    out = [headline(plan, scenario), plan.message, ""]
    if plan.status not in (PlanStatus.optimal, PlanStatus.feasible):
        return "\n".join(out[:2]) + "\n"
    out.append(_grid(plan, scenario))
    out.append("")
    share = "  ".join(f"{label} {plan.invisible_share[label]:.0%}" for label in scenario.periods)
    out.append(f"Invisible work (share of capacity): {share}")
    mix = "  ".join(f"{theme or '(none)'} {value:.0%}" for theme, value in plan.theme_mix.items())
    out.append(f"Theme mix (share of scheduled effort): {mix}")
    out.append("")
    out.append(f"Scheduled ({len(plan.scheduled)}):")
    width = max((len(s.id) for s in plan.scheduled), default=0)
    for s in plan.scheduled:
        when = s.start if s.start == s.finish else f"{s.start}..{s.finish}"
        flag = " invisible" if s.invisible else ""
        out.append(f"  {s.id:<{width}}  {when:<18} value {_num(s.decayed_value):>9}  {s.kind}{flag}")
    out.append(f"Not scheduled ({len(plan.not_scheduled)}):")
    width = max((len(u.id) for u in plan.not_scheduled), default=0)
    for u in plan.not_scheduled:
        out.append(f"  {u.id:<{width}}  value {_num(u.value):>9}  ratio {_num(u.ratio_score, 2):>6}  {u.kind}")
    if plan.stability_cost is not None:
        out.append(f"Changes from the previous plan ({len(plan.changes)}, cost {_num(plan.stability_cost)}):")
        width = max((len(c.id) for c in plan.changes), default=0)
        out += [f"  {c.id:<{width}}  {_change(c)}, cost {_num(c.cost)}" for c in plan.changes]
    return "\n".join(out) + "\n"


def _change(change: PlanChange) -> str:
    if change.start is None or change.moved is None:
        return f"was {change.previous_start}, now left out"
    periods = "period" if abs(change.moved) == 1 else "periods"
    direction = "later" if change.moved > 0 else "earlier"
    return f"{change.previous_start} -> {change.start} ({abs(change.moved)} {periods} {direction})"


def _grid(plan: Plan, scenario: Scenario) -> str:
    """Teams down, periods across; each cell lists load/capacity and the initiatives loading it."""
    cells: dict[tuple[str, str], list[str]] = {}
    for row in plan.utilisation:
        cells[row.team, row.period] = [f"{_num(float(row.load), 2)}/{_num(float(row.capacity), 2)} {row.utilisation:.0%}"]
    for s in plan.scheduled:
        for team, loads in s.load.items():
            for label, amount in loads.items():
                cells[team, label].append(f"{s.id} {_num(float(amount), 2)}")
    teams = [t.id for t in scenario.teams]
    columns = ["team", *scenario.periods]
    widths = [max(len("team"), *(len(t) for t in teams))] + [
        max(len(label), *(len(line) for t in teams for line in cells[t, label])) for label in scenario.periods
    ]
    rule = "-+-".join("-" * w for w in widths)
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(), rule]
    for team in teams:
        height = max(len(cells[team, label]) for label in scenario.periods)
        for n in range(height):
            row = [team if n == 0 else ""] + [
                cells[team, label][n] if n < len(cells[team, label]) else "" for label in scenario.periods
            ]
            lines.append(" | ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        lines.append(rule)
    return "\n".join(lines)


def initiatives_frame(plan: Plan) -> pd.DataFrame:
    """One row per initiative: scheduled or not, when, which teams, what it is worth."""
    rows = [
        {
            "id": s.id, "title": s.title, "kind": s.kind, "theme": s.theme or "", "scheduled": True,
            "start": s.start, "finish": s.finish, "teams": " ".join(sorted(s.load)),
            "value": s.value, "decayed_value": s.decayed_value, "ratio_score": round(s.ratio_score, 6),
        }
        for s in plan.scheduled
    ] + [
        {
            "id": u.id, "title": u.title, "kind": u.kind, "theme": "", "scheduled": False,
            "start": "", "finish": "", "teams": "", "value": u.value, "decayed_value": 0.0,
            "ratio_score": round(u.ratio_score, 6),
        }
        for u in plan.not_scheduled
    ]
    return pd.DataFrame(rows, columns=["id", "title", "kind", "theme", "scheduled", "start", "finish", "teams", "value", "decayed_value", "ratio_score"])


def csv(plan: Plan, scenario: Scenario) -> str:
    buffer = io.StringIO()
    initiatives_frame(plan).to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def markdown(plan: Plan, scenario: Scenario) -> str:
    out = [f"# Plan for {plan.scenario}", "", headline(plan, scenario) + ".", ""]
    if plan.status not in (PlanStatus.optimal, PlanStatus.feasible):
        return "\n".join(out + [f"No plan: {plan.message}.", ""])
    out += ["## Roadmap", "", "| Team | " + " | ".join(scenario.periods) + " |", "|---" * (len(scenario.periods) + 1) + "|"]
    for team in scenario.teams:
        row = []
        for label in scenario.periods:
            names = [s.id for s in plan.scheduled if label in s.load.get(team.id, {})]
            use = next(u for u in plan.utilisation if u.team == team.id and u.period == label)
            row.append(f"{use.utilisation:.0%}: " + ", ".join(names) if names else f"{use.utilisation:.0%}")
        out.append(f"| {team.display_name} | " + " | ".join(row) + " |")
    out += ["", "## Initiatives", "", "| Initiative | Kind | Start | Finish | Value |", "|---|---|---|---|---|"]
    for s in plan.scheduled:
        out.append(f"| {s.title} (`{s.id}`) | {s.kind} | {s.start} | {s.finish} | {_num(s.decayed_value)} |")
    for u in plan.not_scheduled:
        out.append(f"| {u.title} (`{u.id}`) | {u.kind} | not scheduled | | {_num(u.value)} |")
    out += ["", "Invisible work per period: " + ", ".join(f"{k} {v:.0%}" for k, v in plan.invisible_share.items()) + ".", ""]
    if plan.stability_cost is not None:
        out += ["## Changes from the previous plan", ""]
        out += [f"- `{c.id}`: {_change(c)}; costs {_num(c.cost)}." for c in plan.changes] or ["None: the previous plan stands."]
        out.append("")
    return "\n".join(out)


def as_json(plan: Plan, scenario: Scenario) -> str:
    return json.dumps(plan.model_dump(mode="json"), indent=2) + "\n"


FORMATS = {"table": table, "json": as_json, "csv": csv, "md": markdown}
