"""Plans and their explanations rendered for people and tools: a terminal roadmap grid, Markdown, CSV, JSON and a self-contained HTML page.

Words live here, at the edge; the plan itself is data (`planner.plan.Plan`).
"""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pandas as pd

from api.render import pages
from planner.explanation import Change, Counterfactual, Diagnosis, Explanation, Hold, Holding, InitiativeExplanation, JointCost, Reason, Repair, Unfinished
from planner.plan import Plan, PlanChange
from planner.quantities import plain_number
from planner.rules import Rule, RuleKind
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
            share = plan.uplift_share()
            relative = f" ({share:+.1%})" if share is not None else ""
            parts.append(f"uplift {plan.uplift:+,.3f}".rstrip("0").rstrip(".") + relative)
    elif plan.status.found:
        parts.append("the rank-ordered baseline found no valid plan")
    parts.append(f"{plan.solve_seconds:.2f} s, {plan.backend}")
    return "; ".join(parts)


def planning_lines(plan: Plan) -> list[str]:
    """The planning terms' figures in a line each, when the scenario uses them: KPIs, floors and
    reserves, synergies, and work under way that the plan stops."""
    out = []
    if plan.outcomes:
        out.append("KPIs delivered: " + "  ".join(f"{kpi} {total:,.3f}".rstrip("0").rstrip(".") for kpi, total in plan.outcomes.items()))
    for f in plan.floors:
        if f.short or f.period is None:
            when = f"in {f.period}" if f.period else "over the horizon"
            short = f", short by {plain_number(f.short)} (costs {_num(f.penalty)})" if f.short else ""
            out.append(f"Floor {f.allocation} {when}: {plain_number(f.load)} of {plain_number(f.floor)}{short}")
    left: dict[str, Decimal] = {}
    for r in plan.reserves:
        left[r.allocation] = left.get(r.allocation, Decimal(0)) + r.left
    out += [f"Reserve {name}: {plain_number(amount)} left for unlisted work over the horizon" for name, amount in left.items()]
    out += [f"Synergy {x.synergy} ({_num(x.value)}): {'earned' if x.earned else 'not earned'}" for x in plan.synergies]
    if plan.stopped:
        out.append("Work under way the plan stops: " + ", ".join(plan.stopped))
    return out


def table(plan: Plan, scenario: Scenario) -> str:
    """What a person reads in a terminal: a roadmap grid (periods across, teams down), then the lists."""
    out = [headline(plan, scenario), plan.message, ""]
    if not plan.status.found:
        return "\n".join(out[:2] + (explanation_lines(plan.explanation, scenario) if plan.explanation else [])) + "\n"
    why = reasons_by_id(plan)
    out.append(_grid(plan, scenario))
    out.append("")
    share = "  ".join(f"{label} {plan.invisible_share[label]:.0%}" for label in scenario.periods)
    out.append(f"Invisible work (share of capacity): {share}")
    mix = "  ".join(f"{theme or '(none)'} {value:.0%}" for theme, value in plan.theme_mix.items())
    out.append(f"Theme mix (share of scheduled effort): {mix}")
    out += planning_lines(plan)
    out.append("")
    out.append(f"Scheduled ({len(plan.scheduled)}):")
    width = max((len(s.id) for s in plan.scheduled), default=0)
    for s in plan.scheduled:
        when = s.start if s.start == s.finish else f"{s.start}..{s.finish}"
        flag = " invisible" if s.invisible else ""
        late = f"  late: {why[s.id]}" if s.id in why else ""
        out.append(f"  {s.id:<{width}}  {when:<18} value {_num(s.decayed_value):>9}  {s.kind}{flag}{late}")
    out.append(f"Not scheduled ({len(plan.not_scheduled)}):")
    width = max((len(u.id) for u in plan.not_scheduled), default=0)
    for u in plan.not_scheduled:
        reason = f"  {why[u.id]}" if u.id in why else ""
        out.append(f"  {u.id:<{width}}  value {_num(u.value):>9}  ratio {_num(u.ratio_score, 2):>6}  {u.kind}{reason}")
    if plan.stability_cost is not None:
        out.append(f"Changes from the previous plan ({len(plan.changes)}, cost {_num(plan.stability_cost)}):")
        width = max((len(c.id) for c in plan.changes), default=0)
        out += [f"  {c.id:<{width}}  {_change(c)}, cost {_num(c.cost)}" for c in plan.changes]
    if plan.explanation and _has_what_ifs(plan.explanation):
        out += ["", "Explanations (each number from a re-solve):", *explanation_lines(plan.explanation, scenario)]
    return "\n".join(out) + "\n"


