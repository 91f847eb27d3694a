"""What the program prints on a terminal: text a scenario wrote is shown as it is stored, never acted on.

Names and titles may hold Unicode's bidirectional controls (U+202A..U+202E, U+2066..U+2069): they are
legitimate in text and kept in every file and answer, but on a terminal they reorder what follows, so
`invoice<U+202E>gnp.exe` would read as `invoiceexe.png`. On a terminal they are shown as `<U+202E>`.
Control characters never get this far: the loader refuses them in any document.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def mark(text: str) -> str:
    """`text` with each bidirectional control shown by its code point, e.g. `<U+202E>`."""
    return BIDI_CONTROLS.sub(lambda found: f"<U+{ord(found.group()):04X}>", text)


class Marking:
    """A text stream that marks bidirectional controls in what is written to it; the rest goes to `stream`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(mark(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def on_terminal(stream: TextIO) -> TextIO:
    """`stream`, marking bidirectional controls when it is a terminal (a file or a pipe gets the text exact)."""
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream: leave it alone
        interactive = False
    return Marking(stream) if interactive else stream  # type: ignore[return-value]
