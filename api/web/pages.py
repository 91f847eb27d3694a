"""The web page's routes: each page reads what the API reads, and each form runs an API operation.

A form's action calls the API's own view (`act`): the same role check, the same limits (a job's time
limit, the budget, unknown initiative ids) and the same job as `curl` would get. The pages are views of
the same records and the same domain objects; their words come from `api.render`, as the CLI's do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, get_args

from flask import Blueprint, Response, g, json, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as Answer  # a page, a redirect or a download

from api.render import comparisons as comparison_words
from api.render import plans as plan_words
from api.render import simulations as simulation_words
from api.render import views as view_words
from api.service import auth, store
from api.service.context import service
from api.service.db import ComparisonRecord, JobRecord, PlanRecord, ScenarioVersion
from api.service.jobs import TERMINAL
from api.service.openapi import parse, readable_text
from api.service.problems import TITLES, ApiProblem
from api.service.routes import comparisons, jobs, plans, scenarios
from api.service.routes.common import job_out
from api.service.schemas import ComparisonRequest, CounterfactualRequest, SimulationRequest, SolveRequest, SweepRequest, ViewName, WaitQuery
from api.web import charts, session
from planner import views
from planner.compare import Change as Difference
from planner.compare import Comparison
from planner.errors import NotFound, Problem, ScenarioError, did_you_mean
from planner.explanation import InitiativeExplanation
from planner.plan import Plan
from planner.scenario import Scenario
from planner.simulation import Simulation
from planner.sweep import Sweep

bp = Blueprint("ui", __name__, url_prefix=session.PATH, template_folder="templates", static_folder="static", static_url_path="/static")

OPEN = {"ui.sign_in", "ui.static"}  # the only pages that need no session
TABS = ("roadmap", *get_args(ViewName))
DOWNLOADS = {
    "json": ("application/json", plan_words.as_json),
    "csv": ("text/csv", plan_words.csv),
    "md": ("text/markdown", plan_words.markdown),
    "html": ("text/html", plan_words.page),
}
DEFAULT_TIME_LIMIT = 10.0

# Characters that reorder the text around them (bidi embeddings, overrides and isolates, and the marks):
# a name holding one is shown with the character named, so it cannot disguise what the page says.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@bp.app_template_filter("shown")
def shown(text: object) -> Markup:
    """A user-written string as text: escaped, bidi controls named, isolated from the text around it."""
    escaped = str(escape("" if text is None else text))
    return Markup(f"<bdi>{_BIDI.sub(lambda m: f'[U+{ord(m.group()):04X}]', escaped)}</bdi>")


@bp.app_template_filter("num")
def num(value: float | None, places: int = 1) -> str:
    return "–" if value is None else f"{value:,.{places}f}"


@bp.app_template_filter("share")
def share(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


@bp.app_template_filter("pct")
def pct(value: float | None) -> str:
    """A share of samples, to a tenth of a percent."""
    return "–" if value is None else f"{value:.1%}"


@bp.app_template_filter("gap")
def gap(value: float | None) -> str:
    return "–" if value is None else f"{value:.2%}"


@bp.app_template_filter("heat")
def heat(utilisation: float) -> str:
    """A utilisation cell's class: u0 (idle) to u5 (full), over (above capacity)."""
    return "over" if utilisation > 1 + 1e-9 else f"u{min(5, int(utilisation * 5 + 0.999))}"


@bp.before_request
def _signed_in() -> Answer | None:
    if request.endpoint in OPEN:
        return None
    if session.signed_in() is None:
        if request.method == "GET":
            return redirect(url_for("ui.sign_in", next=request.full_path.rstrip("?")))
        raise ApiProblem(401, "your session has ended: sign in again")
    if request.method == "POST":
        session.check_form()
    return None


@bp.after_request
def _headers(response: Response) -> Answer:
    response.headers.update(session.HEADERS)
    if request.endpoint != "ui.static":
        response.headers["Cache-Control"] = "no-store"  # the pages hold the workspace's data
    return response


