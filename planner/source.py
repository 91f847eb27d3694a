"""Reading scenario documents: YAML or JSON text into plain data plus a map of where each value stands.

Only safe loading is used: libyaml's `CSafeLoader` when PyYAML was built with it (several times
faster, and every read of a stored scenario in the service pays it), else `SafeLoader`. A syntax error
is worded by `SafeLoader` either way, since its messages name what they found. The source map mirrors
the data (mapping keys and list indices) and records the file, line and column of each value and each
key, so that any problem found later, by field path, can be pointed at in the file the user edits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from planner.errors import Location, Path, Problem, ScenarioError, format_path

MAX_BYTES = 5 * 1024 * 1024
MAX_VALUES = 1_000_000  # after expanding YAML aliases: bounds work on "billion laughs" documents
FAST_LOADER = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


@dataclass(frozen=True)
class Mark:
    file: str | None
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class SourceNode:
    """Where one value stands, and where its children (by key or index) stand."""

    mark: Mark | None = None
    key_mark: Mark | None = None
    children: dict[str | int, SourceNode] = field(default_factory=dict)

    def locate(self, path: Path, *, key: bool = False) -> Location:
        """The location of `path`, or of its nearest ancestor that has one."""
        node, best = self, self.mark
        for n, part in enumerate(path):
            child = node.children.get(part)
            if child is None:
                break
            node = child
            is_last = n == len(path) - 1
            best = (child.key_mark if key and is_last and child.key_mark else child.mark) or best
        text = format_path(path)
        if best is None:
            return Location(path=text)
        return Location(file=best.file, line=best.line, column=best.column, path=text)


@dataclass
class Document:
    """A parsed document: its data, where each part of it stands, and the file it came from."""

    data: Any
    source: SourceNode
    name: str | None


def _mark(file: str | None, mark: yaml.Mark) -> Mark:
    return Mark(file, mark.line + 1, mark.column + 1)


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = 1  # a node reached again while being sized is a recursive alias; count it once
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(item, memo) for item in node.value)
    else:
        size = 1
    memo[id(node)] = size
    return size


class _SourceBuilder:
    def __init__(self, loader: Any, name: str | None):
        self.loader = loader
        self.name = name
        self.problems: list[Problem] = []
        self.seen: set[int] = set()

    def build(self, node: yaml.Node, path: Path) -> SourceNode:
        source = SourceNode(mark=_mark(self.name, node.start_mark))
        if id(node) in self.seen:  # an alias: its marks are those of the anchored original
            return source
        self.seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first_line: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = self._key(key_node)
                key_mark = _mark(self.name, key_node.start_mark)
                if key in first_line:
                    self.problems.append(
                        Problem(
                            message=f"duplicate key '{key}' (first given on line {first_line[key]}): YAML keeps only the last",
                            location=Location(file=self.name, line=key_mark.line, column=key_mark.column, path=format_path(path + (str(key),))),
                        )
                    )
                    continue
                first_line[key] = key_mark.line
                child = self.build(value_node, path + (key,))
                child.key_mark = key_mark
                source.children[key] = child
        elif isinstance(node, yaml.SequenceNode):
            for n, item in enumerate(node.value):
                source.children[n] = self.build(item, path + (n,))
        return source

    def _key(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value = self.loader.construct_object(node)
            return value if isinstance(value, (str, int)) else str(value)
        # The composer makes scalar, sequence and mapping nodes only: a key that is not a scalar is named by its kind.
        assert isinstance(node, (yaml.SequenceNode, yaml.MappingNode))
        return f"<{node.id}>"


def _fail(name: str | None, message: str, line: int | None = None, column: int | None = None) -> ScenarioError:
    return ScenarioError([Problem(message=message, location=Location(file=name, line=line, column=column))])


def _yaml_failure(name: str | None, what: str, exc: yaml.YAMLError) -> ScenarioError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        detail = " ".join(part for part in (exc.context, exc.problem) if part)
        return _fail(name, f"{what}: {detail}", mark.line + 1 if mark else None, mark.column + 1 if mark else None)
    return _fail(name, f"{what}: {exc}")


def parse_text(text: str | bytes, name: str | None = None, fmt: str | None = None, *, shape: str | None = None) -> Document:
    """Parse a YAML or JSON document (by `fmt`, else by the name's suffix, else YAML).

    Raises ScenarioError with located problems for anything that is not a mapping of data; `shape` says
    what the mapping should look like (a scenario's, unless a plan file is read).
    """
    size = len(text.encode() if isinstance(text, str) else text)
    if size > MAX_BYTES:
        raise _fail(name, f"the document is {size / 1024 / 1024:.1f} MB; scenarios are limited to {MAX_BYTES // 1024 // 1024} MB")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _fail(name, f"the document is not UTF-8 text (byte {exc.start})") from None
    if fmt is None:
        fmt = "json" if name and name.lower().endswith(".json") else "yaml"
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _fail(name, f"JSON syntax error: {exc.msg}", exc.lineno, exc.colno) from None
        if not isinstance(data, dict):
            raise _fail(name, _not_a_mapping(shape), 1, 1)
        try:
            # JSON is (nearly always) YAML too: composing it again gives lines, columns and duplicate keys.
            _, source = _compose(text, name, construct=False)
        except ScenarioError as exc:
            if any("duplicate key" in p.message for p in exc.problems):
                raise
            source = SourceNode(mark=Mark(name, 1, 1))
        return Document(data=data, source=source, name=name)
    data, source = _compose(text, name, construct=True, shape=shape)
    return Document(data=data, source=source, name=name)


def _not_a_mapping(shape: str | None) -> str:
    return f"the document is not a mapping: {shape or 'a scenario starts with keys like `name:`, `horizon:` and `teams:`'}"


def _compose(
    text: str,
    name: str | None,
    *,
    construct: bool,
    shape: str | None = None,
    loader_class: type = FAST_LOADER,
) -> tuple[Any, SourceNode]:
    loader = loader_class(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            if loader_class is not yaml.SafeLoader:  # PyYAML's own parser words syntax errors better: ask it again
                return _compose(text, name, construct=construct, shape=shape, loader_class=yaml.SafeLoader)
            raise _yaml_failure(name, "YAML syntax error", exc) from None
        if root is None:
            raise _fail(name, "the document is empty; " + (shape or "a scenario is a mapping with name, horizon, teams and initiatives"))
        if not isinstance(root, yaml.MappingNode):
            raise _fail(name, _not_a_mapping(shape), root.start_mark.line + 1, root.start_mark.column + 1)
        if _expanded_size(root, {}) > MAX_VALUES:
            raise _fail(name, f"the document expands to more than {MAX_VALUES:,} values through YAML aliases")
        builder = _SourceBuilder(loader, name)
        source = builder.build(root, ())
        if builder.problems:
            raise ScenarioError(builder.problems)
        if not construct:
            return None, source
        try:
            return loader.construct_document(root), source
        except yaml.YAMLError as exc:  # e.g. a !!python tag, which safe loading refuses
            raise _yaml_failure(name, "cannot read this value", exc) from None
    finally:
        loader.dispose()
