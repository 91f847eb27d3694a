"""Scenarios: versioned and immutable (an edit is a new version), soft-deleted, validated as `planner check` does;
and the jobs started on one: solves and sweeps."""

from __future__ import annotations

from flask import Blueprint, g, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from api.service import auth, store
from api.service.context import service
from api.service.db import ScenarioRecord, ScenarioVersion, now
from api.service.openapi import JSON, Reply, operation, readable_text, reply
from api.service.problems import MEDIA_TYPE, ApiProblem, ProblemDetails
from api.service.routes.common import JOB_REPLIES, known_initiatives, link_page, queued, scenario_out, version_out, within_job_budget, within_time_limit
from api.service.schemas import (
    ScenarioDetail,
    ScenarioPage,
    ScenarioQuery,
    SimulationRequest,
    SolveRequest,
    SweepRequest,
    Validation,
    VersionList,
    VersionQuery,
    WaitQuery,
)
from planner.errors import ScenarioError, did_you_mean
from planner.scenario import Scenario
from planner.settings import split_time

bp = Blueprint("scenarios", __name__, url_prefix="/scenarios")

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
DOCUMENT = {
    "application/yaml": {"type": "string", "description": "The scenario file's text (the format of docs/scenario-format.md)."},
    JSON: {
        "anyOf": [
            {"$ref": "#/components/schemas/Scenario"},
            {"type": "object", "required": ["extends"], "description": "An overlay: `extends: <scenario id>[@version]` and the changes."},
        ],
    },
}
INVALID = Reply("The scenario is not valid: every problem, located by line, column and field path.", {MEDIA_TYPE: ProblemDetails})
TOO_LARGE = Reply("The body or the scenario is larger than this service takes.", {MEDIA_TYPE: ProblemDetails})
UNSUPPORTED = Reply("The body is neither YAML nor JSON.", {MEDIA_TYPE: ProblemDetails})
CONFLICT = Reply(
    "`If-Match` names a version that is no longer the newest, or another edit of the scenario was stored at the same time; nothing was stored.",
    {MEDIA_TYPE: ProblemDetails},
)


def _document() -> tuple[bytes, str]:
    """The request body as a scenario document and its format (YAML unless the content type says JSON)."""
    text = readable_text(request.get_data(cache=True))
    if not text.strip():
        raise ApiProblem(400, "send the scenario document (YAML or JSON) as the request body")
    mimetype = request.mimetype
    if mimetype == JSON:
        return text, "json"
    if mimetype in YAML_TYPES or not mimetype:
        return text, "yaml"
    raise ApiProblem(415, f"send the scenario as application/yaml or {JSON}, not {mimetype}")


@bp.post("")
@operation(
    "create scenario",
    role="planner",
    tag="scenarios",
    raw_body=DOCUMENT,
    replies={201: Reply("Stored as version 1.", {JSON: ScenarioDetail}, ("Location",)), 413: TOO_LARGE, 415: UNSUPPORTED, 422: INVALID},
    description="The body is a scenario file, YAML or JSON. An overlay names its base by id: `extends: sc_...` (or `sc_...@2`).",
)
def create() -> object:
    body = stored_scenario(*_document())
    return reply(body, 201, {"Location": body.links["self"]})


def stored_scenario(text: bytes, fmt: str) -> ScenarioDetail:
    """A new scenario (version 1) in the token's workspace: the API's upload and the web page's."""
    auth.require("planner")
    svc = service()
    with svc.sessions.begin() as session:
        record, stored = store.add_version(session, g.token, text, fmt, svc.config.limits)
        return _detail(session, record, stored)


@bp.get("")
@operation(
    "list scenarios", role="viewer", tag="scenarios", query=ScenarioQuery, replies={200: Reply("A page of scenarios, oldest first.", {JSON: ScenarioPage})}
)
def list_(query: ScenarioQuery) -> object:
    with service().session() as session:
        total, records = store.list_scenarios(session, g.token.workspace_id, query.name, query.limit, query.offset)
    return reply(ScenarioPage(items=[scenario_out(r) for r in records], **link_page(total, query, "/scenarios", name=query.name)))


@bp.post("/validate")
@operation(
    "validate scenario",
    role="viewer",
    tag="scenarios",
    raw_body=DOCUMENT,
    replies={
        200: Reply("Whether the document is valid: the same located errors and warnings as `planner check`.", {JSON: Validation}),
        413: TOO_LARGE,
        415: UNSUPPORTED,
    },
    description="Checks a document without storing it.",
)
def validate() -> object:
    svc = service()
    text, fmt = _document()
    with svc.session() as session:
        try:
            loaded, _, _ = store.parse(session, g.token.workspace_id, text, fmt, svc.config.limits)
        except ScenarioError as exc:
            return reply(Validation(valid=False, errors=[p for p in exc.problems]))
    return reply(Validation(valid=True, warnings=loaded.warnings, scenario=loaded.scenario))


