"""OR-Library multidimensional 0-1 knapsack instances (mknap1, mknapcb*) as value scenarios.

One period, one team per constraint (its right-hand side as capacity), one optional initiative per item:
its weight in each constraint is its effort on that constraint's team, its profit its value. The best
plan is then exactly the best knapsack: value objective, no decay, no policies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import validated
from planner.loader import Loaded


@dataclass(frozen=True)
class Knapsack:
    name: str
    profits: list[float]
    weights: list[list[float]]  # per constraint, per item
    capacities: list[float]
    known: float  # the value the file gives: 0 when unavailable


def parse(path: Path) -> list[Knapsack]:
    """Every instance in the file: a stream of numbers, line breaks meaningless (see FORMAT.txt)."""
    numbers = [float(x) for x in path.read_text().split()]
    count, at = int(numbers[0]), 1
    instances = []
    for k in range(count):
        n, m, known = int(numbers[at]), int(numbers[at + 1]), numbers[at + 2]
        at += 3
        profits = numbers[at : at + n]
        at += n
        weights = [numbers[at + r * n : at + (r + 1) * n] for r in range(m)]
        at += m * n
        capacities = numbers[at : at + m]
        at += m
        instances.append(Knapsack(f"{path.stem}-{k:02d}", profits, weights, capacities, known))
    if at != len(numbers):
        raise ValueError(f"{path}: {len(numbers) - at} numbers left over after {count} instances")
    return instances


def _plain(x: float) -> int | float:
    return int(x) if x == int(x) else x


def scenario_document(knapsack: Knapsack) -> dict[str, Any]:
    m = len(knapsack.capacities)
    initiatives = []
    for j, profit in enumerate(knapsack.profits):
        effort = {f"c{r + 1}": _plain(knapsack.weights[r][j]) for r in range(m) if knapsack.weights[r][j]}
        if not effort:
            raise ValueError(f"{knapsack.name}: item {j + 1} weighs nothing in every constraint; the scenario format needs some effort")
        initiatives.append({"id": f"item{j + 1}", "title": f"Item {j + 1}", "effort": effort, "value": _plain(profit)})
    return {
        "name": knapsack.name,
        "description": f"OR-Library multidimensional knapsack {knapsack.name}: maximise the value packed.",
        "horizon": {"start": "t1", "periods": 1, "granularity": "sprint"},
        "unit": "weight units",
        "teams": [{"id": f"c{r + 1}", "capacity": _plain(c)} for r, c in enumerate(knapsack.capacities)],
        "initiatives": initiatives,
    }


def convert(knapsack: Knapsack) -> Loaded:
    """The instance as a validated scenario."""
    return validated(scenario_document(knapsack), knapsack.name)


# mknapcb file -> (m, n) of the class keyed in best-feasible-slns.txt
CLASSES = {
    f"mknapcb{k}": (m, n) for k, (m, n) in enumerate([(5, 100), (5, 250), (5, 500), (10, 100), (10, 250), (10, 500), (30, 100), (30, 250), (30, 500)], 1)
}


def best_known(table: Path) -> tuple[dict[str, float], dict[str, float]]:
    """best-feasible-slns.txt as `({instance name: Chu-Beasley best value}, {instance name: LP bound})`.

    Each key appears twice in the file: first in the table of best values, then in the LP table."""
    best: dict[str, float] = {}
    lp: dict[str, float] = {}
    by_class = {mn: name for name, mn in CLASSES.items()}
    for line in table.read_text().splitlines():
        match = re.match(r"^\s*(\d+)\.(\d+)-(\d+)\s+([-+.\deE]+)\s*$", line)
        if not match:
            continue
        m, n, k, value = int(match[1]), int(match[2]), int(match[3]), float(match[4])
        name = f"{by_class[m, n]}-{k:02d}"
        (lp if name in best else best)[name] = value
    return best, lp