def reasons_by_id(plan: Plan) -> dict[str, str]:
    """Initiative id -> its reason line, for the work out or late, when the plan was explained."""
    items = plan.explanation.initiatives if plan.explanation else []
    return {i.id: reason_line(i) for i in items if i.reason is not None}


def _has_what_ifs(explanation: Explanation) -> bool:
    return explanation.what_ifs or bool(explanation.unexplained)


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
            texts = [team if n == 0 else ""] + [cells[team, label][n] if n < len(cells[team, label]) else "" for label in scenario.periods]
            lines.append(" | ".join(c.ljust(w) for c, w in zip(texts, widths)).rstrip())
        lines.append(rule)
    return "\n".join(lines)


def initiatives_frame(plan: Plan) -> pd.DataFrame:
    """One row per initiative: scheduled or not, when, which teams, what it is worth, why it is out or late."""
    why = {id: reason.value for id, reason in plan.reasons().items()}
    rows = [
        {
            "id": s.id,
            "title": s.title,
            "kind": s.kind,
            "theme": s.theme or "",
            "scheduled": True,
            "start": s.start,
            "finish": s.finish,
            "teams": " ".join(sorted(s.load)),
            "value": s.value,
            "decayed_value": s.decayed_value,
            "ratio_score": round(s.ratio_score, 6),
            "reason": why.get(s.id, ""),
        }
        for s in plan.scheduled
    ] + [
        {
            "id": u.id,
            "title": u.title,
            "kind": u.kind,
            "theme": "",
            "scheduled": False,
            "start": "",
            "finish": "",
            "teams": "",
            "value": u.value,
            "decayed_value": 0.0,
            "ratio_score": round(u.ratio_score, 6),
            "reason": why.get(u.id, ""),
        }
        for u in plan.not_scheduled
    ]
    return pd.DataFrame(
        rows, columns=["id", "title", "kind", "theme", "scheduled", "start", "finish", "teams", "value", "decayed_value", "ratio_score", "reason"]
    )


def csv(plan: Plan, scenario: Scenario) -> str:
    buffer = io.StringIO()
    initiatives_frame(plan).to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def markdown(plan: Plan, scenario: Scenario) -> str:
    out = [f"# Plan for {plan.scenario}", "", headline(plan, scenario) + ".", ""]
    if not plan.status.found:
        lines = explanation_lines(plan.explanation, scenario) if plan.explanation else []
        return "\n".join(out + [f"No plan: {plan.message}.", ""] + _markdown_list(lines))
    out += ["## Roadmap", "", "| Team | " + " | ".join(scenario.periods) + " |", "|---" * (len(scenario.periods) + 1) + "|"]
    for team in scenario.teams:
        row = []
        for label in scenario.periods:
            names = [s.id for s in plan.scheduled if label in s.load.get(team.id, {})]
            use = next(u for u in plan.utilisation if u.team == team.id and u.period == label)
            row.append(f"{use.utilisation:.0%}: " + ", ".join(names) if names else f"{use.utilisation:.0%}")
        out.append(f"| {team.display_name} | " + " | ".join(row) + " |")
    why = reasons_by_id(plan)
    out += ["", "## Initiatives", "", "| Initiative | Kind | Start | Finish | Value | Why out or late |", "|---|---|---|---|---|---|"]
    for s in plan.scheduled:
        out.append(f"| {s.title} (`{s.id}`) | {s.kind} | {s.start} | {s.finish} | {_num(s.decayed_value)} | {why.get(s.id, '')} |")
    for u in plan.not_scheduled:
        out.append(f"| {u.title} (`{u.id}`) | {u.kind} | not scheduled | | {_num(u.value)} | {why.get(u.id, '')} |")
    out += ["", "Invisible work per period: " + ", ".join(f"{k} {v:.0%}" for k, v in plan.invisible_share.items()) + ".", ""]
    terms = planning_lines(plan)
    if terms:
        out += ["## Allocations, KPIs and synergies", "", *(f"- {line}" for line in terms), ""]
    if plan.stability_cost is not None:
        out += ["## Changes from the previous plan", ""]
        out += [f"- `{c.id}`: {_change(c)}; costs {_num(c.cost)}." for c in plan.changes] or ["None: the previous plan stands."]
        out.append("")
    if plan.explanation and _has_what_ifs(plan.explanation):
        out += ["## Explanations", "", *_markdown_list(explanation_lines(plan.explanation, scenario))]
    return "\n".join(out)


