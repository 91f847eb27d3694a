"""Loading scenarios (files or text, YAML or JSON, overlays resolved) and plan files, every problem located.

`load` never lets a traceback reach the user for bad input: everything wrong with a document comes back
as one `ScenarioError` listing every problem found, each with file, line, column, field path and a
plain sentence.
"""

from __future__ import annotations

import json
import os
import stat
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from planner.errors import Location, NotFound, Path, PathProblem, Problem, ScenarioError, Severity, did_you_mean
from planner.overlay import apply_overlay
from planner.plan import Plan
from planner.scenario import Scenario
from planner.source import MAX_BYTES, Document, SourceNode, parse_text
from planner.validation import find_warnings

MAX_EXTENDS_DEPTH = 16

Resolver = Callable[[str, Document], tuple[str, Document]]
"""Finds the base an overlay `extends`: (reference, the overlay) -> (a key naming the base uniquely, its document)."""


@dataclass(frozen=True)
class Loaded:
    """A valid scenario and what is valid but suspicious about it."""

    scenario: Scenario
    warnings: list[Problem]


def read_document(path: str | os.PathLike[str], *, shape: str | None = None, regular: bool = False) -> Document:
    """Parse one file, with its size checked before it is read (`shape`: what a document of its kind looks like)."""
    return parse_text(read_file(path, regular=regular), name=str(path), shape=shape)


def read_file(path: str | os.PathLike[str], *, regular: bool = False) -> bytes:
    """A document file's bytes, its size checked before it is read (raises ScenarioError naming the file).

    With `regular`, only a regular file is read: a file named inside a document (`extends:`) may not be a
    pipe or a device, which could block for ever or never end. A file the user names may be either, e.g.
    `planner check <(generate)`.
    """
    name = str(path)
    try:
        status = os.stat(path)
        if regular and not stat.S_ISREG(status.st_mode) and not stat.S_ISDIR(status.st_mode):
            raise _fail(name, "is not a regular file (a pipe or a device?); a base scenario must be a file")
        size = status.st_size
        if size > MAX_BYTES:
            raise _fail(name, f"the file is {size / 1024 / 1024:.1f} MB; scenarios are limited to {MAX_BYTES // 1024 // 1024} MB")
        with open(path, "rb") as handle:
            content = handle.read(MAX_BYTES + 1)
    except IsADirectoryError:
        raise _fail(name, "is a directory, not a scenario file") from None
    except FileNotFoundError:
        raise _fail(name, "no such file") from None
    except OSError as exc:
        raise _fail(name, f"cannot read the file: {exc.strerror or exc}") from None
    return content  # at most one byte over the limit, which parsing refuses (a pipe has no size to check first)


def file_resolver(reference: str, overlay: Document) -> tuple[str, Document]:
    """Resolve `extends: base.yaml` relative to the overlay's own file."""
    folder = FsPath(overlay.name).parent if overlay.name else FsPath.cwd()
    path = folder / reference
    # Name the base the way the overlay was named: relative when the user typed a relative path.
    shown = path if path.is_absolute() else FsPath(os.path.relpath(path))
    return str(path.resolve()), read_document(shown, regular=True)


def load(
    source: str | os.PathLike[str] | Document,
    *,
    resolver: Resolver = file_resolver,
    previous: str | os.PathLike[str] | None = None,
) -> Loaded:
    """Load and validate a scenario from a file path or a parsed document.

    `previous` is a plan JSON file to re-plan against, in place of the scenario's own `previous_plan`.
    Raises ScenarioError listing every problem, each located.
    """
    top = source if isinstance(source, Document) else read_document(source)
    key = str(FsPath(top.name).resolve()) if top.name and not isinstance(source, Document) else top.name
    try:
        document = _resolve_extends(top, resolver, [key or "<input>"])
        document = _resolve_previous_plan(document, resolver, previous)
        try:
            scenario = Scenario.model_validate(document.data)
        except ValidationError as exc:
            raise ScenarioError(_sorted(_from_pydantic(error, document) for error in exc.errors())) from None
        except ScenarioError as exc:
            raise ScenarioError(_sorted(_locate(problem, document) for problem in exc.problems)) from None
        except RecursionError:
            raise _fail(document.name, "the document is nested too deeply") from None
    except ScenarioError as exc:
        raise ScenarioError(_through_extends(exc.as_problems(), top)) from None
    warnings = _sorted(_locate(problem, document) for problem in find_warnings(scenario))
    return Loaded(scenario=scenario, warnings=_through_extends(warnings, top))


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """The validated scenario in a file (raises ScenarioError)."""
    return load(path).scenario


