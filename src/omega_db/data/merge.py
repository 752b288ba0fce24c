"""A project's rows given another name inside one open transaction, merged the way OMEGA keeps them.

When NEW already has rows, what OMEGA itself would never hold side by side becomes one:
lessons with the same sender, domain and rule (occurrences summed); then OMEGA's cap per
(sender, domain, project) — 10 rows newest by `updated_at DESC, rowid DESC` at 013, one
before it; one project session per (channel, sender, project); one active conversation per
(channel, sender) and project, the older one closed. Every name is a bound parameter.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from omega_db.ground import db

CAP = 10  # OMEGA keeps the 10 newest lessons per (sender_id, domain, project) since 013
CAP_BEFORE_013 = 1  # before 013 a (sender_id, domain, project) holds one lesson: UNIQUE

# Every place a project's name is kept (SPEC "projects rename"), as (label, table, column).
PLACES = (
    ("outcomes", "outcomes", "project"),
    ("lessons", "lessons", "project"),
    ("scheduled_tasks", "scheduled_tasks", "project"),
    ("conversations", "conversations", "project"),
    ("project_sessions", "project_sessions", "project"),
    ("project_sessions.parent_project", "project_sessions", "parent_project"),
)
FACTS = "facts"  # and the value of every `active_project` fact
FACT_WHERE = "key = 'active_project' AND value = ?"


@dataclass(frozen=True)
class Evicted:
    """A lesson deleted by OMEGA's cap (it stays in the backup)."""

    id: object
    sender_id: object
    domain: object
    rule: object


@dataclass(frozen=True)
class Moves:
    """What one rename did: rows moved per place, rows merged into another, lessons evicted, conversations closed."""

    tables: tuple[tuple[str, int], ...]
    merged: int
    evicted: tuple[Evicted, ...]
    closed: int


