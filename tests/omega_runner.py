"""What OMEGA itself does to a memory database, for building the files omega-db meets in the wild.

OMEGA's runner is not atomic: it executes a migration's statements one by one
and inserts the `_migrations` row afterwards. A crash or an error in the middle
leaves the statements before it applied and the migration unrecorded.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from omega_db.chain import files

# OMEGA's own 003 uses ALTER TABLE; the second statement fails on a non-empty
# conversations table ("Cannot add a column with non-constant default").
OMEGA_003 = (
    "ALTER TABLE conversations ADD COLUMN summary TEXT",
    "ALTER TABLE conversations ADD COLUMN last_activity TEXT NOT NULL DEFAULT (datetime('now'))",
    "ALTER TABLE conversations ADD COLUMN status TEXT NOT NULL DEFAULT 'active'",
    "CREATE INDEX IF NOT EXISTS idx_conversations_status ON conversations(status, last_activity)",
    "DROP TABLE IF EXISTS facts",
    "CREATE TABLE IF NOT EXISTS facts (id TEXT PRIMARY KEY, sender_id TEXT NOT NULL, key TEXT NOT NULL, "
    "value TEXT NOT NULL, source_message_id TEXT REFERENCES messages(id), "
    "created_at TEXT NOT NULL DEFAULT (datetime('now')), updated_at TEXT NOT NULL DEFAULT (datetime('now')), "
    "UNIQUE(sender_id, key))",
)

# OMEGA's own 012 and 013 (omega-schema.md), statement by statement as its runner runs them.
OMEGA_012 = (
    "CREATE TABLE IF NOT EXISTS project_sessions (id TEXT PRIMARY KEY, channel TEXT NOT NULL, "
    "sender_id TEXT NOT NULL, project TEXT NOT NULL DEFAULT '', session_id TEXT NOT NULL, parent_project TEXT, "
    "created_at TEXT NOT NULL DEFAULT (datetime('now')), updated_at TEXT NOT NULL DEFAULT (datetime('now')), "
    "UNIQUE(channel, sender_id, project))",
    "CREATE INDEX IF NOT EXISTS idx_project_sessions_lookup ON project_sessions(channel, sender_id, project)",
    "ALTER TABLE conversations ADD COLUMN project TEXT NOT NULL DEFAULT ''",
    "CREATE INDEX IF NOT EXISTS idx_conversations_project "
    "ON conversations(channel, sender_id, project, status, last_activity)",
)
OMEGA_013 = (
    "CREATE TABLE lessons_v2 (id TEXT PRIMARY KEY, sender_id TEXT NOT NULL, domain TEXT NOT NULL, "
    "rule TEXT NOT NULL, project TEXT NOT NULL DEFAULT '', occurrences INTEGER NOT NULL DEFAULT 1, "
    "created_at TEXT NOT NULL DEFAULT (datetime('now')), updated_at TEXT NOT NULL DEFAULT (datetime('now')))",
    "INSERT INTO lessons_v2 SELECT * FROM lessons",
    "DROP TABLE lessons",
    "ALTER TABLE lessons_v2 RENAME TO lessons",
    "CREATE INDEX IF NOT EXISTS idx_lessons_sender ON lessons(sender_id)",
    "CREATE INDEX IF NOT EXISTS idx_lessons_project ON lessons(sender_id, project)",
    "CREATE INDEX IF NOT EXISTS idx_lessons_domain ON lessons(sender_id, domain, project)",
)
UPSTREAM = {"012": OMEGA_012, "013": OMEGA_013}


def shipped(number: str) -> files.Migration:
    """omega-db's own migration file with that number (011 is OMEGA's 011 word for word)."""
    return next(m for m in files.discover() if m.number == number)


def run_like_omega(path: Path, statements: tuple[str, ...] | list[str], *, record: str | None = None) -> str | None:
    """Execute statements one by one as OMEGA's runner does; record `record` only if all ran.

    Returns the error that stopped the runner, or None.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in statements:
            try:
                conn.execute(statement)
            except sqlite3.Error as exc:
                return str(exc)
        if record:
            conn.execute("INSERT INTO _migrations (name) VALUES (?)", (record,))
        return None
    finally:
        conn.close()


def half_011(path: Path, statements: int) -> None:
    """A 010 database after OMEGA's runner stopped once `statements` statements of 011 had run."""
    run_like_omega(path, shipped("011").statements[:statements])


def half_003(path: Path) -> str | None:
    """Run OMEGA's 003 on the database (at 002) as OMEGA would; returns the error it stopped on."""
    return run_like_omega(path, OMEGA_003, record="003_memory_enhancement")
