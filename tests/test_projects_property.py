"""Property: over generated 013 databases, renaming A to B keeps every outcome and task, keeps exactly
the lessons OMEGA's cap rule keeps (mergekit's SQL), and renaming back a project that merged nothing
restores every row as it was."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omega_db.data import rename
from tests import helpers, mergekit
from tests.test_projects_rename import renamed_dump

pytestmark = pytest.mark.slow

project = st.sampled_from(["A", "B", "", "C"])
times = st.sampled_from(["2026-01-01 00:00:00", "2026-01-02 00:00:00", "2026-01-03 00:00:00"])
lesson_rows = st.lists(
    st.tuples(st.sampled_from(["s1", "s2"]), st.sampled_from(["d1", "d2"]), st.sampled_from(["r1", "r2", "r3", "r4"]),
              project, st.integers(1, 5), times, times),
    max_size=40,
)
other_rows = st.lists(st.tuples(st.sampled_from(["s1", "s2"]), project, times), max_size=15)

_template = Path(tempfile.mkdtemp(prefix="omega-db-property-")) / "013.db"


def database(folder: Path, lessons: list, outcomes: list, tasks: list) -> Path:
    if not _template.exists():
        helpers.build(_template)
    path = folder / "memory.db"
    shutil.copyfile(_template, path)
    conn = helpers.connect(path)
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO lessons (id, sender_id, domain, rule, project, occurrences, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(f"l{i}", *row) for i, row in enumerate(lessons)],
    )
    conn.executemany(
        "INSERT INTO outcomes (id, sender_id, domain, score, lesson, project, timestamp) VALUES (?, ?, 'd', 0, 'x', ?, ?)",
        [(f"o{i}", *row) for i, row in enumerate([("s1", "A", "2026-01-01 00:00:00"), *outcomes])],
    )
    conn.executemany(
        "INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at, project) "
        "VALUES (?, 'tg', ?, 'r', 'task', ?, ?)",
        [(f"t{i}", sender, due, proj) for i, (sender, proj, due) in enumerate(tasks)],
    )
    conn.execute("COMMIT")
    conn.close()
    return path


def run(path: Path, old: str, new: str) -> rename.Renamed:
    prepared = rename.prepare(path, old, new, projects_dir=path.parent / "projects")
    return rename.rename(prepared, make_backup=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lessons=lesson_rows, outcomes=other_rows, tasks=other_rows, b_empty=st.booleans())
def test_rename_keeps_every_row_and_exactly_what_the_cap_keeps(lessons: list, outcomes: list, tasks: list,
                                                             b_empty: bool) -> None:
    if b_empty:  # B has no rows at all: nothing merges, and the rename can be undone
        lessons = [row for row in lessons if row[3] != "B"]
        outcomes = [row for row in outcomes if row[1] != "B"]
        tasks = [row for row in tasks if row[1] != "B"]
    with tempfile.TemporaryDirectory() as folder:
        path = database(Path(folder), lessons, outcomes, tasks)
        before = helpers.dump(path)
        kept, evicted = mergekit.expected_lessons(path, "A", "B", cap=10)
        others = {p: mergekit.lessons_of(path, p) for p in ("", "C")}
        done = run(path, "A", "B")
        after = helpers.dump(path)
        expected = renamed_dump(before, "A", "B")
        for table in ("outcomes", "scheduled_tasks", "facts", "messages", "conversations"):
            assert after[table] == expected[table]
        assert mergekit.lessons_of(path, "B") == kept
        assert mergekit.lessons_of(path, "A") == set()
        assert {p: mergekit.lessons_of(path, p) for p in ("", "C")} == others
        assert {(e.id, e.sender_id, e.domain, e.rule) for e in done.evicted} == evicted
        if b_empty:
            assert done.moves.merged == 0 and not evicted
            run(path, "B", "A")
            assert helpers.dump(path) == before
