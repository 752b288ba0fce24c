"""The fuzz campaign's parts: damaged copies of populated databases, every command, the contract.

A case is one damaged file, made from a seed alone (so any case can be replayed): a populated
database (013 mostly, also in WAL mode, and 011 and 010 where migrate has work to do) damaged
in one of the ways disks, copies and crashes damage files. test_fuzz.py runs every command on
it and checks what SPEC.md promises ("A damaged file is an answer, not a crash").
"""

from __future__ import annotations

import _thread
import contextlib
import csv
import faulthandler
import hashlib
import io
import json
import random
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from omega_db.chain import files
from omega_db.cli import app
from tests import helpers

CASES_ENV = "OMEGA_DB_FUZZ_CASES"  # how many damaged files (default DEFAULT_CASES)
SEED_ENV = "OMEGA_DB_FUZZ_SEED"  # the first case's seed (default 0): a long run can be split
DEFAULT_CASES = 10
KINDS = ("bytes", "truncate", "zero-page", "copy-page", "header")
BASES = ("013", "013", "013-wal", "011", "010")  # drawn at random: 013 twice as often
TIMEOUT = 2  # --timeout given to every command: nothing else holds the file
HANG = TIMEOUT + 15  # seconds after which a command counts as hung (--timeout plus a few)
HANG_LOG = Path(tempfile.gettempdir()) / "omega-db-fuzz-hang.txt"  # where a hard hang's tracebacks go
GOOD_BACKUP = "memory.db.bak-20260101T000000Z"
BAD_BACKUP = "memory.db.bak-20260102T000000Z"
COMPANIONS = ("-wal", "-shm")  # a read of a WAL-mode file may leave these (empty) beside it


# --- the files -------------------------------------------------------------------------------


def build_base(path: Path, base: str) -> Path:
    """A populated database: 40 rows in every table, some lessons and outcomes in project 'alpha'."""
    to = None if base.startswith("013") else base
    helpers.build(path, to=to)
    helpers.seed(path, n=40)
    conn = helpers.connect(path)
    try:
        if base != "010":
            conn.execute("UPDATE lessons SET project = 'alpha' WHERE rowid % 3 = 0")
            conn.execute("UPDATE outcomes SET project = 'alpha', lesson = lesson || ' — café 日本語 🚀' "
                         "WHERE rowid % 4 = 0")
        if base.endswith("wal"):
            assert conn.execute("PRAGMA journal_mode = wal").fetchone()[0] == "wal"
    finally:
        conn.close()
    return path


@dataclass(frozen=True)
class Case:
    """One damaged file, all of it decided by its seed."""

    seed: int
    base: str
    kind: str
    data: bytes  # the damaged file's bytes
    what: str  # what was done, in words

    def __str__(self) -> str:
        return f"case seed={self.seed} ({self.base}, {self.what})"


def page_size(data: bytes) -> int:
    """The page size a database header gives (bytes 16-17; 1 means 65536), 4096 if unreadable."""
    if len(data) < 18:
        return 4096
    size = int.from_bytes(data[16:18], "big")
    return 65536 if size == 1 else size if size >= 512 and size & (size - 1) == 0 else 4096


