"""`create_app(config)`: the planner service, one blueprint per resource.

```python
from api.service.app import ServiceConfig, create_app
app = create_app(ServiceConfig(instance="instance"))
```

The factory opens the database (migrating it to the newest schema), starts the job runner and registers
the blueprints twice: at the root and under `/v1`, the version alias.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from api.service import db, openapi, problems
from api.service.jobs import PoolRunner, Runner
from api.service.store import Limits
from planner.source import MAX_BYTES


class ServiceConfig(BaseModel):
    """How the service runs. `from_env` reads each field from `PLANNER_<FIELD>` (and `DATABASE_URL`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instance: Path = Field(default=Path("instance"), description="Folder for the SQLite database and the runner's lock.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL (postgresql+psycopg://...); SQLite in `instance` when unset.")
    job_workers: int = Field(default=2, ge=1, le=64, description="Solver processes in the job runner.")
    start_runner: bool = Field(default=True, description="Run jobs in this process's pool (when it holds the instance's runner lock).")
    migrate: bool = Field(default=True, description="Bring the database to the newest schema on start.")
    max_body_bytes: int = Field(default=MAX_BYTES, ge=1024, description="Largest request body; larger ones get 413.")
    max_initiatives: int = Field(default=5000, ge=1)
    max_teams: int = Field(default=200, ge=1)
    max_periods: int = Field(default=104, ge=1)
    max_time_limit: float = Field(default=600, gt=0, description="Ceiling on a job's `time_limit`, in seconds.")
    max_active_jobs: int = Field(default=4, ge=1, description="Jobs one token may have queued or running at once; more get 429.")

    @classmethod
    def from_env(cls, **overrides: Any) -> ServiceConfig:
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            key = "DATABASE_URL" if name == "database_url" else f"PLANNER_{name.upper()}"
            if key in os.environ:
                values[name] = os.environ[key]
        return cls.model_validate({**values, **overrides})

    @property
    def limits(self) -> Limits:
        return Limits(initiatives=self.max_initiatives, teams=self.max_teams, periods=self.max_periods)


@dataclass
class Service:
    config: ServiceConfig
    engine: Engine
    sessions: sessionmaker
    runner: Runner

    def session(self) -> Any:
        return self.sessions()


def service() -> Service:
    return current_app.extensions["planner"]


def open_database(config: ServiceConfig) -> tuple[Engine, sessionmaker]:
    config.instance.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(db.database_url(config.instance.resolve(), config.database_url))
    if config.migrate:
        db.upgrade(engine)
    return engine, db.sessions(engine)


class _NoRunner:
    """A process that serves requests but runs no jobs (`start_runner=False`): another process's runner works the queue."""

    def submit(self, job_id: str) -> None:
        pass

    def cancel(self, job_id: str) -> None:
        pass

    def ready(self, session: Any) -> int:
        from api.service.jobs import ready_workers

        return ready_workers(session)

    def close(self) -> None:
        pass


def create_app(config: ServiceConfig | dict[str, Any] | None = None) -> Flask:
    if not isinstance(config, ServiceConfig):
        config = ServiceConfig.from_env(**(config or {}))
    app = Flask("planner", instance_path=str(config.instance.resolve()))
    app.config.update(MAX_CONTENT_LENGTH=config.max_body_bytes, JSON_SORT_KEYS=False)
    engine, sessions = open_database(config)
    runner: Runner = PoolRunner(sessions, config.instance.resolve(), config.job_workers).start() if config.start_runner else _NoRunner()
    app.extensions["planner"] = Service(config, engine, sessions, runner)
    atexit.register(runner.close)

    problems.register(app)
    from api.service.routes import comparisons, health, jobs, plans, scenarios, tokens

    for module in (scenarios, jobs, plans, comparisons, tokens):
        app.register_blueprint(module.bp)
        app.register_blueprint(module.bp, url_prefix=f"/v1{module.bp.url_prefix}", name=f"v1_{module.bp.name}")
    app.register_blueprint(health.bp)
    openapi.serve(app)
    return app
