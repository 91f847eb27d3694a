"""Plain-text and Markdown tables of string cells, for every renderer at the edge."""

from __future__ import annotations


def aligned(header: list[str], rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell, two spaces apart: a table for a terminal."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    return ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *rows]]


def markdown(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table, followed by the blank line that ends it."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(row) + " |" for row in rows] + [""]
