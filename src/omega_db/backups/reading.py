"""Reading a copy of a database (a backup) without leaving a trace beside it: open, check, count."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from omega_db.chain import history
from omega_db.ground import db, sql
from omega_db.ground.errors import BadDatabaseError, OmegaDbError

SQLITE_MAGIC = b"SQLite format 3\x00"


def is_wal_file(path: Path) -> bool:
    """True if the file's header says WAL mode (bytes 18 and 19 are 2)."""
    try:
        with open(path, "rb") as f:
            header = f.read(20)
    except OSError:
        return False
    return header[:16] == SQLITE_MAGIC and header[18:20] == b"\x02\x02"


def open_copy(path: Path, *, timeout: float = db.DEFAULT_TIMEOUT) -> sqlite3.Connection:
    """Open a backup read-only; raise BadDatabaseError if it is not a readable SQLite database.

    A WAL-mode file (a backup from an older omega-db, a hand copy) opened read-only
    leaves -wal and -shm files beside it. Without a -wal file no connection can have
    it open (every WAL connection keeps one), so it is whole as it is: open it
    immutable, which reads the file alone and creates nothing.
    """
    db.check_readable(path)
    target = db.uri(path, "ro")
    if is_wal_file(path) and not os.path.lexists(f"{path}-wal"):
        target += "&immutable=1"
    with db.translate_errors(path):
        conn = db.connect(target, uri=True, timeout=timeout)
        try:
            conn.execute("PRAGMA query_only = ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except BaseException:
            conn.close()
            raise
    return conn


def version(conn: sqlite3.Connection, path: Path) -> str | None:
    """The schema version a database is at: its last applied migration, None for none."""
    with db.translate_errors(path):
        return history.inspect(conn, path).current


def quick_check(conn: sqlite3.Connection, path: Path) -> None:
    """PRAGMA quick_check of the whole file; BadDatabaseError naming the first problem."""
    with db.translate_errors(path):
        rows = [row[0] for row in conn.execute("PRAGMA quick_check")]
    if rows != ["ok"]:
        raise BadDatabaseError(f"{path} is damaged (quick_check: {' '.join(rows[0].split())}); choose another backup.")


def reason(exc: OmegaDbError) -> str:
    """Why a file did not open, in a few words (SQLite's own when it has them)."""
    cause = exc.__cause__
    if isinstance(cause, sqlite3.Error):
        return str(cause)
    return exc.message


def ordinary_tables(conn: sqlite3.Connection) -> list[str]:
    """The tables that hold rows: not SQLite's own, not virtual tables nor their shadow tables."""
    rows = conn.execute(  # CAST: what a damaged file holds as a BLOB is still text
        "SELECT CAST(name AS TEXT), coalesce(CAST(sql AS TEXT), '') FROM sqlite_master WHERE type = 'table'"
    ).fetchall()
    virtual = [name for name, text in rows if text.upper().startswith("CREATE VIRTUAL")]
    return sorted(
        name for name, text in rows
        if not name.startswith("sqlite_")
        and name not in virtual
        and not any(name.startswith(f"{v}_") for v in virtual)
    )


def row_counts(conn: sqlite3.Connection) -> dict[str, int | None]:
    """Rows per ordinary table; None for a table that cannot be read (damage)."""
    counts: dict[str, int | None] = {}
    for table in ordinary_tables(conn):
        try:
            counts[table] = conn.execute(f"SELECT count(*) FROM {sql.quote(table)}").fetchone()[0]
        except sqlite3.DatabaseError:
            counts[table] = None
    return counts


def restorable(source: Path, database: Path, *, timeout: float = db.DEFAULT_TIMEOUT) -> str:
    """The version of a backup that passes quick_check and holds an OMEGA schema; else
    BadDatabaseError, whose advice is for a backup: choose another one."""
    try:
        conn = open_copy(source, timeout=timeout)
        try:
            quick_check(conn, source)
            current = version(conn, source)
        finally:
            conn.close()
    except BadDatabaseError as exc:
        if not isinstance(exc.__cause__, sqlite3.Error):
            raise
        # The advice for a damaged database ("restore it from a backup") is wrong for a backup.
        raise BadDatabaseError(
            f"{source} cannot be restored ({reason(exc)}); choose another backup: "
            f"`omega-db backups {database}` lists them."
        ) from exc
    if current is None:
        raise BadDatabaseError(f"{source} holds no OMEGA schema (no migration recorded); choose another backup.")
    return current
