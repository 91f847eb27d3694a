"""What the blueprints share: records as response bodies with their links, pages, starting a job and waiting on it."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from flask import g
from sqlalchemy import select

from api.service import store, work
from api.service.context import service
from api.service.db import JobRecord, PlanRecord, ScenarioRecord, ScenarioVersion, TaskRecord
from api.service.jobs import TERMINAL
from api.service.openapi import JSON, Reply, reply
from api.service.problems import MEDIA_TYPE, ApiProblem, ProblemDetails
from api.service.schemas import JobOut, PageQuery, PlanSummary, Progress, ScenarioOut, ScenarioVersionOut, TaskOut
from planner.errors import did_you_mean
from planner.scenario import Scenario

# `?wait=` looks at the job again after 10 ms, then less and less often, to at most every 0.2 s: a quick
# job is answered within a few milliseconds of finishing, a long one costs five reads a second.
WAIT_POLL_FIRST, WAIT_POLL_MOST = 0.01, 0.2

TOO_MANY = Reply("The token has as many jobs queued or running as it may.", {MEDIA_TYPE: ProblemDetails}, ("Retry-After",))
JOB_REPLIES = {  # what every operation that starts a job answers
    200: Reply("The job finished within `wait`.", {JSON: JobOut}),
    202: Reply("The job is queued or running: poll its URL.", {JSON: JobOut}, ("Location",)),
    429: TOO_MANY,
}


def scenario_out(record: ScenarioRecord) -> ScenarioOut:
    path = f"/scenarios/{record.id}"
    return ScenarioOut(
        id=record.id,
        name=record.name,
        latest_version=record.latest_version,
        created_at=record.created_at,
        updated_at=record.updated_at,
        links={"self": path, "versions": f"{path}/versions", "solves": f"{path}/solves", "plans": f"/plans?scenario={record.id}"},
    )


def version_out(stored: ScenarioVersion) -> ScenarioVersionOut:
    return ScenarioVersionOut(
        version=stored.version,
        created_at=stored.created_at,
        created_by=stored.created_by,
        extends=f"{stored.base_id}@{stored.base_version}" if stored.base_id else None,
        initiatives=stored.initiatives,
        teams=stored.teams,
        periods=stored.periods,
    )


def job_out(job: JobRecord) -> JobOut:
    links = {"self": f"/jobs/{job.id}"}
    if job.status not in TERMINAL:
        links["cancel"] = f"/jobs/{job.id}/cancel"
    if job.plan_id:
        links["plan"] = f"/plans/{job.plan_id}"
    if job.scenario_id:
        links["scenario"] = f"/scenarios/{job.scenario_id}"
    if job.result and job.result.get("comparison_id"):
        links["comparison"] = f"/comparisons/{job.result['comparison_id']}"
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        scenario_id=job.scenario_id,
        scenario_version=job.scenario_version,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        progress=Progress.model_validate(_live_progress(job) or job.progress) if job.progress else None,
        error=job.error,
        plan_id=job.plan_id,
        result=job.result,
        attempts=job.attempts,
        workers=job.workers or [],
        tasks=_tasks(job),
        request=job.request,
        links=links,
    )


def _tasks(job: JobRecord) -> list[TaskOut]:
    if job.runner != "tasks":
        return []  # the embedded runner runs a job whole
    with service().session() as session:
        rows = session.scalars(select(TaskRecord).where(TaskRecord.job_id == job.id).order_by(TaskRecord.index)).all()
    return [
        TaskOut(
            index=t.index,
            label=t.label,
            status=t.status,
            attempts=t.attempts,
            workers=t.workers or [],
            error=t.error,
            started_at=t.started_at,
            finished_at=t.finished_at,
        )
        for t in rows
    ]


def _live_progress(job: JobRecord) -> dict[str, Any] | None:
    """A running job's progress as its worker last reported it through the queue (Redis), when the service
    runs jobs on a queue; the database's copy otherwise (the embedded runner writes it there)."""
    return service().runner.progress(job.id) if job.status == "running" else None


