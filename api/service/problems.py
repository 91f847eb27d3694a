"""Every error the service returns is problem+json (RFC 9457), from the handlers registered here, in one place.

The planner's own errors map to statuses here (`ScenarioError` 422 with each located problem, `NotFound`
404); everything the service refuses itself is an `ApiProblem`. A bug still answers problem+json, with a
500 and a reference to the log line, never a stack trace.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, json, request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from api.service.db import storage_full
from planner.errors import NotFound, PlannerError, Problem, ScenarioError

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("planner.service")

TITLES = {
    400: "Malformed request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Version conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many jobs",
    500: "Internal error",
    503: "Not ready",
    507: "Insufficient storage",
}


class ProblemDetails(BaseModel):
    """An error response (RFC 9457). `errors` lists each located problem of an invalid scenario or request."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", description="A URI naming the kind of problem; `about:blank` when the status says it all.")
    title: str = Field(description="The status in words.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong in this request, for a person.")
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[Problem] | None = Field(default=None, description="Each problem found, located (file, line, column, field path).")


class ApiProblem(Exception):
    """A request the service refuses: a status, a sentence, and optionally the located problems and headers."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[Problem] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers, self.extra = status, detail, errors, headers or {}, extra


# The web page's errors are pages: `register(app, page=...)` sets how one is drawn (status, detail, errors).
ErrorPage = Callable[[int, str, list[Problem]], Response]
UI_PREFIX = "/ui"


def _on_the_page() -> bool:
    return request.path == UI_PREFIX or request.path.startswith(UI_PREFIX + "/")


def problem_response(status: int, detail: str, *, errors: list[Problem] | None = None, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    page: ErrorPage | None = current_app.extensions.get("planner.error_page")
    if page is not None and _on_the_page():
        response = page(status, detail, errors or [])
        response.headers.update({k: v for k, v in (headers or {}).items() if k != "WWW-Authenticate"})
        return response
    body = ProblemDetails(title=TITLES.get(status, "Error"), status=status, detail=detail, instance=request.path, errors=errors, **extra)
    response = Response(json.dumps(body.model_dump(mode="json", exclude_none=True)), status=status, mimetype=MEDIA_TYPE)
    response.headers.update(headers or {})
    return response


def register(app: Flask, page: ErrorPage | None = None) -> None:
    """The error handlers: problem+json for the API; for the web page's paths (under /ui), `page`'s HTML."""
    if page is not None:
        app.extensions["planner.error_page"] = page

    @app.errorhandler(ApiProblem)
    def _api_problem(exc: ApiProblem) -> Response:
        return problem_response(exc.status, exc.detail, errors=exc.errors, headers=exc.headers, **exc.extra)

    @app.errorhandler(ScenarioError)
    def _invalid(exc: ScenarioError) -> Response:
        problems = [p if isinstance(p, Problem) else Problem(message=p.message) for p in exc.problems]
        count = len(problems)
        return problem_response(422, f"the scenario has {count} problem{'s' if count != 1 else ''}; each is located in `errors`", errors=problems)

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound) -> Response:
        return problem_response(404, str(exc))

    @app.errorhandler(PlannerError)
    def _planner_error(exc: PlannerError) -> Response:
        return problem_response(422, str(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        detail = {
            404: f"no page '{request.path}' here: start at {UI_PREFIX}/" if _on_the_page() else "no such resource: see /openapi.json for the paths",
            405: "this path does not take that method",
            413: f"the request body is larger than the {app.config['MAX_CONTENT_LENGTH'] // 1024} KB limit",
        }.get(status, exc.description or TITLES.get(status, "error"))
        headers = {"Allow": ", ".join(exc.valid_methods)} if isinstance(exc, MethodNotAllowed) and exc.valid_methods else None
        return problem_response(status, detail, headers=headers)

    @app.errorhandler(OperationalError)
    def _storage(exc: OperationalError) -> Response:
        # The database cannot write (or answer) just now; the transaction was rolled back, so nothing is half-stored.
        log.error("the database could not serve %s %s: %s", request.method, request.path, str(exc.orig).splitlines()[0] if exc.orig else exc)
        if storage_full(exc):
            return problem_response(
                507, "the service's storage is full: nothing of this request was stored; try again once space is freed", headers={"Retry-After": "60"}
            )
        return problem_response(503, "the database does not answer just now: nothing of this request was stored; try again", headers={"Retry-After": "5"})

    @app.errorhandler(Exception)
    def _bug(exc: Exception) -> Response:
        reference = secrets.token_hex(4)
        log.exception("unhandled error %s", reference)
        return problem_response(500, f"the service failed on this request; the log names it {reference}")
