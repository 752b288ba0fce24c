"""Completing a half-applied migration: the plan of `halfapplied`, carried out in one transaction."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from omega_db.chain import apply, compare, halfapplied, history, schema
from omega_db.chain.compare import Change
from omega_db.chain.halfapplied import HalfApplied, Step, StepKind
from omega_db.chain.history import Plan
from omega_db.ground import db
from omega_db.ground.errors import MigrationFailedError
from omega_db.ground.sql import quote

_SUFFIX = "__omega_repair"


@dataclass(frozen=True)
class Repaired:
    """A half-applied migration that was completed and recorded."""

    name: str
    steps: tuple[str, ...]
    rebuilt: frozenset[str]


class _Gone(Exception):
    """The half-applied state was no longer there once the write lock was held."""


def repair(conn: sqlite3.Connection, path: Path, plan: Plan, seen: HalfApplied) -> Repaired | None:
    """Complete the half-applied migration seen in one transaction; None if it is not there any more."""
    found: list[HalfApplied] = []

    def complete() -> None:
        # Decided again under the write lock: what another process did meanwhile counts.
        half = halfapplied.detect(conn, history.inspect(conn, path, known=plan.known))
        if half is None or half.migration != seen.migration:
            raise _Gone
        if half.blocker:
            raise MigrationFailedError(f"{path}: {half.describe()}; {half.remedy()}. Nothing was changed.")
        _carry_out(conn, half, halfapplied.plan_steps(conn, schema.read(conn), half.prefix, half.migration,
                                                       half.transient))
        after = schema.expected(half.prefix + (half.migration,))
        problems = [d.text for d in compare.compare(after, schema.read(conn)) if d.change is not Change.extra]
        if problems:
            raise MigrationFailedError(
                f"the repair of {half.migration.name} in {path} would not end in a clean migration "
                f"({'; '.join(problems)}); it was rolled back and nothing changed."
            )
        found.append(half)

    try:
        committed = apply.apply(conn, seen.migration.name, complete, bootstrap=plan.bootstrap)
    except _Gone:
        return None
    except sqlite3.Error as exc:
        raise db.about_the_file(exc, path) or MigrationFailedError(
            f"the repair failed and was rolled back ({exc}); {path} is unchanged."
        ) from exc
    if committed is None:
        return None
    return Repaired(seen.migration.name, found[0].steps, committed.rebuilt)


def _carry_out(conn: sqlite3.Connection, half: HalfApplied, steps: list[Step]) -> None:
    """Take the file back to the recorded shape, run the migration whole, put the kept values back."""
    mem = schema.build(half.prefix)
    try:
        master = {name: (kind, sql) for kind, name, sql in
                  mem.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL")}
    finally:
        mem.close()
    saved: list[Step] = []
    want = schema.expected(half.prefix)
    for step in steps:
        if step.kind is StepKind.rebuild:
            if step.saved:
                _save(conn, step)
                saved.append(step)
            _rebuild(conn, step, master[step.name][1], want)
        elif step.kind is StepKind.create:
            conn.execute(master[step.name][1])
        elif step.kind is StepKind.drop_table:
            conn.execute(f"DROP TABLE IF EXISTS {quote(step.name)}")
        elif step.kind is StepKind.drop_index:
            conn.execute(f"DROP INDEX IF EXISTS {quote(step.name)}")
        elif step.kind is StepKind.drop_trigger:
            conn.execute(f"DROP TRIGGER IF EXISTS {quote(step.name)}")
    for name, (kind, sql) in master.items():  # indexes and triggers of the recorded shape
        if kind in ("index", "trigger") and not db.object_exists(conn, kind, name):
            conn.execute(sql)
    problems = [d.text for d in compare.compare(want, schema.read(conn)) if d.change is not Change.extra]
    if problems:
        raise MigrationFailedError(
            f"cannot repair {half.migration.name}: the file cannot be taken back to its recorded shape "
            f"({'; '.join(problems)}); nothing changed."
        )
    half.migration.execute(conn)
    for step in saved:
        _restore(conn, step)


def _saved_table(step: Step) -> str:
    return quote(f"saved_{step.name}{_SUFFIX}")


def _save(conn: sqlite3.Connection, step: Step) -> None:
    """Keep the values of columns the migration had already added, by primary key, in a TEMP table."""
    cols = ", ".join(quote(c) for c in (step.key, *step.saved))
    temp = _saved_table(step)
    conn.execute(f"CREATE TEMP TABLE {temp} AS SELECT {cols} FROM {quote(step.source)}")
    conn.execute(f"CREATE UNIQUE INDEX temp.{quote(f'saved_{step.name}_key{_SUFFIX}')} ON {temp} ({quote(step.key)})")


def _restore(conn: sqlite3.Connection, step: Step) -> None:
    temp, table, key = _saved_table(step), quote(step.name), quote(step.key)
    assignments = ", ".join(f"{quote(c)} = s.{quote(c)}" for c in step.saved)
    conn.execute(f"UPDATE {table} SET {assignments} FROM temp.{temp} AS s WHERE s.{key} = {table}.{key}")
    conn.execute(f"DROP TABLE temp.{temp}")


def _rebuild(conn: sqlite3.Connection, step: Step, create_sql: str, want: schema.Schema) -> None:
    """Create the recorded shape under a new name, copy the rows (rowids kept), drop, rename."""
    target = want.table(step.name)
    source = schema.read(conn).table(step.source)
    assert target is not None and source is not None
    scratch = f"{step.name}{_SUFFIX}"
    create = re.sub(r'^CREATE TABLE\s+("(?:[^"]|"")*"|\[[^\]]*\]|`[^`]*`|\S+?)(?=\s|\()',
                    f"CREATE TABLE {quote(scratch)}", create_sql, count=1)
    conn.execute(create)
    have = {c.name.lower() for c in source.columns}
    cols = ", ".join(quote(c.name) for c in target.columns if c.name.lower() in have)
    rowid = "rowid, " if not (target.without_rowid or source.without_rowid) else ""
    conn.execute(f"INSERT INTO {quote(scratch)} ({rowid}{cols}) SELECT {rowid}{cols} FROM {quote(step.source)}")
    conn.execute(f"DROP TABLE {quote(step.source)}")
    conn.execute(f"ALTER TABLE {quote(scratch)} RENAME TO {quote(step.name)}")
