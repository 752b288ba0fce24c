"""--project naming a project with no rows (a note naming the nearest known ones), and option text that is not UTF-8."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omega_db.cli import app
from tests import helpers

COMMANDS = ("lessons", "outcomes", "tasks")


@pytest.fixture
def known(db_path: Path) -> Path:
    """A 013 file with rows of my_app, alpha and a name holding ESC, plus general rows."""
    helpers.build(db_path)
    with sqlite3.connect(db_path) as conn:
        for i, project in enumerate(("my_app", "alpha", "", "evil\x1b[2J")):
            conn.execute("INSERT INTO lessons (sender_id, domain, rule, project) VALUES ('s', 'd', ?, ?)",
                         (f"r{i}", project))
            conn.execute("INSERT INTO outcomes (sender_id, domain, score, lesson, project) "
                         "VALUES ('s', 'd', 1, 'l', ?)", (project,))
            conn.execute("INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at, "
                         "project) VALUES (?, 'c', 's', 'r', 'x', '2020-01-01 00:00:00', ?)", (f"t{i}", project))
    return db_path


# learning and context take --project too: the same note (context: OMEGA's view of a project it has not
# seen yet is a fair question, so the note only names the near ones).
NOTING = (*COMMANDS, "learning", "context")


def needs(command: str) -> list[str]:
    return ["--sender", "s"] if command == "context" else []


@pytest.mark.parametrize("command", NOTING)
def test_a_project_with_no_rows_names_the_nearest(runner: CliRunner, known: Path, command: str) -> None:
    result = runner.invoke(app, [command, str(known), *needs(command), "--project", "my-app", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    json.loads(result.stdout)  # stdout stays one clean JSON document
    assert "no rows for my-app" in result.stderr
    known_part = result.stderr.split("known: ", 1)[1]
    assert known_part.startswith("my_app, "), result.stderr  # nearest first
    assert "alpha" in known_part
    assert "\x1b" not in result.stderr and "evil\\x1b[2J" in result.stderr  # escaped


@pytest.mark.parametrize("command", NOTING)
def test_a_project_with_rows_says_nothing(runner: CliRunner, known: Path, command: str) -> None:
    for project in ("my_app", ""):
        result = runner.invoke(app, [command, str(known), *needs(command), "--project", project, "-f", "json"])
        assert result.exit_code == 0, result.stderr
        assert "no rows for" not in result.stderr


def test_stdout_is_unchanged_by_the_note(runner: CliRunner, known: Path) -> None:
    result = runner.invoke(app, ["outcomes", str(known), "--project", "nope", "-f", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    assert "no rows for nope in outcomes; known: " in result.stderr


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("option", ["--project", "--sender", "--domain"])
def test_an_option_that_is_not_utf8_is_a_bad_argument(known: Path, command: str, option: str) -> None:
    """Bytes from the shell under an ASCII locale reach Python as surrogates: one sentence, exit 2."""
    if command == "tasks" and option == "--domain":
        pytest.skip("tasks has no --domain")
    env = {"PATH": os.environ["PATH"], "HOME": str(known.parent), "LC_ALL": "C", "LANG": "C"}
    done = subprocess.run([sys.executable, "-m", "omega_db", command, os.fsencode(str(known)), option.encode(), b"\xff"],
                          env=env, capture_output=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stdout == b""
    err = done.stderr.decode()
    assert err.count("\n") == 1 and f"{option} is not valid UTF-8" in err and "unexpected" not in err


@pytest.mark.parametrize("argv, named", [
    ([b"learning", b"--project", b"\xff"], "--project"),
    ([b"learning", b"--sender", b"\xff"], "--sender"),
    ([b"projects", b"rename", b"\xff", b"alpha", b"--yes"], "OLD"),
    ([b"projects", b"rename", b"alpha", b"\xff", b"--yes"], "NEW"),
])
def test_the_newer_commands_refuse_text_that_is_not_utf8_too(known: Path, argv: list[bytes], named: str) -> None:
    """learning and projects rename bind these values as well: one sentence naming the argument, exit 2, no byte changed."""
    before = known.read_bytes()
    env = {"PATH": os.environ["PATH"], "HOME": str(known.parent), "LC_ALL": "C", "LANG": "C",
           "OMEGA_DB": os.fsdecode(os.fsencode(str(known)))}
    done = subprocess.run([sys.executable, "-m", "omega_db", *argv], env=env, capture_output=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stdout == b""
    err = done.stderr.decode()
    assert err.count("\n") == 1 and f"{named} is not valid UTF-8" in err and "unexpected" not in err
    assert known.read_bytes() == before


def test_the_known_names_say_how_many_more_there_are(runner: CliRunner, known: Path) -> None:
    all_shown = runner.invoke(app, ["lessons", str(known), "--project", "my-app", "-f", "json"])
    assert " more " not in all_shown.stderr  # three projects: every one is named
    with sqlite3.connect(known) as conn:
        conn.executemany("INSERT INTO lessons (sender_id, domain, rule, project) VALUES ('s', 'd', 'r', ?)",
                         [(f"p{i}",) for i in range(7)])
    result = runner.invoke(app, ["lessons", str(known), "--project", "my-app", "-f", "json"])
    listed = result.stderr.split("known: ", 1)[1]
    assert len(listed.split(" and ")[0].split(", ")) == 5  # my_app, alpha, the ESC one, p0..p6: 10 in all
    assert listed.rstrip().endswith("and 5 more (`omega-db projects` lists them).")
