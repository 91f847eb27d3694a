"""The mutation check of the plan checker, as part of the suite: disabling any one rule of `planner.check`, or
reading any of its bounds the other way (`>` as `>=`), makes a test in tests/test_check.py fail."""

from __future__ import annotations

import subprocess
import sys

from tests.factories import REPO


def test_disabling_any_rule_of_the_checker_makes_one_of_its_tests_fail():
    # A process of its own: each mutant replaces `planner.check` in a fork of it, which must not have
    # imported the checker yet (this one has).
    run = subprocess.run([sys.executable, "-m", "tests.mutate_checker"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert ", 0 survived, 0 errors" in run.stdout
