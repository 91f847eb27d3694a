"""Jobs on a distributed task queue: Dramatiq with Redis as the broker, PostgreSQL as the shared store.

`planner serve` queues here when `REDIS_URL` is set (and `DATABASE_URL` names PostgreSQL); `planner worker`
processes on any host that reaches both take the jobs (`api.service.worker`). The database stays the
record of every job: the queue carries only "job X is waiting", so what Redis loses (a restart without
persistence) is sent again from the database by the workers' sweep, and a job a dead worker held is queued
again from its stale heartbeat. Redis also carries what changes too often for the database: a running
job's progress, and the word to cancel it.

Why Dramatiq: a message is acknowledged only when its actor returns, and the Redis broker requeues the
messages of a worker whose heartbeat stopped, whatever the length of the task: Celery's Redis transport
waits for a visibility timeout that must exceed the longest job (half an hour here), and RQ moves a dead
worker's job to its failed registry. It is maintained, small, and needs no result backend for this.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker
from sqlalchemy.orm import Session

from api.service.jobs import ready_workers

log = logging.getLogger("planner.queue")

QUEUE = "planner-jobs"
PROGRESS_KEY = "planner:progress:{job}"
CANCEL_KEY = "planner:cancel:{job}"
KEPT_SECONDS = 3600  # progress and cancel words outlive any job (max_job_seconds is 1,800 by default)


def make_broker(url: str, heartbeat_seconds: float) -> RedisBroker:
    """The broker: no middleware of Dramatiq's own (the planner times, retries and cancels its jobs itself),
    and a dead worker's messages requeued after `heartbeat_seconds` without a heartbeat. Maintenance (the
    requeue) runs on a tenth of broker calls rather than one in a thousand, so it happens within seconds."""
    return RedisBroker(url=url, middleware=[], heartbeat_timeout=int(heartbeat_seconds * 1000), maintenance_chance=MAINTENANCE_SCALE // 10)


def declare(broker: RedisBroker, expand: Callable[[str], None], execute: Callable[[str], None]) -> tuple[dramatiq.Actor, dramatiq.Actor]:
    """The two actors: a job split into its tasks, and one task run. A message carries only an id: what the job
    is, is read from the database."""
    job = dramatiq.Actor(expand, broker=broker, actor_name="expand_job", queue_name=QUEUE, priority=0, options={})
    task = dramatiq.Actor(execute, broker=broker, actor_name="run_task", queue_name=QUEUE, priority=0, options={})
    return job, task


def _not_here(job_id: str) -> None:  # pragma: no cover - the service only sends; workers run
    raise RuntimeError("jobs run in `planner worker` processes, not in the service")


class QueueRunner:
    """The service's side of the queue (`Runner`): send a job's message, say cancel, read live progress."""

    def __init__(self, redis_url: str, heartbeat_seconds: float) -> None:
        self.broker = make_broker(redis_url, heartbeat_seconds)
        self.actor, _ = declare(self.broker, _not_here, _not_here)
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)

    def submit(self, job_id: str) -> None:
        """The job's message: a worker splits it into tasks (`QueueWorker.expand`)."""
        try:
            self.actor.send(job_id)
        except (redis.RedisError, dramatiq.errors.BrokerError) as exc:
            # The job is queued in the database all the same: the workers' sweep sends it again when Redis is back.
            log.warning("job %s: the queue did not take it now (%s); it will be sent again", job_id, exc)

    def cancel(self, job_id: str) -> None:
        try:
            self.redis.set(CANCEL_KEY.format(job=job_id), "1", ex=KEPT_SECONDS)
        except redis.RedisError as exc:
            log.warning("job %s: cancel not sent through Redis (%s); the worker reads it from the database", job_id, exc)

    def ready(self, session: Session) -> int:
        return ready_workers(session)

    def progress(self, job_id: str) -> dict[str, Any] | None:
        try:
            raw = self.redis.get(PROGRESS_KEY.format(job=job_id))
        except redis.RedisError:
            return None  # the database's copy, a second or two older
        return json.loads(raw) if raw else None

    def close(self) -> None:
        self.broker.close()
        self.redis.close()