def plan_summary(record: PlanRecord) -> PlanSummary:
    return PlanSummary(
        id=record.id,
        scenario_id=record.scenario_id,
        scenario_version=record.scenario_version,
        status=record.status,
        objective=record.objective,
        backend=record.backend,
        created_at=record.created_at,
        links={"self": f"/plans/{record.id}"},
    )


def link_page(total: int, query: PageQuery, path: str, **filters: Any) -> dict[str, Any]:
    following = query.offset + query.limit
    parameters = {k: v for k, v in filters.items() if v is not None}
    next_url = f"{path}?{urlencode({**parameters, 'limit': query.limit, 'offset': following})}" if following < total else None
    return {"total": total, "limit": query.limit, "offset": query.offset, "next": next_url}


def job_reply(job_id: str, wait: float, *, pending: int = 202) -> object:
    """The job once it finished or `wait` seconds passed: 200 when finished; else `pending` (202 with the URL to poll).

    A held answer takes a request thread for its wait: when `max_waiting` answers are held in this process
    already, this one is given at once, as with `wait=0`, so that long polls cannot take every thread."""
    waiting = service().waiting
    if wait > 0 and waiting.acquire(blocking=False):
        try:
            return _job_reply(job_id, wait, pending)
        finally:
            waiting.release()
    return _job_reply(job_id, 0, pending)


def _job_reply(job_id: str, wait: float, pending: int) -> object:
    deadline, pause = time.monotonic() + wait, WAIT_POLL_FIRST
    while True:
        with service().session() as session:
            job = store.job_record(session, g.token.workspace_id, job_id)
        if job.status in TERMINAL:
            return reply(job_out(job), 200)
        if time.monotonic() >= deadline:
            return reply(job_out(job), pending, {"Location": f"/jobs/{job.id}"} if pending == 202 else None)
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 1.5, WAIT_POLL_MOST)


def queued(job_id: str, wait: float) -> object:
    """Hand a job just queued (and committed) to the runner, and answer with it."""
    service().runner.submit(job_id)
    return job_reply(job_id, wait)


def within_time_limit(seconds: float, path: str) -> None:
    """A job's time limit at most the service's ceiling (422 at `path` otherwise)."""
    ceiling = service().config.max_time_limit
    if seconds > ceiling:
        raise ApiProblem(
            422, f"time_limit {seconds:g} s is above this service's ceiling of {ceiling:g} s", errors=[store.locate(f"at most {ceiling:g} seconds", path)]
        )


def within_job_budget(kind: str, request: dict[str, Any], path: str, plan_time_limit: float | None = None) -> None:
    """A job's solver time in all (`work.solver_time`, as the runner's deadline counts it) at most the service's
    `max_job_seconds` (422 at `path` otherwise): one request cannot hold a solver process for hours."""
    budget = service().config.max_job_seconds
    seconds, how = work.solver_time(kind, request, plan_time_limit)
    if seconds > budget:
        message = f"this {kind} may take up to {seconds:,.0f} s of solver time ({how}); this service runs a job for at most {budget:,.0f} s"
        raise ApiProblem(422, message, errors=[store.locate(f"{message}: ask for less", path)])


def known_initiatives(scenario: Scenario, lists: dict[str, list[str]]) -> None:
    """Every id in the request's lists of initiatives names one of the scenario's (422 at each unknown one otherwise)."""
    known = {i.id for i in scenario.initiatives}
    errors = [
        store.locate(f"no initiative '{i}'" + did_you_mean(i, known), f"{field}[{n}]")
        for field, ids in lists.items()
        for n, i in enumerate(ids)
        if i not in known
    ]
    if errors:
        raise ApiProblem(422, f"{len(errors)} initiative id(s) are not in the scenario", errors=errors)
