"""What OMEGA v1.3.0's `build_context` takes from the memory database for one sender's conversation.

Each section is OMEGA's own query (omega-schema.md, "What the agent sees in a conversation"),
with its order and its limit, on one read-only snapshot. Nothing is created: where OMEGA would
start a new conversation, the history here is empty and `conversation` is None.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from omega_db.ground import db, decoding
from omega_db.ground.errors import BadArgumentError, MissingMigrationError

DEFAULT_MAX_MESSAGES = 50  # OMEGA's [memory] max_context_messages when config.toml says nothing
ACTIVE_MINUTES = 120  # a conversation idle longer than this is not the current one
RECALL_MIN_BYTES = 3  # OMEGA's recall gives nothing for a shorter text
SECTIONS = ("profile", "summaries", "recall", "pending_tasks", "outcomes", "lessons", "history")
# Profile keys OMEGA keeps for itself: in the facts query's rows, left out of the profile text.
SYSTEM_FACTS = frozenset({"active_project", "onboarding_stage", "preferred_language"})

# Which migration makes each table the context reads (for "which migration is missing").
# The latest first: a file without 010's tables is told about 010, which brings the others too.
_MADE_BY = (
    ("lessons", "010_outcomes"),
    ("outcomes", "010_outcomes"),
    ("scheduled_tasks", "005_scheduled_tasks"),
    ("facts", "003_memory_enhancement"),
    ("conversations", "001_init"),
    ("messages", "001_init"),
)
_RECALL_TABLE = ("messages_fts", "004_fts5_recall")

# OMEGA's queries, word for word; {project} is the column, or '' before 011 (every row general), and
# {selected} the column or '' AS project. Values are bound.
SQL_CHANNEL = "SELECT channel FROM conversations WHERE sender_id = ? ORDER BY last_activity DESC LIMIT 1"
SQL_CURRENT = ("SELECT id FROM conversations WHERE channel = ? AND sender_id = ?{and_project} AND status = 'active' "
               f"AND datetime(last_activity) > datetime('now', '-{ACTIVE_MINUTES} minutes') "
               "ORDER BY last_activity DESC LIMIT 1")
SQL_HISTORY = ("SELECT role, content FROM (SELECT role, content, timestamp FROM messages WHERE conversation_id = ? "
               "ORDER BY timestamp DESC LIMIT ?) ORDER BY timestamp ASC")
SQL_PROFILE = "SELECT key, value FROM facts WHERE sender_id = ? ORDER BY key"
SQL_SUMMARIES = ("SELECT summary, updated_at FROM conversations WHERE channel = ? AND sender_id = ? "
                 "AND status = 'closed' AND summary IS NOT NULL ORDER BY updated_at DESC LIMIT 3")
SQL_RECALL = ("SELECT m.role, m.content, m.timestamp FROM messages_fts fts JOIN messages m ON m.rowid = fts.rowid "
              "JOIN conversations c ON c.id = m.conversation_id WHERE messages_fts MATCH ?{not_current} "
              "AND c.sender_id = ? ORDER BY rank LIMIT 5")
SQL_TASKS = ("SELECT id, description, due_at, repeat, task_type, {selected} FROM scheduled_tasks "
             "WHERE sender_id = ? AND status = 'pending' ORDER BY due_at ASC")
SQL_OUTCOMES = "SELECT score, domain, lesson, timestamp FROM outcomes WHERE sender_id = ?{and_project} " \
               "ORDER BY timestamp DESC LIMIT 15"
SQL_LESSONS_PROJECT = ("SELECT domain, rule, {selected} FROM lessons WHERE sender_id = ? "
                       "AND ({project} = ? OR {project} = '') "
                       "ORDER BY CASE WHEN {project} = ? THEN 0 ELSE 1 END, updated_at DESC LIMIT 50")
SQL_LESSONS_GENERAL = ("SELECT domain, rule, {selected} FROM lessons WHERE sender_id = ? "
                       "AND {project} = '' ORDER BY updated_at DESC LIMIT 50")


@dataclass(frozen=True)
class Section:
    """One part of the context: its name, its query's columns, and the rows in the query's order."""

    name: str
    columns: tuple[str, ...]
    rows: list[tuple[object, ...]]


@dataclass(frozen=True)
class Context:
    """What the agent would see for sender in channel with project active ('' none)."""

    sender: str
    project: str
    channel: str | None  # None: the sender has no conversation anywhere and none was named
    conversation: str | None  # the current conversation's id; None: OMEGA would start a new one
    max_messages: int
    before_011: bool  # no project columns yet: every row is general
    sections: tuple[Section, ...]


def phrase(text: str) -> str:
    """The text as one FTS5 phrase, as OMEGA quotes it: FTS5's operators in it are plain words."""
    return '"' + text.replace('"', '""') + '"'


