"""Run the benchmark suites and write `docs/benchmarks.md`: `python -m bench.run [--full]`.

Every solve runs in its own process (`bench.worker`), one after another, so solvers never compete for
the two cores and each reports its own peak memory. Results are appended to a JSON-lines file as they
arrive: a crash or a Ctrl-C keeps everything finished so far, and `python -m bench.report` renders
the report again from it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import cases, report

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "out" / "results.jsonl"

MKNAP_LIMIT = 10.0
J30_LIMIT = 10.0
WORKER_COUNTS = (2, 4, 8)
MILP_PEERS = ("highs", "cbc", "scip")
LONG_HIGHS = 400.0  # the yardstick for the generated portfolio: what HiGHS reaches given 400 s
HARD_J30 = ("j3013_1", "j3025_1", "j3029_1", "j3041_1")  # the first instances that took seconds, not tenths


def jobs(full: bool) -> Iterator[dict[str, Any]]:
    """Every solve of the run, suite by suite."""
    groups = range(1, 49)
    j30_all = [f"j30{g}_{i}" for g in groups for i in range(1, 11)] if full else [f"j30{g}_1" for g in groups]
    j30_milp = [f"j30{g}_1" for g in groups][:: 2 if full else 8]
    for solver in ("cpsat", "greedy"):
        for name in j30_all:
            yield {"suite": "j30", "case": cases.psplib_case(name), "solver": solver, "time_limit": J30_LIMIT}
    for solver in MILP_PEERS:
        for name in j30_milp:
            yield {"suite": "j30", "case": cases.psplib_case(name), "solver": solver, "time_limit": J30_LIMIT}

    # j60: the planner against the interval + cumulative CP-SAT peer on the first instance of every parameter
    # group (of four groups in the quick run), and the MILP peers on every fourth group's.
    j60_groups = list(range(1, 49) if full else (1, 9, 13, 25))
    j60 = [f"j60{g}_1" for g in j60_groups]
    for solver in ("cpsat", "interval"):
        for name in j60:
            yield {"suite": "j60", "case": cases.psplib_case(name), "solver": solver, "time_limit": J30_LIMIT}
    for solver in MILP_PEERS:
        for name in j60[:: 4 if full else 2]:
            yield {"suite": "j60", "case": cases.psplib_case(name), "solver": solver, "time_limit": J30_LIMIT}

    for index in range(7):
        for solver in ("cpsat", *MILP_PEERS, "greedy"):
            yield {"suite": "mknap1", "case": cases.orlib_case("mknap1", index), "solver": solver, "time_limit": MKNAP_LIMIT}
    # The first five instances of each of mknapcb1-6 in the full run (each file is 30 instances of 5, 10 or 30
    # constraints by 100, 250 or 500 items: the first ten share a shape and a tightness, 0.25), the first of
    # three in the quick one. Five a file keeps `make bench-full` within two hours on two cores.
    picked = {f"mknapcb{n}": range(5) for n in range(1, 7)} if full else {"mknapcb1": (0,), "mknapcb4": (0,), "mknapcb5": (0,)}
    for file, indices in picked.items():
        for index in indices:
            for solver in ("cpsat", *MILP_PEERS, "greedy"):
                yield {"suite": "mknapcb", "case": cases.orlib_case(file, index), "solver": solver, "time_limit": MKNAP_LIMIT}

    # Generated portfolios by time limit: the planner, CP-SAT alone (what racing HiGHS adds), the MILP peers,
    # and HiGHS given 400 s (the target); the second generator setting only in the full run.
    settings = [(cases.generated_case(500, 20, 8), (2, 5, 10, 30, 60) if full else (2, 10, 30))]
    if full:
        settings.append((cases.generated_case(500, 20, 8, mix="wide"), (10, 30, 60)))
    for large, limits in settings:
        for limit in limits:
            for solver in ("cpsat", "alone", "highs", "cbc"):
                yield {"suite": "large", "case": large, "solver": solver, "time_limit": float(limit)}
        if full:
            yield {"suite": "large", "case": large, "solver": "scip", "time_limit": 30.0}
        if full and large["mix"] == "standard":
            yield {"suite": "large", "case": large, "solver": "highs", "time_limit": LONG_HIGHS}
        yield {"suite": "large", "case": large, "solver": "greedy", "time_limit": 10.0}
    large = settings[0][0]

    for seed in range(1, 11 if full else 5):
        for solver in ("cpsat", "greedy"):
            yield {"suite": "uplift", "case": cases.generated_case(60, 6, 4, seed=seed), "solver": solver, "time_limit": 30.0}

    if full:
        scale = cases.generated_case(2000, 40, 26, granularity="sprint")
        for solver in ("cpsat", "alone", "highs", "cbc", "greedy"):
            yield {"suite": "scale", "case": scale, "solver": solver, "time_limit": 60.0}
        # Why `--workers 0` means at least 4 (solver.cpsat.MIN_WORKERS): the same solves with 2, 4 and 8.
        for workers in WORKER_COUNTS:
            yield {"suite": "workers", "case": large, "solver": "cpsat", "time_limit": 30.0, "workers": workers}
            for name in HARD_J30:
                yield {"suite": "workers", "case": cases.psplib_case(name), "solver": "cpsat", "time_limit": J30_LIMIT, "workers": workers}

    # Explanations: a 30 s solve, then every re-solve of the explanation gets `resolve_limit` seconds.
    yield {"suite": "explain", "case": cases.generated_case(200, 10, 4), "solver": "cpsat", "time_limit": 30.0, "explain": True, "resolve_limit": 0.25}

    # The distributed queue against the embedded runner: a sweep and an explained solve on 1 and 2 workers (bench/queue.py).
    yield {"suite": "queue", "case": {"kind": "service", "name": "queue, 1 and 2 workers"}, "solver": "cpsat", "time_limit": 5.0, "deadline": 1500}

    # Uncertainty: samples per second of a simulation, and the cost of --confidence against the deterministic plan (bench/uncertainty.py).
    yield {"suite": "uncertainty", "case": {"kind": "service", "name": "simulate and --confidence"}, "solver": "cpsat", "time_limit": 20.0, "deadline": 900}

    # The service: `planner serve` on loopback, solve jobs and reads under load (bench/api.py).
    yield {
        "suite": "api",
        "case": {"kind": "service", "name": "planner serve, loopback"},
        "solver": "cpsat",
        "time_limit": 10.0,
        "full": full,
        "deadline": 1200 if full else 300,
    }


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """One solve in a fresh process; a crash or a hang is recorded as such, never raised."""
    deadline = job.get("deadline") or job["time_limit"] * (20 if job.get("explain") else 2) + 180
    began = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.worker"],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            timeout=deadline,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return {**job, "status": "killed", "error": f"no answer within {deadline:g} s", "wall": time.perf_counter() - began}
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return {**job, "status": "crashed", "error": lines[-1] if lines else f"exit {done.returncode}", "wall": time.perf_counter() - began}
    return {**job, **json.loads(done.stdout), "wall": time.perf_counter() - began}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description="Run the benchmarks and write docs/benchmarks.md.")
    parser.add_argument("--full", action="store_true", help="every instance and time limit (tens of minutes); default: a quick subset")
    parser.add_argument(
        "--suite",
        action="append",
        help="run only this suite (repeatable): j30, j60, mknap1, mknapcb, large, uplift, scale, workers, explain, queue, uncertainty, api",
    )
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"), help="the report to write (default docs/benchmarks.md)")
    args = parser.parse_args(argv)
    if not cases.DATA.is_dir():
        parser.error(f"benchmark data not found at {cases.DATA} (set BENCH_DATA to the folder holding psplib-j30 and orlib-mknap)")
    selected = [j for j in jobs(args.full) if not args.suite or j["suite"] in args.suite]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    command = "make bench-full" if args.full else "make bench"
    if args.suite:
        command = "python -m bench.run" + (" --full" if args.full else "") + "".join(f" --suite {s}" for s in args.suite)
    began = time.perf_counter()
    with RESULTS.open("w") as out:
        out.write(json.dumps({"run": report.run_facts(command)}) + "\n")
        for n, job in enumerate(selected, 1):
            result = run_job(job)
            out.write(json.dumps(result) + "\n")
            out.flush()
            shown = result.get("objective")
            print(
                f"[{n}/{len(selected)}] {job['suite']:8} {job['case']['name']:24} {job['solver']:6} {job['time_limit']:>4g} s: "
                f"{result['status']} {'' if shown is None else f'{shown:g}'} ({result['wall']:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
    print(f"{len(selected)} solves in {time.perf_counter() - began:.0f} s; results in {RESULTS.relative_to(ROOT)}", file=sys.stderr)
    report.write(RESULTS, Path(args.out))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
