"""The checks of the file's content: foreign keys, the FTS5 index, the data promises of each version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from omega_db.chain import schema
from omega_db.ground import db, decoding, sql
from omega_db.verify.checks import FAIL, OK, WARNING, Context, Verdict, is_busy, named


@named("foreign-keys")
def check_foreign_keys(ctx: Context) -> Verdict:
    """PRAGMA foreign_key_check: a row pointing at a missing parent is a failure."""
    count, sample = 0, []
    for table, rowid, parent, _ in ctx.conn.execute("PRAGMA foreign_key_check"):
        count += 1
        if count <= 3:
            sample.append(f"{table} row {rowid} -> {parent}")
    if not count:
        return OK, "no row points at a missing parent"
    return FAIL, f"{count} row(s) point at a missing parent ({', '.join(sample)})"


@named("fts5-index")
def check_fts(ctx: Context) -> Verdict:
    """The FTS5 index of user messages is internally consistent (checked on an in-memory copy)."""
    table = ctx.actual.table("messages_fts")
    if table is None:
        if any(m.name.startswith("004") for m in ctx.chain):
            return FAIL, "messages_fts is missing although 004_fts5_recall is applied"
        return OK, "no FTS5 index yet (004_fts5_recall not applied)"
    problem = _fts_problem(ctx.path, table.name, table.sql, ctx.timeout)
    if problem:
        return FAIL, f"{table.name}: {problem}"
    return OK, f"{table.name}: FTS5 integrity-check ok (the index alone, rank 0)"


def _fts_problem(path: Path, name: str, create_sql: str, timeout: float) -> str | None:
    """FTS5's integrity-check of the index alone, on an in-memory copy of its shadow tables.

    The check is an INSERT, which a read-only connection refuses; the copy lives in
    an identically declared FTS5 table in memory, and the file is attached mode=ro.
    rank 0 checks the index alone: OMEGA indexes only user messages, so comparing
    the index with the whole messages table would call every healthy file corrupt.
    """
    mem = db.connect("file::memory:", uri=True, timeout=timeout)
    try:
        mem.execute("ATTACH DATABASE ? AS src", (db.uri(path, db.readonly_mode(path)),))
        mem.execute(create_sql)
        q = sql.quote
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
            if is_busy(exc):
                raise
            return f"FTS5 integrity-check: {exc}"
        return None
    finally:
        mem.close()


def _has_project(ctx: Context, table: str) -> bool:
    found = ctx.actual.table(table)
    return found is not None and any(c.name == "project" for c in found.columns)


def _not_applicable() -> Verdict:
    return OK, "not applicable: 011_project_learning is not applied"


def _applied_011(ctx: Context) -> bool:
    return any(m.name.startswith("011") for m in ctx.chain)


@named("project-not-null")
def check_project_not_null(ctx: Context) -> Verdict:
    """011: project is never NULL in outcomes, lessons and scheduled_tasks."""
    if not _applied_011(ctx):
        return _not_applicable()
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
        return FAIL, "project is NULL in " + ", ".join(found)
    how = f"scanned {', '.join(scanned)}" if scanned else "guaranteed by NOT NULL, not scanned (--quick)"
    return OK, f"no NULL project: {how}"


LESSONS_KEPT = 10  # OMEGA keeps the 10 most recent lessons per (sender_id, domain, project) since 013


@named("lessons-per-scope")
def check_lessons_per_scope(ctx: Context) -> Verdict:
    """011-012: one lesson per (sender_id, domain, project); 013: at most 10, as OMEGA keeps them."""
    if not _applied_011(ctx) or not _has_project(ctx, "lessons"):
        return _not_applicable()
    if any(m.name.startswith("013") for m in ctx.chain):
        return _lessons_capped(ctx)
    uniques = {tuple(c.lower() for c in u) for u in ctx.actual.tables["lessons"].uniques}
    declared = ("sender_id", "domain", "project") in uniques
    if ctx.quick and declared:
        return OK, "guaranteed by UNIQUE (sender_id, domain, project), not scanned (--quick)"
    n = ctx.conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM lessons GROUP BY sender_id, domain, project HAVING count(*) > 1)"
    ).fetchone()[0]
    if not n:
        return OK, "one lesson per (sender_id, domain, project)"
    detail = f"{n} (sender_id, domain, project) group(s) hold several lessons"
    if ctx.newer and not declared:
        detail += f"; its UNIQUE constraint is gone, as the newer {', '.join(ctx.plan.newer)} may have decided"
        return WARNING, detail
    return FAIL, detail


def _lessons_capped(ctx: Context) -> Verdict:
    groups, largest = ctx.conn.execute(
        "SELECT count(*), coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM lessons "
        "GROUP BY sender_id, domain, project HAVING count(*) > ?)",
        (LESSONS_KEPT,),
    ).fetchone()
    if not groups:
        return OK, f"at most {LESSONS_KEPT} lessons per (sender_id, domain, project), as OMEGA keeps them"
    return WARNING, (
        f"{groups} (sender_id, domain, project) group(s) hold more than {LESSONS_KEPT} lessons (up to {largest}); "
        f"OMEGA keeps the {LESSONS_KEPT} most recent of a group when it next stores a lesson there"
    )


@named("outcome-scores")
def check_scores(ctx: Context) -> Verdict:
    """010 on: every outcome's score is -1, 0 or 1 (010 creates outcomes with that CHECK)."""
    if not any(m.name.startswith("010") for m in ctx.chain) or ctx.actual.table("outcomes") is None:
        return OK, "not applicable: 010_outcomes is not applied"
    want = schema.expected(ctx.chain).tables["outcomes"].checks
    if ctx.quick and want <= ctx.actual.tables["outcomes"].checks:
        # SQLite skips a CHECK for writes made under PRAGMA ignore_check_constraints, and
        # neither quick_check nor integrity_check looks at CHECK constraints: say so.
        return OK, ("not scanned (--quick): CHECK (score IN (-1, 0, 1)) is declared, which holds for "
                    "every write not made with PRAGMA ignore_check_constraints; the full verify scans")
    n = ctx.conn.execute(
        "SELECT count(*) FROM outcomes WHERE score IS NULL OR score NOT IN (-1, 0, 1)"
    ).fetchone()[0]
    if n:
        return FAIL, f"{n} outcome(s) have a score other than -1, 0 or 1"
    return OK, "every score is -1, 0 or 1"


