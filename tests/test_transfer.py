"""013's copy of lessons: SQLite's transfer copy when the columns are 011's in 011's order, by name otherwise.

Which copy ran is read from the SQL the connection executed (set_trace_callback).
The rows of lessons are seeded with gaps in their rowids: a `SELECT *` that SQLite
did not run as a transfer would number them 1..n, so rowids kept by a `SELECT *`
show that the transfer copy was made.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from omega_db.chain import apply, compare, transfer
from omega_db.ground import db
from tests import helpers
from tests.omega_runner import OMEGA_013, run_like_omega, shipped

M013 = "013_multi_lessons"
TRANSFER = 'INSERT INTO "lessons_v2" SELECT * FROM "lessons"'
EMPTIED = 'DELETE FROM "lessons_v2"'
BY_NAME = next(s for s in shipped("013").statements if transfer.parse(s))  # the file's own copy, comments and all
COLUMNS = "id, sender_id, domain, rule, project, occurrences, created_at, updated_at"


def add_lessons(conn: sqlite3.Connection, n: int = 30) -> None:
    """n lessons (rowids 1..n) with distinct values in every column."""
    conn.executemany(
        "INSERT INTO lessons (id, sender_id, domain, rule, occurrences, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(f"lesson-{i}", helpers.SENDERS[i % 3], f"domain-{i}", f"rule {i}", i + 1,
          f"2026-01-01 00:00:{i:02d}", f"2026-04-{i % 28 + 1:02d} 08:00:00") for i in range(n)],
    )


def at_012_with_gaps(path: Path) -> Path:
    """A seeded 012 database whose lessons have rowids with gaps (every third row deleted)."""
    helpers.build(path, to="012")
    conn = helpers.connect(path)
    add_lessons(conn)
    conn.execute("UPDATE lessons SET project = 'p-' || sender_id WHERE rowid % 2 = 0")
    conn.execute("DELETE FROM lessons WHERE rowid % 3 = 0")
    conn.close()
    return path


def lesson_rows(path: Path) -> list[tuple[object, ...]]:
    """Every lesson with its rowid, by rowid."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(f"SELECT rowid, {COLUMNS} FROM lessons ORDER BY rowid").fetchall()
    finally:
        conn.close()


def apply_013_traced(path: Path) -> list[str]:
    """Apply omega-db's 013 through the core's one transaction; the SQL that ran."""
    migration = shipped("013")
    ran: list[str] = []
    conn = db.connect_readwrite(path)
    try:
        conn.set_trace_callback(ran.append)
        assert apply.apply(conn, M013, lambda: migration.execute(conn)) is not None
    finally:
        conn.close()
    return ran


def test_013_copies_lessons_in_011s_order_with_sqlites_transfer_keeping_every_row_and_rowid(tmp_path: Path) -> None:
    path = at_012_with_gaps(tmp_path / "memory.db")
    before = lesson_rows(path)
    assert len(before) == 20 and before[-1][0] == 29  # gaps: a renumbering copy would end at 20
    ran = apply_013_traced(path)
    assert TRANSFER in ran
    assert EMPTIED not in ran and BY_NAME not in ran
    assert ran.index("BEGIN IMMEDIATE") < ran.index(TRANSFER) < ran.index("COMMIT")  # one transaction
    assert lesson_rows(path) == before
    assert helpers.recorded(path)[-1] == M013


def test_the_transfer_path_ends_where_omegas_own_013_does_row_for_row(tmp_path: Path) -> None:
    ours = at_012_with_gaps(tmp_path / "ours.db")
    theirs = tmp_path / "theirs.db"
    shutil.copyfile(ours, theirs)
    assert TRANSFER in apply_013_traced(ours)
    assert run_like_omega(theirs, OMEGA_013, record=M013) is None
    assert compare.compare(helpers.structure(ours), helpers.structure(theirs)) == []
    assert compare.compare(helpers.structure(theirs), helpers.structure(ours)) == []
    assert lesson_rows(ours) == lesson_rows(theirs)  # OMEGA's SELECT * is a transfer too: rowids kept


