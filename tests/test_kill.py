"""Kill: SIGKILL at points across migrate, migrate --repair and the backup.

SPEC.md: after any crash or kill the database is exactly at the previous or the
next migration, never between, and nothing is lost. Each test kills a real
`omega-db` process and then looks at the file with a fresh connection (which
rolls back a hot journal or recovers the WAL, as OMEGA's next open would).
"""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from omega_db.chain import compare, migrate
from tests import helpers
from tests.faultkit import (
    COLUMNS_010,
    M010,
    M011,
    M012,
    M013,
    assert_at_a_migration,
    copy_db,
    digest_of,
    rows_digest,
    schema,
    wait_for,
    writing_began,
)
from tests.inputkit import READERS, one_sentence, required

# Real processes killed mid-migration on a 20 MB file: about 13 s.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("journal_mode", "fractions"),
    # "commit": the moment the journal is deleted, i.e. just after COMMIT, during the check.
    [("delete", (0.05, 0.4, 0.8, "commit")), ("wal", (0.05, 0.4, 0.85))],
)
def test_sigkill_during_migrate_leaves_a_whole_migration_with_every_row(
    tmp_path: Path, big_010: Path, big_digest: dict, references: dict, journal_mode: str,
    fractions: tuple[float | str, ...],
) -> None:
    """SIGKILL at points across 011-013: each time exactly at 010, 011, 012 or 013, no row lost."""
    # Measure the writing window once: from the first page written to the process's end.
    path = copy_db(big_010, tmp_path / "calibrate.db", journal_mode)
    proc = helpers.start_cli("migrate", "--no-backup", str(path))
    assert wait_for(writing_began(path, journal_mode), proc)
    started = time.monotonic()
    _, err = proc.communicate(timeout=120)
    window = time.monotonic() - started
    assert proc.returncode == 0, err

    outcomes: list[tuple[float, bool, str]] = []
    for i, fraction in enumerate(fractions):
        path = copy_db(big_010, tmp_path / f"kill-{i}.db", journal_mode)
        proc = helpers.start_cli("migrate", "--no-backup", str(path))
        began = wait_for(writing_began(path, journal_mode), proc)
        if fraction == "commit":
            wait_for(lambda path=path: not Path(f"{path}-journal").exists(), proc)
        else:
            time.sleep(float(fraction) * window)
        alive = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        journal = Path(f"{path}-journal")
        # SQLite calls a journal hot only once its header is written: a kill before the first
        # journal sync leaves a zeroed header, which readers rightly ignore.
        if journal.exists() and journal.read_bytes()[:1] not in (b"", b"\0"):
            # A hot journal: a read-only command must neither roll it back nor blame permissions.
            before = helpers.fingerprint(path), helpers.fingerprint(journal)
            read = helpers.run_cli("status", str(path))
            assert read.returncode == 1, read.stderr
            assert "unfinished write" in one_sentence(read, path)
            assert (helpers.fingerprint(path), helpers.fingerprint(journal)) == before
        state = assert_at_a_migration(path, big_digest, references)
        outcomes.append((fraction, began and alive, state))

        # A second migrate finishes the job.
        result = migrate.migrate(path, make_backup=False)
        assert result.current == M013
        conn = helpers.connect(path)
        try:
            counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COLUMNS_010]
            assert counts == [count for count, _ in big_digest.values()]
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == journal_mode
        finally:
            conn.close()

    # The test proves something only if a kill hit an open migration transaction.
    assert any(mid and state == M010 for _, mid, state in outcomes), outcomes


def test_a_kill_during_the_backup_leaves_no_file_named_as_a_backup(tmp_path: Path, big_010: Path) -> None:
    """A copy cut short must not pass for a backup (it would open as an empty database)."""
    path = copy_db(big_010, tmp_path / "memory.db")
    before = helpers.fingerprint(path)
    proc = helpers.start_cli("migrate", str(path))
    assert wait_for(lambda: any(tmp_path.glob("memory.db.bak-*")), proc)
    time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert helpers.fingerprint(path) == before
    # Whatever carries a backup's name is a whole backup (the copy may have finished in time).
    for named in tmp_path.glob("memory.db.bak-*"):
        if not named.name.endswith((".partial", "-journal")):
            assert digest_of(named) == digest_of(big_010), f"{named.name} is not a whole backup"
    # The next run makes a whole backup and migrates.
    done = helpers.run_cli("migrate", "-f", "json", str(path))
    assert done.returncode == 0, done.stderr
    backup = Path(json.loads(done.stdout)["backup"])
    assert digest_of(backup) == digest_of(big_010)


