"""A database's structure as plain data, and the structure the migration files produce.

Structure is read with PRAGMAs (table_xinfo, index_list, index_xinfo,
foreign_key_list, table_list), never by comparing CREATE text: omega-db's 003
rebuilds `conversations` where OMEGA's used ALTER, so the text differs while
the structure is the same. CHECK constraints and trigger bodies exist only as
text: they are kept normalised (whitespace, case and comments) for comparing.
See compare.py for the comparison.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

from omega_db.chain import files
from omega_db.chain.files import Migration
from omega_db.ground import sql
from omega_db.ground.sql import normalise, quote


@dataclass(frozen=True)
class Column:
    """One column as PRAGMA table_xinfo reports it."""

    name: str
    type: str
    notnull: bool
    default: str | None
    pk: int
    hidden: int = 0

    def key(self) -> tuple[object, ...]:
        """What two columns must share to be the same column."""
        default = None if self.default is None else normalise(self.default)
        return (self.name.lower(), self.type.upper(), self.notnull, default, self.pk, self.hidden)

    def definition(self) -> str:
        """The column's declaration after its name: TEXT NOT NULL DEFAULT ''."""
        parts = [self.type or "(no type)"]
        if self.notnull:
            parts.append("NOT NULL")
        if self.default is not None:
            parts.append(f"DEFAULT {self.default}")
        if self.pk:
            parts.append("PRIMARY KEY")
        return " ".join(parts)


@dataclass(frozen=True)
class CheckConstraint:
    """A CHECK constraint: compared by its normalised text, shown as written."""

    norm: str
    text: str = field(compare=False, hash=False)


@dataclass(frozen=True)
class ForeignKey:
    """One FOREIGN KEY constraint of a table."""

    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    on_update: str
    on_delete: str

    def describe(self) -> str:
        """FOREIGN KEY (a) REFERENCES t (b)."""
        target = f"{self.parent} ({', '.join(self.parent_columns)})" if any(self.parent_columns) else self.parent
        return f"FOREIGN KEY ({', '.join(self.columns)}) REFERENCES {target}"


@dataclass(frozen=True)
class Table:
    """A table (or virtual table) and the constraints that live in it."""

    name: str
    columns: tuple[Column, ...]
    uniques: frozenset[tuple[str, ...]] = frozenset()
    checks: frozenset[CheckConstraint] = frozenset()
    foreign_keys: frozenset[ForeignKey] = frozenset()
    without_rowid: bool = False
    virtual: str = ""  # normalised `USING module(args)` of a virtual table
    sql: str = field(default="", compare=False)


@dataclass(frozen=True)
class Index:
    """An index created with CREATE INDEX (UNIQUE constraints are Table.uniques)."""

    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool
    partial: str  # normalised WHERE clause, '' for a full index

    def describe(self) -> str:
        """index name on table (columns)."""
        kind = "unique index" if self.unique else "index"
        return f"{kind} {self.name} on {self.table} ({', '.join(self.columns)})"


@dataclass(frozen=True)
class Trigger:
    """A trigger: compared by its normalised text."""

    name: str
    table: str
    norm: str
    sql: str = field(default="", compare=False)


@dataclass(frozen=True)
class Schema:
    """Everything structural in a database's main schema, minus SQLite's and FTS5's own tables."""

    tables: dict[str, Table]
    indexes: dict[str, Index]
    triggers: dict[str, Trigger]
    shadow: frozenset[str] = frozenset()  # FTS5's shadow tables present

    def table(self, name: str) -> Table | None:
        """The table of that name (any case), or None."""
        for key, table in self.tables.items():
            if key.lower() == name.lower():
                return table
        return None


