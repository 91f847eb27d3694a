"""Benchmarks: generated portfolios, public instances with known answers, and the runners that solve them.

Nothing in `planner`, `solver` or `api` imports this package; it only uses them, as a user would.
"""

from __future__ import annotations

import json
from typing import Any

from planner.loader import Loaded, parse_scenario


def validated(document: dict[str, Any], name: str) -> Loaded:
    """A converted or generated document read through the same loader a user's file goes through."""
    return parse_scenario(json.dumps(document), name=name, fmt="json")
