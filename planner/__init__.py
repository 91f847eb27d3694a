"""Portfolio planner domain: scenarios, loading and validation, scoring and plan checking.

The domain imports no solver and no web framework: `solver` and `api` build on it, never the reverse.
"""

from planner.errors import Location, NotFound, PlannerError, Problem, ScenarioError, Severity
from planner.loader import Loaded, dump_scenario, load, load_scenario, parse_scenario
from planner.scenario import Initiative, Need, Policies, Scenario, Team, Theme

__version__ = "0.1.0"

__all__ = [
    "Initiative",
    "Loaded",
    "Location",
    "Need",
    "NotFound",
    "PlannerError",
    "Policies",
    "Problem",
    "Scenario",
    "ScenarioError",
    "Severity",
    "Team",
    "Theme",
    "__version__",
    "dump_scenario",
    "load",
    "load_scenario",
    "parse_scenario",
]
