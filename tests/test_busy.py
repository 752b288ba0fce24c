"""Busy: another process holds the lock, or writes all through a migration.

SPEC.md: --timeout is how long to wait for a lock held by another process before
giving up with exit 1; migrate is safe while OMEGA runs.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omega_db.cli import app
from tests import helpers
from tests.faultkit import (
    M010,
    M011,
    M012,
    M013,
    WRITER,
    assert_at_a_migration,
    copy_db,
    hold_lock,
    release,
    rows_digest,
)
from tests.inputkit import READERS, one_sentence, required

# Real processes contending for locks, each waiting out a timeout: about 9 s.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("backup", [False, True], ids=["no-backup", "backup"])
def test_migrate_gives_up_on_a_held_write_lock(seeded_010: Path, backup: bool) -> None:
    """Another process in BEGIN IMMEDIATE: migrate --timeout 1 exits 1, suggests OMEGA, changes nothing."""
    before = helpers.fingerprint(seeded_010)
    holder = hold_lock(seeded_010)
    try:
        started = time.monotonic()
        args = ["migrate", "--timeout", "1", str(seeded_010)] + ([] if backup else ["--no-backup"])
        proc = helpers.run_cli(*args, timeout=60)
        elapsed = time.monotonic() - started
    finally:
        release(holder)
    assert proc.returncode == 1, proc.stderr
    assert "OMEGA" in one_sentence(proc, seeded_010)
    assert 1.0 <= elapsed < 20
    assert helpers.fingerprint(seeded_010) == before
    assert helpers.recorded(seeded_010)[-1] == M010
    assert helpers.listing(seeded_010.parent) == [seeded_010.name]  # no backup


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_a_writer_throughout_migrate_loses_no_row(
    tmp_path: Path, big_010: Path, big_digest: dict, references: dict, journal_mode: str
) -> None:
    """A process committing outcomes all through migrate (backup included): every row survives."""
    path = copy_db(big_010, tmp_path / "busy.db", journal_mode)
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(stop)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        proc = helpers.run_cli("migrate", "--timeout", "30", "-f", "json", str(path), timeout=120)
        time.sleep(0.05)  # a few more commits after the migration
    finally:
        stop.touch()
        out, _ = writer.communicate(timeout=60)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["current"] == M013
    committed = json.loads(out)
    assert len(committed) > 10

    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        written = {oid for (oid,) in conn.execute("SELECT id FROM outcomes WHERE sender_id = 'writer'")}
        assert written == set(committed)
        conn.execute("DELETE FROM outcomes WHERE sender_id = 'writer'")
        assert rows_digest(conn) == big_digest
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == journal_mode
    finally:
        conn.close()
    # The backup is one consistent 010 snapshot taken while the writer ran.
    (backup,) = tmp_path.glob("busy.db.bak-*")
    assert helpers.recorded(backup)[-1] == M010
    conn = sqlite3.connect(backup)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.execute("DELETE FROM outcomes WHERE sender_id = 'writer'")
        assert rows_digest(conn) == big_digest
    finally:
        conn.close()


def test_the_longest_timeout_waits_for_the_lock(seeded_010: Path) -> None:
    """--timeout at its most (about 24 days) waits, not wraps around: still waiting after a second, done once released."""
    holder = hold_lock(seeded_010, "EXCLUSIVE")
    try:
        proc = helpers.start_cli("status", str(seeded_010), "--timeout", "2147483", "-f", "json")
        time.sleep(1.5)
        waiting = proc.poll() is None
    finally:
        release(holder)
    out, err = proc.communicate(timeout=60)
    assert waiting, err
    assert proc.returncode == 0, err
    assert json.loads(out)["database"] == str(seeded_010)


@pytest.mark.parametrize("command", READERS)
def test_read_commands_give_up_on_an_exclusive_lock(seeded_010: Path, command: str) -> None:
    """A writer mid-commit (BEGIN EXCLUSIVE, rollback journal) blocks reads: --timeout, exit 1."""
    before = helpers.fingerprint(seeded_010)
    holder = hold_lock(seeded_010, "EXCLUSIVE")
    try:
        started = time.monotonic()
        result = CliRunner().invoke(app, [command, str(seeded_010), *required(command), "--timeout", "0.5", "-f", "json"])
        elapsed = time.monotonic() - started
    finally:
        release(holder)
    assert result.exit_code == 1, result.stderr
    sentence = one_sentence(result, seeded_010)
    assert "is locked by another process (is OMEGA running?)" in sentence and "--timeout" in sentence
    assert result.stdout == ""
    assert 0.5 <= elapsed < 10
    assert helpers.fingerprint(seeded_010) == before


def test_two_migrates_at_once_apply_each_migration_once(
    tmp_path: Path, big_010: Path, big_digest: dict, references: dict
) -> None:
    """Cron and a person both run migrate: both succeed, each migration is applied once, no row lost."""
    path = copy_db(big_010, tmp_path / "race.db")
    first = helpers.start_cli("migrate", "--timeout", "60", "-f", "json", str(path))
    second = helpers.start_cli("migrate", "--timeout", "60", "-f", "json", str(path))
    reported = []
    for proc in (first, second):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert json.loads(out)["current"] == M013
        reported += [a["name"] for a in json.loads(out)["applied"]]
    assert sorted(reported) == [M011, M012, M013]  # the one that found one done does not claim it
    assert assert_at_a_migration(path, big_digest, references) == M013
    assert helpers.recorded(path)[-3:] == [M011, M012, M013]


def test_migrate_gives_up_on_a_reader_that_outlasts_the_timeout(seeded_010: Path) -> None:
    """Rollback journal: COMMIT waits for a reader's lock; past --timeout, exit 1, rolled back."""
    before = helpers.fingerprint(seeded_010)
    holder = hold_lock(seeded_010, "DEFERRED")
    try:
        proc = helpers.run_cli("migrate", "--timeout", "0.3", "--no-backup", str(seeded_010), timeout=60)
    finally:
        release(holder)
    assert proc.returncode == 1, proc.stderr
    assert "OMEGA" in one_sentence(proc, seeded_010)
    assert helpers.fingerprint(seeded_010) == before
    assert helpers.listing(seeded_010.parent) == [seeded_010.name]
