"""`omega-db verify`: the checks, each ok / warning / fail with one line of detail.

Read-only throughout: the database is opened with mode=ro and query_only, and
the FTS5 integrity check (an INSERT) runs against a copy of the index in memory.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from omega_db.chain import history, schema
from omega_db.ground import db
from omega_db.ground.errors import BadDatabaseError
from omega_db.verify import data_checks, structure_checks
from omega_db.verify.checks import FAIL, OK, WARNING, Check, Context, Verdict, is_busy, named


@dataclass(frozen=True)
class Report:
    """Everything verify found about one database."""

    database: Path
    checks: tuple[Check, ...]
    strict: bool = False

    @property
    def ok(self) -> bool:
        """False if a check failed, or (with --strict) warned."""
        worst = OK if self.strict else WARNING
        return all(c.status.rank <= worst.rank for c in self.checks)


def verify(path: Path, *, quick: bool = False, strict: bool = False,
           timeout: float = db.DEFAULT_TIMEOUT) -> Report:
    """Examine the database at path without changing a byte of it."""
    try:
        conn = db.connect_readonly(path, timeout=timeout)
    except BadDatabaseError as exc:
        if getattr(exc.__cause__, "sqlite_errorname", "") != "SQLITE_CORRUPT":
            raise
        damaged = check_integrity.verdict(FAIL, f"the schema cannot be read: {exc.__cause__}")
        return Report(path, (damaged,), strict)
    try:
        with db.translate_errors(path):
            plan = history.inspect(conn, path)
            try:
                actual = schema.read(conn)
            except sqlite3.DatabaseError as exc:
                if is_busy(exc):
                    raise
                unreadable = structure_checks.check_schema.verdict(FAIL, f"cannot be read: {exc}")
                return Report(path, (check_integrity.verdict(*_integrity(conn, quick)), unreadable), strict)
        highest = max((n for n in plan.recorded if n not in plan.newer), default="")
        prefix = tuple(m for m in plan.known if m.name <= highest)
        with ThreadPoolExecutor(max_workers=1) as pool:
            # integrity_check reads every page: on its own connection, in a thread (sqlite3
            # lets go of the GIL while SQLite works), it runs while the other checks do.
            integrity = pool.submit(_integrity_alone, path, quick, timeout)
            ctx = Context(conn, path, quick, timeout, plan, actual, prefix, integrity)
            # Integrity's verdict is awaited last, so that the other checks (the text scan above
            # all) run meanwhile; they are reported in CHECKS order all the same.
            done = {check.name: check.run(ctx) for check in CHECKS if check is not check_integrity}
            done[check_integrity.name] = check_integrity.run(ctx)
            checks = [done[check.name] for check in CHECKS]
    finally:
        conn.close()
    return Report(path, tuple(checks), strict)


def _integrity(conn: sqlite3.Connection, quick: bool) -> Verdict:
    pragma = "quick_check" if quick else "integrity_check"
    try:
        rows = [r[0] for r in conn.execute(f"PRAGMA {pragma}(100)")]
    except sqlite3.DatabaseError as exc:  # damage bad enough to stop the check itself
        if is_busy(exc):
            raise
        return FAIL, f"PRAGMA {pragma} stopped: {exc}"
    if rows == ["ok"]:
        return OK, f"PRAGMA {pragma}: ok"
    more = f" (and {len(rows) - 1} more problem(s))" if len(rows) > 1 else ""
    return FAIL, f"PRAGMA {pragma}: {' '.join(rows[0].split())}{more}"


def _integrity_alone(path: Path, quick: bool, timeout: float) -> Verdict:
    """SQLite's own check of every page (quick_check with --quick), on a connection of its own."""
    conn = db.connect_readonly(path, timeout=timeout)
    try:
        with db.translate_errors(path):
            return _integrity(conn, quick)
    finally:
        conn.close()


@named("integrity")
def check_integrity(ctx: Context) -> Verdict:
    """PRAGMA integrity_check (quick_check with --quick), run in the background since the start."""
    return ctx.integrity.result()


# Every check, in the order verify reports them.
CHECKS = (
    check_integrity,
    structure_checks.check_history,
    structure_checks.check_pending,
    structure_checks.check_half_applied,
    structure_checks.check_effects,
    structure_checks.check_schema,
    data_checks.check_foreign_keys,
    data_checks.check_fts,
    data_checks.check_project_not_null,
    data_checks.check_lessons_per_scope,
    data_checks.check_scores,
    data_checks.check_text_encoding,
)