@bp.context_processor
def _who() -> dict[str, Any]:
    token = g.get("token")
    return {"me": token, "csrf": g.get("csrf", ""), "can_write": token is not None and auth.allows(token, "planner")}


def page(template: str, code: int = 200, **context: Any) -> Response:
    return Response(render_template(template, **context), code, mimetype="text/html")


def error_page(status: int, detail: str, errors: list[Problem]) -> Response:
    """Any refusal on the web page's paths, as a page (the API's problem+json, in words)."""
    response = page("error.html", status, status=status, title=TITLES.get(status, "Error"), detail=detail, errors=errors)
    response.headers.update(session.HEADERS)
    return response


def act(view: Callable[..., Any], **arguments: Any) -> dict[str, Any]:
    """Run an API operation as the signed-in token: its role, its checks, and its answer's JSON."""
    auth.require(view.operation.role)  # type: ignore[attr-defined]
    answer = view.__wrapped__(**arguments)  # type: ignore[attr-defined]
    return answer.get_json()


def _form_number(name: str, default: float | None = None) -> Any:
    text = request.form.get(name, "").strip()
    return text if text else default  # pydantic reads the number, and names the field when it is not one


# --- signing in ------------------------------------------------------------------------------------


@bp.route("/signin", methods=["GET", "POST"])
def sign_in() -> Answer:
    target = session.local(request.values.get("next"))
    problem = None
    if request.method == "POST":
        session.check_sign_in_form()
        text = request.form.get("token", "").strip()
        try:
            auth.token_of(text)
        except ApiProblem as exc:
            problem = exc.detail.replace("bearer token", "token") if text else "paste a token: `planner tokens create` makes one"
        else:
            response = redirect(target, 303)
            session.keep(response, session.COOKIE, text)
            session.forget(response, session.SIGN_IN_COOKIE)
            return response
    nonce = session.sign_in_nonce()
    response = page("signin.html", 401 if problem else 200, target=target, nonce=nonce, problem=problem)
    session.keep(response, session.SIGN_IN_COOKIE, nonce)
    return response


@bp.post("/signout")
def sign_out() -> Answer:
    response = redirect(url_for("ui.sign_in"), 303)
    session.forget(response, session.COOKIE)
    return response


# --- scenarios ---------------------------------------------------------------------------------------


def _latest_plans(s: Session, workspace: str, scenario_ids: list[str]) -> dict[str, PlanRecord]:
    """Each scenario's newest plan. The ids are found first, so only those plans' bodies (their gap) are read."""
    newest: dict[str, str] = {}
    if scenario_ids:
        rows = s.execute(
            select(PlanRecord.scenario_id, PlanRecord.id)
            .where(PlanRecord.workspace_id == workspace, PlanRecord.scenario_id.in_(scenario_ids))
            .order_by(PlanRecord.created_at.desc(), PlanRecord.id)
        )
        for scenario_id, plan_id in rows:
            newest.setdefault(scenario_id, plan_id)
    records: list[PlanRecord] = list(s.scalars(select(PlanRecord).where(PlanRecord.id.in_(list(newest.values()))))) if newest else []
    return {record.scenario_id: record for record in records}


@bp.get("/")
def index() -> Answer:
    return _index()


def _index(status: int = 200, **form: Any) -> Answer:
    with service().session() as s:
        total, records = store.list_scenarios(s, g.token.workspace_id, None, 500, 0)
        latest = _latest_plans(s, g.token.workspace_id, [r.id for r in records])
        rows = [(r, latest.get(r.id)) for r in records]
    return page("scenarios.html", status, rows=rows, total=total, **form)


