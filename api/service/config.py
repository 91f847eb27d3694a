"""How the service runs (`ServiceConfig`): read from the environment, with the limits it puts on requests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.service.store import Limits
from planner.source import MAX_BYTES


class ServiceConfig(BaseModel):
    """How the service runs. `from_env` reads each field from `PLANNER_<FIELD>` (and `DATABASE_URL`, `REDIS_URL`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instance: Path = Field(default=Path("instance"), description="Folder for the SQLite database and the runner's lock.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL (postgresql+psycopg://...); SQLite in `instance` when unset.")
    redis_url: str | None = Field(
        default=None,
        description="Redis URL (redis://host:6379/0): jobs go on the distributed queue, run by `planner worker` processes; needs "
        "`database_url` on PostgreSQL. Unset: the embedded runner, in the service's own processes.",
    )
    stale_seconds: float = Field(
        default=30, gt=0, le=3600, description="Queue: a running job whose worker has not beaten for this long is queued again (its worker is gone)."
    )
    job_workers: int = Field(default=2, ge=1, le=64, description="Solver processes in the job runner.")
    start_runner: bool = Field(default=True, description="Run jobs in this process's pool (when it holds the instance's runner lock).")
    migrate: bool = Field(default=True, description="Bring the database to the newest schema on start.")
    max_body_bytes: int = Field(default=MAX_BYTES, ge=1024, description="Largest request body; larger ones get 413.")
    max_initiatives: int = Field(default=5000, ge=1)
    max_teams: int = Field(default=200, ge=1)
    max_periods: int = Field(default=104, ge=1)
    max_time_limit: float = Field(default=600, gt=0, description="Ceiling on a job's `time_limit`, in seconds.")
    max_job_seconds: float = Field(
        default=1800,
        gt=0,
        description="Ceiling on the solver time one job may take in all, in seconds: a sweep's steps, a comparison's scenarios "
        "and an explanation's re-solves each take up to `time_limit`.",
    )
    max_active_jobs: int = Field(default=4, ge=1, description="Jobs one token may have queued or running at once; more get 429.")
    integrity_seconds: float = Field(
        default=60, ge=0, description="How often `/readyz` reads every page of an SQLite database to find a damaged file (per process)."
    )
    max_waiting: int = Field(
        default=2,
        ge=0,
        description="Requests per server process that may hold their answer for `?wait=` at once (a process has 4 "
        "threads); more answer at once, as with `wait=0`, so that long polls never take every thread.",
    )

    @classmethod
    def from_env(cls, **overrides: Any) -> ServiceConfig:
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            key = {"database_url": "DATABASE_URL", "redis_url": "REDIS_URL"}.get(name, f"PLANNER_{name.upper()}")
            if key in os.environ:
                values[name] = os.environ[key]
        return cls.model_validate({**values, **overrides})

    @model_validator(mode="after")
    def _queue_needs_a_shared_store(self) -> ServiceConfig:
        if self.redis_url and not (self.database_url or "").startswith("postgresql"):
            raise ValueError(
                "REDIS_URL puts jobs on a queue for workers on any host, which must share the database: "
                "set DATABASE_URL to PostgreSQL (postgresql+psycopg://user@host/db), or unset REDIS_URL for the embedded runner"
            )
        return self

    @property
    def limits(self) -> Limits:
        return Limits(initiatives=self.max_initiatives, teams=self.max_teams, periods=self.max_periods)
