"""What-if overlays: a document with `extends: base.yaml` and the changes to make to that base.

The changes follow JSON Merge Patch (RFC 7386): mappings merge key by key, `null` removes a key, any
other value replaces what the base had. One addition: `teams`, `themes` and `initiatives` are matched by
`id`, so an overlay names only the items it changes; an item the base lacks is added, and `remove: true`
drops one. Every merged value keeps the location of the file it came from, so an error in a merged
scenario points at the overlay or at the base, whichever wrote the value.
"""

from __future__ import annotations

from typing import Any

from planner.errors import Path, Problem, ScenarioError, format_path
from planner.source import Document, SourceNode

ID_LISTS = {("teams",), ("themes",), ("initiatives",)}


def apply_overlay(base: Document, overlay: Document) -> Document:
    """The base with the overlay's changes applied (the overlay's `extends` key already removed)."""
    problems: list[Problem] = []
    data, source = _merge(base.data, base.source, overlay.data, overlay.source, (), problems)
    if problems:
        raise ScenarioError(problems)
    return Document(data=data, source=source, name=overlay.name)


def _merge(
    base: Any,
    base_src: SourceNode,
    patch: Any,
    patch_src: SourceNode,
    path: Path,
    problems: list[Problem],
) -> tuple[Any, SourceNode]:
    if isinstance(patch, dict) and not isinstance(base, dict):
        # RFC 7386: a patch object applied to anything else is applied to {}, so its nulls vanish too.
        base, base_src = {}, SourceNode(mark=patch_src.mark, key_mark=patch_src.key_mark)
    if isinstance(base, dict) and isinstance(patch, dict):
        merged: dict[Any, Any] = {}
        source = SourceNode(mark=base_src.mark, key_mark=base_src.key_mark)
        for key, value in base.items():
            base_child = base_src.children.get(key, SourceNode(mark=base_src.mark))
            if key not in patch:
                merged[key], source.children[key] = value, base_child
            elif patch[key] is not None:
                patch_child = patch_src.children.get(key, SourceNode(mark=patch_src.mark))
                merged[key], child = _merge(value, base_child, patch[key], patch_child, path + (key,), problems)
                child.key_mark = patch_child.key_mark
                source.children[key] = child
        for key, value in patch.items():
            if key not in base and value is not None:
                patch_child = patch_src.children.get(key, SourceNode(mark=patch_src.mark))
                merged[key], source.children[key] = _merge(None, patch_child, value, patch_child, path + (key,), problems)
        return merged, source
    if path in ID_LISTS and isinstance(base, list) and isinstance(patch, list):
        return _merge_by_id(base, base_src, patch, patch_src, path, problems)
    return patch, patch_src


def _merge_by_id(
    base: list[Any],
    base_src: SourceNode,
    patch: list[Any],
    patch_src: SourceNode,
    path: Path,
    problems: list[Problem],
) -> tuple[list[Any], SourceNode]:
    def report(at: Path, message: str) -> None:
        problems.append(Problem(message=message, location=patch_src.locate(at[len(path) :]).model_copy(update={"path": format_path(at)})))

    base_ids = {item["id"] for item in base if isinstance(item, dict) and "id" in item}
    changes: dict[Any, tuple[int, dict[str, Any]]] = {}
    for n, item in enumerate(patch):
        if not isinstance(item, dict) or "id" not in item:
            report(path + (n,), "an overlay item needs an `id` to say which item it changes, adds or removes")
            continue
        if item["id"] in changes:
            report(path + (n, "id"), f"the overlay changes '{item['id']}' twice")
            continue
        remove = item.get("remove", False)
        if remove not in (True, False):
            report(path + (n, "remove"), "`remove` takes true or false")
        elif remove and item["id"] not in base_ids:
            report(path + (n, "id"), f"the overlay removes '{item['id']}', which the base does not have")
        elif remove and set(item) - {"id", "remove"}:
            report(path + (n,), f"'{item['id']}' is removed, so its other keys would be ignored: drop them or `remove`")
        changes[item["id"]] = (n, item)

    merged: list[Any] = []
    source = SourceNode(mark=base_src.mark, key_mark=base_src.key_mark)

    def keep(value: Any, value_src: SourceNode) -> None:
        source.children[len(merged)] = value_src
        merged.append(value)

    for n, item in enumerate(base):
        item_src = base_src.children.get(n, SourceNode(mark=base_src.mark))
        change = changes.get(item.get("id")) if isinstance(item, dict) else None
        if change is None:
            keep(item, item_src)
            continue
        m, patch_item = change
        if patch_item.get("remove") is True:
            continue
        fields = {key: value for key, value in patch_item.items() if key != "remove"}
        keep(*_merge(item, item_src, fields, patch_src.children.get(m, SourceNode()), path + (len(merged),), problems))
    for key, (m, patch_item) in changes.items():
        if key not in base_ids and patch_item.get("remove") is not True:
            fields = {k: v for k, v in patch_item.items() if k != "remove"}
            item_src = patch_src.children.get(m, SourceNode())
            keep(*_merge(None, item_src, fields, item_src, path + (len(merged),), problems))
    return merged, source
