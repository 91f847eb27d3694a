"""The job runner: jobs wait in the database and a pool of solver processes works them off.

The API only ever writes a queued job row and calls `Runner.submit`; the runner claims jobs with an atomic
update, so a distributed queue (or runners on several hosts over PostgreSQL) can replace this pool
without touching the API. `PoolRunner` is the embedded default:

- One runner per instance folder, whichever of the service's processes holds `runner.lock` (gunicorn
  starts several); the others stand by and take over when the holder dies. Any of them rings the
  runner's doorbell (`runner.wake`, a named pipe) when it queues a job, so the runner starts it at once
  rather than at its next look at the database (every 0.2 s, which still catches what a ring misses).
- Each job runs in a long-lived solver process, spawned (not forked: OR-Tools has threads of its own)
  with OR-Tools already imported. A process that crashes, is killed or overruns its job's time fails
  that job alone and is replaced; the service keeps serving.
- A job that was running when its runner stopped (the service was stopped or killed) is queued again
  once, then failed with the reason, so a job that kills its runner cannot do it forever.
- How a job ended (its result, or why it failed) is held by the runner until the database has stored it:
  with its disk full, the finished plan waits in memory and is stored once there is room again, and the
  job is not taken for overrunning meanwhile. Each step of the dispatcher (heartbeat, storing, stopping,
  starting, receiving) carries on when another cannot write.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import multiprocessing
import os
import socket
import stat
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.service import logs, work
from api.service.db import JobRecord, RunnerRecord, now, storage_trouble

log = logging.getLogger("planner.jobs")

HEARTBEAT_SECONDS = 1.0
STALE_SECONDS = 30.0  # a running job whose runner has not been heard of for this long is orphaned
READY_SECONDS = 10.0  # /readyz wants a runner heartbeat at most this old
MAX_ATTEMPTS = 2  # runs of one job interrupted by its runner stopping, before it fails
PROGRESS_SECONDS = 0.5  # a solver process reports progress at most this often (stage changes at once)
TERMINAL = ("succeeded", "failed", "cancelled")


class Runner(Protocol):
    """What the API needs of whatever runs its jobs."""

    def submit(self, job_id: str) -> None:
        """A job row was queued."""

    def cancel(self, job_id: str) -> None:
        """A running job's `cancel_requested` was set."""

    def ready(self, session: Session) -> int:
        """Solver processes alive and reporting (0: no job would run now)."""

    def close(self) -> None:
        """Stop; running jobs are left for the next runner to re-queue."""

    def progress(self, job_id: str) -> dict[str, Any] | None:
        """A running job's latest progress when the runner keeps it elsewhere than the job's row (the queue's Redis)."""


def ready_workers(session: Session) -> int:
    """Solver processes alive, as the runners' heartbeats in the database say."""
    fresh = now() - timedelta(seconds=READY_SECONDS)
    rows = session.scalars(select(RunnerRecord).where(RunnerRecord.heartbeat_at >= fresh)).all()
    return sum(r.workers_alive for r in rows)


def claim(session: Session, job_id: str, runner: str, pid: int | None) -> bool:
    """Take a queued job for `runner` (atomically: of two runners or workers asking, one gets it), and record
    who ran this attempt in the job's `workers`."""
    result: Any = session.execute(
        update(JobRecord)
        .where(JobRecord.id == job_id, JobRecord.status == "queued")
        .values(
            status="running",
            runner=runner,
            worker_pid=pid,
            started_at=now(),
            heartbeat_at=now(),
            attempts=JobRecord.attempts + 1,
            progress={"stage": "starting", "elapsed": 0},
        )
    )
    claimed = result.rowcount
    if claimed:
        job = session.get(JobRecord, job_id)
        if job is not None:
            job.workers = [*(job.workers or []), runner]
    return bool(claimed)


def record_ending(session: Session, job: JobRecord, status: str, body: Any, progress: dict[str, Any]) -> None:
    """Store how a running job ended: `done` with the solver's result (its plans, comparison or curve), or
    a final status (failed, cancelled) with the reason in `body`."""
    if status == "done":
        work.apply(session, job, body)
        job.progress = progress
        finish(job, "succeeded", None)
    else:
        if progress:
            job.progress = progress
        finish(job, status, body)


def finish(job: JobRecord, status: str, error: str | None) -> None:
    job.status, job.error, job.finished_at = status, error, now()
    if job.progress and status != "succeeded":
        job.progress = {**job.progress, "stage": status}


# --- the solver process --------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies, so no solve outlives the service (PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - not Linux: the pipe's end-of-file stops it between jobs
        pass


