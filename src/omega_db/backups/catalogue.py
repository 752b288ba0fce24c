"""The backups of a database: which files they are, taking one (`backup`), pruning, listing (`backups`)."""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from omega_db.backups import reading
from omega_db.chain import halfapplied, history
from omega_db.ground import db, online_copy
from omega_db.ground.errors import BadArgumentError, BadDatabaseError, OmegaDbError


@dataclass(frozen=True)
class Found:
    """A backup of a database, as its name tells it."""

    path: Path
    created: dt.datetime  # the UTC time in the name
    suffix: int  # 1, or N for the -N a taken name got


def parse_name(database: Path, name: str) -> tuple[dt.datetime, int] | None:
    """The time and suffix of a backup of `database` named `name`, or None if it is not one."""
    match = re.fullmatch(re.escape(database.name) + online_copy.NAME_TAIL, name)
    if not match:
        return None
    try:
        created = dt.datetime.strptime(match[1], online_copy.STAMP).replace(tzinfo=dt.UTC)
    except ValueError:  # 20261399T... looks like a stamp but is no time
        return None
    return created, int(match[2] or 1)


def find(database: Path) -> list[Found]:
    """Every backup of database beside it (regular files named exactly as backups), newest first."""
    database = online_copy.real(database)
    folder = database.parent
    found = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise OmegaDbError(f"cannot list the folder {folder} ({exc.strerror}); check its permissions.") from None
    for entry in entries:
        parsed = parse_name(database, entry.name)
        if parsed and entry.is_file(follow_symlinks=False):
            found.append(Found(folder / entry.name, *parsed))
    return sorted(found, key=lambda f: (f.created, f.suffix), reverse=True)


def prune(database: Path, *, keep: int, made: Path | None) -> list[Path]:
    """Delete all but the `keep` newest backups of database; never `made`. The paths deleted."""
    if keep < 1:
        raise BadArgumentError(f"--keep {keep}: keep at least 1 backup.")
    deleted = []
    for old in find(database)[keep:]:
        if made is not None and _same(old.path, made):
            continue
        try:
            old.path.unlink()
        except FileNotFoundError:
            continue  # another run pruned it first
        except OSError as exc:
            raise OmegaDbError(
                f"cannot delete the old backup {old.path} ({exc.strerror}); check the folder's permissions."
            ) from None
        online_copy.remove(old.path)  # and any journal SQLite left beside it
        deleted.append(old.path)
    return deleted


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


@dataclass(frozen=True)
class Taken:
    """A backup just made: where, how big, at which schema version; what --keep deleted."""

    path: Path
    bytes: int
    current: str | None
    pruned: tuple[Path, ...] = ()
    half_applied: str | None = None  # what the database (and so the copy) holds half-applied, in words
    kept: int | None = None  # --keep N, when given


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
        made = online_copy.backup(conn, path, output=output, on_progress=on_progress, advice=online_copy.COMMAND_ADVICE)
    finally:
        conn.close()
    copy = reading.open_copy(made, timeout=timeout)
    try:
        current = reading.version(copy, made)
    finally:
        copy.close()
    pruned = prune(path, keep=keep, made=made) if keep is not None else []
    return Taken(made, made.stat().st_size, current, tuple(pruned), half, keep)


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
    for found in find(path):
        try:
            size = found.path.stat().st_size
        except OSError:
            continue  # deleted while we looked
        try:
            conn = reading.open_copy(found.path, timeout=timeout)
            try:
                current = reading.version(conn, found.path)
            finally:
                conn.close()
        except OmegaDbError as exc:
            why = reading.reason(exc)
            if os.path.lexists(f"{found.path}-journal") and "readonly" in why:
                # SQLite's words for it ("attempt to write a readonly database") say nothing useful.
                why = (f"an unfinished write in {found.path.name}-journal beside it, "
                       "which only a read-write open rolls back")
            listed.append(Listed(found.path, found.created, size, None, False, why))
            continue
        problem = "" if current else "an empty database: no OMEGA schema in it"
        listed.append(Listed(found.path, found.created, size, current, not problem, problem))
    return listed
