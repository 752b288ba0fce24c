"""How a backup is made: <DB>.bak-<UTC time> beside the database, 0600, its owner's, checked, whole."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import re
import shutil
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from omega_db.ground import db
from omega_db.ground.errors import BackupError, BadArgumentError, BusyError, for_os_error
from omega_db.ground.holders import COMPANIONS

STAMP = "%Y%m%dT%H%M%SZ"
NAME_TAIL = r"\.bak-(\d{8}T\d{6}Z)(?:-([1-9][0-9]{0,3}))?"  # what follows <DB name> in a backup's name
# What a failed backup means for the command that wanted it (migrate's is the default).
MIGRATE_ADVICE = "nothing was migrated. Free some space or fix the folder's permissions, or pass --no-backup"
COMMAND_ADVICE = "free some space or fix the folder's permissions"


def real(path: Path) -> Path:
    """The database file itself, a symbolic link resolved: every backup is named after it and sits beside it,
    whichever way the database was reached, so `backups` lists them all and `--keep` prunes them all."""
    return Path(os.path.realpath(path)) if os.path.islink(path) else path


def backup_path(path: Path, now: dt.datetime | None = None) -> Path:
    """<DB>.bak-<UTC YYYYmmddTHHMMSSZ> beside the database (the real file, see real)."""
    now = now or dt.datetime.now(dt.UTC)
    path = real(path)
    return path.with_name(f"{path.name}.bak-{now.strftime(STAMP)}")


def candidates(path: Path) -> Iterator[Path]:
    """Free-name candidates for a new backup of path: the stamped name, then -2, -3, ..."""
    first = backup_path(path)
    yield first
    for suffix in range(2, 10_000):
        yield first.with_name(f"{first.name}-{suffix}")


def looks_like_a_backup(path: Path) -> bool:
    """True if the name ends like a backup's: .bak-<UTC stamp>[-N]."""
    return re.search(NAME_TAIL + "$", path.name) is not None


def backup(
    conn: sqlite3.Connection,
    path: Path,
    *,
    output: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    advice: str = MIGRATE_ADVICE,
) -> Path:
    """Copy the database behind conn with SQLite's online backup to a new file, checked before it is named.

    The file is `output` (never overwritten) or the first free <DB>.bak-<UTC time>[-N]
    beside the database; mode 0600, owned by the database file's owner when run as root;
    a self-contained rollback-journal database that passed PRAGMA quick_check.
    """
    return start(conn, path, output=output, on_progress=on_progress, advice=advice).done()


def start(conn: sqlite3.Connection, path: Path, *, output: Path | None = None,
          on_progress: Callable[[int, int], None] | None = None, advice: str = MIGRATE_ADVICE) -> Checking:
    """backup(), its copy made and its quick_check left running beside the caller: Checking.done()
    waits for the check and names the backup (migrate runs its first migration meanwhile, and
    commits only after done())."""
    names = iter([output]) if output is not None else candidates(path)
    partial, target = _create_partial(names, path, output, advice)
    try:
        _copy(conn, path, partial, target, on_progress, advice)
    except BaseException:
        remove(partial)
        raise
    return Checking(path, partial, target, names, output, advice)


class Checking:
    """A whole copy under its .partial name, its quick_check and fsync running on a thread of its own."""

    def __init__(self, database: Path, partial: Path, target: Path, names: Iterator[Path],
                 output: Path | None, advice: str) -> None:
        self._database, self._partial, self._target = database, partial, target
        self._names, self._output, self._advice = names, output, advice
        self._problems: list[str] = []
        self._failure: BaseException | None = None
        self._conn: sqlite3.Connection | None = None
        self._named: Path | None = None
        self._thread = threading.Thread(target=self._check, name="omega-db backup check", daemon=True)
        self._thread.start()

    def _check(self) -> None:
        try:
            self._conn = conn = db.connect(self._partial)  # this thread's own connection
            try:
                self._problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
            finally:
                conn.close()
            _fsync(self._partial)
        except BaseException as exc:  # handed to the caller by done()
            self._failure = exc

    def done(self) -> Path:
        """Wait for the check; the backup under its name. BackupError (the copy deleted) if it failed."""
        if self._named is None:
            try:
                self._thread.join()
                self._raise_failure()
                self._named = _place(self._partial, self._target, self._names, self._output, self._advice)
            except BaseException:
                self.abandon()
                raise
        return self._named

    @property
    def named(self) -> Path | None:
        """The backup's name once done() has given it one."""
        return self._named

    def abandon(self) -> None:
        """Stop the check if it still runs and delete the unnamed copy (a named backup stays)."""
        if self._named is not None:
            return
        if self._thread.is_alive() and self._conn is not None:
            with contextlib.suppress(sqlite3.Error):  # closed meanwhile: the check is over
                self._conn.interrupt()
        self._thread.join()
        remove(self._partial)

    def _raise_failure(self) -> None:
        target, path, failure = self._target, self._database, self._failure
        if isinstance(failure, sqlite3.Error):
            raise BackupError(f"cannot write the backup {target} ({failure}); {self._advice}.") from failure
        if isinstance(failure, OSError):
            raise for_os_error(failure, f"cannot write the backup {target}", self._advice, BackupError) from None
        if failure is not None:
            raise failure
        if self._problems != ["ok"]:
            raise BackupError(
                f"the backup of {path} failed SQLite's quick_check ({' '.join(self._problems[0].split())}) and was "
                f"deleted; {path} may be damaged: run `omega-db verify` on it. Nothing was changed."
            )


