"""A 013 file with rows on both sides of every prune rule, times relative to SQLite's now (for test_prune*.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests import helpers

DAY = 24  # hours

# Each rule's deletable rows, written here independently of omega-db's SQL: the tests compare
# what prune deletes (and --dry-run counts) with these.
EXPECTED_AUDIT = "SELECT id FROM audit_log WHERE datetime(timestamp) < datetime('now', ?)"
EXPECTED_TASKS = (
    "SELECT id FROM scheduled_tasks WHERE status <> 'pending' AND status IN ('delivered', 'cancelled', 'failed') "
    "AND datetime(due_at) < datetime('now', ?)"
)
# An outcome OMEGA may still read has fewer than 20 strictly newer outcomes of its sender, or of its
# sender and project, or is at most 48 hours old (ties at the 20th place: all of them may be read).
EXPECTED_OUTCOMES = """
SELECT o.id FROM outcomes AS o
WHERE datetime(o.timestamp) < datetime('now', ?)
  AND datetime(o.timestamp) < datetime('now', '-48 hours')
  AND (SELECT count(*) FROM outcomes AS n WHERE n.sender_id = o.sender_id AND n.timestamp > o.timestamp) >= 20
  AND (SELECT count(*) FROM outcomes AS n WHERE n.sender_id = o.sender_id AND n.project = o.project
       AND n.timestamp > o.timestamp) >= 20
"""
EXPECTED_MESSAGES = """
SELECT m.id FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id
WHERE c.status = 'closed' AND datetime(m.timestamp) < datetime('now', ?)
  AND NOT EXISTS (SELECT 1 FROM facts AS f WHERE f.source_message_id = m.id)
"""
EXPECTED = {"audit_log": EXPECTED_AUDIT, "outcomes": EXPECTED_OUTCOMES, "scheduled_tasks": EXPECTED_TASKS,
            "messages": EXPECTED_MESSAGES}


def ago(hours: float) -> str:
    """A SQLite modifier for `hours` ago."""
    return f"{-hours:+} hours"


def _outcome(conn: sqlite3.Connection, oid: str, sender: str, project: str, when: str) -> None:
    conn.execute(
        "INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson, source, project) "
        "VALUES (?, datetime('now', ?), ?, 'coding', 1, ?, 'conversation', ?)",
        (oid, when, sender, f"lesson {oid}", project),
    )


def seed_outcomes(conn: sqlite3.Connection) -> None:
    """Senders on each side of the 20/20/48h protection, ties at the 20th place included."""
    # alice: 30 general outcomes 40..69 days old (her 20 newest are 40..59) and 5 of project
    # alpha 200..204 days old: old, but the 5 newest (all) of (alice, alpha).
    for i in range(30):
        _outcome(conn, f"alice-g{i:02d}", "alice", "", ago((40 + i) * DAY))
    for i in range(5):
        _outcome(conn, f"alice-a{i}", "alice", "alpha", ago((200 + i) * DAY))
    # bob: 19 outcomes 31..49 days old, then 5 tied at exactly the same time 60 days old (the
    # 20th place: any of them may be OMEGA's 20th), then 4 older ones 90..93 days old.
    for i in range(19):
        _outcome(conn, f"bob-{i:02d}", "bob", "", ago((31 + i) * DAY))
    conn.execute("CREATE TEMP TABLE tie AS SELECT datetime('now', ?) AS t", (ago(60 * DAY),))
    for i in range(5):
        conn.execute(
            "INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson, source, project) "
            "SELECT ?, t, 'bob', 'coding', 0, 'tied', 'conversation', '' FROM tie", (f"bob-tie{i}",))
    for i in range(4):
        _outcome(conn, f"bob-old{i}", "bob", "", ago((90 + i) * DAY))
    # carol: 30 outcomes of the last 47 hours (more than 20, all kept), and 6 of 40 days ago.
    for i in range(30):
        _outcome(conn, f"carol-r{i:02d}", "carol", "beta", ago(1 + i * 1.5))
    for i in range(6):
        _outcome(conn, f"carol-old{i}", "carol", "beta", ago(40 * DAY + i))


def seed_rest(conn: sqlite3.Connection) -> None:
    """audit_log, tasks, conversations and messages on both sides of each rule."""
    for i, hours in enumerate([1, 2 * DAY, 29 * DAY, 31 * DAY, 100 * DAY, 400 * DAY]):
        conn.execute(
            "INSERT INTO audit_log (id, timestamp, channel, sender_id, input_text, output_text) "
            "VALUES (?, datetime('now', ?), 'telegram', 'alice', ?, 'out')", (f"audit-{i}", ago(hours), f"in {i}"))
    conn.execute("INSERT INTO audit_log (id, timestamp, channel, sender_id, input_text) "
                 "VALUES ('audit-odd', 'not a time', 'telegram', 'alice', 'odd')")
    n = 0
    for status in ("pending", "delivered", "cancelled", "failed"):
        for hours in (-DAY, 5 * DAY, 40 * DAY, 300 * DAY):
            conn.execute(
                "INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at, status) "
                "VALUES (?, 'telegram', 'alice', 'chat', ?, datetime('now', ?), ?)",
                (f"task-{n}", f"{status} {hours}", ago(hours), status))
            n += 1
    # due_at as OMEGA may receive it: with T, with a trailing Z.
    conn.execute("INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at, status) "
                 "VALUES ('task-T', 'telegram', 'bob', 'chat', 'T form', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', "
                 "'-60 days'), 'delivered')")
    for conv, status in (("c-closed", "closed"), ("c-active", "active"), ("c-named", "closed")):
        conn.execute("INSERT INTO conversations (id, channel, sender_id, summary, status) "
                     "VALUES (?, 'telegram', 'alice', ?, ?)", (conv, f"summary of {conv}", status))
        for i, hours in enumerate([2, 20 * DAY, 200 * DAY, 400 * DAY]):
            role = "user" if i % 2 == 0 else "assistant"
            conn.execute("INSERT INTO messages (id, conversation_id, role, content, timestamp) "
                         "VALUES (?, ?, ?, ?, datetime('now', ?))",
                         (f"{conv}-m{i}", conv, role, f"{role} words {conv} number {i}", ago(hours)))
    conn.execute("INSERT INTO facts (id, sender_id, key, value, source_message_id) "
                 "VALUES ('fact-1', 'alice', 'city', 'Lisbon', 'c-named-m2')")


def seed(path: Path) -> Path:
    """Build a 013 file at path with the rows above."""
    helpers.build(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        seed_outcomes(conn)
        seed_rest(conn)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return path


def expected(path: Path, table: str, modifier: str) -> set[str]:
    """The ids the test's own SQL says a rule deletes."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {row[0] for row in conn.execute(EXPECTED[table], (modifier,))}
    finally:
        conn.close()


def ids(path: Path, table: str) -> set[str]:
    """Every id a table holds."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {row[0] for row in conn.execute(f"SELECT id FROM {table}")}
    finally:
        conn.close()
