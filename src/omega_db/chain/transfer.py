"""A table's rows copied into its rebuilt form by column name, with SQLite's transfer copy when safe.

OMEGA's 013 copies with `INSERT INTO lessons_v2 SELECT * FROM lessons`:
SQLite then moves each stored record as it is, without decoding it (its
"transfer optimisation"), keeping the rowids, but by position, which scrambles
a table whose columns are in another order. omega-db's files copy by name,
`INSERT INTO t (rowid, a, b) SELECT rowid, a, b FROM s`, which SQLite runs row
by row, decoding and re-encoding every value. When s has exactly t's columns
in t's order the two copies are the same, and the `SELECT *` one is run.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from omega_db.ground import sql
from omega_db.ground.sql import quote


@dataclass(frozen=True)
class Copy:
    """`INSERT INTO target (rowid, columns) SELECT rowid, columns FROM source`."""

    target: str
    source: str
    columns: tuple[str, ...]  # folded to lower case, as SQLite compares names
    statement: str


def parse(statement: str) -> Copy | None:
    """The by-name copy a statement is, or None (any other statement, or a copy that moves a column)."""
    words = [w for w in sql.tokens(statement) if w != ";"]
    if len(words) < 4 or words[:2] != ["insert", "into"] or words[3] != "(" or ")" not in words:
        return None
    listed = words[4 : words.index(")")]
    columns = tuple(listed[::2])
    target, source = words[2], words[-1]
    if (
        words != ["insert", "into", target, "(", *listed, ")", "select", *listed, "from", source]
        or listed[1::2] != [","] * (len(columns) - 1)
        or columns[:1] != ("rowid",)
    ):
        return None
    return Copy(target, source, columns[1:], statement)


def run(conn: sqlite3.Connection, copy: Copy) -> bool:
    """Carry out the copy (into an empty target); True if it was done with `SELECT *`.

    The columns are compared first, in the caller's transaction: names, declared
    types, NOT NULL, defaults, primary key, in order. SQLite may still refuse the
    transfer for what no PRAGMA shows (a column's COLLATE): its `SELECT *` then
    numbers the rows anew, so the rowids are checked after the copy, and on a
    difference the copy is done again by name.
    """
    target, source = quote(copy.target), quote(copy.source)
    columns = _columns(conn, copy.target)
    if columns == _columns(conn, copy.source) and copy.columns == tuple(str(c[1]).lower() for c in columns):
        conn.execute(f"INSERT INTO {target} SELECT * FROM {source}")
        if _rowid_span(conn, target) == _rowid_span(conn, source):
            return True
        conn.execute(f"DELETE FROM {target}")
    conn.execute(copy.statement)
    return False


def _columns(conn: sqlite3.Connection, table: str) -> list[tuple[object, ...]]:
    return list(conn.execute(f"PRAGMA table_xinfo({quote(table)})"))


def _rowid_span(conn: sqlite3.Connection, table: str) -> tuple[object, ...]:
    # A renumbering copy gives 1..n: the same smallest and largest rowid means the same rowids.
    return tuple(conn.execute(f"SELECT min(rowid), max(rowid) FROM {table}").fetchone())