@bp.get("/<scenario_id>")
@operation(
    "get scenario",
    role="viewer",
    tag="scenarios",
    query=VersionQuery,
    replies={200: Reply("The scenario: its newest version (or `?version=`), as sent and as validated.", {JSON: ScenarioDetail}, ("ETag",))},
)
def get(scenario_id: str, query: VersionQuery) -> object:
    with service().session() as session:
        record = store.scenario_record(session, g.token.workspace_id, scenario_id)
        body = _detail(session, record, store.version_record(session, record, query.version))
    return reply(body, headers={"ETag": f'"{record.latest_version}"'})


@bp.get("/<scenario_id>/versions")
@operation("list versions", role="viewer", tag="scenarios", replies={200: Reply("Every version, oldest first.", {JSON: VersionList})})
def versions(scenario_id: str) -> object:
    with service().session() as session:
        record = store.scenario_record(session, g.token.workspace_id, scenario_id)
        rows = session.scalars(select(ScenarioVersion).where(ScenarioVersion.scenario_id == record.id).order_by(ScenarioVersion.version)).all()
    return reply(VersionList(items=[version_out(v) for v in rows]))


@bp.post("/<scenario_id>/versions")
@operation(
    "new version",
    role="planner",
    tag="scenarios",
    raw_body=DOCUMENT,
    replies={
        201: Reply("Stored as the next version.", {JSON: ScenarioDetail}, ("Location", "ETag")),
        409: CONFLICT,
        413: TOO_LARGE,
        415: UNSUPPORTED,
        422: INVALID,
    },
    description='Send `If-Match: "N"` with the version the edit started from: if another edit came first, the answer is 409 and nothing is stored.',
)
def new_version(scenario_id: str) -> object:
    text, fmt = _document()
    body = stored_version(scenario_id, text, fmt, request.headers.get("If-Match"))
    version = body.version.version
    return reply(body, 201, {"Location": f"{body.links['self']}?version={version}", "ETag": f'"{version}"'})


def stored_version(scenario_id: str, text: bytes, fmt: str, expected: str | None) -> ScenarioDetail:
    """The next version of a scenario, when `expected` (an `If-Match` value) is still the newest: the API's edit and the web page's."""
    auth.require("planner")
    svc = service()
    try:
        with svc.sessions.begin() as session:
            record = store.scenario_record(session, g.token.workspace_id, scenario_id)
            if expected is not None and expected.strip().strip('"').removeprefix("W/").strip('"') != str(record.latest_version):
                raise ApiProblem(
                    409,
                    f"the edit started from version {expected.strip()}, but version {record.latest_version} is the newest now; reload and edit that",
                    latest_version=record.latest_version,
                )
            record, stored = store.add_version(session, g.token, text, fmt, svc.config.limits, record)
            return _detail(session, record, stored)
    except (IntegrityError, OperationalError) as exc:
        # Two edits of one scenario at once: both read version N and both write N + 1. The database lets one
        # through; the other breaks the unique version number (or, in SQLite, finds its snapshot stale).
        if isinstance(exc, OperationalError) and "locked" not in str(exc.orig):
            raise
        raise ApiProblem(
            409, "another edit of this scenario was stored at the same time; nothing of this one was stored: reload and edit the newest version"
        ) from None


@bp.delete("/<scenario_id>")
@operation(
    "delete scenario",
    role="planner",
    tag="scenarios",
    replies={204: Reply("Deleted: hidden from lists and reads; its plans, and overlays written on it, stay readable.")},
)
def delete(scenario_id: str) -> object:
    with service().sessions.begin() as session:
        record = store.scenario_record(session, g.token.workspace_id, scenario_id)
        record.deleted_at = now()
    return "", 204


@bp.post("/<scenario_id>/solves")
@operation(
    "solve scenario",
    role="planner",
    tag="jobs",
    query=WaitQuery,
    body=SolveRequest,
    replies=JOB_REPLIES,
    description="Starts a solve job with the settings `planner solve` takes. `?wait=S` waits up to S seconds for it to finish.",
)
def solve(scenario_id: str, query: WaitQuery, body: SolveRequest) -> object:
    svc = service()
    within_time_limit(body.time_limit, "time_limit")
    within_job_budget("solve", body.model_dump(mode="json"), "time_limit")
    if body.reasons_time is not None:
        try:
            split_time(body.time_limit, reasons=body.reasons or body.policy_costs, reasons_time=body.reasons_time)
        except ValueError as exc:
            raise ApiProblem(422, f"reasons_time {body.reasons_time:g} s {exc}", errors=[store.locate(str(exc), "reasons_time")]) from None
        if not (body.reasons or body.policy_costs):
            message = "there are no reasons to time: reasons is false"
            raise ApiProblem(422, f"reasons_time: {message}", errors=[store.locate(message, "reasons_time")])
    with svc.sessions.begin() as session:
        source, scenario = _version(session, scenario_id, body.version)
        known_initiatives(scenario, {"force_in": body.force_in, "force_out": body.force_out})
        job = store.submit(session, g.token, "solve", {**body.model_dump(mode="json"), "version": source[1]}, source, svc.config.max_active_jobs)
    return queued(job.id, query.wait)


