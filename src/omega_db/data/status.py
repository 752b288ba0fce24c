"""Where a database stands: its file, its migration history, its projects."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from omega_db.chain import files, halfapplied, history
from omega_db.chain.halfapplied import HalfApplied
from omega_db.chain.history import Plan
from omega_db.data import queries
from omega_db.ground import db


class MigrationState(str, Enum):
    """Where one migration stands in a database."""

    applied = "applied"
    pending = "pending"
    newer = "newer"  # recorded, but omega-db does not know it


@dataclass(frozen=True)
class Status:
    """Everything `omega-db status` reports."""

    database: Path
    size: int
    sqlite_version: str
    journal_mode: str
    plan: Plan
    projects: list[dict[str, object]]
    half_applied: HalfApplied | None = None
    wal_size: int | None = None  # bytes of the -wal file beside it; None when there is none

    @property
    def omega(self) -> str | None:
        """The OMEGA releases whose schema the file has ("v0.2.0 to v1.3.0"), or None."""
        return files.releases(self.plan.current)

    def history(self) -> list[dict[str, object]]:
        """Every known migration and every newer recorded one: name, state, applied_at."""
        rows: list[dict[str, object]] = []
        for migration in self.plan.known:
            applied = migration.name in self.plan.recorded
            rows.append({
                "name": migration.name,
                "state": MigrationState.applied if applied else MigrationState.pending,
                "applied_at": self.plan.recorded.get(migration.name),
            })
        for name in self.plan.newer:
            rows.append({"name": name, "state": MigrationState.newer, "applied_at": self.plan.recorded[name]})
        return rows


def status(path: Path, *, timeout: float = db.DEFAULT_TIMEOUT) -> Status:
    """Read a database's state without changing a byte of it."""
    conn = db.connect_readonly(path, timeout=timeout)
    try:
        with db.translate_errors(path):
            plan = history.inspect(conn, path)
            half = halfapplied.detect(conn, plan)
            journal_mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            projects = queries.project_counts(conn)
    finally:
        conn.close()
    return Status(
        database=path,
        size=path.stat().st_size,
        sqlite_version=sqlite3.sqlite_version,
        journal_mode=journal_mode,
        plan=plan,
        projects=projects,
        half_applied=half,
        wal_size=wal_size(path),
    )


def wal_size(path: Path) -> int | None:
    """The size of the database's -wal file (beside the real file, where SQLite puts it), None if absent."""
    try:
        return Path(f"{path.resolve()}-wal").stat().st_size
    except OSError:
        return None
