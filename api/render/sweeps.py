"""A trade-off curve (`planner.sweep.Sweep`) rendered for people and tools: a terminal table, Markdown, JSON and an HTML page."""

from __future__ import annotations

import json

from api.render import pages, tables
from planner.settings import PlanStatus
from planner.sweep import Knob, Sweep, label


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _title(s: Sweep) -> str:
    if s.knob is Knob.invisible_floor:
        return f"{s.scenario}: value against the invisible-work floor"
    if s.knob is Knob.confidence:
        return f"{s.scenario}: value against the confidence asked of the plan"
    whose = f"team {s.team}" if s.team else "every team"
    return f"{s.scenario}: value against the capacity of {whose}"


def rows(s: Sweep) -> tuple[list[str], list[list[str]]]:
    knob = {Knob.capacity: "capacity", Knob.invisible_floor: "floor", Knob.confidence: "confidence"}[s.knob]
    header = [knob, "status", "value", "change", "gap", "entered", "left"]
    out = []
    for p in s.points:
        status = p.status.value if p.status else p.problem or ""
        out.append(
            [
                label(s.knob, p.setting) + (" (knee)" if p.setting == s.knee else ""),
                status,
                _num(p.objective),
                "" if p.change is None else f"{p.change:+,.2f}",
                "-" if p.gap is None else f"{p.gap:.1%}",
                ", ".join(p.entered),
                ", ".join(p.left),
            ]
        )
    if s.knob is Knob.confidence:  # what each level asked is given, by an independent simulation
        header.insert(3, "achieved")
        for row, p in zip(out, s.points):
            row.insert(3, "-" if p.confidence is None else f"{p.confidence:.1%}")
    return header, out


def _notes(s: Sweep) -> list[str]:
    notes = []
    if s.knee is not None:
        curve = [(p.setting, p.objective) for p in s.points if p.objective is not None]
        k = [x for x, _ in curve].index(s.knee)
        before = (curve[k][1] - curve[0][1]) / k
        after = (curve[-1][1] - curve[k][1]) / (len(curve) - 1 - k)
        notes.append(
            f"Knee at {label(s.knob, s.knee)}: the curve bends most there. Up to it the value changes by {before:+,.2f} "
            f"per step on average, beyond it by {after:+,.2f}."
        )
    else:
        notes.append("No knee: fewer than three points with a plan, or the curve is close to a straight line.")
    if s.falls:
        where = ", ".join(label(s.knob, f) for f in s.falls)
        why = "invisible-work floors are shares of capacity, so more capacity can require more invisible work"
        if any(p.status is not PlanStatus.optimal for p in s.points if p.setting in s.falls):
            why += "; and a solve stopped by its time limit may fall short of the best plan"
        notes.append(f"The plan gets worse at {where} although capacity grew: {why}.")
    return notes


def table(s: Sweep) -> str:
    return "\n".join([_title(s), "", *tables.aligned(*rows(s)), "", *_notes(s)]) + "\n"


def markdown(s: Sweep) -> str:
    return "\n".join([f"# {_title(s)}", "", *tables.markdown(*rows(s)), *_notes(s)]) + "\n"


def as_json(s: Sweep) -> str:
    return json.dumps(s.model_dump(mode="json"), indent=2) + "\n"


def page(s: Sweep) -> str:
    return pages.document(_title(s), [f"<h1>{pages.escape(_title(s))}</h1>", pages.table(*rows(s)), pages.items(_notes(s))])


FORMATS = {"table": table, "json": as_json, "md": markdown, "html": page}
