"""Databases whose rows span projects, at any version, and the SQL that answers `projects` for them."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests import helpers

PROJECTS = ("", "alpha", "beta", "g\x1bamma")


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute("SELECT * FROM pragma_table_info(?)", (table,))]


def _insert(conn: sqlite3.Connection, table: str, values: dict[str, Any]) -> None:
    """Insert the values whose columns the table has (a file before 011 has no project column)."""
    columns = _columns(conn, table)
    if not columns:
        return
    kept = {k: v for k, v in values.items() if k in columns}
    names = ", ".join(kept)
    conn.execute(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' for _ in kept)})", tuple(kept.values()))


def seed(path: Path, *, n: int = 24) -> Path:
    """Rows in every table that exists, spread over PROJECTS, senders, channels and times."""
    conn = helpers.connect(path)
    try:
        conn.execute("BEGIN")
        for i in range(n):
            project = PROJECTS[i % len(PROJECTS)]
            sender = helpers.SENDERS[i % 3]
            day = f"2026-03-{i % 28 + 1:02d}"
            _insert(conn, "outcomes", {"id": f"o{i}", "timestamp": f"{day} 10:00:00", "sender_id": sender,
                                       "domain": "coding", "score": i % 3 - 1, "lesson": f"l{i}", "project": project})
            if i % 2 == 0:
                _insert(conn, "lessons", {"id": f"l{i}", "sender_id": sender, "domain": f"d{i}", "rule": f"r{i}",
                                          "project": project, "created_at": "2026-01-01 00:00:00",
                                          "updated_at": f"2026-04-{i % 28 + 1:02d} 08:00:00"})
            _insert(conn, "scheduled_tasks", {"id": f"t{i}", "channel": "telegram", "sender_id": sender,
                                              "reply_target": "c", "description": f"task {i}",
                                              "due_at": f"{day} 09:00:00", "project": project,
                                              "status": ("pending", "delivered")[i % 2]})
            _insert(conn, "conversations", {"id": f"c{i}", "channel": "telegram", "sender_id": sender,
                                            "project": project, "last_activity": f"2026-05-{i % 28 + 1:02d} 07:00:00",
                                            "status": ("active", "closed")[i % 2]})
            if i < 6:
                _insert(conn, "project_sessions", {"id": f"s{i}", "channel": f"ch{i}", "sender_id": sender,
                                                   "project": project, "session_id": f"sess{i}",
                                                   "parent_project": "parent-only" if i == 1 else None})
        for i, sender in enumerate(helpers.SENDERS):
            if "sender_id" in _columns(conn, "facts"):
                _insert(conn, "facts", {"id": f"f{i}", "sender_id": sender, "key": "active_project",
                                        "value": ("alpha", "alpha", "only-a-fact")[i]})
        conn.execute("COMMIT")
    finally:
        conn.close()
    return path


def expected(path: Path, folders: set[str] | None) -> list[dict[str, Any]]:
    """What `projects -f json` must answer, in SQL written here, table by table."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        def scope(table: str, column: str = "project") -> str:
            return column if column in _columns(conn, table) else "''"

        def has(table: str) -> bool:
            return bool(_columns(conn, table))

        names: set[str] = {""}
        parts = []
        for table in ("outcomes", "lessons", "scheduled_tasks", "conversations", "project_sessions"):
            if has(table):
                parts.append(f"SELECT {scope(table)} FROM {table}")
        if has("project_sessions"):
            parts.append("SELECT parent_project FROM project_sessions WHERE parent_project IS NOT NULL")
        if "key" in _columns(conn, "facts"):
            parts.append("SELECT value FROM facts WHERE key = 'active_project'")
        if parts:
            names |= {name for (name,) in conn.execute(" UNION ".join(parts))}
        names |= folders or set()

        def count(table: str, where: str, name: str) -> int:
            if not has(table):
                return 0
            return conn.execute(f"SELECT count(*) FROM {table} WHERE {scope(table)} = ?{where}", (name,)).fetchone()[0]

        rows = []
        for name in sorted(names, key=lambda n: (n != "", n)):
            times = []
            for table, column in (("outcomes", "timestamp"), ("lessons", "updated_at"),
                                  ("conversations", "last_activity")):
                if column in _columns(conn, table):
                    times.append(f"SELECT max({column}) AS t FROM {table} WHERE {scope(table)} = :p")
            last = conn.execute(f"SELECT max(t) FROM ({' UNION ALL '.join(times)})", {"p": name}).fetchone()[0] \
                if times else None
            active = conn.execute("SELECT count(*) FROM facts WHERE key = 'active_project' AND value = ?",
                                  (name,)).fetchone()[0] if "key" in _columns(conn, "facts") else 0
            rows.append({
                "project": name,
                "outcomes": count("outcomes", "", name),
                "lessons": count("lessons", "", name),
                "pending_tasks": count("scheduled_tasks", " AND status = 'pending'", name),
                "conversations": count("conversations", "", name),
                "sessions": count("project_sessions", "", name),
                "active_for": active,
                "last_activity": last,
                "folder": None if name == "" or folders is None else name in folders,
            })
        return rows
    finally:
        conn.close()
