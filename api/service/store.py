"""Reading and writing the service's records, always within one workspace.

A scenario version is validated by the same loader as `planner check` before it is stored, so the
database only ever holds documents that load. An overlay names its base by id (`extends: sc_...`, or
`sc_...@2` for one version); the version it was resolved against is recorded, so reloading the overlay
later gives the same scenario even after its base has new versions.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.service.db import JobRecord, PlanRecord, ScenarioRecord, ScenarioVersion, Token, new_id, now
from api.service.problems import ApiProblem
from planner.errors import Location, NotFound, Problem, ScenarioError
from planner.loader import Loaded, load
from planner.plan import Plan
from planner.scenario import Scenario
from planner.source import Document, parse_text

FORMATS = ("yaml", "json")


@dataclass(frozen=True)
class Limits:
    """What one scenario may hold: the service refuses larger ones with 413."""

    initiatives: int
    teams: int
    periods: int


def scenario_record(session: Session, workspace: str, scenario_id: str, deleted: bool = False) -> ScenarioRecord:
    """The scenario `scenario_id` of the workspace; a deleted one only with `deleted` (to reload what was stored on it)."""
    record = session.get(ScenarioRecord, scenario_id)
    if record is None or record.workspace_id != workspace or (record.deleted_at is not None and not deleted):
        raise NotFound(f"no scenario '{scenario_id}' in this workspace")
    return record


def version_record(session: Session, record: ScenarioRecord, version: int | None) -> ScenarioVersion:
    number = record.latest_version if version is None else version
    found = session.get(ScenarioVersion, (record.id, number))
    if found is None:
        raise NotFound(f"scenario '{record.id}' has no version {number} (its newest is {record.latest_version})")
    return found


def _reference(text: str) -> tuple[str, int | None]:
    scenario_id, _, version = text.strip().partition("@")
    if version and not version.isdigit():
        raise NotFound(f"'{text}': write a base as `id` or `id@version`, e.g. `{scenario_id}@2`")
    return scenario_id, int(version) if version else None


class Resolver:
    """Finds overlay bases (`sc_...[@version]`) and previous plans (`plan_...`) in the database, in one workspace.

    With `pins` (reloading a stored version), a base is found at the version it was written against even when
    it has been deleted since: versions are immutable, and what was stored on one stays readable. A new
    document cannot extend a deleted scenario.
    """

    def __init__(self, session: Session, workspace: str, pins: dict[str, int] | None = None) -> None:
        self.session, self.workspace, self.pins = session, workspace, dict(pins or {})
        self.stored = pins is not None
        self.used: dict[str, int] = {}  # scenario id -> the version each base reference was resolved to

    def __call__(self, reference: str, referrer: Document) -> tuple[str, Document]:
        if reference.startswith("plan_"):
            plan = self.session.get(PlanRecord, reference)
            if plan is None or plan.workspace_id != self.workspace:
                raise NotFound(f"no plan '{reference}' in this workspace")
            return reference, parse_text(json.dumps(plan.body, indent=1), name=reference, fmt="json")
        scenario_id, version = _reference(reference)
        record = scenario_record(self.session, self.workspace, scenario_id, deleted=self.stored and scenario_id in self.pins)
        stored = version_record(self.session, record, version or self.pins.get(scenario_id))
        self.used.setdefault(scenario_id, stored.version)
        if stored.base_id and stored.base_version:
            # A stored overlay extends the base version it was written against, whatever is newest now.
            self.pins.setdefault(stored.base_id, stored.base_version)
        name = f"{scenario_id}@{stored.version}"
        return name, parse_text(stored.text, name=name, fmt=stored.format)


# Versions are immutable (an edit is a new version; an overlay's base version is pinned when it is stored),
# so a version loads to the same scenario every time: the last few loaded are kept per process. Parsing
# dominates a read of a large plan's scenario (0.4 s of YAML for 500 initiatives, against 20 ms to draw
# its page), and a page, a download or a job reads the same version again and again.
LOADED_KEPT = 16
_loaded: OrderedDict[tuple[str, str, int], Loaded] = OrderedDict()
_loaded_lock = threading.Lock()


def load_version(session: Session, workspace: str, stored: ScenarioVersion) -> Loaded:
    """A stored version, loaded exactly as it was when it was written."""
    key = (workspace, stored.scenario_id, stored.version)
    with _loaded_lock:
        if key in _loaded:
            _loaded.move_to_end(key)
            return _loaded[key]
    pins = {stored.base_id: stored.base_version} if stored.base_id and stored.base_version else None
    document = parse_text(stored.text, name=f"{stored.scenario_id}@{stored.version}", fmt=stored.format)
    loaded = load(document, resolver=Resolver(session, workspace, pins))
    with _loaded_lock:
        _loaded[key] = loaded
        while len(_loaded) > LOADED_KEPT:
            _loaded.popitem(last=False)
    return loaded


def parse(session: Session, workspace: str, text: bytes, fmt: str | None, limits: Limits) -> tuple[Loaded, Document, Resolver]:
    """Validate a document as `planner check` does (raises ScenarioError, located), within the service's limits."""
    document = parse_text(text, name=None, fmt=fmt)
    resolver = Resolver(session, workspace)
    loaded = load(document, resolver=resolver)
    _check_limits(loaded.scenario, limits)
    return loaded, document, resolver


