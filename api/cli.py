"""The `planner` command line: an adapter at the edge, over the domain (`planner`) and the solvers.

Exit codes, mapped in one place: 0 success, 1 invalid input, 2 usage error (including a file that does
not exist), 3 infeasible scenario, 4 no plan found within the time limit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from decimal import Decimal
from typing import Sequence, TextIO, get_args

from api import render
from planner import __version__
from planner.errors import NotFound, PlannerError, Problem, ScenarioError, Severity, did_you_mean
from planner.loader import Loaded, load
from planner.plan import MilpSolver, PlanStatus, SolveSettings
from solver import solve

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INFEASIBLE, EXIT_NO_PLAN = 0, 1, 2, 3, 4
EXIT: dict[type[PlannerError], int] = {NotFound: EXIT_INVALID, ScenarioError: EXIT_INVALID, PlannerError: EXIT_INVALID}
EXIT_FOR_STATUS = {
    PlanStatus.optimal: EXIT_OK,
    PlanStatus.feasible: EXIT_OK,
    PlanStatus.infeasible: EXIT_INFEASIBLE,
    PlanStatus.unknown: EXIT_NO_PLAN,
}


class UsageError(Exception):
    """The command line itself is wrong: exit 2 with a message, like argparse's own errors."""


def _existing(path: str) -> str:
    if not os.path.exists(path):
        raise UsageError(f"{path}: no such file")
    if os.path.isdir(path):
        raise UsageError(f"{path}: is a directory, not a file")
    return path


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
        _existing(path)
    for path in args.files:
        problems: list[Problem]
        try:
            loaded = load(path)
            problems, line = loaded.warnings, summary(loaded)
        except ScenarioError as exc:
            problems, line = exc.problems, None
        errors = [p for p in problems if p.severity is Severity.error]
        passed = not errors and not (args.strict and problems)
        failed |= not passed
        results.append({"file": path, "valid": passed, "summary": line, "problems": [p.model_dump(mode="json") for p in problems]})
        if args.format == "text":
            for problem in problems:
                print(problem, file=out)
            if passed:
                print(f"ok {path}: {line}", file=out)
            elif not errors:
                print(f"failed {path}: {len(problems)} warning(s), and --strict treats warnings as errors", file=out)
    if args.format == "json":
        json.dump(results, out, indent=2)
        out.write("\n")
    else:
        valid = sum(1 for r in results if r["valid"])
        print(f"{len(results)} checked: {valid} valid, {len(results) - valid} invalid", file=out)
    return EXIT_INVALID if failed else EXIT_OK


def cmd_solve(args: argparse.Namespace, out: TextIO) -> int:
    loaded = load(_existing(args.file), previous=_existing(args.previous) if args.previous else None)
    scenario = loaded.scenario
    for problem in loaded.warnings:
        print(f"warning: {problem}", file=sys.stderr)
    for option, ids in (("--force-in", args.force_in), ("--force-out", args.force_out)):
        for initiative in ids:
            if initiative not in scenario.initiative_by_id:
                raise NotFound(f"{option} {initiative}: no initiative '{initiative}' in {args.file}" + did_you_mean(initiative, scenario.initiative_by_id))
    settings = SolveSettings(
        backend=args.backend, milp_solver=args.milp_solver, time_limit=args.time_limit, workers=args.workers, seed=args.seed,
        force_in=args.force_in, force_out=args.force_out,
    )
    progress = _progress_printer(sys.stderr) if sys.stderr.isatty() and not args.quiet else None
    plan = solve(scenario, settings, on_progress=progress)
    text = render.FORMATS[args.format](plan, scenario)
    if args.out:
        _write_atomically(args.out, text)
        print(render.headline(plan, scenario), file=sys.stderr)
    else:
        out.write(text)
    return EXIT_FOR_STATUS[plan.status]


def _progress_printer(stream: TextIO):  # type: ignore[no-untyped-def]
    def report(objective: float, bound: float, seconds: float) -> None:
        print(f"  {seconds:7.2f} s  plan {objective:,.3f}  bound {bound:,.3f}", file=stream, flush=True)
    return report


def _write_atomically(path: str, text: str) -> None:
    """Write the whole file or nothing: a failed run never leaves half a plan where the last one was."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".planner-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"{text}: give a number of seconds above 0, at most 86400")
    return value


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
    check.set_defaults(func=cmd_check, parser=check)

    solve_ = commands.add_parser(
        "solve",
        help="find the best plan for a scenario",
        description="Solve a scenario: which initiatives are scheduled, when, and by which teams, with the proof of "
        "how good the plan is and its uplift over a rank-ordered baseline. Exit 0 with a plan, 1 invalid input, "
        "2 usage error, 3 infeasible scenario, 4 no plan within the time limit.",
    )
    solve_.add_argument("file", metavar="FILE", help="scenario file (YAML or JSON; overlays resolved)")
    solve_.add_argument("--time-limit", type=_positive, default=10.0, metavar="S", help="seconds to search (default: 10)")
    solve_.add_argument("--backend", choices=["cpsat", "pulp", "greedy"], default="cpsat", help="cpsat (default), pulp (CBC or HiGHS) or greedy (the rank-ordered baseline)")
    solve_.add_argument(
        "--milp-solver", choices=get_args(MilpSolver), default="auto",
        help="the pulp backend's solver: auto (default: HiGHS when installed, else CBC), highs or cbc",
    )
    solve_.add_argument("--workers", type=int, default=0, metavar="N", help="parallel search workers (default: one per core)")
    solve_.add_argument("--seed", type=int, default=0, help="random seed (with --workers 1 the plan is reproducible)")
    solve_.add_argument("--format", choices=sorted(render.FORMATS), default="table", help="output format (default: table)")
    solve_.add_argument("--out", metavar="F", help="write the output to F (whole or not at all) instead of stdout")
    solve_.add_argument(
        "--previous", metavar="PLAN.json",
        help="re-plan against this plan (from --format json): moving or dropping what it scheduled costs value "
        "(policies.stability); replaces the scenario's previous_plan",
    )
    solve_.add_argument("--force-in", action="append", default=[], metavar="ID", help="schedule this initiative (repeatable)")
    solve_.add_argument("--force-out", action="append", default=[], metavar="ID", help="leave this initiative out (repeatable)")
    solve_.add_argument("--quiet", action="store_true", help="no progress lines on a terminal")
    solve_.set_defaults(func=cmd_solve, parser=solve_)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
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
    except KeyboardInterrupt:
        print("planner: interrupted", file=sys.stderr)
        return 130
