"""Half-applied migrations: recognise them, and plan how to complete them.

OMEGA's own runner executes a migration file statement by statement and
records it afterwards, so a crash or an error in the middle leaves some of the
migration's effects in place and no `_migrations` row. Both the detection and
the plan are derived from the migration files, never from a second copy of
the schema:

- detection applies the files to an in-memory database and compares *facts*
  (tables, columns, indexes, constraints, triggers) before, during and after
  the next pending migration with the facts of the real file;
- the plan takes every table the migration touched back to the shape the
  recorded migrations give it (rows and the values of columns the migration
  had already added are kept aside), then runs the migration file itself and
  puts the kept values back. `repair` carries it out in one transaction.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from enum import Enum

from omega_db.chain import compare, schema
from omega_db.chain.compare import Fact, Part
from omega_db.chain.files import Migration
from omega_db.chain.history import Plan
from omega_db.ground import sql


class Unrepairable(Exception):
    """The half-applied state holds something the repair would have to guess about."""


class StepKind(str, Enum):
    """What one step of a repair does."""

    rebuild = "rebuild"
    create = "create"
    drop_table = "drop table"
    drop_index = "drop index"
    drop_trigger = "drop trigger"
    run = "run"


@dataclass(frozen=True)
class Step:
    """One step of a repair, with its description in words."""

    kind: StepKind
    name: str
    source: str = ""
    saved: tuple[str, ...] = ()  # columns whose values are kept aside and put back
    key: str = ""  # the primary key they are put back by
    text: str = ""


@dataclass(frozen=True)
class HalfApplied:
    """A migration whose effects are partly in the file although it is not recorded."""

    migration: Migration
    prefix: tuple[Migration, ...]  # the recorded chain it should follow
    present: tuple[str, ...]  # what the migration adds (or makes on the way) that is there
    gone: tuple[str, ...]  # what the migration removes that is already gone
    missing: tuple[str, ...]
    steps: tuple[str, ...]  # what the repair would do, in words
    blocker: str = ""  # why it cannot be repaired automatically, if it cannot
    transient: frozenset[Fact] = frozenset()  # what exists only mid-way through the migration

    def describe(self) -> str:
        """What is there and what is not, in one sentence."""
        found = [f"present {', '.join(self.present)}"] if self.present else []
        found += [f"already removed {', '.join(self.gone)}"] if self.gone else []
        missing = ", ".join(self.missing) if self.missing else "nothing but its _migrations row"
        return f"{self.migration.name} is half-applied (not recorded): {'; '.join(found)}; missing {missing}"

    def remedy(self) -> str:
        """What `migrate --repair` would do about it."""
        if self.blocker:
            return f"`omega-db migrate --repair` cannot complete it: {self.blocker}; restore a backup"
        return (
            "`omega-db migrate --repair` would back up the file, then in one transaction "
            + "; ".join(self.steps)
            + ", keeping every row"
        )


def _moves(migration: Migration) -> tuple[dict[str, str], set[str]]:
    """What the migration does with whole tables, read from its statements.

    Returns target -> the table it renames into it (lessons -> lessons_new), and
    the tables it drops without ever reading from them (003's first facts).
    """
    renames: dict[str, str] = {}
    dropped: set[str] = set()
    read: set[str] = set()
    for statement in migration.statements:
        words = sql.tokens(statement)
        if words[:2] == ["alter", "table"] and words[3:5] == ["rename", "to"]:
            renames[words[5]] = words[2]
        if words[:2] == ["drop", "table"]:
            dropped.add(words[4] if words[2:4] == ["if", "exists"] else words[2])
        read |= {words[i + 1] for i, word in enumerate(words[:-1]) if word == "from"}
    return renames, dropped - read


def _transient_facts(prefix: tuple[Migration, ...], migration: Migration) -> set[Fact]:
    """Facts that exist only between two statements of the migration (e.g. a lessons_new table)."""
    conn = schema.build(prefix)
    try:
        seen: set[Fact] = set()
        for statement in migration.statements:
            conn.execute(statement)
            seen |= compare.facts(schema.read(conn))
        return seen
    finally:
        conn.close()


_PART_ORDER = (Part.table, Part.column, Part.unique, Part.check, Part.foreign_key, Part.index, Part.trigger)


def _collapse(found: set[Fact] | frozenset[Fact]) -> tuple[str, ...]:
    """Fact texts, without the columns and constraints of a table that is itself listed."""
    tables = {f.key for f in found if f.part is Part.table}
    kept = [
        f for f in found
        if f.part in (Part.table, Part.index, Part.trigger) or re.split(r"[.(:]", f.key, maxsplit=1)[0] not in tables
    ]
    rank = {part: i for i, part in enumerate(_PART_ORDER)}
    return tuple(f.text for f in sorted(kept, key=lambda f: (rank.get(f.part, len(rank)), f.key)))


def detect(conn: sqlite3.Connection, plan: Plan) -> HalfApplied | None:
    """The next pending migration if some of its effects are already in the file, else None."""
    if not plan.may_be_half_applied:
        return None  # e.g. nothing recorded: 001's CREATE TABLE IF NOT EXISTS applies over what is there
    nxt = plan.all_pending[0]
    prefix = tuple(m for m in plan.known if m.name < nxt.name)
    if any(m.name not in plan.recorded for m in prefix) or any(n > nxt.name for n in plan.recorded):
        return None  # a gap in the history: reported as such, not guessed at
    actual = schema.read(conn)
    real = compare.facts(actual)
    try:
        # The longer chain first: building it keeps every prefix's schema, so `prefix` is not built again.
        f_after = compare.facts(schema.expected(prefix + (nxt,)))
        f_before = compare.facts(schema.expected(prefix))
        removes = f_before - f_after  # e.g. 013 drops the UNIQUE constraint of lessons
        if real <= f_before and removes <= real:
            return None  # the recorded migrations' shape, nothing more, nothing removed (the usual case): fast
        transient = _transient_facts(prefix, nxt) - f_before - f_after
    except sqlite3.Error:
        return None  # the file itself does not apply in memory: applying it for real will say why
    started = ((f_after - f_before) | transient) & real
    gone = removes - real
    if not started and not gone:
        return None
    try:
        steps, blocker = tuple(step.text for step in plan_steps(conn, actual, prefix, nxt, transient)), ""
    except Unrepairable as exc:
        steps, blocker = (), str(exc)
    present, missing = _collapse(started), _collapse(set(f_after - real))
    return HalfApplied(nxt, prefix, present, _collapse(gone), missing, steps, blocker, frozenset(transient))


def plan_steps(
    conn: sqlite3.Connection,
    actual: schema.Schema,
    prefix: tuple[Migration, ...],
    nxt: Migration,
    transient: set[Fact] | frozenset[Fact],
) -> list[Step]:
    """The steps that take the file back to the recorded shape, then run the migration whole."""
    want = schema.expected(prefix)
    after = schema.expected(prefix + (nxt,))
    renames, discarded = _moves(nxt)
    version = prefix[-1].name if prefix else "000 (empty)"
    steps: list[Step] = []
    sources: set[str] = set()
    for name, table in want.tables.items():
        if table.virtual or name == "_migrations":
            continue
        have = actual.table(name)
        source = name if have is not None else renames.get(name.lower(), "")
        if have is None and actual.table(source) is None:
            if name.lower() not in discarded:
                raise Unrepairable(f"table {name} is missing and no table holds its rows")
            words = f"create {name} as at {version} ({nxt.name} replaces it)"
            steps.append(Step(StepKind.create, name, text=words))
            continue
        if have is not None and not compare.compare(_only(want, name), _only(actual, name)):
            continue
        src = actual.table(source)
        assert src is not None
        keep = {c.name.lower() for c in table.columns}
        target_after = after.table(name)
        later = {c.name.lower() for c in target_after.columns} if target_after else set()
        saved = tuple(c.name for c in src.columns if c.name.lower() not in keep and c.name.lower() in later)
        unknown = [c.name for c in src.columns if c.name.lower() not in keep | later]
        if unknown:
            raise Unrepairable(
                f"{source} has column(s) {', '.join(unknown)} that neither the recorded migrations "
                f"nor {nxt.name} create, and rebuilding it would lose them"
            )
        pks = [c.name for c in src.columns if c.pk]
        if saved and len(pks) != 1:
            raise Unrepairable(f"{source} has no one-column primary key to put {', '.join(saved)} back by")
        words = f"rebuild {name} as at {version}" + (f" from {source}" if source != name else "")
        steps.append(Step(StepKind.rebuild, name, source, saved, pks[0] if saved else "", words))
        sources.add(source.lower())
    known = {f.key for f in transient} | {f.key for f in compare.facts(after)}
    for name, table in actual.tables.items():
        ours = name.lower() in known or after.table(name) is not None  # the migration's own table
        if want.table(name) is not None or name.lower() in sources or not ours:
            continue  # kept, already used as a source, or not the migration's: left alone
        if not table.virtual:
            foreign = [c.name for c in table.columns if f"{name.lower()}.{c.name.lower()}" not in known]
            if (foreign or name.lower() not in renames.values()) and _has_rows(conn, name):
                raise Unrepairable(f"{name} already holds rows that {nxt.name} would not keep")
        steps.append(Step(StepKind.drop_table, name, text=f"drop the leftover {name}"))
    for name in actual.indexes:
        if name not in want.indexes and name in after.indexes:
            steps.append(Step(StepKind.drop_index, name, text=f"drop the partial index {name}"))
    for name in actual.triggers:
        if name not in want.triggers and name in after.triggers:
            steps.append(Step(StepKind.drop_trigger, name, text=f"drop the partial trigger {name}"))
    kept = [f"{step.name}.{column}" for step in steps for column in step.saved]
    put_back = f", put back the values already in {', '.join(kept)}" if kept else ""
    steps.append(Step(StepKind.run, nxt.name, text=f"run {nxt.name} whole{put_back} and record it"))
    return steps


def _has_rows(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute(f"SELECT 1 FROM {sql.quote(table)} LIMIT 1").fetchone() is not None


def _only(full: schema.Schema, table: str) -> schema.Schema:
    """A schema holding one table only, for comparing one table."""
    found = full.table(table)
    return schema.Schema({found.name: found} if found else {}, {}, {})
