"""Servers shared by the whole run, started the first time a test asks for one and stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import Postgres, Redis, scratch


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    server = Postgres(scratch("planner-pg-")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Redis]:
    server = Redis(scratch("planner-redis-")).start()
    yield server
    server.stop()
