"""Kill, busy, full disk: migrate keeps its promises under real faults, in real processes.

SPEC.md: after any crash, kill, full disk or error the database is exactly at the
previous or the next migration, never between, and nothing is lost. Each test
does the thing to a real file with a real `omega-db` process and then looks at
the file with a fresh connection.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from omega_db import migrate
from tests import helpers

M010 = "010_outcomes"
M011 = "011_project_learning"
BIG_OUTCOMES = 80_000
BIG_LESSONS = 60_000
# The tables 011 changes, with their 010 columns: the rows compared before/after.
COLUMNS_010 = {
    "outcomes": ("id", "timestamp", "sender_id", "domain", "score", "lesson", "source"),
    "lessons": ("id", "sender_id", "domain", "rule", "occurrences", "created_at", "updated_at"),
    "scheduled_tasks": (
        "id", "channel", "sender_id", "reply_target", "description", "due_at", "repeat",
        "status", "created_at", "delivered_at", "task_type", "retry_count", "last_error",
    ),
}


# --- building and reading the files ---------------------------------------------------------


def fill_big(path: Path, outcomes: int = BIG_OUTCOMES, lessons: int = BIG_LESSONS) -> None:
    """Add many outcomes and lessons (and a few tasks) to a 010 database, in one transaction."""
    conn = helpers.connect(path)
    try:
        conn.execute("BEGIN")
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson, source) "
            "SELECT 'out-' || i, datetime('2026-01-01', '+' || i || ' minutes'), 'sender-' || (i % 50), "
            "'dom-' || (i % 7), (i % 3) - 1, 'lesson ' || i, 'conversation' FROM n",
            (outcomes,),
        )
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO lessons (id, sender_id, domain, rule, occurrences, created_at, updated_at) "
            "SELECT 'lesson-' || i, 'sender-' || i, 'dom-' || (i % 7), 'rule ' || i, i % 9 + 1, "
            "'2026-01-01 00:00:00', datetime('2026-01-01', '+' || i || ' minutes') FROM n",
            (lessons,),
        )
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) "
            "INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at) "
            "SELECT 'task-' || i, 'telegram', 'sender-' || (i % 5), 'chat', 'task ' || i, "
            "datetime('2026-02-01', '+' || i || ' hours') FROM n"
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


def set_journal_mode(path: Path, mode: str) -> None:
    """Switch a closed database's journal mode (persistent for WAL)."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0] == mode
    finally:
        conn.close()


def schema(path: Path) -> list[tuple[str, str, str]]:
    """Every schema object (type, name, SQL), sorted: the structure of a database."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return sorted(conn.execute("SELECT type, name, coalesce(sql, '') FROM sqlite_master"))
    finally:
        conn.close()


def rows_digest(conn: sqlite3.Connection) -> dict[str, tuple[int, str]]:
    """Row count and a hash of every row (010 columns) of the tables 011 changes."""
    out = {}
    for table, columns in COLUMNS_010.items():
        h = hashlib.sha256()
        count = 0
        for row in conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id"):
            h.update(repr(row).encode())
            count += 1
        out[table] = (count, h.hexdigest())
    return out


def digest_of(path: Path) -> dict[str, tuple[int, str]]:
    """rows_digest of a file, opened read-only."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return rows_digest(conn)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def references(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[str, str, str]]]:
    """The structure of a clean 010 and a clean 011 database, built by omega-db's own chain."""
    folder = tmp_path_factory.mktemp("reference")
    return {
        M010: schema(helpers.build(folder / "010.db", to="010")),
        M011: schema(helpers.build(folder / "011.db")),
    }


