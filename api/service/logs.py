"""The service's log lines: gunicorn's access and error logs and the service's own (`planner.*`), as text or JSON.

Text keeps gunicorn's own formats. JSON is one object per line, for a log shipper: `time` (UTC, ISO 8601),
`level`, `logger`, `message` and `pid`; an access line adds the request (`method`, `path`, `query`,
`status`, `bytes`, `duration_ms`, `remote`, `user_agent`), a line written while a request is handled adds
its `method` and `path`, and an error adds its `exception` (the traceback, in the same line).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

from gunicorn.glogging import Logger as GunicornLogger

LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["text", "json"]
LEVELS: tuple[LogLevel, ...] = ("debug", "info", "warning", "error")
FORMATS: tuple[LogFormat, ...] = ("text", "json")

# gunicorn's access-log atoms (`%(s)s` and so on) under the names a reader of the JSON expects.
_ACCESS_FIELDS = {"m": "method", "U": "path", "q": "query", "s": "status", "B": "bytes", "M": "duration_ms", "h": "remote", "a": "user_agent"}
_TEXT = logging.Formatter(GunicornLogger.error_fmt, GunicornLogger.datefmt)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (a traceback is a string field, its newlines escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            atoms = record.args
            line["message"] = f"{atoms['m']} {atoms['U']} {atoms['s']}"
            line.update({name: atoms[atom] for atom, name in _ACCESS_FIELDS.items() if atoms.get(atom) not in (None, "", "-")})
            if "status" in line:
                line["status"] = int(line["status"])
        else:
            line["message"] = record.getMessage()
            line.update(_request_fields())
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def _request_fields() -> dict[str, str]:
    """The request being handled when the line was written, if any (the service's lines inside a view)."""
    from flask import has_request_context, request

    return {"method": request.method, "path": request.path} if has_request_context() else {}


class JsonGunicornLogger(GunicornLogger):
    """gunicorn's logger with every handler it sets up writing JSON lines."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in (*self.error_log.handlers, *self.access_log.handlers):
            handler.setFormatter(JsonFormatter())


_configured: tuple[LogLevel, LogFormat] | None = None


def configured() -> tuple[LogLevel, LogFormat] | None:
    """What `configure` was last given in this process: a solver process it spawns is configured alike."""
    return _configured


def configure(level: LogLevel, fmt: LogFormat) -> None:
    """The service's own loggers (`planner.*`) write to stderr at `level`, formatted as gunicorn's lines are."""
    global _configured
    _configured = (level, fmt)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else _TEXT)
    service = logging.getLogger("planner")
    for old in list(service.handlers):
        service.removeHandler(old)
    service.addHandler(handler)
    service.setLevel(level.upper())
    service.propagate = False


def gunicorn_settings(level: LogLevel, fmt: LogFormat) -> dict[str, Any]:
    """The gunicorn settings for these logs: access and error lines on stdout and stderr."""
    return {"accesslog": "-", "errorlog": "-", "loglevel": level, "logger_class": JsonGunicornLogger if fmt == "json" else GunicornLogger}
