"""The listing core: OMEGA's semantics, bound parameters, streaming, old databases."""

from __future__ import annotations

import itertools
import json
import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from omega_db.data import listing, queries
from omega_db.ground.errors import BadArgumentError, MissingMigrationError
from tests import helpers, listing_seed


@pytest.fixture
def conn(projects_db: Path) -> Iterator[sqlite3.Connection]:
    with listing.snapshot(projects_db) as connection:
        yield connection


def rows_of(answer: listing.Answer) -> list[dict[str, Any]]:
    return [dict(zip(answer.columns, row, strict=False)) for batch in answer.batches() for row in batch]


def json_of(answer: listing.Answer) -> list[dict[str, Any]]:
    return [json.loads(text) for batch in answer.json_batches() for text in batch]


PROJECTS = (None, *listing_seed.PROJECTS[:4], "nope")


@pytest.mark.parametrize(
    "project,only", [(p, o) for p in PROJECTS for o in (False, True) if p is not None or not o]
)
def test_lessons_follow_omega(
    conn: sqlite3.Connection, projects_db: Path, project: str | None, only: bool
) -> None:
    for sender, domain, limit in itertools.product(
        (None, "télé-42", "42"), (None, "coding"), (None, 0, 4)
    ):
        answer = queries.lessons(
            conn, project=project, only=only, sender=sender, domain=domain, limit=limit
        )
        expected = listing_seed.expected_lessons(
            projects_db, project=project, only=only, sender=sender, domain=domain, limit=limit
        )
        assert rows_of(answer) == expected, (project, only, sender, domain, limit)
        assert json_of(answer) == expected
        assert answer.columns == listing_seed.LESSON_COLUMNS


def test_lessons_of_a_project_come_first_then_general(conn: sqlite3.Connection) -> None:
    rows = rows_of(queries.lessons(conn, project="my-app"))
    scopes = [r["project"] for r in rows]
    assert set(scopes) == {"my-app", ""}
    assert scopes == sorted(
        scopes, key=lambda p: p == ""
    )  # all my-app rows before every general one
    assert {r["project"] for r in rows_of(queries.lessons(conn, project="my-app", only=True))} == {
        "my-app"
    }
    assert {r["project"] for r in rows_of(queries.lessons(conn, project=""))} == {""}


@pytest.mark.parametrize("project", PROJECTS)
def test_outcomes_follow_omega(
    conn: sqlite3.Connection, projects_db: Path, project: str | None
) -> None:
    combos = itertools.product(
        (None, "alice", "télé-42"), (None, "trading"), (None, 1, 2.5, 24, 100), (50, 0, 3)
    )
    for sender, domain, hours, limit in combos:
        answer = queries.outcomes(
            conn, project=project, sender=sender, domain=domain, hours=hours, limit=limit
        )
        expected = listing_seed.expected_outcomes(
            projects_db, project=project, sender=sender, domain=domain, hours=hours, limit=limit
        )
        assert rows_of(answer) == expected, (project, sender, domain, hours, limit)
        assert json_of(answer) == expected


def test_outcomes_default_cap_is_50_and_0_means_all(
    conn: sqlite3.Connection, projects_db: Path
) -> None:
    assert len(rows_of(queries.outcomes(conn))) == 50
    assert len(rows_of(queries.outcomes(conn, limit=0))) == 90
    assert len(rows_of(queries.outcomes(conn, limit=None))) == 90


def test_hours_reaching_past_year_0_means_every_row(conn: sqlite3.Connection) -> None:
    # datetime('now', '-1e9 hours') is NULL in SQLite: a naive bound would return nothing.
    assert len(rows_of(queries.outcomes(conn, hours=1e9, limit=0))) == 90
    assert len(rows_of(queries.outcomes(conn, hours=1e300, limit=0))) == 90


def test_hours_fraction_is_a_real_bound(conn: sqlite3.Connection, projects_db: Path) -> None:
    within = rows_of(queries.outcomes(conn, hours=0.5, limit=0))
    assert within == listing_seed.expected_outcomes(projects_db, hours=0.5, limit=0)
    # Neither rounded up to an hour nor down to nothing: 0.5 h is a bound of its own.
    assert 0 < len(within) < len(rows_of(queries.outcomes(conn, hours=1, limit=0)))


@pytest.mark.parametrize("status", ["pending", "delivered", "cancelled", "failed", "all"])
def test_tasks_follow_omega(conn: sqlite3.Connection, projects_db: Path, status: str) -> None:
    for project, sender, limit in itertools.product(PROJECTS, (None, "bob"), (None, 0, 2)):
        answer = queries.tasks(conn, project=project, sender=sender, status=status, limit=limit)
        expected = listing_seed.expected_tasks(
            projects_db, project=project, sender=sender, status=status, limit=limit
        )
        assert rows_of(answer) == expected, (project, sender, status, limit)
        assert json_of(answer) == expected
        assert list(answer.columns) == listing_seed.task_columns(projects_db)