def parse_scenario(text: str | bytes, *, name: str | None = None, fmt: str | None = None, resolver: Resolver = file_resolver) -> Loaded:
    """Validate a scenario given as text (YAML or JSON), as the API receives it."""
    return load(parse_text(text, name=name, fmt=fmt), resolver=resolver)


def dump_scenario(scenario: Scenario, fmt: str = "yaml") -> str:
    """The scenario as a user would write it: defaults left out, numbers plain; `load` reads it back equal."""
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    raise ValueError(f"unknown format {fmt!r}: use yaml or json")


# --- extends ---------------------------------------------------------------------------------------------


def _resolve_extends(document: Document, resolver: Resolver, chain: list[str]) -> Document:
    if "extends" not in document.data:
        return document
    reference = document.data["extends"]
    where = document.source.locate(("extends",))
    if not isinstance(reference, str) or not reference.strip():
        raise ScenarioError([Problem(message="`extends` names the base scenario file, e.g. `extends: acme-2027.yaml`", location=where)])
    if len(chain) > MAX_EXTENDS_DEPTH:
        raise ScenarioError([Problem(message=f"overlays extend each other more than {MAX_EXTENDS_DEPTH} deep", location=where)])
    key, base = _fetch(resolver, reference, document, where, "the base scenario")
    if key in chain:
        loop = " -> ".join(os.path.basename(k) for k in chain[chain.index(key) :] + [key])
        raise ScenarioError([Problem(message=f"`extends` loops: {loop}", location=where)])
    base = _resolve_extends(base, resolver, chain + [key])
    # Expectations describe one file's outcome; the overlay's changes are the point of it, so it states its own.
    base = Document(data={k: v for k, v in base.data.items() if k != "expect"}, source=base.source, name=base.name)
    changes = Document(data={k: v for k, v in document.data.items() if k != "extends"}, source=document.source, name=document.name)
    return apply_overlay(base, changes)


# --- previous_plan -----------------------------------------------------------------------------------------


def _resolve_previous_plan(document: Document, resolver: Resolver, override: str | os.PathLike[str] | None) -> Document:
    """Replace a `previous_plan` file reference (or the `--previous` file) by the starts the plan lists.

    Problems with those starts are then located in the plan file, at the `start` they came from.
    """
    if override is not None:
        plan = read_document(override, shape=PLAN_SHAPE)
    else:
        reference = document.data.get("previous_plan")
        if not isinstance(reference, str):
            return document  # absent, or written inline: validated with the rest of the scenario
        node = document.source.children.get("previous_plan", document.source)
        where = document.source.locate(("previous_plan",))
        if not reference.strip():
            raise ScenarioError([Problem(message="`previous_plan` names a plan JSON file, e.g. `previous_plan: plans/2027-q1.json`", location=where)])
        # Relative to the file that wrote the reference, which for an overlay may be its base.
        writer = Document(data={}, source=node, name=node.mark.file if node.mark else document.name)
        _, plan = _fetch(resolver, reference, writer, where, "the previous plan")
    starts, source = _plan_starts(plan)
    children = dict(document.source.children)
    children["previous_plan"] = source
    return Document(
        data={**document.data, "previous_plan": starts},
        source=SourceNode(mark=document.source.mark, key_mark=document.source.key_mark, children=children),
        name=document.name,
    )


