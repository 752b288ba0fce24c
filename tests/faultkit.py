"""Shared by the fault tests: building a big 010 database, state checks, other processes.

The fixtures built from these (references, big_010, big_digest) live in conftest.py.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from tests import helpers

M010 = "010_outcomes"
M011 = "011_project_learning"
M012 = "012_project_sessions"
M013 = "013_multi_lessons"
STATES = (M010, M011, M012, M013)  # where a migrate of a 010 file may be when it stops
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


def copy_db(src: Path, dest: Path, journal_mode: str = "delete") -> Path:
    """A private copy of a template database, in the journal mode wanted."""
    shutil.copyfile(src, dest)
    if journal_mode != "delete":
        set_journal_mode(dest, journal_mode)
    return dest


def assert_at_a_migration(
    path: Path, rows_before: dict[str, tuple[int, str]], references: dict[str, list]
) -> str:
    """Open a fresh connection (it rolls back or recovers what a dead writer left), check
    integrity, and prove the file is exactly at 010, 011, 012 or 013 with every row."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        names = [n for (n,) in conn.execute("SELECT name FROM _migrations ORDER BY name")]
        state = names[-1]
        assert state in STATES, names
        assert rows_digest(conn) == rows_before
        if state != M010:
            for table in ("outcomes", "lessons", "scheduled_tasks"):
                assert conn.execute(f"SELECT count(*) FROM {table} WHERE project <> ''").fetchone() == (0,)
    finally:
        conn.close()
    assert schema(path) == references[state], f"structure is not a clean {state}"
    return state


# --- processes ----------------------------------------------------------------------------


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


# --- another process holding the lock -----------------------------------------------------

LOCK_HOLDER = textwrap.dedent("""
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN " + sys.argv[2])
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # DEFERRED: a reader's lock
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
    """Another process in BEGIN DEFERRED (reading), IMMEDIATE or EXCLUSIVE until its stdin closes."""
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
