"""`planner serve` and `planner tokens`: the service under gunicorn, scenario files loaded into a workspace, tokens.

gunicorn's master process only migrates the database and loads files; each worker process builds its own
app after the fork (no preloading), so no database connection or thread crosses a fork. Workers are
threaded (`gthread`), so a request waiting on a job (`?wait=`) does not hold up the others. Log lines are
text or JSON (`api.service.logs`).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from api.service import auth, logs, store
from api.service.app import create_app, open_database
from api.service.config import ServiceConfig
from api.service.db import ScenarioRecord, ScenarioVersion, Token
from planner.errors import NotFound, PlannerError, Problem, ScenarioError
from planner.loader import read_file
from planner.source import readable

_EXTENDS = re.compile(r"^(extends:[ \t]*)(\S.*?)[ \t]*$", re.MULTILINE)


def create_token(config: ServiceConfig, *, role: auth.Role, name: str, workspace: str) -> tuple[Token, str]:
    engine, sessions = open_database(config)
    try:
        with sessions.begin() as session:
            return auth.create_token(session, workspace=workspace, role=role, name=name)
    finally:
        engine.dispose()


def list_tokens(config: ServiceConfig, *, workspace: str | None = None, revoked: bool = False) -> list[Token]:
    """The tokens (of one workspace, or all), oldest first; revoked ones only when asked."""
    engine, sessions = open_database(config)
    try:
        with sessions() as session:
            query = select(Token).order_by(Token.created_at, Token.id)
            if workspace is not None:
                query = query.where(Token.workspace_id == workspace)
            if not revoked:
                query = query.where(Token.revoked_at.is_(None))
            return list(session.scalars(query).all())
    finally:
        engine.dispose()


def revoke_token(config: ServiceConfig, name_or_id: str, *, workspace: str | None = None) -> Token:
    """Revoke the token with this id, or the one live token with this name (of `workspace`, when given).

    A name that several live tokens share is refused, naming their ids: revoking them all by accident
    would lock out whoever uses the others."""
    engine, sessions = open_database(config)
    try:
        with sessions.begin() as session:
            token = session.get(Token, name_or_id)
            if token is not None and workspace not in (None, token.workspace_id):
                token = None
            if token is None:
                query = select(Token).where(Token.name == name_or_id, Token.revoked_at.is_(None)).order_by(Token.created_at, Token.id)
                if workspace is not None:
                    query = query.where(Token.workspace_id == workspace)
                named = session.scalars(query).all()
                if len(named) > 1:
                    raise PlannerError(f"{len(named)} live tokens are named '{name_or_id}': revoke one by its id ({', '.join(t.id for t in named)})")
                token = named[0] if named else None
            where = f" in workspace '{workspace}'" if workspace is not None else ""
            if token is None:
                raise NotFound(f"no live token with the id or name '{name_or_id}'{where}: `planner tokens list` shows them")
            if token.revoked_at is not None:
                raise NotFound(f"token {token.id} ('{token.name}') was already revoked at {token.revoked_at:%Y-%m-%d %H:%M} UTC")
            auth.revoke(token)
            return token
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
                    text = readable(read_file(path), str(path))
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
                    try:
                        scenario_id, what = _store(session, loader, text, fmt, config)
                    except ScenarioError as exc:  # located in the text, which is this file's
                        raise ScenarioError([_in_file(p, path) for p in exc.as_problems()]) from None
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


def _in_file(problem: Problem, path: Path) -> Problem:
    if problem.location.file is not None:
        return problem
    return problem.model_copy(update={"location": problem.location.model_copy(update={"file": str(path)})})


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


def prepare(config: ServiceConfig) -> None:
    """Open the database once: a damaged file is refused (`DamagedDatabase`), the schema brought up to date."""
    engine, _ = open_database(config)
    engine.dispose()


def run(
    config: ServiceConfig,
    *,
    host: str,
    port: int,
    workers: int,
    threads: int = 4,
    timeout: int = 120,
    log_level: logs.LogLevel = "info",
    log_format: logs.LogFormat = "text",
) -> None:
    """Serve until stopped (Ctrl-C or SIGTERM): gunicorn with `workers` processes, each building its own app.

    gunicorn's access and error lines are written at `log_level` in `log_format`; the service's own lines
    as `logs.configure` set them up (the command does, before it says anything)."""
    from gunicorn.app.base import BaseApplication

    prepare(config)  # migrate once, here, before any worker starts
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
                "preload_app": False,
                "control_socket_disable": True,
                **logs.gunicorn_settings(log_level, log_format),
            }.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            app = create_app(worker_config)
            # What the worker holds from here on is long-lived: keep it out of the cyclic collector's full
            # passes, which otherwise stall a request now and then by tens of milliseconds (docs/benchmarks.md).
            gc.freeze()
            return app

    Server().run()
