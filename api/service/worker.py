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
from sqlalchemy.orm import Session, sessionmaker

from api.service import work
from api.service.db import JobRecord, RunnerRecord, TaskRecord, now, storage_trouble
from api.service.jobs import MAX_ATTEMPTS, TERMINAL, finish, record_ending, spawn_solver
from api.service.queue import CANCEL_KEY, KEPT_SECONDS, PROGRESS_KEY, QUEUE, declare, make_broker

log = logging.getLogger("planner.worker")

BEAT_SECONDS = 1.0
DATABASE_PROGRESS_SECONDS = 2.0  # the database gets a running job's progress this often; Redis gets every report
TASKS = "tasks"  # a queue job's `runner`: its tasks have workers, the job has none of its own


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
        self.job_actor, self.task_actor = declare(self.broker, self.expand, self.execute)
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._idle: queue.Queue[_Solver] = queue.Queue()
        self._running: dict[str, float] = {}  # task id -> when it started here
        self._sent: dict[str, float] = {}  # job or task id -> when this worker last sent it again
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._local = threading.local()  # per thread: tasks made in its transaction not yet committed, sent after it

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
            log.info("worker %s stopping: its running tasks go back to the queue", self.name)
            worker.stop(timeout=15_000)
            self._attempt(self._leave)
            while not self._idle.empty():
                _kill(self._idle.get_nowait())
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
            if row is None:
                session.add(RunnerRecord(id=self.name, workers_alive=self.concurrency, heartbeat_at=now()))
            else:
                row.workers_alive, row.heartbeat_at = self.concurrency, now()
            with self._lock:
                mine = list(self._running)
            if mine:
                session.execute(update(TaskRecord).where(TaskRecord.id.in_(mine), TaskRecord.status == "running").values(heartbeat_at=now()))

    def _sweep(self) -> None:
        """Tasks whose worker is gone are queued again (or failed after MAX_ATTEMPTS runs); jobs cancelled meanwhile
        drop their queued tasks; and when the queue in Redis is empty while jobs or tasks wait (Redis restarted
        and lost them), they are sent again."""
        stale = now() - timedelta(seconds=self.stale_seconds)
        again: list[str] = []
        with self.sessions.begin() as session:
            orphans = session.scalars(
                select(TaskRecord).where(TaskRecord.status == "running", TaskRecord.heartbeat_at < stale).with_for_update(skip_locked=True)
            ).all()
            for task in orphans:
                if task.id in self._running:
                    continue
                ran = ", ".join(task.workers or [])
                if task.attempts < MAX_ATTEMPTS:
                    log.warning("task %s queued again: its worker %s stopped beating", task.id, ran.split(", ")[-1])
                    task.status = "queued"
                    again.append(task.id)
                else:
                    task.status, task.finished_at = "failed", now()
                    task.error = f"its worker stopped while it ran, {task.attempts} times ({ran}); it is not tried again"
                    self._settle_apart(session, task.job_id)
            for job in session.scalars(select(JobRecord).where(JobRecord.status == "running", JobRecord.cancel_requested.is_(True))).all():
                waiting = session.scalars(select(TaskRecord).where(TaskRecord.job_id == job.id, TaskRecord.status == "queued")).all()
                for task in waiting:
                    task.status, task.finished_at, task.error = "cancelled", now(), "cancelled on request"
                if waiting:
                    self._settle_apart(session, job.id)
            session.execute(delete(RunnerRecord).where(RunnerRecord.heartbeat_at < stale))
            # Waiting longer than twice the stale time: its message may be lost (Redis restarted, a claim that failed
            # on a database error was dead-lettered). Sent again, at most once per stale time by each worker: a second
            # copy costs one failed claim.
            waited = now() - timedelta(seconds=2 * self.stale_seconds)
            lost_jobs = list(session.scalars(select(JobRecord.id).where(JobRecord.status == "queued", JobRecord.created_at < waited)).all())
            lost_tasks = list(session.scalars(select(TaskRecord.id).where(TaskRecord.status == "queued", TaskRecord.created_at < waited)).all())
        moment = time.monotonic()
        for actor, ids in ((self.task_actor, again), (self.job_actor, lost_jobs), (self.task_actor, lost_tasks)):
            for item in ids:
                if item in again or moment - self._sent.get(item, -1e9) >= self.stale_seconds:
                    self._sent[item] = moment
                    actor.send(item)
        self._sent = {k: v for k, v in self._sent.items() if moment - v < 10 * self.stale_seconds}

    def _leave(self) -> None:
        with self.sessions.begin() as session:
            session.execute(delete(RunnerRecord).where(RunnerRecord.id == self.name))

    # a job, and its tasks -------------------------------------------------------------------------------------

    def expand(self, job_id: str) -> None:
        """The job actor: the job's independent parts become tasks (one for a solve or a what-if, one per point
        of a sweep, one per scenario of a comparison), in one transaction, and each is sent to the queue."""
        with self.sessions.begin() as session:
            job = session.get(JobRecord, job_id, with_for_update=True)
            if job is None or job.status != "queued":
                return  # expanded already (this message was a second copy), or cancelled while queued
            try:
                payload, seconds = work.prepare(session, job)
                pieces = work.parts(payload, seconds)
            except Exception as exc:
                finish(job, "failed", f"could not start: {_first_line(exc)}")
                return
            job.status, job.runner, job.started_at, job.heartbeat_at, job.attempts = "running", TASKS, now(), now(), 1
            job.progress = {"stage": "queued", "done": 0, "total": len(pieces), "elapsed": 0}
            for index, (label, _, _) in enumerate(pieces):
                session.add(TaskRecord(id=f"{job_id}.{index}", job_id=job_id, index=index, label=label[:200], status="queued"))
        for index in range(len(pieces)):
            self.task_actor.send(f"{job_id}.{index}")

    def execute(self, task_id: str) -> None:
        """The task actor: claim the task, run it in a solver process, store how it ended, and end the job after its last task."""
        if self._stop.is_set():
            self.task_actor.send(task_id)  # this worker is leaving: the message goes back for another
            return
        solver = self._idle.get()
        if not solver.process.is_alive():  # died while idle: the task gets a fresh one, not a broken pipe
            solver.connection.close()
            solver = self._spawn()
        try:
            try:
                taken = self._claim(task_id)
            except Exception as exc:
                if not storage_trouble(exc):
                    raise
                # The database does not answer: the task stays queued there; its message goes back after a pause.
                log.warning("task %s: could not be claimed now (%s); sent again", task_id, _first_line(exc))
                time.sleep(1.0)
                self.task_actor.send(task_id)
                return
            if taken is None:
                return
            job_id, index = taken
            with self._lock:
                self._running[task_id] = time.monotonic()
            try:
                with self.sessions() as session:
                    part, part_seconds, alone = self._part(session, job_id, index)
            except Exception as exc:
                ending = _Ending("failed", f"could not start: {exc}")
            else:
                try:
                    ending = self._run(job_id, solver, part, part_seconds, live=alone)
                except Exception as exc:  # never leave a claimed task running: it fails, saying why
                    log.exception("task %s failed in worker %s", task_id, self.name)
                    _kill(solver)
                    ending = _Ending("failed", f"the worker failed running it: {_first_line(exc)}")
            self._store(task_id, ending)
        finally:
            with self._lock:
                self._running.pop(task_id, None)
            if solver.process.is_alive():
                self._idle.put(solver)
            else:
                solver.connection.close()
                self._idle.put(self._spawn())

    def _claim(self, task_id: str) -> tuple[str, int] | None:
        """Take a queued task for this worker: (its job, its index); None when another worker took it, it is
        done (this message was a second copy), or its job was cancelled meanwhile (then it is cancelled too)."""
        with self.sessions.begin() as session:
            claimed: Any = session.execute(
                update(TaskRecord)
                .where(TaskRecord.id == task_id, TaskRecord.status == "queued")
                .values(status="running", attempts=TaskRecord.attempts + 1, started_at=now(), heartbeat_at=now())
            )
            if not claimed.rowcount:
                return None
            task = session.get(TaskRecord, task_id)
            job = session.get(JobRecord, task.job_id, with_for_update=True)
            task.workers = [*(task.workers or []), self.name]
            job.workers = list(dict.fromkeys([*(job.workers or []), self.name]))
            if job.cancel_requested or job.status != "running":
                task.status, task.finished_at, task.error = "cancelled", now(), "cancelled on request"
                self._settle(session, job.id)
                return None
            return job.id, task.index

    def _part(self, session: Session, job_id: str, index: int) -> tuple[dict[str, Any], float, bool]:
        """A task's payload and seconds (from the job, read again: a version never changes), and whether it is the
        job's only task so far (its solve's progress is then the job's). A follow-up part (a solve's reasons)
        is made from the results of the parts before it."""
        job = session.get(JobRecord, job_id)
        assert job is not None  # a task's job is never removed
        payload, seconds = work.prepare(session, job)
        pieces = work.parts(payload, seconds)
        if index < len(pieces):
            _, part, part_seconds = pieces[index]
            return part, part_seconds, len(pieces) == 1
        first = session.scalars(select(TaskRecord.result).where(TaskRecord.job_id == job_id, TaskRecord.index < len(pieces)).order_by(TaskRecord.index)).all()
        _, part, part_seconds = work.followups(payload, list(first))[index - len(pieces)]
        return part, part_seconds, False

    def _run(self, job_id: str, solver: _Solver, payload: dict[str, Any], seconds: float, *, live: bool) -> _Ending:
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
                    if live:  # a job of one task: its solve's progress is the job's
                        due = time.monotonic() - written >= DATABASE_PROGRESS_SECONDS
                        self._report(job_id, {**progress, "elapsed": elapsed}, database=due)
                        written = time.monotonic() if due else written
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
        if int(time.monotonic() * 4) % 8 == 0:  # the database's word too, every two seconds or so
            try:
                with self.sessions() as session:
                    return bool(session.scalar(select(JobRecord.cancel_requested).where(JobRecord.id == job_id)))
            except Exception as exc:
                if not storage_trouble(exc):
                    raise
        return False

    def _store(self, task_id: str, ending: _Ending) -> None:
        """Store how the task ended, and the job's ending after its last task; while the database cannot be
        reached, keep trying (the ending is held here). Anything else that fails storing it fails the task,
        and if that fails too, the task and its job, without joining the job's results."""
        refused = 0
        while True:
            try:
                with self.sessions.begin() as session:
                    task = session.get(TaskRecord, task_id, with_for_update=True)
                    if task is None or task.status != "running" or (task.workers or [None])[-1] != self.name:
                        return  # swept as stale meanwhile and taken by another worker
                    job_id = task.job_id
                    if ending.status == "handed back":
                        task.status, task.attempts = "queued", task.attempts - 1
                    else:
                        task.status, task.finished_at = ("succeeded" if ending.status == "done" else ending.status), now()
                        task.result = ending.body if ending.status == "done" else None
                        task.error = None if ending.status == "done" else str(ending.body)
                        self._settle(session, task.job_id, ending.progress)
                self._after_commit(task_id if ending.status == "handed back" else None, job_id)
                return
            except Exception as exc:
                if not (storage_trouble(exc) or isinstance(exc, redis.RedisError)):
                    log.exception("task %s: storing its result failed", task_id)
                    refused += 1
                    if refused > 1:
                        self._fail_outright(task_id, f"its result could not be stored: {_first_line(exc)}")
                        return
                    ending = _Ending("failed", f"its result could not be stored: {_first_line(exc)}", ending.progress)
                    continue
                log.warning("task %s: the database cannot store its ending now (%s); retrying", task_id, _first_line(exc))
                time.sleep(1.0)

    def _after_commit(self, again: str | None, job_id: str) -> None:
        """Once a task's ending is committed: its message again (handed back), the tasks its job made (a solve's
        reasons), and the job's live progress dropped from Redis: the database's now says more (tasks done)."""
        try:
            if again is not None:
                self.task_actor.send(again)
            self._send_pending()
            self.redis.delete(PROGRESS_KEY.format(job=job_id))
        except redis.RedisError as exc:  # the sweep sends what waits in the database
            log.warning("worker %s: Redis did not take what follows a task (%s); the sweep sends it again", self.name, _first_line(exc))

    def _fail_outright(self, task_id: str, reason: str) -> None:
        """The task and its job failed, said in the simplest writes there are, when even failing the task through
        the job's settling would not store (say, its job's scenario cannot be read)."""
        try:
            with self.sessions.begin() as session:
                task = session.get(TaskRecord, task_id, with_for_update=True)
                if task is None or task.status != "running":
                    return
                task.status, task.finished_at, task.error = "failed", now(), reason
                job = session.get(JobRecord, task.job_id, with_for_update=True)
                if job is not None and job.status == "running":
                    finish(job, "failed", f"task {task.label}: {reason}")
        except Exception:
            log.exception("task %s: could not be failed either; the sweep finds it when this worker stops beating", task_id)

    def _settle_apart(self, session: Session, job_id: str) -> None:
        """`_settle` in a savepoint: a job whose results cannot be joined fails alone, not the whole sweep."""
        try:
            with session.begin_nested():
                self._settle(session, job_id)
        except Exception as exc:
            if storage_trouble(exc):
                raise
            log.exception("job %s could not be settled", job_id)
            job = session.get(JobRecord, job_id)
            if job is not None and job.status == "running":
                finish(job, "failed", f"its results could not be joined: {_first_line(exc)}")

    def _send_pending(self) -> None:
        """Send the tasks made while settling a job, once the transaction that made them is committed (a lost
        send is found by the sweep: the task waits in the database)."""
        pending, self._local.pending = getattr(self._local, "pending", []), []
        for task_id in pending:
            self.task_actor.send(task_id)

    def _settle(self, session: Session, job_id: str, progress: dict[str, Any] | None = None) -> None:
        """After a task ended: the job's progress (tasks done of all, the best value so far), and once every
        task has ended, the job's own ending. The job's row is locked, so of two tasks ending at once, one
        settles after the other and the last one ends the job."""
        job = session.get(JobRecord, job_id, with_for_update=True)
        if job is None or job.status != "running":
            return
        tasks = session.scalars(select(TaskRecord).where(TaskRecord.job_id == job_id).order_by(TaskRecord.index)).all()
        ended = [t for t in tasks if t.status in TERMINAL]
        values = [_objective(t.result) for t in ended if t.status == "succeeded"]
        best = max((v for v in values if v is not None), default=None)
        stage = {"sweep": "sweeping", "comparison": "solving"}.get(job.kind, "solving")
        job.progress = {**(job.progress or {}), "stage": stage, "done": len(ended), "total": len(tasks), "objective": best}
        if len(ended) < len(tasks):
            return
        job.progress = {**job.progress, "elapsed": round((now() - job.started_at).total_seconds(), 2) if job.started_at else 0}
        if job.cancel_requested or any(t.status == "cancelled" for t in tasks):
            finish(job, "cancelled", "cancelled on request")
            return
        if len(tasks) == 1 and tasks[0].status != "succeeded":
            record_ending(session, job, "failed", tasks[0].error, {**job.progress, **(progress or {})})
            return
        payload, seconds = work.prepare(session, job)
        if len(tasks) == len(work.parts(payload, seconds)) and all(t.status == "succeeded" for t in tasks):
            more = work.followups(payload, [t.result for t in tasks])
            if more:  # the first parts are done: now the parts made from their results (a solve's reasons)
                for offset, (label, _, _) in enumerate(more):
                    index = len(tasks) + offset
                    session.add(TaskRecord(id=f"{job_id}.{index}", job_id=job_id, index=index, label=label[:200], status="queued"))
                job.progress = {**job.progress, "stage": "explaining", "total": len(tasks) + len(more)}
                self._local.pending = [*getattr(self._local, "pending", []), *(f"{job_id}.{len(tasks) + offset}" for offset in range(len(more)))]
                return
        try:
            result = work.join(payload, [t.result for t in tasks], [None if t.status == "succeeded" else t.error for t in tasks])
        except ValueError as exc:
            record_ending(session, job, "failed", str(exc), job.progress)
            return
        record_ending(
            session, job, "done", result, {**job.progress, **(progress or {}), "stage": "done"} if len(tasks) == 1 else {**job.progress, "stage": "done"}
        )


def _objective(result: dict[str, Any] | None) -> float | None:
    """A finished task's value, for the job's best-so-far: a solve's or a scenario's plan, or a sweep point's."""
    if not result:
        return None
    if "point" in result:
        plan = result["point"][1]
    else:
        plan = result.get("plan") or (result.get("plans") or [None])[0]
    return None if not plan else plan.get("objective")


def _kill(solver: _Solver) -> None:
    """End a solve: the process is killed and reaped, so the slot knows to start a new one."""
    solver.process.kill()
    solver.process.join(timeout=10)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