def test_due_tasks_are_pending_and_due_now(conn: sqlite3.Connection, projects_db: Path) -> None:
    for project, sender in itertools.product(PROJECTS, (None, "bob")):
        answer = queries.tasks(conn, project=project, sender=sender, due=True)
        assert rows_of(answer) == listing_seed.expected_tasks(
            projects_db, project=project, sender=sender, due=True
        )
    due = rows_of(queries.tasks(conn, due=True))
    assert due and {t["status"] for t in due} == {"pending"}
    forms = {("T" in t["due_at"], t["due_at"].endswith("Z")) for t in due}
    assert forms == {(False, False), (True, False), (True, True)}  # every way due_at is written


def test_tasks_order_by_the_time_not_the_text(conn: sqlite3.Connection) -> None:
    due = [t["due_at"] for t in rows_of(queries.tasks(conn, status="all"))]
    normalised = [d.replace("T", " ").rstrip("Z") for d in due]
    assert normalised == sorted(normalised)
    assert due != sorted(due)  # as plain text 'T' sorts after ' ': the order really is by time


def test_values_are_bound_never_formatted(conn: sqlite3.Connection) -> None:
    tricky = "a'b%_"
    for answer in (
        queries.lessons(conn, project=tricky, sender=tricky, domain=tricky),
        queries.outcomes(conn, project=tricky, sender=tricky, domain=tricky, hours=2.5),
        queries.tasks(conn, project=tricky, sender=tricky, status="failed", limit=3),
    ):
        assert tricky not in answer.sql and "failed" not in answer.sql and "2.5" not in answer.sql
        assert tricky in answer.params
    # a'b%_ matches only itself: not the decoy a'bcd_ that LIKE 'a''b%_' would.
    assert {r["project"] for r in rows_of(queries.lessons(conn, project=tricky, only=True))} == {
        tricky
    }


def test_batches_are_bounded(conn: sqlite3.Connection) -> None:
    answer = queries.outcomes(conn, limit=0)
    sizes = [len(batch) for batch in answer.json_batches(size=7)]
    assert max(sizes) == 7 and sum(sizes) == 90
    assert [len(b) for b in answer.batches(size=40)] == [40, 40, 10]


def test_json_is_what_sqlite_holds(conn: sqlite3.Connection) -> None:
    rows = json_of(queries.tasks(conn, status="all", sender="42"))
    assert rows and all(r["sender_id"] == "42" for r in rows)  # text that looks numeric stays text
    assert all(isinstance(r["retry_count"], int) for r in rows)
    assert any(r["repeat"] is None for r in rows) and any(r["last_error"] is None for r in rows)
    general = json_of(queries.lessons(conn, project=""))
    assert general and all(r["project"] == "" for r in general)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: queries.lessons(c, only=True),
        lambda c: queries.lessons(c, limit=-1),
        lambda c: queries.outcomes(c, hours=0),
        lambda c: queries.outcomes(c, hours=-2),
        lambda c: queries.outcomes(c, hours=math.nan),
        lambda c: queries.outcomes(c, hours=math.inf),
        lambda c: queries.tasks(c, status="done"),
        lambda c: queries.tasks(c, status="all", due=True),
    ],
)
def test_bad_arguments(conn: sqlite3.Connection, call: Any) -> None:
    with pytest.raises(BadArgumentError) as caught:
        call(conn)
    assert caught.value.exit_code == 2


def test_before_011_every_row_is_general(seeded_010: Path) -> None:
    with listing.snapshot(seeded_010) as conn:
        lessons = queries.lessons(conn)
        assert lessons.before_011
        rows = rows_of(lessons)
        assert rows and rows == listing_seed.expected_lessons(seeded_010)
        assert {r["project"] for r in rows} == {""}
        assert rows_of(queries.lessons(conn, project="my-app", only=True)) == []
        assert (
            rows_of(queries.lessons(conn, project="my-app")) == rows
        )  # OMEGA injects the general ones
        assert rows_of(
            queries.outcomes(conn, project="", limit=0)
        ) == listing_seed.expected_outcomes(seeded_010, limit=0)
        tasks = queries.tasks(conn, status="all")
        assert tasks.before_011 and tasks.columns[-1] == "project"
        assert json_of(tasks) == listing_seed.expected_tasks(seeded_010, status="all")


@pytest.mark.parametrize(
    "to,table,missing",
    [
        ("009", "outcomes", "010_outcomes"),
        ("009", "lessons", "010_outcomes"),
        ("004", "tasks", "005_scheduled_tasks"),
    ],
)
def test_missing_table_names_the_migration(
    db_path: Path, to: str, table: str, missing: str
) -> None:
    helpers.build(db_path, to=to)
    with listing.snapshot(db_path) as conn, pytest.raises(MissingMigrationError) as caught:
        getattr(queries, table)(conn)
    assert missing in caught.value.message and caught.value.exit_code == 2
