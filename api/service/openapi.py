"""Operations declared once, with their pydantic models: the same declaration checks the request and writes the spec.

`@operation(...)` on a view names who may call it, the query and body models it takes and the responses it
gives. At request time it authenticates, parses the query string and the JSON body into those models (a
located 422 when they do not fit) and hands them to the view. `spec(app)` walks the app's routes and
builds the OpenAPI 3.1 document from the same declarations, with every model's JSON Schema (pydantic
writes JSON Schema 2020-12, which OpenAPI 3.1 uses as is) and the examples the models carry. Nothing in
the spec is written by hand: an operation's id is its summary in snake_case (`get plan` is `get_plan`), and
the service's own limits (the ceiling on a job's time limit, the largest body) are read from its config.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_origin

from flask import Flask, Response, json, request, send_from_directory
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from api.service import auth
from api.service.problems import MEDIA_TYPE, ApiProblem, ProblemDetails
from planner import __version__
from planner.errors import Location, Problem, ScenarioError, format_path
from planner.source import readable

JSON = "application/json"
Media = dict[str, "type[BaseModel] | tuple[type[BaseModel], ...] | None"]  # media type -> model, any of models, or None: text


@dataclass(frozen=True)
class Reply:
    """One documented response: what it means and what it carries, per media type."""

    description: str
    content: Media = field(default_factory=dict)
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Operation:
    summary: str
    role: auth.Role | None
    tag: str
    replies: dict[int, Reply]
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    raw_body: dict[str, Any] | None = None  # a body the view reads itself (a scenario document): media type -> schema
    description: str = ""


def operation(
    summary: str,
    *,
    role: auth.Role | None,
    tag: str,
    replies: dict[int, Reply],
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    raw_body: dict[str, Any] | None = None,
    description: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    declared = Operation(summary, role, tag, replies, query, body, raw_body, description)

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def run(**path: Any) -> Any:
            if role is not None:
                auth.require(role)
            kwargs = dict(path)
            if query is not None:
                kwargs["query"] = parse(query, _query_data(query), "query")
            if body is not None:
                kwargs["body"] = parse(body, _json_body(), "body")
            return view(**kwargs)

        run.operation = declared  # type: ignore[attr-defined]  # a function's own attributes have no declared type
        return run

    return wrap


def reply(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(model.model_dump_json(), status=status, mimetype=JSON)
    response.headers.update(headers or {})
    return response


# --- reading requests ----------------------------------------------------------------------------------


def _query_data(model: type[BaseModel]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in request.args:
        info = model.model_fields.get(name)
        many = info is not None and get_origin(info.annotation) is list
        data[name] = request.args.getlist(name) if many else request.args.get(name)
    return data


def _json_body() -> Any:
    if not request.get_data(cache=True):
        return {}
    if not request.is_json:
        raise ApiProblem(415, f"send the body as {JSON}, not {request.mimetype or 'no content type'}")
    try:
        return json.loads(request.get_data(cache=True))
    except ValueError as exc:
        raise ApiProblem(400, f"the body is not valid JSON: {exc}") from None


# Characters no scenario holds as written: C0 controls but tab, line feed and carriage return; DEL; C1
# controls but NEL (which YAML reads as a line break). JSON and YAML both refuse them raw in text.
def readable_text(body: bytes) -> bytes:
    """The body of a document, once it is known to be text (`planner.source.readable`); else a 400 located
    at the first offending byte or character, before the document is parsed: `/scenarios/validate`
    answers `valid: false` for a document that is wrong, but a body that is not text is not a document."""
    try:
        readable(body, "<body>")
    except ScenarioError as exc:
        (problem,) = exc.as_problems()
        where = problem.location
        raise ApiProblem(400, f"the body is not a document: {problem.message} (line {where.line}, column {where.column})", errors=[problem]) from None
    return body


def parse(model: type[BaseModel], data: Any, where: str) -> Any:
    """`data` as `model`, or a 422 locating each problem at its field path in `where` (query, body, form)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(error, where) for error in exc.errors()]
        raise ApiProblem(422, f"the request's {where} has {len(problems)} problem{'s' if len(problems) != 1 else ''}", errors=problems) from None


