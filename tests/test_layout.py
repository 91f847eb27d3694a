"""The project's shape: imports go one way (domain <- solver <- api), and every bundled scenario is clean.

Inside `api`, three rooms: the command line (`api.cli`), rendering (`api.render`) and the service
(`api.service`). Rendering is used by both edges and imports neither; the service never imports the
command line, which starts it; route modules reach the service through `api.service.context`, not the app
that registers them.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

from planner import load
from tests.factories import BUNDLED, REPO

# Imports every module of the given packages (but not `__main__`, which runs the CLI) in a fresh
# interpreter, then prints what was imported and which modules of the forbidden packages came along.
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
inside = lambda m: any(m == f or m.startswith(f + ".") for f in forbidden)
print(json.dumps({"imported": imported, "forbidden": sorted(m for m in sys.modules if inside(m))}))
"""


def import_all(packages: str, forbidden: str) -> dict[str, list[str]]:
    run = subprocess.run([sys.executable, "-c", IMPORT_ALL, packages, forbidden], cwd=REPO, capture_output=True, text=True, timeout=60)
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


def test_rendering_imports_neither_the_command_line_nor_the_service_nor_a_solver():
    result = import_all("api.render", "api.cli,api.service,solver,flask")
    assert {"api.render.plans", "api.render.views", "api.render.comparisons", "api.render.sweeps"} <= set(result["imported"])
    assert result["forbidden"] == []


def test_the_service_never_imports_the_command_line():
    result = import_all("api.service", "api.cli,bench")
    assert {"api.service.app", "api.service.routes.plans"} <= set(result["imported"])
    assert result["forbidden"] == []


def test_the_command_line_starts_the_service_only_when_asked():
    result = import_all("api.cli", "api.service,flask")
    assert "api.cli.commands" in result["imported"]
    assert result["forbidden"] == []


def test_route_modules_reach_the_service_through_its_context_not_the_app():
    result = import_all("api.service.routes", "api.service.app")
    assert "api.service.routes.scenarios" in result["imported"]
    assert result["forbidden"] == []


def test_route_modules_share_only_through_the_common_module():
    siblings = []
    for path in sorted((REPO / "api" / "service" / "routes").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("api.service.routes"):
                names = [node.module] if node.module != "api.service.routes" else [f"{node.module}.{a.name}" for a in node.names]
                siblings += [f"{path.name}: {n}" for n in names if n != "api.service.routes.common"]
    assert siblings == []


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
