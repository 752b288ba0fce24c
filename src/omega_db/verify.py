"""`omega-db verify`: the checks, each ok / warning / fail with one line of detail.

Read-only throughout: the database is opened with mode=ro and query_only, and
the FTS5 integrity check (an INSERT) runs against a copy of the index in memory.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from omega_db import compare, db, migrate, repair, schema
from omega_db.errors import BadDatabaseError, BusyError

OK, WARNING, FAIL = "ok", "warning", "fail"
_RANK = {OK: 0, WARNING: 1, FAIL: 2}
# Facts whose absence is a failure even when newer migrations are recorded.
_STRUCTURAL = ("table", "column", "index", "trigger", "shadow")


@dataclass(frozen=True)
class Check:
    """One check's verdict."""

    name: str
    status: str
    detail: str


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
        return all(_RANK[c.status] <= _RANK[worst] for c in self.checks)


@dataclass(frozen=True)
class _Context:
    conn: sqlite3.Connection
    path: Path
    quick: bool
    timeout: float
    plan: migrate.Plan
    actual: schema.Schema
    applied: tuple[migrate.Migration, ...]  # the known chain up to the last recorded one

    @property
    def newer(self) -> bool:
        return bool(self.plan.newer)


def verify(path: Path, *, quick: bool = False, strict: bool = False,
           timeout: float = db.DEFAULT_TIMEOUT) -> Report:
    """Examine the database at path without changing a byte of it."""
    try:
        conn = db.connect_readonly(path, timeout=timeout)
    except BadDatabaseError as exc:
        if getattr(exc.__cause__, "sqlite_errorname", "") != "SQLITE_CORRUPT":
            raise
        damaged = Check("integrity", FAIL, f"the schema cannot be read: {exc.__cause__}")
        return Report(path, (damaged,), strict)
    try:
        with db.translate_errors(path):
            plan = migrate.inspect(conn, path)
            try:
                actual = schema.read(conn)
            except sqlite3.DatabaseError as exc:
                if _busy(exc):
                    raise
                unreadable = Check("schema", FAIL, f"cannot be read: {exc}")
                return Report(path, (_integrity(conn, quick), unreadable), strict)
        highest = max((n for n in plan.recorded if n not in plan.newer), default="")
        applied = tuple(m for m in plan.known if m.name <= highest)
        ctx = _Context(conn, path, quick, timeout, plan, actual, applied)
        with ThreadPoolExecutor(max_workers=1) as pool:
            # integrity_check reads every page: on its own connection, in a thread (sqlite3
            # lets go of the GIL while SQLite works), it runs while the other checks do.
            integrity = pool.submit(_integrity_alone, path, quick, timeout)
            rest = [_guarded(ctx, name, fn) for name, fn in _CHECKS]
            checks = [integrity.result(), *rest]
    finally:
        conn.close()
    return Report(path, tuple(checks), strict)


def _guarded(ctx: _Context, name: str, fn: Callable[[_Context], Check]) -> Check:
    """Run one check; a damaged page becomes that check's failure, a lock stays an error."""
    try:
        return fn(ctx)
    except sqlite3.Error as exc:
        if _busy(exc):
            raise db.error_for(exc, ctx.path) from exc
        return Check(name, FAIL, f"could not be checked: {exc}")


def _busy(exc: sqlite3.Error) -> bool:
    """A lock held by another process: an error for the whole command, not a check's verdict."""
    return isinstance(db.error_for(exc, Path()), BusyError)


def _integrity(conn: sqlite3.Connection, quick: bool) -> Check:
    pragma = "quick_check" if quick else "integrity_check"
    try:
        rows = [r[0] for r in conn.execute(f"PRAGMA {pragma}(100)")]
    except sqlite3.DatabaseError as exc:  # damage bad enough to stop the check itself
        if _busy(exc):
            raise
        return Check("integrity", FAIL, f"PRAGMA {pragma} stopped: {exc}")
    if rows == ["ok"]:
        return Check("integrity", OK, f"PRAGMA {pragma}: ok")
    more = f" (and {len(rows) - 1} more problem(s))" if len(rows) > 1 else ""
    return Check("integrity", FAIL, f"PRAGMA {pragma}: {' '.join(rows[0].split())}{more}")