def _problem(error: Any, where: str) -> Problem:
    path = format_path(tuple(error["loc"]))
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = f"unknown field '{error['loc'][-1]}'"
    return Problem(message=message, location=Location(file=f"<{where}>", path=path))


# --- the spec ------------------------------------------------------------------------------------------

_PATH_PARAMETER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
_STANDARD = {
    400: Reply(
        "The body cannot be read: not JSON, empty where a document is needed, not UTF-8 text, or holding a control character "
        "(NUL, ESC, ...); located at the first offending byte in `errors`.",
        {MEDIA_TYPE: ProblemDetails},
    ),
    401: Reply("No valid bearer token.", {MEDIA_TYPE: ProblemDetails}, ("WWW-Authenticate",)),
    403: Reply("The token's role may not do this.", {MEDIA_TYPE: ProblemDetails}),
    404: Reply("No such resource in the token's workspace.", {MEDIA_TYPE: ProblemDetails}),
    413: Reply("The body is larger than this service takes, whether it declares its length or is sent chunked.", {MEDIA_TYPE: ProblemDetails}),
    # gunicorn refuses a long request line before the service sees it, so this answer is its own HTML page.
    414: Reply("The request line (method, path and query) is longer than 4,094 bytes: the HTTP server refuses it, as an HTML page.", {"text/html": None}),
    422: Reply("The request does not fit its schema; each problem is located in `errors`.", {MEDIA_TYPE: ProblemDetails}),
    503: Reply(
        "The database does not answer just now; nothing of the request was stored. Try again (`Retry-After`).", {MEDIA_TYPE: ProblemDetails}, ("Retry-After",)
    ),
    507: Reply("The database's disk is full; nothing of the request was stored. Reads still work.", {MEDIA_TYPE: ProblemDetails}, ("Retry-After",)),
}


def documented(app: Flask) -> list[tuple[str, str, Operation]]:
    """(path, method, operation) of every declared route outside the version alias, sorted."""
    found = []
    for rule in app.url_map.iter_rules():
        declared = getattr(app.view_functions[rule.endpoint], "operation", None)
        if declared is None or rule.rule.startswith("/v1/"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.rule, method.lower(), declared))
    return sorted(found, key=lambda item: (item[0], item[1]))


def operation_ids(operations: list[tuple[str, str, Operation]]) -> list[str]:
    """Each operation's id: its summary in snake_case (`get plan`: `get_plan`), with the method in front
    only where two operations share a summary, so that every id is unique."""
    names = [re.sub(r"[^a-z0-9]+", "_", op.summary.lower()).strip("_") for _, _, op in operations]
    return [name if names.count(name) == 1 else f"{method}_{name}" for name, (_, method, _) in zip(names, operations)]


