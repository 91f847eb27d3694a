"""Mutation check of the plan checker: disable one rule at a time, and a test in tests/test_check.py must fail.

    .venv/bin/python -m tests.mutate_checker [--jobs N] [--verbose]

Every test of the planner leans on `planner.check.check_plan`, so a rule it silently stopped checking
would let any backend's bug through. The mutants are made from planner/check.py's syntax tree:

- each `fail(RuleKind.X, ...)` call on its own replaced by `pass` (one place a rule is found broken);
- every `fail(RuleKind.X, ...)` call of one rule at once, for a rule found broken in more than one place;
- each `_check_...(...)` helper call of `check_plan` removed (a whole family of rules);
- each ordering comparison in the condition of a rule read with the other boundary (`load > capacity` as
  `load >= capacity`): a plan exactly at a capacity, floor, share or deadline keeps the rule.

Each mutant replaces `planner.check` in a forked copy of this process (the libraries are imported once,
here; the checker and everything that imports it are imported fresh in the child), and pytest runs
tests/test_check.py against it, stopping at the first failure. A mutant is killed when a test fails and
survives when they all pass. The exit status is 1 when any survives or errs, 2 when the unmutated
checker already fails its tests. Linux (os.fork) only. See docs/testing.md.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import sys
import tempfile
import time
import types
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHECK = REPO / "planner" / "check.py"
TESTS = REPO / "tests" / "test_check.py"

NOT_CHECKED = {"force_in", "force_out", "synergy"}
"""Rule kinds the checker never reports: solve settings (`--force-in`), which a plan is not checked against,
and synergies, which only the objective counts (the checker recomputes it)."""


@dataclass(frozen=True)
class Mutant:
    name: str
    source: str  # the whole mutated planner/check.py


def _rule_of(node: ast.AST) -> str | None:
    """X for a statement `fail(RuleKind.X, ...)`, else None."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return None
    call = node.value
    if not (isinstance(call.func, ast.Name) and call.func.id == "fail" and call.args):
        return None
    kind = call.args[0]
    if isinstance(kind, ast.Attribute) and isinstance(kind.value, ast.Name) and kind.value.id == "RuleKind":
        return kind.attr
    return None


def _helper_of(node: ast.AST) -> str | None:
    """The name of a statement `_check_...(...)`, else None."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name):
        return node.value.func.id if node.value.func.id.startswith("_check_") else None
    return None


class _Replace(ast.NodeTransformer):
    """Replaces each statement or comparison that `replace` gives a replacement for."""

    def __init__(self, replace) -> None:  # type: ignore[no-untyped-def]
        self.replace = replace

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        return self.replace(node) or node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        return self.replace(node) or self.generic_visit(node)


def _mutated(tree: ast.Module, replace) -> str:  # type: ignore[no-untyped-def]
    # A copy each time (the transformer edits the tree it is given), which keeps the original positions.
    return ast.unparse(ast.fix_missing_locations(_Replace(replace).visit(copy.deepcopy(tree))))


def _disabled(chosen):  # type: ignore[no-untyped-def]
    """A replacement of the statements `chosen` picks by `pass`."""
    return lambda node: ast.copy_location(ast.Pass(), node) if isinstance(node, ast.Expr) and chosen(node) else None


BOUNDARY = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
SYMBOL = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


def _boundaries(tree: ast.Module) -> list[tuple[ast.Compare, str]]:
    """Each ordering comparison in the condition of an `if` that reports a rule, with that rule."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.If):
            continue
        rules = [rule for statement in node.body if (rule := _rule_of(statement))]
        for compare in ast.walk(node.test):
            if rules and isinstance(compare, ast.Compare) and len(compare.ops) == 1 and type(compare.ops[0]) in BOUNDARY:
                found.append((compare, rules[0]))
    return sorted(found, key=lambda c: (c[0].lineno, c[0].col_offset))


def _flipped(at: ast.Compare):  # type: ignore[no-untyped-def]
    """A replacement of the comparison at `at`'s position by its strict or non-strict twin."""

    def replace(node: ast.AST) -> ast.AST | None:
        if isinstance(node, ast.Compare) and (node.lineno, node.col_offset) == (at.lineno, at.col_offset):
            return ast.copy_location(ast.Compare(left=node.left, ops=[BOUNDARY[type(node.ops[0])]()], comparators=node.comparators), node)
        return None

    return replace


def mutants(source: str) -> list[Mutant]:
    """Every mutant of the checker's source: each place a rule is found broken, each rule, each helper, and
    each boundary (`>` read as `>=`) of a rule's condition."""
    tree = ast.parse(source)
    sites = sorted((node.lineno, rule) for node in ast.walk(tree) if (rule := _rule_of(node)))
    out: list[Mutant] = []
    for line, rule in sites:
        out.append(Mutant(f"{rule} (check.py:{line})", _mutated(tree, _disabled(lambda node, line=line: _rule_of(node) and node.lineno == line))))
    by_rule: dict[str, int] = {}
    for _, rule in sites:
        by_rule[rule] = by_rule.get(rule, 0) + 1  # type: ignore[index]
    for rule, count in sorted(by_rule.items()):
        if count > 1:
            out.append(Mutant(f"{rule} (all {count} places)", _mutated(tree, _disabled(lambda node, rule=rule: _rule_of(node) == rule))))
    for helper in sorted({_helper_of(n) for n in ast.walk(tree) if _helper_of(n)}):  # type: ignore[type-var]
        out.append(Mutant(f"{helper}() not called", _mutated(tree, _disabled(lambda node, helper=helper: _helper_of(node) == helper))))
    for compare, rule in _boundaries(tree):
        op = type(compare.ops[0])
        name = f"{rule} boundary, {SYMBOL[op]} as {SYMBOL[BOUNDARY[op]]} (check.py:{compare.lineno})"
        out.append(Mutant(name, _mutated(tree, _flipped(compare))))
    return out