def as_json(plan: Plan, scenario: Scenario | None = None) -> str:
    return json.dumps(plan.model_dump(mode="json"), indent=2) + "\n"


def _heat(utilisation: float) -> str:
    """A cell colour from white (idle) to deep orange (full), and red above 100%."""
    if utilisation > 1:
        return "#ff8182"
    return f"hsl(30,100%,{100 - 45 * utilisation:.0f}%)"


def page(plan: Plan, scenario: Scenario, checks: list[tuple[bool, str]] | None = None) -> str:
    """One self-contained HTML report: headline, checks, roadmap grid, utilisation heat map, explanations."""
    title = f"Plan for {plan.scenario}"
    parts = [f"<h1>{pages.escape(title)}</h1>", f"<p>{pages.escape(headline(plan, scenario))}</p>"]
    if plan.message:
        parts.append(f"<p><small>{pages.escape(plan.message)}</small></p>")
    if checks:
        parts.append(
            "<h2>Checks</h2><ul>"
            + "".join(f'<li class="{"pass" if ok else "fail"}">{"pass" if ok else "FAIL"}: {pages.escape(text)}</li>' for ok, text in checks)
            + "</ul>"
        )
    if plan.status.found:
        parts += ["<h2>Roadmap</h2>", _roadmap_grid(plan, scenario), "<h2>Utilisation</h2>", _heat_map(plan, scenario)]
        shares = [f"{plan.invisible_share[label]:.0%}" for label in scenario.periods]
        parts.append(pages.table(["", *scenario.periods], [["invisible work (share of capacity)", *shares]]))
        parts.append(pages.table(["theme", "share of scheduled effort"], [[t or "(none)", f"{v:.0%}"] for t, v in plan.theme_mix.items()]))
        why = reasons_by_id(plan)
        rows = [[u.id, u.title, u.kind, _num(u.value), why.get(u.id, "")] for u in plan.not_scheduled]
        parts += [f"<h2>Not scheduled ({len(rows)})</h2>", pages.table(["id", "title", "kind", "value", "why"], rows)]
    if plan.explanation:
        parts += ["<h2>Explanations</h2>", pages.items(explanation_lines(plan.explanation, scenario))]
    return pages.document(title, parts)


def _roadmap_grid(plan: Plan, scenario: Scenario) -> str:
    """Initiatives down, periods across; a coloured cell names the teams working on it in that period."""
    rows = []
    for s in plan.scheduled:
        css = "invisible" if s.invisible else "work"
        cells = [f"<td>{pages.escape(s.title)} <small>{pages.escape(s.id)}, {pages.escape(s.kind)}</small></td>"]
        for label in scenario.periods:
            teams = sorted(team for team, loads in s.load.items() if label in loads)
            cells.append(f'<td class="{css}">{pages.escape(" ".join(teams))}</td>' if teams else "<td></td>")
        rows.append(cells)
    return pages.raw_table(["initiative", *scenario.periods], rows)


def _heat_map(plan: Plan, scenario: Scenario) -> str:
    """Teams down, periods across: load / capacity, coloured by how full the team is."""
    use = {(u.team, u.period): u for u in plan.utilisation}
    rows = []
    for team in scenario.teams:
        cells = [f"<td>{pages.escape(team.display_name)}</td>"]
        for label in scenario.periods:
            u = use[team.id, label]
            tip = f"{_num(float(u.load), 2)} of {_num(float(u.capacity), 2)} {scenario.unit}"
            cells.append(f'<td class="num" style="background:{_heat(u.utilisation)}" title="{pages.escape(tip)}">{u.utilisation:.0%}</td>')
        rows.append(cells)
    return pages.raw_table(["team", *scenario.periods], rows)


FORMATS = {"table": table, "json": as_json, "csv": csv, "md": markdown, "html": page}


# --- explanations -----------------------------------------------------------------------------------------


