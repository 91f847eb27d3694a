"""What a request handler works with: the service (`service()`) of the app handling the request.

`create_app` puts one `Service` in the app; route modules reach it through `service()` and so never
import the app module, which imports them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from api.service.config import ServiceConfig
from api.service.db import damage
from api.service.jobs import Runner


@dataclass
class Service:
    """One app's configuration, database and job runner."""

    config: ServiceConfig
    engine: Engine
    sessions: sessionmaker
    runner: Runner
    waiting: threading.BoundedSemaphore = field(init=False)  # `?wait=` answers held at once (`ServiceConfig.max_waiting`)
    checked: tuple[float, str | None] = (float("-inf"), None)  # the database file's last check: when, what was wrong

    def __post_init__(self) -> None:
        self.waiting = threading.BoundedSemaphore(self.config.max_waiting)

    def session(self) -> Any:
        return self.sessions()

    def damage(self) -> str | None:
        """What is wrong with the database's file (`db.damage`), read at most every `integrity_seconds`: it reads the whole file."""
        when, found = self.checked
        if time.monotonic() - when >= self.config.integrity_seconds:
            found = damage(self.engine)
            self.checked = (time.monotonic(), found)
        return found


def service() -> Service:
    """The service of the app handling the current request."""
    return current_app.extensions["planner"]
