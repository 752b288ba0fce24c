"""The online backup taken before migrate changes a file: <DB>.bak-<UTC time>, mode 0600."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from omega_db import db
from omega_db.errors import BackupError, BusyError


def backup_path(path: Path, now: dt.datetime | None = None) -> Path:
    """<DB>.bak-<UTC YYYYmmddTHHMMSSZ> beside the database."""
    now = now or dt.datetime.now(dt.UTC)
    return path.with_name(f"{path.name}.bak-{now.strftime('%Y%m%dT%H%M%SZ')}")


def backup(
    conn: sqlite3.Connection, path: Path, *, on_progress: Callable[[int, int], None] | None = None
) -> Path:
    """Copy the database with SQLite's online backup to a new 0600 file beside it."""
    target = backup_path(path)
    suffix = 1
    while True:
        # The copy is written as <name>.partial and renamed when whole: a copy cut short
        # (kill, crash) must not sit under a backup's name, where it opens as an empty database.
        partial = target.with_name(f"{target.name}.partial")
        try:
            if os.path.lexists(target):
                raise FileExistsError(target)
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            break
        except FileExistsError:
            suffix += 1
            target = backup_path(path).with_name(f"{backup_path(path).name}-{suffix}")
        except OSError as exc:
            raise BackupError(
                f"cannot write the backup {target} ({exc.strerror}); nothing was migrated. "
                "Free some space or fix the folder's permissions, or pass --no-backup."
            ) from None
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)

    def progress(status: int, remaining: int, total: int) -> None:
        if on_progress:
            on_progress(total - remaining, total)

    try:
        dest = sqlite3.connect(partial)
        try:
            # One read transaction around every step: without it, each step that
            # finds the file changed by OMEGA restarts the copy, forever under a
            # steady writer. With it the copy is one snapshot (WAL: writers go on;
            # rollback journal: their commits wait for the copy, via busy_timeout).
            conn.execute("BEGIN")
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                conn.backup(dest, pages=4096, progress=progress)
            finally:
                conn.execute("ROLLBACK")
        finally:
            dest.close()
        os.rename(partial, target)
    except sqlite3.Error as exc:
        remove(partial)
        if isinstance(db.error_for(exc, path), BusyError):
            raise db.error_for(exc, path) from exc
        raise BackupError(
            f"cannot write the backup {target} ({exc}); nothing was migrated. "
            "Free some space or fix the folder's permissions, or pass --no-backup."
        ) from exc
    except BaseException:
        remove(partial)
        raise
    return target


def remove(path: Path) -> None:
    """Remove a backup (or a partial one) and its journal, if they are there."""
    for leftover in (path, Path(f"{path}-journal")):
        try:
            leftover.unlink()
        except OSError:
            pass
