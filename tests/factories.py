"""Small scenarios for tests, built as plain data the way a user would write them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
BUNDLED = REPO / "scenarios"
REFERENCE = BUNDLED / "acme-2027.yaml"
SHARED_REFERENCE = REPO.parent / "shared" / "examples" / "acme-2027.yaml"


def scenario_data(**overrides: Any) -> dict[str, Any]:
    """A tiny valid scenario: two quarters, two teams, three initiatives (one depending on another)."""
    data: dict[str, Any] = {
        "name": "tiny",
        "horizon": {"start": "2027-Q1", "periods": 2, "granularity": "quarter"},
        "unit": "engineer-weeks",
        "teams": [
            {"id": "web", "capacity": 10, "skills": ["frontend"]},
            {"id": "ops", "capacity": [4, 6], "skills": ["infra"]},
        ],
        "themes": [{"id": "growth"}, {"id": "scale"}],
        "initiatives": [
            {"id": "signup", "title": "New signup", "theme": "growth", "effort": {"web": 8}, "value": 20},
            {"id": "cdn", "title": "CDN move", "kind": "infrastructure", "theme": "scale", "effort": {"ops": 4}, "value": 5},
            {"id": "promo", "title": "Promo page", "effort": {"web": 4}, "value": 6, "depends_on": ["signup"]},
        ],
    }
    data.update(copy.deepcopy(overrides))
    return data


def write_yaml(folder: Path, name: str, data: Any) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
