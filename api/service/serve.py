"""`planner serve` and `planner tokens`: the service under gunicorn, scenario files loaded into a workspace, tokens.

gunicorn's master process only migrates the database and loads files; each worker process builds its own
app after the fork (no preloading), so no database connection or thread crosses a fork. Workers are
threaded (`gthread`), so a request waiting on a job (`?wait=`) does not hold up the others.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from api.service import auth, store
from api.service.app import create_app, open_database
from api.service.config import ServiceConfig
from api.service.db import ScenarioRecord, ScenarioVersion, Token

_EXTENDS = re.compile(r"^(extends:[ \t]*)(\S.*?)[ \t]*$", re.MULTILINE)


def create_token(config: ServiceConfig, *, role: auth.Role, name: str, workspace: str) -> tuple[Token, str]:
    engine, sessions = open_database(config)
    try:
        with sessions.begin() as session:
            return auth.create_token(session, workspace=workspace, role=role, name=name)
    finally:
        engine.dispose()


def load_files(config: ServiceConfig, paths: Iterable[Path], *, workspace: str) -> list[tuple[Path, str, str]]:
    """Store each scenario file in `workspace`: (path, scenario id, what happened), bases before their overlays.

    A file whose scenario (by name) is already stored with the same text is left as it is; a changed file
    becomes a new version. An overlay's `extends: base.yaml` is rewritten to the id its base got, since
    stored overlays name their base by id.
    """
    engine, sessions = open_database(config)
    done: dict[Path, str] = {}
    out: list[tuple[Path, str, str]] = []
    pending = sorted({p.resolve() for p in paths})
    try:
        with sessions.begin() as session:
            loader, _ = auth.create_token(session, workspace=workspace, role="planner", name="planner serve --load")
            while pending:
                progressed = False
                for path in list(pending):
                    text = path.read_text(encoding="utf-8")
                    base = _EXTENDS.search(text)
                    if base:
                        base_path = (path.parent / base.group(2).strip("'\"")).resolve()
                        if base_path not in done:
                            if base_path not in pending:
                                raise FileNotFoundError(f"{path}: its base {base_path} is not among the files loaded")
                            continue
                        # Spliced, not substituted: the id is text, never a replacement template.
                        text = text[: base.end(1)] + done[base_path] + text[base.end() :]
                    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
                    scenario_id, what = _store(session, loader, text, fmt, config)
                    done[path] = scenario_id
                    out.append((path, scenario_id, what))
                    pending.remove(path)
                    progressed = True
                if not progressed:
                    raise FileNotFoundError("overlays extend each other in a loop: " + ", ".join(str(p) for p in pending))
            auth.revoke(loader)
    finally:
        engine.dispose()
    return out


def _store(session: Any, token: Token, text: str, fmt: str, config: ServiceConfig) -> tuple[str, str]:
    loaded, _, _ = store.parse(session, token.workspace_id, text.encode(), fmt, config.limits)
    existing = session.scalars(
        select(ScenarioRecord)
        .where(
            ScenarioRecord.workspace_id == token.workspace_id,
            ScenarioRecord.name == loaded.scenario.name,
            ScenarioRecord.deleted_at.is_(None),
        )
        .order_by(ScenarioRecord.created_at)
    ).first()
    if existing is not None:
        latest = session.get(ScenarioVersion, (existing.id, existing.latest_version))
        if latest.text == text:
            return existing.id, f"unchanged (version {existing.latest_version})"
        record, stored = store.add_version(session, token, text.encode(), fmt, config.limits, existing)
        return record.id, f"version {stored.version}"
    record, _ = store.add_version(session, token, text.encode(), fmt, config.limits)
    return record.id, "created"


def run(config: ServiceConfig, *, host: str, port: int, workers: int, threads: int = 4, timeout: int = 120) -> None:
    """Serve until stopped (Ctrl-C or SIGTERM): gunicorn with `workers` processes, each building its own app."""
    from gunicorn.app.base import BaseApplication

    engine, _ = open_database(config)  # migrate once, here, before any worker starts
    engine.dispose()
    worker_config = config.model_copy(update={"migrate": False})

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": threads,
                "timeout": timeout,
                "graceful_timeout": 15,
                "accesslog": "-",
                "errorlog": "-",
                "preload_app": False,
                "control_socket_disable": True,
            }.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            app = create_app(worker_config)
            # What the worker holds from here on is long-lived: keep it out of the cyclic collector's full
            # passes, which otherwise stall a request now and then by tens of milliseconds (docs/benchmarks.md).
            gc.freeze()
            return app

    Server().run()
