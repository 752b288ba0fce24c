"""Half-applied migrations: recognise them, and complete them in one transaction.

OMEGA's own runner executes a migration file statement by statement and
records it afterwards, so a crash or an error in the middle leaves some of the
migration's effects in place and no `_migrations` row. Both the detection and
the repair are derived from the migration files, never from a second copy of
the schema:

- detection applies the files to an in-memory database and compares *facts*
  (tables, columns, indexes, constraints, triggers) before, during and after
  the next pending migration with the facts of the real file;
- the repair takes every table the migration touched back to the shape the
  recorded migrations give it (rows and the values of columns the migration
  had already added are kept aside), then runs the migration file itself,
  puts the kept values back and records it — all in one transaction.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from omega_db import compare, db, migrate, schema
from omega_db.errors import MigrationFailedError, OmegaDbError

_SUFFIX = "__omega_repair"


@dataclass(frozen=True)
class HalfApplied:
    """A migration whose effects are partly in the file although it is not recorded."""

    migration: migrate.Migration
    before: tuple[migrate.Migration, ...]  # the recorded chain it should follow
    present: tuple[str, ...]
    missing: tuple[str, ...]
    steps: tuple[str, ...]  # what the repair would do, in words
    blocker: str = ""  # why it cannot be repaired automatically, if it cannot
    transient: frozenset[compare.Fact] = frozenset()  # what exists only mid-way through the migration

    def describe(self) -> str:
        """What is there and what is not, in one sentence."""
        missing = ", ".join(self.missing) if self.missing else "nothing but its _migrations row"
        return (
            f"{self.migration.name} is half-applied (not recorded): present {', '.join(self.present)}; "
            f"missing {missing}"
        )

    def remedy(self) -> str:
        """What `migrate --repair` would do about it."""
        if self.blocker:
            return f"`omega-db migrate --repair` cannot complete it: {self.blocker}; restore a backup"
        return (
            "`omega-db migrate --repair` would back up the file, then in one transaction "
            + "; ".join(self.steps)
            + ", keeping every row"
        )


@dataclass(frozen=True)
class Repaired:
    """A half-applied migration that was completed and recorded."""

    name: str
    steps: tuple[str, ...]
    rebuilt: frozenset[str]


def _moves(migration: migrate.Migration) -> tuple[dict[str, str], set[str]]:
    """What the migration does with whole tables, read from its statements.

    Returns target -> the table it renames into it (lessons -> lessons_new), and
    the tables it drops without ever reading from them (003's first facts).
    """
    renames: dict[str, str] = {}
    dropped: set[str] = set()
    read: set[str] = set()
    for statement in migration.statements():
        words = schema.tokens(statement)
        if words[:2] == ["alter", "table"] and words[3:5] == ["rename", "to"]:
            renames[words[5]] = words[2]
        if words[:2] == ["drop", "table"]:
            dropped.add(words[4] if words[2:4] == ["if", "exists"] else words[2])
        read |= {words[i + 1] for i, word in enumerate(words[:-1]) if word == "from"}
    return renames, dropped - read


def _transient_facts(
    before: tuple[migrate.Migration, ...], migration: migrate.Migration
) -> set[compare.Fact]:
    """Facts that exist only between two statements of the migration (e.g. a lessons_new table)."""
    conn = schema.build(before)
    try:
        seen: set[compare.Fact] = set()
        for statement in migration.statements():
            conn.execute(statement)
            seen |= compare.facts(schema.read(conn))
        return seen
    finally:
        conn.close()


def _collapse(found: set[compare.Fact]) -> tuple[str, ...]:
    """Fact texts, without the columns and constraints of a table that is itself listed."""
    tables = {f.key for f in found if f.kind == "table"}
    kept = [
        f for f in found
        if f.kind in ("table", "index", "trigger") or re.split(r"[.(:]", f.key, maxsplit=1)[0] not in tables
    ]
    order = {"table": 0, "column": 1, "unique": 2, "check": 3, "foreign key": 4, "index": 5, "trigger": 6}
    return tuple(f.text for f in sorted(kept, key=lambda f: (order.get(f.kind, 9), f.key)))


def detect(conn: sqlite3.Connection, plan: migrate.Plan) -> HalfApplied | None:
    """The next pending migration if some of its effects are already in the file, else None."""
    if plan.newer or not plan.all_pending or not plan.recorded:
        # Nothing recorded: a database from before tracking (or a new one), not OMEGA's runner
        # stopping mid-way; 001's CREATE TABLE IF NOT EXISTS statements apply over what is there.
        return None
    nxt = plan.all_pending[0]
    before = tuple(m for m in plan.known if m.name < nxt.name)
    if any(m.name not in plan.recorded for m in before) or any(n > nxt.name for n in plan.recorded):
        return None  # a gap in the history: reported as such, not guessed at
    actual = schema.read(conn)
    real = compare.facts(actual)
    try:
        f_before = compare.facts(schema.expected(before))
        if real <= f_before:
            return None  # nothing beyond what the recorded migrations make (the usual case): fast
        f_after = compare.facts(schema.expected(before + (nxt,)))
        transient = _transient_facts(before, nxt) - f_before - f_after
    except sqlite3.Error:
        return None  # the file itself does not apply in memory: applying it for real will say why
    started = ((f_after - f_before) | transient) & real
    if not started:
        return None
    try:
        steps, blocker = tuple(step.text for step in _plan(conn, actual, before, nxt, transient)), ""
    except _Unrepairable as exc:
        steps, blocker = (), str(exc)
    present, missing = _collapse(started), _collapse(set(f_after - real))
    return HalfApplied(nxt, before, present, missing, steps, blocker, frozenset(transient))


class _Unrepairable(Exception):
    """The half-applied state holds something the repair would have to guess about."""


@dataclass(frozen=True)
class _Step:
    kind: str  # "rebuild", "create", "drop table", "drop index", "drop trigger", "run"
    name: str
    source: str = ""
    saved: tuple[str, ...] = ()  # columns whose values are kept aside and put back
    key: str = ""  # the primary key they are put back by
    text: str = ""


def _plan(
    conn: sqlite3.Connection,
    actual: schema.Schema,
    before: tuple[migrate.Migration, ...],
    nxt: migrate.Migration,
    transient: set[compare.Fact],
) -> list[_Step]:
    """The steps that take the file back to the recorded shape, then run the migration whole."""
    want = schema.expected(before)
    after = schema.expected(before + (nxt,))
    renames, discarded = _moves(nxt)
    version = before[-1].name if before else "000 (empty)"
    steps: list[_Step] = []
    sources: set[str] = set()
    for name, table in want.tables.items():
        if table.virtual or name == "_migrations":
            continue
        have = actual.table(name)
        source = name if have is not None else renames.get(name.lower(), "")
        if have is None and actual.table(source) is None:
            if name.lower() not in discarded:
                raise _Unrepairable(f"table {name} is missing and no table holds its rows")
            words = f"create {name} as at {version} ({nxt.name} replaces it)"
            steps.append(_Step("create", name, text=words))
            continue
        if have is not None and not [d for d in compare.compare(_only(want, name), _only(actual, name))]:
            continue
        src = actual.table(source)
        assert src is not None
        keep = {c.name.lower() for c in table.columns}
        target_after = after.table(name)
        later = {c.name.lower() for c in target_after.columns} if target_after else set()
        saved = tuple(c.name for c in src.columns if c.name.lower() not in keep and c.name.lower() in later)
        unknown = [c.name for c in src.columns if c.name.lower() not in keep | later]
        if unknown:
            raise _Unrepairable(
                f"{source} has column(s) {', '.join(unknown)} that neither the recorded migrations "
                f"nor {nxt.name} create, and rebuilding it would lose them"
            )
        pks = [c.name for c in src.columns if c.pk]
        if saved and len(pks) != 1:
            raise _Unrepairable(f"{source} has no one-column primary key to put {', '.join(saved)} back by")
        words = f"rebuild {name} as at {version}" + (f" from {source}" if source != name else "")
        steps.append(_Step("rebuild", name, source, saved, pks[0] if saved else "", words))
        sources.add(source.lower())
    known = {f.key for f in transient} | {f.key for f in compare.facts(after)}
    for name, table in actual.tables.items():
        ours = name.lower() in known or after.table(name) is not None  # the migration's own table
        if want.table(name) is not None or name.lower() in sources or not ours:
            continue  # kept, already used as a source, or not the migration's: left alone
        if not table.virtual:
            foreign = [c.name for c in table.columns if f"{name.lower()}.{c.name.lower()}" not in known]
            if (foreign or name.lower() not in renames.values()) and _has_rows(conn, name):
                raise _Unrepairable(f"{name} already holds rows that {nxt.name} would not keep")
        steps.append(_Step("drop table", name, text=f"drop the leftover {name}"))
    for name in actual.indexes:
        if name not in want.indexes and name in after.indexes:
            steps.append(_Step("drop index", name, text=f"drop the partial index {name}"))
    for name in actual.triggers:
        if name not in want.triggers and name in after.triggers:
            steps.append(_Step("drop trigger", name, text=f"drop the partial trigger {name}"))
    kept = [f"{step.name}.{column}" for step in steps for column in step.saved]
    put_back = f", put back the values already in {', '.join(kept)}" if kept else ""
    steps.append(_Step("run", nxt.name, text=f"run {nxt.name} whole{put_back} and record it"))
    return steps


def _has_rows(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute(f"SELECT 1 FROM {schema.quote(table)} LIMIT 1").fetchone() is not None


def _only(full: schema.Schema, table: str) -> schema.Schema:
    """A schema holding one table only, for comparing one table."""
    found = full.table(table)
    return schema.Schema({found.name: found} if found else {}, {}, {})


def repair(conn: sqlite3.Connection, path: Path, plan: migrate.Plan) -> Repaired | None:
    """Complete the half-applied next migration in one transaction; None if there is none (any more)."""
    conn.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction: set before BEGIN
    try:
        with db.transaction(conn):
            plan = migrate.inspect(conn, path, known=plan.known)
            half = detect(conn, plan)
            if half is None:
                return None
            if half.blocker:
                message = f"{path}: {half.describe()}; {half.remedy()}. Nothing was changed."
                raise MigrationFailedError(message)
            steps = _plan(conn, schema.read(conn), half.before, half.migration, half.transient)
            touched = _execute(conn, half, steps)
            after = schema.expected(half.before + (half.migration,))
            problems = [d.text for d in compare.compare(after, schema.read(conn)) if d.kind != "extra"]
            if problems:
                raise MigrationFailedError(
                    f"the repair of {half.migration.name} in {path} would not end in a clean migration "
                    f"({'; '.join(problems)}); it was rolled back and nothing changed."
                )
            touched |= {d.table for d in compare.compare(schema.expected(half.before), after)}
            migrate._check_foreign_keys(conn, touched, half.migration.name)
    except sqlite3.Error as exc:
        translated = db.error_for(exc, path)
        if type(translated) is not OmegaDbError:  # busy, read-only, damaged: say that
            raise translated from exc
        raise MigrationFailedError(
            f"the repair failed and was rolled back ({exc}); {path} is unchanged."
        ) from exc
    return Repaired(half.migration.name, half.steps, frozenset(touched))


def _execute(conn: sqlite3.Connection, half: HalfApplied, steps: list[_Step]) -> set[str]:
    mem = schema.build(half.before)
    try:
        master = {name: (kind, tbl, sql) for kind, name, tbl, sql in
                  mem.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL")}
    finally:
        mem.close()
    rebuilt: set[str] = set()
    saved: list[tuple[str, str, tuple[str, ...]]] = []
    want = schema.expected(half.before)
    for step in steps:
        if step.kind == "rebuild":
            if step.saved:
                _save(conn, step)
                saved.append((step.name, step.key, step.saved))
            _rebuild(conn, step, master, want)
            rebuilt.add(step.name)
        elif step.kind == "create":
            conn.execute(master[step.name][2])
        elif step.kind == "drop table":
            conn.execute(f"DROP TABLE IF EXISTS {schema.quote(step.name)}")
        elif step.kind == "drop index":
            conn.execute(f"DROP INDEX IF EXISTS {schema.quote(step.name)}")
        elif step.kind == "drop trigger":
            conn.execute(f"DROP TRIGGER IF EXISTS {schema.quote(step.name)}")
    for name, (kind, _table, sql) in master.items():  # indexes and triggers of the recorded shape
        if kind in ("index", "trigger") and not _has(conn, kind, name):
            conn.execute(sql)
    before = schema.read(conn)
    problems = [d.text for d in compare.compare(want, before) if d.kind != "extra"]
    if problems:
        raise MigrationFailedError(
            f"cannot repair {half.migration.name}: the file cannot be taken back to its recorded shape "
            f"({'; '.join(problems)}); nothing changed."
        )
    for statement in half.migration.statements():
        conn.execute(statement)
    for table, key, columns in saved:
        _restore(conn, table, key, columns)
    conn.execute(migrate.MIGRATIONS_TABLE_SQL)
    conn.execute("INSERT INTO _migrations (name) VALUES (?)", (half.migration.name,))
    return rebuilt


def _has(conn: sqlite3.Connection, kind: str, name: str) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?", (kind, name))
    return found.fetchone() is not None


def _save(conn: sqlite3.Connection, step: _Step) -> None:
    """Keep the values of columns the migration had already added, by primary key, in a TEMP table."""
    q = schema.quote
    cols = ", ".join(q(c) for c in (step.key, *step.saved))
    temp = q(f"saved_{step.name}{_SUFFIX}")
    conn.execute(f"CREATE TEMP TABLE {temp} AS SELECT {cols} FROM {q(step.source)}")
    conn.execute(f"CREATE UNIQUE INDEX temp.{q(f'saved_{step.name}_key{_SUFFIX}')} ON {temp} ({q(step.key)})")


def _restore(conn: sqlite3.Connection, table: str, key: str, columns: tuple[str, ...]) -> None:
    temp = schema.quote(f"saved_{table}{_SUFFIX}")
    assignments = ", ".join(f"{schema.quote(c)} = s.{schema.quote(c)}" for c in columns)
    conn.execute(
        f"UPDATE {schema.quote(table)} SET {assignments} FROM temp.{temp} AS s "
        f"WHERE s.{schema.quote(key)} = {schema.quote(table)}.{schema.quote(key)}"
    )
    conn.execute(f"DROP TABLE temp.{temp}")


def _rebuild(conn: sqlite3.Connection, step: _Step, master: dict[str, tuple[str, str, str]],
             want: schema.Schema) -> None:
    """Create the recorded shape under a new name, copy the rows (rowids kept), drop, rename."""
    target = want.table(step.name)
    source = schema.read(conn).table(step.source)
    assert target is not None and source is not None
    scratch = f"{step.name}{_SUFFIX}"
    create = re.sub(r'^CREATE TABLE\s+("(?:[^"]|"")*"|\[[^\]]*\]|`[^`]*`|\S+?)(?=\s|\()',
                    f"CREATE TABLE {schema.quote(scratch)}", master[target.name][2], count=1)
    conn.execute(create)
    have = {c.name.lower() for c in source.columns}
    common = [c.name for c in target.columns if c.name.lower() in have]
    cols = ", ".join(schema.quote(c) for c in common)
    rowid = "rowid, " if not (target.without_rowid or source.without_rowid) else ""
    copy = f"INSERT INTO {schema.quote(scratch)} ({rowid}{cols}) SELECT {rowid}{cols} FROM {schema.quote(step.source)}"
    conn.execute(copy)
    conn.execute(f"DROP TABLE {schema.quote(step.source)}")
    conn.execute(f"ALTER TABLE {schema.quote(scratch)} RENAME TO {schema.quote(step.name)}")
