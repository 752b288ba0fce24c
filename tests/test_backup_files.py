"""Bad files and bad options for backup, backups and restore: exit 2, one sentence, nothing changed.

The cases of test_bad_files.py, where they apply: backup reads the database;
restore reads BACKUP and replaces DB; backups reads beside a database that may
be damaged or gone (those are answers, not errors).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import helpers
from tests.backupkit import backup_of, names, snapshot
from tests.inputkit import BACKUP_COMMANDS, Ran, invoke, one_sentence, seeded

ODD = ["folder", "fifo", "text", "dangling-link", "link-loop", "through-a-file", "name-too-long", "missing"]


def odd(folder: Path, kind: str) -> Path:
    """A path that is not a database file, in one way or another."""
    path = folder / "memory.db"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "text":
        path.write_text("These are my notes, not a database.\n" * 40)
    elif kind == "dangling-link":
        path.symlink_to(folder / "gone" / "memory.db")
    elif kind == "link-loop":
        (folder / "a.db").symlink_to(folder / "b.db")
        (folder / "b.db").symlink_to(folder / "a.db")
        path = folder / "a.db"
    elif kind == "through-a-file":
        (folder / "notes").write_text("a file, not a folder\n")
        path = folder / "notes" / "memory.db"
    elif kind == "name-too-long":
        path = folder / ("x" * 300 + ".db")
    return path


@pytest.mark.parametrize("kind", ODD)
def test_backup_of_an_odd_path_is_exit_2(runner: CliRunner, tmp_path: Path, kind: str) -> None:
    path = odd(tmp_path, kind)
    before = snapshot(tmp_path)
    ran = invoke(runner, "backup", str(path), "-f", "json")
    assert ran.code == 2, ran.stderr
    one_sentence(ran, path)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("kind", ODD)
def test_restore_from_an_odd_backup_is_exit_2(runner: CliRunner, tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    bad = odd(folder, kind)
    path = seeded(tmp_path / "memory.db")
    before = snapshot(tmp_path)
    ran = invoke(runner, "restore", str(bad), str(path), "--yes", "-f", "json")
    assert ran.code == 2, ran.stderr
    one_sentence(ran, bad)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("kind", ["folder", "fifo", "dangling-link", "link-loop", "through-a-file", "name-too-long"])
def test_restore_to_an_odd_database_path_is_exit_2(runner: CliRunner, tmp_path: Path, kind: str) -> None:
    (tmp_path / "source").mkdir()
    made = backup_of(seeded(tmp_path / "source" / "memory.db"))
    folder = tmp_path / "target"
    folder.mkdir()
    path = odd(folder, kind)
    before = snapshot(folder)
    ran = invoke(runner, "restore", str(made), str(path), "--yes", "-f", "json")
    assert ran.code == 2, ran.stderr
    one_sentence(ran, path)
    assert snapshot(folder) == before


@pytest.mark.parametrize("kind", ["folder", "fifo", "through-a-file"])
def test_backups_of_what_cannot_be_a_database_is_exit_2(runner: CliRunner, tmp_path: Path, kind: str) -> None:
    path = odd(tmp_path, kind)
    ran = invoke(runner, "backups", str(path), "-f", "json")
    assert ran.code == 2, ran.stderr
    one_sentence(ran, path)


@pytest.mark.parametrize("kind", ["text", "dangling-link", "link-loop", "name-too-long", "missing"])
def test_backups_beside_a_damaged_or_gone_database_is_an_empty_answer(
    runner: CliRunner, tmp_path: Path, kind: str
) -> None:
    path = odd(tmp_path, kind)
    ran = invoke(runner, "backups", str(path), "-f", "json")
    assert ran.code == 0, ran.stderr
    assert json.loads(ran.stdout) == []


def test_a_file_name_that_is_not_utf8_works_for_all_three(tmp_path: Path) -> None:
    """Linux file names are bytes: b'\\xff' in a name must not stop any of them."""
    path = tmp_path / os.fsdecode(b"m\xe9moire-\xff.db")
    seeded(path)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}

    def run(*args: str) -> object:
        proc = helpers.run_cli(*args, "-f", "json", errors="surrogateescape", env=env)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    made = run("backup", str(path))["path"]  # type: ignore[index]
    assert Path(made).parent == tmp_path and Path(made).name.startswith(path.name)
    assert [b["path"] for b in run("backups", str(path))] == [made]  # type: ignore[union-attr, index]
    assert run("restore", made, str(path), "--yes")["database"] == str(path)  # type: ignore[index]


COMMON_BAD = [
    (["--format", "xml"], "--format"),
    (["--timeout", "-1"], "--timeout"),
    (["--timeout", "nan"], "--timeout"),
    (["--bogus"], "--bogus"),
]
SPECIFIC_BAD = [
    ("backup", ["--keep", "0"], "--keep"),
    ("backup", ["--keep", "many"], "--keep"),
    ("backup", ["--output"], "--output"),
]


@pytest.mark.parametrize(
    ("command", "extra", "option"),
    [(c, a, o) for c in BACKUP_COMMANDS for a, o in COMMON_BAD] + SPECIFIC_BAD,
    ids=lambda v: " ".join(v) if isinstance(v, list) else v,
)
def test_a_bad_option_value_is_exit_2(
    runner: CliRunner, tmp_path: Path, command: str, extra: list[str], option: str
) -> None:
    path = seeded(tmp_path / "memory.db")
    made = backup_of(path)
    before = snapshot(tmp_path)
    args = [str(made), str(path), "--yes"] if command == "restore" else [str(path)]
    ran: Ran = invoke(runner, command, *args, *extra)
    assert ran.code == 2, (ran.stdout, ran.stderr)
    assert option in ran.stderr and ran.stdout.strip() == ""
    assert snapshot(tmp_path) == before


def test_restore_needs_its_backup_argument(runner: CliRunner, tmp_path: Path) -> None:
    ran = invoke(runner, "restore")
    assert ran.code == 2 and "BACKUP" in ran.stderr


@pytest.mark.parametrize("command", ["backup", "backups"])
def test_two_database_arguments_are_exit_2(runner: CliRunner, tmp_path: Path, command: str) -> None:
    path = seeded(tmp_path / "memory.db")
    ran = invoke(runner, command, str(path), str(path))
    assert ran.code == 2
    assert names(tmp_path) == ["memory.db"]
