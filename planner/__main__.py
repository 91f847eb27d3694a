"""`python -m planner`: the `planner` command line, as the console script runs it.

The domain imports nothing from the edges; this entry point is the one exception, and it is never
imported, only run (the import test skips `__main__` modules).
"""

from api.cli import main

raise SystemExit(main())