def _uploaded() -> tuple[bytes, str, str]:
    """The scenario document of an upload form: the file chosen, else the text pasted; its format and name."""
    chosen = request.files.get("file")
    if chosen is not None and chosen.filename:
        body, name = chosen.read(), chosen.filename
    else:
        body, name = request.form.get("text", "").replace("\r\n", "\n").encode(), "<pasted text>"
    if not body.strip():
        raise ApiProblem(400, "choose a scenario file or paste its text")
    return readable_text(body), "json" if name.lower().endswith(".json") else "yaml", name


@bp.post("/scenarios")
def upload() -> Answer:
    auth.require("planner")  # before the document is read: a viewer learns nothing of it
    try:
        text, fmt, name = _uploaded()
        detail = scenarios.stored_scenario(text, fmt)
    except ScenarioError as exc:
        return _index(422, problems=_located(exc, name), text=text.decode(errors="replace"))
    return redirect(url_for("ui.scenario", scenario_id=detail.id), 303)


def _located(exc: ScenarioError, name: str) -> list[Problem]:
    return [p.model_copy(update={"location": p.location.model_copy(update={"file": p.location.file or name})}) for p in exc.as_problems()]


@bp.get("/scenarios/<scenario_id>")
def scenario(scenario_id: str) -> Answer:
    return _scenario(scenario_id)


def _scenario(scenario_id: str, status: int = 200, **form: Any) -> Answer:
    workspace = g.token.workspace_id
    with service().session() as s:
        record = store.scenario_record(s, workspace, scenario_id)
        versions = s.scalars(select(ScenarioVersion).where(ScenarioVersion.scenario_id == record.id).order_by(ScenarioVersion.version.desc())).all()
        latest = versions[0]
        loaded = store.load_version(s, workspace, latest)
        plan_rows = s.scalars(
            select(PlanRecord).where(PlanRecord.workspace_id == workspace, PlanRecord.scenario_id == record.id).order_by(PlanRecord.created_at.desc()).limit(20)
        ).all()
        job_rows = s.scalars(
            select(JobRecord).where(JobRecord.workspace_id == workspace, JobRecord.scenario_id == record.id).order_by(JobRecord.created_at.desc()).limit(10)
        ).all()
    form.setdefault("text", latest.text)
    return page(
        "scenario.html",
        status,
        record=record,
        versions=versions,
        scenario=loaded.scenario,
        warnings=loaded.warnings,
        plans=[(p, p.body.get("gap")) for p in plan_rows],
        jobs=job_rows,
        time_limit=DEFAULT_TIME_LIMIT,
        **form,
    )


@bp.post("/scenarios/<scenario_id>/versions")
def new_version(scenario_id: str) -> Answer:
    auth.require("planner")
    try:
        text, fmt, name = _uploaded()
        scenarios.stored_version(scenario_id, text, fmt, request.form.get("base_version") or None)
    except ScenarioError as exc:
        return _scenario(scenario_id, 422, problems=_located(exc, name), text=text.decode(errors="replace"))
    return redirect(url_for("ui.scenario", scenario_id=scenario_id), 303)


@bp.post("/scenarios/<scenario_id>/solves")
def solve(scenario_id: str) -> Answer:
    data = {"time_limit": _form_number("time_limit", DEFAULT_TIME_LIMIT), "reasons": "reasons" in request.form}
    if request.form.get("version"):
        data["version"] = request.form["version"]
    body = parse(SolveRequest, data, "form")
    job = act(scenarios.solve, scenario_id=scenario_id, query=WaitQuery(), body=body)
    return redirect(url_for("ui.job", job_id=job["id"]), 303)


@bp.post("/scenarios/<scenario_id>/sweeps")
def sweep(scenario_id: str) -> Answer:
    data = {
        "knob": request.form.get("knob", ""),
        "team": request.form.get("team") or None,
        "low": _form_number("low"),
        "high": _form_number("high"),
        "steps": _form_number("steps", 6),
        "settings": {"time_limit": _form_number("time_limit", 5)},
    }
    body = parse(SweepRequest, data, "form")
    job = act(scenarios.sweep, scenario_id=scenario_id, query=WaitQuery(), body=body)
    return redirect(url_for("ui.job", job_id=job["id"]), 303)


