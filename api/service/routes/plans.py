"""Plans: the plan (JSON, CSV, Markdown), one audience's view, explanations, and what-ifs run as jobs."""

from __future__ import annotations

from typing import get_args

from flask import Blueprint, Response, g
from sqlalchemy import select

from api.render.plans import csv as plan_csv
from api.render.plans import markdown as plan_markdown
from api.render.views import markdown as view_markdown
from api.service import store
from api.service.context import service
from api.service.db import PlanRecord
from api.service.openapi import JSON, Reply, operation, reply
from api.service.problems import MEDIA_TYPE, ApiProblem, ProblemDetails
from api.service.routes.common import JOB_REPLIES, known_initiatives, link_page, plan_summary, queued, within_job_budget, within_time_limit
from api.service.schemas import CounterfactualRequest, PlanListQuery, PlanOut, PlanPage, PlanQuery, ViewName, WaitQuery
from planner import views
from planner.errors import NotFound, did_you_mean
from planner.explanation import Explanation, InitiativeExplanation
from planner.views import EngineeringView, ExecutiveView, PublicView

bp = Blueprint("plans", __name__, url_prefix="/plans")

TEXT = {"csv": ("text/csv", plan_csv), "md": ("text/markdown", plan_markdown)}
NOT_ACCEPTABLE = Reply("A view comes as json or md, not csv.", {MEDIA_TYPE: ProblemDetails})
VIEWS = (ExecutiveView, EngineeringView, PublicView)


@bp.get("")
@operation("list plans", role="viewer", tag="plans", query=PlanListQuery, replies={200: Reply("A page of plans, newest first.", {JSON: PlanPage})})
def list_(query: PlanListQuery) -> object:
    with service().session() as session:
        selected = select(PlanRecord).where(PlanRecord.workspace_id == g.token.workspace_id)
        if query.scenario:
            selected = selected.where(PlanRecord.scenario_id == query.scenario)
        total, records = store.page(session, selected, (PlanRecord.created_at.desc(), PlanRecord.id), query.limit, query.offset)
    return reply(PlanPage(items=[plan_summary(r) for r in records], **link_page(total, query, "/plans", scenario=query.scenario)))


@bp.get("/<plan_id>")
@operation(
    "get plan",
    role="viewer",
    tag="plans",
    query=PlanQuery,
    replies={
        200: Reply(
            "The plan with what reproduces it (scenario version, settings, planner version, backend); or as CSV or Markdown "
            "(`?format=`); or one audience's view (`?view=`).",
            {JSON: (PlanOut, *VIEWS), "text/csv": None, "text/markdown": None},
        ),
        406: NOT_ACCEPTABLE,
    },
)
def get(plan_id: str, query: PlanQuery) -> object:
    if query.view is not None:
        return _view(plan_id, query.view, query.format)
    with service().session() as session:
        record = store.plan_record(session, g.token.workspace_id, plan_id)
        plan = store.plan_of(record)
        if query.format != "json":
            mimetype, write = TEXT[query.format]
            return Response(write(plan, store.scenario_of_plan(session, record)), mimetype=mimetype)
    return reply(
        PlanOut(
            id=record.id,
            scenario_id=record.scenario_id,
            scenario_version=record.scenario_version,
            job_id=record.job_id,
            settings=plan.settings,
            planner_version=record.planner_version,
            backend=record.backend,
            created_at=record.created_at,
            plan=plan,
            links={
                "self": f"/plans/{record.id}",
                "scenario": f"/scenarios/{record.scenario_id}?version={record.scenario_version}",
                "explanations": f"/plans/{record.id}/explanations",
                "counterfactuals": f"/plans/{record.id}/counterfactuals",
                **{f"view_{name}": f"/plans/{record.id}/views/{name}" for name in ("executive", "engineering", "public")},
            },
        )
    )