def damage(data: bytes, rng: random.Random, kind: str) -> tuple[bytes, str]:
    """The file's bytes damaged one way, and what was done."""
    out = bytearray(data)
    size = page_size(data)
    pages = max(1, len(data) // size)
    if kind == "bytes":  # a bad disk: 1 to 64 bytes, scattered or in one burst
        n = rng.randint(1, 64)
        if rng.random() < 0.5:
            spots = [rng.randrange(len(out)) for _ in range(n)]
            what = f"{n} random bytes scattered"
        else:
            start = rng.randrange(len(out))
            spots = [min(start + i, len(out) - 1) for i in range(n)]
            what = f"{n} random bytes from offset {start}"
        for spot in spots:
            out[spot] = rng.randrange(256)
        return bytes(out), what
    if kind == "truncate":  # a copy taken mid-write, a full disk
        cut = rng.choice([rng.randrange(len(data)), rng.randrange(pages) * size, rng.randrange(200)])
        return bytes(out[:cut]), f"cut to {cut} bytes"
    if kind == "zero-page":  # a page never written
        page = rng.choice([0, rng.randrange(pages)])
        out[page * size:(page + 1) * size] = bytes(size)
        return bytes(out), f"page {page + 1} zeroed"
    if kind == "copy-page":  # a write that landed on the wrong page
        source, target = rng.randrange(pages), rng.randrange(pages)
        out[target * size:(target + 1) * size] = data[source * size:(source + 1) * size]
        return bytes(out), f"page {source + 1} copied over page {target + 1}"
    if kind == "header":  # the first 100 bytes: page size, encoding, journal mode, counters
        n = rng.randint(1, 6)
        spots = sorted(rng.randrange(100) for _ in range(n))
        for spot in spots:
            out[spot] = rng.randrange(256)
        return bytes(out), f"header bytes {spots} overwritten"
    raise ValueError(kind)


def make_case(seed: int, bases: dict[str, bytes]) -> Case:
    """The damaged file of one seed (bases: each base database's bytes)."""
    rng = random.Random(seed)
    base, kind = rng.choice(BASES), rng.choice(KINDS)
    data, what = damage(bases[base], rng, kind)
    return Case(seed, base, kind, data, what)


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file in folder: its content hash and mtime."""
    found = {}
    for path in sorted(folder.iterdir()):
        found[path.name] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    return found


def unchanged(before: dict[str, tuple[str, int]], after: dict[str, tuple[str, int]]) -> list[str]:
    """What changed between two snapshots of a folder.

    A read of a WAL-mode file (as damage to the header can make it) opens the -wal and -shm
    files beside it, creating them if need be: the -shm is shared memory, the -wal must stay empty.
    """
    empty = hashlib.sha256(b"").hexdigest()
    changes = []
    for name in sorted(set(before) | set(after)):
        companion = name.endswith(COMPANIONS) and name.rsplit("-", 1)[0] in before
        if companion:
            if name.endswith("-wal") and after.get(name, (empty, 0))[0] != empty:
                changes.append(f"{name} holds writes")
        elif name not in after:
            changes.append(f"{name} disappeared")
        elif name not in before:
            changes.append(f"{name} appeared")
        elif after[name] != before[name]:
            changes.append(f"{name} changed")
    return changes


def lenient(path: Path) -> sqlite3.Connection:
    """A read-only connection that reads damaged text as U+FFFD (the test's own, not omega-db's)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.text_factory = lambda data: data.decode("utf-8", "replace")
    return conn


def recorded(path: Path) -> list[str] | None:
    """The migrations a file records (none in an empty database), None if they cannot be read."""
    try:
        conn = lenient(path)
        try:
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = '_migrations'").fetchone():
                return []
            # Exactly as omega-db reads it (history.py): in a damaged file the table and its index
            # can disagree, and a query that needs only the name reads the index.
            query = "SELECT coalesce(CAST(name AS TEXT), ''), CAST(applied_at AS TEXT) FROM _migrations ORDER BY 1"
            return [name for name, _ in conn.execute(query)]
        finally:
            conn.close()
    except (sqlite3.Error, UnicodeDecodeError):  # a message quoting damaged bytes
        return None


def quick_check(path: Path) -> bool:
    """True if SQLite's quick_check passes on the file."""
    try:
        conn = lenient(path)
        try:
            return [r[0] for r in conn.execute("PRAGMA quick_check")] == ["ok"]
        finally:
            conn.close()
    except (sqlite3.Error, UnicodeDecodeError):
        return False


def chain_names() -> list[str]:
    """Every migration omega-db knows, in order."""
    return [m.name for m in files.discover()]


# --- running a command and judging its answer --------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What one command did: its arguments, exit code, and its two streams as bytes."""

    args: tuple[str, ...]
    code: int
    stdout: bytes
    stderr: bytes
    escaped: str = ""  # an exception that escaped the CLI, if one did
    hung: bool = False  # still running past --timeout plus a few seconds

    def __str__(self) -> str:
        err = self.stderr.decode("utf-8", "replace").strip()
        return f"omega-db {' '.join(self.args)} -> exit {self.code}; stderr: {err[:400]!r}"


@contextlib.contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    """A command still running after `seconds` is interrupted (KeyboardInterrupt, which the CLI
    answers with exit 130: a break); one stuck in C even then stops the run, its threads'
    tracebacks in HANG_LOG (pytest captures stderr, and a hang must never pass silently)."""
    timer = threading.Timer(seconds, _thread.interrupt_main)
    timer.start()
    with HANG_LOG.open("w") as log:
        faulthandler.dump_traceback_later(seconds * 4, exit=True, file=log)
        try:
            yield
        finally:
            faulthandler.cancel_dump_traceback_later()
            timer.cancel()


def run(runner: CliRunner, *args: str) -> Answer:
    """omega-db ARGS in this process (Typer's runner), watched for a hang."""
    started = time.monotonic()
    with watchdog(HANG):
        result = runner.invoke(app, list(args))
    escaped = ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        escaped = repr(result.exception)
    hung = time.monotonic() - started > HANG
    return Answer(tuple(args), result.exit_code, result.stdout_bytes, result.stderr_bytes, escaped, hung)


def run_process(*args: str) -> Answer:
    """omega-db ARGS as a real process: a hang is one past --timeout plus a generous start-up."""
    with helpers.start_cli(*args, text=False) as proc:
        try:
            out, err = proc.communicate(timeout=HANG + 15)  # start-up: imports, a cold cache
        except Exception:
            proc.kill()
            proc.communicate()
            return Answer(tuple(args), -1, b"", b"", hung=True)
    return Answer(tuple(args), proc.returncode, out, err)


def breaks(answer: Answer, fmt: str) -> list[str]:
    """How an answer breaks SPEC's promise for damaged files (empty: it keeps it)."""
    found = []
    if answer.hung:
        found.append(f"a hang: still running after {HANG} s (--timeout {TIMEOUT})")
    if answer.escaped:
        found.append(f"an exception escaped the CLI: {answer.escaped}")
    if answer.code not in (0, 1, 2):
        found.append(f"exit {answer.code}")
    err = answer.stderr.decode("utf-8", "replace")
    out = answer.stdout.decode("utf-8", "replace")
    if "Traceback" in err + out:
        found.append("a traceback")
    if "unexpected" in err:
        found.append("an unexpected error")
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("omega-db: error:")]
    if len(errors) > 1:
        found.append("more than one error sentence")
    if errors and lines[-1] != errors[0]:
        found.append("something after the error sentence")
    strays = [line for line in lines if not line.startswith("omega-db: ")]
    if strays:
        found.append(f"stderr lines that are no note or error: {strays[:2]!r}")
    if answer.code == 0:
        found += _format_breaks(answer.stdout, fmt)
    return found


