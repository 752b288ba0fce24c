"""A fresh database's structure (migrated to 013) equals omega-schema.md, read back through PRAGMAs.

The expected values below are transcribed from ../shared/omega-schema.md (the
facts OMEGA and omega-db must agree on), not derived from the migration files:
that is what makes this test able to catch a wrong migration file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

NOW = "datetime('now')"
# (name, type, notnull, default, pk) per column, in order.
COLUMNS: dict[str, list[tuple[str, str, int, str | None, int]]] = {
    "_migrations": [("name", "TEXT", 0, None, 1), ("applied_at", "TEXT", 1, NOW, 0)],
    "conversations": [
        ("id", "TEXT", 0, None, 1),
        ("channel", "TEXT", 1, None, 0),
        ("sender_id", "TEXT", 1, None, 0),
        ("started_at", "TEXT", 1, NOW, 0),
        ("updated_at", "TEXT", 1, NOW, 0),
        ("summary", "TEXT", 0, None, 0),
        ("last_activity", "TEXT", 1, NOW, 0),
        ("status", "TEXT", 1, "'active'", 0),
        ("project", "TEXT", 1, "''", 0),
    ],
    "messages": [
        ("id", "TEXT", 0, None, 1),
        ("conversation_id", "TEXT", 1, None, 0),
        ("role", "TEXT", 1, None, 0),
        ("content", "TEXT", 1, None, 0),
        ("timestamp", "TEXT", 1, NOW, 0),
        ("metadata_json", "TEXT", 0, None, 0),
    ],
    "facts": [
        ("id", "TEXT", 0, None, 1),
        ("sender_id", "TEXT", 1, None, 0),
        ("key", "TEXT", 1, None, 0),
        ("value", "TEXT", 1, None, 0),
        ("source_message_id", "TEXT", 0, None, 0),
        ("created_at", "TEXT", 1, NOW, 0),
        ("updated_at", "TEXT", 1, NOW, 0),
    ],
    "audit_log": [
        ("id", "TEXT", 0, None, 1),
        ("timestamp", "TEXT", 1, NOW, 0),
        ("channel", "TEXT", 1, None, 0),
        ("sender_id", "TEXT", 1, None, 0),
        ("sender_name", "TEXT", 0, None, 0),
        ("input_text", "TEXT", 1, None, 0),
        ("output_text", "TEXT", 0, None, 0),
        ("provider_used", "TEXT", 0, None, 0),
        ("model", "TEXT", 0, None, 0),
        ("processing_ms", "INTEGER", 0, None, 0),
        ("status", "TEXT", 1, "'ok'", 0),
        ("denial_reason", "TEXT", 0, None, 0),
    ],
    "scheduled_tasks": [
        ("id", "TEXT", 0, None, 1),
        ("channel", "TEXT", 1, None, 0),
        ("sender_id", "TEXT", 1, None, 0),
        ("reply_target", "TEXT", 1, None, 0),
        ("description", "TEXT", 1, None, 0),
        ("due_at", "TEXT", 1, None, 0),
        ("repeat", "TEXT", 0, None, 0),
        ("status", "TEXT", 1, "'pending'", 0),
        ("created_at", "TEXT", 1, NOW, 0),
        ("delivered_at", "TEXT", 0, None, 0),
        ("task_type", "TEXT", 1, "'reminder'", 0),
        ("retry_count", "INTEGER", 1, "0", 0),
        ("last_error", "TEXT", 0, None, 0),
        ("project", "TEXT", 1, "''", 0),
    ],
    "limitations": [
        ("id", "TEXT", 0, None, 1),
        ("title", "TEXT", 1, None, 0),
        ("description", "TEXT", 1, None, 0),
        ("proposed_plan", "TEXT", 1, "''", 0),
        ("status", "TEXT", 1, "'open'", 0),
        ("created_at", "TEXT", 1, NOW, 0),
        ("resolved_at", "TEXT", 0, None, 0),
    ],
    "user_aliases": [
        ("alias_sender_id", "TEXT", 0, None, 1),
        ("canonical_sender_id", "TEXT", 1, None, 0),
    ],
    "outcomes": [
        ("id", "TEXT", 0, None, 1),
        ("timestamp", "TEXT", 1, NOW, 0),
        ("sender_id", "TEXT", 1, None, 0),
        ("domain", "TEXT", 1, None, 0),
        ("score", "INTEGER", 1, None, 0),
        ("lesson", "TEXT", 1, None, 0),
        ("source", "TEXT", 1, "'conversation'", 0),
        ("project", "TEXT", 1, "''", 0),
    ],
    "lessons": [
        ("id", "TEXT", 0, None, 1),
        ("sender_id", "TEXT", 1, None, 0),
        ("domain", "TEXT", 1, None, 0),
        ("rule", "TEXT", 1, None, 0),
        ("project", "TEXT", 1, "''", 0),
        ("occurrences", "INTEGER", 1, "1", 0),
        ("created_at", "TEXT", 1, NOW, 0),
        ("updated_at", "TEXT", 1, NOW, 0),
    ],
    "project_sessions": [
        ("id", "TEXT", 0, None, 1),
        ("channel", "TEXT", 1, None, 0),
        ("sender_id", "TEXT", 1, None, 0),
        ("project", "TEXT", 1, "''", 0),
        ("session_id", "TEXT", 1, None, 0),
        ("parent_project", "TEXT", 0, None, 0),
        ("created_at", "TEXT", 1, NOW, 0),
        ("updated_at", "TEXT", 1, NOW, 0),
    ],
}

# Named indexes: (table, unique, columns); a COLLATE shows as the column name.
INDEXES = {
    "idx_conversations_channel_sender": ("conversations", 0, ["channel", "sender_id"]),
    "idx_conversations_status": ("conversations", 0, ["status", "last_activity"]),
    "idx_messages_conversation": ("messages", 0, ["conversation_id", "timestamp"]),
    "idx_audit_log_timestamp": ("audit_log", 0, ["timestamp"]),
    "idx_audit_log_sender": ("audit_log", 0, ["channel", "sender_id"]),
    "idx_scheduled_tasks_due": ("scheduled_tasks", 0, ["status", "due_at"]),
    "idx_scheduled_tasks_sender": ("scheduled_tasks", 0, ["sender_id", "status"]),
    "idx_limitations_title": ("limitations", 1, ["title"]),
    "idx_outcomes_sender_time": ("outcomes", 0, ["sender_id", "timestamp"]),
    "idx_outcomes_time": ("outcomes", 0, ["timestamp"]),
    "idx_outcomes_project": ("outcomes", 0, ["sender_id", "project", "timestamp"]),
    "idx_lessons_sender": ("lessons", 0, ["sender_id"]),
    "idx_lessons_project": ("lessons", 0, ["sender_id", "project"]),
    "idx_lessons_domain": ("lessons", 0, ["sender_id", "domain", "project"]),
    "idx_project_sessions_lookup": ("project_sessions", 0, ["channel", "sender_id", "project"]),
    "idx_conversations_project": ("conversations", 0, ["channel", "sender_id", "project", "status", "last_activity"]),
}

# UNIQUE constraints (automatic indexes of origin 'u'), per table.
UNIQUES = {
    "facts": [["sender_id", "key"]],
    "project_sessions": [["channel", "sender_id", "project"]],  # lessons has none since 013
}

FOREIGN_KEYS = {
    "messages": [("conversation_id", "conversations", "id")],
    "facts": [("source_message_id", "messages", "id")],
}

TRIGGERS = {"messages_fts_insert", "messages_fts_delete", "messages_fts_update"}

MIGRATION_NAMES = [
    "001_init", "002_audit_log", "003_memory_enhancement", "004_fts5_recall",
    "005_scheduled_tasks", "006_limitations", "007_task_type", "008_user_aliases",
    "009_task_retry", "010_outcomes", "011_project_learning", "012_project_sessions",
    "013_multi_lessons",
]


@pytest.fixture
def conn(migrated_db: Path) -> sqlite3.Connection:
    c = sqlite3.connect(migrated_db)
    yield c
    c.close()


def test_exactly_the_documented_tables(conn: sqlite3.Connection) -> None:
    tables = {
        n for (n,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'messages_fts_%'"
        )
    }
    assert tables == set(COLUMNS) | {"messages_fts"}


@pytest.mark.parametrize("table", sorted(COLUMNS))
def test_columns_in_order_with_type_notnull_default_pk(conn: sqlite3.Connection, table: str) -> None:
    rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in rows] == COLUMNS[table]


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_named_index(conn: sqlite3.Connection, name: str) -> None:
    table, unique, columns = INDEXES[name]
    listed = {r[1]: r for r in conn.execute(f"PRAGMA index_list({table})")}
    assert name in listed, f"{name} missing on {table}"
    assert listed[name][2] == unique
    assert [r[2] for r in conn.execute(f"PRAGMA index_info({name})")] == columns


def test_no_undocumented_named_index(conn: sqlite3.Connection) -> None:
    named = {
        n for (n,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'"
        )
    }
    assert named == set(INDEXES)


def test_limitations_title_index_is_nocase(conn: sqlite3.Connection) -> None:
    coll = [r[4] for r in conn.execute("PRAGMA index_xinfo(idx_limitations_title)") if r[5]]
    assert coll == ["NOCASE"]


@pytest.mark.parametrize("table", sorted(COLUMNS))
def test_unique_constraints(conn: sqlite3.Connection, table: str) -> None:
    uniques = [
        [c[2] for c in conn.execute(f"PRAGMA index_info({r[1]})")]
        for r in conn.execute(f"PRAGMA index_list({table})")
        if r[3] == "u"
    ]
    assert sorted(uniques) == sorted(UNIQUES.get(table, []))


@pytest.mark.parametrize("table", sorted(COLUMNS))
def test_foreign_keys(conn: sqlite3.Connection, table: str) -> None:
    fks = [(r[3], r[2], r[4]) for r in conn.execute(f"PRAGMA foreign_key_list({table})")]
    assert fks == FOREIGN_KEYS.get(table, [])


def test_check_constraints_are_enforced(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO conversations (id, channel, sender_id) VALUES ('c', 'x', 's')")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("INSERT INTO messages (id, conversation_id, role, content) VALUES ('m', 'c', 'system', 'x')")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("INSERT INTO audit_log (id, channel, sender_id, input_text, status) VALUES ('a', 'c', 's', 'i', 'weird')")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("INSERT INTO outcomes (id, sender_id, domain, score, lesson) VALUES ('o', 's', 'd', 2, 'l')")
    for score in (-1, 0, 1):
        conn.execute("INSERT INTO outcomes (id, sender_id, domain, score, lesson) VALUES (?, 's', 'd', ?, 'l')",
                     (f"o{score}", score))


def test_several_lessons_per_scope_since_013(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO lessons (id, sender_id, domain, rule) VALUES ('1', 's', 'd', 'r')")
    conn.execute("INSERT INTO lessons (id, sender_id, domain, rule, project) VALUES ('2', 's', 'd', 'r', 'p')")
    conn.execute("INSERT INTO lessons (id, sender_id, domain, rule, project) VALUES ('3', 's', 'd', 'r2', 'p')")
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):  # the id is still the primary key
        conn.execute("INSERT INTO lessons (id, sender_id, domain, rule, project) VALUES ('3', 's', 'd', 'r3', 'p')")


def test_project_sessions_unique_per_channel_sender_project(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO project_sessions (id, channel, sender_id, session_id) VALUES ('1', 'tg', 's', 'a')")
    conn.execute("INSERT INTO project_sessions (id, channel, sender_id, project, session_id) VALUES ('2', 'tg', 's', 'p', 'b')")
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute("INSERT INTO project_sessions (id, channel, sender_id, project, session_id) VALUES ('3', 'tg', 's', 'p', 'c')")


def test_fts5_external_content_over_user_messages_only(conn: sqlite3.Connection) -> None:
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'messages_fts'").fetchone()[0]
    assert "fts5" in sql.lower() and "content" in sql.lower()
    triggers = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert triggers == TRIGGERS
    conn.execute("INSERT INTO conversations (id, channel, sender_id) VALUES ('c', 'x', 's')")
    conn.execute("INSERT INTO messages (id, conversation_id, role, content) VALUES ('u', 'c', 'user', 'zebra crossing')")
    conn.execute("INSERT INTO messages (id, conversation_id, role, content) VALUES ('a', 'c', 'assistant', 'zebra reply')")
    hits = conn.execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'zebra'").fetchall()
    assert len(hits) == 1
    conn.execute("UPDATE messages SET content = 'lion roar' WHERE id = 'u'")
    assert conn.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'zebra'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'lion'").fetchone()[0] == 1
    conn.execute("DELETE FROM messages WHERE id = 'u'")
    assert conn.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'lion'").fetchone()[0] == 0
    conn.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 0)")


def test_migrations_recorded_by_their_file_stems(conn: sqlite3.Connection) -> None:
    assert [n for (n,) in conn.execute("SELECT name FROM _migrations ORDER BY rowid")] == MIGRATION_NAMES
