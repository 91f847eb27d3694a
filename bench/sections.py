"""Writing one section of docs/benchmarks.md: the scripts that measure one thing each replace their own."""

from __future__ import annotations

from pathlib import Path

REPORT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def replace_section(heading: str, lines: list[str], report: Path = REPORT) -> None:
    """Replace the section `heading` starts (up to the next `## `) with `lines`, or append it when there is none."""
    text = report.read_text()
    section = "\n".join(lines).rstrip("\n") + "\n\n"  # a blank line before the next heading, as Markdown wants
    if heading in text:
        start = text.index(heading)
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    report.write_text(text)
