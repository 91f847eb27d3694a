"""PSPLIB single-mode RCPSP instances (`.sm`) as makespan scenarios.

One period per time unit, one team per renewable resource (its availability as capacity in every
period), one mandatory initiative per non-dummy job: it occupies `duration` consecutive periods and
loads each resource by its request in every one of them (the effort `request x duration`, spread evenly,
is exactly the request per period). Precedences become `depends_on`; the dummy source and sink carry no
work and are left out, which changes neither the precedences between real jobs nor the makespan.

The horizon is the file's own `horizon` line (the sum of all durations: a schedule that runs every job
one after another always fits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import validated
from planner.loader import Loaded

NAME = re.compile(r"^j(\d\d)(\d+)_(\d+)\.sm$")


@dataclass(frozen=True)
class Project:
    name: str
    horizon: int
    durations: list[int]  # per job, 1-based job j at index j-1
    requests: list[list[int]]  # per job, per resource
    successors: list[list[int]]
    capacities: list[int]


def parse(path: Path) -> Project:
    """Read one `.sm` file, finding each section by its header text."""
    lines = path.read_text().splitlines()

    def after(header: str) -> int:
        for number, line in enumerate(lines):
            if line.strip().startswith(header):
                return number + 1
        raise ValueError(f"{path}: no line starting with {header!r}")

    def value(label: str) -> int:
        for line in lines:
            if line.strip().startswith(label):
                return int(line.split(":")[1].split()[0])
        raise ValueError(f"{path}: no {label!r} line")

    jobs, horizon, resources = value("jobs (incl. supersource/sink )"), value("horizon"), value("- renewable")
    first = after("PRECEDENCE RELATIONS:") + 1
    successors = [[int(s) for s in lines[first + j].split()[3:]] for j in range(jobs)]
    first = after("REQUESTS/DURATIONS:") + 2  # skip the column names and the dashed line
    rows = [[int(x) for x in lines[first + j].split()] for j in range(jobs)]
    capacities = [int(x) for x in lines[after("RESOURCEAVAILABILITIES:") + 1].split()]
    if len(capacities) != resources or any(len(row) != 3 + resources for row in rows):
        raise ValueError(f"{path}: expected {resources} resources in every request row and the availabilities")
    return Project(
        name=path.stem,
        horizon=horizon,
        durations=[row[2] for row in rows],
        requests=[row[3:] for row in rows],
        successors=successors,
        capacities=capacities,
    )


def scenario_document(project: Project) -> dict[str, Any]:
    jobs = len(project.durations)
    real = range(2, jobs)  # 1 and n are the dummy source and sink
    predecessors: dict[int, list[int]] = {j: [] for j in real}
    for i in real:
        for j in project.successors[i - 1]:
            if j in predecessors:
                predecessors[j].append(i)
    initiatives = []
    for j in real:
        duration, requests = project.durations[j - 1], project.requests[j - 1]
        initiative: dict[str, Any] = {
            "id": f"job{j}",
            "title": f"Job {j}",
            "effort": {f"r{k + 1}": r * duration for k, r in enumerate(requests) if r},
            "duration": duration,
        }
        if predecessors[j]:
            initiative["depends_on"] = [f"job{i}" for i in predecessors[j]]
        initiatives.append(initiative)
    return {
        "name": project.name,
        "description": f"PSPLIB {project.name}: minimise the makespan.",
        "horizon": {"start": "t1", "periods": project.horizon, "granularity": "sprint"},
        "unit": "resource units",
        "teams": [{"id": f"r{k + 1}", "capacity": c} for k, c in enumerate(project.capacities)],
        "policies": {"objective": "makespan"},
        "initiatives": initiatives,
    }


def convert(path: Path) -> Loaded:
    """The instance as a validated scenario."""
    return validated(scenario_document(parse(path)), path.name)


def optimal_makespans(table: Path, family: str = "j30") -> dict[str, int]:
    """j30opt.sm (proven optima) or j60hrs.sm (best-known makespans): `{instance name: makespan}`."""
    known = {}
    for line in table.read_text().splitlines():
        match = re.match(r"^\s*(\d+)\s+(\d+)\s+(\d+)", line)
        if match:
            group, instance, makespan = (int(x) for x in match.groups())
            known[f"{family}{group}_{instance}"] = makespan
    return known
