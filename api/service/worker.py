"""`planner worker`: takes jobs from the queue (Redis) and runs them, on any host that reaches Redis and the database.

One worker process runs `concurrency` jobs at once, each in a solver process of its own (spawned with
OR-Tools imported, as the embedded runner's are), so that cancelling a job or stopping one that overran
its time kills that solve alone. Dramatiq's threads take the messages; everything a job is and becomes
lives in the database:

- A job is claimed with the same atomic update as the embedded runner's (`jobs.claim`): of two workers
  handed the same job (a message sent twice), one runs it and the other lets it go.
- Every second the worker beats: its row in `runners` (what `/readyz` counts), its running jobs'
  `heartbeat_at`, and its broker heartbeat in Redis (Dramatiq beats only when it fetches, which a
  worker busy with long solves does not do).
- Every few seconds it sweeps, as every worker does: a running job whose heartbeat is older than
  `stale_seconds` (its worker was killed, or lost its host) is queued again, at most `MAX_ATTEMPTS` runs in
  all, then failed with the reason; and a job queued for longer than that without a worker taking it
  (Redis restarted and lost its message) is sent again.
- Stopped (SIGTERM, Ctrl-C), it stops taking jobs, ends its solves and hands their jobs back to the queue
  without counting the run.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import dramatiq
import redis
from sqlalchemy import delete, select, update
from sqlalchemy.orm import sessionmaker

from api.service import work
from api.service.db import JobRecord, RunnerRecord, now, storage_trouble
from api.service.jobs import MAX_ATTEMPTS, claim, finish, record_ending, spawn_solver
from api.service.queue import CANCEL_KEY, KEPT_SECONDS, PROGRESS_KEY, QUEUE, declare, make_broker

log = logging.getLogger("planner.worker")

BEAT_SECONDS = 1.0
DATABASE_PROGRESS_SECONDS = 2.0  # the database gets a running job's progress this often; Redis gets every report


@dataclass
class _Solver:
    process: Any
    connection: Any


@dataclass
class _Ending:
    status: str  # done | failed | cancelled | handed back
    body: Any = None
    progress: dict[str, Any] = field(default_factory=dict)


class QueueWorker:
    def __init__(self, sessions: sessionmaker, redis_url: str, *, name: str | None = None, concurrency: int = 1, stale_seconds: float = 30.0) -> None:
        self.sessions, self.concurrency, self.stale_seconds = sessions, max(1, concurrency), stale_seconds
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.broker = make_broker(redis_url, heartbeat_seconds=stale_seconds)
        self.actor = declare(self.broker, self.execute)
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._idle: queue.Queue[_Solver] = queue.Queue()
        self._running: dict[str, float] = {}  # job id -> when it started here
        self._sent: dict[str, float] = {}  # job id -> when this worker last sent it again
        self._stop = threading.Event()
        self._lock = threading.Lock()

    # lifecycle -----------------------------------------------------------------------------------------

    def run(self) -> None:
        """Work until SIGTERM or SIGINT; then hand back what is running and leave."""
        for _ in range(self.concurrency):
            self._idle.put(self._spawn())
        worker = dramatiq.Worker(self.broker, queues={QUEUE}, worker_threads=self.concurrency, worker_timeout=500)
        worker.queue_prefetch = self.concurrency  # take only what can run now: the rest waits for idle workers
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._stop.set())
        worker.start()
        log.info("worker %s takes jobs from %s with %d solver process(es)", self.name, QUEUE, self.concurrency)
        last_sweep = 0.0
        try:
            while not self._stop.wait(BEAT_SECONDS):
                self._attempt(self._beat)
                if time.monotonic() - last_sweep >= min(5.0, self.stale_seconds / 2):
                    last_sweep = time.monotonic()
                    self._attempt(self._sweep)
        finally:
            log.info("worker %s stopping: its running jobs go back to the queue", self.name)
            worker.stop(timeout=15_000)
            self._attempt(self._leave)
            while not self._idle.empty():
                solver = self._idle.get_nowait()
                solver.process.kill()
            self.broker.close()

    def _attempt(self, step: Any) -> None:
        try:
            step()
        except Exception as exc:
            if storage_trouble(exc) or isinstance(exc, redis.RedisError):
                log.warning("worker %s: %s could not reach the database or Redis (%s); retrying", self.name, step.__name__.strip("_"), _first_line(exc))
            else:
                log.exception("worker %s: %s failed; retrying", self.name, step.__name__.strip("_"))

    def _spawn(self) -> _Solver:
        return _Solver(*spawn_solver())

    def _beat(self) -> None:
        self.broker.do_qsize(QUEUE)  # any broker call renews this worker's heartbeat in Redis
        with self.sessions.begin() as session:
            row = session.get(RunnerRecord, self.name)
            alive = self.concurrency
            if row is None:
                session.add(RunnerRecord(id=self.name, workers_alive=alive, heartbeat_at=now()))
            else:
                row.workers_alive, row.heartbeat_at = alive, now()
            with self._lock:
                mine = list(self._running)
            if mine:
                session.execute(update(JobRecord).where(JobRecord.id.in_(mine), JobRecord.runner == self.name).values(heartbeat_at=now()))

    def _sweep(self) -> None:
        """Jobs whose worker is gone are queued again (or failed after MAX_ATTEMPTS runs); queued jobs nobody took are sent again."""
        stale = now() - timedelta(seconds=self.stale_seconds)
        again: list[str] = []
        with self.sessions.begin() as session:
            orphans = session.scalars(
                select(JobRecord)
                .where(JobRecord.status == "running", JobRecord.runner != self.name, JobRecord.heartbeat_at < stale)
                .with_for_update(skip_locked=True)
            ).all()
            for job in orphans:
                if job.attempts < MAX_ATTEMPTS:
                    log.warning("job %s queued again: its worker %s stopped beating", job.id, job.runner)
                    job.status, job.runner, job.worker_pid = "queued", None, None
                    job.progress = {"stage": "queued", "elapsed": 0}
                    again.append(job.id)
                else:
                    finish(job, "failed", f"its worker stopped while it ran, {job.attempts} times ({', '.join(job.workers or [])}); it is not tried again")
            waiting = session.scalars(select(JobRecord.id).where(JobRecord.status == "queued", JobRecord.created_at < stale)).all()
            session.execute(delete(RunnerRecord).where(RunnerRecord.heartbeat_at < stale))
        moment = time.monotonic()
        for job_id in [*again, *waiting]:
            if job_id in again or moment - self._sent.get(job_id, -1e9) >= self.stale_seconds:
                self._sent[job_id] = moment
                self.actor.send(job_id)
        self._sent = {k: v for k, v in self._sent.items() if moment - v < 10 * self.stale_seconds}

    def _leave(self) -> None:
        with self.sessions.begin() as session:
            session.execute(delete(RunnerRecord).where(RunnerRecord.id == self.name))

    # one job ---------------------------------------------------------------------------------------------

    def execute(self, job_id: str) -> None:
        """The actor: claim the job, run it in a solver process, store how it ended."""
        if self._stop.is_set():
            return
        solver = self._idle.get()
        try:
            with self.sessions.begin() as session:
                if not claim(session, job_id, self.name, solver.process.pid):
                    return  # taken by another worker, cancelled, or already done: this message was a second copy
            with self._lock:
                self._running[job_id] = time.monotonic()
            try:
                with self.sessions() as session:
                    payload, seconds = work.prepare(session, session.get(JobRecord, job_id))
            except Exception as exc:
                ending = _Ending("failed", f"could not start: {exc}")
            else:
                try:
                    ending = self._run(job_id, solver, payload, seconds)
                except Exception as exc:  # never leave a claimed job running: it fails, saying why
                    log.exception("job %s failed in worker %s", job_id, self.name)
                    _kill(solver)
                    ending = _Ending("failed", f"the worker failed running it: {_first_line(exc)}")
            self._store(job_id, ending)
        finally:
            with self._lock:
                self._running.pop(job_id, None)
            if solver.process.is_alive():
                self._idle.put(solver)
            else:
                solver.connection.close()
                self._idle.put(self._spawn())

    def _run(self, job_id: str, solver: _Solver, payload: dict[str, Any], seconds: float) -> _Ending:
        began, written = time.monotonic(), 0.0
        progress: dict[str, Any] = {}
        solver.connection.send((job_id, payload))
        while True:
            if solver.connection.poll(0.25):
                try:
                    kind, sent_for, body = solver.connection.recv()
                except (EOFError, OSError):
                    solver.process.join(timeout=5)
                    code = solver.process.exitcode
                    how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
                    return _Ending("failed", f"the solver process {how} before it reported; submit the job again", progress)
                if sent_for != job_id:
                    continue
                elapsed = round(time.monotonic() - began, 2)
                if kind == "progress":
                    progress.update(body)
                    self._report(job_id, {**progress, "elapsed": elapsed}, database=time.monotonic() - written >= DATABASE_PROGRESS_SECONDS)
                    written = time.monotonic() if time.monotonic() - written >= DATABASE_PROGRESS_SECONDS else written
                    continue
                if kind == "done":
                    return _Ending("done", body, {**progress, "stage": "done", "elapsed": elapsed})
                return _Ending("failed", body, {**progress, "elapsed": elapsed})
            if self._stop.is_set():
                _kill(solver)
                return _Ending("handed back", None, progress)
            if self._cancelled(job_id):
                _kill(solver)
                return _Ending("cancelled", "cancelled on request", progress)
            if time.monotonic() - began > seconds:
                _kill(solver)
                return _Ending("failed", f"stopped after {time.monotonic() - began:.0f} s: the job overran its time limit", progress)

    def _report(self, job_id: str, progress: dict[str, Any], *, database: bool) -> None:
        try:
            self.redis.set(PROGRESS_KEY.format(job=job_id), json.dumps(progress), ex=KEPT_SECONDS)
        except redis.RedisError:
            database = True  # the API falls back on the database's copy: keep it fresh
        if database:
            try:
                with self.sessions.begin() as session:
                    session.execute(
                        update(JobRecord).where(JobRecord.id == job_id, JobRecord.status == "running").values(progress=progress, heartbeat_at=now())
                    )
            except Exception as exc:
                if not storage_trouble(exc):
                    raise

    def _cancelled(self, job_id: str) -> bool:
        try:
            if self.redis.exists(CANCEL_KEY.format(job=job_id)):
                return True
        except redis.RedisError:
            pass
        started = self._running.get(job_id, 0.0)
        if int(time.monotonic() - started) % 2 == 0:  # the database's word too, every other second or so
            try:
                with self.sessions() as session:
                    return bool(session.scalar(select(JobRecord.cancel_requested).where(JobRecord.id == job_id)))
            except Exception as exc:
                if not storage_trouble(exc):
                    raise
        return False

    def _store(self, job_id: str, ending: _Ending) -> None:
        """Store how the job ended; while the database cannot be reached, keep trying (the ending is held here)."""
        while True:
            try:
                with self.sessions.begin() as session:
                    job = session.get(JobRecord, job_id)
                    if job is None or job.status != "running" or job.runner != self.name:
                        return  # ended or taken elsewhere meanwhile (cancelled while queued, or swept as stale)
                    if ending.status == "handed back":
                        job.status, job.runner, job.worker_pid, job.attempts = "queued", None, None, job.attempts - 1
                        job.progress = {"stage": "queued", "elapsed": 0}
                    else:
                        record_ending(session, job, ending.status, ending.body, ending.progress)
                if ending.status == "handed back":
                    self.actor.send(job_id)
                return
            except Exception as exc:
                if not (storage_trouble(exc) or isinstance(exc, redis.RedisError)):
                    log.exception("job %s: storing its result failed", job_id)
                    ending = _Ending("failed", f"its result could not be stored: {_first_line(exc)}", ending.progress)
                    continue
                log.warning("job %s: the database cannot store its ending now (%s); retrying", job_id, _first_line(exc))
                time.sleep(1.0)


def _kill(solver: _Solver) -> None:
    """End a solve: the process is killed and reaped, so the slot knows to start a new one."""
    solver.process.kill()
    solver.process.join(timeout=10)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
