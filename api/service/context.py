"""What a request handler works with: the service (`service()`) of the app handling the request.

`create_app` puts one `Service` in the app; route modules reach it through `service()` and so never
import the app module, which imports them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from api.service.config import ServiceConfig
from api.service.jobs import Runner


@dataclass
class Service:
    """One app's configuration, database and job runner."""

    config: ServiceConfig
    engine: Engine
    sessions: sessionmaker
    runner: Runner
    waiting: threading.BoundedSemaphore = field(init=False)  # `?wait=` answers held at once (`ServiceConfig.max_waiting`)

    def __post_init__(self) -> None:
        self.waiting = threading.BoundedSemaphore(self.config.max_waiting)

    def session(self) -> Any:
        return self.sessions()


def service() -> Service:
    """The service of the app handling the current request."""
    return current_app.extensions["planner"]
