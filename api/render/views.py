"""The audience views (`planner.views`) rendered as text, Markdown or JSON.

Each view becomes a list of sections (a heading and its lines) once; text and Markdown differ only in how a
section is set, so the two never disagree on what a view says.
"""

from __future__ import annotations

import json

from api.render.plans import REASON_WORDS, describe_rule, joint_words
from planner.quantities import plain_number
from planner.scenario import Scenario
from planner.settings import PlanStatus
from planner.views import FULL, EngineeringView, ExecutiveView, PublicView, View
from planner.whatif import policy_rules

Section = tuple[str, list[str]]


def _plain(value: float) -> str:
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _unpriced(scenario: Scenario, v: ExecutiveView) -> list[str]:
    """What has no price, and why: there are no guardrails, the time ran out, or the plan was not asked to price them."""
    count = len(policy_rules(scenario))
    if not count:
        return ["none: the scenario has no floors, caps, shares, allocations, mandatory work, commitments, choices or targets"]
    if v.unpriced:
        return [
            f"not priced within the time limit: {', '.join(v.unpriced)} (give it more with --time-limit, "
            "or keep more for the reasons with --reasons-time; reasons_time in the API)"
        ]
    if v.guardrails or v.guardrails_together:
        return []
    return [f"not priced: the scenario has {count}; ask for their prices with `planner solve --explain` or `policy_costs: true` in the API"]


def executive_sections(v: ExecutiveView, scenario: Scenario) -> list[Section]:
    headline = f"{v.status.value}: value {_num(v.objective)}"
    if v.baseline is not None and v.uplift is not None:
        share = f" ({v.uplift_share:+.1%})" if v.uplift_share is not None else ""
        headline += f", {v.uplift:+,.1f}{share} over the rank-ordered baseline ({_num(v.baseline)})"
    if v.gap:
        headline += f", within {v.gap:.1%} of the best possible"
    sections: list[Section] = [(f"{v.scenario}: executive summary", [headline])]
    sections.append(("Themes (share of scheduled effort)", [f"{theme or '(none)'}: {share:.0%}" for theme, share in v.themes.items()]))
    sections.append(("Invisible work (share of capacity)", ["  ".join(f"{p} {s:.0%}" for p, s in v.invisible_share.items())]))
    sections.append(
        (
            f"Left out ({len(v.left_out)})",
            [
                f"{item.title}: "
                + (f"{item.reason.value}, {REASON_WORDS[item.reason]}" if item.reason else "won't have" if item.moscow == "wont" else "not explained")
                for item in v.left_out
            ]
            or ["nothing"],
        )
    )
    sections.append(
        (
            "Price of each guardrail (value given up to honour it, by re-solve)",
            [f"{describe_rule(g.rule, scenario)}: {_num(g.cost)}" + ("" if g.status is PlanStatus.optimal else f" ({g.status.value})") for g in v.guardrails]
            + [
                f"{joint_words(j)}, together: {_num(j.cost)}" + ("" if j.status is PlanStatus.optimal else f" ({j.status.value})")
                for j in v.guardrails_together
            ]
            + _unpriced(scenario, v),
        )
    )
    if v.outcomes:
        sections.append(("Business KPIs (what the plan delivers)", [f"{kpi}: {_plain(total)}" for kpi, total in v.outcomes.items()]))
    if v.confidence:
        sections.append(
            (
                "Confidence factors",
                [
                    f"{c.title} ({'in' if c.scheduled else 'out'}): {c.combined:.2f} from "
                    + ", ".join(f"{name} {value:g}" for name, value in c.factors.items())
                    for c in v.confidence
                ],
            )
        )
    if v.delivery:
        sections.append(
            (
                "Delivery confidence (share of simulated samples delivered on time)",
                [f"{d.title}: {d.confidence:.0%} by {d.by or 'the end of the horizon'}" for d in v.delivery],
            )
        )
    risks = [f"{r.title} finishes in {r.deadline}, its deadline: no slack" for r in v.deadline_risks]
    risks += [f"team {t.team} is at {t.utilisation:.0%} in {t.period}" for t in v.full_teams]
    sections.append(("Risks", risks or [f"none: every deadline has slack and no team is above {FULL:.0%}"]))
    return sections


def engineering_sections(v: EngineeringView, scenario: Scenario) -> list[Section]:
    sections: list[Section] = []
    for team in scenario.teams:
        lines = []
        for cell in (c for c in v.cells if c.team == team.id):
            work = ", ".join(f"{i} {plain_number(amount)}" for i, amount in cell.initiatives.items())
            kept = "; ".join(f"{plain_number(amount)} of the {name} reserve left for unlisted work" for name, amount in cell.reserved_left.items())
            lines.append(
                f"{cell.period}: {plain_number(cell.load)}/{plain_number(cell.capacity)} ({cell.utilisation:.0%})"
                + (f": {work}" if work else "")
                + (f" ({kept})" if kept else "")
            )
        sections.append((f"{team.display_name} ({team.id})", lines))
    sections.append(
        (
            "Dependencies (tightest first)",
            [f"{d.prerequisite} -> {d.initiative}: {d.slack} period{'s' if d.slack != 1 else ''} of slack" for d in v.dependencies]
            or ["none between scheduled work"],
        )
    )
    sections.append(
        (
            "Binding capacity (teams at 100%)",
            [f"{b.team} in {b.period}" + (f": one more unit is worth {_num(b.marginal_value)}" if b.marginal_value is not None else "") for b in v.binding]
            or ["none"],
        )
    )
    sections.append(("Skill needs", [f"{a.initiative}: {a.skill} ({plain_number(a.effort)}) by {a.team}" for a in v.skill_assignments] or ["none"]))
    return sections


def public_sections(v: PublicView) -> list[Section]:
    return [(v.title, [])] + [(c.label, [item.title for item in c.items] or ["(nothing announced)"]) for c in v.columns]


def sections(v: View, scenario: Scenario) -> list[Section]:
    if isinstance(v, ExecutiveView):
        return executive_sections(v, scenario)
    if isinstance(v, EngineeringView):
        return engineering_sections(v, scenario)
    return public_sections(v)


def text(v: View, scenario: Scenario) -> str:
    out: list[str] = []
    for n, (heading, lines) in enumerate(sections(v, scenario)):
        out += ([] if n == 0 else [""]) + [heading] + [f"  {line}" for line in lines]
    return "\n".join(out) + "\n"


def markdown(v: View, scenario: Scenario) -> str:
    out: list[str] = []
    for n, (heading, lines) in enumerate(sections(v, scenario)):
        out += [f"{'#' if n == 0 else '##'} {heading}", ""] + [f"- {line}" for line in lines] + ([""] if lines else [])
    return "\n".join(out)


def as_json(v: View, scenario: Scenario) -> str:
    return json.dumps(v.model_dump(mode="json"), indent=2) + "\n"


FORMATS = {"table": text, "md": markdown, "json": as_json}
