"""The `planner` command line's grammar: every command, its options and its help, and the command each runs."""

from __future__ import annotations

import argparse
import os
import re
from typing import get_args

from api.cli import commands, csvfile, options
from api.render import comparisons, plans, simulations, sweeps
from planner import __version__
from planner.settings import MilpSolver
from planner.views import VIEWS

VIEW_HELP = (
    "the plan for one audience (formats table, md, json): executive (themes, value and uplift, what was left out and why, "
    "the price of each guardrail, risks), engineering (load and work per team and period, dependencies, binding capacity, "
    "skill assignments) or public (a customer roadmap of visible work: no values, capacities, ids, teams or dependencies)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="planner",
        description="Plan a portfolio of initiatives against team capacity, dependencies, deadlines and invisible-work policies.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = subcommands.add_parser(
        "check",
        help="validate scenario files and report every problem; or re-check a plan against its scenario",
        description="Validate scenario files (YAML or JSON; overlays resolved) and print every problem found, "
        "each as FILE:LINE:COLUMN: FIELD: message. With --plan, re-check a plan against one scenario, which may have "
        "changed since the plan was made: every rule its decisions break, named like the model's rows "
        "(capacity[web, 2027-Q1]); figures the plan reports that the scenario now gives differently are listed as "
        "stale and do not fail it. Exit 0 when all are valid (the plan holds), 1 when any is invalid (a rule is "
        "broken, or a file cannot be read), 2 on a usage error.",
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="scenario files (with --plan: the one scenario)")
    check.add_argument(
        "--plan",
        metavar="PLAN.json",
        help="re-check this plan (written by solve --format json, edited by hand or made elsewhere) against the scenario",
    )
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    check.set_defaults(func=commands.cmd_check, parser=check)

    search = argparse.ArgumentParser(add_help=False)
    search.add_argument(
        "--time-limit",
        type=options.seconds,
        default=10.0,
        metavar="S",
        help="seconds in all, the search and the reasons together: for the whole of solve and explain, for each scenario "
        "of compare and batch, for each point of sweep (default: 10)",
    )
    search.add_argument(
        "--backend", choices=["cpsat", "pulp", "greedy"], default="cpsat", help="cpsat (default), pulp (CBC or HiGHS) or greedy (the rank-ordered baseline)"
    )
    search.add_argument(
        "--milp-solver",
        choices=get_args(MilpSolver),
        default="auto",
        help="the pulp backend's solver: auto (default: HiGHS when installed, else CBC), highs or cbc",
    )
    search.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help=f"parallel search workers, {options.bounds('workers')} (default 0: CP-SAT one per core and at least 4, MILP the solver's own default)",
    )
    search.add_argument("--seed", type=int, default=0, metavar="N", help=f"random seed, {options.bounds('seed')} (with --workers 1 the plan is reproducible)")
    search.add_argument(
        "--work-limit",
        type=options.seconds,
        metavar="S",
        help="cpsat: stop after S of CP-SAT's deterministic seconds, on one worker, so that the plan does not depend on the "
        "machine's speed (for CI); the search's share of --time-limit still bounds the wall clock: give it room",
    )
    search.add_argument(
        "--no-race",
        dest="race",
        action="store_false",
        help="cpsat: CP-SAT searches alone; by default a MILP solver (SCIP on small models, HiGHS on larger ones) joins it on "
        "the same model when the search lasts over a second, and the plan is the better of the two (see docs/solver.md)",
    )
    search.add_argument(
        "--confidence",
        type=options.confidence,
        metavar="SHARE",
        help="robust planning: every hard deadline and required item holds in at least this share of simulated samples, "
        "0.5 to 0.99 (e.g. 0.9 or 90%%); the plan reports the confidence an independent simulation gives it (docs/solver.md)",
    )
    search.add_argument(
        "--objective",
        choices=["planned", "expected"],
        default="planned",
        help="planned (default): value at the likely estimates; expected: each value's mean times its success",
    )
    reasons_time = argparse.ArgumentParser(add_help=False)
    reasons_time.add_argument(
        "--reasons-time",
        type=options.seconds,
        metavar="S",
        help="seconds of --time-limit kept for the reasons, which also get what the search leaves (default: a quarter; half for explain and solve --explain)",
    )
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--out", metavar="F", help="write the output to F (whole or not at all) instead of stdout")
    output.add_argument("--quiet", action="store_true", help="no progress lines on a terminal")

    solving = argparse.ArgumentParser(add_help=False, parents=[search, reasons_time, output])
    solving.add_argument("file", metavar="FILE", help="scenario file (YAML or JSON; overlays resolved)")
    solving.add_argument(
        "--previous",
        metavar="PLAN.json",
        help="re-plan against this plan (from --format json): moving or dropping what it scheduled costs value "
        "(policies.stability); replaces the scenario's previous_plan",
    )
    solving.add_argument("--force-in", action="append", default=[], metavar="ID", help="schedule this initiative (repeatable)")
    solving.add_argument("--force-out", action="append", default=[], metavar="ID", help="leave this initiative out (repeatable)")

    solve_ = subcommands.add_parser(
        "solve",
        parents=[solving],
        help="find the best plan for a scenario",
        description="Solve a scenario: which initiatives are scheduled, when, and by which teams, with the proof of "
        "how good the plan is, its uplift over a rank-ordered baseline, and why each initiative is out or late "
        "(each reason checked by a re-solve). Exit 0 with a plan, 1 invalid input, 2 usage error, "
        "3 infeasible scenario, 4 no plan within the time limit.",
    )
    solve_.add_argument("--format", choices=sorted(plans.FORMATS), default="table", help="output format (default: table)")
    solve_.add_argument("--view", choices=VIEWS, help=VIEW_HELP)
    solve_.add_argument("--explain", action="store_true", help="add the what-ifs, the cost of each policy and the value of full teams (see planner explain)")
    solve_.add_argument(
        "--no-reasons", action="store_true", help="skip the reasons for work left out or late (re-solves): the search gets the whole time limit"
    )
    solve_.set_defaults(func=commands.cmd_solve, parser=solve_)

    explain_ = subcommands.add_parser(
        "explain",
        parents=[solving],
        help="why each initiative is in, out or late, and what would change it",
        description="Solve a scenario and explain the plan with numbers proven by re-solving: why each initiative "
        "is in, out or late; forcing it in, out or earlier; the value and the capacity with which it would fit; "
        "what each policy costs; what one more unit of capacity is worth where a team is full. For an infeasible "
        "scenario: a minimal set of rules that cannot all hold, and verified repairs. Exit codes as for solve.",
    )
    explain_.add_argument("--initiative", metavar="ID", help="explain only this initiative")
    explain_.add_argument("--format", choices=sorted(plans.EXPLAIN_FORMATS), default="table", help="output format (default: table)")
    explain_.set_defaults(func=commands.cmd_explain, parser=explain_)

    compare_ = subcommands.add_parser(
        "compare",
        parents=[search, reasons_time, output],
        help="solve scenarios and compare them with a base",
        description="Solve a base scenario and its variants (overlays or whole files) with the same settings and compare them: "
        "for each its status, objective, uplift over the rank-ordered baseline, gap, utilisation per team, invisible-work share, "
        "theme mix and deadlines met; then, per variant, every initiative added, dropped, or moved earlier or later than in the "
        "base, with the reason from its explanation. Exit 0 when compared, 1 invalid input, 2 usage error.",
    )
    compare_.add_argument("base", metavar="BASE", help="the scenario the others are compared with")
    compare_.add_argument("variants", nargs="+", metavar="VARIANT", help="scenarios to compare with the base")
    compare_.add_argument("--format", choices=sorted(comparisons.FORMATS), default="table", help="output format (default: table)")
    compare_.add_argument("--view", choices=VIEWS, help=VIEW_HELP + "; after the comparison, one per scenario (public: the roadmaps alone)")
    compare_.set_defaults(func=commands.cmd_compare, parser=compare_)

    sweep_ = subcommands.add_parser(
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
    knob.add_argument("--invisible-floor", type=options.share_range, metavar="LOW..HIGH", help="sweep policies.invisible_work.min_share, e.g. 0..0.4")
    knob.add_argument(
        "--confidence-levels",
        type=options.confidence_range,
        metavar="LOW..HIGH",
        help="sweep the confidence asked of a robust plan (--confidence), e.g. 0.7..0.95: what each step of confidence costs",
    )
    sweep_.add_argument("--from", dest="low", type=options.capacity_change, metavar="PCT", help="with --capacity: the first change (default: -20%%)")
    sweep_.add_argument("--to", dest="high", type=options.capacity_change, metavar="PCT", help="with --capacity: the last change (default: +30%%)")
    sweep_.add_argument("--steps", type=options.steps, default=6, metavar="N", help="points on the curve, both ends included: 2 to 64 (default: 6)")
    sweep_.add_argument("--jobs", type=options.count, default=2, metavar="N", help="processes solving points at once (default: 2)")
    sweep_.add_argument("--format", choices=sorted(sweeps.FORMATS), default="table", help="output format (default: table)")
    sweep_.set_defaults(func=commands.cmd_sweep, parser=sweep_)
    # "--from -20%" reads as a value, not an option: argparse only knows plain negative numbers by default.
    sweep_._negative_number_matcher = re.compile(r"^-\d+(\.\d*)?%?$|^-\.\d+%?$")

    import_ = subcommands.add_parser(
        "import-csv",
        help="initiatives from a CSV export (e.g. Jira) as an overlay of a scenario",
        description="Read initiatives from a CSV export (a Jira Cloud or Server issue export, or a spreadsheet) and write "
        "an overlay of BASE with them: `extends: BASE` and the initiatives, matched by id. The mapping file names the "
        "columns, filters rows (include, exclude), fills or skips blanks (defaults, blanks), maps values, sprints and "
        "versions, and rolls epics up from their children; Blocks links become depends_on. The encoding (UTF-8, else "
        "Windows-1252) and the delimiter are detected unless given. Every row problem is reported, located at its "
        "CSV line and column, and nothing is written unless the overlay loads; a summary of what was imported, "
        "skipped and why goes to stderr. See docs/scenario-format.md. Exit 0 when imported, 1 invalid input, 2 usage error.",
    )
    import_.add_argument("csv", metavar="CSV", help="the export, with a header row")
    import_.add_argument("--into", required=True, metavar="BASE", help="the scenario whose teams and horizon the initiatives use")
    import_.add_argument(
        "--mapping",
        metavar="MAP.yaml",
        help="columns, effort_per_unit, teams, kinds, themes, date_format, defaults, blanks, include, exclude, value, "
        "earliest_start, deadline (default: a Jira export's column names, Story Points as the effort, one point per unit)",
    )
    import_.add_argument("--out", metavar="F", help="write the overlay to F (whole or not at all) instead of stdout")
    import_.add_argument("--encoding", type=csvfile.encoding_name, metavar="ENC", help="the file's encoding, e.g. cp1252 (default: UTF-8, else Windows-1252)")
    import_.add_argument(
        "--delimiter", type=csvfile.delimiter_char, metavar="CHAR", help="the delimiter: ',', ';', 'tab', ... (default: the one that splits the header)"
    )
    dates = import_.add_mutually_exclusive_group()
    dates.add_argument("--dayfirst", dest="dayfirst", action="store_const", const=True, help="numeric dates put the day first: 03/04/2027 is 3 April")
    dates.add_argument("--monthfirst", dest="dayfirst", action="store_const", const=False, help="numeric dates put the month first: 03/04/2027 is 4 March")
    import_.set_defaults(func=commands.cmd_import_csv, parser=import_)

    batch_ = subcommands.add_parser(
        "batch",
        parents=[search, reasons_time],
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
    batch_.add_argument("--summary", metavar="FILE", help='append the Markdown summary to FILE (e.g. "$GITHUB_STEP_SUMMARY")')
    batch_.add_argument("--jobs", type=options.count, default=1, metavar="N", help="scenarios solved at once, each in its own process (default: 1)")
    batch_.add_argument("--baseline", metavar="DIR", help="earlier plans (a --report-dir of an earlier run): fail on a value drop or a lost mandatory item")
    batch_.add_argument(
        "--max-regression",
        type=options.share,
        default=0.0,
        metavar="SHARE",
        help="with --baseline, the drop in value allowed before a scenario fails, e.g. 2%% or 0.02 (default: 0)",
    )
    batch_.add_argument("--no-reasons", action="store_true", help="skip the reasons for work left out or late in the reports")
    batch_.add_argument(
        "--wall-clock",
        action="store_true",
        help="cpsat: search on the wall clock with every worker, as solve does, instead of the default work limit "
        "(half the search's time, one worker) that makes each plan depend only on its scenario",
    )
    batch_.add_argument("--quiet", action="store_true", help="no progress bar on a terminal")
    batch_.set_defaults(func=commands.cmd_batch, parser=batch_)

    simulate_ = subcommands.add_parser(
        "simulate",
        parents=[search, output],
        help="Monte Carlo of a plan: how likely it is to hold when the three-point estimates are drawn",
        description="Draw the scenario's uncertain estimates (three-point efforts and values, estimate multipliers, success, "
        "availability) --samples times and play the plan forward by the execution rule of docs/scenario-format.md "
        '("Simulating a plan"): each team works its scheduled items in plan order, what does not fit slips, dependents wait. '
        "Reports per initiative the chance of finishing by its deadline and by its planned finish and its P50 and P80 finish, "
        "the plan's value P10, P50 and P90, each team's chance of overload per period, and the estimates that drive the risk "
        "most. The plan is --plan's, or the one solve returns (without reasons). The same --seed gives the same result. "
        "Exit 0 when simulated, 1 invalid input (or a plan that does not hold on the scenario), 2 usage error, 3 infeasible "
        "scenario, 4 no plan within the time limit.",
    )
    simulate_.add_argument("file", metavar="FILE", help="scenario file (YAML or JSON; overlays resolved)")
    simulate_.add_argument("--plan", metavar="PLAN.json", help="simulate this plan (from solve --format json) instead of solving")
    simulate_.add_argument("--samples", type=options.samples, default=1000, metavar="N", help="samples to draw, 100 to 100000 (default: 1000)")
    simulate_.add_argument("--format", choices=sorted(simulations.FORMATS), default="table", help="output format (default: table)")
    simulate_.set_defaults(func=commands.cmd_simulate, parser=simulate_)

    instance = argparse.ArgumentParser(add_help=False)
    instance.add_argument(
        "--instance",
        metavar="DIR",
        default=os.environ.get("PLANNER_INSTANCE", "instance"),
        help="the service's folder: its SQLite database and job-runner lock (default: ./instance, or $PLANNER_INSTANCE); "
        "set DATABASE_URL to use PostgreSQL instead",
    )
    serve_ = subcommands.add_parser(
        "serve",
        parents=[instance],
        help="run the planner service (HTTP API and web page) under gunicorn",
        description="Run the HTTP API: scenarios, solve jobs, plans, explanations and comparisons, documented at /docs "
        "and /openapi.json; and the web page on the same data at /ui/ (sign in with a token). Jobs run in a pool of solver "
        "processes; everything is kept in the database.",
    )
    serve_.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    serve_.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve_.add_argument("--workers", type=options.count, default=2, metavar="N", help="HTTP worker processes (default: 2)")
    serve_.add_argument("--job-workers", type=options.count, default=2, metavar="N", help="solver processes running jobs (default: 2)")
    serve_.add_argument(
        "--load",
        nargs="+",
        default=[],
        metavar="FILE",
        help="store these scenario files in the workspace first (a changed file becomes a new version), then print a fresh planner token",
    )
    serve_.add_argument("--workspace", default="local", help="the workspace --load stores into and its token belongs to (default: local)")
    serve_.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default="info",
        help="the least severe log lines written: the server's and the service's own (default: info); access lines are always written",
    )
    serve_.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="text (default: gunicorn's lines) or json: one object per line with time, level, logger, message and, for a request, its method, path and status",
    )
    serve_.set_defaults(func=commands.cmd_serve, parser=serve_)

    worker_ = subcommands.add_parser(
        "worker",
        parents=[instance],
        help="take jobs from the distributed queue (REDIS_URL) and run them",
        description="Take jobs from the queue in Redis (REDIS_URL) and run them, storing results in the shared PostgreSQL "
        "database (DATABASE_URL): start any number, on any host that reaches both. Each job runs in a solver process of its "
        "own; a worker that dies has its jobs run again by the others. SIGTERM or Ctrl-C hands running jobs back to the queue.",
    )
    worker_.add_argument("--name", help="how job records name this worker (default: host:pid)")
    worker_.add_argument("--concurrency", type=options.count, default=1, metavar="N", help="jobs run at once, each in its own solver process (default: 1)")
    worker_.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"], default="info", help="the least severe log lines written (default: info)"
    )
    worker_.add_argument("--log-format", choices=["text", "json"], default="text", help="text, or json: one object per line (default: text)")
    worker_.set_defaults(func=commands.cmd_worker, parser=worker_)

    tokens_ = subcommands.add_parser("tokens", help="manage the service's bearer tokens", description="Manage the service's bearer tokens.")
    token_commands = tokens_.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    create_ = token_commands.add_parser(
        "create",
        parents=[instance],
        help="create a token and print it (it is shown only once)",
        description="Create a bearer token and print it on stdout. The service keeps only its hash: it cannot be shown again.",
    )
    create_.add_argument(
        "--role",
        required=True,
        choices=["viewer", "planner", "admin"],
        help="viewer reads; planner also creates scenarios and runs jobs; admin also manages tokens",
    )
    create_.add_argument("--name", required=True, help="who or what uses it, e.g. ci or alice")
    create_.add_argument("--workspace", default="local", help="the workspace whose data it sees (default: local)")
    create_.set_defaults(func=commands.cmd_tokens_create, parser=create_)

    list_ = token_commands.add_parser(
        "list",
        parents=[instance],
        help="list the tokens: id, name, role, workspace, when created (never the secret)",
        description="List the service's tokens, oldest first: id, name, role, workspace and when each was created "
        "(and revoked, with --all). Secrets are not stored, so they are never shown.",
    )
    list_.add_argument("--workspace", help="only this workspace's tokens (default: every workspace's)")
    list_.add_argument("--all", action="store_true", help="also the revoked tokens")
    list_.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    list_.set_defaults(func=commands.cmd_tokens_list, parser=list_)

    revoke_ = token_commands.add_parser(
        "revoke",
        parents=[instance],
        help="revoke a token by its id or name: the service answers 401 to it from then on",
        description="Revoke a token, named by its id (tok_...) or by its name when one live token has that name. "
        "The service answers 401 to it from the next request on. Exit 0 when revoked, 1 when no live token has "
        "that id or name (or several share the name), 2 on a usage error.",
    )
    revoke_.add_argument("token", metavar="NAME_OR_ID", help="the token's id (from planner tokens list) or its name")
    revoke_.add_argument("--workspace", help="look for the name only in this workspace")
    revoke_.set_defaults(func=commands.cmd_tokens_revoke, parser=revoke_)
    return parser
