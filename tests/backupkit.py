"""Shared by the backup, backups and restore tests: real processes that write, hold or die, and a user."""

from __future__ import annotations

import json
import resource
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from omega_db.ground import online_copy
from tests import helpers
from tests.inputkit import Ran

HEADER_WAL = b"\x02\x02"

# Commits `count` outcomes that stay only in the -wal (no checkpoint), then dies by SIGKILL:
# what OMEGA leaves when it is killed between checkpoints.
KILLED_WRITER = textwrap.dedent("""
    import os, signal, sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    assert conn.execute("PRAGMA journal_mode = wal").fetchone()[0] == "wal"
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    for i in range(int(sys.argv[2])):
        conn.execute("INSERT INTO outcomes (id, sender_id, domain, score, lesson) "
                     "VALUES (?, 'wal', 'coding', 1, 'only in the wal')", ("wal-%d" % i,))
    os.kill(os.getpid(), signal.SIGKILL)
""")

# Commits transactions of two rows (an outcome and a lesson with the same number) until told
# to stop; prints each committed number with the monotonic time after its COMMIT.
PAIR_WRITER = textwrap.dedent("""
    import json, os, sqlite3, sys, time
    path, stop = sys.argv[1], sys.argv[2]
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    i = 0
    deadline = time.monotonic() + 90
    while not os.path.exists(stop) and time.monotonic() < deadline:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO outcomes (id, sender_id, domain, score, lesson) "
                     "VALUES (?, 'writer', 'coding', 1, 'pair')", ("pair-%d" % i,))
        conn.execute("INSERT INTO lessons (id, sender_id, domain, rule, project) "
                     "VALUES (?, 'writer', ?, 'a rule', 'p')", ("pair-%d" % i, "domain-%d" % i))
        conn.execute("COMMIT")
        print(json.dumps([i, time.monotonic()]), flush=True)
        i += 1
        time.sleep(0.001)
""")

# Keeps the database open (one query read, no transaction) until its stdin closes: an idle OMEGA.
HOLDER = textwrap.dedent("""
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1])
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    print("open", flush=True)
    sys.stdin.read()
""")

# Runs omega-db, killing itself with SIGKILL just before its n-th file operation of those
# wrapped (link, rename, unlink, fsync, chmod, chown...): every step boundary, exactly.
# The file system work is real; only the moment of death is chosen. Prints the count on exit.
KILL_AT = textwrap.dedent("""
    import os, signal, sys
    from omega_db import cli
    limit, calls = int(sys.argv[1]), 0
    def wrap(fn):
        def stop_first(*args, **kwargs):
            global calls
            calls += 1
            if calls == limit:
                os.kill(os.getpid(), signal.SIGKILL)
            return fn(*args, **kwargs)
        return stop_first
    for name in ("link", "rename", "replace", "unlink", "remove", "fsync", "chmod", "fchmod", "chown", "fchown"):
        setattr(os, name, wrap(getattr(os, name)))
    sys.argv = ["omega-db", *sys.argv[2:]]
    try:
        cli.main()
    finally:
        sys.stderr.write("calls=%d\\n" % calls)
""")


def backup_of(path: Path) -> Path:
    """A backup of the database at path, made by omega-db's own online backup."""
    conn = helpers.connect(path)
    try:
        return online_copy.backup(conn, path)
    finally:
        conn.close()


def wal_database(path: Path, *, wal_rows: int = 5) -> Path:
    """A seeded 011 database in WAL mode whose last `wal_rows` outcomes live only in its -wal."""
    helpers.build(path)
    helpers.seed(path)
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path), str(wal_rows)], timeout=60)
    assert proc.returncode == -9
    assert Path(f"{path}-wal").stat().st_size > 0
    assert wal_ids(path, main_file_only=True) == []  # the main file alone does not hold them
    return path


def wal_ids(path: Path, *, main_file_only: bool = False) -> list[str]:
    """The ids of the rows KILLED_WRITER committed, as the file (with its -wal, or alone) holds them."""
    flags = "immutable=1" if main_file_only else "mode=ro"
    conn = sqlite3.connect(f"file:{path}?{flags}", uri=True)
    try:
        return sorted(r for (r,) in conn.execute("SELECT id FROM outcomes WHERE id LIKE 'wal-%'"))
    finally:
        conn.close()


def header_mode(path: Path) -> bytes:
    """Bytes 18-19 of the SQLite header: 01 01 rollback journal, 02 02 WAL."""
    return path.read_bytes()[18:20]


def hold_open(path: Path) -> subprocess.Popen[str]:
    """A second process that has the database open (and idle) until released."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "open"
    return proc


def let_go(proc: subprocess.Popen[str]) -> None:
    """End a hold_open process."""
    proc.communicate(timeout=30)


def json_of(proc: subprocess.CompletedProcess[str] | Ran) -> object:
    """The JSON document on stdout of a successful command (a real process, or a Ran)."""
    code = proc.code if isinstance(proc, Ran) else proc.returncode
    assert code == 0, proc.stderr
    return json.loads(proc.stdout)


def damage_an_index(path: Path, index: str = "idx_outcomes_time") -> None:
    """Overwrite the root page of an index with garbage: the file opens, quick_check fails."""
    conn = sqlite3.connect(path)
    try:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (index,)).fetchone()[0]
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    with path.open("r+b") as f:
        f.seek((root - 1) * page)
        f.write(b"\x0d" + bytes(range(256)) * (page // 256 - 1) + b"\xff" * 255)


def names(folder: Path) -> list[str]:
    """The names in a folder, sorted."""
    return sorted(p.name for p in folder.iterdir())


def snapshot(folder: Path) -> dict[str, tuple[str, int] | None]:
    """Every file's content hash and mtime: 'nothing changed in the folder'.

    A -shm file is SQLite's shared-memory index, which every reader writes to: only its presence counts.
    """
    return {
        p.name: None if p.name.endswith("-shm") else helpers.fingerprint(p)
        for p in sorted(folder.iterdir()) if p.is_file()
    }


def file_size_limit(limit: int) -> Callable[[], None]:
    """preexec_fn: a child that may write no file beyond limit bytes (EFBIG, not SIGXFSZ): a full disk."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def grow(path: Path, megabytes: int) -> None:
    """Add a table of random blobs: a bigger file, same OMEGA rows."""
    conn = helpers.connect(path)
    try:
        conn.execute("CREATE TABLE filler (x BLOB)")
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO filler SELECT randomblob(8000) FROM n", (megabytes * 128,)
        )
    finally:
        conn.close()


# Takes SQLite's EXCLUSIVE lock on a rollback-journal database (no reader gets in) until its stdin closes.
LOCKER = textwrap.dedent("""
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    sys.stdin.read()
    conn.execute("ROLLBACK")
""")


def lock_exclusively(path: Path) -> subprocess.Popen[str]:
    """A second process holding an EXCLUSIVE lock on the database until let_go()."""
    proc = subprocess.Popen([sys.executable, "-c", LOCKER, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc
