"""`/healthz`: the process answers. `/readyz`: the database answers, its file is whole (SQLite, checked every
minute), and the job runner has solver processes alive."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import text

from api.service.context import service
from api.service.openapi import JSON, Reply, operation, reply
from api.service.problems import MEDIA_TYPE, ApiProblem, ProblemDetails
from api.service.schemas import Health, Readiness
from planner import __version__

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@operation("health", role=None, tag="health", replies={200: Reply("The process is up.", {JSON: Health})})
def healthz() -> object:
    return reply(Health(status="ok", version=__version__))


@bp.get("/readyz")
@operation(
    "readiness",
    role=None,
    tag="health",
    replies={
        200: Reply("Ready for requests and jobs.", {JSON: Readiness}),
        503: Reply("Not ready: the database or the job runner is not.", {MEDIA_TYPE: ProblemDetails}),
    },
)
def readyz() -> object:
    svc = service()
    try:
        with svc.session() as session:
            session.execute(text("SELECT 1"))
            workers = svc.runner.ready(session)
    except Exception as exc:
        raise ApiProblem(503, f"the database does not answer: {type(exc).__name__}") from None
    problem = svc.damage()
    if problem is not None:
        raise ApiProblem(503, f"the database is damaged: {problem}")
    if workers < 1:
        raise ApiProblem(503, "no job runner has reported solver processes alive in the last 10 s", headers={"Retry-After": "2"})
    return reply(Readiness(status="ready", database="ok", workers=workers))