RULE_WORDS = {
    RuleKind.mandatory: "'{initiative}' is mandatory",
    RuleKind.committed: "'{initiative}' is committed to start in {period}",
    RuleKind.deadline: "'{initiative}' must finish by {period}",
    RuleKind.capacity: "team '{team}' has {limit} {unit} in {period}",
    RuleKind.invisible_floor: "invisible work is at least {share} of capacity every period",
    RuleKind.invisible_cap: "invisible work is at most {share} of capacity every period",
    RuleKind.team_invisible_floor: "team '{team}' spends at least {share} on invisible work every period",
    RuleKind.theme_min_share: "theme '{theme}' gets at least {share} of scheduled effort",
    RuleKind.theme_max_share: "theme '{theme}' gets at most {share} of scheduled effort",
    RuleKind.choice_min: "at least {limit} of choice '{group}' is scheduled",
    RuleKind.reserve: "{share} of capacity is reserved for {group}",
    RuleKind.target: "the plan delivers at least {limit} of KPI '{group}'",
    RuleKind.allocation_floor: "{group} gets at least {share} of capacity",
    RuleKind.choice_max: "at most {limit} of choice '{group}' is scheduled",
}


def describe_rule(rule: Rule, scenario: Scenario) -> str:
    """A business rule in the scenario's words."""
    return RULE_WORDS[rule.kind].format(**rule.model_dump(), unit=scenario.unit, share=_share(rule.limit))


def _share(limit: str | None) -> str:
    return f"{float(limit or 0):.2%}".replace(".00%", "%")


def _ids(ids: list[str]) -> str:
    return ", ".join(ids)


REASON_WORDS = {
    Reason.excluded_by: "an alternative is in the plan",
    Reason.prerequisite_not_scheduled: "a prerequisite is not in the plan",
    Reason.window_too_short: "its window leaves no room",
    Reason.capacity: "displaced by higher-value work",
    Reason.floor_or_share: "a guardrail keeps it out or late: relaxing what is named changes that",
    Reason.not_worth_it: "it fits but adds nothing",
    Reason.wont_have: "a won't have (MoSCoW): never scheduled",
    Reason.never_fits: "it never fits, whatever else is planned",
    Reason.choice_full: "its choice has as many options in the plan as it allows",
    Reason.search_stopped: "the search stopped before it found the better plan with it: give it more time",
}


FAMILY_WORDS = {"floors": "every floor", "shares": "every theme share", "guardrails": "every guardrail"}


def joint_words(j: JointCost) -> str:
    """`every floor (team_invisible_floor[platform], ...)`: a family priced together, with the rules it holds."""
    return f"{FAMILY_WORDS[j.family]} ({', '.join(r.name for r in j.rules)})"


def reason_line(item: InitiativeExplanation) -> str:
    """Why an initiative is out or late, in one line with the ids behind it."""
    if item.reason is None:
        return ""
    text = f"{item.reason.value}: {REASON_WORDS[item.reason]}"
    if item.excluded_by:
        text += f" ({_ids(item.excluded_by)})"
    if item.missing_prerequisites:
        text += f" ({_ids(item.missing_prerequisites)})"
    if item.reason is Reason.window_too_short:
        text += " (earliest start, duration, prerequisites and deadline or horizon)"
    if item.blocked_by:
        named = "; ".join(rule.name for rule in item.blocked_by)
        text += f" (together: {named})" if item.blocked_together else f" ({named})"
    if item.never_fits is not None:
        short = item.never_fits
        text += f" (it needs {plain_number(short.needed)} of {short.team} in {short.period}, which has {plain_number(short.available)})"
    if item.displaced_by:
        text += " (" + "; ".join(f"{d.initiative} on {d.team} in {_ids(d.periods)}" for d in item.displaced_by) + ")"
    return text


def _holding(h: Holding) -> str:
    if h.code is Hold.prerequisite:
        return f"prerequisite '{h.prerequisite}' finishes in {h.period}"
    if h.code is Hold.full_team:
        return f"team '{h.team}' has {_num(float(h.room or 0), 2)} left in {h.period}, it needs {_num(float(h.needed or 0), 2)}"
    if h.code is Hold.committed:
        return f"committed to {h.period}"
    if h.code is Hold.deadline:
        return f"its deadline is {h.period}"
    return f"its earliest start is {h.period}"


