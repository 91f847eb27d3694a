"""A plan's simulation (`planner.simulation.Simulation`) for people and tools: a terminal table, Markdown, JSON,
and a self-contained HTML page with the value distribution and the finish periods drawn."""

from __future__ import annotations

import json

from api.render import pages, tables
from planner.scenario import Scenario
from planner.simulation import Simulation


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"


def _num(value: float) -> str:
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def headline(simulation: Simulation) -> str:
    s = simulation
    return f"{s.scenario}: {s.samples} samples, seed {s.seed} ({s.distribution}, correlation {s.correlation:g}); " + (
        f"delivery confidence {_pct(s.confidence)}" if s.confidence is not None else "no required or deadline item"
    )


def value_line(simulation: Simulation) -> str:
    v = simulation.value
    if v is None:
        return "Value: not simulated (makespan objective)"
    return f"Value: the plan's objective {_num(v.planned)}; P10 {_num(v.p10)}, P50 {_num(v.p50)}, P90 {_num(v.p90)}; mean {_num(v.mean)}"


def _rows(simulation: Simulation) -> list[list[str]]:
    return [
        [
            o.id + (" *" if o.required else ""),
            o.planned_finish,
            o.deadline or "",
            _pct(o.by_deadline),
            _pct(o.by_planned_finish),
            o.p50_finish or "later",
            o.p80_finish or "later",
            _pct(o.success),
            _num(o.expected_value),
        ]
        for o in simulation.initiatives
    ]


HEADER = ["initiative", "planned finish", "deadline", "by deadline", "by planned finish", "P50 finish", "P80 finish", "success", "expected value"]


def overload_rows(simulation: Simulation, scenario: Scenario) -> tuple[list[str], list[list[str]]]:
    """Teams down, periods across: the share of samples the team's work overflows; teams that never do are left out."""
    cells = {(o.team, o.period): o.probability for o in simulation.overloads}
    rows = [
        [t.id, *(_pct(cells.get((t.id, p), 0.0)) for p in scenario.periods)] for t in scenario.teams if any(cells.get((t.id, p), 0.0) for p in scenario.periods)
    ]
    return ["team", *scenario.periods], rows


def _driver_rows(simulation: Simulation) -> list[list[str]]:
    return [[d.estimate, f"{d.lateness:+.2f}", "-" if d.value is None else f"{d.value:+.2f}"] for d in simulation.drivers]


def table(simulation: Simulation, scenario: Scenario) -> str:
    out = [headline(simulation), value_line(simulation), "", "Initiatives (* required):"]
    out += ["  " + line for line in tables.aligned(HEADER, _rows(simulation))]
    header, rows = overload_rows(simulation, scenario)
    out += ["", "Overload (share of samples in which the work a team carries wants more than the capacity that materialised):"]
    out += ["  " + line for line in tables.aligned(header, rows)] if rows else ["  none"]
    out += ["", "What drives the risk (rank correlation with periods late in all, and with value):"]
    out += (
        ["  " + line for line in tables.aligned(["estimate", "lateness", "value"], _driver_rows(simulation))] if simulation.drivers else ["  nothing uncertain"]
    )
    return "\n".join(out) + "\n"


def markdown(simulation: Simulation, scenario: Scenario) -> str:
    out = [f"# Simulation of the plan for {simulation.scenario}", "", headline(simulation) + ".", "", value_line(simulation) + ".", "", "## Initiatives", ""]
    out += tables.markdown(HEADER, _rows(simulation))
    out += ["Required items are marked *.", "", "## Overload", ""]
    header, rows = overload_rows(simulation, scenario)
    out += tables.markdown(header, rows) if rows else ["No team overflows in any sample.", ""]
    out += ["## What drives the risk", ""]
    out += tables.markdown(["estimate", "lateness", "value"], _driver_rows(simulation)) if simulation.drivers else ["Nothing is uncertain.", ""]
    return "\n".join(out)


def as_json(simulation: Simulation, scenario: Scenario | None = None) -> str:
    return json.dumps(simulation.model_dump(mode="json"), indent=2) + "\n"


