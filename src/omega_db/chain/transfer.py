"""A table's rows copied into its rebuilt form by column name, with SQLite's transfer copy when safe.

OMEGA's 013 copies with `INSERT INTO lessons_v2 SELECT * FROM lessons`:
SQLite then moves each stored record as it is, without decoding it (its
"transfer optimisation"), keeping the rowids, but by position, which scrambles
a table whose columns are in another order. omega-db's files copy by name,
`INSERT INTO t (rowid, a, b) SELECT rowid, a, b FROM s`, which SQLite runs row
by row, decoding and re-encoding every value. When s has exactly t's columns
in t's order the two copies are the same, and the `SELECT *` one is run.

Any whole-table copy (`INSERT INTO t ... SELECT ... FROM s`) also runs with a
larger page cache: filling t's UNIQUE indexes in s's order touches their pages
at random, and SQLite's default 2 MiB cache rereads them from the file again and
again (011's copy of 200,000 lessons: about 0.48 s with it, 0.26 s with 16 MiB).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
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


COPY_CACHE_KIB = 16 * 1024  # the page cache while a copy runs; the connection's own is put back after


def is_copy(statement: str) -> bool:
    """True if the statement copies rows from a table: `INSERT INTO t ... SELECT ... FROM s`."""
    words = sql.tokens(statement)
    return words[:2] == ["insert", "into"] and "select" in words and "from" in words


@contextlib.contextmanager
def roomy_cache(conn: sqlite3.Connection) -> Iterator[None]:
    """At least COPY_CACHE_KIB of page cache inside, the connection's own setting again after.

    Only memory: what is written, when it is journalled and when it commits are the same.
    """
    (before,) = conn.execute("PRAGMA cache_size").fetchone()
    (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    kib = -int(before) if int(before) < 0 else int(before) * int(page_size) // 1024
    if kib >= COPY_CACHE_KIB:
        yield
        return
    conn.execute(f"PRAGMA cache_size = -{COPY_CACHE_KIB}")
    try:
        yield
    finally:
        # Put back even when the copy failed; a connection too broken for that has its own error to tell.
        with contextlib.suppress(sqlite3.Error):
            conn.execute(f"PRAGMA cache_size = {int(before)}")


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
    # Two subqueries, not `SELECT min(rowid), max(rowid)`: SQLite answers a lone min() or max()
    # of the rowid from one end of the table, but scans every row for the pair.
    return tuple(conn.execute(f"SELECT (SELECT min(rowid) FROM {table}), (SELECT max(rowid) FROM {table})").fetchone())
