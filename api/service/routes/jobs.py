"""Jobs: status with progress (incumbent, bound, elapsed), listing, cancelling."""

from __future__ import annotations

from flask import Blueprint, g
from sqlalchemy import select

from api.service import store
from api.service.context import service
from api.service.db import JobRecord, now
from api.service.jobs import TERMINAL
from api.service.openapi import JSON, Reply, operation, reply
from api.service.problems import MEDIA_TYPE, ApiProblem, ProblemDetails
from api.service.routes.common import job_out, job_reply, link_page
from api.service.schemas import JobOut, JobPage, JobQuery, WaitQuery

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


@bp.get("")
@operation("list jobs", role="viewer", tag="jobs", query=JobQuery, replies={200: Reply("A page of jobs, newest first.", {JSON: JobPage})})
def list_(query: JobQuery) -> object:
    with service().session() as session:
        selected = select(JobRecord).where(JobRecord.workspace_id == g.token.workspace_id)
        if query.status:
            selected = selected.where(JobRecord.status == query.status)
        if query.scenario:
            selected = selected.where(JobRecord.scenario_id == query.scenario)
        total, jobs = store.page(session, selected, (JobRecord.created_at.desc(), JobRecord.id), query.limit, query.offset)
    return reply(JobPage(items=[job_out(j) for j in jobs], **link_page(total, query, "/jobs", status=query.status, scenario=query.scenario)))


@bp.get("/<job_id>")
@operation(
    "get job",
    role="viewer",
    tag="jobs",
    query=WaitQuery,
    replies={200: Reply("The job: status, progress, and when finished, its plan or result.", {JSON: JobOut})},
    description="`?wait=S` holds the answer up to S seconds while the job is queued or running.",
)
def get(job_id: str, query: WaitQuery) -> object:
    return job_reply(job_id, query.wait, pending=200)


@bp.post("/<job_id>/cancel")
@operation(
    "cancel job",
    role="planner",
    tag="jobs",
    replies={
        200: Reply("Cancelled (it was queued), or cancelling (it is running: its solver process is stopped within a second).", {JSON: JobOut}),
        409: Reply("The job has already finished.", {MEDIA_TYPE: ProblemDetails}),
    },
)
def cancel(job_id: str) -> object:
    svc = service()
    with svc.sessions.begin() as session:
        job = store.job_record(session, g.token.workspace_id, job_id)
        if job.status in TERMINAL:
            raise ApiProblem(409, f"job '{job_id}' has already {'finished' if job.status == 'succeeded' else job.status}")
        if job.status == "queued":
            job.status, job.error, job.finished_at = "cancelled", "cancelled on request", now()
            job.progress = {**(job.progress or {}), "stage": "cancelled"}
        else:
            job.cancel_requested = True
        body = job_out(job)
    svc.runner.cancel(job_id)
    return reply(body)
