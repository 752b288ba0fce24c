"""Finding the database file, opening it, and turning SQLite's errors into sentences."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from omega_db.ground import decoding
from omega_db.ground.defaults import (
    DEFAULT_TIMEOUT,  # db.DEFAULT_TIMEOUT as before, defined where start-up pays nothing
)
from omega_db.ground.errors import BadDatabaseError, BusyError, OmegaDbError
from omega_db.ground.untrusted import visible

SORTER_THREADS = min(4, os.cpu_count() or 1)  # helper threads the sorter may start

_BUSY = {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_BUSY_SNAPSHOT", "SQLITE_BUSY_RECOVERY"}
_NOT_A_DB = {"SQLITE_NOTADB", "SQLITE_CORRUPT"}
_READONLY_PREFIX = "SQLITE_READONLY"



def readable(exc: UnicodeDecodeError) -> sqlite3.DatabaseError:
    """The error SQLite reported, whose message sqlite3 could not decode: it quotes damaged bytes.

    sqlite3 decodes SQLite's error messages strictly, so "malformed database schema (<a name
    that is not UTF-8>)" arrives as a UnicodeDecodeError instead of a DatabaseError.
    """
    message = bytes(exc.object).decode("utf-8", "replace")
    error = sqlite3.DatabaseError(message)
    if "malformed" in message:
        error.sqlite_errorname = "SQLITE_CORRUPT"
    return error


class Connection(sqlite3.Connection):
    """A connection whose statements fail with sqlite3 errors only, whatever the file holds."""

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        """As sqlite3's, but a message quoting damaged bytes arrives as the DatabaseError it is."""
        try:
            return super().execute(sql, parameters)
        except UnicodeDecodeError as exc:
            raise readable(exc) from None

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        """As sqlite3's, but a message quoting damaged bytes arrives as the DatabaseError it is."""
        try:
            return super().executemany(sql, parameters)
        except UnicodeDecodeError as exc:
            raise readable(exc) from None