def _integrity_alone(path: Path, quick: bool, timeout: float) -> Check:
    """SQLite's own check of every page (quick_check with --quick), on a connection of its own."""
    conn = db.connect_readonly(path, timeout=timeout)
    try:
        with db.translate_errors(path):
            return _integrity(conn, quick)
    finally:
        conn.close()


def check_history(ctx: _Context) -> Check:
    """Known migrations recorded in order, no gaps, no unknown names among the known ones."""
    plan = ctx.plan
    if not plan.recorded:
        return Check("history", OK, "no migration recorded yet")
    last_known = plan.known[-1].name[:3] if plan.known else ""
    strays = [n for n in plan.newer if n[:3] <= last_known]
    gaps = [m.name for m in plan.known if m.name not in plan.recorded and m in ctx.applied]
    problems = []
    if gaps:
        last = ctx.applied[-1].name
        problems.append(f"records {last} but not {', '.join(gaps)}: the history has a gap")
    if strays:
        problems.append(f"records {', '.join(strays)}, which no omega-db or later OMEGA migration is")
    if problems:
        return Check("history", FAIL, "; ".join(problems))
    times = [(n, plan.recorded[n]) for n in sorted(plan.recorded) if plan.recorded[n] is not None]
    for (first, t1), (second, t2) in zip(times, times[1:], strict=False):
        if str(t2) < str(t1):
            detail = f"{second} is recorded as applied ({t2}) before {first} ({t1})"
            return Check("history", WARNING, detail)
    if plan.bootstrap:
        detail = "tracking predates this database: 001–003 count as applied (OMEGA's bootstrap rule)"
        return Check("history", OK, detail)
    detail = f"{len(plan.recorded) - len(plan.newer)} known migration(s) recorded in order"
    if plan.newer:
        detail += f"; also {', '.join(plan.newer)} from a newer OMEGA"
    return Check("history", OK, detail)


def check_pending(ctx: _Context) -> Check:
    """Pending migrations are a warning."""
    pending = [m.name for m in ctx.plan.all_pending if m not in ctx.applied]
    if ctx.plan.newer or not pending:
        return Check("pending", OK, "none pending")
    span = pending[0] if len(pending) == 1 else f"{pending[0]} … {pending[-1]}"
    detail = f"{len(pending)} pending ({span}); run `omega-db migrate`"
    return Check("pending", WARNING, detail)


def check_half_applied(ctx: _Context) -> Check:
    """A migration partly applied but not recorded (OMEGA's runner stopped in the middle)."""
    half = repair.detect(ctx.conn, ctx.plan)
    if half is None:
        return Check("half-applied", OK, "no half-applied migration")
    return Check("half-applied", FAIL, f"{half.describe()}; {half.remedy()}")


def check_effects(ctx: _Context) -> Check:
    """Every recorded migration's own effects are in the file (those later ones did not undo)."""
    real = compare.facts(ctx.actual)
    final = compare.facts(schema.expected(ctx.applied))
    failures, warnings = [], []
    for i, migration in enumerate(ctx.applied):
        if migration.name not in ctx.plan.recorded:
            continue
        before, after = (compare.facts(schema.expected(ctx.applied[:n])) for n in (i, i + 1))
        missing = ((after - before) & final) - real
        if not missing:
            continue
        texts = sorted(f.text for f in missing)
        line = f"{migration.name} is recorded but {', '.join(texts)} {'is' if len(texts) == 1 else 'are'} missing"
        hard = any(f.kind in _STRUCTURAL for f in missing)
        (failures if hard or not ctx.newer else warnings).append(line)
    if failures:
        return Check("effects", FAIL, "; ".join(failures + warnings))
    if warnings:
        tail = f" (the newer {', '.join(ctx.plan.newer)} may explain it)"
        return Check("effects", WARNING, "; ".join(warnings) + tail)
    return Check("effects", OK, f"the effects of {len(ctx.applied)} applied migration(s) are present")


