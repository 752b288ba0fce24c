"""Shared by the bad-input tests: the command list, running a command, reading its answer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from typer.testing import CliRunner

from omega_db.cli import app
from tests.helpers import listing, seeded

COMMANDS = ("migrate", "status", "verify", "lessons", "outcomes", "tasks", "learning", "context", "projects", "prune")
READERS = tuple(c for c in COMMANDS if c != "migrate")
# listing and seeded live in helpers; importing them from here still works.
__all__ = ["COMMANDS", "READERS", "Printed", "Ran", "args_for", "invoke", "required", "listing", "one_sentence", "seeded"]
# Their bad files and options are covered in test_backup_files.py: what they are given is
# not always the database (restore's BACKUP; backups lists beside a database that may be gone).
BACKUP_COMMANDS = ("backup", "backups", "restore")


@dataclass(frozen=True)
class Ran:
    """What a command did: exit code and its two streams."""

    code: int
    stdout: str
    stderr: str


def invoke(runner: CliRunner, *args: str) -> Ran:
    """Run the CLI in-process; an exception escaping the error boundary fails the test."""
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"omega-db {' '.join(args)} raised {result.exception!r}") from result.exception
    assert "Traceback" not in result.stderr + result.stdout
    return Ran(result.exit_code, result.stdout, result.stderr)


def args_for(command: str, path: Path) -> list[str]:
    """The command on path, asking for JSON (read commands) so the answer can be parsed."""
    if command == "migrate":
        return [command, str(path)]
    return [command, str(path), *required(command), "-f", "json"]


# prune writes; its --dry-run is the read-only command these shared cases hold to their promises
# (every rule named, so every rule's read runs); its writing run has its own tests (test_prune*.py).
PRUNE_DRY = ["--audit-log", "30d", "--outcomes", "30d", "--tasks", "30d", "--messages", "30d", "--dry-run"]


def required(command: str) -> list[str]:
    """The options a command cannot run without (context: whose context; prune: what, and dry)."""
    if command == "prune":
        return PRUNE_DRY
    return ["--sender", "alice"] if command == "context" else []


class Printed(Protocol):
    """What a finished command printed: a Ran, a CompletedProcess, a CliRunner result."""

    @property
    def stdout(self) -> str: ...

    @property
    def stderr(self) -> str: ...


def one_sentence(ran: Printed, path: Path) -> str:
    """The single error line, which names the file; no traceback, nothing on stdout."""
    assert "Traceback" not in ran.stderr
    lines = [line for line in ran.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, ran.stderr
    assert str(path) in lines[0], ran.stderr
    assert ran.stdout.strip() == ""
    return lines[0]