@pytest.fixture(scope="module")
def big_010(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 010 database with 80,000 outcomes and 60,000 lessons (~20 MB); copy it, never change it."""
    path = tmp_path_factory.mktemp("big") / "big-010.db"
    helpers.build(path, to="010")
    fill_big(path)
    return path


@pytest.fixture(scope="module")
def big_digest(big_010: Path) -> dict[str, tuple[int, str]]:
    """The rows of the big 010 database."""
    return digest_of(big_010)


def copy_db(src: Path, dest: Path, journal_mode: str = "delete") -> Path:
    """A private copy of a template database, in the journal mode wanted."""
    shutil.copyfile(src, dest)
    if journal_mode != "delete":
        set_journal_mode(dest, journal_mode)
    return dest


def assert_at_010_or_011(
    path: Path, rows_before: dict[str, tuple[int, str]], references: dict[str, list]
) -> str:
    """Open a fresh connection (it rolls back or recovers what a dead writer left), check
    integrity, and prove the file is exactly at 010 or exactly at 011 with every row."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        names = [n for (n,) in conn.execute("SELECT name FROM _migrations ORDER BY name")]
        state = names[-1]
        assert state in (M010, M011), names
        assert rows_digest(conn) == rows_before
        if state == M011:
            for table in ("outcomes", "lessons", "scheduled_tasks"):
                assert conn.execute(f"SELECT count(*) FROM {table} WHERE project <> ''").fetchone() == (0,)
    finally:
        conn.close()
    assert schema(path) == references[state], f"structure is not a clean {state}"
    return state


# --- processes ----------------------------------------------------------------------------


def omega_db(*args: str, preexec_fn: Callable[[], None] | None = None) -> subprocess.Popen[str]:
    """Start `omega-db ARGS` as a real process."""
    return subprocess.Popen(
        [sys.executable, "-m", "omega_db", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec_fn,
    )


def writing_began(path: Path, journal_mode: str) -> Callable[[], bool]:
    """A probe that turns true once the migration has written its first page."""
    if journal_mode == "wal":
        wal = Path(f"{path}-wal")
        return lambda: wal.exists() and wal.stat().st_size > 0
    journal = Path(f"{path}-journal")
    return journal.exists


def wait_for(probe: Callable[[], bool], proc: subprocess.Popen[str], limit: float = 30) -> bool:
    """Poll until probe() is true (True) or the process ended first (False)."""
    deadline = time.monotonic() + limit
    while not probe():
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "migrate never started writing"
        time.sleep(0.001)
    return True


def stderr_sentence(stderr: str, path: Path) -> str:
    """The error a failed command printed: one line, no traceback, naming the file."""
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert str(path) in lines[0], stderr
    return lines[0]


# --- 1. kill ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("journal_mode", "fractions"),
    # "commit": the moment the journal is deleted, i.e. just after COMMIT, during the check.
    [("delete", (0.05, 0.35, 0.65, 0.95, "commit")), ("wal", (0.05, 0.4, 0.85))],
)
def test_sigkill_during_migrate_leaves_010_or_011_with_every_row(
    tmp_path: Path, big_010: Path, big_digest: dict, references: dict, journal_mode: str,
    fractions: tuple[float | str, ...],
) -> None:
    """SIGKILL at points across the 011 migration: each time exactly 010 or 011, no row lost."""
    # Measure the writing window once: from the first page written to the process's end.
    path = copy_db(big_010, tmp_path / "calibrate.db", journal_mode)
    proc = omega_db("migrate", "--no-backup", str(path))
    assert wait_for(writing_began(path, journal_mode), proc)
    started = time.monotonic()
    _, err = proc.communicate(timeout=120)
    window = time.monotonic() - started
    assert proc.returncode == 0, err

    outcomes: list[tuple[float, bool, str]] = []
    for i, fraction in enumerate(fractions):
        path = copy_db(big_010, tmp_path / f"kill-{i}.db", journal_mode)
        proc = omega_db("migrate", "--no-backup", str(path))
        began = wait_for(writing_began(path, journal_mode), proc)
        if fraction == "commit":
            wait_for(lambda: not Path(f"{path}-journal").exists(), proc)
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
            assert "unfinished write" in stderr_sentence(read.stderr, path)
            assert (helpers.fingerprint(path), helpers.fingerprint(journal)) == before
        state = assert_at_010_or_011(path, big_digest, references)
        outcomes.append((fraction, began and alive, state))

        # A second migrate finishes the job.
        result = migrate.migrate(path, make_backup=False)
        assert result.current == M011
        conn = helpers.connect(path)
        try:
            counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COLUMNS_010]
            assert counts == [count for count, _ in big_digest.values()]
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == journal_mode
        finally:
            conn.close()

    # The test proves something only if a kill hit an open migration transaction.
    assert any(mid and state == M010 for _, mid, state in outcomes), outcomes


# --- 2. busy ------------------------------------------------------------------------------

LOCK_HOLDER = textwrap.dedent("""
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN " + sys.argv[2])
    print("locked", flush=True)
    sys.stdin.read()
    conn.execute("ROLLBACK")
""")

