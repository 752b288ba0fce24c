"""Comparing two structures: every difference in words a person understands, and facts.

`compare` lists how a database departs from the structure its migrations
produce ("lessons: UNIQUE (sender_id, domain, project) is missing"); `facts`
turns a structure into a set of things in place, so that a migration's effects
are the facts it adds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from omega_db.schema import ForeignKey, Index, Schema, Table, Trigger

Named = TypeVar("Named", Index, Trigger)


@dataclass(frozen=True)
class Difference:
    """One way a database's structure departs from the expected one, in words."""

    kind: str  # "missing", "extra" or "changed"
    what: str  # "table", "column", "order", "unique", "check", "foreign key", "index", "trigger", ...
    table: str
    text: str


def compare(expected: Schema, actual: Schema) -> list[Difference]:
    """Every structural difference of actual from expected, in a stable order."""
    diffs: list[Difference] = []
    for name, want in expected.tables.items():
        have = actual.table(name)
        if have is None:
            diffs.append(Difference("missing", "table", name, f"table {name} is missing"))
        else:
            diffs += _compare_table(want, have)
    for name in actual.tables:
        if expected.table(name) is None:
            diffs.append(Difference("extra", "table", name, f"extra table {name} (no applied migration creates it)"))
    for name in sorted(expected.shadow - actual.shadow):
        if actual.table(name.rsplit("_", 1)[0]) is not None:
            diffs.append(Difference("missing", "shadow", name, f"FTS5 shadow table {name} is missing"))
    diffs += _compare_named(expected.indexes, actual.indexes, "index", lambda i: i.describe(), lambda i: i.table)
    diffs += _compare_named(expected.triggers, actual.triggers, "trigger", lambda t: f"trigger {t.name}", lambda t: t.table)
    return diffs


def _compare_named(
    want: Mapping[str, Named], have: Mapping[str, Named], what: str,
    describe: Callable[[Named], str], table_of: Callable[[Named], str],
) -> list[Difference]:
    diffs = []
    have_lower = {k.lower(): v for k, v in have.items()}
    want_lower = {k.lower() for k in want}
    for name, item in want.items():
        other = have_lower.get(name.lower())
        if other is None:
            diffs.append(Difference("missing", what, table_of(item), f"{describe(item)} is missing"))
        elif other != item:
            found = describe(other) if what == "index" else "defined differently"
            diffs.append(Difference(
                "changed", what, table_of(item), f"{describe(item)} is expected, but the database has {found}"
            ))
    for name, item in have.items():
        if name.lower() not in want_lower:
            diffs.append(Difference(
                "extra", what, table_of(item), f"extra {describe(item)} (no applied migration creates it)"
            ))
    return diffs


def _compare_table(want: Table, have: Table) -> list[Difference]:
    t = want.name
    diffs = []
    if want.virtual != have.virtual:
        return [Difference("changed", "virtual", t, f"{t} is declared {have.virtual or 'as a plain table'}; "
                                                    f"the migrations declare it USING {want.virtual or 'a plain table'}")]
    have_cols = {c.name.lower(): c for c in have.columns}
    want_cols = {c.name.lower(): c for c in want.columns}
    for col in want.columns:
        other = have_cols.get(col.name.lower())
        if other is None:
            diffs.append(Difference("missing", "column", t, f"{t}: column {col.name} is missing"))
        elif other.key() != col.key():
            diffs.append(Difference("changed", "column", t, f"{t}.{col.name} is {other.definition()}; "
                                                           f"the migrations make it {col.definition()}"))
    for col in have.columns:
        if col.name.lower() not in want_cols:
            diffs.append(Difference("extra", "column", t,
                                    f"{t}: extra column {col.name} (no applied migration adds it)"))
    common_want = [c.name for c in want.columns if c.name.lower() in have_cols]
    common_have = [c.name for c in have.columns if c.name.lower() in want_cols]
    if [n.lower() for n in common_want] != [n.lower() for n in common_have]:
        diffs.append(Difference("changed", "order", t, f"{t}: columns are in the order {', '.join(common_have)}; "
                                                       f"the migrations make it {', '.join(common_want)}"))
    want_u = {tuple(c.lower() for c in u): u for u in want.uniques}
    have_u = {tuple(c.lower() for c in u): u for u in have.uniques}
    for key in sorted(want_u.keys() - have_u.keys()):
        diffs.append(Difference("missing", "unique", t, f"{t}: UNIQUE ({', '.join(want_u[key])}) is missing"))
    for key in sorted(have_u.keys() - want_u.keys()):
        diffs.append(Difference("extra", "unique", t, f"{t}: extra UNIQUE ({', '.join(have_u[key])}) "
                                                      "(no applied migration declares it)"))
    for check in sorted(want.checks - have.checks, key=lambda c: c.norm):
        diffs.append(Difference("missing", "check", t, f"{t}: {check.text} is missing"))
    for check in sorted(have.checks - want.checks, key=lambda c: c.norm):
        diffs.append(Difference("extra", "check", t, f"{t}: extra {check.text} (no applied migration declares it)"))
    for fk in sorted(want.foreign_keys - have.foreign_keys, key=ForeignKey.describe):
        diffs.append(Difference("missing", "foreign key", t, f"{t}: {fk.describe()} is missing"))
    for fk in sorted(have.foreign_keys - want.foreign_keys, key=ForeignKey.describe):
        diffs.append(Difference("extra", "foreign key", t, f"{t}: extra {fk.describe()}"))
    if want.without_rowid != have.without_rowid:
        diffs.append(Difference("changed", "without rowid", t, f"{t}: WITHOUT ROWID differs from the migrations"))
    return diffs


@dataclass(frozen=True)
class Fact:
    """One thing a migration puts in place (a table, a column, an index, a constraint...)."""

    kind: str
    key: str  # identity, case folded
    text: str = field(compare=False, hash=False)


def facts(schema: Schema) -> frozenset[Fact]:
    """The schema as a set of facts, for telling which of a migration's effects are present."""
    out: set[Fact] = set()
    for name, table in schema.tables.items():
        t = name.lower()
        out.add(Fact("table", t, f"table {name}"))
        for col in table.columns:
            if not col.hidden:
                out.add(Fact("column", f"{t}.{col.name.lower()}", f"{name}.{col.name}"))
        for unique in table.uniques:
            out.add(Fact("unique", f"{t}({','.join(unique).lower()})", f"{name}: UNIQUE ({', '.join(unique)})"))
        for check in table.checks:
            out.add(Fact("check", f"{t}:{check.norm}", f"{name}: {check.text}"))
        for fk in table.foreign_keys:
            out.add(Fact("foreign key", f"{t}:{fk.describe().lower()}", f"{name}: {fk.describe()}"))
    for name, index in schema.indexes.items():
        out.add(Fact("index", name.lower(), f"index {name}"))
    for name in schema.triggers:
        out.add(Fact("trigger", name.lower(), f"trigger {name}"))
    return frozenset(out)
