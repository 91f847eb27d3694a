"""A comparison rendered for people and tools: a terminal table, Markdown, JSON and a self-contained HTML page."""

from __future__ import annotations

import json

from api.render import pages, tables
from api.render.plans import REASON_WORDS
from planner.compare import Change, ChangeKind, Comparison, Outcome, Variant
from planner.explanation import Reason


def _num(value: float | None, places: int = 1) -> str:
    return "-" if value is None else f"{value:,.{places}f}"


def _uplift(o: Outcome) -> str:
    if o.uplift is None:
        return "no baseline plan" if o.status.found else "-"
    share = f" ({o.uplift_share:+.1%})" if o.uplift_share is not None else ""
    return f"{o.uplift:+,.1f}{share}"


def _gap(o: Outcome) -> str:
    return "-" if o.gap is None else f"{o.gap:.1%}"


def summary_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    """One row per scenario, base first: the headline figures."""
    header = ["scenario", "status", "objective", "uplift over baseline", "gap", "invisible work", "deadlines met", "scheduled"]
    rows = [
        [
            o.scenario,
            o.status.value,
            _num(o.objective),
            _uplift(o),
            _gap(o),
            "-" if o.invisible_share is None else f"{o.invisible_share:.0%}",
            f"{o.deadlines_met}/{o.deadlines}",
            str(o.scheduled),
        ]
        for o in all_outcomes(comparison)
    ]
    if any(o.value_range is not None for o in all_outcomes(comparison)):  # the value distributions side by side
        header += ["value P10 / P50 / P90", "delivery confidence"]
        for row, o in zip(rows, all_outcomes(comparison)):
            row += [" / ".join(_num(x) for x in o.value_range) if o.value_range else "-", "-" if o.delivery is None else f"{o.delivery:.0%}"]
    return header, rows


def all_outcomes(comparison: Comparison) -> list[Outcome]:
    return [comparison.base] + [v.outcome for v in comparison.variants]


def by_key(comparison: Comparison, field: str, label: str) -> tuple[list[str], list[list[str]]]:
    """A key (team or theme) down, scenarios across: utilisation or theme mix."""
    outcomes = all_outcomes(comparison)
    keys = list(dict.fromkeys(k for o in outcomes for k in getattr(o, field)))
    rows = [[key or "(none)"] + [f"{getattr(o, field)[key]:.0%}" if key in getattr(o, field) else "-" for o in outcomes] for key in keys]
    return [label] + [o.scenario for o in outcomes], rows


def kpi_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    """Each business KPI down, scenarios across: what each plan delivers, and each variant's change."""
    outcomes = all_outcomes(comparison)
    keys = list(dict.fromkeys(k for o in outcomes for k in o.kpis))
    base = comparison.base.kpis

    def amount(x: float) -> str:
        return f"{x:,.3f}".rstrip("0").rstrip(".")

    def cell(o: Outcome, key: str) -> str:
        if key not in o.kpis:
            return "-"
        delta = round(o.kpis[key] - base[key], 3) if o is not comparison.base and key in base else 0
        return amount(o.kpis[key]) + (f" ({'+' if delta > 0 else ''}{amount(delta)})" if delta else "")

    return ["KPI"] + [o.scenario for o in outcomes], [[key] + [cell(o, key) for o in outcomes] for key in keys]


def _why(reason: Reason | None, where: str = "") -> str:
    return f"; {where}{reason.value} ({REASON_WORDS[reason]})" if reason else ""


def change_line(change: Change) -> str:
    """What happened to one initiative, and why, in one line."""
    if change.change is ChangeKind.added:
        return f"added, starts {change.start}" + _why(change.base_reason, "in the base: ") + _why(change.reason, "here late: ")
    if change.change is ChangeKind.dropped:
        return f"dropped, was {change.base_start}" + ("; not in this scenario" if change.removed else _why(change.reason))
    periods = "period" if change.periods == 1 else "periods"
    moved = f"{change.periods} {periods} {change.change.value}, {change.base_start} -> {change.start}"
    return moved + _why(change.reason) + _why(change.base_reason, "in the base: ")


