"""`omega-db restore`: put a backup in place of the database, keeping what it replaces.

The order is what makes it safe against a crash at any moment: the restored copy
is written whole beside the database first (a temporary file, synced); the old
database, under an exclusive lock, is checkpointed (its -wal folded into it) and
copied to a backup of its own, while the path still holds it; only then is the
copy renamed over the path, which is atomic. No stale -wal survives beside the
new file: after the checkpoint it is gone or empty, and it is removed before the
rename. (A copy, not a hard link: a link left by a crash would be a "backup" that
OMEGA goes on writing.)
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from omega_db.backups import reading
from omega_db.chain import halfapplied, history
from omega_db.ground import db, holders, online_copy
from omega_db.ground.errors import BadArgumentError, BadDatabaseError, BusyError, InUseError, OmegaDbError

# The database file's companions: a -wal or hot -journal with content belongs to the old file.
KEPT_COMPANIONS = ("-wal", "-journal")
KEEP_ADVICE = "nothing was restored. Free some space or fix the folder's permissions"


@dataclass(frozen=True)
class Prepared:
    """A restore that was checked and can run: what replaces what."""

    database: Path  # as given
    target: Path  # the file itself (a symbolic link's target: the link stays)
    source: Path  # the backup
    source_current: str | None
    exists: bool
    current: str | None  # the database's version now, None when it is gone or does not open
    make_folders: bool = False  # the default database's folder is gone too: restore creates it, 0700


@dataclass(frozen=True)
class TableCount:
    """Rows of one table before the restore (None: no such table, or unreadable) and after."""

    table: str
    before: int | None
    after: int | None


@dataclass(frozen=True)
class Restored:
    """What a restore did."""

    database: Path
    restored_from: Path
    kept: Path | None  # the backup of what was replaced; None when there was no database
    tables: tuple[TableCount, ...]
    current: str | None
    set_aside: tuple[Path, ...] = ()  # journal files of a damaged or missing database, moved aside
    half_applied: str | None = None


def prepare(
    source: Path, database: Path, *, timeout: float = db.DEFAULT_TIMEOUT, make_folders: bool = False
) -> Prepared:
    """Check the backup and the database; raise what stops the restore before anything changes.

    make_folders: the database is OMEGA's default one, whose folder may be gone with it
    (~/.omega/data/ deleted); the restore then creates it as migrate would. A folder the
    user named is never created: a typo in it must not become a new database somewhere.
    """
    if online_copy.looks_like_a_backup(database):
        # `restore memory.db.bak-*` with two matches would otherwise restore one backup over the other.
        raise BadArgumentError(
            f"{database} is named like a backup, not a database: restore takes BACKUP then DB; "
            "give the database's path as DB (or leave it out)."
        )
    try:
        link = stat.S_ISLNK(os.lstat(database).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        link = False
    except OSError as exc:  # a name too long, ...
        raise BadDatabaseError(f"cannot restore to {database} ({exc.strerror}); check the path.") from None
    target = Path(os.path.realpath(database)) if link else database
    folders_gone = not target.parent.is_dir() and not os.path.lexists(target.parent)
    if not target.parent.is_dir() and not (make_folders and folders_gone):
        raise BadDatabaseError(f"cannot restore to {database}: its folder does not exist; check the path.")
    exists = os.path.lexists(target)
    if exists and not stat.S_ISREG(os.lstat(target).st_mode):
        raise BadDatabaseError(f"{database} is not a regular file; give the path of the .db file.")
    if not os.path.lexists(source):
        raise BadDatabaseError(
            f"{source} does not exist; `omega-db backups {database}` lists the backups of {database}."
        )
    db.check_readable(source)
    if exists and os.path.samefile(source, target):
        raise BadArgumentError(f"{source} is the database itself; give one of its backups (`omega-db backups`).")
    source_current = reading.restorable(source, database, timeout=timeout)
    holders.refuse_if_open(target, database, "restore")
    current = None if folders_gone else _version_or_none(target, timeout)
    return Prepared(database, target, source, source_current, exists, current, make_folders=folders_gone)


def _version_or_none(path: Path, timeout: float) -> str | None:
    if not os.path.lexists(path):
        return None
    try:
        conn = reading.open_copy(path, timeout=timeout)
        try:
            return reading.version(conn, path)
        finally:
            conn.close()
    except OmegaDbError:
        return None


def restore(prepared: Prepared, *, timeout: float = db.DEFAULT_TIMEOUT) -> Restored:
    """Replace the database with the backup; the replaced database becomes a backup itself."""
    target, shown = prepared.target, prepared.database
    folder = target.parent
    if prepared.make_folders:
        try:
            db.make_folders(target)
        except OSError as exc:
            raise BadDatabaseError(f"cannot restore {shown}: its folder cannot be created ({exc.strerror}).") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadDatabaseError(f"cannot restore {shown}: its folder is read-only for this user; check its permissions.")
    holders.refuse_if_open(target, shown, "restore")
    owner, mode, wal = _identity(target, prepared.exists, shown)
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=f"{target.name}.restore-", suffix=".partial")  # 0600
    except OSError as exc:
        raise BadDatabaseError(f"cannot restore {shown}: no file can be created beside it ({exc.strerror}).") from None
    temp = Path(name)
    kept: Path | None = None
    moved: list[tuple[Path, Path]] = []
    try:
        _take_over(fd, owner, shown)
        after, current, half = _write_copy(prepared.source, temp, wal, timeout, shown)
        before: dict[str, int | None] = {}
        if prepared.exists:
            holders.refuse_if_open(target, shown, "restore")
            before, kept = _settle_and_keep(target, shown, timeout)
        holders.refuse_if_open(target, shown, "restore")  # a last look: nothing may have opened it since
        _clear_companions(target, kept, moved)
        os.chmod(temp, mode)
        os.rename(temp, target)  # the atomic moment: the old file or the new one, never neither
    except BaseException as exc:
        online_copy.remove(temp)
        _undo(kept, moved)
        if isinstance(exc, OSError):
            raise OmegaDbError(f"cannot restore {shown} ({exc.strerror}); nothing was restored.") from exc
        raise
    online_copy.fsync_folder(folder)
    tables = tuple(
        TableCount(t, before.get(t), after.get(t)) for t in sorted(set(before) | set(after))
    )
    return Restored(shown, prepared.source, kept, tables, current, tuple(to for _, to in moved), half)


def _undo(kept: Path | None, moved: list[tuple[Path, Path]]) -> None:
    """After a failure before the rename: journal files back beside the database, no new backup."""
    for original, aside in reversed(moved):
        try:
            os.rename(aside, original)
        except OSError:
            pass
    if kept is not None:
        online_copy.remove(kept)


def _take_over(fd: int, owner: tuple[int, int] | None, shown: Path) -> None:
    """Give the temporary file the database's owner and group, before any data is in it."""
    try:
        if owner is None:
            pass
        elif os.geteuid() == 0:
            os.fchown(fd, *owner)
        elif os.fstat(fd).st_gid != owner[1]:
            os.fchown(fd, -1, owner[1])
    except PermissionError:
        assert owner is not None  # only the fchown calls raise it, and they run only with an owner
        raise BadDatabaseError(
            f"cannot give the restored {shown} its group (gid {owner[1]}); run restore as root."
        ) from None
    finally:
        os.close(fd)