def _worker_main(connection: Connection, log_settings: tuple[logs.LogLevel, logs.LogFormat] | None = None) -> None:
    _die_with_parent()
    if log_settings is not None:  # spawned, not forked: the service's log format is set up again here
        logs.configure(*log_settings)
    work.warm_up()
    while True:
        try:
            job_id, payload = connection.recv()
        except (EOFError, OSError):
            return
        last = 0.0

        def progress(update: dict[str, Any], *, force: bool = False) -> None:
            nonlocal last
            moment = time.monotonic()
            if force or moment - last >= PROGRESS_SECONDS:
                last = moment
                connection.send(("progress", job_id, update))  # noqa: B023 (called only while this job runs)

        message: tuple[str, str, dict[str, Any] | str]
        try:
            message = ("done", job_id, work.run(payload, progress))
        except Exception as exc:
            log.exception("job %s failed", job_id)
            message = ("error", job_id, f"{type(exc).__name__}: {exc}")
        try:
            connection.send(message)
        except (BrokenPipeError, OSError):
            return


def spawn_solver() -> tuple[multiprocessing.process.BaseProcess, Connection]:
    """A solver process (spawned, with OR-Tools imported) and the runner's end of its pipe."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=True)
    process = context.Process(target=_worker_main, args=(send, logs.configured()), name="planner-solver", daemon=True)
    process.start()
    send.close()
    return process, receive


@dataclass(frozen=True)
class _Ending:
    """How a job ended, as the dispatcher learnt it: `done` with the solver's result, or a final status and why."""

    status: str  # done | failed | cancelled
    body: Any = None  # done: the result; otherwise the reason
    progress: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    connection: Connection
    job_id: str | None = None
    deadline: float = 0.0
    started: float = 0.0
    progress: dict[str, Any] = field(default_factory=dict)


# --- the pool ------------------------------------------------------------------------------------------


