"""Work in child processes, one process per task and at most `jobs` at once.

A task whose process crashes, is killed or overruns its time fails alone: the others carry on and every
result already returned stays returned. Children are started with `spawn`, so none inherits the parent's
threads (OR-Tools runs its own) or open files; the work function must therefore be importable by name.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Generic, Literal, Never, TypeVar

T = TypeVar("T")
R = TypeVar("R")

POLL_SECONDS = 1.0  # how often overrunning children are looked for, when none has finished


@dataclass(frozen=True)
class Crashed:
    """A task that returned no result, and why."""

    message: str


# What a child sends back: its work's result, or the exception that stopped it, in words.
_Reply = tuple[Literal["ok"], R] | tuple[Literal["error"], str]


def _child(work: Callable[[T], R], task: T, send: Connection[_Reply[R], Never]) -> None:
    result: _Reply[R]
    try:
        result = ("ok", work(task))
    except Exception as exc:
        result = ("error", f"{type(exc).__name__}: {exc}")
    send.send(result)
    send.close()


@dataclass
class _Running(Generic[R]):
    process: multiprocessing.process.BaseProcess
    receive: Connection[Never, _Reply[R]]
    started: float


def run_each(
    work: Callable[[T], R],
    tasks: Sequence[T],
    *,
    jobs: int = 1,
    timeout: float | None = None,
) -> Iterator[tuple[int, R | Crashed]]:
    """Yield (task index, result or Crashed) as each task finishes; the order is that of finishing.

    `timeout` is the seconds after which a task's process is killed. Leaving the loop early (an
    exception, Ctrl-C) kills the processes still running.
    """
    context = multiprocessing.get_context("spawn")
    pending = deque(enumerate(tasks))
    running: dict[int, _Running[R]] = {}
    try:
        while pending or running:
            while pending and len(running) < max(1, jobs):
                index, task = pending.popleft()
                receive, send = context.Pipe(duplex=False)
                process = context.Process(target=_child, args=(work, task, send), daemon=True)
                process.start()
                send.close()  # the child holds the only sending end: its death reads as end-of-file here
                running[index] = _Running(process, receive, time.monotonic())
            ready = wait([r.receive for r in running.values()], timeout=POLL_SECONDS)
            for index, r in list(running.items()):
                if r.receive in ready:
                    result = _received(r)
                elif timeout is not None and time.monotonic() - r.started > timeout:
                    r.process.kill()
                    result = Crashed(f"stopped after {timeout:.0f} s without finishing")
                else:
                    continue
                r.process.join()
                r.receive.close()
                del running[index]
                yield index, result
    finally:
        for r in running.values():
            r.process.kill()
            r.process.join()
            r.receive.close()


def _received(r: _Running[R]) -> R | Crashed:
    try:
        reply = r.receive.recv()
    except (EOFError, OSError):
        r.process.join()
        code = r.process.exitcode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        return Crashed(f"the solver process {how} before it reported")
    if reply[0] == "ok":
        return reply[1]
    return Crashed(reply[1])
