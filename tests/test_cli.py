"""The CLI surface: help everywhere, one error boundary, no tracebacks."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from omega_db.cli import app
from tests import helpers


def commands() -> list[str]:
    import typer.main

    group = typer.main.get_command(app)
    return sorted(group.commands)  # type: ignore[attr-defined]


def section(help_text: str, heading: str) -> list[str]:
    """The lines of one section of a --help text ("Examples:", "Commands:"), unindented."""
    body = help_text.split(f"\n{heading}\n", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in body.splitlines() if line.strip()]


@pytest.mark.parametrize("command", commands())
def test_every_command_has_help_with_examples(runner: CliRunner, command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    examples = section(result.stdout, "  Examples:")
    assert examples and all(line.startswith(f"omega-db {command}") for line in examples), examples
    assert "--timeout" in result.stdout and "--format" in result.stdout


def test_top_level_help_lists_commands(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    listed = [line.split()[0] for line in section(result.stdout, "Commands:")]
    assert sorted(listed) == commands()


@pytest.mark.slow
def test_errors_are_one_sentence_and_debug_shows_the_traceback(tmp_path) -> None:
    path = tmp_path / "not-a-db.txt"
    path.write_text("just some text, not SQLite\n" * 20)
    plain = helpers.run_cli("status", str(path))
    assert plain.returncode == 2
    assert plain.stdout == ""
    assert plain.stderr.count("\n") == 1 and str(path) in plain.stderr
    assert "Traceback" not in plain.stderr
    debug = helpers.run_cli("--debug", "status", str(path))
    assert debug.returncode == 2 and "Traceback" in debug.stderr
    env_debug = helpers.run_cli("status", str(path), env={**os.environ, "OMEGA_DB_DEBUG": "1"})
    assert "Traceback" in env_debug.stderr