@bp.get("/<plan_id>/views/<name>")
@operation(
    "get plan view",
    role="viewer",
    tag="plans",
    query=PlanQuery,
    replies={
        200: Reply("The plan for one audience: executive, engineering or public; JSON, or Markdown with `?format=md`.", {JSON: VIEWS, "text/markdown": None}),
        406: NOT_ACCEPTABLE,
    },
)
def view(plan_id: str, name: str, query: PlanQuery) -> object:
    return _view(plan_id, name, query.format)


def _view(plan_id: str, name: str, fmt: str) -> object:
    if name not in get_args(ViewName):
        raise NotFound(f"no view '{name}': use executive, engineering or public" + did_you_mean(name, get_args(ViewName)))
    if fmt == "csv":
        raise ApiProblem(406, "views come as json or md, not csv")
    with service().session() as session:
        record = store.plan_record(session, g.token.workspace_id, plan_id)
        scenario = store.scenario_of_plan(session, record)
    shown = views.view(name, scenario, store.plan_of(record))
    if fmt == "md":
        return Response(view_markdown(shown, scenario), mimetype="text/markdown")
    return reply(shown)


def _explanation(plan_id: str) -> Explanation:
    with service().session() as session:
        record = store.plan_record(session, g.token.workspace_id, plan_id)
    plan = store.plan_of(record)
    if plan.explanation is None:
        raise NotFound(
            f"plan '{plan_id}' was solved with `reasons: false`; solve again with reasons, or ask for an initiative's what-ifs at /plans/{plan_id}/counterfactuals"
        )
    return plan.explanation


@bp.get("/<plan_id>/explanations")
@operation(
    "get explanations",
    role="viewer",
    tag="plans",
    replies={200: Reply("Why each initiative is in, out or late; for an infeasible plan, the rules that cannot all hold.", {JSON: Explanation})},
)
def explanations(plan_id: str) -> object:
    return reply(_explanation(plan_id))


@bp.get("/<plan_id>/explanations/<initiative>")
@operation(
    "get initiative explanation", role="viewer", tag="plans", replies={200: Reply("Why this initiative is in, out or late.", {JSON: InitiativeExplanation})}
)
def explanation(plan_id: str, initiative: str) -> object:
    explained = _explanation(plan_id)
    found = {i.id: i for i in explained.initiatives}
    if initiative not in found:
        raise NotFound(f"no initiative '{initiative}' in the explanation of plan '{plan_id}'" + did_you_mean(initiative, found))
    return reply(found[initiative])


@bp.post("/<plan_id>/counterfactuals")
@operation(
    "request counterfactual",
    role="planner",
    tag="jobs",
    query=WaitQuery,
    body=CounterfactualRequest,
    replies=JOB_REPLIES,
    description=(
        "A what-if, proven by re-solving, as a job. With `initiative`: what forcing it in, out or earlier costs, and the capacity and "
        "the value with which it fits (`result.explanation`). With `force_in`/`force_out`: a new plan (`plan_id`) and what changed (`result.changes`)."
    ),
)
def counterfactual(plan_id: str, query: WaitQuery, body: CounterfactualRequest) -> object:
    svc = service()
    if (body.initiative is None) == (not body.force_in and not body.force_out):
        raise ApiProblem(422, "ask about one `initiative`, or give `force_in` and/or `force_out` ids, not both or neither")
    if body.time_limit is not None:
        within_time_limit(body.time_limit, "time_limit")
    with svc.sessions.begin() as session:
        record = store.plan_record(session, g.token.workspace_id, plan_id)
        scenario = store.scenario_of_plan(session, record)
        known_initiatives(scenario, {"initiative": [body.initiative]} if body.initiative else {"force_in": body.force_in, "force_out": body.force_out})
        within_job_budget("counterfactual", body.model_dump(mode="json"), "time_limit", store.plan_of(record).settings.time_limit)
        request = {**body.model_dump(mode="json"), "plan_id": plan_id}
        job = store.submit(session, g.token, "counterfactual", request, (record.scenario_id, record.scenario_version), svc.config.max_active_jobs)
    return queued(job.id, query.wait)
