"""Comparisons: of plans already made (at once), or of scenario versions (a job solves them first)."""

from __future__ import annotations

from flask import Blueprint, Response, g

from api.render.comparisons import markdown as comparison_markdown
from api.service import store
from api.service.context import service
from api.service.db import ComparisonRecord, new_id
from api.service.openapi import JSON, Reply, operation, reply
from api.service.problems import MEDIA_TYPE, ApiProblem, ProblemDetails
from api.service.routes.common import JOB_REPLIES, queued, within_job_budget, within_time_limit
from api.service.schemas import ComparisonOut, ComparisonRequest, FormatQuery, WaitQuery
from planner.compare import Comparison, compare
from planner.errors import NotFound

bp = Blueprint("comparisons", __name__, url_prefix="/comparisons")


def _out(record: ComparisonRecord) -> ComparisonOut:
    return ComparisonOut(
        id=record.id,
        plans=record.plan_ids,
        created_at=record.created_at,
        comparison=Comparison.model_validate(record.body),
        links={"self": f"/comparisons/{record.id}", **{f"plan_{n}": f"/plans/{p}" for n, p in enumerate(record.plan_ids)}},
    )


@bp.post("")
@operation(
    "compare",
    role="planner",
    tag="comparisons",
    query=WaitQuery,
    body=ComparisonRequest,
    replies={
        201: Reply("The comparison of the plans given (base first).", {JSON: ComparisonOut}, ("Location",)),
        **JOB_REPLIES,
        404: Reply("A plan or scenario named is not in the token's workspace.", {MEDIA_TYPE: ProblemDetails}),
    },
    description=(
        "`plans`: two or more plan ids, base first; compared at once (201). `scenarios`: two or more scenario versions, base first; "
        "a job solves each with `settings` and compares them (202, or 200 when it finished within `wait`; the job links to the comparison)."
    ),
)
def create(query: WaitQuery, body: ComparisonRequest) -> object:
    svc = service()
    if bool(body.plans) == bool(body.scenarios):
        raise ApiProblem(422, "compare either `plans` or `scenarios`, two or more of them")
    if len(body.plans or body.scenarios) < 2:
        raise ApiProblem(422, "a comparison needs two or more: the base first, then each variant")
    if body.plans:
        with svc.sessions.begin() as session:
            records = [store.plan_record(session, g.token.workspace_id, p) for p in body.plans]
            solved = [(store.scenario_of_plan(session, r), store.plan_of(r)) for r in records]
            record = ComparisonRecord(
                id=new_id("cmp"),
                workspace_id=g.token.workspace_id,
                plan_ids=body.plans,
                body=compare(solved[0], solved[1:]).model_dump(mode="json"),
            )
            session.add(record)
            session.flush()
            out = _out(record)
        return reply(out, 201, {"Location": out.links["self"]})
    within_time_limit(body.settings.time_limit, "settings.time_limit")
    within_job_budget("comparison", body.model_dump(mode="json"), "scenarios")
    with svc.sessions.begin() as session:
        pinned = []
        for ref in body.scenarios:
            stored = store.version_record(session, store.scenario_record(session, g.token.workspace_id, ref.id), ref.version)
            pinned.append({"id": ref.id, "version": stored.version})
        request = {"scenarios": pinned, "settings": body.settings.model_dump(mode="json")}
        job = store.submit(session, g.token, "comparison", request, None, svc.config.max_active_jobs)
    return queued(job.id, query.wait)


@bp.get("/<comparison_id>")
@operation(
    "get comparison",
    role="viewer",
    tag="comparisons",
    query=FormatQuery,
    replies={
        200: Reply(
            "The comparison: each plan's headline figures, and per variant what was added, dropped or moved, and why.",
            {JSON: ComparisonOut, "text/markdown": None},
        )
    },
)
def get(comparison_id: str, query: FormatQuery) -> object:
    with service().session() as session:
        record = session.get(ComparisonRecord, comparison_id)
        if record is None or record.workspace_id != g.token.workspace_id:
            raise NotFound(f"no comparison '{comparison_id}' in this workspace")
    out = _out(record)
    if query.format == "md":
        return Response(comparison_markdown(out.comparison), mimetype="text/markdown")
    return reply(out)
