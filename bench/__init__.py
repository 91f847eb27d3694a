"""Benchmarks: generated portfolios, public instances with known answers, and the runners that solve them.

Nothing in `planner`, `solver` or `api` imports this package; it only uses them, as a user would.
"""
