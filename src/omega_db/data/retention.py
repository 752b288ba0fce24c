"""What `prune` may delete: each rule as SQL with bound parameters, from what OMEGA v1.3.0 never reads again.

Every rule has two statements over the same predicate: a read that picks the rowids of the
rows it would delete (and counts them for --dry-run), and a DELETE of a batch of those rowids
that checks the rule again on each row, in the same statement: a row that became protected
between the read and the write (a newer fact, a reopened conversation) is not deleted.
Ages are compared with SQLite's datetime('now', ?) on OMEGA's UTC text; datetime() of a value
that is not a time is NULL, so such a value is never older than anything and never deleted.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from omega_db.ground import db
from omega_db.ground.errors import BadArgumentError
from omega_db.ground.untrusted import visible

AGE = re.compile(r"([0-9]+)([hdw])")  # a whole number and a unit (positive: checked with the number)
UNITS = {"h": ("hours", 1), "d": ("days", 1), "w": ("days", 7)}  # SQLite's modifier, and its factor
NEWEST_KEPT = 20  # per sender and per (sender, project): the most OMEGA reads (/learning's 20)
RECENT_KEPT = "-48 hours"  # every outcome this recent is kept (the heartbeat reads the last 24)
ORDER = ("audit_log", "outcomes", "scheduled_tasks", "messages")  # the tables, as reported
BATCH_IDS = "rowid IN (SELECT value FROM json_each(?))"  # a batch of rowids, bound as one JSON array


@dataclass(frozen=True)
class Age:
    """An age as the user wrote it (`90d`) and as SQLite's modifier (`-90 days`)."""

    text: str
    modifier: str


def parse_age(text: str, option: str, path: Path) -> Age:
    """The Age of `90d`, `12w` or `36h`; BadArgumentError (exit 2) for anything else."""
    match = AGE.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise BadArgumentError(
            f"{option} {visible(repr(text))} is not an age: give a positive whole number and a unit, h (hours), "
            f"d (days) or w (weeks), e.g. {option} 90d; nothing was changed in {path}."
        )
    unit, factor = UNITS[match.group(2)]
    age = Age(text.strip(), f"-{int(match.group(1)) * factor} {unit}")
    if not _reachable(age.modifier):
        raise BadArgumentError(
            f"{option} {visible(text.strip())} reaches back before the year 0000, which SQLite's times cannot; "
            f"give a shorter age; nothing was changed in {path}."
        )
    return age


def _reachable(modifier: str) -> bool:
    """Whether SQLite's datetime('now', modifier) is a time from the year 0000 on.

    Asked of SQLite itself, for every unit: beyond its range it answers NULL, and a year
    below 0000 comes out as '-0001-…', which no stored time compares older than as text,
    so such an age would delete nothing without a word.
    """
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        (bound,) = conn.execute("SELECT datetime('now', ?)", (modifier,)).fetchone()
    return bound is not None and not bound.startswith("-")


@dataclass(frozen=True)
class Rule:
    """One table's rule on one file: what it picks, how it deletes a batch, or why it deletes nothing."""

    table: str
    option: str
    age: Age
    pick: str = ""  # SELECT rowid ... ORDER BY rowid (bound: the age's modifier)
    delete: str = ""  # DELETE ... rowid IN batch AND the rule again (bound: the batch, the modifier)
    missing: str = ""  # set when the file has no such table yet: the rule deletes 0, with this note

    def count_sql(self) -> str:
        """How many rows the rule picks."""
        return f"SELECT count(*) FROM ({self.pick})"


AUDIT_WHERE = "datetime(timestamp) < datetime('now', ?)"

TASKS_WHERE = "status IN ('delivered', 'cancelled', 'failed') AND datetime(due_at) < datetime('now', ?)"

# Outcomes: OMEGA reads a sender's newest `ORDER BY timestamp DESC LIMIT n` (n at most 20),
# overall and per project, and the heartbeat the last 24 hours. It orders by timestamp alone,
# so where several rows tie at the 20th place any of them may be among the 20 it reads:
# RANK() (not ROW_NUMBER()) keeps every row tied there. A row with RANK() <= 20 has fewer than
# 20 strictly newer rows; the kept set is a superset of what OMEGA could read: the safe side.
OUTCOMES_PICK = """
SELECT rid FROM (
  SELECT rowid AS rid, timestamp,
         RANK() OVER (PARTITION BY sender_id ORDER BY timestamp DESC) AS by_sender,
         RANK() OVER (PARTITION BY sender_id{project} ORDER BY timestamp DESC) AS by_scope
  FROM outcomes)
WHERE by_sender > {kept} AND by_scope > {kept}
  AND datetime(timestamp) < datetime('now', ?) AND datetime(timestamp) < datetime('now', '{recent}')
ORDER BY rid"""
# The same rule for one row, against the table as it is now: at least 20 strictly newer rows of
# the sender (and of the sender's project), read through idx_outcomes_sender_time / _project.
NEWER = """EXISTS (SELECT 1 FROM outcomes AS newer WHERE newer.sender_id = outcomes.sender_id{project}
  AND newer.timestamp > outcomes.timestamp ORDER BY newer.timestamp DESC LIMIT 1 OFFSET {skip})"""
