"""The real service: `planner serve` (gunicorn) on a free loopback port, driven over HTTP as a user would.

It creates and solves a scenario through a job, reads the plan and its explanations, kills a solver
process mid-solve (the job fails cleanly, the next one succeeds), runs the curl examples of docs/api.md, and
restarts the server to find every scenario and plan still there.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.generate import portfolio
from tests.factories import REFERENCE, REPO
from tests.service import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("e2e"))
    running.start()
    yield running
    if running.process and running.process.poll() is None:
        running.stop()


@pytest.fixture(scope="module")
def made(server: Server) -> dict[str, Any]:
    """What the tests create, to be found again after a restart."""
    return {"scenarios": [], "plans": []}


def test_a_scenario_is_created_solved_through_a_job_and_its_plan_explained(server: Server, made: dict[str, Any]) -> None:
    status, scenario = server.call("POST", "/scenarios", REFERENCE.read_bytes(), content_type="application/yaml")
    assert status == 201, scenario
    status, job = server.call("POST", f"/scenarios/{scenario['id']}/solves?wait=60", {"time_limit": 10, "workers": 1})
    job = server.finished(job)
    assert job["status"] == "succeeded", job["error"]
    plan = server.verified_plan(job["plan_id"])
    assert plan.status.value == "optimal" and job["progress"]["objective"] == plan.objective
    status, explained = server.call("GET", f"/plans/{job['plan_id']}/explanations")
    assert status == 200 and len(explained["initiatives"]) == 15
    out = plan.not_scheduled[0].id
    status, one = server.call("GET", f"/plans/{job['plan_id']}/explanations/{out}")
    assert status == 200 and one["scheduled"] is False and one["reason"]
    made["scenarios"].append(scenario["id"])
    made["plans"].append(job["plan_id"])


def test_a_killed_solver_process_fails_its_job_cleanly_and_the_next_job_succeeds(server: Server, made: dict[str, Any]) -> None:
    from bench.generate import portfolio

    status, slow = server.call("POST", "/scenarios", yaml.safe_dump(portfolio(120, 8, 8, seed=3)).encode(), content_type="application/yaml")
    assert status == 201, slow
    made["scenarios"].append(slow["id"])
    status, job = server.call("POST", f"/scenarios/{slow['id']}/solves", {"time_limit": 60, "workers": 1, "reasons": False})
    assert status == 202
    deadline = time.monotonic() + 60
    while job["progress"]["stage"] != "solving":
        assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
        time.sleep(0.2)
        job = server.call("GET", f"/jobs/{job['id']}")[1]
    with sqlite3.connect(server.instance / "planner.db") as db:
        (pid,) = db.execute("SELECT worker_pid FROM jobs WHERE id = ?", (job["id"],)).fetchone()
    os.kill(pid, signal.SIGKILL)
    failed = server.finished(job)
    assert failed["status"] == "failed" and "killed by signal 9" in failed["error"]
    assert server.call("GET", "/healthz", auth=False)[0] == 200
    status, next_job = server.call("POST", f"/scenarios/{made['scenarios'][0]}/solves?wait=60", {"time_limit": 10, "workers": 1})
    next_job = server.finished(next_job)
    assert next_job["status"] == "succeeded", next_job["error"]
    server.verified_plan(next_job["plan_id"])
    made["plans"].append(next_job["plan_id"])


def test_the_api_docs_curl_examples_run_against_the_live_server(server: Server, made: dict[str, Any]) -> None:
    docs = (REPO / "docs" / "api.md").read_text()
    block = re.search(r"<!-- api-examples -->\n```sh\n(.*?)```", docs, re.S)
    assert block, "the API examples in docs/api.md are marked with <!-- api-examples -->"
    script = "set -euo pipefail\n" + block.group(1)
    run = subprocess.run(
        ["bash", "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "URL": server.url, "TOKEN": server.token, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
    )
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    assert '"status":"succeeded"' in run.stdout.replace(" ", "") or "succeeded" in run.stdout


def _chunked(server: Server, path: str, body: bytes) -> tuple[int, Any]:
    """POST `body` with `Transfer-Encoding: chunked` and no Content-Length, in 64 KiB chunks."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        pieces = (body[k : k + 65536] for k in range(0, len(body), 65536))
        headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/yaml"}
        connection.request("POST", path, body=pieces, headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_chunked_body_is_stored_whole_and_one_over_the_limit_gets_413(server: Server, made: dict[str, Any]) -> None:
    # Werkzeug stops a stream without a Content-Length at the limit and hands on what it read: a chunked
    # body over the limit was cut at 5 MiB, validated and stored (a value of 1000000 saved as 10).
    data = yaml.safe_load(REFERENCE.read_text())
    data["initiatives"][0]["value"] = 1000000
    text = yaml.safe_dump(data, sort_keys=False).encode()
    status, created = _chunked(server, "/scenarios", text)
    assert status == 201, created
    stored = server.call("GET", f"/scenarios/{created['id']}")[1]
    assert stored["source"] == text.decode() and stored["scenario"]["initiatives"][0]["value"] == 1000000
    made["scenarios"].append(created["id"])
    limit = 5 * 1024 * 1024  # `planner serve`'s default body limit
    # Cut at the limit, this body is the scenario and a comment: valid, and it would be stored as if whole.
    over = text + b"#" * (limit - len(text) - 1) + b"\n" + b"extra: 1\n" * 8000
    for path in ("/scenarios", "/scenarios/validate"):
        status, refused = _chunked(server, path, over)
        assert status == 413 and "limit" in refused["detail"], refused


def test_ten_edits_of_one_scenario_at_once_each_store_a_version_or_get_409(server: Server, made: dict[str, Any]) -> None:
    # Two edits that both read version N both wrote N + 1: the loser broke the unique version number, a 500.
    status, scenario = server.call("POST", "/scenarios", REFERENCE.read_bytes(), content_type="application/yaml")
    assert status == 201, scenario
    made["scenarios"].append(scenario["id"])
    text = REFERENCE.read_text()

    def edit(k: int) -> tuple[int, Any]:
        return server.call("POST", f"/scenarios/{scenario['id']}/versions", text.replace("value: ", f"value: {k}", 1).encode(), content_type="application/yaml")

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(edit, range(1, 11)))
    statuses = sorted(status for status, _ in answers)
    assert set(statuses) <= {201, 409} and 201 in statuses, answers
    assert all("another edit" in body["detail"] for status, body in answers if status == 409)
    stored = server.call("GET", f"/scenarios/{scenario['id']}/versions")[1]
    versions = sorted(v["version"] for v in stored["items"])
    assert versions == list(range(1, 2 + statuses.count(201)))  # every 201 is a version; no gaps, no extras


