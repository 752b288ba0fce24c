"""The CLI surface: help everywhere, one error boundary, no tracebacks."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from omega_db.cli import app, app_for
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


COMMAND_LINES = [
    *([name, "--help"] for name in commands()),
    ["projects", "rename", "--help"],
    ["lessons", "--no-such-option"],
    ["projects", "rename"],
    ["tasks", "--status", "someday"],
]


@pytest.mark.parametrize("args", COMMAND_LINES, ids=" ".join)
def test_the_app_built_for_one_command_answers_as_the_whole_app(runner: CliRunner, args: list[str]) -> None:
    narrow = app_for(args)
    assert narrow is not app  # built for this command alone (else this test would compare app with itself)
    whole, alone = runner.invoke(app, args), runner.invoke(narrow, args)
    assert (alone.exit_code, alone.stdout, alone.stderr) == (whole.exit_code, whole.stdout, whole.stderr)


@pytest.mark.parametrize("args", [[], ["--help"], ["--debug", "status"], ["lesons"], ["projectsx"]], ids=repr)
def test_a_command_line_that_names_no_command_first_gets_the_whole_app(args: list[str]) -> None:
    assert app_for(args) is app


def test_the_app_for_a_command_holds_that_command_alone() -> None:
    import typer.main

    for name in commands():
        assert sorted(typer.main.get_command(app_for([name])).commands) == [name]  # type: ignore[attr-defined]


def test_a_shell_asking_for_completions_gets_the_whole_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_OMEGA_DB_COMPLETE", "bash_complete")
    assert app_for(["lessons"]) is app
