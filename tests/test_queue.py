"""Jobs on the distributed queue, with the real servers: a real Redis, a real PostgreSQL, and `planner worker`
processes. The service runs in this process (Flask's test client) with `REDIS_URL` set, as `planner serve`
would; every plan a test sees is re-verified by the plan checker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from api.service.db import RunnerRecord
from api.service.queue import PROGRESS_KEY
from tests.servers import Postgres, Redis, scratch
from tests.service import FAST, PLANNER, Api, close, make_api

STALE = 4  # seconds without a heartbeat before a worker's jobs are taken back: short, for the tests


@pytest.fixture(scope="module")
def queue_redis() -> Iterator[Redis]:
    server = Redis(scratch("planner-queue-redis-")).start()  # its own: a test restarts it
    yield server
    server.stop()


@pytest.fixture(scope="module")
def database(postgres: Postgres) -> str:
    return postgres.database("queue")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, database: str, queue_redis: Redis) -> Iterator[Api]:
    service = make_api(tmp_path_factory.mktemp("queue-service"), database_url=database, redis_url=queue_redis.url, stale_seconds=STALE, max_active_jobs=8)
    yield service
    close(service)


class Workers:
    """`planner worker` processes, each in a process group of its own (it and its solver processes)."""

    def __init__(self, folder: Path, database: str, redis_url: str) -> None:
        self.folder, self.processes = folder, {}
        self.env = {**os.environ, "DATABASE_URL": database, "REDIS_URL": redis_url, "PLANNER_STALE_SECONDS": str(STALE)}

    def start(self, name: str, api: Api) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [PLANNER, "worker", "--name", name, "--instance", str(self.folder)], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, self.log(name)
            with api.app.extensions["planner"].sessions() as session:
                if session.get(RunnerRecord, name) is not None:
                    return process
            time.sleep(0.2)
        raise AssertionError(f"worker {name} did not beat in 60 s:\n{self.log(name)}")

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")[-3000:]

    def kill(self, name: str) -> None:
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def workers(api: Api, database: str, queue_redis: Redis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    pool = Workers(tmp_path_factory.mktemp("workers"), database, queue_redis.url)
    for name in ("worker-a", "worker-b"):
        pool.start(name, api)
    yield pool
    pool.stop_all()


@pytest.fixture(scope="module")
def slow(api: Api) -> str:
    """A generated portfolio CP-SAT cannot prove optimal within a minute: its solve runs to its time limit."""
    from bench.generate import portfolio

    return api.create(yaml.safe_dump(portfolio(120, 8, 8, seed=3), sort_keys=False))["id"]


def submit(api: Api, scenario_id: str, **settings: Any) -> dict[str, Any]:
    answer = api.post(f"/scenarios/{scenario_id}/solves", json={**FAST, **settings})
    assert answer.status_code == 202, answer.get_json()
    return answer.get_json()


def running(api: Api, job_id: str, seconds: float = 60) -> dict[str, Any]:
    """The job once a worker is solving it and has reported an incumbent."""
    deadline = time.monotonic() + seconds
    while True:
        job = api.get(f"/jobs/{job_id}").get_json()
        if job["status"] == "running" and (job["progress"] or {}).get("objective") is not None:
            return job
        assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
        time.sleep(0.2)


def test_two_workers_share_the_jobs_and_each_job_names_who_ran_it(api: Api, workers: Workers, slow: str) -> None:
    jobs = [submit(api, slow, time_limit=4, reasons=False) for _ in range(4)]  # each runs to its limit: both workers are needed
    done = [api.finished(job, timeout=180) for job in jobs]
    assert [job["status"] for job in done] == ["succeeded"] * 4, [job["error"] for job in done]
    assert {job["workers"][0] for job in done} == {"worker-a", "worker-b"}  # both took jobs
    for job in done:
        (task,) = job["tasks"]
        assert task["label"] == "solve" and task["attempts"] == 1 and task["workers"] == job["workers"]
        api.plan(job["plan_id"])  # verified by the checker


def test_progress_reaches_the_api_through_redis(api: Api, workers: Workers, slow: str, queue_redis: Redis) -> None:
    job = submit(api, slow, time_limit=20, reasons=False)
    live = running(api, job["id"])
    stored = json.loads(redis.Redis.from_url(queue_redis.url).get(PROGRESS_KEY.format(job=job["id"])) or b"null")
    assert stored is not None and stored["objective"] is not None
    assert live["progress"]["objective"] <= stored["objective"] + 1e-6 or live["progress"]["elapsed"] <= stored["elapsed"]
    api.post(f"/jobs/{job['id']}/cancel")
    assert api.finished(job)["status"] == "cancelled"


def test_cancelling_reaches_the_running_task_and_its_worker_takes_the_next_job(api: Api, workers: Workers, slow: str) -> None:
    job = submit(api, slow, time_limit=60, reasons=False)
    worker = running(api, job["id"])["workers"][-1]
    began = time.monotonic()
    assert api.post(f"/jobs/{job['id']}/cancel").status_code == 200
    ended = api.finished(job)
    assert ended["status"] == "cancelled" and ended["error"] == "cancelled on request"
    assert time.monotonic() - began < 10
    after = api.finished(submit(api, api.reference(), reasons=False))
    assert after["status"] == "succeeded", after["error"]
    assert worker in {"worker-a", "worker-b"}


def test_a_worker_killed_mid_solve_loses_nothing_its_job_runs_again_on_another(api: Api, workers: Workers, slow: str) -> None:
    job = submit(api, slow, time_limit=12, reasons=False)
    victim = running(api, job["id"])["workers"][-1]
    workers.kill(victim)  # SIGKILL: the worker and its solver process, no goodbye
    try:
        ended = api.finished(job, timeout=120)
        assert ended["status"] == "succeeded", ended["error"]
        (task,) = ended["tasks"]
        assert task["attempts"] == 2 and task["workers"][0] == victim and task["workers"][1] != victim
        assert set(ended["workers"]) == set(task["workers"])
        api.plan(ended["plan_id"])
    finally:
        workers.start(victim, api)


def test_redis_restarting_mid_job_leaves_every_job_accounted_for(api: Api, workers: Workers, queue_redis: Redis, slow: str) -> None:
    scenario_id = api.reference()
    long = submit(api, slow, time_limit=15, reasons=False)
    running(api, long["id"])
    queue_redis.stop()  # mid-job: the running task's progress and the queue's messages have nowhere to go
    jobs = [submit(api, scenario_id, reasons=False) for _ in range(3)]  # stored; their messages cannot be sent
    queue_redis.start()  # empty: what it held is gone
    done = [api.finished(job, timeout=180) for job in [long, *jobs]]
    assert [job["status"] for job in done] == ["succeeded"] * 4, [job["error"] for job in done]
    for job in done:
        api.plan(job["plan_id"])


def test_two_services_on_one_database_see_and_run_the_same_jobs(api: Api, workers: Workers, database: str, queue_redis: Redis, tmp_path: Path) -> None:
    other = make_api(tmp_path, database_url=database, redis_url=queue_redis.url, stale_seconds=STALE)
    try:
        other.tokens = api.tokens  # the same database: the same tokens
        job = submit(other, api.reference(), reasons=False)
        seen = api.finished(api.get(f"/jobs/{job['id']}").get_json())
        assert seen["status"] == "succeeded", seen["error"]
        assert other.get(f"/plans/{seen['plan_id']}").status_code == 200
        api.plan(seen["plan_id"])
    finally:
        close(other)


def test_two_workers_share_a_sweep_and_the_job_joins_the_curve(api: Api, workers: Workers, slow: str) -> None:
    request = {"knob": "capacity", "low": -0.3, "high": 0.3, "steps": 6, "settings": {"time_limit": 3, "workers": 1, "seed": 0}}
    answer = api.post(f"/scenarios/{slow}/sweeps", json=request)
    assert answer.status_code == 202, answer.get_json()
    job = api.finished(answer.get_json(), timeout=180)
    assert job["status"] == "succeeded", job["error"]
    assert [t["label"] for t in job["tasks"]] == ["point -30%", "point -18%", "point -6%", "point +6%", "point +18%", "point +30%"]
    assert all(t["status"] == "succeeded" for t in job["tasks"])
    assert {w for t in job["tasks"] for w in t["workers"]} == {"worker-a", "worker-b"}  # both took points (each runs to its 3 s limit)
    assert job["progress"]["done"] == job["progress"]["total"] == 6
    curve = job["result"]["curve"]
    assert [round(p["setting"], 6) for p in curve["points"]] == [-0.3, -0.18, -0.06, 0.06, 0.18, 0.3]
    assert all(p["objective"] is not None for p in curve["points"])
    assert job["progress"]["objective"] == max(p["objective"] for p in curve["points"])  # the best so far, at the end the best of all


def test_a_comparison_solves_its_scenarios_as_separate_tasks(api: Api, workers: Workers) -> None:
    base, other = api.reference(), api.reference()
    answer = api.post("/comparisons", json={"scenarios": [{"id": base}, {"id": other}], "settings": {"time_limit": 5, "workers": 1, "seed": 0}})
    job = api.finished(answer.get_json(), timeout=180)
    assert job["status"] == "succeeded", job["error"]
    assert [t["label"] for t in job["tasks"]] == ["scenario acme-2027", "scenario acme-2027"]
    comparison = api.get(f"/comparisons/{job['result']['comparison_id']}").get_json()["comparison"]
    assert comparison["variants"][0]["changes"] == []  # the same scenario twice: nothing differs
    for plan_id in job["result"]["plans"]:
        api.plan(plan_id)


def test_a_plans_simulation_spreads_its_blocks_of_samples_and_joins_what_one_process_makes(api: Api, workers: Workers) -> None:
    from planner.loader import load
    from planner.simulation import simulate
    from planner.source import parse_text
    from tests.factories import BUNDLED

    text = (BUNDLED / "ai-platform-2027.yaml").read_bytes()
    scenario_id = api.create(text)["id"]
    solved = api.solve(scenario_id, reasons=False)
    assert solved["status"] == "succeeded", solved["error"]
    answer = api.post(f"/scenarios/{scenario_id}/simulations", json={"plan": solved["plan_id"], "samples": 12_000, "seed": 5})
    job = api.finished(answer.get_json(), timeout=180)
    assert job["status"] == "succeeded", job["error"]
    assert [t["label"] for t in job["tasks"]] == ["samples 1-5000", "samples 5001-10000", "samples 10001-12000"]
    scenario = load(parse_text(text, name="ai")).scenario
    one_process = simulate(scenario, api.plan(solved["plan_id"]), 12_000, 5)
    assert job["result"]["simulation"] == one_process.model_dump(mode="json")  # the same samples, however they were spread


def test_a_sweep_point_that_failed_is_a_point_without_a_plan_and_a_comparison_fails_naming_its_scenario() -> None:
    from api.service import work
    from planner.loader import load
    from planner.source import parse_text
    from tests.factories import REFERENCE

    data = load(parse_text(REFERENCE.read_bytes(), name="acme")).scenario.model_dump(mode="json")
    sweep = {"kind": "sweep", "scenario": data, "knob": "capacity", "team": None, "points": [0.0, 0.1], "settings": {"time_limit": 1}}
    assert [label for label, _, _ in work.parts(sweep, 10)] == ["point 0%", "point +10%"]
    killed = "the solver process was killed by signal 9"
    curve = work.join(sweep, [None, None], [killed, killed])["curve"]
    assert [p["problem"] for p in curve["points"]] == [f"its solve failed: {killed}"] * 2
    assert all(p["status"] is None for p in curve["points"])
    comparison = {"kind": "comparison", "scenarios": [data, data], "settings": {"time_limit": 1}}
    with pytest.raises(ValueError, match="a scenario failed, 2: stopped after 61 s"):
        work.join(comparison, [{"plan": {}}, None], [None, "stopped after 61 s"])


def test_the_database_restarting_mid_job_leaves_the_job_done(api: Api, workers: Workers, slow: str, postgres: Postgres) -> None:
    job = submit(api, slow, time_limit=20, reasons=False)
    running(api, job["id"])
    postgres.restart()  # the workers' connections break mid-solve; what they hold waits and is stored once it is back
    assert api.get(f"/jobs/{job['id']}").get_json()["status"] == "running"  # the restart came mid-job
    ended = api.finished(job, timeout=120)
    assert ended["status"] == "succeeded", ended["error"]
    api.plan(ended["plan_id"])


def test_the_service_restarting_leaves_every_job_accounted_for(api: Api, workers: Workers, database: str, queue_redis: Redis, tmp_path: Path) -> None:
    first = make_api(tmp_path / "first", database_url=database, redis_url=queue_redis.url, stale_seconds=STALE, max_active_jobs=8)
    first.tokens = api.tokens
    scenario_id = api.reference()
    jobs = [submit(first, scenario_id, reasons=False) for _ in range(3)]
    close(first)  # the service stops (or dies): it holds no job, the database and the queue do
    second = make_api(tmp_path / "second", database_url=database, redis_url=queue_redis.url, stale_seconds=STALE)
    second.tokens = api.tokens
    try:
        done = [second.finished(job, timeout=180) for job in jobs]
        assert [job["status"] for job in done] == ["succeeded"] * 3, [job["error"] for job in done]
    finally:
        close(second)


def test_an_explained_solve_spreads_its_reasons_over_workers_and_explains_what_one_process_does(api: Api, workers: Workers) -> None:
    from bench.generate import portfolio

    scenario_id = api.create(yaml.safe_dump(portfolio(120, 6, 4, seed=2), sort_keys=False))["id"]
    job = api.finished(submit(api, scenario_id, time_limit=30, reasons=True, policy_costs=True), timeout=180)
    assert job["status"] == "succeeded", job["error"]
    labels = [t["label"] for t in job["tasks"]]
    assert labels == ["search", "reasons 1/3", "reasons 2/3", "reasons 3/3"]
    assert all(t["status"] == "succeeded" for t in job["tasks"])
    assert {w for t in job["tasks"] for w in t["workers"]} == {"worker-a", "worker-b"}
    plan = api.plan(job["plan_id"])
    explanation = plan.explanation
    assert explanation is not None
    assert [i.id for i in explanation.initiatives] + explanation.unexplained == [
        i["id"] for i in api.get(f"/scenarios/{scenario_id}").get_json()["scenario"]["initiatives"] if i["id"] not in explanation.unexplained
    ] + explanation.unexplained
    assert explanation.resolves > 0 and (explanation.policy_costs or explanation.unpriced)
    reasons = {i.id: i.reason for i in explanation.initiatives}
    assert all(reasons[u.id] is not None for u in plan.not_scheduled if u.id in reasons)  # every initiative left out says why


def test_planner_serve_with_redis_url_queues_to_the_workers(workers: Workers, database: str, queue_redis: Redis, tmp_path: Path) -> None:
    from tests.factories import REFERENCE
    from tests.service import Server

    server = Server(tmp_path, env={"DATABASE_URL": database, "REDIS_URL": queue_redis.url, "PLANNER_STALE_SECONDS": str(STALE)})
    server.start()  # gunicorn, each of its processes with its own connection to the queue
    try:
        status, ready = server.call("GET", "/readyz", auth=False)
        assert status == 200 and ready["workers"] >= 2, ready
        status, created = server.call("POST", "/scenarios", REFERENCE.read_bytes(), content_type="application/yaml")
        assert status == 201, created
        status, job = server.call("POST", f"/scenarios/{created['id']}/solves?wait=30", {**FAST, "reasons": False})
        job = server.finished(job)
        assert job["status"] == "succeeded", job["error"]
        assert job["tasks"][0]["workers"][0] in {"worker-a", "worker-b"}
        server.verified_plan(job["plan_id"])
    finally:
        server.stop()


def test_deleting_a_scenario_does_not_stop_a_job_already_queued_on_it(api: Api, workers: Workers) -> None:
    scenario_id = api.reference()
    request = {"knob": "capacity", "low": -0.1, "high": 0.1, "steps": 3, "settings": {"time_limit": 2, "workers": 1, "seed": 0}}
    job = api.post(f"/scenarios/{scenario_id}/sweeps", json=request).get_json()
    assert api.client.delete(f"/scenarios/{scenario_id}", headers=api.headers()).status_code == 204
    done = api.finished(job, timeout=120)  # each point reads the version again: a deleted scenario's versions stay readable
    assert done["status"] == "succeeded", done["error"]
    assert len(done["result"]["curve"]["points"]) == 3


def test_an_explained_solve_of_a_scenario_without_initiatives_has_one_task_of_reasons() -> None:
    from api.service import work

    payload = {"kind": "solve", "scenario": {"initiatives": []}, "settings": {"time_limit": 4}, "reasons": True, "policy_costs": True}
    ((label, part, _),) = work.followups(payload, [{"plans": [{"status": "optimal"}]}])
    assert label == "reasons 1/1" and part["initiatives"] == [] and part["prices"]
