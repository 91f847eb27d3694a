"""The commands: each reads its files, solves or checks, renders with `api.render`, and returns an exit code."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from api.cli import batch, csvfile, importing, plan_check, sweeping
from api.cli.exits import EXIT_FAILED, EXIT_FOR_STATUS, EXIT_INVALID, EXIT_OK, UsageError
from api.cli.files import write_atomically
from api.cli.options import existing, solve_settings
from api.render import comparisons, plans, simulations, sweeps, tables, views
from planner.check import check_plan
from planner.compare import Comparison, compare
from planner.errors import NotFound, PlannerError, Problem, ScenarioError, Severity, did_you_mean
from planner.explanation import Explanation
from planner.loader import Loaded, load, load_plan, parse_scenario
from planner.plan import Plan
from planner.scenario import Scenario
from planner.settings import TimeSplit, split_time
from planner.simulation import simulate
from planner.sweep import Knob, settings_between
from planner.views import view
from solver import solve
from solver.explain import explain

if TYPE_CHECKING:
    from api.service.config import ServiceConfig


def _number(value: Decimal) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def summary(loaded: Loaded) -> str:
    """One line on what a valid scenario holds: horizon, teams, initiatives, demand against capacity."""
    s = loaded.scenario
    capacity = sum((sum(s.capacity(team.id), Decimal(0)) for team in s.teams), Decimal(0))
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
    if args.plan:
        return _check_plan(args, out)
    results: list[dict[str, object]] = []
    failed = False
    for path in args.files:
        existing(path)
    for path in args.files:
        problems: list[Problem]
        try:
            loaded = load(path)
            problems, line = loaded.warnings, summary(loaded)
        except ScenarioError as exc:
            problems, line = exc.as_problems(), None
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


def _check_plan(args: argparse.Namespace, out: TextIO) -> int:
    if len(args.files) != 1:
        raise UsageError(f"--plan checks a plan against one scenario FILE, not {len(args.files)}")
    result = plan_check.check_files(existing(args.files[0]), existing(args.plan), strict=args.strict)
    out.write(plan_check.FORMATS[args.format](result))
    return EXIT_OK if result.holds else EXIT_INVALID


def _split(args: argparse.Namespace, *, reasons: bool, explaining: bool = False) -> TimeSplit:
    """How --time-limit is shared between the search and the reasons (--reasons-time, when given)."""
    kept = getattr(args, "reasons_time", None)
    if kept is not None and not (reasons or explaining):
        raise UsageError(f"--reasons-time {kept:g}: there are no reasons to time with --no-reasons")
    try:
        return split_time(args.time_limit, reasons=reasons, explaining=explaining, reasons_time=kept)
    except ValueError as exc:
        raise UsageError(f"--reasons-time {kept:g}: {exc}") from None


def _solved(args: argparse.Namespace, split: TimeSplit) -> tuple[Scenario, Plan]:
    """Load, check the ids the options name, and solve within the search's share of the time, as `solve` and
    `explain` both do."""
    settings = solve_settings(args)
    loaded = load(existing(args.file), previous=existing(args.previous) if args.previous else None)
    scenario = loaded.scenario
    for problem in loaded.warnings:
        print(problem, file=sys.stderr)
    named = [("--force-in", args.force_in), ("--force-out", args.force_out), ("--initiative", [args.initiative] if getattr(args, "initiative", None) else [])]
    for option, ids in named:
        for initiative in ids:
            if initiative not in scenario.initiative_by_id:
                raise NotFound(f"{option} {initiative}: no initiative '{initiative}' in {args.file}" + did_you_mean(initiative, scenario.initiative_by_id))
    interactive = sys.stderr.isatty() and not args.quiet
    plan = solve(scenario, settings, on_progress=_progress_printer(sys.stderr) if interactive else None, search_time=split.search)
    return scenario, plan


def _explained(
    args: argparse.Namespace,
    scenario: Scenario,
    plan: Plan,
    split: TimeSplit,
    began: float,
    *,
    counterfactuals: bool,
    initiative: str | None = None,
    policy_costs: bool = False,
) -> Explanation:
    """The explanation, within what is left of the time limit since `began`."""

    def report(done: int, total: int) -> None:
        print(f"\r  explaining: {done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)

    interactive = sys.stderr.isatty() and not args.quiet
    return explain(
        scenario,
        plan,
        initiative=initiative,
        counterfactuals=counterfactuals,
        policy_costs=policy_costs,
        time_limit=split.resolve,
        budget=split.left(began),
        on_progress=report if interactive else None,
    )


def _emit(args: argparse.Namespace, text: str, line: str, out: TextIO) -> None:
    if args.out:
        write_atomically(args.out, text)
        print(line, file=sys.stderr)
    else:
        out.write(text)


def _view_format(args: argparse.Namespace) -> None:
    if args.view and args.format not in views.FORMATS:
        raise UsageError(f"--view {args.view} comes as {', '.join(views.FORMATS)}, not --format {args.format}")


def cmd_solve(args: argparse.Namespace, out: TextIO) -> int:
    _view_format(args)
    began = time.perf_counter()
    reasons = args.explain or not args.no_reasons or args.view == "executive"
    split = _split(args, reasons=reasons, explaining=args.explain)
    scenario, plan = _solved(args, split)
    if reasons:
        explanation = _explained(args, scenario, plan, split, began, counterfactuals=args.explain, policy_costs=args.view == "executive")
        plan = plan.model_copy(update={"explanation": explanation})
    if args.view:
        text = views.FORMATS[args.format](view(args.view, scenario, plan), scenario)
    else:
        text = plans.FORMATS[args.format](plan, scenario)
    _emit(args, text, plans.headline(plan, scenario), out)
    return EXIT_FOR_STATUS[plan.status]


def cmd_explain(args: argparse.Namespace, out: TextIO) -> int:
    began = time.perf_counter()
    split = _split(args, reasons=True, explaining=True)
    scenario, plan = _solved(args, split)
    explanation = _explained(args, scenario, plan, split, began, counterfactuals=True, initiative=args.initiative)
    text = plans.EXPLAIN_FORMATS[args.format](explanation, plan, scenario)
    _emit(args, text, plans.headline(plan, scenario), out)
    return EXIT_FOR_STATUS[plan.status]


def cmd_simulate(args: argparse.Namespace, out: TextIO) -> int:
    solve_settings(args)  # every option is checked, --seed (the samples' seed) included, with a plan given or not
    if args.plan:
        scenario = load(existing(args.file)).scenario
        plan = load_plan(existing(args.plan))
        broken = check_plan(scenario, plan)
        if broken:
            more = f"; and {len(broken) - 1} more" if len(broken) > 1 else ""
            raise PlannerError(
                f"{args.plan}: the plan does not hold on {args.file} ({broken[0].message}{more}): see planner check {args.file} --plan {args.plan}"
            )
    else:
        args.force_in, args.force_out, args.previous = [], [], None
        scenario, plan = _solved(args, split_time(args.time_limit, reasons=False))
    if not plan.status.found:
        print(plans.headline(plan, scenario), file=sys.stderr)
        print(plan.message, file=sys.stderr)
        return EXIT_FOR_STATUS[plan.status]
    result = simulate(scenario, plan, args.samples, args.seed)
    _emit(args, simulations.FORMATS[args.format](result, scenario), simulations.headline(result), out)
    return EXIT_OK


def cmd_compare(args: argparse.Namespace, out: TextIO) -> int:
    _view_format(args)
    settings = solve_settings(args)
    paths = [existing(path) for path in [args.base, *args.variants]]
    loaded = [load(path) for path in paths]  # every file is read before anything is solved: a bad one fails fast
    for problem in (p for one in loaded for p in one.warnings):
        print(problem, file=sys.stderr)
    interactive = sys.stderr.isatty() and not args.quiet
    split = _split(args, reasons=True)
    solved = []
    for path, scenario in zip(paths, (one.scenario for one in loaded)):
        began = time.perf_counter()
        plan = solve(scenario, settings, search_time=split.search)
        explanation = _explained(args, scenario, plan, split, began, counterfactuals=False, policy_costs=args.view == "executive")
        plan = plan.model_copy(update={"explanation": explanation})
        if interactive:
            print(f"  {path}: {plans.headline(plan, scenario)}", file=sys.stderr, flush=True)
        solved.append((scenario, plan))
    comparison = compare(solved[0], solved[1:])
    if args.view:
        text = _compared_views(args, comparison, solved)
    else:
        text = comparisons.FORMATS[args.format](comparison)
    _emit(args, text, f"compared {len(paths)} scenarios", out)
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace, out: TextIO) -> int:
    settings = solve_settings(args)
    path = existing(args.file)
    loaded = load(path)
    for problem in loaded.warnings:
        print(problem, file=sys.stderr)
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
            raise UsageError("--from and --to set a capacity change; with --invisible-floor or --confidence-levels give the range as LOW..HIGH")
        if args.confidence_levels:
            if args.confidence is not None:
                raise UsageError("--confidence-levels sweeps the confidence: --confidence does not go with it")
            knob, (low, high) = Knob.confidence, args.confidence_levels
        else:
            knob, (low, high) = Knob.invisible_floor, args.invisible_floor

    def report(done: int, total: int) -> None:
        print(f"  solved {done}/{total} points", file=sys.stderr, flush=True)

    interactive = sys.stderr.isatty() and not args.quiet
    curve = sweeping.sweep(
        path, loaded.scenario, knob, team, settings_between(low, high, args.steps), settings, args.jobs, on_progress=report if interactive else None
    )
    _emit(args, sweeps.FORMATS[args.format](curve), f"swept {len(curve.points)} points", out)
    return EXIT_OK


def cmd_import_csv(args: argparse.Namespace, out: TextIO) -> int:
    base = load(existing(args.into)).scenario
    mapping = importing.read_mapping(existing(args.mapping)) if args.mapping else importing.MappingFile()
    table = csvfile.read_table(existing(args.csv), encoding=args.encoding, delimiter=args.delimiter)
    result = importing.import_csv(table, mapping, base, dayfirst=args.dayfirst)
    text = importing.overlay_text(result.initiatives, importing.relative_base(args.into, args.out), args.csv)
    # The overlay must load over its base before anything is written (it is named where it will stand).
    loaded = parse_scenario(text, name=args.out or "imported.yaml")
    for problem in loaded.warnings:
        print(problem, file=sys.stderr)
    imported = {i["id"] for i in result.initiatives}
    invisible = sum(1 for i in loaded.scenario.initiatives if i.id in imported and loaded.scenario.is_invisible(i))
    # What was imported, left out and why goes to stderr either way: stdout may be the overlay itself.
    report = "\n".join(result.report(args.out or "stdout", invisible))
    _emit(args, text, report, out)
    if not args.out:
        print(report, file=sys.stderr)
    return EXIT_OK


def cmd_batch(args: argparse.Namespace, out: TextIO) -> int:
    settings = solve_settings(args)
    split = _split(args, reasons=not args.no_reasons)
    if args.wall_clock and settings.work_limit is not None:
        raise UsageError("--wall-clock searches on the wall clock, --work-limit on CP-SAT's deterministic time: choose one")
    if settings.backend == "cpsat" and settings.work_limit is None and not args.wall_clock:
        # Reproducible by default: half the search's share as deterministic seconds, so that a runner up to
        # twice as slow still stops on the work done, not on the clock.
        settings = settings.model_copy(update={"work_limit": split.search / 2})
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
    cases = [
        batch.Case(
            path=str(path),
            key=key,
            settings=settings,
            split=split,
            reasons=not args.no_reasons,
            max_regression=args.max_regression,
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
    shown = [view(args.view, scenario, plan) for scenario, plan in solved]
    if args.format == "json":
        document: dict[str, object] = {"views": [v.model_dump(mode="json") for v in shown]}
        if args.view != "public":
            document = {"comparison": comparison.model_dump(mode="json")} | document
        return json.dumps(document, indent=2) + "\n"
    parts = [] if args.view == "public" else [comparisons.FORMATS[args.format](comparison)]
    parts += [views.FORMATS[args.format](v, scenario) for v, (scenario, _) in zip(shown, solved)]
    return "\n".join(parts)


def _progress_printer(stream: TextIO) -> Callable[[float, float, float], None]:
    def report(objective: float, bound: float, seconds: float) -> None:
        shown = "unknown" if math.isnan(bound) else f"{bound:,.3f}"  # CBC through PuLP reports no bound
        print(f"  {seconds:7.2f} s  plan {objective:,.3f}  bound {shown}", file=stream, flush=True)

    return report


def _service_config(args: argparse.Namespace, **extra: object) -> ServiceConfig:
    from pydantic import ValidationError

    from api.service.config import ServiceConfig

    try:
        return ServiceConfig.from_env(instance=args.instance, **extra)
    except ValidationError as exc:  # a setting from the environment: named, as the service reads it
        raise PlannerError("; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())) from None


def cmd_worker(args: argparse.Namespace, out: TextIO) -> int:
    from api.service import logs
    from api.service.app import open_database

    logs.configure(args.log_level, args.log_format)
    config = _service_config(args)
    if not config.redis_url:
        raise PlannerError("a worker takes jobs from the queue: set REDIS_URL (redis://host:6379/0) and DATABASE_URL (postgresql+psycopg://...)")
    from api.service.worker import QueueWorker

    engine, sessions = open_database(config)
    try:
        QueueWorker(sessions, config.redis_url, name=args.name, concurrency=args.concurrency, stale_seconds=config.stale_seconds).run()
    finally:
        engine.dispose()
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    import logging

    from api.service import logs, serve

    logs.configure(args.log_level, args.log_format)
    config = _service_config(args, job_workers=args.job_workers)
    serve.prepare(config)  # a damaged database is said before anything else
    url = f"http://{args.host}:{args.port}"
    if args.load:
        paths = [Path(existing(p)) for p in args.load]
        for path, scenario_id, what in serve.load_files(config, paths, workspace=args.workspace):
            print(f"  {path.name}: {scenario_id} {what}", file=out)
        _, token = serve.create_token(config, role="planner", name=f"planner serve {time.strftime('%Y-%m-%d %H:%M')}", workspace=args.workspace)
        print(
            f"\nThe planner service: {url}  (web page: {url}/ui/, API docs: {url}/docs)\n"
            f"A planner token for workspace '{args.workspace}' (paste it on the web page to sign in):\n\n  {token}\n",
            file=out,
        )
        print(f"  curl -H 'Authorization: Bearer {token}' {url}/scenarios\n", file=out, flush=True)
    else:
        # Said as a log line, so that it is one more JSON object with --log-format json.
        logging.getLogger("planner.serve").info(
            "the planner service: %s (web page: %s/ui/, API docs: %s/docs); no token is printed without --load: create one with "
            "`planner tokens create --role planner --name NAME --instance %s`",
            url,
            url,
            url,
            args.instance,
        )
    serve.run(config, host=args.host, port=args.port, workers=args.workers, log_level=args.log_level, log_format=args.log_format)
    return EXIT_OK


def cmd_tokens_create(args: argparse.Namespace, out: TextIO) -> int:
    from api.service import serve

    token, text = serve.create_token(_service_config(args), role=args.role, name=args.name, workspace=args.workspace)
    print(text, file=out)
    print(f"{token.id}: token '{token.name}', role {token.role}, workspace '{token.workspace_id}'; it is shown only this once", file=sys.stderr)
    return EXIT_OK


def cmd_tokens_list(args: argparse.Namespace, out: TextIO) -> int:
    from api.service import serve

    tokens = serve.list_tokens(_service_config(args), workspace=args.workspace, revoked=args.all)
    rows = [
        {
            "id": t.id,
            "name": t.name,
            "role": t.role,
            "workspace": t.workspace_id,
            "created_at": t.created_at.isoformat(timespec="seconds"),
            **({"revoked_at": t.revoked_at.isoformat(timespec="seconds") if t.revoked_at else None} if args.all else {}),
        }
        for t in tokens
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=2), file=out)
    elif not rows:
        print("no tokens" if args.all else "no live tokens (--all also lists the revoked ones)", file=out)
    else:
        print("\n".join(tables.aligned(list(rows[0]), [["-" if v is None else str(v) for v in row.values()] for row in rows])), file=out)
    return EXIT_OK


def cmd_tokens_revoke(args: argparse.Namespace, out: TextIO) -> int:
    from api.service import serve

    token = serve.revoke_token(_service_config(args), args.token, workspace=args.workspace)
    print(f"revoked {token.id}: token '{token.name}', role {token.role}, workspace '{token.workspace_id}'", file=out)
    return EXIT_OK
