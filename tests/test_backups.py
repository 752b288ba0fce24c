"""`omega-db backups`: every backup of a database, with its time, size, version and whether it opens.

SPEC.md: path, time, size, schema version and whether it opens; JSON an array of
{"path", "created", "bytes", "current", "ok"}, newest first; read-only; works
when the database itself is gone.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import helpers
from tests.backupkit import HEADER_WAL, backup_of, header_mode, snapshot, wal_database
from tests.inputkit import invoke, one_sentence, seeded


def folder_of_backups(tmp_path: Path) -> tuple[Path, dict[str, str | None]]:
    """A database with good, truncated, garbage, empty and old-style (WAL) backups, and look-alikes.

    Returns the database and {backup name: expected current, or None when it must not be ok}.
    """
    path = seeded(tmp_path / "memory.db")
    good = backup_of(path)
    older = good.with_name(f"{path.name}.bak-20260101T000000Z")
    os.rename(good, older)
    at_010 = seeded(tmp_path / "scratch.db", to="010")
    good_010 = tmp_path / f"{path.name}.bak-20250601T101010Z-2"
    os.rename(backup_of(at_010), good_010)
    at_010.unlink()

    # What omega-db 0.1's migrate left: SQLite's backup of a WAL database, WAL in its header.
    live = wal_database(tmp_path / "live.db")
    wal_style = tmp_path / f"{path.name}.bak-20250301T000000Z"
    src, dest = sqlite3.connect(live), sqlite3.connect(wal_style)
    src.backup(dest)
    src.close()
    dest.close()
    for leftover in ("live.db", "live.db-wal", "live.db-shm"):
        (tmp_path / leftover).unlink(missing_ok=True)
    assert header_mode(wal_style) == HEADER_WAL

    truncated = tmp_path / f"{path.name}.bak-20260201T000000Z"
    truncated.write_bytes(older.read_bytes()[: older.stat().st_size // 2])
    garbage = tmp_path / f"{path.name}.bak-20260202T000000Z"
    garbage.write_bytes(b"this is not a database\n" * 200)
    empty = tmp_path / f"{path.name}.bak-20260203T000000Z"
    empty.touch()
    for name in (f"{path.name}.bak-20260301T000000Z.partial", "other.db.bak-20260301T000000Z",
                 f"{path.name}.bak-20261399T000000Z", f"{path.name}.bak-latest"):
        (tmp_path / name).write_bytes(older.read_bytes())
    return path, {
        empty.name: None,
        garbage.name: None,
        truncated.name: None,
        older.name: "013_multi_lessons",
        good_010.name: "010_outcomes",
        wal_style.name: "013_multi_lessons",
    }


def test_backups_lists_each_backup_newest_first_with_what_it_is(runner: CliRunner, tmp_path: Path) -> None:
    path, expected = folder_of_backups(tmp_path)
    before = snapshot(tmp_path)
    ran = invoke(runner, "backups", str(path), "-f", "json")
    assert ran.code == 0, ran.stderr
    listed = json.loads(ran.stdout)
    assert [Path(b["path"]).name for b in listed] == list(expected)  # newest first, look-alikes left out
    for item in listed:
        name = Path(item["path"]).name
        assert set(item) == {"path", "created", "bytes", "current", "ok"}
        assert item["ok"] is (expected[name] is not None), item
        assert item["current"] == expected[name]
        assert item["bytes"] == (tmp_path / name).stat().st_size
        stamp = name.split(".bak-")[1][:16]
        assert item["created"] == f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"
    # Read-only: not a byte changed, and nothing new beside the backups (no -wal, no -shm).
    assert snapshot(tmp_path) == before


def test_backups_works_when_the_database_is_gone(runner: CliRunner, tmp_path: Path) -> None:
    path, expected = folder_of_backups(tmp_path)
    path.unlink()
    ran = invoke(runner, "backups", str(path), "-f", "json")
    assert ran.code == 0, ran.stderr
    assert [Path(b["path"]).name for b in json.loads(ran.stdout)] == list(expected)


def test_backups_table_has_one_line_per_backup(runner: CliRunner, tmp_path: Path) -> None:
    path, expected = folder_of_backups(tmp_path)
    ran = invoke(runner, "backups", str(path))
    assert ran.code == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert "UTC" in lines[0]
    rows = lines[2:]
    assert len(rows) == len(expected)
    for row, (name, current) in zip(rows, expected.items(), strict=True):
        assert row.endswith(name)
        assert (" yes " in row) is (current is not None)
        if current:
            assert current in row


def test_backups_says_so_when_there_are_none(runner: CliRunner, tmp_path: Path) -> None:
    path = seeded(tmp_path / "memory.db")
    ran = invoke(runner, "backups", str(path), "-f", "json")
    assert ran.code == 0 and json.loads(ran.stdout) == []
    ran = invoke(runner, "backups", str(path))
    assert ran.code == 0 and "No backups" in ran.stdout


def test_backups_labels_omega_releases(runner: CliRunner, tmp_path: Path) -> None:
    """007 is OMEGA v0.1.0's schema; 010 is a development state, and says so."""
    path = helpers.build(tmp_path / "memory.db", to="007")
    backup_of(path)
    other = helpers.build(tmp_path / "other.db", to="010")
    backup_of(other)
    assert "007_task_type — OMEGA v0.1.0" in invoke(runner, "backups", str(path)).stdout
    assert "010_outcomes — a development state (no OMEGA release stops here)" in invoke(runner, "backups", str(other)).stdout


@pytest.mark.parametrize("kind", ["missing-folder", "folder", "fifo"])
def test_backups_of_a_path_that_cannot_be_a_database_is_exit_2(runner: CliRunner, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "memory.db"
    if kind == "missing-folder":
        path = tmp_path / "gone" / "memory.db"
    elif kind == "folder":
        path.mkdir()
    else:
        os.mkfifo(path)
    ran = invoke(runner, "backups", str(path), "-f", "json")
    assert ran.code == 2
    one_sentence(ran, path)


def test_backups_of_a_damaged_database_still_lists(runner: CliRunner, tmp_path: Path) -> None:
    """A damaged database is when its backups matter: it is not even opened."""
    path = seeded(tmp_path / "memory.db")
    made = backup_of(path)
    path.write_bytes(b"garbage" * 1000)
    ran = invoke(runner, "backups", str(path), "-f", "json")
    assert ran.code == 0, ran.stderr
    assert [b["path"] for b in json.loads(ran.stdout)] == [str(made)]