def _counterfactual(c: Counterfactual, mode: Objective) -> str:
    name = c.kind.replace("_", " ")
    if c.objective is None:
        return f"{name}: no plan ({c.status.value})"
    lost = c.value_lost or 0.0
    if mode is Objective.makespan:
        change = f"{_num(abs(lost))} periods {'more' if lost >= 0 else 'fewer'}"
    else:
        change = f"value {'lost' if lost >= 0 else 'gained'} {_num(abs(lost))}"
    parts = [f"{name}: objective {_num(c.objective)} ({change})"]
    if c.kind == "value_to_fit":
        parts.append(f"at value {_num(c.value)} it {'enters' if c.entered else 'still stays out'}")
    if c.extra_capacity:
        cells = ", ".join(f"{x.team} +{_num(float(x.amount), 2)} in {x.period}" for x in c.extra_capacity)
        parts.append(f"with {cells} it {'enters' if c.entered else 'still stays out'}")
    if c.start:
        parts.append(f"starts {c.start}")
    if c.added:
        parts.append(f"adds {_ids(c.added)}")
    if c.dropped:
        parts.append(f"drops {_ids(c.dropped)}")
    if c.moved:
        parts.append("moves " + ", ".join(f"{m.id} {m.start}->{m.to}" for m in c.moved))
    return "; ".join(parts)


def initiative_lines(item: InitiativeExplanation, mode: Objective) -> list[str]:
    """One initiative's explanation: where it is (or that it is out), then why, what holds it, and its what-ifs."""
    if item.scheduled:
        late = f", {item.late_by} period(s) after its earliest possible {item.earliest_possible}" if item.late_by else ""
        out = [f"{item.id}: scheduled {item.start}..{item.finish}{late}, contributes {_num(item.contributes)}"]
    else:
        out = [f"{item.id}: not scheduled"]
    if item.reason:
        out.append(f"why: {reason_line(item)}")
    if item.held_by:
        out.append("held by: " + "; ".join(_holding(h) for h in item.held_by))
    return out + [_counterfactual(c, mode) for c in item.counterfactuals]


def explanation_lines(explanation: Explanation, scenario: Scenario) -> list[str]:
    """The explanation as plain lines: initiatives, then policy costs, binding capacity, or the diagnosis."""
    mode = scenario.policies.objective
    out: list[str] = []
    if explanation.diagnosis is not None:
        return _diagnosis_lines(explanation.diagnosis, scenario)
    for item in explanation.initiatives:
        first, *rest = initiative_lines(item, mode)
        out += [first, *(f"  {line}" for line in rest)]
    if explanation.policy_costs:
        out.append("Cost of each policy (re-solved without it):")
        out += [f"  {describe_rule(p.rule, scenario)}: {_num(p.cost)}" for p in explanation.policy_costs]
    if explanation.joint_costs:
        out.append("Cost of guardrails together (re-solved without all of them):")
        out += [f"  {joint_words(j)}: {_num(j.cost)}" for j in explanation.joint_costs]
    if explanation.binding:
        out.append("Full teams, and one more unit of capacity there (re-solved):")
        out += [f"  {b.team} in {b.period} ({_num(float(b.capacity), 2)}): {_num(b.marginal_value)}" for b in explanation.binding]
    if explanation.unexplained:
        out.append(f"Not explained within the time limit (the most relevant were explained first): {_ids(explanation.unexplained)}.")
    out.append(f"{explanation.resolves} re-solves in {explanation.seconds:.2f} s.")
    return out


SHARE_REPAIRS = {
    RuleKind.invisible_floor: "lower the organisation's invisible-work floor to {share}",
    RuleKind.team_invisible_floor: "lower team {team}'s invisible-work floor to {share}",
    RuleKind.invisible_cap: "raise the organisation's invisible-work cap to {share}",
    RuleKind.theme_min_share: "lower theme {theme}'s minimum share to {share}",
    RuleKind.theme_max_share: "raise theme {theme}'s maximum share to {share}",
    RuleKind.reserve: "lower the {group} reserve to {share}",
    RuleKind.allocation_floor: "lower the {group} floor to {share}",
}
"""A repair of a share, as a person would do it: the rule's words, not the rule quoted."""


