"""Helpers for the service's tests: an app on a temporary instance folder, tokens per role and workspace, and
job polling; and the real service (`Server`: `planner serve` under gunicorn on a free loopback port). Every
plan a test fetches is re-verified by the solver-free checker against its scenario version."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from api.service import auth
from api.service.app import create_app
from api.service.config import ServiceConfig
from planner.plan import Plan
from planner.scenario import Scenario
from tests.factories import REFERENCE, REPO
from tests.solving import verified

FAST = {"time_limit": 10, "workers": 1, "seed": 0}


@dataclass
class Api:
    app: Flask
    client: FlaskClient
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, role: str, workspace: str = "alpha") -> str:
        key = f"{workspace}:{role}"
        if key not in self.tokens:
            with self.app.extensions["planner"].sessions.begin() as session:
                _, self.tokens[key] = auth.create_token(session, workspace=workspace, role=role, name=f"{role} of {workspace}")  # type: ignore[arg-type]
        return self.tokens[key]

    def headers(self, role: str = "planner", workspace: str = "alpha", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, workspace)}", **extra}

    def get(self, path: str, role: str = "viewer", workspace: str = "alpha", **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.headers(role, workspace), **kwargs)

    def post(self, path: str, role: str = "planner", workspace: str = "alpha", **kwargs: Any) -> Any:
        headers = {**self.headers(role, workspace), **kwargs.pop("headers", {})}
        return self.client.post(path, headers=headers, **kwargs)

    def create(self, text: str | bytes, workspace: str = "alpha", content_type: str = "application/yaml") -> dict[str, Any]:
        response = self.post("/scenarios", workspace=workspace, data=text, headers={"Content-Type": content_type})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def reference(self, workspace: str = "alpha") -> str:
        return self.create(REFERENCE.read_bytes(), workspace)["id"]

    def finished(self, job: dict[str, Any], workspace: str = "alpha", timeout: float = 120) -> dict[str, Any]:
        """The job once it has left queued and running (the test fails after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while job["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, f"job {job['id']} still {job['status']} after {timeout} s: {job['progress']}"
            job = self.get(f"/jobs/{job['id']}?wait=5", workspace=workspace).get_json()
        return job

    def solve(self, scenario_id: str, workspace: str = "alpha", **settings: Any) -> dict[str, Any]:
        response = self.post(f"/scenarios/{scenario_id}/solves?wait=30", workspace=workspace, json={**FAST, **settings})
        assert response.status_code in (200, 202), response.get_json()
        return self.finished(response.get_json(), workspace)

    def plan(self, plan_id: str, workspace: str = "alpha", scenario: dict[str, Any] | None = None) -> Plan:
        """The stored plan, verified against the scenario version it was solved from (or `scenario`, once that is deleted)."""
        response = self.get(f"/plans/{plan_id}", workspace=workspace)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        if scenario is None:
            scenario = self.get(f"/scenarios/{body['scenario_id']}?version={body['scenario_version']}", workspace=workspace).get_json()["scenario"]
        return verified(Scenario.model_validate(scenario), Plan.model_validate(body["plan"]))


def make_api(folder: Path, **config: Any) -> Api:
    options = {"instance": folder, "job_workers": 1, "max_active_jobs": 3, "max_initiatives": 200, "max_body_bytes": 400_000, **config}
    app = create_app(ServiceConfig(**options))
    app.config["TESTING"] = True
    return Api(app, app.test_client())


def close(api: Api) -> None:
    api.app.extensions["planner"].runner.close()
    api.app.extensions["planner"].engine.dispose()


# --- the real service ------------------------------------------------------------------------------

PLANNER = str(Path(sys.executable).parent / "planner")


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, instance: Path, env: dict[str, str] | None = None) -> None:
        self.instance, self.port = instance, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[str] | None = None
        self.env = {**os.environ, **(env or {})}  # DATABASE_URL, REDIS_URL: the service on PostgreSQL and the queue
        self.token = subprocess.run(
            [PLANNER, "tokens", "create", "--role", "planner", "--name", "e2e", "--instance", str(instance)],
            capture_output=True,
            text=True,
            check=True,
            env=self.env,
        ).stdout.strip()

    def start(self) -> None:
        log = open(self.instance / "server.log", "a")  # noqa: SIM115 (the server writes to it until stop() closes it)
        self.process = subprocess.Popen(
            [PLANNER, "serve", "--instance", str(self.instance), "--port", str(self.port), "--workers", "2", "--job-workers", "1"],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO,
            env=self.env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.call("GET", "/readyz", auth=False)[0] == 200:
                    return
            except OSError:
                pass
            assert self.process.poll() is None, (self.instance / "server.log").read_text()
            time.sleep(0.3)
        raise AssertionError("the server did not become ready in 60 s:\n" + (self.instance / "server.log").read_text())

    def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)

    def call(self, method: str, path: str, body: Any = None, *, auth: bool = True, content_type: str = "application/json") -> tuple[int, Any]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if auth:
            request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=90) as response:
                raw, status, kind = response.read(), response.status, response.headers.get_content_type()
        except urllib.error.HTTPError as error:
            raw, status, kind = error.read(), error.code, error.headers.get_content_type()
        return status, json.loads(raw) if kind.endswith("json") else raw.decode()

    def finished(self, job: dict[str, Any]) -> dict[str, Any]:
        deadline = time.monotonic() + 120
        while job["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            job = self.call("GET", f"/jobs/{job['id']}?wait=10")[1]
        return job

    def verified_plan(self, plan_id: str) -> Plan:
        status, body = self.call("GET", f"/plans/{plan_id}")
        assert status == 200, body
        scenario = self.call("GET", f"/scenarios/{body['scenario_id']}?version={body['scenario_version']}")[1]["scenario"]
        return verified(Scenario.model_validate(scenario), Plan.model_validate(body["plan"]))