def test_sigkill_during_repair_leaves_the_half_applied_state_or_a_clean_migration(
    tmp_path: Path, big_010: Path, big_digest: dict, references: dict
) -> None:
    """migrate --repair completes 011 in one transaction, then applies 012 and 013 each in one:
    a kill leaves the file as it found it, or a clean 011, 012 or 013."""
    from tests.omega_runner import half_011

    clean = {state: helpers.build(tmp_path / f"clean-{state}.db", to=state) for state in (M011, M012, M013)}
    template = copy_db(big_010, tmp_path / "half.db")
    half_011(template, 3)  # OMEGA stopped with outcomes.project added and lessons_new filled
    half_schema = schema(template)
    half_new = helpers.connect(template).execute("SELECT count(*) FROM lessons_new").fetchone()

    path = copy_db(template, tmp_path / "calibrate.db")
    proc = helpers.start_cli("migrate", "--repair", "--no-backup", str(path))
    assert wait_for(writing_began(path, "delete"), proc)
    started = time.monotonic()
    _, err = proc.communicate(timeout=120)
    window = time.monotonic() - started
    assert proc.returncode == 0, err

    states = []
    for i, fraction in enumerate((0.1, 0.6, "commit")):
        path = copy_db(template, tmp_path / f"repair-{i}.db")
        proc = helpers.start_cli("migrate", "--repair", "--no-backup", str(path))
        wait_for(writing_began(path, "delete"), proc)
        if fraction == "commit":
            wait_for(lambda path=path: not Path(f"{path}-journal").exists(), proc)
        else:
            time.sleep(float(fraction) * window)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        conn = sqlite3.connect(path, isolation_level=None)  # rolls a hot journal back
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert rows_digest(conn) == big_digest
            half = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'lessons_new'"
            ).fetchone() is not None
            if half:
                assert conn.execute("SELECT count(*) FROM lessons_new").fetchone() == half_new
        finally:
            conn.close()
        state = helpers.recorded(path)[-1]
        if half:
            assert schema(path) == half_schema and state == M010
        else:  # repair may word the SQL differently ("outcomes" quoted): compare the structure
            assert compare.compare(helpers.structure(clean[state]), helpers.structure(path)) == []
        states.append("half" if half else state)
        result = migrate.migrate(path, repair_half_applied=True, make_backup=False)
        assert result.current == M013
    assert "half" in states and set(states) - {"half"}, states


def test_ctrl_c_during_migrate_rolls_back_and_says_so(
    tmp_path: Path, big_010: Path, big_digest: dict, references: dict, sigint_delivered: None
) -> None:
    """SIGINT mid-migration: the process rolls back itself (no hot journal left), exit 130."""
    path = copy_db(big_010, tmp_path / "memory.db")
    proc = helpers.start_cli("migrate", "--no-backup", str(path))
    assert wait_for(writing_began(path, "delete"), proc)
    time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err and len(err.splitlines()) == 1
    assert not Path(f"{path}-journal").exists()
    assert assert_at_a_migration(path, big_digest, references) == M010


DIE_MID_WRITE = """
import os, signal, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA cache_size = 1")  # spill at once: the journal is synced, the file written
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE outcomes SET lesson = lesson || hex(randomblob(2000))")
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture(scope="module")
def hot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A seeded 011 database whose writer died mid-transaction (a hot journal beside it),
    and its rows as they were before that write."""
    path = helpers.seeded(tmp_path_factory.mktemp("hot") / "memory.db")
    rows = helpers.dump(path)
    proc = subprocess.run([sys.executable, "-c", DIE_MID_WRITE, str(path)], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert Path(f"{path}-journal").read_bytes()[:4] == bytes.fromhex("d9d505f9")  # a valid header
    return path, rows


@pytest.mark.parametrize("command", READERS)
def test_read_commands_explain_a_hot_journal_and_leave_it(
    tmp_path: Path, hot: tuple[Path, dict], command: str
) -> None:
    """Reading cannot roll a dead writer's journal back: say what can, touch nothing, exit 1."""
    source, rows = hot
    path = tmp_path / "memory.db"
    shutil.copyfile(source, path)
    shutil.copyfile(f"{source}-journal", f"{path}-journal")
    journal = Path(f"{path}-journal")
    before = helpers.fingerprint(path), helpers.fingerprint(journal)
    proc = helpers.run_cli(command, str(path), *required(command), "-f", "json")
    assert proc.returncode == 1, proc.stderr
    assert "unfinished write" in one_sentence(proc, path)
    assert proc.stdout == ""
    assert (helpers.fingerprint(path), helpers.fingerprint(journal)) == before
    # The next read-write open (OMEGA's, or migrate's) rolls it back: every row as it was.
    proc = helpers.run_cli("migrate", str(path))
    assert proc.returncode == 0, proc.stderr
    assert not journal.exists()
    assert helpers.dump(path) == rows


def test_backups_names_a_hot_journal_beside_a_backup(tmp_path: Path, hot: tuple[Path, dict]) -> None:
    source, _ = hot
    path = tmp_path / "memory.db"
    shutil.copyfile(source, path)
    backup = tmp_path / "memory.db.bak-20260101T000000Z"
    shutil.copyfile(source, backup)
    shutil.copyfile(f"{source}-journal", f"{backup}-journal")
    Path(f"{path}-journal").unlink(missing_ok=True)
    listed = json.loads(helpers.run_cli("backups", str(path), "-f", "json").stdout)
    assert [item["ok"] for item in listed] == [False]
    shown = " ".join(helpers.run_cli("backups", str(path)).stdout.split())
    assert f"an unfinished write in {backup.name}-journal beside it" in shown, shown
    assert "readonly database" not in shown