def diff_heading(comparison: Comparison, variant: Variant) -> str:
    """The heading of a variant's diff: how many changes, or why there is no diff."""
    for o in (comparison.base, variant.outcome):
        if not o.status.found:
            return f"no diff: {o.scenario} has no plan ({o.status.value}; `planner explain` says why)"
    n = len(variant.changes)
    return "no initiative changes" if n == 0 else f"{n} change" + ("" if n == 1 else "s")


SIGN = {ChangeKind.added: "+", ChangeKind.dropped: "-", ChangeKind.earlier: "<", ChangeKind.later: ">"}


def table(comparison: Comparison) -> str:
    out = [f"Compared with {comparison.base.scenario}:", ""]
    out += tables.aligned(*summary_rows(comparison))
    out += ["", "Utilisation per team (load / capacity over the horizon):"] + tables.aligned(*by_key(comparison, "utilisation", "team"))
    out += ["", "Theme mix (share of scheduled effort):"] + tables.aligned(*by_key(comparison, "theme_mix", "theme"))
    if any(o.kpis for o in all_outcomes(comparison)):
        out += ["", "Business KPIs (what each plan delivers; change from the base):"] + tables.aligned(*kpi_rows(comparison))
    for variant in comparison.variants:
        out += ["", f"{variant.outcome.scenario} against {comparison.base.scenario}: {diff_heading(comparison, variant)}"]
        width = max((len(c.id) for c in variant.changes), default=0)
        out += [f"  {SIGN[c.change]} {c.id:<{width}}  {change_line(c)}" for c in variant.changes]
    return "\n".join(out) + "\n"


def markdown(comparison: Comparison) -> str:
    out = [f"# Compared with {comparison.base.scenario}", ""]
    out += tables.markdown(*summary_rows(comparison))
    out += ["## Utilisation per team", ""] + tables.markdown(*by_key(comparison, "utilisation", "team"))
    out += ["## Theme mix", ""] + tables.markdown(*by_key(comparison, "theme_mix", "theme"))
    if any(o.kpis for o in all_outcomes(comparison)):
        out += ["", "## Business KPIs", ""] + tables.markdown(*kpi_rows(comparison))
    for variant in comparison.variants:
        out += [f"## {variant.outcome.scenario}: {diff_heading(comparison, variant)}", ""]
        out += [f"- `{c.id}` {c.title}: {change_line(c)}" for c in variant.changes]
        out.append("")
    return "\n".join(out)


def as_json(comparison: Comparison) -> str:
    return json.dumps(comparison.model_dump(mode="json"), indent=2) + "\n"


def page(comparison: Comparison) -> str:
    """One HTML file with its style inline: it opens without network access."""
    title = f"Compared with {comparison.base.scenario}"
    parts = [f"<h1>{pages.escape(title)}</h1>", pages.table(*summary_rows(comparison))]
    parts += ["<h2>Utilisation per team</h2>", pages.table(*by_key(comparison, "utilisation", "team"))]
    parts += ["<h2>Theme mix</h2>", pages.table(*by_key(comparison, "theme_mix", "theme"))]
    if any(o.kpis for o in all_outcomes(comparison)):
        parts += ["<h2>Business KPIs</h2>", pages.table(*kpi_rows(comparison))]
    for variant in comparison.variants:
        parts.append(f"<h2>{pages.escape(variant.outcome.scenario)}: {pages.escape(diff_heading(comparison, variant))}</h2>")
        items = "".join(
            f'<li class="{c.change.value}"><code>{pages.escape(c.id)}</code> {pages.escape(c.title)}: {pages.escape(change_line(c))}</li>'
            for c in variant.changes
        )
        if items:
            parts.append(f"<ul>{items}</ul>")
    return pages.document(title, parts)


FORMATS = {"table": table, "json": as_json, "md": markdown, "html": page}