def _create_partial(
    names: Iterator[Path], database: Path, output: Path | None, advice: str
) -> tuple[Path, Path]:
    """Create <name>.partial (0600, the database owner's) for the first free name."""
    for target in names:
        # The copy is written as <name>.partial and renamed when whole: a copy cut short
        # (kill, crash) must not sit under a backup's name, where it opens as an empty database.
        partial = target.with_name(f"{target.name}.partial")
        try:
            if os.path.lexists(target):
                raise FileExistsError(target)
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if output is not None:
                taken = target if os.path.lexists(target) else partial
                raise BadArgumentError(
                    f"--output {target}: {taken} already exists and omega-db never overwrites a file; "
                    "give a new file name."
                ) from None
            continue
        except (FileNotFoundError, NotADirectoryError):
            raise BadArgumentError(f"cannot write the backup {target}: its folder does not exist.") from None
        except OSError as exc:
            raise for_os_error(exc, f"cannot write the backup {target}", advice, BackupError) from None
        try:
            os.fchmod(fd, 0o600)  # O_CREAT's mode is narrowed by the umask only
            # Run as root (cron), the copy is the database owner's: OMEGA's user must be able to restore it.
            owner = owner_of(database) if os.geteuid() == 0 else None
            if owner:
                os.fchown(fd, *owner)
        finally:
            os.close(fd)
        return partial, target
    raise BackupError(f"no free backup name beside {target}; {advice}.")


def owner_of(path: Path) -> tuple[int, int] | None:
    """(uid, gid) of the file at path, None if it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_uid, st.st_gid


def _copy(
    conn: sqlite3.Connection, path: Path, partial: Path, target: Path,
    on_progress: Callable[[int, int], None] | None, advice: str,
) -> None:
    def progress(status: int, remaining: int, total: int) -> None:
        if on_progress:
            on_progress(total - remaining, total)

    try:
        dest = db.connect(partial)
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
            # A copy of a WAL database says WAL in its header, and every later read-only
            # open would then leave -wal and -shm files beside it: make it one plain file.
            dest.execute("PRAGMA journal_mode = DELETE")
        finally:
            dest.close()
    except sqlite3.Error as exc:
        error = db.error_for(exc, path)
        if isinstance(error, BusyError):
            raise error from exc
        raise BackupError(f"cannot write the backup {target} ({exc}); {advice}.") from exc


def _place(partial: Path, target: Path, names: Iterator[Path], output: Path | None, advice: str) -> Path:
    """Give the finished copy its name, never replacing a file that took that name meanwhile."""
    while True:
        try:
            os.link(partial, target)  # unlike rename, fails if the name is taken
        except FileExistsError:
            nxt = next(names, None)
            if output is not None or nxt is None:
                raise BadArgumentError(
                    f"cannot name the backup {target}: a file took that name meanwhile and omega-db "
                    "never overwrites one; give a new file name."
                ) from None
            target = nxt
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOTSUP):
                raise BackupError(f"cannot write the backup {target} ({exc.strerror}); {advice}.") from None
            # A file system without hard links: rename, after looking (a tiny race, no better way).
            if os.path.lexists(target):
                raise BadArgumentError(f"{target} already exists; omega-db never overwrites a file.") from None
            try:
                os.rename(partial, target)
            except OSError as again:
                raise BackupError(f"cannot write the backup {target} ({again.strerror}); {advice}.") from None
            break
        os.unlink(partial)
        break
    fsync_folder(target.parent)
    return target


def copy_file(database: Path, *, advice: str) -> Path:
    """Copy a database file that no process has open, byte for byte, to a new backup beside it.

    For a file SQLite may not be able to read (damage is kept as it is); the
    caller makes sure nothing writes it meanwhile. Named, moded and owned like
    every backup, written as <name>.partial first.
    """
    names = candidates(database)
    partial, target = _create_partial(names, database, None, advice)
    try:
        try:
            with open(database, "rb") as src, open(partial, "r+b") as dest:
                shutil.copyfileobj(src, dest, 1 << 20)
                dest.flush()
                os.fsync(dest.fileno())
        except OSError as exc:
            raise BackupError(f"cannot write the backup {target} ({exc.strerror}); {advice}.") from None
        _plain(partial)
        return _place(partial, target, names, None, advice)
    except BaseException:
        remove(partial)
        raise


def _plain(path: Path) -> None:
    """Make a whole WAL-mode copy a rollback-journal file, as every backup is; leave one SQLite cannot read."""
    try:
        conn = db.connect(db.uri(path, "rw"), uri=True)
        try:
            conn.execute("PRAGMA journal_mode = DELETE")
        finally:
            conn.close()
    except sqlite3.Error:
        pass  # damaged: kept exactly as it is


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(folder: Path) -> None:
    """Make a rename or link in folder durable (best effort where folders cannot be synced)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove(path: Path) -> None:
    """Remove a backup (or a partial one) and the journal files SQLite may have left beside it."""
    for leftover in (path, *(Path(f"{path}{suffix}") for suffix in COMPANIONS)):
        try:
            if stat.S_ISREG(os.lstat(leftover).st_mode):
                leftover.unlink()
        except OSError:
            pass
