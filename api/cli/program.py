"""The `planner` program: parse the command line, run the command, and map what it raises to an exit code.

Errors are mapped here and nowhere else (the codes are in `api.cli.exits`): a command raises
`UsageError` or a `PlannerError` and returns the exit code of what it found.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from api.cli.exits import EXIT, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_USAGE, UsageError
from api.cli.parser import build_parser
from api.cli.terminal import on_terminal
from planner.errors import PlannerError, ScenarioError


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = on_terminal(out or sys.stdout)
    parser = build_parser()
    args = parser.parse_args(argv)
    stderr, sys.stderr = sys.stderr, on_terminal(sys.stderr)
    try:
        return _run(args, out)
    finally:
        sys.stderr = stderr


def _run(args: argparse.Namespace, out: TextIO) -> int:
    try:
        return args.func(args, out)
    except UsageError as exc:
        args.parser.print_usage(sys.stderr)
        print(f"planner: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ScenarioError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT[ScenarioError]
    except PlannerError as exc:
        print(f"planner: {exc}", file=sys.stderr)
        return EXIT.get(type(exc), EXIT_INVALID)
    except OSError as exc:  # an output file or folder that cannot be written
        print(f"planner: cannot write {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("planner: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