WRITER = textwrap.dedent("""
    import json, os, sqlite3, sys, time
    path, stop = sys.argv[1], sys.argv[2]
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    committed = []
    deadline = time.monotonic() + 90
    while not os.path.exists(stop) and time.monotonic() < deadline:
        oid = "writer-%d" % len(committed)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO outcomes (id, sender_id, domain, score, lesson) "
                     "VALUES (?, 'writer', 'coding', 1, 'from another process')", (oid,))
        conn.execute("COMMIT")
        committed.append(oid)
        if len(committed) == 1:
            print("ready", flush=True)
        time.sleep(0.002)
    print(json.dumps(committed), flush=True)
""")


def hold_lock(path: Path, kind: str = "IMMEDIATE") -> subprocess.Popen[str]:
    """Another process that holds the lock (BEGIN IMMEDIATE/EXCLUSIVE) until its stdin closes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(path), kind],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def release(proc: subprocess.Popen[str]) -> None:
    """Let the lock holder roll back and end."""
    proc.communicate(timeout=30)
    assert proc.returncode == 0


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
    assert "OMEGA" in stderr_sentence(proc.stderr, seeded_010)
    assert 1.0 <= elapsed < 20
    assert helpers.fingerprint(seeded_010) == before
    assert helpers.recorded(seeded_010)[-1] == M010
    assert sorted(p.name for p in seeded_010.parent.iterdir()) == [seeded_010.name]  # no backup


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
    assert report["current"] == M011
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


# --- 3. full disk -------------------------------------------------------------------------


def file_size_limit(limit: int) -> Callable[[], None]:
    """preexec_fn: a child that may write no file beyond limit bytes (EFBIG, not SIGXFSZ)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_full_disk_during_migrate_leaves_010_intact(
    tmp_path: Path, big_010: Path, big_digest: dict, references: dict, journal_mode: str
) -> None:
    """No room to grow the file: exit 1, one clear sentence, still 010 with every row."""
    path = copy_db(big_010, tmp_path / "full.db", journal_mode)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    # Rollback journal: the database file must grow (the lessons copy, the new index).
    # WAL: the file waits for a checkpoint; the log is what grows, from nothing.
    limit = path.stat().st_size + 65536 if journal_mode == "delete" else 1 << 20
    proc = omega_db("migrate", "--no-backup", str(path), preexec_fn=file_size_limit(limit))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    sentence = stderr_sentence(err, path)
    assert "rolled back" in sentence or "no room" in sentence, sentence
    assert assert_at_010_or_011(path, big_digest, references) == M010
    if journal_mode == "delete":
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    # With room again, the same command finishes.
    result = migrate.migrate(path, make_backup=False)
    assert result.current == M011


def db_with_free_pages(path: Path) -> int:
    """A seeded 010 database: free pages, then outcomes at the end; returns where those begin.

    RLIMIT_FSIZE caps the offset a process may write at. 011 writes its new pages
    (lessons copy, indexes) into free pages and only reads the outcomes at the end,
    so it fits under a cap where they begin; a backup, a whole copy, does not.
    """
    helpers.build(path, to="010")
    helpers.seed(path)
    conn = helpers.connect(path)
    try:
        conn.execute("CREATE TABLE filler (x BLOB)")
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) "
            "INSERT INTO filler SELECT randomblob(4000) FROM n"
        )
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        late_start = conn.execute("PRAGMA page_count").fetchone()[0] * page_size
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
            "INSERT INTO outcomes (id, sender_id, domain, score, lesson) "
            "SELECT 'late-' || i, 'sender-' || (i % 9), 'coding', 0, 'lesson ' || i FROM n"
        )
        conn.execute("DROP TABLE filler")
    finally:
        conn.close()
    return late_start


def test_no_migration_without_the_backup_asked_for(tmp_path: Path) -> None:
    """The backup hits a file-size limit the migration alone would not: exit 1, nothing migrated."""
    path = tmp_path / "memory.db"
    limit = db_with_free_pages(path)  # below the backup's size, above anything 011 writes
    assert limit < path.stat().st_size
    before = helpers.fingerprint(path)
    rows = helpers.dump(path)

    proc = omega_db("migrate", str(path), preexec_fn=file_size_limit(limit))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "backup" in stderr_sentence(err, path)
    assert helpers.fingerprint(path) == before
    assert helpers.dump(path) == rows
    assert sorted(p.name for p in tmp_path.iterdir()) == ["memory.db"]  # no partial backup left

    # The control: under the same limit, without a backup, the migration itself succeeds,
    # so it was the missing backup, not the limit, that stopped the first run.
    proc = omega_db("migrate", "--no-backup", str(path), preexec_fn=file_size_limit(limit))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert helpers.recorded(path)[-1] == M011