SCAN_BYTES = 4 << 20  # text read per query when scanning: big enough for few queries, small enough for memory
_SEP = "char(10)"  # joins the values of a chunk: ASCII, so it never completes a broken sequence


@named("text-encoding")
def check_text_encoding(ctx: Context) -> Verdict:
    """Every stored text value is valid UTF-8: OMEGA writes nothing else, so anything else is damage."""
    if ctx.quick:
        return OK, "not scanned (--quick); the full verify reads every text value"
    encoding = ctx.conn.execute("PRAGMA encoding").fetchone()[0]
    if encoding != "UTF-8":
        return WARNING, f"the file stores text as {encoding}, OMEGA as UTF-8; not scanned"
    tables = {"sqlite_master": True}  # the schema's own text too
    tables.update((t.name, not t.without_rowid) for t in ctx.actual.tables.values() if not t.virtual)
    found: list[str] = []
    unread: list[str] = []
    total = 0
    for table, rowid in tables.items():
        try:
            bad = _invalid_text(ctx.conn, table, rowid=rowid)
        except sqlite3.DatabaseError as exc:
            if is_busy(exc):
                raise
            unread.append(f"{table} ({exc})")
            continue
        for column, n in bad.items():
            total += n
            found.append(f"{table}.{column} ({n})")
    if found:
        tail = f"; could not read {', '.join(unread)}" if unread else ""
        return FAIL, (f"{total} text value(s) are not valid UTF-8, which OMEGA never writes (damage): "
                      f"{', '.join(found)}{tail}")
    if unread:
        return FAIL, f"could not read {', '.join(unread)}"
    return OK, f"every text value is valid UTF-8 ({len(tables)} tables scanned)"


def _invalid_text(conn: sqlite3.Connection, table: str, *, rowid: bool = True) -> dict[str, int]:
    """The columns of table holding text values that are not UTF-8, with their count.

    A chunk of rows at a time: SQLite joins each column's values in the chunk (group_concat)
    and hands them over as one BLOB (CAST: no decoding on the way), which Python checks with
    one decode. Only a chunk that fails is read again, value by value, to count. Chunks follow
    the rowid (a seek each), sized to hold about SCAN_BYTES of text whatever the rows' size.
    """
    q = sql.quote(table)
    columns = [row[1] for row in conn.execute("SELECT * FROM pragma_table_info(?)", (table,))]
    if not columns:
        return {}
    if not rowid:  # WITHOUT ROWID (no OMEGA table is): value by value
        return {c: n for c in columns if (n := _count_invalid(conn, q, sql.quote(c), None, None))}
    joined = ", ".join(f"CAST(group_concat({sql.quote(c)}, {_SEP}) AS BLOB)" for c in columns)
    scan = f"SELECT max(r), {joined} FROM (SELECT rowid AS r, * FROM {q} WHERE {{where}} ORDER BY rowid LIMIT ?)"
    first, then = scan.format(where="1"), scan.format(where="rowid > ?")
    bad: dict[str, int] = {}
    after: int | None = None
    rows = 256
    while True:
        params = (rows,) if after is None else (after, rows)
        last, *blobs = conn.execute(first if after is None else then, params).fetchone()
        if last is None:
            return bad
        if after is not None and last <= after:  # a seek past `after` found no later row: never loop
            raise sqlite3.DatabaseError(f"rowids go backwards after {after}, as in a damaged b-tree")
        for column, blob in zip(columns, blobs, strict=True):
            if blob is not None and not decoding.is_utf8(blob):
                n = _count_invalid(conn, q, sql.quote(column), after, last)
                if n:
                    bad[column] = bad.get(column, 0) + n
        size = sum(len(blob) for blob in blobs if blob is not None)
        rows = max(16, min(65536, rows * SCAN_BYTES // max(size, 1)))
        after = last


def _count_invalid(conn: sqlite3.Connection, table: str, column: str, after: int | None, last: int | None) -> int:
    """How many text values of column, in the rows after `after` up to `last` (None: no bound), are not UTF-8.

    A BLOB counts too (the chunk's check saw its bytes): OMEGA writes none, and every command
    reads one where text belongs as text, U+FFFD and all."""
    where = [f"typeof({column}) IN ('text', 'blob')"]
    params: list[int] = []
    if after is not None:
        where.append("rowid > ?")
        params.append(after)
    if last is not None:
        where.append("rowid <= ?")
        params.append(last)
    query = f"SELECT CAST({column} AS BLOB) FROM {table} WHERE {' AND '.join(where)}"
    return sum(1 for (blob,) in conn.execute(query, params) if not decoding.is_utf8(blob))