# --- jobs ----------------------------------------------------------------------------------------------


def _next(job: JobRecord) -> str | None:
    """Where a finished job's page leads: its plan, its comparison, or itself (a sweep's curve, a what-if)."""
    if job.status != "succeeded":
        return None
    if job.kind == "solve" and job.plan_id:
        return url_for("ui.plan", plan_id=job.plan_id)
    if job.kind == "simulation":
        return url_for("ui.job", job_id=job.id)
    if job.kind == "comparison" and job.result:
        return url_for("ui.comparison", comparison_id=job.result["comparison_id"])
    return url_for("ui.job", job_id=job.id)


@bp.get("/jobs/<job_id>")
def job(job_id: str) -> Answer:
    with service().session() as s:
        record = store.job_record(s, g.token.workspace_id, job_id)
        out = job_out(record)
        context: dict[str, Any] = {}
        if record.status == "succeeded" and record.kind == "sweep" and record.result:
            curve = Sweep.model_validate(record.result["curve"])
            chart = charts.curve(curve)
            context = {"sweep": curve, "chart": chart, "sweep_rows": list(zip(curve.points, chart.dots))}
        if record.status == "succeeded" and record.kind == "counterfactual" and record.result:
            context = _what_if_result(s, record)
        if record.status == "succeeded" and record.kind == "simulation" and record.result and record.result.get("simulation"):
            context = _simulation_result(s, record)
    return page("job.html", job=out, terminal=record.status in TERMINAL, next_url=_next(record), **context)


def _simulation_result(s: Session, record: JobRecord) -> dict[str, Any]:
    outlook = Simulation.model_validate((record.result or {})["simulation"])
    simulated = (record.result or {}).get("plan") or record.plan_id or ""  # the plan given, or the one the job solved
    scenario = store.scenario_of_plan(s, store.plan_record(s, record.workspace_id, simulated))
    columns = [*scenario.periods, "later"]
    grid = [(o, [(label, o.finishes.get(label, 0.0), charts.shade(o.finishes.get(label, 0.0))) for label in columns]) for o in outlook.initiatives]
    header, overloads = simulation_words.overload_rows(outlook, scenario)
    return {
        "simulation": outlook,
        "simulation_headline": simulation_words.headline(outlook),
        "value_line": simulation_words.value_line(outlook),
        "histogram": charts.histogram(outlook.value, outlook.samples) if outlook.value is not None else None,
        "finish_columns": columns,
        "finish_grid": grid,
        "overload_header": header,
        "overload_rows": overloads,
        "simulated_plan": simulated,
    }


def _what_if_result(s: Session, record: JobRecord) -> dict[str, Any]:
    source = store.plan_record(s, record.workspace_id, record.request["plan_id"])
    scenario = store.scenario_of_plan(s, source)
    result = record.result or {}
    if "explanation" in result:
        explained = [i for i in result["explanation"]["initiatives"] if i["id"] == record.request.get("initiative")]
        items = [InitiativeExplanation.model_validate(i) for i in explained]
        return {"what_if_lines": [line for item in items for line in plan_words.initiative_lines(item, scenario.policies.objective)], "source_plan": source.id}
    changes = [Difference.model_validate(c) for c in result.get("changes", [])]
    return {"changes": [(c, comparison_words.change_line(c)) for c in changes], "source_plan": source.id}


@bp.get("/jobs/<job_id>/progress")
def progress(job_id: str) -> Answer:
    """The job's progress for the page's script: polled twice a second while the job runs."""
    with service().session() as s:
        record = store.job_record(s, g.token.workspace_id, job_id)
        out = job_out(record)
    body = {
        "status": out.status,
        "terminal": record.status in TERMINAL,
        "progress": out.progress.model_dump(mode="json") if out.progress else None,
        "error": out.error,
        "next": _next(record),
    }
    return Response(json.dumps(body), mimetype="application/json")


