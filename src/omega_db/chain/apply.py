"""The one transaction that applies a migration with its `_migrations` row, and its checks.

Used by both a plain migrate and a repair: the write lock is taken first
(BEGIN IMMEDIATE), the change and its record commit together after a
foreign-key check of what changed, or nothing does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from omega_db.chain import files
from omega_db.ground import db, sql
from omega_db.ground.errors import MigrationFailedError, OmegaDbError

TableState = dict[str, tuple[str, int]]  # table name -> (CREATE text, root page)


@dataclass(frozen=True)
class Committed:
    """The tables a committed migration changed; `rebuilt`: those it wrote anew (a new root page)."""

    touched: frozenset[str]
    rebuilt: frozenset[str]


def table_state(conn: sqlite3.Connection) -> TableState:
    """Every table's CREATE text and root page: what changes when a table is altered or rebuilt."""
    return {
        name: (text or "", rootpage or 0)
        for name, text, rootpage in conn.execute(
            "SELECT CAST(name AS TEXT), CAST(sql AS TEXT), rootpage FROM sqlite_master WHERE type = 'table'"
        )
    }


def is_recorded(conn: sqlite3.Connection, name: str) -> bool:
    """True if _migrations holds name (the table must exist)."""
    return conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone() is not None


def apply(
    conn: sqlite3.Connection, name: str, change: Callable[[], None], *, bootstrap: bool = False,
    before_commit: Callable[[], object] | None = None,
) -> Committed | None:
    """Run change() and record migration `name`, in one transaction that takes the write lock first.

    With bootstrap, OMEGA's bootstrap names are recorded in the same transaction.
    before_commit() runs last before the COMMIT (migrate: the backup's check); if it raises, nothing commits.
    None: another process recorded `name` since the caller looked, so nothing was done.
    """
    conn.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction: set before BEGIN
    with db.transaction(conn):
        conn.execute(files.MIGRATIONS_TABLE_SQL)
        if bootstrap:
            conn.executemany(
                "INSERT OR IGNORE INTO _migrations (name) VALUES (?)", [(n,) for n in files.BOOTSTRAP_NAMES]
            )
        if is_recorded(conn, name):
            return None
        before = table_state(conn)
        change()
        conn.execute("INSERT INTO _migrations (name) VALUES (?)", (name,))
        after = table_state(conn)
        touched = {table for table, state in after.items() if before.get(table) != state}
        check_foreign_keys(conn, touched, name)
        if before_commit is not None:
            before_commit()
    rebuilt = {table for table in touched if table in before and before[table][1] != after[table][1]}
    return Committed(frozenset(touched), frozenset(rebuilt))


def check_foreign_keys(conn: sqlite3.Connection, touched: Iterable[str], migration: str) -> None:
    """PRAGMA foreign_key_check of the tables a migration touched and of their children."""
    tables = {n for n, (text, _) in table_state(conn).items() if not text.upper().startswith("CREATE VIRTUAL")}
    lowered = {t.lower() for t in touched}
    to_check = {t for t in tables if t.lower() in lowered}
    for name in tables:
        parents = {row[2].lower() for row in conn.execute(f"PRAGMA foreign_key_list({sql.quote(name)})")}
        if parents & lowered:
            to_check.add(name)
    for name in sorted(to_check):
        violation = conn.execute(f"PRAGMA foreign_key_check({sql.quote(name)})").fetchone()
        if violation:
            raise MigrationFailedError(
                f"migration {migration} would leave a foreign key broken "
                f"({violation[0]} row {violation[1]} -> {violation[2]}); it was rolled back."
            )


def quick_check(conn: sqlite3.Connection, tables: Iterable[str], path: Path) -> tuple[str, ...]:
    """PRAGMA quick_check of each table (and its indexes); OmegaDbError if one is damaged."""
    checked = []
    for table in sorted(tables):
        if not db.table_exists(conn, table):
            continue
        rows = [r[0] for r in conn.execute(f"PRAGMA quick_check({sql.quote(table)})")]
        if rows != ["ok"]:
            raise OmegaDbError(
                f"after migrating, the integrity check of {table} in {path} failed: {rows[0]}; "
                "restore the backup and run `omega-db verify`."
            )
        checked.append(table)
    return tuple(checked)
