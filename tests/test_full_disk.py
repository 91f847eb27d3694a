"""A full disk under the service: writes answer 507 and store nothing, and a plan finished meanwhile is kept.

The database lives on a small tmpfs mounted for this test (so the disk really fills; it needs root, as
`make test` has, and is skipped with the reason where mounting is not allowed). The service is the real
one (`planner serve` under gunicorn); its log and runner lock stay on the ordinary disk.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bench.generate import portfolio
from tests.factories import REFERENCE
from tests.service import Server, close, make_api


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 32 MB tmpfs: a disk that really fills."""
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {mounted.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Write a file in `folder` until the disk is full; removing it frees the space again."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return filler


def test_a_full_disk_answers_507_stores_nothing_and_keeps_a_plan_finished_meanwhile(disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{disk}/planner.db")
    (tmp_path / "instance").mkdir()
    server = Server(tmp_path / "instance")
    server.start()
    try:
        status, slow = server.call("POST", "/scenarios", json.dumps(portfolio(120, 8, 8, seed=3)).encode())
        assert status == 201, slow
        status, job = server.call("POST", f"/scenarios/{slow['id']}/solves", {"time_limit": 5, "workers": 1, "reasons": False})
        assert status == 202, job
        filler = fill(disk)
        # Whatever room the database's write-ahead log still has is used up by new scenarios, then writes fail.
        stored, answer = 0, (0, {})
        for n in range(400):
            body = REFERENCE.read_text().replace("name: acme-2027", f"name: full-{n}", 1).encode()
            answer = server.call("POST", "/scenarios", body, content_type="application/yaml")
            if answer[0] != 201:
                break
            stored += 1
        status, problem = answer
        assert status == 507, (stored, problem)  # before: 500
        assert problem["title"] == "Insufficient storage" and "nothing of this request was stored" in problem["detail"]
        assert server.call("GET", "/scenarios?name=full-&limit=1")[1]["total"] == stored  # the refused one is not there
        # The solve finishes (5 s) while the disk is full: its plan cannot be stored yet, and it is not lost.
        log = tmp_path / "instance" / "server.log"
        deadline = time.monotonic() + 60
        while "job runner: store_endings could not use the database" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.5)
        status, waiting = server.call("GET", f"/jobs/{job['id']}")
        assert status == 200 and waiting["status"] == "running", waiting
        filler.unlink()
        deadline = time.monotonic() + 30
        while waiting["status"] == "running":
            assert time.monotonic() < deadline, f"the held plan was not stored within 30 s of the disk having room: {waiting}"
            waiting = server.call("GET", f"/jobs/{job['id']}?wait=5")[1]
        assert waiting["status"] == "succeeded", waiting  # before: 'running' until it 'overran its time limit'
        plan = server.verified_plan(waiting["plan_id"])
        assert plan.scheduled and waiting["progress"]["stage"] == "done"
        status, again = server.call("POST", "/scenarios", REFERENCE.read_bytes(), content_type="application/yaml")
        assert status == 201, again
    finally:
        server.stop()


def test_a_plan_that_finds_no_room_while_small_writes_still_fit_is_held_until_there_is_room(tmp_path: Path) -> None:
    # A disk nearly full: heartbeats and progress (rewriting pages the database has) still fit, a plan (new
    # pages) does not. SQLite's own page limit gives exactly this, with the disk-full error (SQLITE_FULL).
    # Before, the runner lost the plan and the job stayed 'running' until it 'overran its time limit'.
    api = make_api(tmp_path, max_initiatives=500)
    engine = api.app.extensions["planner"].engine
    try:
        slow = api.create(json.dumps(portfolio(120, 8, 8, seed=3)), content_type="application/json")
        with engine.connect() as connection:
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar()

        def no_new_pages(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

        event.listen(engine, "connect", no_new_pages)
        engine.dispose()  # every connection from now on has the limit
        response = api.post(f"/scenarios/{slow['id']}/solves", json={"time_limit": 3, "workers": 1, "reasons": False})
        assert response.status_code == 202, response.get_json()  # a job's row rewrites pages the database has
        job = response.get_json()
        assert api.post("/scenarios", data=REFERENCE.read_bytes(), headers={"Content-Type": "application/yaml"}).status_code == 507
        runner = api.app.extensions["planner"].runner
        deadline = time.monotonic() + 60
        while runner.held != [job["id"]]:  # the solve (3 s) is over and its plan has no room
            assert time.monotonic() < deadline, api.get(f"/jobs/{job['id']}").get_json()
            time.sleep(0.2)
        held = api.get(f"/jobs/{job['id']}").get_json()
        assert held["status"] == "running", held
        event.remove(engine, "connect", no_new_pages)
        engine.dispose()
        done = api.finished(held, timeout=30)
        assert done["status"] == "succeeded", done
        assert api.plan(done["plan_id"]).scheduled
    finally:
        close(api)


def test_a_solver_process_killed_while_nothing_can_be_written_fails_its_job_once_writes_work(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Before, the runner kept reading the dead process's pipe while the ending could not be stored: a loop
    # with no pause (134,685 warnings in 3 s) that never replaced the process.
    api = make_api(tmp_path, max_initiatives=500)
    engine = api.app.extensions["planner"].engine
    runner = api.app.extensions["planner"].runner
    try:
        slow = api.create(json.dumps(portfolio(120, 8, 8, seed=3)), content_type="application/json")
        job = api.post(f"/scenarios/{slow['id']}/solves", json={"time_limit": 60, "workers": 1, "reasons": False}).get_json()
        deadline = time.monotonic() + 60
        while api.get(f"/jobs/{job['id']}").get_json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.2)

        def read_only(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA query_only = 1")

        event.listen(engine, "connect", read_only)
        engine.dispose()
        (pid,) = runner.worker_pids()
        os.kill(pid, signal.SIGKILL)
        time.sleep(3)
        lost = [r for r in caplog.records if "was killed by signal 9" in r.getMessage()]
        assert len(lost) == 1, f"{len(lost)} warnings about the lost process"
        assert runner.held == [job["id"]]  # the ending waits for the database
        event.remove(engine, "connect", read_only)
        engine.dispose()
        done = api.finished(job, timeout=30)
        assert done["status"] == "failed" and "was killed by signal 9" in done["error"]
        assert len(runner.worker_pids()) == 1 and runner.worker_pids() != [pid]  # replaced
    finally:
        close(api)