def rules_reported(source: str) -> set[str]:
    return {rule for node in ast.walk(ast.parse(source)) if (rule := _rule_of(node))}


def _run_in_child(source: str, log: Path, select: str | None) -> int:
    """In a forked child: install the mutant as `planner.check`, run the checker's tests, exit with pytest's status."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    try:
        import planner

        module = types.ModuleType("planner.check")
        module.__file__ = str(CHECK)
        sys.modules["planner.check"] = module
        planner.check = module  # type: ignore[attr-defined]
        exec(compile(source, str(CHECK), "exec"), module.__dict__)
        import pytest
        from hypothesis import Phase, settings

        # One failing example kills a mutant: shrinking it would only cost time.
        settings.register_profile("mutant", phases=[Phase.explicit, Phase.reuse, Phase.generate])
        settings.load_profile("mutant")
        code = int(pytest.main(["-x", "-q", "--tb=short", "-p", "no:cacheprovider", *(["-k", select] if select else []), str(TESTS)]))
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 3
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run(candidates: list[Mutant], jobs: int, logs: Path, select: str | None = None) -> dict[str, tuple[int, float]]:
    """pytest's exit status and seconds for each mutant, `jobs` children at a time."""
    results: dict[str, tuple[int, float]] = {}
    waiting = list(enumerate(candidates))
    running: dict[int, tuple[Mutant, float]] = {}
    while waiting or running:
        while waiting and len(running) < jobs:
            n, mutant = waiting.pop(0)
            pid = os.fork()
            if pid == 0:
                _run_in_child(mutant.source, logs / f"{n}.log", select)
            running[pid] = (mutant, time.monotonic())
        pid, status = os.wait()
        mutant, started = running.pop(pid)
        results[mutant.name] = (os.waitstatus_to_exitcode(status), time.monotonic() - started)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutate_checker", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutants tested at once (default: one per core)")
    parser.add_argument("--verbose", action="store_true", help="print every mutant, not only the survivors")
    parser.add_argument("-k", dest="select", metavar="EXPRESSION", help="run only the tests pytest -k selects (which tests kill what)")
    args = parser.parse_args(argv)
    if not hasattr(os, "fork"):
        print("the mutation check forks a process per mutant: it runs on Linux and macOS only", file=sys.stderr)
        return 2
    assert "planner.check" not in sys.modules, "the checker must be imported fresh in each mutant's process"
    _import_once()

    source = CHECK.read_text()
    started = time.monotonic()
    unchecked = sorted({kind.value for kind in _rule_kinds()} - rules_reported(source) - NOT_CHECKED)
    candidates = mutants(source)
    with tempfile.TemporaryDirectory(prefix="mutate-checker-") as folder:
        logs = Path(folder)
        control = run([Mutant("the checker as it is", source)], 1, logs, args.select)
        print(f"the checker as it is: its tests pass in {control['the checker as it is'][1]:.1f} s")
        if control["the checker as it is"][0] != 0:
            print((logs / "0.log").read_text())
            print("the checker's tests fail without any mutation: fix them first", file=sys.stderr)
            return 2
        results = run(candidates, args.jobs, logs, args.select)
        survived = [m for m in candidates if results[m.name][0] == 0]
        errors = [m for m in candidates if results[m.name][0] not in (0, 1)]
        width = max(len(m.name) for m in candidates)
        for n, mutant in enumerate(candidates):
            code, seconds = results[mutant.name]
            verdict = {0: "SURVIVED", 1: "killed"}.get(code, f"error (pytest exit {code})")
            if args.verbose or code != 1:
                print(f"{mutant.name:<{width}}  {verdict:<10} {seconds:5.1f} s")
            if code not in (0, 1):
                print((logs / f"{n}.log").read_text()[-3000:])
    elapsed = time.monotonic() - started
    killed = len(candidates) - len(survived) - len(errors)
    print(f"{len(candidates)} mutants of planner/check.py: {killed} killed, {len(survived)} survived, {len(errors)} errors, in {elapsed:.0f} s")
    if unchecked:
        print(f"rule kinds the checker never reports: {', '.join(unchecked)}")
    return 1 if survived or errors or unchecked else 0


def _import_once() -> None:
    """What every mutant's run imports, imported once before forking; none of it imports the checker."""
    from importlib import import_module
    from importlib.metadata import entry_points

    import hypothesis  # noqa: F401
    import ortools.sat.python.cp_model  # noqa: F401
    import pytest  # noqa: F401

    import planner.plan  # noqa: F401
    import tests.factories
    import tests.strategies  # noqa: F401

    for plugin in entry_points(group="pytest11"):  # pytest loads these in every run: hypothesis, schemathesis, ...
        import_module(plugin.value.split(":")[0])
    assert "planner.check" not in sys.modules, "the checker must be imported fresh in each mutant's process"


def _rule_kinds():  # type: ignore[no-untyped-def]
    from planner.rules import RuleKind

    return list(RuleKind)


if __name__ == "__main__":
    sys.exit(main())
