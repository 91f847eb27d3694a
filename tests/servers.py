"""Real Redis and PostgreSQL servers for the tests, started on free loopback ports in scratch folders and
stopped after: Debian's `redis-server` and `postgresql` (`make test` installs both). Nothing here stands in
for a server: a test that needs one gets the real program, as a user's deployment has it.

PostgreSQL refuses to run as root, so as root (CI, the developers' machines) the server runs as Debian's
`postgres` user (a child of the test process, so that stopping it stops it), with trust authentication on
loopback only.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.service import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not found:
        raise RuntimeError("PostgreSQL is missing: `make test` installs Debian's postgresql (apt-get, as root)")
    return Path(found[-1]).parent


def _wait(what: str, ready: Callable[[], Any], process: subprocess.Popen[bytes], log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            if ready():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer in {seconds:g} s:\n{log.read_text(errors='replace')[-2000:]}")


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass
class Redis:
    """`redis-server` on a free port, without persistence: a restart loses what it held, as a crash would."""

    folder: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Redis:
        if not Path(REDIS_SERVER).exists():
            raise RuntimeError("redis-server is missing: `make test` installs Debian's redis-server (apt-get, as root)")
        self.port = self.port or free_port()
        log = self.folder / "redis.log"
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self.process = subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=1)
        _wait("redis-server", client.ping, self.process, log)
        client.close()
        return self

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)

    def restart(self) -> None:
        """Stopped and started again on the same port, empty."""
        self.stop()
        self.start()


@dataclass
class Postgres:
    """A PostgreSQL cluster of its own on a free port; `database(name)` makes an empty database and gives its URL."""

    folder: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def _as_postgres(self) -> dict[str, Any]:
        """As root, run as Debian's postgres user: as this process's own child (not under runuser, which would
        not pass on the signals that stop the server)."""
        if os.geteuid() != 0:
            return {}
        user = pwd.getpwnam("postgres")
        return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def start(self) -> Postgres:
        binaries = _postgres_bin()
        data = self.folder / "data"
        if not data.exists():
            data.mkdir(parents=True)
            if os.geteuid() == 0:
                user = pwd.getpwnam("postgres")
                for path in (self.folder, data):
                    os.chown(path, user.pw_uid, user.pw_gid)
            subprocess.run(
                [str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "planner", "--no-sync", "-E", "UTF8"],
                check=True,
                capture_output=True,
                **self._as_postgres(),
            )
        self.port = self.port or free_port()
        log = self.folder / "postgres.log"
        if not log.exists():
            log.touch()
            if os.geteuid() == 0:
                user = pwd.getpwnam("postgres")
                os.chown(log, user.pw_uid, user.pw_gid)
        settings = ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}", "-c", "fsync=off", "-c", "max_connections=200"]
        self.process = subprocess.Popen(
            [str(binaries / "postgres"), "-D", str(data), "-p", str(self.port), *settings],
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            **self._as_postgres(),
        )
        _wait("postgres", lambda: self._connect("postgres").close() is None, self.process, log)
        return self

    def _connect(self, database: str) -> Any:
        import psycopg

        return psycopg.connect(f"postgresql://planner@127.0.0.1:{self.port}/{database}", autocommit=True, connect_timeout=2)

    def database(self, name: str) -> str:
        """A new, empty database: its SQLAlchemy URL."""
        with self._connect("postgres") as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://planner@127.0.0.1:{self.port}/{name}"

    def stop(self, fast: bool = True) -> None:
        if self.process is not None:
            _stop(self.process, signal.SIGINT if fast else signal.SIGTERM)  # SIGINT: PostgreSQL's fast shutdown

    def restart(self) -> None:
        self.stop()
        self.start()


def scratch(prefix: str) -> Path:
    """A scratch folder any user can enter (the postgres user must reach its data folder under it)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder
