"""Self-contained HTML pages: the style is inline and nothing is fetched, so a page opens offline (a CI artifact)."""

from __future__ import annotations

import html

STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;margin:0 0 1.5rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}th{background:#f3f3f3}
.added,.pass{color:#1a7f37}.dropped,.fail{color:#cf222e}.earlier,.later{color:#9a6700}
td.work{background:#ddf4ff}td.invisible{background:#eee0ff}td.num{text-align:right}small{color:#666}"""


def escape(text: object) -> str:
    return html.escape(str(text))


def table(header: list[str], rows: list[list[str]]) -> str:
    """A table of plain text cells (escaped here)."""
    return raw_table(header, [[f"<td>{escape(c)}</td>" for c in row] for row in rows])


def raw_table(header: list[str], rows: list[list[str]]) -> str:
    """A table whose cells are already `<td>` elements, for cells with classes or colours."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    return f"<table><tr>{head}</tr>" + "".join("<tr>" + "".join(row) + "</tr>" for row in rows) + "</table>"


def items(lines: list[str], css: str = "") -> str:
    attribute = f' class="{css}"' if css else ""
    return "<ul>" + "".join(f"<li{attribute}>{escape(line)}</li>" for line in lines) + "</ul>" if lines else ""


def document(title: str, parts: list[str]) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n"
    )