def _diagnosis_lines(d: Diagnosis, scenario: Scenario) -> list[str]:
    """Each conflict's rules with what is proven of them, the repairs, and what time left unfinished."""
    out: list[str] = []
    several = len(d.conflicts) > 1
    if not d.conflict:
        if Unfinished.conflicts in d.unfinished:
            out.append("No plan, and no conflict among the business rules was found within the time limit.")
        else:
            out.append("No plan, and no business rule is to blame: dependencies and durations (and what was forced in or out) cannot fit the horizon.")
    elif not several:
        out.append(f"No plan: these rules cannot all hold ({_claim(d.minimal, 'the rest')}):")
        out += _rule_lines(d.conflict, scenario)
    else:
        out.append(f"No plan: {len(d.conflicts)} independent conflicts (each found with the earlier ones' rules relaxed): a plan needs a change in each.")
        for n, c in enumerate(d.conflicts, 1):
            out.append(f"Conflict {n}: these rules cannot all hold ({_claim(c.minimal, 'the rest of them')}):")
            out += _rule_lines(c.rules, scenario)
    if d.repairs:
        out.append("Repairs of the whole scenario (each verified by a re-solve):" if several else "Repairs (each verified by a re-solve):")
        out += [_repair_line(r, scenario) for r in d.repairs]
    elif several:
        for n, c in enumerate(d.conflicts, 1):
            if c.repairs:
                out.append(f"Repairs of conflict {n} alone (each verified by a re-solve with the other conflicts' rules dropped):")
                out += [_repair_line(r, scenario) for r in c.repairs]
    return out + [UNFINISHED[u].format(n=len(d.conflicts)) for u in d.unfinished if d.conflict or u is not Unfinished.conflicts]


def _claim(minimal: bool, rest: str) -> str:
    return f"dropping any one makes {rest} feasible" if minimal else "not proven minimal within the time limit"


def _rule_lines(rules: list[Rule], scenario: Scenario) -> list[str]:
    return [f"  - {rule.name}: {describe_rule(rule, scenario)}" for rule in rules]


UNFINISHED = {
    Unfinished.more_conflicts: "More conflicts exist than the {n} listed: no repairs were searched.",
    Unfinished.conflicts: "Time ran out before the search for further conflicts ended: there may be more.",
    Unfinished.repairs: "Time ran out before every repair was searched: there may be more, or better, repairs.",
}
"""What a diagnosis left unfinished, said after it."""


def _repair_line(r: Repair, scenario: Scenario) -> str:
    """Every change of a repair as one thing to do, and what the re-solve with them all gave:
    "give team sre 2 more engineer-weeks in 2027-Q1 and lower the invisible-work floor to 29.06%: optimal, objective 204.537"."""
    changes = " and ".join(_repair(c, scenario) for c in r.changes)
    return f"  - {changes}: {r.status.value}, objective {_num(r.objective)}"


def _repair(r: Change, scenario: Scenario) -> str:
    rule = describe_rule(r.rule, scenario)
    if r.change == "extra_capacity":
        return f"give team {r.rule.team} {_num(float(r.amount or 0), 2)} more {scenario.unit} in {r.rule.period}"
    if r.change == "deadline_moved":
        return f"move the deadline of {r.rule.initiative} {r.periods} period(s) later"
    if r.change in ("floor_lowered", "cap_raised", "share_relaxed"):
        return SHARE_REPAIRS[r.rule.kind].format(**r.rule.model_dump(), share=_share(str(r.amount)))
    if r.change == "made_optional":
        return f"make {r.rule.initiative} optional"
    if r.change in ("choice_dropped", "target_dropped"):
        return f"drop the rule that {rule}"
    return f"drop the commitment of {r.rule.initiative} to {r.rule.period}"


def explanation_text(explanation: Explanation, plan: Plan, scenario: Scenario) -> str:
    return "\n".join([headline(plan, scenario), *explanation_lines(explanation, scenario)]) + "\n"


def _markdown_list(lines: list[str]) -> list[str]:
    """Explanation lines as Markdown: top lines as paragraphs, indented ones as their list items."""
    out: list[str] = []
    for line in lines:
        if line.startswith("  "):
            out.append(f"- {line.strip().removeprefix('- ')}")
        else:
            out += ["", line, ""]
    return out + [""]


def explanation_markdown(explanation: Explanation, plan: Plan, scenario: Scenario) -> str:
    out = [f"# Why the plan for {scenario.name} is what it is", "", headline(plan, scenario) + "."]
    return "\n".join(out + _markdown_list(explanation_lines(explanation, scenario)))


def explanation_json(explanation: Explanation, plan: Plan, scenario: Scenario) -> str:
    return json.dumps(explanation.model_dump(mode="json"), indent=2) + "\n"


EXPLAIN_FORMATS = {"table": explanation_text, "json": explanation_json, "md": explanation_markdown}