def test_long_polls_cannot_take_every_request_thread(server: Server, made: dict[str, Any]) -> None:
    # Eight `GET /jobs/ID?wait=20` held all 8 request threads (2 processes x 4): /healthz then waited for them.
    generated = json.dumps(portfolio(200, 10, 4, seed=1)).encode()
    status, scenario = server.call("POST", "/scenarios", generated, content_type="application/json")
    assert status == 201, scenario
    made["scenarios"].append(scenario["id"])
    status, job = server.call("POST", f"/scenarios/{scenario['id']}/solves", {"time_limit": 6, "workers": 1, "reasons": False})
    assert status == 202 and job["status"] in ("queued", "running"), job
    with ThreadPoolExecutor(max_workers=8) as pool:
        polls = [pool.submit(server.call, "GET", f"/jobs/{job['id']}?wait=20") for _ in range(8)]
        time.sleep(0.5)
        with urllib.request.urlopen(server.url + "/healthz", timeout=3) as health:  # a bound against a hang, not a benchmark
            assert health.status == 200
        answers = [poll.result() for poll in polls]
    # At most two answers are held per process (`max_waiting`): the rest come at once, the job still running.
    assert all(status == 200 for status, _ in answers), answers
    assert sum(body["status"] in ("queued", "running") for _, body in answers) >= 4, [body["status"] for _, body in answers]
    made["plans"].append(server.finished(job)["plan_id"])


def test_after_a_restart_every_scenario_and_plan_is_still_there(server: Server, made: dict[str, Any]) -> None:
    assert made["scenarios"] and made["plans"]
    server.stop()
    server.start()
    for scenario_id in made["scenarios"]:
        assert server.call("GET", f"/scenarios/{scenario_id}")[0] == 200
    for plan_id in made["plans"]:
        server.verified_plan(plan_id)
    _, again = server.call("POST", f"/scenarios/{made['scenarios'][0]}/solves?wait=60", {"time_limit": 10, "workers": 1, "reasons": False})
    assert server.finished(again)["status"] == "succeeded"
