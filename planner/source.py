"""Reading scenario documents: YAML or JSON text into plain data plus a map of where each value stands.

Only safe loading is used: libyaml's `CSafeLoader` when PyYAML was built with it (several times
faster, and every read of a stored scenario in the service pays it), else `SafeLoader`. A syntax error
is worded by `SafeLoader` either way, since its messages name what they found. The source map mirrors
the data (mapping keys and list indices) and records the file, line and column of each value and each
key, so that any problem found later, by field path, can be pointed at in the file the user edits.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from planner.errors import Location, Path, Problem, ScenarioError, format_path

MAX_BYTES = 5 * 1024 * 1024
MAX_VALUES = 1_000_000  # after expanding YAML aliases: bounds work on "billion laughs" documents
MAX_DEPTH = 64  # a scenario is about six levels deep; this bounds every recursive step after parsing
MERGE = "tag:yaml.org,2002:merge"
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 and C1 controls but tab and line ends: never text
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


def _measure(name: str | None, root: yaml.Node) -> None:
    """Refuse what no scenario is and what would make later steps slow or recursive: a value nested deeper
    than `MAX_DEPTH`, a value that holds itself through an alias, or more than `MAX_VALUES` values once
    aliases are expanded ("billion laughs"). Iterative, each node sized once, so itself bounded."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            children = _children(node)
            size = 1 + sum(sizes[id(child)] for child in children)
            if size > MAX_VALUES:
                raise _at(name, node, f"this value expands to more than {MAX_VALUES:,} values through YAML aliases")
            sizes[id(node)] = size
            continue
        if id(node) in on_path:
            raise _at(name, node, "this value holds itself through an alias (a recursive structure), which no scenario has")
        if id(node) in sizes:
            continue
        if len(on_path) >= MAX_DEPTH:
            raise _at(name, node, f"the document is nested more than {MAX_DEPTH} deep here, which no scenario is")
        on_path.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _at(name: str | None, node: yaml.Node, message: str) -> ScenarioError:
    return _fail(name, message, node.start_mark.line + 1, node.start_mark.column + 1)


class _SourceBuilder:
    def __init__(self, loader: Any, name: str | None):
        self.loader = loader
        self.name = name
        self.problems: list[Problem] = []
        self.built: dict[int, SourceNode] = {}

    def build(self, node: yaml.Node, path: Path) -> SourceNode:
        if id(node) in self.built:  # an alias: it stands where its anchored original does
            original = self.built[id(node)]
            return SourceNode(mark=original.mark, children=original.children)
        source = SourceNode(mark=_mark(self.name, node.start_mark))
        self.built[id(node)] = source
        if isinstance(node, yaml.MappingNode):
            self._mapping(node, path, source)
        elif isinstance(node, yaml.SequenceNode):
            for n, item in enumerate(node.value):
                source.children[n] = self.build(item, path + (n,))
        return source

    def _mapping(self, node: yaml.MappingNode, path: Path, source: SourceNode) -> None:
        first_line: dict[Any, int] = {}
        merged: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == MERGE:  # `<<: *defaults`: the keys it brings stand where they were written
                merged.extend(value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node])
                continue
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
        # Keys written in the mapping win over merged ones, and an earlier merged mapping over a later one.
        for other in merged:
            for key, child in self.build(other, path).children.items():
                source.children.setdefault(key, child)

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
    text = readable(text, name)
    if fmt is None:
        fmt = "json" if name and name.lower().endswith(".json") else "yaml"
    if fmt == "json":
        data = _json(text, name, shape)
        try:
            # JSON is (nearly always) YAML too: composing it again gives lines, columns and duplicate keys.
            _, source = _compose(text, name, construct=False)
        except _SyntaxFailure:
            source = SourceNode(mark=Mark(name, 1, 1))
        document = Document(data=data, source=source, name=name)
    else:
        data, source = _compose(text, name, construct=True, shape=shape)
        document = Document(data=data, source=source, name=name)
    _no_control_characters(document)
    return document


def readable(content: str | bytes, name: str | None = None) -> str:
    """The text of a document, once it is known to be text: UTF-8, with no control character written in it.

    Raises ScenarioError located at the first byte that is not UTF-8 or the first control character (tab
    and line ends are text). YAML refuses control characters too, and JSON outside strings; checked here,
    the message is the same for both and for every reader (the CLI, the service)."""
    text = _utf8(content, name) if isinstance(content, bytes) else content
    found = CONTROL.search(text)
    if found:
        line, column = _line_and_column(text[: found.start()])
        raise _fail(name, f"the document holds the control character U+{ord(found.group()):04X}, which is not text; remove it", line, column)
    return text


def _utf8(content: bytes, name: str | None) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _line_and_column(content[: exc.start].decode("utf-8", errors="replace"))
        byte = content[exc.start]
        raise _fail(name, f"the document is not UTF-8 text: byte 0x{byte:02X} is not UTF-8 here (save the file as UTF-8)", line, column) from None


