"""`omega-db backup` and `omega-db backups`: take a checked online copy (and prune old ones); list them."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from omega_db import backup, copies, db, halfapplied, history
from omega_db.errors import BadDatabaseError, OmegaDbError


@dataclass(frozen=True)
class Taken:
    """A backup just made: where, how big, at which schema version; what --keep deleted."""

    path: Path
    bytes: int
    current: str | None
    pruned: tuple[Path, ...] = ()
    half_applied: str | None = None  # what the database (and so the copy) holds half-applied, in words


def take(
    path: Path,
    *,
    output: Path | None = None,
    keep: int | None = None,
    timeout: float = db.DEFAULT_TIMEOUT,
    on_progress: Callable[[int, int], None] | None = None,
) -> Taken:
    """Copy the database at path online (safe while OMEGA runs), check the copy, then prune to `keep`."""
    conn = db.connect_readonly(path, timeout=timeout)
    try:
        with db.translate_errors(path):
            half = half_applied(conn, path)
        made = backup.backup(conn, path, output=output, on_progress=on_progress, advice=backup.COMMAND_ADVICE)
    finally:
        conn.close()
    copy = copies.open_copy(made, timeout=timeout)
    try:
        current = copies.version(copy, made)
    finally:
        copy.close()
    pruned = backup.prune(path, keep=keep, made=made) if keep is not None else []
    return Taken(made, made.stat().st_size, current, tuple(pruned), half)


def half_applied(conn: sqlite3.Connection, path: Path) -> str | None:
    """A half-applied migration in the database, described with its remedy, or None."""
    half = halfapplied.detect(conn, history.inspect(conn, path))
    return f"{half.describe()}. {half.remedy()}" if half else None


@dataclass(frozen=True)
class Listed:
    """One backup of a database, as `omega-db backups` shows it."""

    path: Path
    created: dt.datetime
    bytes: int
    current: str | None
    ok: bool  # it opens as a SQLite database whose schema and history can be read, and records a migration
    problem: str = ""  # why not, when it does not


def catalog(path: Path, *, timeout: float = db.DEFAULT_TIMEOUT) -> list[Listed]:
    """Every backup of the database at path, newest first, each opened read-only. The database may be gone."""
    if os.path.isdir(path):
        raise BadDatabaseError(f"{path} is a folder, not a database file; give the path of the .db file.")
    if os.path.exists(path) and not os.path.isfile(path):
        raise BadDatabaseError(f"{path} is not a regular file; give the path of the .db file.")
    if not os.path.exists(path) and not path.parent.is_dir():
        raise BadDatabaseError(f"{path} does not exist, nor does its folder, so no backups are there; check the path.")
    listed = []
    for found in backup.find(path):
        try:
            size = found.path.stat().st_size
        except OSError:
            continue  # deleted while we looked
        try:
            conn = copies.open_copy(found.path, timeout=timeout)
            try:
                current = copies.version(conn, found.path)
            finally:
                conn.close()
        except OmegaDbError as exc:
            listed.append(Listed(found.path, found.created, size, None, False, copies.reason(exc)))
            continue
        problem = "" if current else "an empty database: no OMEGA schema in it"
        listed.append(Listed(found.path, found.created, size, current, not problem, problem))
    return listed