def _format_breaks(stdout: bytes, fmt: str) -> list[str]:
    try:
        text = stdout.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [f"stdout is not UTF-8 ({exc})"]
    if fmt == "json":
        try:
            json.loads(text)
        except ValueError as exc:
            return [f"stdout is not JSON ({exc})"]
    elif fmt == "csv":
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        except csv.Error as exc:
            return [f"stdout is not CSV ({exc})"]
        if not rows or any(len(row) != len(rows[0]) for row in rows):
            return ["stdout is CSV with rows of different lengths"]
    return []


def fmt_of(args: tuple[str, ...] | list[str]) -> str:
    """The output format a command line asks for."""
    args = list(args)
    return args[args.index("-f") + 1] if "-f" in args else "table"


# --- a value of the wrong type where text belongs ------------------------------------------------

# What a damaged record can hold where OMEGA writes text (SQL literals). Not an infinite REAL:
# SQLite before 3.43 writes it into JSON as Inf, which no JSON reader takes (see the README).
ODD_VALUES = {
    "blob": "x'ff00fe'",  # bytes that are not UTF-8, NUL among them
    "text-blob": "x'616c706861'",  # a BLOB whose bytes read as text ("alpha")
    "integer": "42",
    "real": "2.5",
    "null": "NULL",  # NOT NULL is only a promise: a damaged record can break it
}


def plant_value(path: Path, table: str, column: str, where: str, value: str) -> None:
    """Store value (SQL) in table.column where `where`, past NOT NULL and CHECK, as damage would."""
    conn = helpers.connect(path)
    try:
        (create,) = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                     (create.replace("NOT NULL", ""), table))
    finally:
        conn.close()
    conn = helpers.connect(path)
    try:
        conn.execute("PRAGMA ignore_check_constraints = ON")
        conn.execute(f"UPDATE {table} SET {column} = {value} WHERE {where}")
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (create, table))
    finally:
        conn.close()
