"""Every example of every --help runs as written on a fresh home (HOME a new folder, no config file)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from omega_db.cli import app
from tests import helpers

BIN = Path(sys.executable).parent / "omega-db"
# Examples whose point is the question asked on a terminal: without one they refuse (exit 2) and say --yes.
ASKS = {"omega-db restore ~/.omega/data/memory.db.bak-20260301T020000Z", "omega-db projects rename alpha alpha2"}


def _commands(group: object, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, command in getattr(group, "commands", {}).items():
        yield from _commands(command, (*path, name))


def _examples() -> list[str]:
    runner = CliRunner()
    found = []
    for path in _commands(typer.main.get_command(app)):
        text = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "300"}).stdout
        if "Examples:" in text:
            block = text.split("Examples:", 1)[1].split("\n\n", 1)[0]
            found += [line.strip() for line in block.splitlines() if line.strip().startswith("omega-db")]
    return found


EXAMPLES = _examples()


def test_the_examples_are_found() -> None:
    assert len(EXAMPLES) >= 30 and "omega-db status" in EXAMPLES


def _runnable(example: str) -> str:
    """The example without its comment and without what a pipe or a redirection adds (jq, a file)."""
    command = example.split("   #", 1)[0].split("  #", 1)[0]
    for cut in (" | ", " > "):
        command = command.split(cut, 1)[0]
    return str(BIN) + command.strip()[len("omega-db"):]


@pytest.fixture
def fresh_home(tmp_path: Path) -> Path:
    """A home with no config file and OMEGA's database at 013 holding alpha, old-thing and alice; a backup."""
    home = tmp_path / "home"
    data = home / ".omega" / "data"
    helpers.build(data / "memory.db")
    with closing(sqlite3.connect(data / "memory.db")) as conn, conn:  # closed: rename and restore refuse an open file
        for project in ("alpha", "old-thing", "my-app"):
            conn.execute("INSERT INTO lessons (sender_id, domain, rule, project) VALUES ('alice', 'coding', 'r', ?)",
                         (project,))
    shutil.copy(data / "memory.db", data / "memory.db.bak-20260301T020000Z")
    work = tmp_path / "work"  # the current folder, for the examples that name ./files
    work.mkdir()
    shutil.copy(data / "memory.db", work / "memory.db")
    shutil.copy(data / "memory.db", work / "memory.db.bak-20260301T020000Z")
    return home


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_help_example_runs_on_a_fresh_home(fresh_home: Path, example: str) -> None:
    assert not (fresh_home / ".omega" / "config.toml").exists()
    env = {"PATH": os.environ["PATH"], "HOME": str(fresh_home), "COLUMNS": "120"}
    done = subprocess.run(["bash", "-c", _runnable(example)], env=env, cwd=fresh_home.parent / "work",
                          capture_output=True, text=True, timeout=120)
    assert "config" not in done.stderr, (example, done.stderr)
    if example in ASKS:
        assert done.returncode == 2 and "--yes" in done.stderr, (example, done.stderr)
    else:
        assert done.returncode == 0, (example, done.returncode, done.stderr)


def test_the_default_config_missing_is_normal_unless_named(fresh_home: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(fresh_home)}
    plain = subprocess.run([str(BIN), "verify", "--quick"], env=env, capture_output=True, text=True, timeout=60)
    assert plain.returncode == 0, plain.stderr
    named = subprocess.run([str(BIN), "verify", "--quick", "--config", "~/.omega/config.toml"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert named.returncode == 2 and named.stderr.count("\n") == 1
    assert "config.toml: the file does not exist" in named.stderr