def _severity(diff: compare.Difference, newer: bool) -> str:
    if diff.kind == "missing" and diff.what in _STRUCTURAL:
        return FAIL
    if newer:
        return WARNING  # a later migration may add, drop or change it
    if diff.kind == "extra" and diff.what in ("table", "index", "trigger"):
        return WARNING
    return FAIL


def check_schema(ctx: _Context) -> Check:
    """The structure equals what the applied migration files produce in memory."""
    expected = schema.expected(ctx.applied)
    diffs = compare.compare(expected, ctx.actual)
    if "_migrations" not in ctx.actual.tables and (not ctx.plan.recorded or ctx.plan.bootstrap):
        diffs = [d for d in diffs if d.table != "_migrations"]
    if not diffs:
        return Check("schema", OK, f"{len(expected.tables)} tables, {len(expected.indexes)} indexes and "
                                   f"{len(expected.triggers)} triggers as the migration files make them")
    rated = sorted(((_severity(d, ctx.newer), d.text) for d in diffs), key=lambda r: -_RANK[r[0]])
    status = rated[0][0]
    mixed = {sev for sev, _ in rated} == {FAIL, WARNING}
    texts = [f"{text} [warning]" if mixed and sev == WARNING else text for sev, text in rated]
    if ctx.newer and any(sev == WARNING for sev, _ in rated):
        texts.append(f"the newer {', '.join(ctx.plan.newer)} may explain what is not a failure")
    return Check("schema", status, "; ".join(texts))


def check_foreign_keys(ctx: _Context) -> Check:
    """PRAGMA foreign_key_check: a row pointing at a missing parent is a failure."""
    count, sample = 0, []
    for table, rowid, parent, _ in ctx.conn.execute("PRAGMA foreign_key_check"):
        count += 1
        if count <= 3:
            sample.append(f"{table} row {rowid} -> {parent}")
    if not count:
        return Check("foreign-keys", OK, "no row points at a missing parent")
    return Check("foreign-keys", FAIL, f"{count} row(s) point at a missing parent ({', '.join(sample)})")


def check_fts(ctx: _Context) -> Check:
    """The FTS5 index of user messages is internally consistent (checked on an in-memory copy)."""
    table = ctx.actual.table("messages_fts")
    if table is None:
        if any(m.name.startswith("004") for m in ctx.applied):
            return Check("fts5-index", FAIL, "messages_fts is missing although 004_fts5_recall is applied")
        return Check("fts5-index", OK, "no FTS5 index yet (004_fts5_recall not applied)")
    problem = _fts_problem(ctx.path, table.name, table.sql, ctx.timeout)
    if problem:
        return Check("fts5-index", FAIL, f"{table.name}: {problem}")
    return Check("fts5-index", OK, f"{table.name}: FTS5 integrity-check ok (the index alone, rank 0)")


def _fts_problem(path: Path, name: str, create_sql: str, timeout: float) -> str | None:
    """FTS5's integrity-check of the index alone, on an in-memory copy of its shadow tables.

    The check is an INSERT, which a read-only connection refuses; the copy lives in
    an identically declared FTS5 table in memory, and the file is attached mode=ro.
    rank 0 checks the index alone: OMEGA indexes only user messages, so comparing
    the index with the whole messages table would call every healthy file corrupt.
    """
    mem = sqlite3.connect("file::memory:", uri=True, isolation_level=None, timeout=timeout)
    try:
        mem.execute("ATTACH DATABASE ? AS src", (db._uri(path, "ro"),))
        mem.execute(create_sql)
        q = schema.quote
        mem.execute("BEGIN")  # one read snapshot of the file for every shadow table
        shadows = [r[0] for r in mem.execute(
            "SELECT name FROM src.sqlite_master WHERE type = 'table' AND name IN (?, ?, ?, ?, ?)",
            tuple(f"{name}_{s}" for s in ("data", "idx", "content", "docsize", "config")))]
        for shadow in shadows:
            mem.execute(f"DELETE FROM main.{q(shadow)}")
            mem.execute(f"INSERT INTO main.{q(shadow)} SELECT * FROM src.{q(shadow)}")
        try:
            mem.execute(f"INSERT INTO main.{q(name)} ({q(name)}, rank) VALUES ('integrity-check', 0)")
        except sqlite3.DatabaseError as exc:
            if _busy(exc):
                raise
            return f"FTS5 integrity-check: {exc}"
        return None
    finally:
        mem.close()