def read(conn: sqlite3.Connection) -> Schema:
    """Read the main schema of a connection into plain data (reads only the schema, never rows)."""
    kinds = {row[1]: row[2] for row in conn.execute("PRAGMA main.table_list") if row[0] == "main"}
    master = {
        name: (kind, tbl, text or "")
        for kind, name, tbl, text in conn.execute(  # CAST: what a damaged file holds as a BLOB is still text
            "SELECT CAST(type AS TEXT), CAST(name AS TEXT), CAST(tbl_name AS TEXT), CAST(sql AS TEXT) "
            "FROM main.sqlite_master"
        )
    }
    tables: dict[str, Table] = {}
    indexes: dict[str, Index] = {}
    for name, kind in kinds.items():
        if name.startswith("sqlite_") or kind not in ("table", "virtual"):
            continue
        create_sql = master.get(name, ("", "", ""))[2]
        tables[name] = _read_table(conn, name, create_sql, virtual=kind == "virtual")
        if kind == "table":
            for _, index_name, unique, origin, partial in conn.execute(f"PRAGMA main.index_list({quote(name)})"):
                if origin != "c":
                    continue
                where = ""
                if partial:
                    text = master.get(index_name, ("", "", ""))[2]
                    parts = re.split(r"\bwhere\b", text, maxsplit=1, flags=re.IGNORECASE)
                    where = normalise(parts[1]) if len(parts) == 2 else "?"
                indexes[index_name] = Index(index_name, name, _index_columns(conn, index_name), bool(unique), where)
    triggers = {
        name: Trigger(name, tbl, normalise(text), text)
        for name, (kind, tbl, text) in master.items()
        if kind == "trigger"
    }
    shadow = frozenset(name for name, kind in kinds.items() if kind == "shadow")
    return Schema(tables, indexes, triggers, shadow)


def _read_table(conn: sqlite3.Connection, name: str, create_sql: str, *, virtual: bool) -> Table:
    if virtual:
        using = re.split(r"\busing\b", create_sql, maxsplit=1, flags=re.IGNORECASE)
        # FTS5 takes content='messages' and content=messages alike: compare without the quotes.
        declaration = " ".join(t.strip("'") for t in sql.tokens(using[1] if len(using) == 2 else create_sql))
        try:
            columns = tuple(_columns(conn, name))
        except sqlite3.Error:  # the module is not compiled into this SQLite
            columns = ()
        return Table(name, columns, virtual=declaration, sql=create_sql)
    uniques = frozenset(
        _index_columns(conn, index_name)
        for _, index_name, _, origin, _ in conn.execute(f"PRAGMA main.index_list({quote(name)})")
        if origin == "u"
    )
    groups: dict[int, list[tuple[str, str, str, str, str]]] = {}
    for fk_id, _, parent, child_col, parent_col, on_update, on_delete, _ in conn.execute(
        f"PRAGMA main.foreign_key_list({quote(name)})"
    ):
        groups.setdefault(fk_id, []).append((child_col, parent_col or "", parent, on_update, on_delete))
    fks = frozenset(
        ForeignKey(tuple(r[0] for r in rows), rows[0][2], tuple(r[1] for r in rows), rows[0][3], rows[0][4])
        for rows in groups.values()
    )
    checks = frozenset(CheckConstraint(normalise(text), text) for text in sql.checks_in(create_sql))
    without_rowid = bool(re.search(r"\)\s*without\s+rowid\s*$", create_sql, re.IGNORECASE))
    return Table(name, tuple(_columns(conn, name)), uniques, checks, fks, without_rowid, sql=create_sql)


def _columns(conn: sqlite3.Connection, table: str) -> Iterable[Column]:
    for _, name, type_, notnull, default, pk, hidden in conn.execute(f"PRAGMA main.table_xinfo({quote(table)})"):
        yield Column(name, type_ or "", bool(notnull), default, pk, hidden)


def _index_columns(conn: sqlite3.Connection, index: str) -> tuple[str, ...]:
    columns = []
    for _, cid, name, desc, coll, key in conn.execute(f"PRAGMA main.index_xinfo({quote(index)})"):
        if not key:
            continue
        text = name if cid >= 0 else ("rowid" if cid == -1 else "<expression>")
        if coll and coll.upper() != "BINARY":
            text += f" COLLATE {coll.upper()}"
        if desc:
            text += " DESC"
        columns.append(text)
    return tuple(columns)


def build(migrations: Iterable[Migration]) -> sqlite3.Connection:
    """An in-memory database made by applying the migration files, with OMEGA's _migrations table."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute(files.MIGRATIONS_TABLE_SQL)
    for migration in migrations:
        migration.execute(conn)
    return conn


_EXPECTED: dict[tuple[Migration, ...], Schema] = {}


def expected(migrations: tuple[Migration, ...]) -> Schema:
    """The structure the given migrations produce, read from a fresh in-memory database.

    Built once per chain, migration by migration: every prefix is kept too, as
    verify and repair ask for the structure before and after each migration.
    """
    if migrations not in _EXPECTED:
        conn = build(())
        try:
            _EXPECTED.setdefault((), read(conn))
            for i, migration in enumerate(migrations, start=1):
                migration.execute(conn)
                if migrations[:i] not in _EXPECTED:  # reading is the costly part: once per prefix
                    _EXPECTED[migrations[:i]] = read(conn)
        finally:
            conn.close()
    return _EXPECTED[migrations]
