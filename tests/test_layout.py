"""The project's shape: imports go one way (domain <- solver <- api), and every bundled scenario is clean."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

from planner import load
from tests.factories import BUNDLED, REPO

# Imports every module of the given packages (but not `__main__`, which runs the CLI) in a fresh
# interpreter, then prints what was imported and which of the forbidden top-level packages came along.
IMPORT_ALL = """
import importlib, json, pkgutil, sys
packages, forbidden = sys.argv[1].split(","), set(sys.argv[2].split(","))
imported = []
for name in packages:
    package = importlib.import_module(name)
    imported.append(name)
    for module in pkgutil.walk_packages(package.__path__, name + "."):
        if module.name.rsplit(".", 1)[-1] != "__main__":
            importlib.import_module(module.name)
            imported.append(module.name)
print(json.dumps({"imported": imported, "forbidden": sorted(m for m in sys.modules if m.split(".")[0] in forbidden)}))
"""


def import_all(packages: str, forbidden: str) -> dict[str, list[str]]:
    run = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL, packages, forbidden], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_the_planner_domain_imports_no_solver_and_no_web_framework():
    result = import_all("planner", "ortools,pulp,flask,solver,api,bench")
    assert {"planner.loader", "planner.overlay", "planner.check", "planner.plan"} <= set(result["imported"])
    assert result["forbidden"] == []


def test_the_solvers_import_nothing_from_the_edges():
    result = import_all("solver", "flask,api,bench")
    assert {"solver.cpsat", "solver.greedy"} <= set(result["imported"])
    assert result["forbidden"] == []


def test_the_api_imports_nothing_from_the_benchmarks():
    result = import_all("api", "bench")
    assert "api.cli" in result["imported"]
    assert result["forbidden"] == []


def test_the_api_uses_solver_libraries_only_through_the_solver_package():
    direct = []
    for path in sorted((REPO / "api").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            direct += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("ortools", "pulp")]
    assert direct == []


@pytest.mark.parametrize("path", sorted(BUNDLED.glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_scenario_loads_without_problems_or_warnings(path):
    assert load(path).warnings == []