def _signature(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns


def _identity(target: Path, exists: bool, shown: Path) -> tuple[tuple[int, int] | None, int, bool]:
    """The owner (to set, or None), mode and journal mode the restored file takes over."""
    root = os.geteuid() == 0
    if not exists:
        # A new file: private; run as root, the folder's owner's (OMEGA's user's), like `migrate` would leave it.
        st = os.stat(target.parent)
        return ((st.st_uid, st.st_gid) if root else None), 0o600, False
    st = os.stat(target)
    if not root and st.st_uid != os.geteuid():
        raise BadDatabaseError(
            f"{shown} belongs to another user (uid {st.st_uid}), whose file it must stay; "
            "run restore as that user or as root."
        )
    return (st.st_uid, st.st_gid), stat.S_IMODE(st.st_mode), reading.is_wal_file(target)


def _write_copy(
    source: Path, temp: Path, wal: bool, timeout: float, shown: Path
) -> tuple[dict[str, int | None], str | None, str | None]:
    """Copy the backup into temp with SQLite's backup API, check it, sync it; its row counts and version."""
    src = reading.open_copy(source, timeout=timeout)
    try:
        try:
            dest = db.connect(temp)
            try:
                src.backup(dest, pages=4096)
                dest.execute("PRAGMA journal_mode = DELETE")
                reading.quick_check(dest, temp)
                after = reading.row_counts(dest)
                current = reading.version(dest, temp)
                found = halfapplied.detect(dest, history.inspect(dest, temp))
                half = f"{found.describe()}. {found.remedy()}" if found else None
                if wal:  # the database was in WAL mode (OMEGA's choice): so is the restored file
                    dest.execute("PRAGMA journal_mode = WAL")
            finally:
                dest.close()
        except sqlite3.Error as exc:
            raise OmegaDbError(
                f"cannot write the restored copy beside {shown} ({exc}); nothing was changed. "
                "Free some space (it needs the backup's size, and the database's for the kept copy)."
            ) from exc
    finally:
        src.close()
    fd = os.open(temp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return after, current, half


def _settle_and_keep(target: Path, shown: Path, timeout: float) -> tuple[dict[str, int | None], Path]:
    """Fold the database's -wal into it (a hot journal is rolled back), then keep a copy of it as a backup.

    All of it under an EXCLUSIVE lock in exclusive locking mode, taken first: it cannot
    be had while any other connection is open on a WAL database, which also finds an
    OMEGA that /proc does not show (another user's); and nothing can open it meanwhile.
    A file SQLite cannot read at all is kept as it is. Returns its row counts and the copy.
    """
    try:
        conn = db.connect(db.uri(target, "rw"), uri=True, timeout=timeout)
    except sqlite3.Error as exc:
        raise db.error_for(exc, shown) from exc
    try:
        # First the lock, before any write (a hot journal is rolled back only once it is ours):
        # exclusive locking mode keeps it after COMMIT, through the checkpoint and the copy.
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        try:
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            if isinstance(db.error_for(exc, shown), BusyError):
                raise _in_use(shown) from exc
            raise
        conn.execute("COMMIT")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            busy, log, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy or log:
                raise _in_use(shown)
        conn.execute("BEGIN EXCLUSIVE")
        counts = reading.row_counts(conn)
        settled = _signature(target)
        kept = online_copy.copy_file(target, advice=KEEP_ADVICE)
        if _signature(target) != settled:  # belt and braces, where locks are not to be trusted (NFS)
            online_copy.remove(kept)
            raise InUseError(f"{shown} was written while it was being kept; stop OMEGA, then run restore again.")
        conn.execute("ROLLBACK")
        return counts, kept
    except sqlite3.Error as exc:
        if not db.is_damage(exc, target):
            raise db.error_for(exc, shown) from exc
    finally:
        conn.close()  # the last connection: SQLite removes the (now empty) -wal and -shm
    return {}, online_copy.copy_file(target, advice=KEEP_ADVICE)  # damaged beyond reading: kept byte for byte


def _in_use(shown: Path) -> InUseError:
    return InUseError(
        f"{shown} is in use by another process (it holds the file; run as root to see which one if "
        "it is another user's): stop OMEGA, then run restore again; nothing was changed."
    )


def _clear_companions(target: Path, kept: Path | None, moved: list[tuple[Path, Path]]) -> None:
    """Remove the old file's -wal, -journal and -shm before the new file takes its name.

    A stale -wal beside a new database is replayed into it and corrupts it. After the
    checkpoint they are empty; one that still holds something (a damaged file, or a
    database that was deleted by hand) goes with the kept copy, or aside.
    """
    stamp = dt.datetime.now(dt.UTC).strftime(online_copy.STAMP)
    for suffix in holders.COMPANIONS:
        companion = Path(f"{target}{suffix}")
        try:
            size = os.lstat(companion).st_size
        except FileNotFoundError:
            continue
        if suffix in KEPT_COMPANIONS and size > 0:
            aside = Path(f"{kept}{suffix}") if kept else Path(f"{companion}.orphaned-{stamp}")
            os.rename(companion, aside)
            moved.append((companion, aside))
            os.chmod(aside, 0o600)
        else:
            companion.unlink()
