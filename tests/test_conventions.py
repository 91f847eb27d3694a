"""The project's conventions: `python -m planner`, the license, and `make run`'s port."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib

import pytest

from tests.factories import REPO


def test_python_dash_m_planner_runs_the_planner_command_line():
    run = subprocess.run([sys.executable, "-m", "planner", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage: planner ")
    assert "tokens" in run.stdout


def test_python_dash_m_planner_exits_with_the_commands_exit_code(tmp_path):
    missing = tmp_path / "missing.yaml"
    run = subprocess.run([sys.executable, "-m", "planner", "check", str(missing)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stderr


def test_the_license_file_is_the_license_pyproject_names():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["license"]
    text = (REPO / "LICENSE").read_text()
    assert declared == "Apache-2.0"
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in text
    assert "Copyright 2026 the portfolio planner authors" in text


def _make_run(*arguments: str, **environment: str) -> str:
    run = subprocess.run(["make", "-n", "run", *arguments], cwd=REPO, capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin", **environment})
    assert run.returncode == 0, run.stderr
    return next(line for line in run.stdout.splitlines() if " serve " in line)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_serves_on_port_8000_unless_told_otherwise():
    assert _make_run().endswith("--port 8000")
    assert _make_run("PORT=8080").endswith("--port 8080")


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_a_port_in_the_environment_does_not_move_make_run():
    assert _make_run(PORT="9999").endswith("--port 8000")
