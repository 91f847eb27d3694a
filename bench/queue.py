"""The distributed queue: a 12-point sweep and an explained solve of a 200-initiative portfolio, run by one
and by two `planner worker` processes, against the embedded runner on the same machine.

Real servers on loopback (Debian's redis-server and PostgreSQL, started here as the tests start them), the
service in this process (its Flask app, as `planner serve` builds it), workers as `planner worker`
processes with `--concurrency 1`. Each job is timed from the client, from submit to the finished job; a
task's overhead is its time on the worker less its plan's own `solve_seconds` (loading, the payload,
checking the plan, storing).

Run alone with `python -m bench.queue` (prints the result as JSON), or as the `queue` suite of `bench.run`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from api.service import auth
from api.service.app import create_app
from api.service.config import ServiceConfig
from bench.generate import portfolio
from tests.servers import Postgres, Redis, scratch

PLANNER = str(Path(sys.executable).parent / "planner")
SHAPE = (200, 10, 4)  # the portfolio the explain suite explains
SWEEP = {"knob": "capacity", "low": -0.3, "high": 0.3, "steps": 12, "settings": {"time_limit": 5, "seed": 0}}
EXPLAINED = {"time_limit": 30, "seed": 0, "reasons": True}


class Service:
    """The service's app in this process, with a planner token; `call` as a client would."""

    def __init__(self, config: ServiceConfig) -> None:
        self.app = create_app(config)
        self.client = self.app.test_client()
        with self.app.extensions["planner"].sessions.begin() as session:
            _, self.token = auth.create_token(session, workspace="bench", role="planner", name="bench")

    def call(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": content_type}
        data = body if isinstance(body, bytes) else json.dumps(body) if body is not None else None
        answer = self.client.open(path, method=method, data=data, headers=headers)
        if answer.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.get_json()}")
        return answer.get_json()

    def timed(self, path: str, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        began = time.perf_counter()
        job = self.call("POST", path, body)
        while job["status"] in ("queued", "running"):
            job = self.call("GET", f"/jobs/{job['id']}?wait=10")
        if job["status"] != "succeeded":
            raise RuntimeError(f"job {job['id']} {job['status']}: {job.get('error')}")
        return time.perf_counter() - began, job

    def close(self) -> None:
        self.app.extensions["planner"].runner.close()
        self.app.extensions["planner"].engine.dispose()


def _seconds(start: str | None, end: str | None) -> float | None:
    return None if not start or not end else (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _workers(count: int, folder: Path, database: str, redis_url: str) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "DATABASE_URL": database, "REDIS_URL": redis_url}
    out = []
    for n in range(count):
        log = (folder / f"worker-{n}.log").open("ab")
        out.append(
            subprocess.Popen(
                [PLANNER, "worker", "--name", f"worker-{n}", "--instance", str(folder)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        )
    return out


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for p in processes:
        p.send_signal(signal.SIGTERM)
    for p in processes:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def _measure(service: Service, document: bytes) -> dict[str, Any]:
    scenario = service.call("POST", "/scenarios", document, content_type="application/yaml")["id"]
    sweep_seconds, sweep = service.timed(f"/scenarios/{scenario}/sweeps", SWEEP)
    explain_seconds, explained = service.timed(f"/scenarios/{scenario}/solves", EXPLAINED)
    points = sweep["result"]["curve"]["points"]
    plan = service.call("GET", f"/plans/{explained['plan_id']}")["plan"]
    return {
        "sweep_seconds": sweep_seconds,
        "sweep_value": sum(p["objective"] or 0 for p in points),
        "sweep_points_with_plan": sum(1 for p in points if p["objective"] is not None),
        "sweep_tasks": [{"label": t["label"], "workers": t["workers"], "seconds": _seconds(t["started_at"], t["finished_at"])} for t in sweep["tasks"]],
        "sweep_first_start": _seconds(sweep["created_at"], min((t["started_at"] for t in sweep["tasks"] if t["started_at"]), default=None)),
        "explain_seconds": explain_seconds,
        "explain_resolves": (plan.get("explanation") or {}).get("resolves"),
        "explain_tasks": len(explained["tasks"]),
        "workers_used": sorted({w for t in sweep["tasks"] for w in t["workers"]}),
    }


def run(job: dict[str, Any]) -> dict[str, Any]:
    document = yaml.safe_dump(portfolio(*SHAPE, seed=1), sort_keys=False).encode()
    rows = []
    with tempfile.TemporaryDirectory(prefix="planner-bench-embedded-") as folder:
        embedded = Service(ServiceConfig(instance=Path(folder), job_workers=1, max_initiatives=5000))
        try:
            rows.append({"setup": "embedded runner, 1 solver process (SQLite)", "workers": 0, **_measure(embedded, document)})
        finally:
            embedded.close()
    redis_server, postgres = Redis(scratch("bench-redis-")).start(), Postgres(scratch("bench-pg-")).start()
    try:
        for count in (1, 2):
            database = postgres.database(f"bench{count}")
            with tempfile.TemporaryDirectory(prefix="planner-bench-queue-") as folder:
                service = Service(ServiceConfig(instance=Path(folder), database_url=database, redis_url=redis_server.url))
                processes = _workers(count, Path(folder), database, redis_server.url)
                try:
                    time.sleep(3)  # the workers start and beat (their solver processes import OR-Tools)
                    rows.append({"setup": f"queue, {count} worker process{'es' if count > 1 else ''}", "workers": count, **_measure(service, document)})
                finally:
                    _stop(processes)
                    service.close()
    finally:
        postgres.stop()
        redis_server.stop()
    for row in rows:
        spans = [t["seconds"] for t in row["sweep_tasks"] if t["seconds"] is not None]
        row["task_median"] = statistics.median(spans) if spans else None
    return {"status": "measured", "valid": True, "rows": rows, "shape": list(SHAPE), "sweep": SWEEP, "explained": EXPLAINED, "cores": os.cpu_count()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.queue", description="Measure the distributed queue against the embedded runner; print JSON.")
    parser.parse_args(argv)
    json.dump(run({}), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
