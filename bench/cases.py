"""Benchmark cases: where each scenario comes from, as a small JSON-able spec, and how to load it.

A spec travels to the worker process as JSON, so every solve builds its own scenario from scratch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench import validated
from planner.scenario import Scenario

DATA = Path(os.environ.get("BENCH_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "bench-data"))
PSPLIB = DATA / "psplib-j30"
PSPLIB_J60 = DATA / "psplib-j60"
ORLIB = DATA / "orlib-mknap"

Spec = dict[str, Any]


def psplib_case(name: str) -> Spec:
    return {"kind": "psplib", "name": name}


def orlib_case(file: str, index: int) -> Spec:
    return {"kind": "orlib", "name": f"{file}-{index:02d}", "file": file, "index": index}


def generated_case(initiatives: int, teams: int, periods: int, granularity: str = "quarter", seed: int = 1, mix: str = "standard") -> Spec:
    return {
        "kind": "generated",
        "name": f"{initiatives}x{teams}x{periods} {granularity}{' wide' if mix == 'wide' else ''} s{seed}",
        "mix": mix,
        "initiatives": initiatives,
        "teams": teams,
        "periods": periods,
        "granularity": granularity,
        "seed": seed,
    }


def load(spec: Spec) -> Scenario:
    """The scenario a spec names, read through the user's loader (so it is validated like any file)."""
    if spec["kind"] == "psplib":
        from bench import psplib

        folder = PSPLIB_J60 if spec["name"].startswith("j60") else PSPLIB
        return psplib.convert(folder / "instances" / f"{spec['name']}.sm").scenario
    if spec["kind"] == "orlib":
        from bench import orlib

        return orlib.convert(orlib.parse(ORLIB / f"{spec['file']}.txt")[spec["index"]]).scenario
    if spec["kind"] == "generated":
        from bench.generate import portfolio

        document = portfolio(
            spec["initiatives"], spec["teams"], spec["periods"], granularity=spec["granularity"], seed=spec["seed"], mix=spec.get("mix", "standard")
        )
        return validated(document, spec["name"]).scenario
    raise ValueError(f"unknown case kind {spec['kind']!r}")