def _plan_starts(plan: Document) -> tuple[dict[str, Any], SourceNode]:
    """The start of each initiative a plan JSON (`planner solve --format json`) schedules, and where each is written."""
    data, locate = plan.data, plan.source.locate
    status = data.get("status")
    if status in ("infeasible", "unknown"):
        raise ScenarioError([Problem(message=f"the previous plan has status {status}: it schedules nothing to keep", location=locate(("status",)))])
    scheduled = data.get("scheduled")
    if not isinstance(scheduled, list):
        raise ScenarioError(
            [
                Problem(
                    message="not a plan: a plan JSON written by `planner solve --format json` lists its `scheduled` initiatives",
                    location=locate(("scheduled",)),
                )
            ]
        )
    starts: dict[str, Any] = {}
    source = SourceNode(mark=plan.source.mark)
    problems = []
    for n, item in enumerate(scheduled):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get("start"), str):
            problems.append(Problem(message="a scheduled initiative needs an `id` and a `start` period label", location=locate(("scheduled", n))))
        elif item["id"] in starts:
            problems.append(Problem(message=f"'{item['id']}' is scheduled twice", location=locate(("scheduled", n, "id"))))
        else:
            starts[item["id"]] = item["start"]
            entry = plan.source.children.get("scheduled", SourceNode()).children.get(n, SourceNode())
            source.children[item["id"]] = entry.children.get("start", entry)
    if problems:
        raise ScenarioError(problems)
    return starts, source


# --- plan files --------------------------------------------------------------------------------------------

PLAN_SHAPE = "a plan, as `planner solve --format json` writes it, starts with keys like `scenario`, `status` and `scheduled`"


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """A plan JSON file (written by `planner solve --format json`, edited by hand or made elsewhere), read whole.

    Raises ScenarioError listing every problem, each located: line and column for a syntax error, the
    field path (and where it stands) for a missing key, an unknown one or a value of the wrong type.
    """
    document = read_document(path, shape=PLAN_SHAPE)
    problems: list[Problem] = []
    if "scheduled" not in document.data:
        # The model reads a missing list as empty, but a plan file without one has lost its decisions:
        # it would be checked as a plan that schedules nothing.
        problems.append(
            Problem(
                message="missing required key 'scheduled': a plan lists the initiatives it schedules (`[]` for none)",
                location=document.source.locate(("scheduled",)),
            )
        )
    try:
        plan = Plan.model_validate(document.data)
    except ValidationError as exc:
        problems += [_from_pydantic(error, document, Plan) for error in exc.errors()]
    except RecursionError:
        raise _fail(document.name, "the document is nested too deeply") from None
    if problems:
        raise ScenarioError(_sorted(problems))
    return plan


def _fetch(resolver: Resolver, reference: str, referrer: Document, where: Location, what: str) -> tuple[str, Document]:
    """The document a reference names; a missing one is reported where the reference is written."""
    try:
        return resolver(reference, referrer)
    except ScenarioError as exc:
        if len(exc.problems) == 1 and exc.problems[0].message == "no such file":
            raise ScenarioError([Problem(message=f"{what} '{reference}' does not exist", location=where)]) from None
        if all(p.location.line is None for p in exc.as_problems()):  # the file as a whole: say so where it is named
            raise ScenarioError([Problem(message=f"{what} '{reference}' {p.message}", location=where) for p in exc.as_problems()]) from None
        raise
    except NotFound as exc:  # a resolver that looks elsewhere than files (the service's database)
        raise ScenarioError([Problem(message=f"{what}: {exc}", location=where)]) from None


# --- problems --------------------------------------------------------------------------------------------


def _through_extends(problems: list[Problem], top: Document) -> list[Problem]:
    """Problems located in an overlay's base also say which `extends` led there: the user edits the overlay."""
    if "extends" not in top.data:
        return problems
    where = top.source.locate(("extends",))
    via = f" (in the base scenario, named by `extends` at {where.file or '<input>'}:{where.line}:{where.column})"
    return [p.model_copy(update={"message": p.message + via}) if p.location.file not in (None, top.name) else p for p in problems]


def _fail(name: str | None, message: str) -> ScenarioError:
    return ScenarioError([Problem(message=message, location=Location(file=name))])


def _sorted(problems: typing.Iterable[Problem]) -> list[Problem]:
    def key(p: Problem) -> tuple[str, int, int]:
        loc = p.location
        return (loc.file or "", loc.line if loc.line is not None else 1 << 30, loc.column or 0)

    return sorted(problems, key=key)


def _locate(problem: Problem | PathProblem, document: Document) -> Problem:
    if isinstance(problem, Problem):
        return problem
    return Problem(message=problem.message, severity=problem.severity, location=document.source.locate(problem.path))


