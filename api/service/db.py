"""What the service keeps: workspaces, tokens, versioned scenarios, jobs, plans and comparisons (SQLAlchemy 2).

SQLite in the instance folder is the embedded default, in WAL mode so that readers never wait for the
job runner's writes; `DATABASE_URL` points the service at PostgreSQL instead. The schema is owned by
Alembic (`api/service/migrations`); `upgrade` brings any database to the current revision.
"""

from __future__ import annotations

import errno
import secrets
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from planner.errors import PlannerError

MIGRATIONS = Path(__file__).parent / "migrations"


def now() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A short random id naming its kind (`sc_`, `job_`, `plan_` ...): unguessable, so ids leak nothing across workspaces."""
    return f"{prefix}_{secrets.token_hex(8)}"


class UtcDateTime(TypeDecorator):
    """Timestamps stored and read back in UTC, also on SQLite (which keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012 (SQLAlchemy reads it; nothing mutates it)


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=now)


class Token(Base):
    """A bearer token: the secret is shown once and stored only as its SHA-256."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=now)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class ScenarioRecord(Base):
    """A scenario: its name and versions. Versions never change; deleting only hides the scenario."""

    __tablename__ = "scenarios"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class ScenarioVersion(Base):
    """One immutable version: the text as the user sent it, and the base it was resolved against (overlays)."""

    __tablename__ = "scenario_versions"

    scenario_id: Mapped[str] = mapped_column(ForeignKey("scenarios.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(8))
    base_id: Mapped[str | None] = mapped_column(String(32), default=None)
    base_version: Mapped[int | None] = mapped_column(Integer, default=None)
    initiatives: Mapped[int] = mapped_column(Integer)
    teams: Mapped[int] = mapped_column(Integer)
    periods: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=now)
    created_by: Mapped[str] = mapped_column(String(32))


class JobRecord(Base):
    """Work run outside the request: a solve, a counterfactual, a comparison of versions or a sweep."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status", "status"), Index("ix_jobs_owner_status", "owner", "status"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(32))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    scenario_id: Mapped[str | None] = mapped_column(String(32), default=None)
    scenario_version: Mapped[int | None] = mapped_column(Integer, default=None)
    plan_id: Mapped[str | None] = mapped_column(String(32), default=None)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    runner: Mapped[str | None] = mapped_column(String(200), default=None)
    workers: Mapped[list[Any] | None] = mapped_column(JSON, default=None)  # who ran each attempt, in order
    worker_pid: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=now)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)


class TaskRecord(Base):
    """One independent part of a job on the queue: a sweep's point, a comparison's scenario, or the whole job.
    Workers take tasks, not jobs; the job ends when its last task does (`api.service.worker`)."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_job", "job_id"), Index("ix_tasks_status", "status"))

    id: Mapped[str] = mapped_column(String(48), primary_key=True)  # <job id>.<index>
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"))
    index: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(200))  # what it is, for a person: "point +10%", "scenario acme-2027"
    status: Mapped[str] = mapped_column(String(16))  # queued | running | succeeded | failed | cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    workers: Mapped[list[Any] | None] = mapped_column(JSON, default=None)  # who ran each attempt, in order
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=now)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)


class PlanRecord(Base):
    """A plan, with what reproduces it: the scenario version, the settings, the planner version and the backend."""

    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    scenario_id: Mapped[str] = mapped_column(ForeignKey("scenarios.id"), index=True)
    scenario_version: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[str | None] = mapped_column(String(32), default=None)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    planner_version: Mapped[str] = mapped_column(String(32))
    backend: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    objective: Mapped[float | None] = mapped_column(default=None)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=now)


class ComparisonRecord(Base):
    __tablename__ = "comparisons"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    plan_ids: Mapped[list[Any]] = mapped_column(JSON)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=now)


class RunnerRecord(Base):
    """A job runner's heartbeat: `/readyz` on any process of the service reads whether one is alive."""

    __tablename__ = "runners"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    workers_alive: Mapped[int] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime] = mapped_column(default=now)


class DamagedDatabase(PlannerError):
    """The database's file is not a database, or has pages that do not read: nothing should be served from it."""


def damage(engine: Engine) -> str | None:
    """What is wrong with an SQLite database's file (its `quick_check`, which reads every page), or None.
    Read through a connection of its own, not the pool's, whose page caches may hold what the disk lost.
    PostgreSQL checks its own pages as it reads them."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or not Path(path).is_file():
        return None  # PostgreSQL, an in-memory database, or one not made yet
    try:
        connection = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=30)  # `#` or `?` in a folder name
        try:
            found = [str(row[0]) for row in connection.execute("PRAGMA quick_check(3)")]
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:  # not a database at all, or a page its header cannot be read from
        return str(exc)
    return None if found == ["ok"] else "; ".join(found)


def refuse_damaged(engine: Engine) -> None:
    """Raise DamagedDatabase, saying what to do, if the database's file is damaged."""
    problem = damage(engine)
    if problem is not None:
        raise DamagedDatabase(
            f"the database {engine.url.database} is damaged ({problem}): restore it from a backup, or move it aside to start with an empty one"
        )


def storage_trouble(exc: BaseException) -> bool:
    """The database cannot store anything just now (its disk is full, it is unreachable or locked), as
    opposed to a request or a result it refuses: what failed may succeed later, unchanged."""
    return isinstance(exc, (OperationalError, OSError))


def storage_full(exc: BaseException) -> bool:
    """The database's disk (or quota) is full: SQLite's SQLITE_FULL, PostgreSQL's class 53 (insufficient resources)."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    original = getattr(exc, "orig", None)
    if getattr(original, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return True
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return isinstance(state, str) and state.startswith("53")


def database_url(instance: Path, url: str | None) -> str:
    return url or f"sqlite:///{instance / 'planner.db'}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            # WAL: readers never block the writer; the busy timeout covers two writers meeting.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema revision (a new database gets every table)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def sessions(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
