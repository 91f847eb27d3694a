"""`create_app(config)`: the planner service, one blueprint per resource.

```python
from api.service.app import create_app
from api.service.config import ServiceConfig
app = create_app(ServiceConfig(instance="instance"))
```

The factory opens the database (migrating it to the newest schema), starts the job runner and registers
the blueprints twice: at the root and under `/v1`, the version alias.
"""

from __future__ import annotations

import atexit
import io
from typing import Any

from flask import Flask, current_app, request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from werkzeug.exceptions import RequestEntityTooLarge

from api import web
from api.service import db, openapi, problems
from api.service.config import ServiceConfig
from api.service.context import Service
from api.service.jobs import PoolRunner, Runner, ready_workers
from api.service.routes import comparisons, health, jobs, plans, scenarios, tokens


def open_database(config: ServiceConfig) -> tuple[Engine, sessionmaker]:
    config.instance.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(db.database_url(config.instance.resolve(), config.database_url))
    if config.migrate:  # the first to open it (the serving command, a tokens command): not a damaged file
        db.refuse_damaged(engine)
        db.upgrade(engine)
    return engine, db.sessions(engine)


class _NoRunner:
    """A process that serves requests but runs no jobs (`start_runner=False`): another process's runner works the queue."""

    def submit(self, job_id: str) -> None:
        pass

    def cancel(self, job_id: str) -> None:
        pass

    def ready(self, session: Any) -> int:
        return ready_workers(session)

    def progress(self, job_id: str) -> dict[str, Any] | None:
        return None

    def close(self) -> None:
        pass


def _whole_body_or_413() -> None:
    """A body sent without a Content-Length (`Transfer-Encoding: chunked`) is read here, to one byte past the
    limit: more than the limit is a 413, as it is for a body that declares its length. Werkzeug's own limit
    on such a stream stops reading at the limit and hands on what it read, so a body over the limit was cut
    and then validated and stored as if whole. What is read is put back with its length, for the routes."""
    environ = request.environ
    if environ.get("CONTENT_LENGTH") or "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    stream = environ["wsgi.input"]
    body = bytearray()
    while len(body) <= limit:
        piece = stream.read(min(65536, limit + 1 - len(body)))
        if not piece:
            break
        body += piece
    if len(body) > limit:
        raise RequestEntityTooLarge()
    environ["wsgi.input"] = io.BytesIO(bytes(body))
    environ["CONTENT_LENGTH"] = str(len(body))


def create_app(config: ServiceConfig | dict[str, Any] | None = None) -> Flask:
    if not isinstance(config, ServiceConfig):
        config = ServiceConfig.from_env(**(config or {}))
    app = Flask("planner", instance_path=str(config.instance.resolve()))
    app.config.update(MAX_CONTENT_LENGTH=config.max_body_bytes, JSON_SORT_KEYS=False)
    engine, sessions = open_database(config)
    runner: Runner
    if config.redis_url:
        from api.service.queue import QueueRunner  # Dramatiq and Redis only where the queue is used

        runner = QueueRunner(config.redis_url, config.stale_seconds)
    elif config.start_runner:
        runner = PoolRunner(sessions, config.instance.resolve(), config.job_workers).start()
    else:
        runner = _NoRunner()
    app.extensions["planner"] = Service(config, engine, sessions, runner)
    atexit.register(runner.close)

    problems.register(app, page=web.error_page)
    app.before_request(_whole_body_or_413)
    for module in (scenarios, jobs, plans, comparisons, tokens):
        app.register_blueprint(module.bp)
        app.register_blueprint(module.bp, url_prefix=f"/v1{module.bp.url_prefix}", name=f"v1_{module.bp.name}")
    app.register_blueprint(health.bp)
    web.register(app)
    openapi.serve(app)
    return app