def present(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """The places this file has (before 011 no table is keyed by project; facts hold names from 003)."""
    found = [(label, table, column) for label, table, column in PLACES if column in db.table_columns(conn, table)]
    if {"key", "value"} <= set(db.table_columns(conn, FACTS)):
        found.append((FACTS, FACTS, "value"))
    return found


def count(conn: sqlite3.Connection, place: tuple[str, str, str], name: str) -> int:
    """How many rows of one place hold the name."""
    _, table, column = place
    where = FACT_WHERE if table == FACTS else f"{column} = ?"
    return conn.execute(f"SELECT count(*) FROM {table} WHERE {where}", (name,)).fetchone()[0]


def _newest_first(row: Any) -> tuple[str, int]:
    # SQLite's order: updated_at (text, compared as UTF-8 bytes, as Python compares code points), then rowid.
    return ("" if row["updated_at"] is None else str(row["updated_at"]), row["rowid"])


def _shared(conn: sqlite3.Connection, table: str, key: str, old: str, new: str) -> list[sqlite3.Row]:
    """The rows of both projects in the scopes (key columns) that both have rows in."""
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(
            f"SELECT rowid, * FROM {table} WHERE project IN (?, ?) AND ({key}) IN "
            f"(SELECT {key} FROM {table} WHERE project = ? INTERSECT SELECT {key} FROM {table} WHERE project = ?)",
            (old, new, old, new),
        ).fetchall()
    finally:
        conn.row_factory = None


def _merge_scope(rows: list[sqlite3.Row], cap: int, delete: list[int], update: list[tuple[Any, ...]],
                 evicted: list[Evicted]) -> int:
    """One (sender, domain): identical rules of both projects become one row, then the cap; rows merged."""
    merged = 0
    by_rule: dict[object, list[sqlite3.Row]] = defaultdict(list)
    for row in rows:
        by_rule[row["rule"]].append(row)
    survivors = []
    for same in by_rule.values():
        if len({row["project"] for row in same}) < 2:
            survivors.extend(same)
            continue
        keeper = max(same, key=_newest_first)  # the id of the row updated last
        occurrences = sum(row["occurrences"] for row in same if isinstance(row["occurrences"], int))
        created = min((row["created_at"] for row in same), key=str)
        update.append((occurrences, created, keeper["updated_at"], keeper["rowid"]))
        delete.extend(row["rowid"] for row in same if row is not keeper)
        merged += len(same) - 1
        survivors.append(keeper)
    survivors.sort(key=_newest_first, reverse=True)
    for row in survivors[cap:]:
        delete.append(row["rowid"])
        evicted.append(Evicted(row["id"], row["sender_id"], row["domain"], row["rule"]))
    return merged


def _lessons(conn: sqlite3.Connection, old: str, new: str, cap: int) -> tuple[int, list[Evicted]]:
    scopes: dict[tuple[object, object], list[sqlite3.Row]] = defaultdict(list)
    for row in _shared(conn, "lessons", "sender_id, domain", old, new):
        scopes[(row["sender_id"], row["domain"])].append(row)
    delete: list[int] = []
    update: list[tuple[Any, ...]] = []
    evicted: list[Evicted] = []
    merged = sum(_merge_scope(rows, cap, delete, update, evicted) for rows in scopes.values())
    conn.executemany("DELETE FROM lessons WHERE rowid = ?", ((rowid,) for rowid in delete))
    conn.executemany("UPDATE lessons SET occurrences = ?, created_at = ?, updated_at = ? WHERE rowid = ?", update)
    return merged, evicted


def _sessions(conn: sqlite3.Connection, old: str, new: str) -> int:
    """One session per (channel, sender, project): of two, the one updated last stays."""
    pairs: dict[tuple[object, object], list[sqlite3.Row]] = defaultdict(list)
    for row in _shared(conn, "project_sessions", "channel, sender_id", old, new):
        pairs[(row["channel"], row["sender_id"])].append(row)
    losers = [row["rowid"] for rows in pairs.values() for row in rows if row is not max(rows, key=_newest_first)]
    conn.executemany("DELETE FROM project_sessions WHERE rowid = ?", ((rowid,) for rowid in losers))
    return len(losers)


def _close_older(conn: sqlite3.Connection, old: str, new: str) -> int:
    """Where a channel and sender have an active conversation in both projects, the older side's are closed."""
    newest: dict[tuple[object, object], dict[str, str]] = defaultdict(dict)
    for channel, sender, project, last in conn.execute(
        "SELECT channel, sender_id, project, max(CAST(last_activity AS TEXT)) FROM conversations "
        "WHERE status = 'active' AND project IN (?, ?) GROUP BY channel, sender_id, project", (old, new)
    ):
        newest[(channel, sender)][project] = last or ""
    closed = 0
    for (channel, sender), sides in newest.items():
        if len(sides) == 2:
            older = old if sides[old] <= sides[new] else new
            closed += conn.execute(
                "UPDATE conversations SET status = 'closed' "
                "WHERE channel = ? AND sender_id = ? AND project = ? AND status = 'active'",
                (channel, sender, older),
            ).rowcount
    return closed


def move(conn: sqlite3.Connection, old: str, new: str, *, cap: int,
         places: Iterable[tuple[str, str, str]]) -> Moves:
    """Give every row of project old the name new (merging with new's rows), inside the caller's transaction."""
    merged, closed = 0, 0
    evicted: list[Evicted] = []
    moved = []
    for place in places:
        label, table, column = place
        if label == "lessons":
            merged_here, evicted = _lessons(conn, old, new, cap)
            merged += merged_here
        elif label == "project_sessions":
            merged += _sessions(conn, old, new)
        elif label == "conversations" and "status" in db.table_columns(conn, table):
            closed = _close_older(conn, old, new)
        where = FACT_WHERE if table == FACTS else f"{column} = ?"
        done = conn.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (new, old)).rowcount
        moved.append((label, done))
    return Moves(tuple(moved), merged, tuple(evicted), closed)