@pytest.mark.parametrize("command", ["status", "verify", "lessons", "outcomes", "tasks"])
def test_read_commands_give_up_on_an_exclusive_lock(seeded_010: Path, command: str) -> None:
    """A writer mid-commit (BEGIN EXCLUSIVE, rollback journal) blocks reads: --timeout, exit 1."""
    from typer.testing import CliRunner

    from omega_db.cli import app

    before = helpers.fingerprint(seeded_010)
    holder = hold_lock(seeded_010, "EXCLUSIVE")
    try:
        started = time.monotonic()
        result = CliRunner().invoke(app, [command, str(seeded_010), "--timeout", "0.5", "-f", "json"])
        elapsed = time.monotonic() - started
    finally:
        release(holder)
    assert result.exit_code == 1, result.stderr
    assert "OMEGA" in stderr_sentence(result.stderr, seeded_010)
    assert result.stdout == ""
    assert 0.5 <= elapsed < 10
    assert helpers.fingerprint(seeded_010) == before


def test_two_migrates_at_once_apply_011_once(
    tmp_path: Path, big_010: Path, big_digest: dict, references: dict
) -> None:
    """Cron and a person both run migrate: both succeed, 011 is applied once, no row lost."""
    path = copy_db(big_010, tmp_path / "race.db")
    first = omega_db("migrate", "--timeout", "60", "-f", "json", str(path))
    second = omega_db("migrate", "--timeout", "60", "-f", "json", str(path))
    for proc in (first, second):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert json.loads(out)["current"] == M011
    assert assert_at_010_or_011(path, big_digest, references) == M011
    assert helpers.recorded(path).count(M011) == 1


def test_a_kill_during_the_backup_leaves_no_file_named_as_a_backup(tmp_path: Path, big_010: Path) -> None:
    """A copy cut short must not pass for a backup (it would open as an empty database)."""
    path = copy_db(big_010, tmp_path / "memory.db")
    before = helpers.fingerprint(path)
    proc = omega_db("migrate", str(path))
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
    proc = omega_db("migrate", "-f", "json", str(path))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    backup = Path(json.loads(out)["backup"])
    assert digest_of(backup) == digest_of(big_010)


def structure_differences(path: Path, reference: Path) -> list:
    """What omega-db's own structure comparison finds between two files (empty: the same)."""
    from omega_db import compare
    from omega_db import schema as structure

    read = []
    for p in (reference, path):
        conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
        try:
            read.append(structure.read(conn))
        finally:
            conn.close()
    return compare.compare(*read)


def test_sigkill_during_repair_leaves_the_half_applied_state_or_a_clean_011(
    tmp_path: Path, big_010: Path, big_digest: dict, references: dict
) -> None:
    """migrate --repair is one transaction too: a kill leaves the file as it found it, or clean 011."""
    from tests.omega_runner import half_011

    clean_011 = helpers.build(tmp_path / "clean.db")
    template = copy_db(big_010, tmp_path / "half.db")
    half_011(template, 3)  # OMEGA stopped with outcomes.project added and lessons_new filled
    half_schema = schema(template)
    half_new = helpers.connect(template).execute("SELECT count(*) FROM lessons_new").fetchone()

    path = copy_db(template, tmp_path / "calibrate.db")
    proc = omega_db("migrate", "--repair", "--no-backup", str(path))
    assert wait_for(writing_began(path, "delete"), proc)
    started = time.monotonic()
    _, err = proc.communicate(timeout=120)
    window = time.monotonic() - started
    assert proc.returncode == 0, err

    states = []
    for i, fraction in enumerate((0.1, 0.6, "commit")):
        path = copy_db(template, tmp_path / f"repair-{i}.db")
        proc = omega_db("migrate", "--repair", "--no-backup", str(path))
        wait_for(writing_began(path, "delete"), proc)
        if fraction == "commit":
            wait_for(lambda: not Path(f"{path}-journal").exists(), proc)
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
        if half:
            assert schema(path) == half_schema and helpers.recorded(path)[-1] == M010
        else:  # repair may word the SQL differently ("outcomes" quoted): compare the structure
            assert structure_differences(path, clean_011) == [] and helpers.recorded(path)[-1] == M011
        states.append("half" if half else M011)
        result = migrate.migrate(path, repair=True, make_backup=False)
        assert result.current == M011
    assert "half" in states and M011 in states, states