OUTCOMES_AGE = "datetime(timestamp) < datetime('now', ?) AND datetime(timestamp) < datetime('now', '{recent}')"

# Messages: only those of a closed conversation (the history reads the active one), and never
# one a fact names (facts.source_message_id, a foreign key). Deleting one fires OMEGA's
# messages_fts_delete trigger, which keeps the FTS5 index in step.
CLOSED = "EXISTS (SELECT 1 FROM conversations AS c WHERE c.id = messages.conversation_id AND c.status = 'closed')"
NAMED = "id NOT IN (SELECT source_message_id FROM facts WHERE source_message_id IS NOT NULL)"
MESSAGES_AGE = "datetime(timestamp) < datetime('now', ?)"


def _simple(table: str, option: str, age: Age, where: str) -> Rule:
    return Rule(table, option, age,
                pick=f"SELECT rowid FROM {table} WHERE {where} ORDER BY rowid",
                delete=f"DELETE FROM {table} WHERE {BATCH_IDS} AND {where}")


def _outcomes(conn: sqlite3.Connection, age: Age) -> Rule:
    # Before 011 every outcome is general: the per-project newest 20 are the sender's newest 20.
    scoped = "project" in db.table_columns(conn, "outcomes")
    pick = OUTCOMES_PICK.format(project=", project" if scoped else "", kept=NEWEST_KEPT, recent=RECENT_KEPT)
    where = " AND ".join([
        OUTCOMES_AGE.format(recent=RECENT_KEPT),
        NEWER.format(project="", skip=NEWEST_KEPT - 1),
        *([NEWER.format(project=" AND newer.project = outcomes.project", skip=NEWEST_KEPT - 1)] if scoped else []),
    ])
    return Rule("outcomes", "--outcomes", age, pick=pick, delete=f"DELETE FROM outcomes WHERE {BATCH_IDS} AND {where}")


def _messages(conn: sqlite3.Connection, age: Age) -> Rule:
    where = [MESSAGES_AGE, CLOSED]
    if db.table_exists(conn, "facts"):
        where.append(NAMED)
    joined = " AND ".join(where)
    return Rule("messages", "--messages", age,
                pick=f"SELECT rowid FROM messages WHERE {joined} ORDER BY rowid",
                delete=f"DELETE FROM messages WHERE {BATCH_IDS} AND {joined}")


def parse_ages(path: Path, **given: str | None) -> dict[str, Age]:
    """{table: Age} of the options given (audit_log=, outcomes=, scheduled_tasks=, messages=)."""
    return {table: parse_age(text, NEEDS[table][0], path) for table, text in given.items() if text is not None}


# table -> (its option, the migration that creates what the rule needs)
NEEDS = {
    "audit_log": ("--audit-log", "002_audit_log"),
    "outcomes": ("--outcomes", "010_outcomes"),
    "scheduled_tasks": ("--tasks", "005_scheduled_tasks"),
    "messages": ("--messages", "003_memory_enhancement"),
}


def _absent(conn: sqlite3.Connection, table: str) -> bool:
    if table == "messages":  # a closed conversation needs conversations.status (003)
        return not db.table_exists(conn, "messages") or "status" not in db.table_columns(conn, "conversations")
    return not db.table_exists(conn, table)


def rules(conn: sqlite3.Connection, ages: dict[str, Age]) -> tuple[Rule, ...]:
    """The rules asked for ({table: age}), as they apply to the file behind conn, in ORDER."""
    found = []
    for table in ORDER:
        if table not in ages:
            continue
        option, migration = NEEDS[table]
        age = ages[table]
        if _absent(conn, table):
            what = "conversations.status" if table == "messages" and db.table_exists(conn, "messages") else table
            found.append(Rule(table, option, age, missing=f"{option}: the file has no {what} yet "
                                                          f"(before {migration}), so nothing is deleted from it"))
        elif table == "outcomes":
            found.append(_outcomes(conn, age))
        elif table == "messages":
            found.append(_messages(conn, age))
        else:
            found.append(_simple(table, option, age, AUDIT_WHERE if table == "audit_log" else TASKS_WHERE))
    return tuple(found)


def total(conn: sqlite3.Connection, table: str) -> int:
    """The rows a table holds (0 when it does not exist), counted on the table's own pages."""
    if not db.table_exists(conn, table):
        return 0
    # NOT INDEXED: count(*) would walk the smallest index, and a dry run on a file whose table
    # pages are damaged would answer from the index where the real run fails on the table.
    return int(conn.execute(f"SELECT count(*) FROM {table} NOT INDEXED").fetchone()[0])
