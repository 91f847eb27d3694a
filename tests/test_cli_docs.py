"""docs/cli.md, the command reference, says what `planner --help` says.

Every command `planner --help` lists (and each action of a command that has actions, as `tokens create`)
has a section in docs/cli.md headed `planner COMMAND`; every option the command's `--help` shows is named in
that section, and every option the section names for the command is one it takes. `planner` runs as a
process, as a user runs it, so these tests do not depend on which module holds the parser.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import cache

from tests.factories import REPO

CLI_MD = REPO / "docs" / "cli.md"
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


@cache
def help_text(*command: str) -> str:
    # A wide terminal keeps argparse from wrapping a command's name away from its description.
    run = subprocess.run(
        [sys.executable, "-m", "api", *command, "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert run.returncode == 0, f"planner {' '.join(command)} --help failed:\n{run.stderr}"
    return run.stdout


def listed_commands(text: str) -> list[str]:
    """The commands a `--help` lists: argparse indents them by four spaces under its positional arguments."""
    block = re.search(r"^positional arguments:\n(.*?)(?=^\S|\Z)", text, re.S | re.M)
    return re.findall(r"^ {4}([a-z][\w-]*)", block.group(1), re.M) if block else []


@cache
def commands() -> tuple[str, ...]:
    """Every command that does something, `check` to `tokens create`: a command with actions stands for its actions."""
    found: list[str] = []

    def walk(path: tuple[str, ...]) -> None:
        listed = listed_commands(help_text(*path))
        if path and not listed:
            found.append(" ".join(path))
        for name in listed:
            walk((*path, name))

    walk(())
    assert found, "planner --help lists no commands: has its layout changed?"
    return tuple(found)


def options_in_help(command: str) -> set[str]:
    """The long options in a command's usage line (everything up to the first blank line), --help aside."""
    text = help_text(*command.split())
    assert text.startswith(f"usage: planner {command} "), text
    return set(OPTION.findall(text.split("\n\n", 1)[0])) - {"--help"}


def sections() -> dict[str, str]:
    """docs/cli.md's command sections: `## `planner COMMAND`` up to the next `## ` heading, by command."""
    found: dict[str, str] = {}
    for part in re.split(r"^## ", CLI_MD.read_text(), flags=re.M)[1:]:
        heading, _, body = part.partition("\n")
        named = re.fullmatch(r"`planner ([a-z][\w -]*)`", heading.strip())
        if named:
            found[named.group(1)] = body
    return found


def options_named(command: str, section: str) -> set[str]:
    """The options a section names for its own command.

    A code span or an example line that runs another command (`planner solve --format json`, in the
    section on `batch`) names that command's options, not this one's; everything else in the section,
    prose, synopsis and examples of the command itself, names this command's.
    """
    others = sorted((c for c in commands() if c != command), key=len, reverse=True)
    runs_another = re.compile(r"^\s*(?:\$\s*)?(?:[\w./-]*planner\s+)?(?:" + "|".join(map(re.escape, others)) + r")(?:\s|$)")
    code_lines = [line for block in re.findall(r"^```[^\n]*\n(.*?)^```", section, re.S | re.M) for line in block.splitlines()]
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", section, flags=re.S | re.M)
    spans = re.findall(r"`([^`\n]+)`", prose)
    prose = re.sub(r"`[^`\n]+`", "", prose)
    named = set(OPTION.findall(prose))
    for code in code_lines + spans:
        if not runs_another.match(code):
            named |= set(OPTION.findall(code))
    return named


def test_every_command_planner_help_lists_has_a_section_in_docs_cli_md() -> None:
    missing = [c for c in commands() if c not in sections()]
    assert not missing, f"docs/cli.md has no section headed `planner COMMAND` for: {', '.join(missing)}"


def test_every_command_section_in_docs_cli_md_is_a_command_planner_has() -> None:
    unknown = [c for c in sections() if c not in commands()]
    assert not unknown, f"docs/cli.md has sections for commands planner --help does not list: {', '.join(unknown)}"


def test_every_option_a_command_shows_in_its_help_is_named_in_its_section() -> None:
    documented = sections()
    missing = {command: sorted(options_in_help(command) - options_named(command, documented[command])) for command in commands() if command in documented}
    missing = {command: options for command, options in missing.items() if options}
    assert not missing, f"options --help shows that docs/cli.md does not name in the command's section: {missing}"


def test_every_option_docs_cli_md_names_for_a_command_is_one_its_help_shows() -> None:
    documented = sections()
    unknown = {command: sorted(options_named(command, documented[command]) - options_in_help(command)) for command in commands() if command in documented}
    unknown = {command: options for command, options in unknown.items() if options}
    assert not unknown, f"options docs/cli.md names that the command's --help does not show: {unknown}"