def value_chart(simulation: Simulation, width: int = 560, height: int = 160) -> str:
    """An SVG histogram of the sampled value, with the planned value and P10/P50/P90 marked."""
    v = simulation.value
    if v is None or not v.histogram:
        return ""
    low, high = v.histogram[0][0], v.histogram[-1][1]
    span = (high - low) or 1.0
    tallest = max(c for _, _, c in v.histogram) or 1
    pad, base = 30, height - 24
    x = lambda value: pad + (value - low) / span * (width - 2 * pad)  # noqa: E731 - a scale, read once
    bars = []
    for a, b, count in v.histogram:
        h = count / tallest * (base - 10)
        bars.append(
            f'<rect x="{x(a):.1f}" y="{base - h:.1f}" width="{max(1.0, x(b) - x(a) - 1):.1f}" height="{h:.1f}" fill="#54aeff"><title>{_num(a)} to {_num(b)}: {count} samples</title></rect>'
        )
    marks = []
    for label, at, colour in (("P10", v.p10, "#9a6700"), ("P50", v.p50, "#1a7f37"), ("P90", v.p90, "#9a6700"), ("planned", v.planned, "#cf222e")):
        if low <= at <= high:
            marks.append(f'<line x1="{x(at):.1f}" x2="{x(at):.1f}" y1="6" y2="{base}" stroke="{colour}" stroke-dasharray="3,2"/>')
            marks.append(
                f'<text x="{x(at) + 2:.1f}" y="{14 if label != "planned" else 26}" font-size="10" fill="{colour}">{label} {pages.escape(_num(at))}</text>'
            )
    axis = f'<text x="{pad}" y="{height - 6}" font-size="10">{pages.escape(_num(low))}</text><text x="{width - pad}" y="{height - 6}" font-size="10" text-anchor="end">{pages.escape(_num(high))}</text>'
    return (
        f'<svg role="img" aria-label="Distribution of the plan\'s value over {simulation.samples} samples" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><line x1="{pad}" x2="{width - pad}" y1="{base}" y2="{base}" stroke="#999"/>'
        + "".join(bars + marks)
        + axis
        + "</svg>"
    )


def finish_grid(simulation: Simulation, scenario: Scenario) -> str:
    """Initiatives down, periods across (and `later`): the share of samples finishing there, shaded; the planned
    finish outlined and the deadline marked."""
    columns = [*scenario.periods, "later"]
    rows = []
    for o in simulation.initiatives:
        cells = [f"<td>{pages.escape(o.id)}{' <small>required</small>' if o.required else ''}</td>"]
        for label in columns:
            share = o.finishes.get(label, 0.0)
            style = f"background:hsl(210,90%,{100 - 45 * share:.0f}%)"
            if label == o.planned_finish:
                style += ";outline:2px solid #1a7f37"
            mark = " ⚑" if label == o.deadline else ""
            cells.append(
                f'<td class="num" style="{style}" title="{pages.escape(o.id)} finishes in {label} in {share:.1%} of samples">{share:.0%}{mark}</td>'
                if share or mark
                else "<td></td>"
            )
        rows.append(cells)
    return pages.raw_table(["initiative", *columns], rows)


def page(simulation: Simulation, scenario: Scenario) -> str:
    title = f"Simulation of the plan for {simulation.scenario}"
    parts = [f"<h1>{pages.escape(title)}</h1>", f"<p>{pages.escape(headline(simulation))}</p>", f"<p>{pages.escape(value_line(simulation))}</p>"]
    chart = value_chart(simulation)
    if chart:
        parts += ["<h2>Value</h2>", chart]
    parts += [
        "<h2>When each initiative finishes</h2>",
        "<p><small>Share of samples finishing in each period; the planned finish is outlined, ⚑ marks the deadline.</small></p>",
        finish_grid(simulation, scenario),
        "<h2>Initiatives</h2>",
        pages.table(HEADER, _rows(simulation)),
    ]
    header, rows = overload_rows(simulation, scenario)
    parts += ["<h2>Overload</h2>", pages.table(header, rows) if rows else "<p>No team overflows in any sample.</p>"]
    parts += ["<h2>What drives the risk</h2>", pages.table(["estimate", "lateness", "value"], _driver_rows(simulation))]
    return pages.document(title, parts)


FORMATS = {"table": table, "json": as_json, "md": markdown, "html": page}
