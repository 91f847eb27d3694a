"""The examples in the README and docs are scenarios the planner accepts as written."""

from __future__ import annotations

import re

import pytest

from planner import parse_scenario
from tests.factories import BUNDLED, REPO


def yaml_blocks(path):
    return re.findall(r"```yaml\n(.*?)```", path.read_text(), re.S)


def test_the_readme_example_is_a_valid_scenario_without_warnings():
    block = next(b for b in yaml_blocks(REPO / "README.md") if b.startswith("name: tiny"))
    assert parse_scenario(block, name="README.md").warnings == []


@pytest.mark.parametrize("doc", ["README.md", "docs/scenario-format.md"])
def test_the_overlay_examples_load_over_the_bundled_base(doc):
    overlays = [b for b in yaml_blocks(REPO / doc) if b.lstrip().startswith(("extends", "#"))]
    assert overlays, f"{doc} shows no overlay"
    for block in overlays:
        # Resolved next to the bundled scenarios, where the examples' `extends: acme-2027.yaml` points.
        parse_scenario(block, name=str(BUNDLED / "example-overlay.yaml"))
