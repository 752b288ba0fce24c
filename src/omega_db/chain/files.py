"""The migration chain as data: the shipped SQL files, OMEGA's bookkeeping table, its bootstrap rule."""

from __future__ import annotations

import functools
import importlib
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omega_db.ground import sql
from omega_db.ground.errors import BadArgumentError

# OMEGA's bookkeeping table, exactly as OMEGA creates it (no extra columns).
MIGRATIONS_TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS _migrations ("
    "name TEXT PRIMARY KEY, "
    "applied_at TEXT NOT NULL DEFAULT (datetime('now')))"
)
# OMEGA's bootstrap rule: a database from before migration tracking.
BOOTSTRAP_NAMES = ("001_init", "002_audit_log", "003_memory_enhancement")

# The schema states OMEGA's releases leave (omega-schema.md): v0.1.0 shipped 001-007, every
# release from v0.2.0 to v1.3.0 ships 001-013. Any other state is one that only OMEGA's
# development history (or a migrate --to) passes through.
RELEASES = {
    "007_task_type": "v0.1.0",
    "013_multi_lessons": "v0.2.0 to v1.3.0",
}

_NAME = re.compile(r"^(\d{3})_[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class Migration:
    """One migration: the SQL file's stem is its identity, its text the whole change."""

    name: str
    sql: str

    @property
    def number(self) -> str:
        """The three-digit prefix, e.g. "011"."""
        return self.name[:3]

    @functools.cached_property
    def statements(self) -> tuple[str, ...]:
        """The file's statements, one each, trigger bodies kept whole."""
        return tuple(sql.split_statements(self.sql))

    def execute(self, conn: sqlite3.Connection) -> None:
        """Run every statement on conn, in order (the caller owns the transaction).

        A copy of a whole table by column name runs as SQLite's transfer copy when
        the columns allow it, and every copy with a larger page cache (see transfer):
        the same rows, much faster.
        """
        from omega_db.chain import transfer  # only migrate runs SQL: a listing does not pay for it

        for statement in self.statements:
            copy = transfer.parse(statement)
            if copy is not None:
                with transfer.roomy_cache(conn):
                    transfer.run(conn, copy)
            elif transfer.is_copy(statement):
                with transfer.roomy_cache(conn):
                    conn.execute(statement)
            else:
                conn.execute(statement)


def discover(folder: Path | None = None) -> tuple[Migration, ...]:
    """The migrations in name order: the shipped ones, or the *.sql files of folder."""
    if folder is None:
        return _shipped()
    return _read(Path(folder).iterdir())


@functools.cache
def _shipped() -> tuple[Migration, ...]:
    # Read once per process: the files are part of the installed package, a folder (pip
    # installs no zip). Found from the package itself: importlib.resources, for a zip we
    # never have, costs every command about 5 ms of imports.
    package = importlib.import_module("omega_db.migrations")  # the folder migrations/ (pyproject's package-dir)
    assert package.__file__ is not None  # a regular package: the folder has its __init__.py
    return _read(Path(package.__file__).parent.iterdir())


def _read(files: Iterable[Any]) -> tuple[Migration, ...]:
    found = []
    for entry in files:
        if not entry.name.endswith(".sql"):
            continue
        stem = entry.name[: -len(".sql")]
        if _NAME.match(stem):
            found.append(Migration(stem, entry.read_text(encoding="utf-8")))
    return tuple(sorted(found, key=lambda m: m.name))


def releases(current: str | None) -> str | None:
    """The OMEGA releases whose schema a database at `current` has ("v0.2.0 to v1.3.0"), or None."""
    return RELEASES.get(current or "")


def describe_version(current: str | None) -> str:
    """A schema version in words: `013_multi_lessons — OMEGA v0.2.0 to v1.3.0`."""
    if current is None:
        return "000 (no migration applied)"
    found = releases(current)
    if found:
        return f"{current} — OMEGA {found}"
    if current not in {m.name for m in discover()}:
        return f"{current} — written by an OMEGA newer than v1.3.0"
    return f"{current} — a development state (no OMEGA release stops here)"


def resolve_target(known: Iterable[Migration], to: str | None) -> str | None:
    """The full name --to designates (a name or its number); BadArgumentError if unknown."""
    if to is None:
        return None
    names = [m.name for m in known]
    wanted = to.strip()
    if wanted in names:
        return wanted
    if wanted.isdigit():
        number = wanted.zfill(3)
        for name in names:
            if name[:3] == number:
                return name
    raise BadArgumentError(
        f"--to {to!r} is not a known migration; use one of {names[0]} … {names[-1]} or its number."
    )
