"""The project-scoped questions, with OMEGA's own semantics; SQL bound with ? parameters."""

from __future__ import annotations

import sqlite3

from omega_db import db

GENERAL = ""


def _scope(conn: sqlite3.Connection, table: str) -> str | None:
    """The SQL expression for a table's project: the column, '' before 011, None if no table."""
    columns = db.table_columns(conn, table)
    if not columns:
        return None
    return "project" if "project" in columns else "''"


def project_counts(conn: sqlite3.Connection) -> list[dict[str, object]]:
    """One row per project (the general scope '' always first) with its outcome, lesson and pending task counts."""
    counts: dict[str, dict[str, object]] = {}

    def row(project: str) -> dict[str, object]:
        return counts.setdefault(
            project, {"project": project, "outcomes": 0, "lessons": 0, "pending_tasks": 0}
        )

    row(GENERAL)
    sources = (
        ("outcomes", "outcomes", ""),
        ("lessons", "lessons", ""),
        ("scheduled_tasks", "pending_tasks", " WHERE status = 'pending'"),
    )
    for table, key, where in sources:
        scope = _scope(conn, table)
        if scope is None:
            continue
        query = f"SELECT {scope}, count(*) FROM {table}{where} GROUP BY 1"
        for project, count in conn.execute(query):
            row(project)[key] = count
    return [counts[name] for name in sorted(counts)]