def reordered_012(path: Path) -> None:
    """A 012 database whose lessons has `project` last (a hand-finished 011), rows with gaps."""
    helpers.build(path, to="010")
    conn = helpers.connect(path)
    conn.execute("BEGIN")
    add_lessons(conn)
    for table in ("outcomes", "scheduled_tasks", "lessons"):
        conn.execute(f"ALTER TABLE {table} ADD COLUMN project TEXT NOT NULL DEFAULT ''")
    conn.execute("UPDATE lessons SET project = 'p-' || sender_id WHERE rowid % 2 = 0")
    conn.execute("DELETE FROM lessons WHERE rowid % 3 = 0")
    conn.execute("INSERT INTO _migrations (name) VALUES ('011_project_learning')")
    conn.execute("COMMIT")
    conn.close()
    helpers.build(path, to="012")


def test_a_reordered_lessons_is_copied_by_name_and_keeps_every_value_in_its_column(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    reordered_012(path)
    before = lesson_rows(path)
    assert any(r[5] for r in before) and len({r[6] for r in before}) > 1
    ran = apply_013_traced(path)
    assert TRANSFER not in ran and EMPTIED not in ran and BY_NAME in ran
    assert lesson_rows(path) == before  # each value under its own column name, rowids too


def test_a_column_collation_sqlite_will_not_transfer_falls_back_to_the_copy_by_name(tmp_path: Path) -> None:
    path = at_012_with_gaps(tmp_path / "memory.db")
    conn = helpers.connect(path)
    conn.execute("BEGIN")  # the same columns as PRAGMA shows them, but `rule` compares NOCASE
    conn.execute(
        "CREATE TABLE lessons_nocase (id TEXT PRIMARY KEY, sender_id TEXT NOT NULL, domain TEXT NOT NULL, "
        "rule TEXT COLLATE NOCASE NOT NULL, project TEXT NOT NULL DEFAULT '', "
        "occurrences INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL DEFAULT (datetime('now')), "
        "updated_at TEXT NOT NULL DEFAULT (datetime('now')), UNIQUE (sender_id, domain, project))"
    )
    conn.execute(f"INSERT INTO lessons_nocase (rowid, {COLUMNS}) SELECT rowid, {COLUMNS} FROM lessons")
    conn.execute("DROP TABLE lessons")
    conn.execute("ALTER TABLE lessons_nocase RENAME TO lessons")
    conn.execute("COMMIT")
    conn.close()
    before = lesson_rows(path)
    ran = apply_013_traced(path)
    assert ran.index(TRANSFER) < ran.index(EMPTIED) < ran.index(BY_NAME) < ran.index("COMMIT")
    assert lesson_rows(path) == before


def test_only_a_whole_copy_by_name_with_its_rowid_is_a_transfer_candidate() -> None:
    found = transfer.parse(BY_NAME)
    assert found is not None and "INSERT INTO lessons_v2 (rowid, id, sender_id" in BY_NAME and (found.target, found.source) == ("lessons_v2", "lessons")
    assert found.columns == tuple(COLUMNS.split(", "))
    assert not any(transfer.parse(s) for s in shipped("011").statements)  # it copies '' into project
    assert transfer.parse("INSERT INTO t (rowid, a, b) SELECT rowid, b, a FROM s") is None  # a swap
    assert transfer.parse("INSERT INTO t (a, b) SELECT a, b FROM s") is None  # rowids not kept
    assert transfer.parse("INSERT INTO t (rowid, a) SELECT rowid, a FROM s WHERE a > 1") is None


CACHE_UP = f"PRAGMA cache_size = -{transfer.COPY_CACHE_KIB}"


def test_every_copy_runs_with_a_larger_page_cache_and_the_connections_own_comes_back(tmp_path: Path) -> None:
    path = at_012_with_gaps(tmp_path / "memory.db")
    migration = shipped("013")
    ran: list[str] = []
    conn = db.connect_readwrite(path)
    try:
        (own,) = conn.execute("PRAGMA cache_size").fetchone()
        conn.set_trace_callback(ran.append)
        assert apply.apply(conn, M013, lambda: migration.execute(conn)) is not None
        conn.set_trace_callback(None)
        assert conn.execute("PRAGMA cache_size").fetchone() == (own,)
    finally:
        conn.close()
    back = f"PRAGMA cache_size = {own}"
    assert ran.index("BEGIN IMMEDIATE") < ran.index(CACHE_UP) < ran.index(TRANSFER) < ran.index(back) < ran.index("COMMIT")
    assert ran.count(CACHE_UP) == 1  # the copy only, not the index builds after it


def test_011s_copy_with_the_larger_cache_keeps_every_lesson_as_omegas_own_011_does(tmp_path: Path) -> None:
    ours = helpers.build(tmp_path / "ours.db", to="010")
    conn = helpers.connect(ours)
    conn.execute("BEGIN")
    add_lessons(conn, 300)
    conn.execute("DELETE FROM lessons WHERE rowid % 7 = 0")
    conn.execute("COMMIT")
    conn.close()
    theirs = tmp_path / "theirs.db"
    shutil.copyfile(ours, theirs)
    migration = shipped("011")
    ran: list[str] = []
    conn = db.connect_readwrite(ours)
    try:
        conn.set_trace_callback(ran.append)
        assert apply.apply(conn, migration.name, lambda: migration.execute(conn)) is not None
    finally:
        conn.close()
    assert CACHE_UP in ran
    assert run_like_omega(theirs, migration.statements, record=migration.name) is None
    assert lesson_rows(ours) == lesson_rows(theirs) and len(lesson_rows(ours)) == 300 - 300 // 7


def test_the_cache_is_put_back_when_the_copy_fails_and_a_larger_one_is_left_alone(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "t.db")
    try:
        conn.execute("CREATE TABLE t (a UNIQUE)")
        conn.execute("INSERT INTO t VALUES (1)")
        try:
            with transfer.roomy_cache(conn):
                assert conn.execute("PRAGMA cache_size").fetchone() == (-transfer.COPY_CACHE_KIB,)
                conn.execute("INSERT INTO t SELECT a FROM t")  # a UNIQUE violation
        except sqlite3.IntegrityError:
            pass
        else:
            raise AssertionError("the copy should have failed")
        assert conn.execute("PRAGMA cache_size").fetchone() == (-2000,)
        conn.execute("PRAGMA cache_size = -65536")
        with transfer.roomy_cache(conn):
            assert conn.execute("PRAGMA cache_size").fetchone() == (-65536,)
        assert conn.execute("PRAGMA cache_size").fetchone() == (-65536,)
    finally:
        conn.close()


def test_only_an_insert_from_a_select_is_a_copy() -> None:
    assert [transfer.is_copy(s) for s in shipped("011").statements].count(True) == 1
    assert transfer.is_copy(BY_NAME)
    assert not transfer.is_copy("INSERT INTO _migrations (name) VALUES ('011_project_learning')")
    assert not transfer.is_copy("CREATE TABLE t2 AS SELECT * FROM t")


def test_the_rowid_check_after_a_transfer_reads_two_ends_of_the_table_not_every_row(tmp_path: Path) -> None:
    path = at_012_with_gaps(tmp_path / "memory.db")
    ran = apply_013_traced(path)
    spans = [s for s in ran if "min(rowid)" in s]
    assert len(spans) == 2
    conn = sqlite3.connect(path)
    try:
        for statement in spans:
            plan = " ".join(str(row[-1]) for row in conn.execute("EXPLAIN QUERY PLAN " + statement.replace("lessons_v2", "lessons")))
            assert "SEARCH" in plan and "SCAN lessons" not in plan and "COVERING INDEX" not in plan, plan
    finally:
        conn.close()