def check_readable(path: Path) -> None:
    """Raise BadDatabaseError unless path is an existing, readable regular file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise BadDatabaseError(
                f"{path} is a link to {os.readlink(path)}, which does not exist; check the path."
            ) from None
        raise BadDatabaseError(
            f"{path} does not exist; check the path, or create a new memory database "
            f"with `omega-db migrate {path}`."
        ) from None
    except PermissionError:
        raise BadDatabaseError(
            f"{path} cannot be reached (permission denied); check the folder's permissions."
        ) from None
    except NotADirectoryError:
        raise BadDatabaseError(f"{path} does not exist: a part of that path is a file, not a folder.") from None
    except OSError as exc:  # a name too long, a symlink loop, ...
        raise BadDatabaseError(f"{path} cannot be reached ({exc.strerror}); check the path.") from None
    if stat.S_ISDIR(st.st_mode):
        raise BadDatabaseError(f"{path} is a folder, not a database file; give the path of the .db file.")
    if not stat.S_ISREG(st.st_mode):
        raise BadDatabaseError(f"{path} is not a regular file; give the path of the .db file.")
    if not os.access(path, os.R_OK):
        raise BadDatabaseError(f"{path} is not readable; check its permissions.")


def uri(path: Path, mode: str) -> str:
    """The SQLite URI that opens path with mode (ro, rw)."""
    # The file name's bytes, not its text: a name that is not UTF-8 must still open.
    return "file:" + urllib.parse.quote(os.fsencode(path.absolute())) + f"?mode={mode}"


def connect(database: str | Path, *, uri: bool = False, timeout: float = DEFAULT_TIMEOUT) -> sqlite3.Connection:
    """A connection to a file that may be damaged: we own its transactions (autocommit), its text
    reads leniently (U+FFFD, counted) and its errors are sqlite3 errors (see readable)."""
    conn = sqlite3.connect(database, uri=uri, timeout=timeout, isolation_level=None, factory=Connection)
    # The sqlite3 module's own decoding raises UnicodeDecodeError on one bad byte anywhere in a
    # fetched value, which stops the whole command. This costs a Python call per text value:
    # the listings' bulk path (answers.py) reads optimistically with str instead.
    conn.text_factory = decoding.decode
    return conn


def _open(path: Path, mode: str, timeout: float, setup: tuple[str, ...]) -> sqlite3.Connection:
    check_readable(path)
    with translate_errors(path):
        # isolation_level=None (in connect): we own transactions (BEGIN IMMEDIATE ... COMMIT);
        # the sqlite3 module must not open or commit any behind our back.
        conn = connect(uri(path, mode), uri=True, timeout=timeout)
        try:
            for pragma in setup:
                conn.execute(pragma)
            # Reading the schema is what tells a text file from a database.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except BaseException:
            conn.close()
            raise
    return conn


def connect_readonly(path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> sqlite3.Connection:
    """Open an existing database read-only; raise a clear error if it is not one."""
    # threads: let SQLite's sorter work on helper threads: a big ORDER BY (lessons,
    # tasks) sorts 10-30% faster on two cores. Only a connection setting.
    return _open(path, readonly_mode(path), timeout, ("PRAGMA query_only = ON", f"PRAGMA threads = {SORTER_THREADS}"))


def readonly_mode(path: Path) -> str:
    """The URI mode that reads path without writing beside it: ro, or ro with immutable (see below)."""
    return "ro&immutable=1" if _unchanging_wal_file(path) else "ro"


def _unchanging_wal_file(path: Path) -> bool:
    """True for a WAL-mode file with no -wal beside it, in a folder this user cannot write.

    A plain read-only open of such a file fails: SQLite must create its -wal and -shm files
    first. `immutable=1` reads the file without them (no locks, no change detection), which is
    right only while nothing writes the file, and here that holds: every connection to a WAL
    database keeps a -wal file beside it while it is open (the last one to close deletes it),
    so no -wal means no process has it open now; and this path cannot make one. The one
    assumption: that no writer with rights we lack (OMEGA as the folder's owner) opens it in the
    second a read takes; if one did, its changes would land in its new -wal, not in the file we
    read, until a checkpoint, which SQLite runs only after 1000 pages of changes.
    """
    # realpath, not resolve(): a symlink loop is an answer later, not a RuntimeError here.
    real = os.path.realpath(path)
    # The header is read last, and only from a regular file: opening a FIFO would block.
    return (
        not os.access(os.path.dirname(real), os.W_OK)
        and os.path.isfile(real)
        and not os.path.lexists(f"{real}-wal")
        and write_version(path) == 2  # the header's WAL mark
    )


def connect_readwrite(path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> sqlite3.Connection:
    """Open an existing database for writing (mode=rw: never creates a file)."""
    # threads: the sorter's helper threads build a migration's indexes too (011's on a
    # million outcomes: about 15% faster on two cores).
    return _open(path, "rw", timeout, (f"PRAGMA threads = {SORTER_THREADS}",))


def make_folders(path: Path) -> None:
    """Create the missing parent folders of path, 0700; OSError as os.mkdir raises it."""
    missing = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)  # mkdir's mode is narrowed by the umask only


def create_file(path: Path) -> None:
    """Create an empty database file 0600, and any missing parent folders 0700."""
    try:
        make_folders(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
    except FileExistsError:
        raise BadDatabaseError(f"{path} appeared while omega-db was creating it; run the command again.") from None
    except NotADirectoryError:
        raise BadDatabaseError(f"cannot create {path}: a part of that path is a file, not a folder.") from None
    except PermissionError:
        raise BadDatabaseError(f"cannot create {path}: permission denied; check the folder's permissions.") from None
    except OSError as exc:
        raise BadDatabaseError(f"cannot create {path}: {exc.strerror}.") from None


def write_version(path: Path) -> int | None:
    """The header's file format write version (byte 18): above 2, SQLite opens the file read-only."""
    try:
        with open(path, "rb") as f:
            header = f.read(19)
    except OSError:
        return None
    return header[18] if len(header) == 19 and header.startswith(b"SQLite format 3\x00") else None


_UNKNOWN_FORMAT = "unsupported file format"  # a schema format number SQLite does not know (header bytes 44-47)


def is_damage(exc: sqlite3.Error, path: Path) -> bool:
    """True if exc says the file itself is not what SQLite can read and write: damaged, not a database,
    a header naming a format SQLite does not know, or one that says "read only" (write version above 2)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    return (
        name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT"))
        or _UNKNOWN_FORMAT in str(exc)
        or (name.startswith(_READONLY_PREFIX) and (write_version(path) or 0) > 2)
    )


def error_for(exc: sqlite3.Error, path: Path) -> OmegaDbError:
    """The OmegaDbError that explains a sqlite3 error met while working on path."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = visible(str(exc))  # a damaged name it quotes may hold anything
    if name in _BUSY or "database is locked" in text or "database table is locked" in text:
        return BusyError(
            f"{path} is locked by another process (is OMEGA running?); "
            "try again later or give more time with --timeout."
        )
    if name == "SQLITE_READONLY_ROLLBACK":
        # A hot journal: a writer died mid-transaction. Only a read-write open rolls it back.
        return OmegaDbError(
            f"{path} holds an unfinished write from a process that stopped ({path.name}-journal); "
            "OMEGA or `omega-db migrate` rolls it back when it next opens the file: do that, then try again."
        )
    if name == "SQLITE_READONLY_DIRECTORY":
        # Even a read of a WAL database must create its -shm file when OMEGA is not running.
        return BadDatabaseError(
            f"{path} cannot be opened: its folder is read-only and SQLite must create a file beside it "
            f"({path.name}-shm for a WAL database, or a journal); make the folder writable for this user."
        )
    if name.startswith(_READONLY_PREFIX) and (write_version(path) or 0) > 2:
        return BadDatabaseError(
            f"{path} cannot be written: its header says a file format SQLite only reads (write version "
            f"{write_version(path)}), which a damaged header or a newer SQLite makes; restore it from a backup."
        )
    if name.startswith(_READONLY_PREFIX) or "readonly database" in text:
        return BadDatabaseError(
            f"{path} cannot be written (read-only file or folder); check its permissions."
        )
    if name == "SQLITE_NOTADB" or "file is not a database" in text:
        return BadDatabaseError(f"{path} is not a SQLite database; check the path.")
    if _UNKNOWN_FORMAT in text:
        return BadDatabaseError(
            f"{path} cannot be read: its header names a file format SQLite does not know, which a damaged "
            "header or a newer SQLite makes; restore it from a backup."
        )
    if name in _NOT_A_DB or "malformed" in text:
        return BadDatabaseError(
            f"{path} is damaged ({text}); restore it from a backup, or run `omega-db verify` for details."
        )
    if name == "SQLITE_FULL" or "database or disk is full" in text:
        return OmegaDbError(f"no room to write {path} (disk full or file size limit); free some space and try again.")
    if (name == "SQLITE_CANTOPEN" or "unable to open" in text) and os.path.lexists(f"{path.resolve()}-wal") \
            and not os.access(path.resolve().parent, os.W_OK):
        # The -wal may hold commits the file lacks, so it cannot be read immutable (see readonly_mode).
        return BadDatabaseError(
            f"{path} cannot be read: its {path.name}-wal needs a {path.name}-shm file beside it, which this "
            "user cannot create in that read-only folder; make the folder writable for this user, or run "
            "omega-db as the user OMEGA runs as."
        )
    if name == "SQLITE_CANTOPEN" or "unable to open" in text:
        return BadDatabaseError(f"{path} cannot be opened; check that it exists and its permissions.")
    if name == "SQLITE_PERM" or name == "SQLITE_AUTH":
        return BadDatabaseError(f"{path} cannot be accessed (permission denied); check its permissions.")
    return OmegaDbError(f"SQLite failed on {path}: {text}.")


def about_the_file(exc: sqlite3.Error, path: Path) -> OmegaDbError | None:
    """The error when exc is about the file itself (locked, read-only, damaged, unreachable), else None.

    None means a statement failed: the caller knows what was rolled back and says so.
    """
    error = error_for(exc, path)
    return error if isinstance(error, (BusyError, BadDatabaseError)) else None


@contextlib.contextmanager
def translate_errors(path: Path) -> Iterator[None]:
    """Turn any sqlite3 error raised inside into the matching OmegaDbError."""
    try:
        yield
    except sqlite3.Error as exc:
        raise error_for(exc, path) from exc
    except UnicodeDecodeError as exc:  # a message met while fetching rows (Connection converts the others)
        error = readable(exc)
        raise error_for(error, path) from error


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE (the write lock up front) ... COMMIT, or ROLLBACK on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def object_exists(conn: sqlite3.Connection, kind: str, name: str) -> bool:
    """True if the main schema holds a table, index or trigger (kind) of that name."""
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?", (kind, name)).fetchone()
    return row is not None


def table_exists(conn: sqlite3.Connection, table: str) -> bool:
    """True if the main schema holds a table (or virtual table) of that name."""
    return object_exists(conn, "table", table)


def table_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    """The column names of table, in order (empty if it does not exist)."""
    return [row[1] for row in conn.execute("SELECT * FROM pragma_table_info(?)", (table,))]
