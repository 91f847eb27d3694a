"""The `planner` command line: an adapter at the edge, over the domain (`planner`) and the solvers.

`program.main` parses (`parser`), runs one of `commands` and maps errors to exit codes (`exits`);
`options` checks option values. Behind the commands: `batch` (CI runs), `sweeping` (trade-off curves in
parallel processes), `importing` (CSV to an overlay; `csvfile` reads the CSV itself), `processes` (work in
child processes) and `files` (atomic writes). Words come from `api.render`; the service (`api.service`)
is only started from here.
"""

from api.cli.program import main

__all__ = ["main"]
