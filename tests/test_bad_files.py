"""Bad files, for every command: the answer SPEC.md promises, never a traceback.

Exit 2 for a path that is missing (migrate creates it), a folder, or not a SQLite
database; one sentence on stderr naming the file; not a byte changed. An empty
file is an empty database; a damaged one is reported by verify and refused by
the rest.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omega_db.cli import app
from tests import helpers
from tests.inputkit import BACKUP_COMMANDS, COMMANDS, READERS, args_for, invoke, one_sentence


def test_every_command_is_covered() -> None:
    """A new command must be added to COMMANDS (and so to every case below), or to BACKUP_COMMANDS."""
    import typer.main

    assert set(typer.main.get_command(app).commands) == set(COMMANDS) | set(BACKUP_COMMANDS)  # type: ignore[attr-defined]


# --- missing, folder, text, empty -----------------------------------------------------------


@pytest.mark.parametrize("command", READERS)
def test_a_missing_path_is_exit_2_and_is_not_created(runner: CliRunner, tmp_path: Path, command: str) -> None:
    path = tmp_path / "nowhere" / "memory.db"
    ran = invoke(runner, *args_for(command, path))
    assert ran.code == 2
    sentence = one_sentence(ran, path)
    assert "does not exist" in sentence and f"omega-db migrate {path}" in sentence  # how to create it
    assert helpers.listing(tmp_path) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_a_folder_is_exit_2(runner: CliRunner, tmp_path: Path, command: str) -> None:
    path = tmp_path / "memory.db"
    path.mkdir()
    ran = invoke(runner, *args_for(command, path))
    assert ran.code == 2
    assert "folder" in one_sentence(ran, path)
    assert helpers.listing(tmp_path) == ["memory.db"] and helpers.listing(path) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_a_text_file_is_exit_2_and_untouched(runner: CliRunner, tmp_path: Path, command: str) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("These are my notes, not a database.\n" * 40)
    before = helpers.fingerprint(path)
    ran = invoke(runner, *args_for(command, path))
    assert ran.code == 2
    assert "not a SQLite database" in one_sentence(ran, path)
    assert helpers.fingerprint(path) == before
    assert helpers.listing(tmp_path) == ["notes.txt"]


def odd_path(folder: Path, kind: str) -> Path:
    """Paths that are not a database file in less obvious ways."""
    if kind == "dangling-link":
        (folder / "memory.db").symlink_to(folder / "gone" / "memory.db")
        return folder / "memory.db"
    if kind == "link-loop":
        (folder / "a.db").symlink_to(folder / "b.db")
        (folder / "b.db").symlink_to(folder / "a.db")
        return folder / "a.db"
    if kind == "through-a-file":
        (folder / "notes").write_text("a file, not a folder\n")
        return folder / "notes" / "memory.db"
    if kind == "name-too-long":
        return folder / ("x" * 300 + ".db")
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["dangling-link", "link-loop", "through-a-file", "name-too-long"])
@pytest.mark.parametrize("command", COMMANDS)
def test_an_odd_path_is_exit_2_and_nothing_is_created(
    runner: CliRunner, tmp_path: Path, command: str, kind: str
) -> None:
    path = odd_path(tmp_path, kind)
    before = helpers.listing(tmp_path)
    ran = invoke(runner, *args_for(command, path))
    assert ran.code == 2, ran.stderr
    one_sentence(ran, path)
    assert helpers.listing(tmp_path) == before


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_a_fifo_is_refused_without_opening_it(tmp_path: Path, command: str) -> None:
    """Opening a FIFO would block for ever: a real process, with a time limit."""
    path = tmp_path / "memory.db"
    os.mkfifo(path)
    proc = helpers.run_cli(*args_for(command, path), timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert "not a regular file" in one_sentence(proc, path)


@pytest.mark.parametrize("command", COMMANDS)
def test_an_empty_file_is_an_empty_database(runner: CliRunner, tmp_path: Path, command: str) -> None:
    """0 bytes: status and verify answer, listings name the missing migration, migrate migrates."""
    path = tmp_path / "memory.db"
    path.touch()
    before = helpers.fingerprint(path)
    ran = invoke(runner, *args_for(command, path))
    if command == "migrate":
        assert ran.code == 0, ran.stderr
        assert helpers.recorded(path)[-1] == "013_multi_lessons"
        return
    if command == "status":
        assert ran.code == 0, ran.stderr
        report = json.loads(ran.stdout)
        assert report["current"] is None and len(report["pending"]) == 13
    elif command == "verify":
        assert ran.code == 0, ran.stderr  # pending migrations are a warning, not a failure
        report = json.loads(ran.stdout)
        assert report["ok"] is True
        assert [c["name"] for c in report["checks"] if c["status"] != "ok"] == ["pending"]
    elif command == "projects":  # no table yet: the general scope with zeros
        assert ran.code == 0, ran.stderr
        assert [row["project"] for row in json.loads(ran.stdout)] == [""]
    elif command == "prune":  # no table yet: each rule deletes 0, with a note naming its migration
        assert ran.code == 0, ran.stderr
        report = json.loads(ran.stdout)
        assert [(t["table"], t["deleted"], t["kept"]) for t in report["tables"]] == [
            ("audit_log", 0, 0), ("outcomes", 0, 0), ("scheduled_tasks", 0, 0), ("messages", 0, 0)]
        for migration in ("002_audit_log", "010_outcomes", "005_scheduled_tasks", "003_memory_enhancement"):
            assert migration in ran.stderr
    else:
        assert ran.code == 2
        missing = "005_scheduled_tasks" if command == "tasks" else "010_outcomes"
        assert missing in one_sentence(ran, path)
    assert helpers.fingerprint(path) == before
    assert helpers.listing(tmp_path) == ["memory.db"]


# --- damaged files -------------------------------------------------------------------------

GARBAGE = bytes(range(256)) * 64  # deterministic, not a valid b-tree page of any kind


def page_size(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()


def damage(path: Path, how: str) -> None:
    """Damage a database file as a crash, a bad copy or a bad disk would."""
    size = path.stat().st_size
    if how == "truncated-half":
        os.truncate(path, size // 2)
    elif how == "truncated-header":
        os.truncate(path, 60)
    elif how == "schema-page":
        with path.open("r+b") as f:  # page 1 after the 100-byte header: sqlite_master
            f.seek(100)
            f.write(GARBAGE[: page_size(path) - 100])
    elif how == "table-pages":
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        roots = [r for (r,) in conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name IN ('outcomes', 'lessons', 'scheduled_tasks')"
        )]
        conn.close()
        ps = page_size(path)
        with path.open("r+b") as f:
            for root in roots:
                f.seek((root - 1) * ps)
                f.write(GARBAGE[:ps])
    else:
        raise ValueError(how)


@pytest.mark.parametrize("how", ["truncated-half", "truncated-header", "schema-page", "table-pages"])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_damaged_database_gets_one_sentence_and_is_untouched(
    runner: CliRunner, tmp_path: Path, command: str, how: str
) -> None:
    """Damage: verify reports it (exit 1); every other command refuses with one sentence."""
    # migrate gets a 010 file so it has work to do: 011 must read the damaged tables.
    path = helpers.seeded(tmp_path / "memory.db", to="010" if command == "migrate" else None)
    damage(path, how)
    before = helpers.fingerprint(path)
    ran = invoke(runner, *args_for(command, path))
    if command == "verify":
        assert ran.code == 1, ran.stderr
        report = json.loads(ran.stdout)
        assert report["ok"] is False
        assert any(c["status"] == "fail" for c in report["checks"])
    else:
        assert ran.code == 2 if command != "migrate" else ran.code in (1, 2), ran.stderr
        sentence = one_sentence(ran, path)
        assert "damaged" in sentence or "not a SQLite database" in sentence or "rolled back" in sentence
    assert helpers.fingerprint(path) == before


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_a_real_process_prints_no_traceback(tmp_path: Path, command: str) -> None:
    """Outside the test runner too: a damaged file gives exit 2 and one line, no traceback."""
    path = helpers.seeded(tmp_path / "memory.db", to="010" if command == "migrate" else None)
    damage(path, "schema-page")
    proc = helpers.run_cli(*args_for(command, path))
    expected = 1 if command == "verify" else 2
    assert proc.returncode == expected, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    if command != "verify":
        one_sentence(proc, path)


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_a_file_name_that_is_not_utf8_works(tmp_path: Path, command: str) -> None:
    """Linux file names are bytes: b'\\xff' in a name must not stop any command."""
    path = tmp_path / os.fsdecode(b"m\xe9moire-\xff.db")
    helpers.seeded(path, to="010")
    args = [*args_for(command, path), *(["-f", "json"] if command == "migrate" else [])]
    # A strict stdout, as under en_US.UTF-8 (this machine's C locale would hide the problem).
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    proc = helpers.run_cli(*args, errors="surrogateescape", env=env)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    if isinstance(answer, dict):
        assert answer["database"] == str(path)  # the same bytes back
    assert "Traceback" not in proc.stderr
