"""Property: migrating any 010 database to 011, and on to 013, keeps every row exactly.

At 011 every row gains project = ''; more lessons are then written in projects
(as OMEGA v1.3.0 would, one per scope while 011's UNIQUE holds), and 013 must
keep those too, each value in its column and each lesson with its rowid.

Hypothesis builds 010 databases from generated rows — any text (unicode, quotes,
NUL, empty), numbers and blobs where SQLite's affinity lets them in, collisions
on sender and domain, empty tables — and compares every table before and after.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omega_db.chain import migrate
from tests import helpers

# Forty generated databases migrated: about 1-2 s.
pytestmark = pytest.mark.slow

CHANGED = ("outcomes", "lessons", "scheduled_tasks")


# Text of every kind, with a few values repeated often enough to collide.
text = st.one_of(
    st.sampled_from(["", "alice", "Alice", "a'b", 'say "hi"', "%_", "télé-42", "\x00", "a\x00b", "[red]x"]),
    st.text(max_size=24),
)
# A TEXT column also holds what its affinity lets through: numbers become text, blobs stay blobs.
loose = st.one_of(text, st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.binary(max_size=16))
maybe = st.one_of(st.none(), loose)
integer = st.integers(-(2**63), 2**63 - 1)

outcome_rows = st.lists(
    st.tuples(text, loose, loose, loose, st.sampled_from([-1, 0, 1]), loose, loose),
    max_size=12, unique_by=lambda r: r[0],
)
# TEXT PRIMARY KEY admits NULL (an old SQLite quirk), and several of them.
lesson_rows = st.lists(
    st.tuples(st.one_of(st.none(), text), text, text, loose, st.one_of(integer, loose), loose, loose),
    max_size=12,
)
task_rows = st.lists(
    st.tuples(text, loose, loose, loose, loose, loose, maybe, loose, loose, maybe, loose,
              st.one_of(integer, loose), maybe),
    max_size=8, unique_by=lambda r: r[0],
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty 010 database, copied for each example."""
    return helpers.build(tmp_path_factory.mktemp("template") / "010.db", to="010")


def insert(path: Path, outcomes: list[tuple], lessons: list[tuple], tasks: list[tuple]) -> None:
    """Write the generated rows; lessons colliding on a UNIQUE key are skipped, as OMEGA would."""
    conn = helpers.connect(path)
    try:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", outcomes,
        )
        conn.executemany(
            "INSERT OR IGNORE INTO lessons (id, sender_id, domain, rule, occurrences, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", lessons,
        )
        conn.executemany(
            "INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at, repeat, "
            "status, created_at, delivered_at, task_type, retry_count, last_error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", tasks,
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


Row = tuple[tuple[str, str, str], ...]  # (column, SQLite type, repr of the exact value), by column


def typed_rows(path: Path, table: str) -> Counter[Row]:
    """Every row of table with each value's SQLite type, as a multiset: 1 and '1' differ."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.text_factory = bytes  # the exact bytes, NUL included
    try:
        columns = [r[1].decode() for r in conn.execute(f"SELECT * FROM pragma_table_info('{table}')")]
        select = ", ".join(f'typeof("{c}"), "{c}"' for c in columns)
        rows: Counter[Row] = Counter()
        for values in conn.execute(f"SELECT {select} FROM {table}"):
            rows[tuple(sorted(
                (c, values[2 * i].decode(), repr(values[2 * i + 1])) for i, c in enumerate(columns)
            ))] += 1
        return rows
    finally:
        conn.close()


def with_project(rows: Counter[Row]) -> Counter[Row]:
    """The same rows, each with project = '' (text) added."""
    return Counter({tuple(sorted((*row, ("project", "text", repr(b""))))): n for row, n in rows.items()})


# Lessons OMEGA writes at 011: in a project or the general scope.
scoped_lessons = st.lists(
    st.tuples(st.one_of(st.none(), text), text, text, loose, text, st.one_of(integer, loose), loose, loose),
    max_size=12,
)


def tables(path: Path) -> dict[str, Counter[Row]]:
    return {table: typed_rows(path, table) for table in helpers.user_tables(helpers.connect(path))}


def lesson_rowids(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.text_factory = bytes
    try:
        return sorted(conn.execute("SELECT rowid, quote(id), quote(rule) FROM lessons"))
    finally:
        conn.close()


def assert_kept(before: dict[str, Counter[Row]], after: dict[str, Counter[Row]], gained: tuple[str, ...]) -> None:
    """Every table's rows as before; the tables in `gained` each with project = '' added."""
    new = {"_migrations", "project_sessions"}
    assert after.keys() - new == before.keys() - new
    for table in before.keys() - new:
        expected = with_project(before[table]) if table in gained else before[table]
        assert after[table] == expected, table


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outcomes=outcome_rows, lessons=lesson_rows, tasks=task_rows, later=scoped_lessons)
def test_migrating_any_010_database_to_011_and_013_keeps_every_row(
    template: Path, outcomes: list[tuple], lessons: list[tuple], tasks: list[tuple], later: list[tuple]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "memory.db"
        shutil.copyfile(template, path)
        insert(path, outcomes, lessons, tasks)
        before = tables(path)
        assert sum(before["outcomes"].values()) == len(outcomes)

        assert migrate.migrate(path, make_backup=False, to="011").current == "011_project_learning"
        at_011 = tables(path)
        assert_kept(before, at_011, CHANGED)

        conn = helpers.connect(path)
        conn.executemany(
            "INSERT OR IGNORE INTO lessons (id, sender_id, domain, rule, project, occurrences, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", later,
        )
        conn.close()
        at_011 = tables(path)
        rowids = lesson_rowids(path)

        assert migrate.migrate(path, make_backup=False).current == "013_multi_lessons"
        after = tables(path)
        assert after["lessons"] == at_011["lessons"]  # projects included: nothing moved between columns
        assert_kept(at_011, after, ("conversations",))
        assert lesson_rowids(path) == rowids