@bp.post("/jobs/<job_id>/cancel")
def cancel(job_id: str) -> Answer:
    act(jobs.cancel, job_id=job_id)
    return redirect(url_for("ui.job", job_id=job_id), 303)


# --- plans ---------------------------------------------------------------------------------------------


def _plan(plan_id: str) -> tuple[PlanRecord, Plan, Scenario]:
    with service().session() as s:
        record = store.plan_record(s, g.token.workspace_id, plan_id)
        return record, store.plan_of(record), store.scenario_of_plan(s, record)


def _page_number(text: str | None) -> int:
    return int(text) if text and text.isdigit() and len(text) < 6 else 1


@bp.get("/plans/<plan_id>")
def plan(plan_id: str) -> Answer:
    record, solved, scenario = _plan(plan_id)
    tab = request.args.get("tab", "roadmap")
    if tab not in TABS:
        raise NotFound(f"no tab '{tab}': use one of {', '.join(TABS)}")
    context: dict[str, Any] = {}
    if tab == "roadmap":
        grouping = request.args.get("group", "team")
        query = request.args.get("q", "")[:200]
        shown_ = request.args.get("show", "all")
        context = {
            "timeline": charts.timeline(scenario, solved, grouping=grouping, query=query, shown=shown_, page=_page_number(request.args.get("page"))),
            "grouping": grouping if grouping in charts.GROUPINGS else "team",
            "query": query,
            "show": shown_ if shown_ in charts.SHOWN else "all",
            "cells": {(u.team, u.period): u for u in solved.utilisation},
            "why": plan_words.reasons_by_id(solved),
            "floor": float(scenario.policies.invisible_work.min_share),
            "cap": None if scenario.policies.invisible_work.max_share is None else float(scenario.policies.invisible_work.max_share),
            "diagnosis": plan_words.explanation_lines(solved.explanation, scenario) if solved.explanation and solved.explanation.diagnosis else [],
        }
    else:
        context = {"sections": view_words.sections(views.view(tab, scenario, solved), scenario)}
    return page(
        "plan.html",
        record=record,
        plan=solved,
        scenario=scenario,
        tab=tab,
        tabs=TABS,
        headline=plan_words.headline(solved, scenario),
        downloads=DOWNLOADS,
        **context,
    )


@bp.get("/plans/<plan_id>/initiatives/<initiative_id>")
def initiative(plan_id: str, initiative_id: str) -> Answer:
    record, solved, scenario = _plan(plan_id)
    if initiative_id not in scenario.initiative_by_id:
        raise NotFound(f"no initiative '{initiative_id}' in this plan's scenario" + did_you_mean(initiative_id, scenario.initiative_by_id))
    explained = {i.id: i for i in solved.explanation.initiatives} if solved.explanation else {}
    item = explained.get(initiative_id)
    lines = plan_words.initiative_lines(item, scenario.policies.objective) if item else []
    return page(
        "initiative.html",
        record=record,
        plan=solved,
        initiative=scenario.initiative_by_id[initiative_id],
        placed=solved.scheduled_by_id().get(initiative_id),
        explained=item is not None,
        lines=lines,
        time_limit=solved.settings.time_limit,
    )


@bp.post("/plans/<plan_id>/whatifs")
def what_if(plan_id: str) -> Answer:
    initiative_id, ask = request.form.get("initiative", ""), request.form.get("ask", "")
    data: dict[str, Any] = {"time_limit": _form_number("time_limit")}
    if ask == "in":
        data["force_in"] = [initiative_id]
    elif ask == "out":
        data["force_out"] = [initiative_id]
    else:
        data["initiative"] = initiative_id
    body = parse(CounterfactualRequest, data, "form")
    job = act(plans.counterfactual, plan_id=plan_id, query=WaitQuery(), body=body)
    return redirect(url_for("ui.job", job_id=job["id"]), 303)