def _data_path(loc: tuple[Any, ...], data: Any) -> Path:
    """pydantic's error location with its type tags dropped, leaving keys and indices the user wrote."""
    path: list[str | int] = []
    current = data
    for n, part in enumerate(loc):
        if (isinstance(current, dict) and part in current) or (isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)):
            current = current[part]
        elif n == len(loc) - 1 and isinstance(current, dict):
            pass  # a missing key: not in the data, but it is what the error is about
        else:
            continue  # a union or function tag such as 'per_period' or 'function-after[...]'
        path.append(part)
    return tuple(path)


_EXPECTED = {
    "int": "a whole number",
    "float": "a number",
    "decimal": "a number",
    "bool": "true or false",
    "string": "text",
    "list": "a list",
    "dict": "a mapping",
    "model": "a mapping",
    "model_attributes": "a mapping",
}


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(error: ErrorDetails, path: Path, model: type[BaseModel] = Scenario) -> str:
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "missing":
        return f"missing required key '{path[-1]}'"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(path[:-1], model)
        hint = did_you_mean(path[-1], allowed)
        if not hint and allowed:
            hint = "; allowed here: " + ", ".join(sorted(allowed))
        return f"unknown key '{path[-1]}'{hint}"
    if kind == "value_error":
        return str(ctx.get("error") or error["msg"].removeprefix("Value error, "))
    if kind in ("enum", "literal_error"):
        expected = str(ctx.get("expected", ""))
        choices = [c.strip().strip("'") for c in expected.replace(" or ", ", ").split(",")]
        return f"{_shown(value)} is not one of {expected}" + did_you_mean(value, choices)
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {
            "greater_than_equal": ("at least", "ge"),
            "greater_than": ("more than", "gt"),
            "less_than_equal": ("at most", "le"),
            "less_than": ("less than", "lt"),
        }[kind]
        limit = ctx.get(bound[1])
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)  # a float field's bound of 0 reads "0", as the user would write it
        return f"must be {bound[0]} {limit}, got {_shown(value)}"
    if kind == "string_pattern_mismatch":
        return f"{_shown(value)} is not a valid id: use letters, digits, '-', '_', '.' or ':', starting with a letter or digit"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"is longer than {ctx.get('max_length')} characters"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind == "finite_number":
        return f"must be a finite number, got {_shown(value)}"
    if kind in ("decimal_max_places", "decimal_max_digits"):
        return f"has more decimals than the {ctx.get('decimal_places', ctx.get('max_digits'))} allowed here, got {_shown(value)}"
    for prefix, words in _EXPECTED.items():
        if kind.startswith(prefix + "_"):
            if kind == "int_from_float":
                return f"must be a whole number, got {_shown(value)}"
            return f"must be {words}, got {_shown(value)}"
    return str(error["msg"])


def _from_pydantic(error: ErrorDetails, document: Document, model: type[BaseModel] = Scenario) -> Problem:
    """A pydantic error on `model`, worded for a user and located in the document."""
    path = _data_path(tuple(error["loc"]), document.data)
    key = error["type"] == "extra_forbidden"
    return Problem(message=_message(error, path, model), location=document.source.locate(path, key=key))


def _allowed_keys(path: Path, model: type[BaseModel] = Scenario) -> set[str]:
    """The keys the model accepts at a path, for "did you mean" on an unknown key."""
    annotation: Any = model
    for part in path:
        annotation = _step(annotation, part)
        if annotation is None:
            return set()
    return {name for model in _models(annotation) for name in model.model_fields}


def _unwrap(annotation: Any) -> list[Any]:
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [inner for arg in get_args(annotation) for inner in _unwrap(arg)]
    return [annotation]


def _models(annotation: Any) -> list[type[BaseModel]]:
    return [a for a in _unwrap(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]


def _step(annotation: Any, part: str | int) -> Any:
    for option in _unwrap(annotation):
        if isinstance(option, type) and issubclass(option, BaseModel) and isinstance(part, str):
            field = option.model_fields.get(part)
            if field is not None:
                return field.annotation
        origin = get_origin(option)
        if origin is list and isinstance(part, int):
            return get_args(option)[0]
        if origin is dict and isinstance(part, str):
            return get_args(option)[1]
    return None


__all__ = ["Loaded", "Severity", "file_resolver", "load", "load_plan", "load_scenario", "parse_scenario", "read_document"]