@bp.post("/<scenario_id>/sweeps")
@operation(
    "sweep scenario",
    role="planner",
    tag="jobs",
    query=WaitQuery,
    body=SweepRequest,
    replies=JOB_REPLIES,
    description="Starts a sweep job, as `planner sweep` draws: the scenario solved at `steps` settings of one knob. The finished job's `result.curve` is the curve.",
)
def sweep(scenario_id: str, query: WaitQuery, body: SweepRequest) -> object:
    svc = service()
    within_time_limit(body.settings.time_limit, "settings.time_limit")
    within_job_budget("sweep", body.model_dump(mode="json"), "steps")
    if body.low >= body.high:
        raise ApiProblem(422, "`low` must be below `high`", errors=[store.locate(f"low ({body.low}) must be below high ({body.high})", "low")])
    with svc.sessions.begin() as session:
        source, scenario = _version(session, scenario_id, body.version)
        if body.team is not None and body.team not in scenario.team_by_id:
            raise ApiProblem(
                422,
                f"no team '{body.team}' in the scenario",
                errors=[store.locate(f"no team '{body.team}'" + did_you_mean(body.team, scenario.team_by_id), "team")],
            )
        if body.knob == "invisible_floor" and (body.team is not None or body.low < 0 or body.high > 1):
            raise ApiProblem(422, "an invisible-work floor is a share between 0 and 1 of the whole organisation's capacity (no `team`)")
        if body.knob == "confidence" and (body.team is not None or body.low < 0.5 or body.high > 0.99 or body.settings.confidence is not None):
            raise ApiProblem(422, "a confidence sweep asks for 0.5 to 0.99 of the whole plan (no `team`, and no `settings.confidence`)")
        job = store.submit(session, g.token, "sweep", {**body.model_dump(mode="json"), "version": source[1]}, source, svc.config.max_active_jobs)
    return queued(job.id, query.wait)


@bp.post("/<scenario_id>/simulations")
@operation(
    "simulate scenario",
    role="planner",
    tag="jobs",
    query=WaitQuery,
    body=SimulationRequest,
    replies=JOB_REPLIES,
    description="Starts a simulation job, as `planner simulate` runs: a plan of the scenario (`plan`, or the one a solve with `settings` "
    "returns) played forward over `samples` draws of its three-point estimates. The finished job's `result.simulation` is the outlook "
    "(per initiative the chance of finishing by its deadline and by its planned finish, the value's P10, P50 and P90, overload per team "
    "and period, the estimates that drive the risk); a solved plan is the job's `plan`.",
)
def simulation(scenario_id: str, query: WaitQuery, body: SimulationRequest) -> object:
    svc = service()
    if body.plan is None:
        within_time_limit(body.settings.time_limit, "settings.time_limit")
    within_job_budget("simulation", body.model_dump(mode="json"), "settings.time_limit")
    with svc.sessions.begin() as session:
        if body.plan is not None:
            record = store.plan_record(session, g.token.workspace_id, body.plan)
            if record.scenario_id != scenario_id:
                message = f"plan '{body.plan}' is a plan of scenario '{record.scenario_id}', not of '{scenario_id}'"
                raise ApiProblem(422, message, errors=[store.locate(message, "plan")])
            if body.version is not None and body.version != record.scenario_version:
                message = f"plan '{body.plan}' was made for version {record.scenario_version}, not {body.version}"
                raise ApiProblem(422, message, errors=[store.locate(message, "version")])
            source = (record.scenario_id, record.scenario_version)
        else:
            source, scenario = _version(session, scenario_id, body.version)
            known_initiatives(scenario, {"settings.force_in": body.settings.force_in, "settings.force_out": body.settings.force_out})
        request = {**body.model_dump(mode="json"), "version": source[1]}
        job = store.submit(session, g.token, "simulation", request, source, svc.config.max_active_jobs)
    return queued(job.id, query.wait)


def _version(session: Session, scenario_id: str, version: int | None) -> tuple[tuple[str, int], Scenario]:
    """(scenario id, version number) of the version a job is asked for, and that version's scenario."""
    record = store.scenario_record(session, g.token.workspace_id, scenario_id)
    stored = store.version_record(session, record, version)
    return (record.id, stored.version), store.load_version(session, g.token.workspace_id, stored).scenario


def _detail(session: Session, record: ScenarioRecord, stored: ScenarioVersion) -> ScenarioDetail:
    loaded = store.load_version(session, record.workspace_id, stored)
    return ScenarioDetail(
        **scenario_out(record).model_dump(),
        version=version_out(stored),
        source=stored.text,
        format=stored.format,
        scenario=loaded.scenario,
        warnings=loaded.warnings,
    )
