"""Uncertainty: how fast a plan is simulated, and what a robust plan (`--confidence`) costs against the deterministic one.

Run alone with `python -m bench.uncertainty` (prints the result as JSON), or as the `uncertainty` suite of `bench.run`.

- Samples per second of `planner.simulation.simulate` on the reference plan, the AI portfolio's plan and a
  generated 500 x 20 x 8 portfolio given three-point estimates here (seeded: every effort a PERT of 0.8x to
  1.6x its likely, every fifth initiative a success of 0.7, every team an availability of 0.85 to 1).
- The cost of confidence: the AI portfolio and a generated 200 x 10 x 4 one with ranges, solved deterministic
  and with `--confidence 0.8` and `0.95`, by CP-SAT (the planner) and by HiGHS (the same robust loop on the
  MILP backend, its peer). For each: solve seconds, the objective, and an independent simulation (4,000
  samples, a seed neither solve used) of the delivery confidence and the expected value.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from typing import Any

from bench.generate import portfolio
from bench.run import ROOT
from planner.check import check_plan
from planner.scenario import Scenario
from planner.settings import SolveSettings
from planner.simulation import simulate

CHECK_SAMPLES, CHECK_SEED = 4000, 777_001
LEVELS = (None, 0.8, 0.95)
TIME_LIMIT = 20.0


def with_ranges(document: dict[str, Any], seed: int) -> dict[str, Any]:
    """The generated portfolio with three-point estimates: multipliers on every initiative, success on some, availability on every team."""
    rng = random.Random(f"ranges:{seed}")
    for n, initiative in enumerate(document["initiatives"]):
        initiative["estimate"] = {"low": 0.8, "high": round(rng.uniform(1.2, 1.8), 2)}
        if n % 5 == 0:
            initiative["success"] = 0.7
    for team in document["teams"]:
        team["availability"] = {"low": 0.85, "likely": 1, "high": 1}
    return document


def _scenario(name: str) -> Scenario:
    from planner.loader import load_scenario

    if name in ("acme-2027", "ai-platform-2027"):
        return load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    initiatives, teams, periods = (int(x) for x in name.split()[0].split("x"))
    return Scenario.model_validate(with_ranges(portfolio(initiatives, teams, periods, seed=1), 1))


def _speed(name: str) -> dict[str, Any]:
    from solver import solve

    scenario = _scenario(name)
    plan = solve(scenario, SolveSettings(time_limit=10, workers=0))
    out: dict[str, Any] = {"scenario": name, "initiatives": len(scenario.initiatives), "scheduled": len(plan.scheduled)}
    for samples in (1000, 10_000):
        began = time.perf_counter()
        simulate(scenario, plan, samples, seed=1)
        out[f"seconds_{samples}"] = time.perf_counter() - began
    out["per_second"] = 10_000 / out["seconds_10000"]
    return out


def _cost(name: str, backend: str) -> list[dict[str, Any]]:
    from solver import solve

    scenario = _scenario(name)
    rows = []
    for level in LEVELS:
        settings = SolveSettings(time_limit=TIME_LIMIT, workers=0 if backend == "cpsat" else 1, confidence=level)
        if backend == "highs":
            settings = settings.model_copy(update={"backend": "pulp", "milp_solver": "highs"})
        began = time.perf_counter()
        plan = solve(scenario, settings)
        seconds = time.perf_counter() - began
        valid = plan.status.found and not check_plan(scenario, plan)
        independent = simulate(scenario, plan, CHECK_SAMPLES, CHECK_SEED) if plan.status.found else None
        rows.append(
            {
                "scenario": name,
                "backend": backend,
                "confidence": level,
                "status": plan.status.value,
                "valid": valid,
                "seconds": seconds,
                "objective": plan.objective,
                "achieved": independent.confidence if independent else None,
                "expected": independent.value.mean if independent and independent.value else None,
                "rounds": plan.confidence.rounds if plan.confidence else None,
                "met": plan.confidence.met if plan.confidence else None,
            }
        )
    return rows


def run(job: dict[str, Any]) -> dict[str, Any]:
    speed = [_speed(name) for name in ("acme-2027", "ai-platform-2027", "500x20x8 quarter s1")]
    cost = [row for name in ("ai-platform-2027", "200x10x4 quarter s1") for backend in ("cpsat", "highs") for row in _cost(name, backend)]
    valid = all(r["valid"] for r in cost if r["status"] in ("optimal", "feasible"))
    return {"status": "measured", "valid": valid, "speed": speed, "cost": cost, "check_samples": CHECK_SAMPLES, "time_limit": TIME_LIMIT}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.uncertainty", description="Measure simulation speed and the cost of confidence; print JSON.")
    parser.parse_args(argv)
    json.dump(run({}), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