class PoolRunner:
    """`size` solver processes fed from the database by one dispatcher thread (in the process holding the lock)."""

    def __init__(self, sessions: sessionmaker, instance: Path, size: int = 2, poll: float = 0.2) -> None:
        self.sessions, self.size, self.poll = sessions, max(1, size), poll
        self.lock_path = instance / "runner.lock"
        self._bell = Doorbell(instance / "runner.wake")
        self.host = socket.gethostname()
        self.id = f"{self.host}:{os.getpid()}:{id(self):x}"
        self._stop = threading.Event()
        self._workers: list[_Worker] = []
        self._lock_file: Any = None
        self._thread = threading.Thread(target=self._main, name="planner-jobs", daemon=True)
        self._beat = 0.0
        self._held: dict[str, _Ending] = {}  # endings not yet stored (the database could not write): retried every step
        self._complained: dict[str, float] = {}  # step -> when its failure was last logged

    # Runner ------------------------------------------------------------------------------------------

    def start(self) -> PoolRunner:
        self._thread.start()
        return self

    def submit(self, job_id: str) -> None:
        self._bell.ring()

    def cancel(self, job_id: str) -> None:
        self._bell.ring()

    def ready(self, session: Session) -> int:
        return ready_workers(session)

    def progress(self, job_id: str) -> dict[str, Any] | None:
        return None  # written to the job's row as it comes

    def close(self) -> None:
        self._stop.set()
        self._bell.ring()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    @property
    def holds_lock(self) -> bool:
        return self._lock_file is not None

    @property
    def held(self) -> list[str]:
        """Jobs that have ended but whose ending the database could not store yet."""
        return list(self._held)

    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    # the dispatcher ----------------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            while not self._stop.is_set():
                if not self.holds_lock and not self._take_lock():
                    self._stop.wait(2.0)
                    continue
                try:
                    self._step()
                except Exception:
                    log.exception("job runner step failed; retrying")
                    self._stop.wait(1.0)
        finally:
            self._shutdown()

    def _take_lock(self) -> bool:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.lock_path, "a+")  # noqa: SIM115 (held open for the process's life: the lock is the open file)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lock_file = handle
        self._bell.listen()
        log.info("job runner %s started with %d solver processes", self.id, self.size)
        return True

    def _step(self) -> None:
        self._replace_dead_idle_workers()
        if time.monotonic() - self._beat >= HEARTBEAT_SECONDS:
            self._beat = time.monotonic()
            self._attempt(self._heartbeat)
            self._attempt(self._recover_orphans)
        self._attempt(self._store_endings)
        self._attempt(self._stop_cancelled_and_overrunning)
        self._attempt(self._dispatch)
        busy: list[Any] = [w.connection for w in self._workers if w.job_id is not None]
        for ready in wait([*busy, self._bell.fileno()], timeout=self.poll):
            if isinstance(ready, int):
                self._bell.silence()
            else:
                self._attempt(self._receive, next(w for w in self._workers if w.connection is ready))

    def _attempt(self, step: Any, *args: Any) -> None:
        """Run one step of the dispatcher; if it fails (say, the database cannot write), log it at most every
        30 s and go on with the others, so a failing write never stops results from being received."""
        try:
            step(*args)
        except Exception as exc:
            name = step.__name__
            if time.monotonic() - self._complained.get(name, -60.0) >= 30:
                self._complained[name] = time.monotonic()
                if storage_trouble(exc):
                    log.error("job runner: %s could not use the database (%s); retrying", name.strip("_"), _first_line(exc))
                else:
                    log.exception("job runner: %s failed; retrying", name.strip("_"))

    def _spawn(self) -> _Worker:
        return _Worker(*spawn_solver())

    def _replace_dead_idle_workers(self) -> None:
        for w in list(self._workers):
            if w.job_id is None and not w.process.is_alive():
                self._retire(w)
        while len(self._workers) < self.size:
            self._workers.append(self._spawn())

    def _retire(self, w: _Worker) -> None:
        if w.process.is_alive():
            w.process.kill()
        w.process.join(timeout=5)
        w.connection.close()
        self._workers.remove(w)

    def _heartbeat(self) -> None:
        alive = sum(1 for w in self._workers if w.process.is_alive())
        with self.sessions.begin() as session:
            row = session.get(RunnerRecord, self.id)
            if row is None:
                session.add(RunnerRecord(id=self.id, workers_alive=alive, heartbeat_at=now()))
            else:
                row.workers_alive, row.heartbeat_at = alive, now()
            mine = [w.job_id for w in self._workers if w.job_id]
            if mine:
                session.execute(update(JobRecord).where(JobRecord.id.in_(mine)).values(heartbeat_at=now()))

    def _recover_orphans(self) -> None:
        """Jobs left running by a runner that is gone: queued again, or failed after MAX_ATTEMPTS runs."""
        stale = now() - timedelta(seconds=STALE_SECONDS)
        with self.sessions.begin() as session:
            for job in session.scalars(select(JobRecord).where(JobRecord.status == "running", JobRecord.runner != self.id)).all():
                host, _, rest = (job.runner or "").partition(":")
                pid = rest.split(":")[0]
                gone = host == self.host and pid.isdigit() and not _alive(int(pid))
                if not gone and (job.heartbeat_at is None or job.heartbeat_at >= stale):
                    continue
                if job.attempts < MAX_ATTEMPTS:
                    log.warning("job %s queued again: its runner %s is gone", job.id, job.runner)
                    job.status, job.runner, job.worker_pid = "queued", None, None
                    job.progress = {"stage": "queued", "elapsed": 0}
                else:
                    finish(job, "failed", f"the service stopped while this job ran, {job.attempts} times; it is not tried again")
            session.execute(delete(RunnerRecord).where(RunnerRecord.heartbeat_at < stale))

    def _stop_cancelled_and_overrunning(self) -> None:
        for w in [w for w in self._workers if w.job_id]:
            while w.job_id and w.connection.poll():  # a job that finished just now is not stopped for overrunning
                self._receive(w)
        busy = {w.job_id: w for w in self._workers if w.job_id}
        if not busy:
            return
        moment = time.monotonic()
        with self.sessions() as session:
            jobs = session.scalars(select(JobRecord).where(JobRecord.id.in_(list(busy)))).all()
        for job in jobs:
            w = busy[job.id]
            if job.cancel_requested:
                self._retire(w)
                self._end(job.id, _Ending("cancelled", "cancelled on request", w.progress))
            elif moment > w.deadline:
                self._retire(w)
                self._end(job.id, _Ending("failed", f"stopped after {moment - w.started:.0f} s: the job overran its time limit", w.progress))

    def _dispatch(self) -> None:
        idle = [w for w in self._workers if w.job_id is None and w.process.is_alive()]
        if not idle:
            return
        with self.sessions() as session:
            queued = session.scalars(
                select(JobRecord.id).where(JobRecord.status == "queued").order_by(JobRecord.created_at, JobRecord.id).limit(len(idle))
            ).all()
        for job_id, w in zip(queued, idle):
            self._start(job_id, w)

    def _start(self, job_id: str, w: _Worker) -> None:
        with self.sessions.begin() as session:
            claimed = claim(session, job_id, self.id, w.process.pid)
        if not claimed:
            return  # cancelled, or another runner took it
        with self.sessions() as session:
            job = session.get(JobRecord, job_id)
            try:
                payload, seconds = work.prepare(session, job)
            except Exception as exc:
                self._end(job_id, _Ending("failed", f"could not start: {exc}"))
                return
        w.job_id, w.started, w.deadline, w.progress = job_id, time.monotonic(), time.monotonic() + seconds, {}
        try:
            w.connection.send((job_id, payload))
        except (BrokenPipeError, OSError):
            self._lost(w)

    def _receive(self, w: _Worker) -> None:
        try:
            kind, job_id, body = w.connection.recv()
        except (EOFError, OSError):
            self._lost(w)
            return
        if job_id != w.job_id:
            return  # a late message from a job already stopped
        elapsed = round(time.monotonic() - w.started, 2)
        if kind == "progress":
            w.progress.update(body)
            try:
                with self.sessions.begin() as session:
                    session.execute(
                        update(JobRecord)
                        .where(JobRecord.id == job_id, JobRecord.status == "running")
                        .values(progress={**w.progress, "elapsed": elapsed}, heartbeat_at=now())
                    )
            except Exception as exc:
                if not storage_trouble(exc):
                    raise
                # Progress is a moment's news: the next report replaces it, and the job's ending is held until stored.
            return
        w.job_id = None
        if kind == "done":
            self._end(job_id, _Ending("done", body, {**w.progress, "stage": "done", "elapsed": elapsed}))
        else:
            self._end(job_id, _Ending("failed", body, {**w.progress, "elapsed": elapsed}))

    def _lost(self, w: _Worker) -> None:
        """The solver process died mid-job: the job fails with how it died; a new process takes the slot."""
        w.process.join(timeout=5)
        code = w.process.exitcode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        log.warning("solver process %s %s during job %s", w.process.pid, how, w.job_id)
        job_id, progress = w.job_id, w.progress
        w.job_id = None
        self._retire(w)  # first: the dead process's pipe must not be read again, whatever happens to the ending
        if job_id is not None:
            reason = f"the solver process {how} before it reported; the service is still running, submit the job again"
            self._end(job_id, _Ending("failed", reason, progress))

    def _end(self, job_id: str, ending: _Ending) -> None:
        """Hold how a job ended and store it: now, or at a later step if the database cannot write now.
        Never raises, so the caller goes on with its other jobs."""
        self._held[job_id] = ending
        self._attempt(self._store_endings)

    def _store_endings(self) -> None:
        for job_id, ending in list(self._held.items()):
            try:
                self._store_ending(job_id, ending)
            except Exception as exc:
                if storage_trouble(exc):
                    raise  # kept, and tried again at the next step; `_attempt` logs it
                log.exception("job %s: storing its result failed", job_id)  # a result the database refuses: the job fails, saying so
                self._held[job_id] = _Ending("failed", f"its result could not be stored: {_first_line(exc)}", ending.progress)
            else:
                del self._held[job_id]

    def _store_ending(self, job_id: str, ending: _Ending) -> None:
        with self.sessions.begin() as session:
            job = session.get(JobRecord, job_id)
            if job is None or job.status != "running":
                return  # ended elsewhere meanwhile (a cancellation by another process's request, say)
            record_ending(session, job, ending.status, ending.body, ending.progress)

    def _shutdown(self) -> None:
        self._attempt(self._store_endings)
        # Jobs still running, and jobs whose ending could not be stored: they run again under the next runner.
        mine = [w.job_id for w in self._workers if w.job_id] + list(self._held)
        for w in list(self._workers):
            self._retire(w)
        if self._lock_file is not None:
            try:
                with self.sessions.begin() as session:
                    # A clean stop hands its jobs back without counting the run as an attempt.
                    session.execute(
                        update(JobRecord)
                        .where(JobRecord.id.in_(mine), JobRecord.status == "running")
                        .values(
                            status="queued",
                            runner=None,
                            worker_pid=None,
                            attempts=JobRecord.attempts - 1,
                            progress={"stage": "queued", "elapsed": 0},
                        )
                    )
                    session.execute(delete(RunnerRecord).where(RunnerRecord.id == self.id))
            except Exception:
                log.exception("job runner: could not remove its heartbeat")
            self._bell.close()
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None


class Doorbell:
    """A named pipe that wakes the runner: any process on this host rings it, the runner listens on it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def listen(self) -> None:
        try:
            if not stat.S_ISFIFO(self.path.lstat().st_mode):
                self.path.unlink()  # not a pipe: something else took the name
                os.mkfifo(self.path, 0o600)
        except FileNotFoundError:
            os.mkfifo(self.path, 0o600)
        # Opened for writing too, so the pipe never reads as closed when the processes ringing it close their end.
        self._fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)

    def fileno(self) -> int:
        assert self._fd is not None, "listen() first"
        return self._fd

    def ring(self) -> None:
        """Wake the listener, if there is one; with none, the job waits for a runner's next look."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENXIO):  # no bell yet, or nobody listening
                log.warning("job runner doorbell %s: %s", self.path, exc)
            return
        try:
            os.write(fd, b"\0")
        except BlockingIOError:
            pass  # the pipe is full of rings the listener has not read yet: it will wake anyway
        finally:
            os.close(fd)

    def silence(self) -> None:
        try:
            while os.read(self.fileno(), 4096):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