def spec(app: Flask) -> dict[str, Any]:
    operations = documented(app)
    config = app.extensions["planner"].config
    ceiling, budget = config.max_time_limit, config.max_job_seconds
    models: set[type[BaseModel]] = {ProblemDetails}
    for _, _, op in operations:
        models.update(m for m in (op.query, op.body) if m is not None)
        models.update(m for r in op.replies.values() for c in r.content.values() for m in _models(c))
    refs, schemas = models_json_schema(
        [(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for (rule, method, op), operation_id in zip(operations, operation_ids(operations)):
        path = _PATH_PARAMETER.sub(r"{\1}", rule)
        out = _operation(op, method, _PATH_PARAMETER.findall(rule), lambda m: refs[m, "serialization"])
        limited = _time_limits(op.body) if op.body is not None else []
        if limited:
            # The settings' own schema allows a day; the service runs a job for at most its ceiling.
            fields = " and ".join(f"`{f}`" for f in limited)
            out["description"] = (
                out.get("description", "") + f" {fields} is at most {ceiling:g} s on this service (`max_time_limit`), and the job's solver "
                f"time in all at most {budget:g} s (`max_job_seconds`): more gets 422."
            ).strip()
        paths.setdefault(path, {})[method] = {"operationId": operation_id, **out}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Portfolio planner",
            "version": __version__,
            "description": (
                "Scenarios, solve jobs, plans, explanations and comparisons. Every path is also served under `/v1`. "
                "Errors are problem+json (RFC 9457). Send `Authorization: Bearer <token>`; roles: viewer (read), "
                "planner (scenarios and jobs), admin (tokens). "
                f"A job's time limit is at most {ceiling:g} s on this service; bodies are at most "
                f"{app.config['MAX_CONTENT_LENGTH']:,} bytes (413 above that); a request line over 4,094 bytes gets 414."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _time_limits(model: type[BaseModel], prefix: str = "") -> list[str]:
    """The paths of the `time_limit` fields in a request body (`time_limit`, `settings.time_limit`)."""
    found = []
    for name, info in model.model_fields.items():
        if name == "time_limit":
            found.append(prefix + name)
        elif isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            found += _time_limits(info.annotation, f"{prefix}{name}.")
    return found


def _example(model: type[BaseModel]) -> dict[str, Any]:
    """`{"example": ...}` for a media type carrying `model`, when the model has an example."""
    extra = model.model_config.get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, dict) else None
    return {"example": examples[0]} if isinstance(examples, list) and examples else {}


def _operation(op: Operation, method: str, path_parameters: list[str], ref: Callable[[type[BaseModel]], Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": op.summary, "tags": [op.tag]}
    if op.description:
        out["description"] = op.description
    parameters = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in path_parameters]
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, prop in schema.get("properties", {}).items():
            prop = {k: v for k, v in prop.items() if k != "title"}
            parameter = {"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop}
            if "description" in prop:
                parameter["description"] = prop["description"]
            if prop.get("type") == "array":
                parameter.update(style="form", explode=True)
            parameters.append(parameter)
    if parameters:
        out["parameters"] = parameters
    if op.body is not None:
        out["requestBody"] = {"required": False, "content": {JSON: {"schema": ref(op.body), **_example(op.body)}}}
    elif op.raw_body is not None:
        out["requestBody"] = {"required": True, "content": {media: {"schema": schema} for media, schema in op.raw_body.items()}}
    replies = dict(op.replies)
    if op.role is not None:
        replies.setdefault(401, _STANDARD[401])
        replies.setdefault(403, _STANDARD[403])
    if path_parameters:
        replies.setdefault(404, _STANDARD[404])
    if op.query is not None or op.body is not None:
        replies.setdefault(422, _STANDARD[422])
    if op.body is not None or op.raw_body is not None:
        replies.setdefault(400, _STANDARD[400])
        replies.setdefault(413, _STANDARD[413])
    replies.setdefault(414, _STANDARD[414])
    if op.role is not None:  # every operation that reads or writes the database
        replies.setdefault(503, _STANDARD[503])
        if method != "get":
            replies.setdefault(507, _STANDARD[507])
    out["responses"] = {str(status): _reply(r, ref) for status, r in sorted(replies.items())}
    out["security"] = [{"bearer": []}] if op.role is not None else []
    return out


def _models(content: Any) -> tuple[type[BaseModel], ...]:
    return () if content is None else content if isinstance(content, tuple) else (content,)


def _reply(r: Reply, ref: Callable[[type[BaseModel]], Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"description": r.description}
    if r.content:
        out["content"] = {}
        for media, content in r.content.items():
            models = _models(content)
            refs = [ref(m) for m in models]
            schema = {"type": "string"} if not refs else refs[0] if len(refs) == 1 else {"anyOf": refs}
            out["content"][media] = {"schema": schema, **(_example(models[0]) if len(models) == 1 else {})}
    if r.headers:
        out["headers"] = {h: {"schema": {"type": "string"}} for h in r.headers}
    return out


def serve(app: Flask) -> None:
    """`/openapi.json` and the interactive docs at `/docs` (Swagger UI, from the service's own static files)."""

    built: list[str] = []  # the routes are fixed once the app serves, so the document is built on first request

    @app.get("/openapi.json")
    def openapi_json() -> Response:
        if not built:
            built.append(json.dumps(spec(app)))
        return Response(built[0], mimetype=JSON)

    @app.get("/docs")
    def docs() -> Response:
        return Response(_DOCS_PAGE, mimetype="text/html")

    @app.get("/docs/static/<path:name>")
    def docs_static(name: str) -> Response:
        import flask_swagger_ui

        return send_from_directory(Path(flask_swagger_ui.__file__).parent / "dist", name, max_age=86400)


_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Portfolio planner API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui", persistAuthorization: true});</script>
</body></html>
"""
