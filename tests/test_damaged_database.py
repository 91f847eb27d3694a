"""A damaged SQLite database: the service refuses to start on it, saying what to do, and `/readyz` finds
pages garbled while it runs. Before, `planner serve` died with a double traceback and /readyz said ready."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.service import close, make_api

PLANNER = [sys.executable, "-m", "api"]


def instance_with_a_database(folder: Path) -> Path:
    made = subprocess.run(
        [*PLANNER, "tokens", "create", "--role", "planner", "--name", "x", "--instance", str(folder)], capture_output=True, text=True, timeout=60
    )
    assert made.returncode == 0, made.stderr
    return folder / "planner.db"


def garble(database: Path, offset: int, size: int) -> None:
    with open(database, "r+b") as handle:
        handle.seek(offset)
        handle.write(os.urandom(size))


def test_serve_refuses_a_file_that_is_not_a_database_in_one_sentence(tmp_path: Path) -> None:
    database = instance_with_a_database(tmp_path)
    garble(database, 0, 100)  # the header
    done = subprocess.run([*PLANNER, "serve", "--instance", str(tmp_path), "--port", "0"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"planner: the database {database} is damaged (file is not a database): restore it from a backup, or move it aside to start with an empty one"
    )


def test_a_token_command_on_garbled_pages_says_which_pages(tmp_path: Path) -> None:
    database = instance_with_a_database(tmp_path)
    garble(database, 4096 * 10, 4096 * 4)
    done = subprocess.run([*PLANNER, "tokens", "list", "--instance", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"the database {database} is damaged (" in done.stderr and "Page " in done.stderr


def test_readyz_finds_pages_garbled_while_the_service_runs(tmp_path: Path) -> None:
    api = make_api(tmp_path, integrity_seconds=0)
    try:
        api.reference()  # pages with data in them
        with api.app.extensions["planner"].engine.connect() as connection:  # moved from the write-ahead log into the file
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        deadline = time.monotonic() + 60
        while (ready := api.client.get("/readyz")).status_code != 200:  # until the runner's solver process reports
            assert time.monotonic() < deadline and "runner" in ready.get_json()["detail"], ready.get_json()
            time.sleep(0.2)
        garble(tmp_path / "planner.db", 4096 * 5, 4096 * 6)
        answer = api.client.get("/readyz")
        assert answer.status_code == 503 and answer.get_json()["detail"].startswith("the database is damaged: ")
    finally:
        close(api)


def test_a_database_in_a_folder_named_with_a_hash_is_checked_itself(tmp_path: Path) -> None:
    # The check opens the file by URI: unquoted, `#1` was a fragment and it checked a new empty file `inst`.
    database = instance_with_a_database(tmp_path / "inst#1")
    garble(database, 0, 100)
    done = subprocess.run([*PLANNER, "tokens", "list", "--instance", str(tmp_path / "inst#1")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "is damaged (file is not a database)" in done.stderr
    assert not (tmp_path / "inst").exists()
