"""The `planner` command line.

Exit codes, mapped in one place (`EXIT`): 0 success, 1 invalid input, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from typing import Sequence, TextIO

from planner import __version__
from planner.errors import PlannerError, Problem, ScenarioError, Severity
from planner.loader import Loaded, load

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
EXIT: dict[type[PlannerError], int] = {ScenarioError: EXIT_INVALID, PlannerError: EXIT_INVALID}


def _number(value: Decimal) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def summary(loaded: Loaded) -> str:
    """One line on what a valid scenario holds: horizon, teams, initiatives, demand against capacity."""
    s = loaded.scenario
    capacity = sum((sum(s.capacity(team.id)) for team in s.teams), Decimal(0))
    demand = sum((i.total_effort for i in s.initiatives), Decimal(0))
    invisible = sum((i.total_effort for i in s.initiatives if s.is_invisible(i)), Decimal(0))
    mandatory = sum(1 for i in s.initiatives if i.mandatory or i.committed)
    share = f"{invisible / demand:.0%}" if demand else "0%"
    return (
        f"{s.name}: {len(s.periods)} {s.horizon.granularity.value}s {s.periods[0]}..{s.periods[-1]}, "
        f"{len(s.teams)} teams, {len(s.initiatives)} initiatives ({mandatory} required), "
        f"demand {_number(demand)} of capacity {_number(capacity)} {s.unit} ({share} invisible work)"
    )


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    results: list[dict[str, object]] = []
    failed = False
    for path in args.files:
        problems: list[Problem]
        try:
            loaded = load(path)
            problems, line = loaded.warnings, summary(loaded)
        except ScenarioError as exc:
            problems, line = exc.problems, None
        errors = [p for p in problems if p.severity is Severity.error]
        bad = bool(errors) or (args.strict and bool(problems))
        failed |= bad
        results.append({"file": path, "valid": not errors, "summary": line, "problems": [p.model_dump(mode="json") for p in problems]})
        if args.format == "text":
            for problem in problems:
                print(problem, file=out)
            if not errors:
                print(f"ok {path}: {line}", file=out)
    if args.format == "json":
        json.dump(results, out, indent=2)
        out.write("\n")
    else:
        valid = sum(1 for r in results if r["valid"])
        print(f"{len(results)} checked: {valid} valid, {len(results) - valid} invalid", file=out)
    return EXIT_INVALID if failed else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="planner",
        description="Plan a portfolio of initiatives against team capacity, dependencies, deadlines and invisible-work policies.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check",
        help="validate scenario files and report every problem",
        description="Validate scenario files (YAML or JSON; overlays resolved) and print every problem found, "
        "each as FILE:LINE:COLUMN: FIELD: message. Exit 0 when all are valid, 1 when any is invalid, 2 on a usage error.",
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="scenario files")
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    check.set_defaults(func=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        return args.func(args, out)
    except PlannerError as exc:
        print(f"planner: {exc}", file=sys.stderr)
        return EXIT.get(type(exc), EXIT_INVALID)
    except KeyboardInterrupt:
        print("planner: interrupted", file=sys.stderr)
        return 130
