"""What a change to the model costs scenarios that do not use it: `python -m bench.overhead BASE_COMMIT`.

The same cases are built and solved by this tree and by BASE_COMMIT (checked out with `git worktree`
into a temporary folder), one process at a time, alternating, three times each: the median model build
time, the median solve time with CP-SAT (one worker, a fixed seed) and the objective, side by side, with
the ratio of this tree to the base. The table replaces the section it heads in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.sections import replace_section

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## The cost of new rules to scenarios that do not use them"
CASES = ["reference", "generated 120x8x8", "generated 500x20x8"]
RUNS = 3

# Run in the tree under test: build the model and solve it, print one JSON line.
PROBE = """
import json, sys, time
from planner import load_scenario
from planner.settings import SolveSettings
from solver import solve
from solver.formulation import Formulation
case = sys.argv[1]
if case == "reference":
    scenario = load_scenario("scenarios/acme-2027.yaml")
else:
    from bench.generate import portfolio
    from planner.scenario import Scenario
    n, t, p = (int(x) for x in case.split()[1].split("x"))
    scenario = Scenario.model_validate(portfolio(n, t, p, seed=1))
settings = SolveSettings(time_limit=10, workers=1, seed=0)
began = time.perf_counter()
rows = len(Formulation(scenario, settings).rows)
built = time.perf_counter() - began
began = time.perf_counter()
plan = solve(scenario, settings)
print(json.dumps({"build": built, "solve": time.perf_counter() - began, "rows": rows, "objective": plan.objective, "status": plan.status.value}))
"""


@dataclass(frozen=True)
class Run:
    build: float
    solve: float
    rows: int
    objective: float
    status: str


def measure(tree: Path, case: str) -> Run:
    done = subprocess.run([sys.executable, "-c", PROBE, case], cwd=tree, capture_output=True, text=True, timeout=300, check=True)
    return Run(**json.loads(done.stdout.strip().splitlines()[-1]))


def _span(runs: list[Run]) -> str:
    """The objectives the runs reached: a search stopped by its time limit need not reach the same one twice."""
    values = sorted(r.objective for r in runs)
    return f"{values[0]:g}" if values[0] == values[-1] else f"{values[0]:g}..{values[-1]:g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the commit to compare with, e.g. the one before the change")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), args.base], cwd=ROOT, check=True, capture_output=True)
        try:
            results: dict[tuple[str, str], list[Run]] = {}
            for case in CASES:
                for _ in range(RUNS):
                    for name, tree in (("base", base), ("this", ROOT)):
                        results.setdefault((name, case), []).append(measure(tree, case))
                        print(f"{case} {name}: {results[name, case][-1]}", file=sys.stderr)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    lines = [
        HEADING,
        "",
        f"`python -m bench.overhead {args.base}`: this tree against commit `{args.base}` on the same machine in the same run, "
        f"alternating, median of {RUNS} (CP-SAT, one worker, seed 0, 10 s limit). Ratio: this tree / the base.",
        "",
        "| Case | Rows (base / this) | Build, s (base / this) | Ratio | Solve, s (base / this) | Ratio | Objective, lowest..highest of the runs (base / this) |",
        "|---|---|---|---|---|---|---|",
    ]
    for case in CASES:
        base_runs, this_runs = results["base", case], results["this", case]

        b_build, t_build = statistics.median(r.build for r in base_runs), statistics.median(r.build for r in this_runs)
        b_solve, t_solve = statistics.median(r.solve for r in base_runs), statistics.median(r.solve for r in this_runs)
        lines.append(
            f"| {case} | {base_runs[0].rows} / {this_runs[0].rows} | {b_build:.3f} / {t_build:.3f} | {t_build / b_build:.2f} "
            f"| {b_solve:.2f} / {t_solve:.2f} | {t_solve / b_solve:.2f} | {_span(base_runs)} / {_span(this_runs)} |"
        )
    same_rows = all(results["base", c][0].rows == results["this", c][0].rows for c in CASES)
    ratios = [statistics.median(r.solve for r in results["this", c]) / statistics.median(r.solve for r in results["base", c]) for c in CASES]
    lines += [
        "",
        (
            "The model has the same rows in both: what changed adds none to a scenario that does not use it. "
            if same_rows
            else "The rows differ: see the table. "
        )
        + f"Solve times are within {max(abs(r - 1) for r in ratios):.0%} of the base's; build times are milliseconds, and their ratios "
        "are mostly noise. A search stopped by its time limit reaches a slightly different plan from run to run in either tree.",
    ]
    replace_section(HEADING, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