def _check_limits(scenario: Scenario, limits: Limits) -> None:
    for what, count, most in (
        ("initiatives", len(scenario.initiatives), limits.initiatives),
        ("teams", len(scenario.teams), limits.teams),
        ("periods", len(scenario.periods), limits.periods),
    ):
        if count > most:
            raise ApiProblem(413, f"the scenario has {count} {what}; this service takes at most {most}")


def add_version(
    session: Session,
    token: Token,
    text: bytes,
    fmt: str,
    limits: Limits,
    record: ScenarioRecord | None = None,
) -> tuple[ScenarioRecord, ScenarioVersion]:
    """Store a new scenario (`record` None) or a new version of one, after validating it."""
    loaded, document, resolver = parse(session, token.workspace_id, text, fmt, limits)
    base_id = base_version = None
    if "extends" in document.data:
        base_id, _ = _reference(document.data["extends"])
        base_version = resolver.used.get(base_id)
        if record is not None and base_id == record.id:
            raise ScenarioError([Problem(message="an overlay cannot extend its own scenario", location=document.source.locate(("extends",)))])
    if record is None:
        record = ScenarioRecord(id=new_id("sc"), workspace_id=token.workspace_id, name=loaded.scenario.name, latest_version=1)
        session.add(record)
        number = 1
    else:
        number = record.latest_version + 1
        record.latest_version, record.name, record.updated_at = number, loaded.scenario.name, now()
    scenario = loaded.scenario
    stored = ScenarioVersion(
        scenario_id=record.id,
        version=number,
        text=text.decode("utf-8-sig"),
        format=fmt,
        base_id=base_id,
        base_version=base_version,
        initiatives=len(scenario.initiatives),
        teams=len(scenario.teams),
        periods=len(scenario.periods),
        created_by=token.id,
    )
    session.add(stored)
    session.flush()
    return record, stored


def page(session: Session, selected: Select[Any], order: tuple[Any, ...], limit: int, offset: int) -> tuple[int, list[Any]]:
    """How many rows `selected` matches in all, and the rows of one page in `order`."""
    total = session.scalar(select(func.count()).select_from(selected.subquery())) or 0
    return total, list(session.scalars(selected.order_by(*order).limit(limit).offset(offset)).all())


def list_scenarios(session: Session, workspace: str, name: str | None, limit: int, offset: int) -> tuple[int, list[ScenarioRecord]]:
    query = select(ScenarioRecord).where(ScenarioRecord.workspace_id == workspace, ScenarioRecord.deleted_at.is_(None))
    if name:
        query = query.where(func.lower(ScenarioRecord.name).contains(name.lower(), autoescape=True))
    return page(session, query, (ScenarioRecord.created_at, ScenarioRecord.id), limit, offset)


def plan_record(session: Session, workspace: str, plan_id: str) -> PlanRecord:
    record = session.get(PlanRecord, plan_id)
    if record is None or record.workspace_id != workspace:
        raise NotFound(f"no plan '{plan_id}' in this workspace")
    return record


def job_record(session: Session, workspace: str, job_id: str) -> JobRecord:
    record = session.get(JobRecord, job_id)
    if record is None or record.workspace_id != workspace:
        raise NotFound(f"no job '{job_id}' in this workspace")
    return record


def plan_of(record: PlanRecord) -> Plan:
    return Plan.model_validate(record.body)


def scenario_of_plan(session: Session, record: PlanRecord) -> Scenario:
    """The scenario version a plan was made from (also when its scenario has since been deleted)."""
    stored = session.get(ScenarioVersion, (record.scenario_id, record.scenario_version))
    if stored is None:  # pragma: no cover - versions are never removed
        raise NotFound(f"plan '{record.id}' names a scenario version that does not exist")
    return load_version(session, record.workspace_id, stored).scenario


def active_jobs(session: Session, owner: str) -> int:
    return session.scalar(select(func.count()).where(JobRecord.owner == owner, JobRecord.status.in_(("queued", "running")))) or 0


def submit(session: Session, token: Token, kind: str, request: dict[str, Any], scenario: tuple[str, int] | None, most: int) -> JobRecord:
    """Queue a job for the runner, or refuse with 429 when the token already has `most` jobs queued or running."""
    active = active_jobs(session, token.id)
    if active >= most:
        raise ApiProblem(429, f"the token '{token.name}' has {active} jobs queued or running; the limit is {most}", headers={"Retry-After": "5"})
    job = JobRecord(
        id=new_id("job"),
        workspace_id=token.workspace_id,
        kind=kind,
        status="queued",
        owner=token.id,
        request=request,
        scenario_id=scenario[0] if scenario else None,
        scenario_version=scenario[1] if scenario else None,
        progress={"stage": "queued", "elapsed": 0},
    )
    session.add(job)
    session.flush()
    return job


def locate(problem: str, path: str) -> Problem:
    return Problem(message=problem, location=Location(file="<body>", path=path))
