"""The examples in the README and docs are scenarios the planner accepts as written, and the README's
example prints what the README shows."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from planner import parse_scenario
from tests.factories import BUNDLED, REPO


def yaml_blocks(path):
    return re.findall(r"```yaml\n(.*?)```", path.read_text(), re.S)


def readme_example():
    return next(b for b in yaml_blocks(REPO / "README.md") if b.startswith("name: tiny"))


def test_the_readme_example_is_a_valid_scenario_without_warnings():
    assert parse_scenario(readme_example(), name="README.md").warnings == []


def test_the_readme_example_prints_what_the_readme_shows(tmp_path):
    shown = re.search(r"```\n\$ \.venv/bin/planner solve tiny\.yaml\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert shown, "the README shows what `planner solve tiny.yaml` prints"
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(readme_example())
    run = subprocess.run([sys.executable, "-m", "api", "solve", str(scenario)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr

    def lines(text):  # the solve time differs from run to run; `...` stands for lines left out
        return [re.sub(r"\d+\.\d+ s\b", "N s", line).rstrip() for line in text.splitlines()]

    printed = iter(lines(run.stdout))
    for line in lines(shown.group(1)):
        assert line == "..." or line in printed, f"planner solve tiny.yaml no longer prints, in this order: {line!r}\n{run.stdout}"


@pytest.mark.parametrize("doc", ["docs/scenario-format.md"])
def test_the_overlay_examples_load_over_the_bundled_base(doc):
    overlays = [b for b in yaml_blocks(REPO / doc) if b.lstrip().startswith(("extends", "#"))]
    assert overlays, f"{doc} shows no overlay"
    for block in overlays:
        # Resolved next to the bundled scenarios, where the examples' `extends: acme-2027.yaml` points.
        parse_scenario(block, name=str(BUNDLED / "example-overlay.yaml"))