def max_messages(value: object, where: str) -> int:
    """[memory] max_context_messages from OMEGA's config (None: its default, 50)."""
    if value is None:
        return DEFAULT_MAX_MESSAGES
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise BadArgumentError(f"OMEGA's config file {where}: [memory] max_context_messages must be a "
                               f"whole number of messages (0 or more), not {value!r}; fix it.")
    return value


def _require(conn: sqlite3.Connection, table: str, migration: str) -> list[str]:
    columns = db.table_columns(conn, table)
    if not columns:
        raise MissingMigrationError(
            f"this database has no {table} table yet: migration {migration} is missing; "
            "run `omega-db migrate` on it first."
        )
    return columns


def _rows(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
    """The query's rows, values as stored; text that is not UTF-8 (damage) with U+FFFD, counted."""
    return [tuple(decoding.decode(v) if isinstance(v, bytes) else v for v in row)
            for row in conn.execute(sql, params)]


def build(
    conn: sqlite3.Connection,
    *,
    sender: str,
    project: str | None = None,
    channel: str | None = None,
    message: str | None = None,
    max_context_messages: int = DEFAULT_MAX_MESSAGES,
) -> Context:
    """Every section OMEGA injects for sender's next message, by OMEGA's queries, on conn's snapshot."""
    decoding.require_utf8(sender=sender, project=project, channel=channel, message=message)
    tables = {table: _require(conn, table, made_by) for table, made_by in _MADE_BY}
    if message is not None:
        _require(conn, *_RECALL_TABLE)
    p = project or ""
    has = {table: "project" in columns for table, columns in tables.items()}
    scope = {table: "project" if present else "''" for table, present in has.items()}
    conn.text_factory = bytes  # every text value is decoded by _rows, damage counted
    if channel is None:
        found = _rows(conn, SQL_CHANNEL, (sender,))
        channel = str(found[0][0]) if found else None
    # OMEGA before 012 knew no project for a conversation: its query had no project filter.
    and_project = " AND project = ?" if has["conversations"] else ""
    current_sql = SQL_CURRENT.format(and_project=and_project)
    current = _rows(conn, current_sql, (channel, sender, p) if and_project else (channel, sender))
    conversation = str(current[0][0]) if current else None
    sections = [
        Section("profile", ("key", "value"), _rows(conn, SQL_PROFILE, (sender,))),
        Section("summaries", ("summary", "updated_at"), _rows(conn, SQL_SUMMARIES, (channel, sender))),
    ]
    if message is not None:
        sections.append(Section("recall", ("role", "content", "timestamp"), _recall(conn, sender, message,
                                                                                    conversation)))
    sections += [
        Section("pending_tasks", ("id", "description", "due_at", "repeat", "task_type", "project"),
                _rows(conn, SQL_TASKS.format(selected=_selected(scope["scheduled_tasks"])), (sender,))),
        Section("outcomes", ("score", "domain", "lesson", "timestamp"), _outcomes(conn, sender, p, scope["outcomes"])),
        Section("lessons", ("domain", "rule", "project"), _lessons(conn, sender, p, scope["lessons"])),
        Section("history", ("role", "content"),
                _rows(conn, SQL_HISTORY, (conversation, max_context_messages)) if conversation else []),
    ]
    return Context(sender, p, channel, conversation, max_context_messages,
                   not (has["lessons"] and has["outcomes"]), tuple(sections))


def _recall(conn: sqlite3.Connection, sender: str, message: str, conversation: str | None) -> list[tuple[object, ...]]:
    """OMEGA's recall: the text as one phrase, in the sender's other conversations, best 5 by rank."""
    if len(message.encode("utf-8", "surrogateescape")) < RECALL_MIN_BYTES:
        return []
    if conversation is None:  # OMEGA's new conversation holds no message: nothing to leave out
        return _rows(conn, SQL_RECALL.format(not_current=""), (phrase(message), sender))
    sql = SQL_RECALL.format(not_current=" AND m.conversation_id != ?")
    return _rows(conn, sql, (phrase(message), conversation, sender))


def _outcomes(conn: sqlite3.Connection, sender: str, project: str, scope: str) -> list[tuple[object, ...]]:
    """The sender's 15 newest outcomes; only P's when P is active."""
    if not project:
        return _rows(conn, SQL_OUTCOMES.format(and_project=""), (sender,))
    return _rows(conn, SQL_OUTCOMES.format(and_project=f" AND {scope} = ?"), (sender, project))


def _lessons(conn: sqlite3.Connection, sender: str, project: str, scope: str) -> list[tuple[object, ...]]:
    """The 50 lessons OMEGA injects: P's first, then the general ones; the general ones alone with no P."""
    if not project:
        return _rows(conn, SQL_LESSONS_GENERAL.format(project=scope, selected=_selected(scope)), (sender,))
    return _rows(conn, SQL_LESSONS_PROJECT.format(project=scope, selected=_selected(scope)), (sender, project, project))


def _selected(scope: str) -> str:
    """The project as OMEGA selects it: the column itself, or '' named project before 011."""
    return "project" if scope == "project" else f"{scope} AS project"
