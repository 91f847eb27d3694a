"""What a command gives back: exit codes, and the usage error that a command raises for exit 2.

0 success, 1 invalid input, 2 usage error (including a file that does not exist), 3 infeasible scenario,
4 no plan found within the time limit; `batch` exits 1 when any scenario fails. `api.cli.program` maps
every error to its code, in one place.
"""

from __future__ import annotations

from planner.errors import NotFound, PlannerError, ScenarioError
from planner.settings import PlanStatus

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INFEASIBLE, EXIT_NO_PLAN = 0, 1, 2, 3, 4
EXIT_FAILED = 1  # batch: a scenario failed its checks
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports a process stopped by SIGINT
EXIT: dict[type[PlannerError], int] = {NotFound: EXIT_INVALID, ScenarioError: EXIT_INVALID, PlannerError: EXIT_INVALID}
EXIT_FOR_STATUS = {
    PlanStatus.optimal: EXIT_OK,
    PlanStatus.feasible: EXIT_OK,
    PlanStatus.infeasible: EXIT_INFEASIBLE,
    PlanStatus.unknown: EXIT_NO_PLAN,
}


class UsageError(Exception):
    """The command line itself is wrong: exit 2 with a message, like argparse's own errors."""
