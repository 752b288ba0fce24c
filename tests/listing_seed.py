"""A project-scoped dataset for lessons/outcomes/tasks, and the tests' own SQL answers.

The oracles below are written independently of omega_db.data.queries (P's lessons and
the general ones are fetched by two queries and joined here, limits are applied
in Python), so a mistake in the command's SQL cannot hide in both.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests import helpers

SENDERS = ("alice", "bob", "télé-42", "42")
# '' general; a name with SQL quote and LIKE wildcards; non-ASCII; and decoys that a
# LIKE or a quoting mistake would match.
PROJECTS = ("", "my-app", "a'b%_", "café-ü", "a'bcd_", "my-app2")
DOMAINS = ("coding", "trading", "writing")
UPDATED = (
    "2026-04-01 08:00:00",
    "2026-04-02 09:30:00",
    "2026-04-02 09:30:00",
    "2026-03-15 23:59:59",
)
# Hours ago of each outcome: none near the --hours values the tests ask (1, 2.5, 24, 100).
HOURS_AGO = (0.2, 0.7, 1.7, 2.0, 3.0, 3.0, 10.0, 30.0, 50.0, 200.0, 1000.0)
# Due offsets of tasks in hours from now (negative: past), far from "now".
DUE_IN = (-300.0, -48.0, -2.0, -0.5, 0.5, 3.0, 72.0)
STATUSES = ("pending", "delivered", "cancelled", "failed")

LESSON_COLUMNS = (
    "id",
    "sender_id",
    "domain",
    "rule",
    "project",
    "occurrences",
    "created_at",
    "updated_at",
)
OUTCOME_COLUMNS = ("id", "timestamp", "sender_id", "domain", "score", "lesson", "source", "project")


def _rule(i: int) -> str:
    if i % 11 == 0:
        return (
            f"rule-{i}: " + "always check the [red]markup[/red] and 'quotes' before answering; " * 4
        )
    if i % 13 == 0:
        return f'rule-{i}\nsecond line, "quoted", comma'
    return f"rule-{i}"


def build_projects(path: Path) -> Path:
    """A database at 011 with lessons, outcomes and tasks across senders, projects and domains."""
    helpers.build(path)
    conn = helpers.connect(path)
    try:
        conn.execute("BEGIN")
        i = 0
        for sender in SENDERS:
            for domain in DOMAINS:
                for project in PROJECTS:
                    if (i * 7) % 5 == 4:  # leave some combinations out
                        i += 1
                        continue
                    conn.execute(
                        "INSERT INTO lessons (id, sender_id, domain, rule, project, occurrences, created_at, "
                        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            f"lesson-{i:03d}",
                            sender,
                            domain,
                            _rule(i),
                            project,
                            i % 9 + 1,
                            "2026-01-01 00:00:00",
                            UPDATED[i % len(UPDATED)],
                        ),
                    )
                    i += 1
        for j in range(90):
            ago = HOURS_AGO[j % len(HOURS_AGO)]
            # Some rows share a timestamp exactly: the tie-breaker decides their order.
            conn.execute(
                "INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson, source, project) "
                "VALUES (?, datetime('now', ?), ?, ?, ?, ?, ?, ?)",
                (
                    f"out-{(j * 37) % 90:03d}",
                    f"-{int(ago * 3600)} seconds",
                    SENDERS[j % len(SENDERS)],
                    DOMAINS[j % len(DOMAINS)],
                    (j % 3) - 1,
                    f"lesson text {j}" + (" long" * 30 if j % 17 == 0 else ""),
                    ("conversation", "heartbeat")[j % 2],
                    PROJECTS[(j // 2) % len(PROJECTS)],
                ),
            )
        for k in range(56):
            due_in = DUE_IN[k % len(DUE_IN)]
            form = ("space", "T", "Z")[k % 3]
            conn.execute(
                "INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at, repeat, "
                "status, task_type, retry_count, last_error, project) "
                "VALUES (?, 'telegram', ?, 'chat-1', ?, "
                "CASE ? WHEN 'space' THEN datetime('now', ?) "
                "WHEN 'T' THEN strftime('%Y-%m-%dT%H:%M:%S', 'now', ?) "
                "ELSE strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?) END, ?, ?, ?, ?, ?, ?)",
                (
                    f"task-{(k * 11) % 56:02d}",
                    SENDERS[k % len(SENDERS)],
                    f"task {k} [bold]x[/]",
                    form,
                    f"{due_in * 3600:+.0f} seconds",
                    f"{due_in * 3600:+.0f} seconds",
                    f"{due_in * 3600:+.0f} seconds",
                    (None, "daily", "weekly")[k % 3],
                    STATUSES[(k // 2) % len(STATUSES)],
                    ("reminder", "action")[k % 2],
                    k % 3,
                    None if k % 2 else "boom",
                    PROJECTS[(k // 3) % len(PROJECTS)],
                ),
            )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return path


def _rows(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=False)) for row in cursor]


def _where(conditions: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    used = {k: v for k, v in conditions.items() if v is not None}
    if not used:
        return "", ()
    return " WHERE " + " AND ".join(f"{k} = ?" for k in used), tuple(used.values())


def _project_column(conn: sqlite3.Connection, table: str) -> str:
    names = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    return "project" if "project" in names else "'' AS project"


def _capped(rows: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    return rows[:limit] if limit else rows


def expected_lessons(
    path: Path,
    *,
    project: str | None = None,
    only: bool = False,
    sender: str | None = None,
    domain: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The lessons OMEGA would see, by the test's own SQL."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        scope = _project_column(conn, "lessons")
        select = (
            "SELECT * FROM (SELECT id, sender_id, domain, rule, "
            + scope
            + ", occurrences, created_at, updated_at FROM lessons)"
        )

        def group(p: str | None) -> list[dict[str, Any]]:
            where, params = _where({"project": p, "sender_id": sender, "domain": domain})
            return _rows(conn, select + where + " ORDER BY updated_at DESC, id", params)

        if project is None:
            rows = group(None)
        elif only or project == "":
            rows = group(project)
        else:
            rows = group(project) + group("")
        return _capped(rows, limit)
    finally:
        conn.close()


def expected_outcomes(
    path: Path,
    *,
    project: str | None = None,
    sender: str | None = None,
    domain: str | None = None,
    hours: float | None = None,
    limit: int | None = 50,
) -> list[dict[str, Any]]:
    """The outcomes OMEGA would see, newest first, by the test's own SQL."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        scope = _project_column(conn, "outcomes")
        where, params = _where({"project": project, "sender_id": sender, "domain": domain})
        sql = (
            "SELECT * FROM (SELECT rowid AS r, id, timestamp, sender_id, domain, score, lesson, source, "
            + scope
            + " FROM outcomes)"
            + where
        )
        if hours is not None:
            sql += (" AND " if where else " WHERE ") + "datetime(timestamp) >= datetime('now', ?)"
            params += (f"-{hours} hours",)
        rows = _rows(conn, sql + " ORDER BY timestamp DESC, r DESC", params)
        for row in rows:
            del row["r"]
        return _capped(rows, limit)
    finally:
        conn.close()


def task_columns(path: Path) -> list[str]:
    """scheduled_tasks' columns in table order, with project last before 011."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[1] for r in conn.execute("PRAGMA table_info(scheduled_tasks)")]
    finally:
        conn.close()
    return names if "project" in names else [*names, "project"]


def expected_tasks(
    path: Path,
    *,
    project: str | None = None,
    sender: str | None = None,
    status: str | None = "pending",
    due: bool = False,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The scheduled tasks, earliest due first, by the test's own SQL."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        scope = _project_column(conn, "scheduled_tasks")
        extra = "" if scope == "project" else ", " + scope
        where, params = _where(
            {
                "project": project,
                "sender_id": sender,
                "status": "pending" if due else (None if status == "all" else status),
            }
        )
        sql = f"SELECT * FROM (SELECT *{extra} FROM scheduled_tasks)" + where
        if due:
            sql += " AND julianday(due_at) <= julianday('now')"
        rows = _rows(conn, sql + " ORDER BY datetime(due_at), id", params)
        return _capped(rows, limit)
    finally:
        conn.close()
