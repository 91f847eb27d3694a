"""The planner's error vocabulary.

Problems are data: a located sentence a user can act on. The CLI maps `PlannerError`
subclasses to exit codes and the API to problem+json responses, each in one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

Path = tuple[str | int, ...]

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def format_path(path: Path) -> str:
    """Render a field path the way a user reads it: `initiatives[3].depends_on[0]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


class Severity(str, Enum):
    error = "error"
    warning = "warning"


class Location(BaseModel):
    """Where a problem is: the file, the 1-based line and column, and the field path."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str | None = Field(default=None, description="File name as the user gave it, or None for inline input.")
    line: int | None = Field(default=None, description="1-based line of the offending value or key.")
    column: int | None = Field(default=None, description="1-based column of the offending value or key.")
    path: str = Field(default="", description="Field path, e.g. `initiatives[3].depends_on[0]`; empty for the whole document.")

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.path}" if self.path else where


class Problem(BaseModel):
    """One thing wrong (or suspicious) in a scenario, with where it is and what to do."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message: str = Field(description="A plain sentence saying what is wrong.")
    severity: Severity = Field(default=Severity.error, description="`error` stops loading; `warning` does not.")
    location: Location = Field(default_factory=Location, description="Where the problem is.")

    def __str__(self) -> str:
        prefix = "warning: " if self.severity is Severity.warning else ""
        return f"{self.location}: {prefix}{self.message}"


class PathProblem(BaseModel):
    """A problem found on a validated model: it knows its field path but not yet its file and line."""

    model_config = ConfigDict(frozen=True)

    path: Path
    message: str
    severity: Severity = Severity.error


class PlannerError(Exception):
    """Base of every error the planner reports to a user (never a traceback)."""


class ScenarioError(PlannerError):
    """The scenario cannot be used: every problem found, each located."""

    def __init__(self, problems: Iterable[Problem | PathProblem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems[:3]) + (" ..." if len(self.problems) > 3 else ""))

    def as_problems(self) -> list[Problem]:
        """Every problem as a `Problem`. The loader locates each one before it raises; a problem found on a
        model and never placed in a file keeps its field path."""
        return [
            p if isinstance(p, Problem) else Problem(message=p.message, severity=p.severity, location=Location(path=format_path(p.path))) for p in self.problems
        ]


class NotFound(PlannerError):
    """Something the user named does not exist (a file, an id)."""


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` when a close match exists, else an empty string."""
    import difflib

    matches = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""