def _has_project(ctx: _Context, table: str) -> bool:
    found = ctx.actual.table(table)
    return found is not None and any(c.name == "project" for c in found.columns)


def _not_applicable(name: str) -> Check:
    return Check(name, OK, "not applicable: 011_project_learning is not applied")


def _applied_011(ctx: _Context) -> bool:
    return any(m.name.startswith("011") for m in ctx.applied)


def check_project_not_null(ctx: _Context) -> Check:
    """011: project is never NULL in outcomes, lessons and scheduled_tasks."""
    if not _applied_011(ctx):
        return _not_applicable("project-not-null")
    found, scanned = [], []
    for table in ("outcomes", "lessons", "scheduled_tasks"):
        if not _has_project(ctx, table):
            continue
        column = next(c for c in ctx.actual.tables[table].columns if c.name == "project")
        if ctx.quick and column.notnull:
            continue  # SQLite enforces NOT NULL on every write: --quick trusts it
        scanned.append(table)
        n = ctx.conn.execute(f"SELECT count(*) FROM {table} WHERE project IS NULL").fetchone()[0]
        if n:
            found.append(f"{table}: {n} row(s)")
    if found:
        return Check("project-not-null", FAIL, "project is NULL in " + ", ".join(found))
    how = f"scanned {', '.join(scanned)}" if scanned else "guaranteed by NOT NULL, not scanned (--quick)"
    return Check("project-not-null", OK, f"no NULL project: {how}")


def check_lessons_unique(ctx: _Context) -> Check:
    """011: at most one lesson per (sender_id, domain, project)."""
    if not _applied_011(ctx) or not _has_project(ctx, "lessons"):
        return _not_applicable("lessons-unique")
    uniques = {tuple(c.lower() for c in u) for u in ctx.actual.tables["lessons"].uniques}
    declared = ("sender_id", "domain", "project") in uniques
    if ctx.quick and declared:
        detail = "guaranteed by UNIQUE (sender_id, domain, project), not scanned (--quick)"
        return Check("lessons-unique", OK, detail)
    n = ctx.conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM lessons GROUP BY sender_id, domain, project HAVING count(*) > 1)"
    ).fetchone()[0]
    if not n:
        return Check("lessons-unique", OK, "one lesson per (sender_id, domain, project)")
    detail = f"{n} (sender_id, domain, project) group(s) hold several lessons"
    if ctx.newer and not declared:
        detail += f"; its UNIQUE constraint is gone, as the newer {', '.join(ctx.plan.newer)} may have decided"
        return Check("lessons-unique", WARNING, detail)
    return Check("lessons-unique", FAIL, detail)


def check_scores(ctx: _Context) -> Check:
    """011 (and 010): every outcome's score is -1, 0 or 1."""
    if not _applied_011(ctx) or ctx.actual.table("outcomes") is None:
        return _not_applicable("outcome-scores")
    want = schema.expected(ctx.applied).tables["outcomes"].checks
    if ctx.quick and want <= ctx.actual.tables["outcomes"].checks:
        detail = "guaranteed by CHECK (score IN (-1, 0, 1)), not scanned (--quick)"
        return Check("outcome-scores", OK, detail)
    n = ctx.conn.execute(
        "SELECT count(*) FROM outcomes WHERE score IS NULL OR score NOT IN (-1, 0, 1)"
    ).fetchone()[0]
    if n:
        return Check("outcome-scores", FAIL, f"{n} outcome(s) have a score other than -1, 0 or 1")
    return Check("outcome-scores", OK, "every score is -1, 0 or 1")


_CHECKS: tuple[tuple[str, Callable[[_Context], Check]], ...] = (
    ("history", check_history),
    ("pending", check_pending),
    ("half-applied", check_half_applied),
    ("effects", check_effects),
    ("schema", check_schema),
    ("foreign-keys", check_foreign_keys),
    ("fts5-index", check_fts),
    ("project-not-null", check_project_not_null),
    ("lessons-unique", check_lessons_unique),
    ("outcome-scores", check_scores),
)
