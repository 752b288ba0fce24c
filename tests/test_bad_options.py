"""Bad option values, for every command: exit 2, the option named, nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import helpers
from tests.inputkit import COMMANDS, invoke, required

COMMON_BAD = [
    (["--format", "xml"], "--format"),
    (["--timeout", "-1"], "--timeout"),
    (["--timeout", "soon"], "--timeout"),
    (["--timeout", "nan"], "--timeout"),
    (["--timeout", "2147484"], "--timeout"),  # past SQLite's longest busy timeout (2**31 - 1 ms): it would not wait
    (["--bogus"], "--bogus"),
]
SPECIFIC_BAD = [
    ("migrate", ["--to", "999"], "--to"),
    ("migrate", ["--to", "bogus"], "--to"),
    ("migrate", ["--to", ""], "--to"),
    ("migrate", ["--to", "005"], "--to"),  # already passed: the file is at 011
    ("lessons", ["--limit", "-1"], "--limit"),
    ("lessons", ["--limit", "ten"], "--limit"),
    ("lessons", ["--limit", str(2**64)], "--limit"),
    ("lessons", ["--only"], "--only"),
    ("lessons", ["-f", "xml"], "--format"),
    ("outcomes", ["--hours", "0"], "--hours"),
    ("outcomes", ["--hours", "-3"], "--hours"),
    ("outcomes", ["--hours", "nan"], "--hours"),
    ("outcomes", ["--hours", "inf"], "--hours"),
    ("outcomes", ["--hours", "yesterday"], "--hours"),
    ("outcomes", ["--hours", "soon"], "--hours"),
    ("outcomes", ["--limit", "-5"], "--limit"),
    ("outcomes", ["--limit", str(2**64)], "--limit"),
    ("tasks", ["--status", "done"], "--status"),
    ("tasks", ["--due", "--status", "failed"], "--status"),
    ("tasks", ["--limit", "-1"], "--limit"),
]
BAD_OPTIONS = [(c, a, o) for c in COMMANDS for a, o in COMMON_BAD] + SPECIFIC_BAD


@pytest.mark.parametrize(("command", "extra", "option"), BAD_OPTIONS, ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_a_bad_option_value_is_exit_2(runner: CliRunner, shared_seeded: Path, command: str, extra: list[str], option: str) -> None:
    before = helpers.fingerprint(shared_seeded)
    ran = invoke(runner, command, str(shared_seeded), *required(command), *extra)
    assert ran.code == 2, (ran.stdout, ran.stderr)
    assert option in ran.stderr
    assert ran.stdout.strip() == ""
    assert helpers.fingerprint(shared_seeded) == before
    assert helpers.listing(shared_seeded.parent) == ["memory.db"]


@pytest.mark.parametrize("command", COMMANDS)
def test_two_database_arguments_are_exit_2(runner: CliRunner, shared_seeded: Path, command: str) -> None:
    before = helpers.fingerprint(shared_seeded)
    ran = invoke(runner, command, str(shared_seeded), str(shared_seeded), *required(command))
    assert ran.code == 2
    assert helpers.fingerprint(shared_seeded) == before
