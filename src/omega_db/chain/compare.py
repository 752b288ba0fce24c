"""Comparing two structures: every difference in words a person understands, and facts.

`compare` lists how a database departs from the structure its migrations
produce ("lessons: UNIQUE (sender_id, domain, project) is missing"); `facts`
turns a structure into a set of things in place, so that a migration's effects
are the facts it adds.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeVar

from omega_db.chain.schema import Index, Schema, Table, Trigger

Named = TypeVar("Named", Index, Trigger)


class Part(str, Enum):
    """What a difference or a fact is about."""

    table = "table"
    column = "column"
    order = "order"
    unique = "unique"
    check = "check"
    foreign_key = "foreign key"
    index = "index"  # type: ignore[assignment]  # the SQL object kind; it shadows str.index, which nothing calls on a Part
    trigger = "trigger"
    shadow = "shadow"
    virtual = "virtual"
    without_rowid = "without rowid"


class Change(str, Enum):
    """How a part departs from the expected structure."""

    missing = "missing"
    extra = "extra"
    changed = "changed"


@dataclass(frozen=True)
class Difference:
    """One way a database's structure departs from the expected one, in words."""

    change: Change
    part: Part
    table: str
    text: str


_UNEXPLAINED = "(no applied migration creates it)"


def compare(expected: Schema, actual: Schema) -> list[Difference]:
    """Every structural difference of actual from expected, in a stable order."""
    diffs: list[Difference] = []
    for name, want in expected.tables.items():
        have = actual.table(name)
        if have is None:
            diffs.append(Difference(Change.missing, Part.table, name, f"table {name} is missing"))
        else:
            diffs += _compare_table(want, have)
    for name in actual.tables:
        if expected.table(name) is None:
            diffs.append(Difference(Change.extra, Part.table, name, f"extra table {name} {_UNEXPLAINED}"))
    for name in sorted(expected.shadow - actual.shadow):
        owner = name.rsplit("_", 1)[0]
        if actual.table(owner) is not None:
            diffs.append(Difference(Change.missing, Part.shadow, owner, f"FTS5 shadow table {name} is missing"))
    diffs += _compare_named(expected.indexes, actual.indexes, Part.index, Index.describe)
    diffs += _compare_named(expected.triggers, actual.triggers, Part.trigger, lambda t: f"trigger {t.name}")
    return diffs


def _compare_named(
    want: Mapping[str, Named], have: Mapping[str, Named], part: Part, describe: Callable[[Named], str]
) -> list[Difference]:
    diffs = []
    have_lower = {k.lower(): v for k, v in have.items()}
    want_lower = {k.lower() for k in want}
    for name, item in want.items():
        other = have_lower.get(name.lower())
        if other is None:
            diffs.append(Difference(Change.missing, part, item.table, f"{describe(item)} is missing"))
        elif other != item:
            found = describe(other) if part is Part.index else "a different definition"
            text = f"{describe(item)} is expected, but the database has {found}"
            diffs.append(Difference(Change.changed, part, item.table, text))
    for name, item in have.items():
        if name.lower() not in want_lower:
            diffs.append(Difference(Change.extra, part, item.table, f"extra {describe(item)} {_UNEXPLAINED}"))
    return diffs


def _compare_table(want: Table, have: Table) -> list[Difference]:
    t = want.name
    if want.virtual != have.virtual:
        text = (f"{t} is declared USING {have.virtual or '(a plain table)'}; "
                f"the migrations declare USING {want.virtual or '(a plain table)'}")
        return [Difference(Change.changed, Part.virtual, t, text)]
    diffs = []
    have_cols = {c.name.lower(): c for c in have.columns}
    want_cols = {c.name.lower(): c for c in want.columns}
    for col in want.columns:
        other = have_cols.get(col.name.lower())
        if other is None:
            diffs.append(Difference(Change.missing, Part.column, t, f"{t}: column {col.name} is missing"))
        elif other.key() != col.key():
            text = f"{t}.{col.name} is {other.definition()}; the migrations make it {col.definition()}"
            diffs.append(Difference(Change.changed, Part.column, t, text))
    for col in have.columns:
        if col.name.lower() not in want_cols:
            text = f"{t}: extra column {col.name} (no applied migration adds it)"
            diffs.append(Difference(Change.extra, Part.column, t, text))
    common_want = [c.name for c in want.columns if c.name.lower() in have_cols]
    common_have = [c.name for c in have.columns if c.name.lower() in want_cols]
    if [n.lower() for n in common_want] != [n.lower() for n in common_have]:
        text = (f"{t}: columns are in the order {', '.join(common_have)}; "
                f"the migrations make it {', '.join(common_want)}")
        diffs.append(Difference(Change.changed, Part.order, t, text))
    diffs += _compare_constraints(
        t, Part.unique,
        {tuple(c.lower() for c in u): f"UNIQUE ({', '.join(u)})" for u in want.uniques},
        {tuple(c.lower() for c in u): f"UNIQUE ({', '.join(u)})" for u in have.uniques},
    )
    diffs += _compare_constraints(
        t, Part.check, {c.norm: c.text for c in want.checks}, {c.norm: c.text for c in have.checks}
    )
    diffs += _compare_constraints(
        t, Part.foreign_key,
        {fk: fk.describe() for fk in want.foreign_keys}, {fk: fk.describe() for fk in have.foreign_keys},
    )
    if want.without_rowid != have.without_rowid:
        text = f"{t}: WITHOUT ROWID differs from the migrations"
        diffs.append(Difference(Change.changed, Part.without_rowid, t, text))
    return diffs


def _compare_constraints(
    table: str, part: Part, want: Mapping[Hashable, str], have: Mapping[Hashable, str]
) -> list[Difference]:
    """Constraints compared by identity (normalised), shown in their own words."""
    missing = sorted(want[k] for k in want.keys() - have.keys())
    extra = sorted(have[k] for k in have.keys() - want.keys())
    return [Difference(Change.missing, part, table, f"{table}: {text} is missing") for text in missing] + [
        Difference(Change.extra, part, table, f"{table}: extra {text} (no applied migration declares it)")
        for text in extra
    ]


@dataclass(frozen=True)
class Fact:
    """One thing a migration puts in place (a table, a column, an index, a constraint...)."""

    part: Part
    key: str  # identity, case folded
    text: str = field(compare=False, hash=False)


def facts(schema: Schema) -> frozenset[Fact]:
    """The schema as a set of facts, for telling which of a migration's effects are present."""
    out: set[Fact] = set()
    for name, table in schema.tables.items():
        t = name.lower()
        out.add(Fact(Part.table, t, f"table {name}"))
        for col in table.columns:
            if not col.hidden:
                out.add(Fact(Part.column, f"{t}.{col.name.lower()}", f"{name}.{col.name}"))
        for unique in table.uniques:
            text = f"{name}: UNIQUE ({', '.join(unique)})"
            out.add(Fact(Part.unique, f"{t}({','.join(unique).lower()})", text))
        for check in table.checks:
            out.add(Fact(Part.check, f"{t}:{check.norm}", f"{name}: {check.text}"))
        for fk in table.foreign_keys:
            out.add(Fact(Part.foreign_key, f"{t}:{fk.describe().lower()}", f"{name}: {fk.describe()}"))
    for name in schema.indexes:
        out.add(Fact(Part.index, name.lower(), f"index {name}"))
    for name in schema.triggers:
        out.add(Fact(Part.trigger, name.lower(), f"trigger {name}"))
    return frozenset(out)
