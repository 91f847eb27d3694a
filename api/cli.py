"""The `planner` command line: an adapter at the edge, over the domain (`planner`) and the solvers.

Exit codes, mapped in one place: 0 success, 1 invalid input, 2 usage error (including a file that does
not exist), 3 infeasible scenario, 4 no plan found within the time limit; `batch` exits 1 when any scenario fails.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Sequence, TextIO, get_args

from api import batch, comparing, importing, render, sweeping, viewing
from api.files import write_atomically
from planner import __version__, views
from planner.compare import Comparison, compare
from planner.errors import NotFound, PlannerError, Problem, ScenarioError, Severity, did_you_mean
from planner.explanation import Explanation
from planner.loader import Loaded, load, parse_scenario
from planner.plan import Plan
from planner.scenario import Scenario
from planner.sweep import Knob, settings_between
from planner.settings import MilpSolver, PlanStatus, SolveSettings
from solver import solve
from solver.explain import explain, reasons_budget

if TYPE_CHECKING:
    from api.service.app import ServiceConfig

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INFEASIBLE, EXIT_NO_PLAN = 0, 1, 2, 3, 4
EXIT_FAILED = 1  # batch: a scenario failed its checks
EXIT: dict[type[PlannerError], int] = {NotFound: EXIT_INVALID, ScenarioError: EXIT_INVALID, PlannerError: EXIT_INVALID}
EXIT_FOR_STATUS = {
    PlanStatus.optimal: EXIT_OK,
    PlanStatus.feasible: EXIT_OK,
    PlanStatus.infeasible: EXIT_INFEASIBLE,
    PlanStatus.unknown: EXIT_NO_PLAN,
}


VIEW_HELP = (
    "the plan for one audience (formats table, md, json): executive (themes, value and uplift, what was left out and why, "
    "the price of each guardrail, risks), engineering (load and work per team and period, dependencies, binding capacity, "
    "skill assignments) or public (a customer roadmap of visible work: no values, capacities, ids, teams or dependencies)"
)


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


def _solved(args: argparse.Namespace) -> tuple[Scenario, Plan]:
    """Load, check the ids the options name, and solve, as `solve` and `explain` both do."""
    loaded = load(_existing(args.file), previous=_existing(args.previous) if args.previous else None)
    scenario = loaded.scenario
    for problem in loaded.warnings:
        print(f"warning: {problem}", file=sys.stderr)
    named = [("--force-in", args.force_in), ("--force-out", args.force_out), ("--initiative", [args.initiative] if getattr(args, "initiative", None) else [])]
    for option, ids in named:
        for initiative in ids:
            if initiative not in scenario.initiative_by_id:
                raise NotFound(f"{option} {initiative}: no initiative '{initiative}' in {args.file}" + did_you_mean(initiative, scenario.initiative_by_id))
    settings = SolveSettings(
        backend=args.backend, milp_solver=args.milp_solver, time_limit=args.time_limit, workers=args.workers, seed=args.seed,
        force_in=args.force_in, force_out=args.force_out,
    )
    interactive = sys.stderr.isatty() and not args.quiet
    plan = solve(scenario, settings, on_progress=_progress_printer(sys.stderr) if interactive else None)
    return scenario, plan


def _explained(
    args: argparse.Namespace, scenario: Scenario, plan: Plan, *, counterfactuals: bool, initiative: str | None = None, policy_costs: bool = False,
) -> Explanation:
    def report(done: int, total: int) -> None:
        print(f"\r  explaining: {done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)

    interactive = sys.stderr.isatty() and not args.quiet
    budget = None if counterfactuals else reasons_budget(args.time_limit)
    return explain(
        scenario, plan, initiative=initiative, counterfactuals=counterfactuals, policy_costs=policy_costs, time_limit=args.time_limit,
        budget=budget, on_progress=report if interactive else None,
    )


def _emit(args: argparse.Namespace, text: str, line: str, out: TextIO) -> None:
    if args.out:
        write_atomically(args.out, text)
        print(line, file=sys.stderr)
    else:
        out.write(text)


def _view_format(args: argparse.Namespace) -> None:
    if args.view and args.format not in viewing.FORMATS:
        raise UsageError(f"--view {args.view} comes as {', '.join(viewing.FORMATS)}, not --format {args.format}")


def cmd_solve(args: argparse.Namespace, out: TextIO) -> int:
    _view_format(args)
    scenario, plan = _solved(args)
    if args.explain or not args.no_reasons or args.view == "executive":
        explanation = _explained(args, scenario, plan, counterfactuals=args.explain, policy_costs=args.view == "executive")
        plan = plan.model_copy(update={"explanation": explanation})
    if args.view:
        text = viewing.FORMATS[args.format](views.view(args.view, scenario, plan), scenario)
    else:
        text = render.FORMATS[args.format](plan, scenario)
    _emit(args, text, render.headline(plan, scenario), out)
    return EXIT_FOR_STATUS[plan.status]


def cmd_explain(args: argparse.Namespace, out: TextIO) -> int:
    scenario, plan = _solved(args)
    explanation = _explained(args, scenario, plan, counterfactuals=True, initiative=args.initiative)
    text = render.EXPLAIN_FORMATS[args.format](explanation, plan, scenario)
    _emit(args, text, render.headline(plan, scenario), out)
    return EXIT_FOR_STATUS[plan.status]


def cmd_compare(args: argparse.Namespace, out: TextIO) -> int:
    _view_format(args)
    paths = [_existing(path) for path in [args.base, *args.variants]]
    loaded = [load(path) for path in paths]  # every file is read before anything is solved: a bad one fails fast
    for problem in (p for l in loaded for p in l.warnings):
        print(f"warning: {problem}", file=sys.stderr)
    settings = SolveSettings(backend=args.backend, milp_solver=args.milp_solver, time_limit=args.time_limit, workers=args.workers, seed=args.seed)
    interactive = sys.stderr.isatty() and not args.quiet
    solved = []
    for path, scenario in zip(paths, (l.scenario for l in loaded)):
        plan = solve(scenario, settings)
        explanation = _explained(args, scenario, plan, counterfactuals=False, policy_costs=args.view == "executive")
        plan = plan.model_copy(update={"explanation": explanation})
        if interactive:
            print(f"  {path}: {render.headline(plan, scenario)}", file=sys.stderr, flush=True)
        solved.append((scenario, plan))
    comparison = compare(solved[0], solved[1:])
    if args.view:
        text = _compared_views(args, comparison, solved)
    else:
        text = comparing.FORMATS[args.format](comparison)
    _emit(args, text, f"compared {len(paths)} scenarios", out)
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace, out: TextIO) -> int:
    path = _existing(args.file)
    loaded = load(path)
    for problem in loaded.warnings:
        print(f"warning: {problem}", file=sys.stderr)
    team = None
    if args.capacity:
        knob = Knob.capacity
        low, high = -0.2 if args.low is None else args.low, 0.3 if args.high is None else args.high
        if low >= high:
            raise UsageError(f"--from {low:+.0%} must be below --to {high:+.0%}")
        if args.capacity != "all":
            team = args.capacity
            if team not in loaded.scenario.team_by_id:
                raise NotFound(f"--capacity {team}: no team '{team}' in {path}" + did_you_mean(team, loaded.scenario.team_by_id))
    else:
        if args.low is not None or args.high is not None:
            raise UsageError("--from and --to set a capacity change; with --invisible-floor give the range as LOW..HIGH")
        knob, (low, high) = Knob.invisible_floor, args.invisible_floor
    settings = SolveSettings(backend=args.backend, milp_solver=args.milp_solver, time_limit=args.time_limit, workers=args.workers, seed=args.seed)

    def report(done: int, total: int) -> None:
        print(f"  solved {done}/{total} points", file=sys.stderr, flush=True)

    interactive = sys.stderr.isatty() and not args.quiet
    curve = sweeping.sweep(path, loaded.scenario, knob, team, settings_between(low, high, args.steps), settings, args.jobs, on_progress=report if interactive else None)
    _emit(args, sweeping.FORMATS[args.format](curve), f"swept {len(curve.points)} points", out)
    return EXIT_OK


def cmd_import_csv(args: argparse.Namespace, out: TextIO) -> int:
    base = load(_existing(args.into)).scenario
    mapping = importing.read_mapping(_existing(args.mapping)) if args.mapping else importing.Mapping()
    initiatives = importing.import_csv(_existing(args.csv), mapping, base)
    text = importing.overlay_text(initiatives, importing.relative_base(args.into, args.out), args.csv)
    # The overlay must load over its base before anything is written (it is named where it will stand).
    loaded = parse_scenario(text, name=args.out or "imported.yaml")
    for problem in loaded.warnings:
        print(f"warning: {problem}", file=sys.stderr)
    imported = {i["id"] for i in initiatives}
    invisible = sum(1 for i in loaded.scenario.initiatives if i.id in imported and loaded.scenario.is_invisible(i))
    _emit(args, text, f"imported {len(initiatives)} initiatives from {args.csv} ({invisible} invisible work) into {args.out}", out)
    return EXIT_OK


def cmd_batch(args: argparse.Namespace, out: TextIO) -> int:
    try:
        paths = batch.collect(args.paths, skip=[d for d in (args.report_dir, args.baseline) if d])
        names = batch.keys(paths)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.baseline and not os.path.isdir(args.baseline):
        raise UsageError(f"--baseline {args.baseline}: no such folder")
    if args.baseline and not any(os.path.exists(os.path.join(args.baseline, f"{key}.json")) for key in names):
        raise UsageError(f"--baseline {args.baseline} holds none of this run's plans (such as {names[0]}.json): is it a --report-dir of the same scenarios?")
    if args.report_dir and os.path.exists(args.report_dir) and not os.path.isdir(args.report_dir):
        raise UsageError(f"--report-dir {args.report_dir}: is a file, not a folder")
    for option, path in (("--junit", args.junit), ("--summary", args.summary)):
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise UsageError(f"{option} {path}: no such folder to write it in")
    settings = SolveSettings(backend=args.backend, milp_solver=args.milp_solver, time_limit=args.time_limit, workers=args.workers, seed=args.seed)
    cases = [
        batch.Case(
            path=str(path), key=key, settings=settings, reasons=not args.no_reasons, max_regression=args.max_regression,
            baseline=os.path.join(args.baseline, f"{key}.json") if args.baseline else None,
        )
        for path, key in zip(paths, names)
    ]
    bar = _Bar(len(cases), sys.stderr) if sys.stderr.isatty() and not args.quiet else None
    began = time.perf_counter()
    results = []
    if bar:
        bar.show(0, "")
    for result in batch.run(cases, jobs=args.jobs, report_dir=args.report_dir):
        results.append(result)
        if bar:
            bar.clear()
        print(batch.line(result), file=out, flush=True)
        notes = [f"note: {result.baseline}"] if args.baseline and result.baseline.startswith("no earlier plan") else []
        for text in ([] if result.passed else result.reasons()) + [f"warning: {w}" for w in result.warnings] + notes:
            print(f"      {text}", file=out, flush=True)
        if bar:
            bar.show(len(results), result.path)
    if bar:
        bar.clear()
    seconds = time.perf_counter() - began
    summary = batch.summary(results, seconds)
    if args.junit:
        write_atomically(args.junit, batch.junit(results, seconds))
    if args.report_dir:
        write_atomically(os.path.join(args.report_dir, "summary.md"), summary)
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as stream:
            stream.write(summary)
    passed = sum(1 for r in results if r.passed)
    print(f"{len(results)} scenario{'' if len(results) == 1 else 's'}: {passed} passed, {len(results) - passed} failed ({seconds:.1f} s)", file=out)
    return EXIT_OK if passed == len(results) else EXIT_FAILED


class _Bar:
    """A one-line progress bar on a terminal, redrawn in place and cleared before other output."""

    def __init__(self, total: int, stream: TextIO, width: int = 30):
        self.total, self.stream, self.width = total, stream, width

    def show(self, done: int, last: str) -> None:
        filled = self.width * done // max(self.total, 1)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total} {last}"[:200])
        self.stream.flush()

    def clear(self) -> None:
        self.stream.write("\r\033[K")
        self.stream.flush()


def _compared_views(args: argparse.Namespace, comparison: Comparison, solved: list[tuple[Scenario, Plan]]) -> str:
    """Each scenario's view in turn, after the comparison itself, which the public view leaves out: it holds
    ids, values and reasons."""
    shown = [views.view(args.view, scenario, plan) for scenario, plan in solved]
    if args.format == "json":
        document = {"views": [v.model_dump(mode="json") for v in shown]}
        if args.view != "public":
            document = {"comparison": comparison.model_dump(mode="json")} | document
        return json.dumps(document, indent=2) + "\n"
    parts = [] if args.view == "public" else [comparing.FORMATS[args.format](comparison)]
    parts += [viewing.FORMATS[args.format](v, scenario) for v, (scenario, _) in zip(shown, solved)]
    return "\n".join(parts)


def _progress_printer(stream: TextIO):  # type: ignore[no-untyped-def]
    def report(objective: float, bound: float, seconds: float) -> None:
        shown = "unknown" if math.isnan(bound) else f"{bound:,.3f}"  # CBC through PuLP reports no bound
        print(f"  {seconds:7.2f} s  plan {objective:,.3f}  bound {shown}", file=stream, flush=True)
    return report


def _count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"'{text}': give a whole number from 1 to 64")
    return int(text)


def _steps(text: str) -> int:
    steps = _count(text)
    if steps < 2:
        raise argparse.ArgumentTypeError(f"'{text}': a curve needs at least 2 points")
    return steps


def _fraction(text: str, example: str) -> float:
    """A number written as a percentage (`-20%`) or a fraction (`-0.2`)."""
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not {example}") from None


def _share(text: str) -> float:
    value = _fraction(text, "a share: write 2% or 0.02")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text}: give a share from 0 to 1 (0% to 100%)")
    return value


def _change(text: str) -> float:
    value = _fraction(text, "a change: write -20% or +30% (or -0.2, 0.3)")
    if not -1 < value <= 10:
        raise argparse.ArgumentTypeError(f"{text}: a change of capacity lies above -100% and at most +1000%")
    return value


def _share_range(text: str) -> tuple[float, float]:
    low, sep, high = text.partition("..")
    if not sep:
        raise argparse.ArgumentTypeError(f"'{text}': write a range of shares as LOW..HIGH, e.g. 0..0.4")
    bounds = (_share(low), _share(high))
    if bounds[0] >= bounds[1]:
        raise argparse.ArgumentTypeError(f"'{text}': the range's low end must be below its high end")
    return bounds


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

    search = argparse.ArgumentParser(add_help=False)
    search.add_argument("--time-limit", type=_positive, default=10.0, metavar="S", help="seconds to search, and for each re-solve of an explanation (default: 10)")
    search.add_argument("--backend", choices=["cpsat", "pulp", "greedy"], default="cpsat", help="cpsat (default), pulp (CBC or HiGHS) or greedy (the rank-ordered baseline)")
    search.add_argument(
        "--milp-solver", choices=get_args(MilpSolver), default="auto",
        help="the pulp backend's solver: auto (default: HiGHS when installed, else CBC), highs or cbc",
    )
    search.add_argument("--workers", type=int, default=0, metavar="N", help="parallel search workers (default 0: CP-SAT one per core and at least 4, MILP the solver's own default)")
    search.add_argument("--seed", type=int, default=0, help="random seed (with --workers 1 the plan is reproducible)")
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--out", metavar="F", help="write the output to F (whole or not at all) instead of stdout")
    output.add_argument("--quiet", action="store_true", help="no progress lines on a terminal")

    solving = argparse.ArgumentParser(add_help=False, parents=[search, output])
    solving.add_argument("file", metavar="FILE", help="scenario file (YAML or JSON; overlays resolved)")
    solving.add_argument(
        "--previous", metavar="PLAN.json",
        help="re-plan against this plan (from --format json): moving or dropping what it scheduled costs value "
        "(policies.stability); replaces the scenario's previous_plan",
    )
    solving.add_argument("--force-in", action="append", default=[], metavar="ID", help="schedule this initiative (repeatable)")
    solving.add_argument("--force-out", action="append", default=[], metavar="ID", help="leave this initiative out (repeatable)")

    solve_ = commands.add_parser(
        "solve",
        parents=[solving],
        help="find the best plan for a scenario",
        description="Solve a scenario: which initiatives are scheduled, when, and by which teams, with the proof of "
        "how good the plan is, its uplift over a rank-ordered baseline, and why each initiative is out or late "
        "(each reason checked by a re-solve). Exit 0 with a plan, 1 invalid input, 2 usage error, "
        "3 infeasible scenario, 4 no plan within the time limit.",
    )
    solve_.add_argument("--format", choices=sorted(render.FORMATS), default="table", help="output format (default: table)")
    solve_.add_argument("--view", choices=views.VIEWS, help=VIEW_HELP)
    solve_.add_argument("--explain", action="store_true", help="add the what-ifs, the cost of each policy and the value of full teams (see planner explain)")
    solve_.add_argument("--no-reasons", action="store_true", help="skip the reasons for work left out or late (a re-solve each; at most 30 s or the time limit in all)")
    solve_.set_defaults(func=cmd_solve, parser=solve_)

    explain_ = commands.add_parser(
        "explain",
        parents=[solving],
        help="why each initiative is in, out or late, and what would change it",
        description="Solve a scenario and explain the plan with numbers proven by re-solving: why each initiative "
        "is in, out or late; forcing it in, out or earlier; the value and the capacity with which it would fit; "
        "what each policy costs; what one more unit of capacity is worth where a team is full. For an infeasible "
        "scenario: a minimal set of rules that cannot all hold, and verified repairs. Exit codes as for solve.",
    )
    explain_.add_argument("--initiative", metavar="ID", help="explain only this initiative")
    explain_.add_argument("--format", choices=sorted(render.EXPLAIN_FORMATS), default="table", help="output format (default: table)")
    explain_.set_defaults(func=cmd_explain, parser=explain_)

    compare_ = commands.add_parser(
        "compare",
        parents=[search, output],
        help="solve scenarios and compare them with a base",
        description="Solve a base scenario and its variants (overlays or whole files) with the same settings and compare them: "
        "for each its status, objective, uplift over the rank-ordered baseline, gap, utilisation per team, invisible-work share, "
        "theme mix and deadlines met; then, per variant, every initiative added, dropped, or moved earlier or later than in the "
        "base, with the reason from its explanation. Exit 0 when compared, 1 invalid input, 2 usage error.",
    )
    compare_.add_argument("base", metavar="BASE", help="the scenario the others are compared with")
    compare_.add_argument("variants", nargs="+", metavar="VARIANT", help="scenarios to compare with the base")
    compare_.add_argument("--format", choices=sorted(comparing.FORMATS), default="table", help="output format (default: table)")
    compare_.add_argument("--view", choices=views.VIEWS, help=VIEW_HELP + "; after the comparison, one per scenario (public: the roadmaps alone)")
    compare_.set_defaults(func=cmd_compare, parser=compare_)

    sweep_ = commands.add_parser(
        "sweep",
        parents=[search, output],
        help="a trade-off curve: the value at each setting of capacity or the invisible-work floor",
        description="Solve a scenario at evenly spaced settings of one knob, in parallel processes (each warm-started "
        "from its neighbour), and show the value at each point, the initiatives that enter or leave from one point to "
        "the next, and the knee (where the curve bends most). --capacity TEAM|all scales that team's (or every team's) "
        "capacity in every period from --from to --to; --invisible-floor LOW..HIGH sets the organisation-wide floor. "
        "Exit 0 when swept, 1 invalid input, 2 usage error.",
    )
    sweep_.add_argument("file", metavar="FILE", help="scenario file (YAML or JSON; overlays resolved)")
    knob = sweep_.add_mutually_exclusive_group(required=True)
    knob.add_argument("--capacity", metavar="TEAM|all", help="scale this team's capacity, or every team's with 'all'")
    knob.add_argument("--invisible-floor", type=_share_range, metavar="LOW..HIGH", help="sweep policies.invisible_work.min_share, e.g. 0..0.4")
    sweep_.add_argument("--from", dest="low", type=_change, metavar="PCT", help="with --capacity: the first change (default: -20%%)")
    sweep_.add_argument("--to", dest="high", type=_change, metavar="PCT", help="with --capacity: the last change (default: +30%%)")
    sweep_.add_argument("--steps", type=_steps, default=6, metavar="N", help="points on the curve, both ends included: 2 to 64 (default: 6)")
    sweep_.add_argument("--jobs", type=_count, default=2, metavar="N", help="processes solving points at once (default: 2)")
    sweep_.add_argument("--format", choices=sorted(sweeping.FORMATS), default="table", help="output format (default: table)")
    sweep_.set_defaults(func=cmd_sweep, parser=sweep_)
    # "--from -20%" reads as a value, not an option: argparse only knows plain negative numbers by default.
    sweep_._negative_number_matcher = re.compile(r"^-\d+(\.\d*)?%?$|^-\.\d+%?$")

    import_ = commands.add_parser(
        "import-csv",
        help="initiatives from a CSV export (e.g. Jira) as an overlay of a scenario",
        description="Read initiatives from a CSV export (a Jira issue export's Summary, Issue key, Team, Story Points or "
        "Original Estimate, Due date and Labels columns, or others named in the mapping file) and write an overlay of "
        "BASE with them: `extends: BASE` and the initiatives, matched by id. Every row problem is reported, located at its "
        "CSV line and column, and nothing is written unless the overlay loads. See docs/scenario-format.md. "
        "Exit 0 when imported, 1 invalid input, 2 usage error.",
    )
    import_.add_argument("csv", metavar="CSV", help="the export, UTF-8 with a header row")
    import_.add_argument("--into", required=True, metavar="BASE", help="the scenario whose teams and horizon the initiatives use")
    import_.add_argument(
        "--mapping", metavar="MAP.yaml",
        help="columns, effort_per_unit, teams, kinds, themes, date_format (default: Jira's column names with Story Points as the effort, one point per unit)",
    )
    import_.add_argument("--out", metavar="F", help="write the overlay to F (whole or not at all) instead of stdout")
    import_.set_defaults(func=cmd_import_csv, parser=import_)

    batch_ = commands.add_parser(
        "batch",
        parents=[search],
        help="solve scenario files for CI and check their expectations",
        description="Solve every scenario named (files, folders searched for .yaml/.yml/.json, or glob patterns; overlays "
        "included), each in its own process, and check it: valid, its plan kept every rule (the solver-free checker), "
        "its `expect:` block met (without one: a plan exists) and, with --baseline, no regression. Prints a line per "
        "scenario (a progress bar on a terminal); writes JUnit XML, a Markdown summary and per scenario a JSON plan and "
        "a self-contained HTML report. Exit 0 when all pass, 1 when any fails, 2 on a usage error.",
    )
    batch_.add_argument("paths", nargs="+", metavar="PATH_OR_GLOB", help="scenario files, folders or glob patterns (quote them)")
    batch_.add_argument("--junit", metavar="FILE", help="write JUnit XML: one test case per scenario")
    batch_.add_argument("--report-dir", metavar="DIR", help="write KEY.json (the plan), KEY.html (a report) per scenario, and summary.md")
    batch_.add_argument("--summary", metavar="FILE", help="append the Markdown summary to FILE (e.g. \"$GITHUB_STEP_SUMMARY\")")
    batch_.add_argument("--jobs", type=_count, default=1, metavar="N", help="scenarios solved at once, each in its own process (default: 1)")
    batch_.add_argument("--baseline", metavar="DIR", help="earlier plans (a --report-dir of an earlier run): fail on a value drop or a lost mandatory item")
    batch_.add_argument(
        "--max-regression", type=_share, default=0.0, metavar="SHARE",
        help="with --baseline, the drop in value allowed before a scenario fails, e.g. 2%% or 0.02 (default: 0)",
    )
    batch_.add_argument("--no-reasons", action="store_true", help="skip the reasons for work left out or late in the reports")
    batch_.add_argument("--quiet", action="store_true", help="no progress bar on a terminal")
    batch_.set_defaults(func=cmd_batch, parser=batch_)

    instance = argparse.ArgumentParser(add_help=False)
    instance.add_argument(
        "--instance", metavar="DIR", default=os.environ.get("PLANNER_INSTANCE", "instance"),
        help="the service's folder: its SQLite database and job-runner lock (default: ./instance, or $PLANNER_INSTANCE); "
        "set DATABASE_URL to use PostgreSQL instead",
    )
    serve_ = commands.add_parser(
        "serve",
        parents=[instance],
        help="run the planner service (HTTP API) under gunicorn",
        description="Run the HTTP API: scenarios, solve jobs, plans, explanations and comparisons, documented at /docs "
        "and /openapi.json. Jobs run in a pool of solver processes; everything is kept in the database.",
    )
    serve_.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    serve_.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve_.add_argument("--workers", type=_count, default=2, metavar="N", help="HTTP worker processes (default: 2)")
    serve_.add_argument("--job-workers", type=_count, default=2, metavar="N", help="solver processes running jobs (default: 2)")
    serve_.add_argument(
        "--load", nargs="+", default=[], metavar="FILE",
        help="store these scenario files in the workspace first (a changed file becomes a new version), then print a fresh planner token",
    )
    serve_.add_argument("--workspace", default="local", help="the workspace --load stores into and its token belongs to (default: local)")
    serve_.set_defaults(func=cmd_serve, parser=serve_)

    tokens_ = commands.add_parser("tokens", help="manage the service's bearer tokens", description="Manage the service's bearer tokens.")
    token_commands = tokens_.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    create_ = token_commands.add_parser(
        "create", parents=[instance], help="create a token and print it (it is shown only once)",
        description="Create a bearer token and print it on stdout. The service keeps only its hash: it cannot be shown again.",
    )
    create_.add_argument("--role", required=True, choices=["viewer", "planner", "admin"], help="viewer reads; planner also creates scenarios and runs jobs; admin also manages tokens")
    create_.add_argument("--name", required=True, help="who or what uses it, e.g. ci or alice")
    create_.add_argument("--workspace", default="local", help="the workspace whose data it sees (default: local)")
    create_.set_defaults(func=cmd_tokens_create, parser=create_)
    return parser


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{text}: give a whole number from 1 to 64")
    return value


def _service_config(args: argparse.Namespace, **extra: object) -> "ServiceConfig":
    from api.service.app import ServiceConfig

    return ServiceConfig.from_env(instance=args.instance, **extra)


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    from api.service import serve

    config = _service_config(args, job_workers=args.job_workers)
    if args.load:
        paths = [Path(_existing(p)) for p in args.load]
        for path, scenario_id, what in serve.load_files(config, paths, workspace=args.workspace):
            print(f"  {path.name}: {scenario_id} {what}", file=out)
        _, token = serve.create_token(config, role="planner", name=f"planner serve {time.strftime('%Y-%m-%d %H:%M')}", workspace=args.workspace)
        url = f"http://{args.host}:{args.port}"
        print(f"\nThe planner service: {url}  (docs: {url}/docs)\nA planner token for workspace '{args.workspace}':\n\n  {token}\n", file=out)
        print(f"  curl -H 'Authorization: Bearer {token}' {url}/scenarios\n", file=out, flush=True)
    serve.run(config, host=args.host, port=args.port, workers=args.workers)
    return EXIT_OK


def cmd_tokens_create(args: argparse.Namespace, out: TextIO) -> int:
    from api.service import serve

    token, text = serve.create_token(_service_config(args), role=args.role, name=args.name, workspace=args.workspace)
    print(text, file=out)
    print(f"{token.id}: a {token.role} token named '{token.name}' for workspace '{token.workspace_id}'; it is shown only this once", file=sys.stderr)
    return EXIT_OK


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
    except OSError as exc:  # an output file or folder that cannot be written
        print(f"planner: cannot write {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("planner: interrupted", file=sys.stderr)
        return 130