def _line_and_column(before: str) -> tuple[int, int]:
    """The 1-based line and column of the character that follows `before`."""
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def _json(text: str, name: str | None, shape: str | None) -> Any:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(name, f"JSON syntax error: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise _fail(name, "the document is nested too deeply to read, which no scenario is") from None
    except ValueError as exc:  # an integer over Python's 4,300 digits
        raise _fail(name, f"a number is too long to read: {exc}".split(";")[0]) from None
    if not isinstance(data, dict):
        raise _fail(name, _not_a_mapping(shape), 1, 1)
    return data


class _SyntaxFailure(ScenarioError):
    """The text is not YAML: for a JSON document, whose own parser has read it, only its locations are lost."""


def _no_control_characters(document: Document) -> None:
    """Refuse control characters in text (escaped ones, e.g. `"\\u0000"`; YAML refuses them written raw): they
    are never part of a name, a database may not store them, and a terminal would act on them."""
    problems: list[Problem] = []
    stack: list[tuple[Any, Path]] = [(document.data, ())]
    while stack and len(problems) < 20:
        value, path = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, path + (k,)) for k, v in value.items())
            keys = [k for k in value if isinstance(k, str) and CONTROL.search(k)]
            problems.extend(_control_problem(document, k, path + (k,), key=True) for k in keys)
        elif isinstance(value, list):
            stack.extend((v, path + (n,)) for n, v in enumerate(value))
        elif isinstance(value, str) and CONTROL.search(value):
            problems.append(_control_problem(document, value, path))
    if problems:
        problems.sort(key=lambda problem: (problem.location.line or 0, problem.location.column or 0))
        raise ScenarioError(problems)


def _control_problem(document: Document, text: str, path: Path, *, key: bool = False) -> Problem:
    found = CONTROL.search(text)
    assert found is not None
    what = "key" if key else "text"
    return Problem(
        message=f"this {what} holds the control character U+{ord(found.group()):04X} (at character {found.start() + 1}); remove it",
        location=document.source.locate(path, key=key),
    )


def _not_a_mapping(shape: str | None) -> str:
    return f"the document is not a mapping: {shape or 'a scenario starts with keys like `name:`, `horizon:` and `teams:`'}"


def _compose(
    text: str,
    name: str | None,
    *,
    construct: bool,
    shape: str | None = None,
    fast: bool = True,
) -> tuple[Any, SourceNode]:
    try:
        loader = (_FastLoader if fast else _PlainLoader)(text)
    except yaml.reader.ReaderError as exc:
        raise _unprintable(name, text, exc) from None
    try:
        try:
            root = loader.get_single_node()
        except yaml.reader.ReaderError as exc:
            raise _unprintable(name, text, exc) from None
        except yaml.YAMLError as exc:
            if fast:  # PyYAML's own parser words syntax errors better: ask it again
                try:
                    return _compose(text, name, construct=construct, shape=shape, fast=False)
                except RecursionError:  # ... but recurses where libyaml does not
                    raise _SyntaxFailure(_yaml_failure(name, "YAML syntax error", exc).problems) from None
            raise _SyntaxFailure(_yaml_failure(name, "YAML syntax error", exc).problems) from None
        if root is None:
            raise _fail(name, "the document is empty; " + (shape or "a scenario is a mapping with name, horizon, teams and initiatives"), 1, 1)
        if not isinstance(root, yaml.MappingNode):
            raise _fail(name, _not_a_mapping(shape), root.start_mark.line + 1, root.start_mark.column + 1)
        _measure(name, root)
        try:
            builder = _SourceBuilder(loader, name)
            source = builder.build(root, ())
            if builder.problems:
                raise ScenarioError(builder.problems)
            return (loader.construct_document(root) if construct else None), source
        except yaml.YAMLError as exc:  # e.g. a !!python tag, which safe loading refuses, or `!!int abc`
            raise _yaml_failure(name, "cannot read this value", exc) from None
    finally:
        loader.dispose()


def _unprintable(name: str | None, text: str, exc: yaml.reader.ReaderError) -> ScenarioError:
    line, column = _line_and_column(text[: exc.position])
    character = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
    return _fail(name, f"the character {character} is not allowed in YAML text; remove it", line, column)


# --- scalars that do not read as their tag says ----------------------------------------------------------


def _int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    try:
        return int(yaml.constructor.SafeConstructor.construct_yaml_int(loader, node))
    except ValueError:
        text = str(node.value)
        digits = sum(c.isdigit() for c in text)
        why = f"a number of {digits:,} digits is too long to read" if digits > 100 else f"`{_short(text)}` is not an integer"
        raise yaml.constructor.ConstructorError(None, None, why, node.start_mark) from None


def _float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    try:
        return float(yaml.constructor.SafeConstructor.construct_yaml_float(loader, node))
    except ValueError:
        raise yaml.constructor.ConstructorError(None, None, f"`{_short(str(node.value))}` is not a number", node.start_mark) from None


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except (ValueError, TypeError, AttributeError) as exc:  # 2027-02-30, or `!!timestamp foo`
        why = f": {exc}" if isinstance(exc, ValueError) else " (write a date as YYYY-MM-DD)"
        raise yaml.constructor.ConstructorError(None, None, f"`{_short(str(node.value))}` is not a date{why}", node.start_mark) from None


def _binary(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    raise yaml.constructor.ConstructorError(None, None, "binary data (!!binary) is not text: write the value as text", node.start_mark)


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


class _FastLoader(FAST_LOADER):  # type: ignore[misc,valid-type]
    """Safe loading, with every scalar that does not read as its tag says reported where it stands."""


class _PlainLoader(yaml.SafeLoader):
    """The same in pure Python: its syntax errors are worded better."""


for _loader in (_FastLoader, _PlainLoader):
    _loader.add_constructor("tag:yaml.org,2002:int", _int)
    _loader.add_constructor("tag:yaml.org,2002:float", _float)
    _loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
    _loader.add_constructor("tag:yaml.org,2002:binary", _binary)  # bytes would get round the check for control characters