@bp.post("/plans/<plan_id>/simulations")
def simulate_plan(plan_id: str) -> Answer:
    with service().session() as s:
        record = store.plan_record(s, g.token.workspace_id, plan_id)
    data = {"plan": plan_id, "samples": _form_number("samples", 1000), "seed": _form_number("seed", 0)}
    body = parse(SimulationRequest, data, "form")
    job = act(scenarios.simulation, scenario_id=record.scenario_id, query=WaitQuery(), body=body)
    return redirect(url_for("ui.job", job_id=job["id"]), 303)


@bp.get("/plans/<plan_id>/download/<fmt>")
def download(plan_id: str, fmt: str) -> Answer:
    if fmt not in DOWNLOADS:
        raise NotFound(f"no download '{fmt}': use one of {', '.join(DOWNLOADS)}")
    record, solved, scenario = _plan(plan_id)
    mimetype, write = DOWNLOADS[fmt]
    response = Response(write(solved, scenario), mimetype=mimetype)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", solved.scenario).strip("-") or "plan"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-{record.id}.{fmt}"'
    return response


# --- comparisons ------------------------------------------------------------------------------------


@bp.get("/compare")
def compare() -> Answer:
    with service().session() as s:
        _, records = store.list_scenarios(s, g.token.workspace_id, None, 500, 0)
    return page("compare.html", scenarios=records, chosen=request.args.getlist("scenario"), time_limit=DEFAULT_TIME_LIMIT)


@bp.post("/compare")
def start_comparison() -> Answer:
    chosen = request.form.getlist("scenario")
    base = request.form.get("base") or (chosen[0] if chosen else "")
    ordered = [base] + [c for c in chosen if c != base] if base else chosen
    data = {"scenarios": [{"id": c} for c in dict.fromkeys(ordered)], "settings": {"time_limit": _form_number("time_limit", DEFAULT_TIME_LIMIT)}}
    body = parse(ComparisonRequest, data, "form")
    job = act(comparisons.create, query=WaitQuery(), body=body)
    return redirect(url_for("ui.job", job_id=job["id"]), 303)


@bp.get("/comparisons/<comparison_id>")
def comparison(comparison_id: str) -> Answer:
    with service().session() as s:
        record = s.get(ComparisonRecord, comparison_id)
        if record is None or record.workspace_id != g.token.workspace_id:
            raise NotFound(f"no comparison '{comparison_id}' in this workspace")
        compared = Comparison.model_validate(record.body)
        solved = []
        for plan_id in record.plan_ids:
            plan_record = store.plan_record(s, g.token.workspace_id, plan_id)
            solved.append((plan_record, store.plan_of(plan_record), store.scenario_of_plan(s, plan_record)))
    periods = list(dict.fromkeys(label for _, _, scenario in solved for label in scenario.periods))
    changed: list[dict[str, str]] = [{}] + [{c.id: c.change.value for c in v.changes} for v in compared.variants]
    roadmaps = [
        {label: [(s.id, s.title, s.start == label, marks.get(s.id, ""), s.invisible) for s in p.scheduled if _runs_in(s, label, scenario)] for label in periods}
        for (_, p, scenario), marks in zip(solved, changed)
    ]
    return page(
        "comparison.html",
        record=record,
        comparison=compared,
        plans=solved,
        periods=periods,
        roadmaps=roadmaps,
        summary=comparison_words.summary_rows(compared),
        utilisation=comparison_words.by_key(compared, "utilisation", "team"),
        themes=comparison_words.by_key(compared, "theme_mix", "theme"),
        kpis=comparison_words.kpi_rows(compared) if any(o.kpis for o in comparison_words.all_outcomes(compared)) else None,
        diffs=[(v, comparison_words.diff_heading(compared, v), [(c, comparison_words.change_line(c)) for c in v.changes]) for v in compared.variants],
    )


def _runs_in(item: Any, label: str, scenario: Scenario) -> bool:
    index = scenario.period_index
    return label in index and index[item.start] <= index[label] <= index[item.finish]
