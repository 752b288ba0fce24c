"""lessons, outcomes, tasks through the CLI: JSON, CSV, tables, read-only, old databases, streaming."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from omega_db.cli import app
from omega_db.output import listings
from tests import helpers, listing_seed
from tests.inputkit import one_sentence

PROJECTS = (None, "", "my-app", "a'b%_", "café-ü", "nope")


def options(**given: Any) -> list[str]:
    """CLI options for the given values (None: left out; True: a flag)."""
    args: list[str] = []
    for name, value in given.items():
        if value is None or value is False:
            continue
        args += [f"--{name}"] if value is True else [f"--{name}", str(value)]
    return args


def run(runner: CliRunner, path: Path, *args: str) -> Any:
    """Invoke the CLI; the database file must be byte for byte and mtime the same afterwards."""
    before = helpers.fingerprint(path)
    result = runner.invoke(app, [*args[:1], str(path), *args[1:]])
    assert helpers.fingerprint(path) == before, args
    return result


def without_unknown_project_note(stderr: str) -> str:
    """stderr less issue 21's note for a --project with no rows (tested in test_unknown_project.py)."""
    return "".join(line for line in stderr.splitlines(keepends=True) if not line.startswith("omega-db: note: no rows for "))


def as_json(result: Any) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.stderr
    assert without_unknown_project_note(result.stderr) == ""
    return json.loads(result.stdout)  # nothing but the document on stdout


def as_csv(result: Any) -> tuple[list[str], list[list[str]]]:
    assert result.exit_code == 0, result.stderr
    header, *rows = list(csv.reader(io.StringIO(result.stdout)))
    return header, rows


def csv_cells(rows: list[dict[str, Any]]) -> list[list[str]]:
    """How the expected rows read back from CSV: NULL as an empty field, numbers as text."""
    return [["" if v is None else str(v) for v in row.values()] for row in rows]


PRE_011_NOTE = (
    'omega-db: note: this database predates migration 011_project_learning; every row is general (project "").\n'
)
# What a table shows for a stored value (SPEC.md: '' reads "(general)"; scores +, -, ~).
SYMBOLS = {1: "+", -1: "-", 0: "~"}


def scope(project: str) -> str:
    return "(general)" if project == "" else project


def as_cell(text: str) -> str:
    """Stored text as a piped table cell shows it: on its one line, a newline as the escape \\n."""
    return text.replace("\n", "\\n").strip()


def table(runner: CliRunner, path: Path, *args: str) -> tuple[str, list[dict[str, str]], set[dt.datetime], str]:
    """A listing drawn as a table: its title, its rows, the moments its times may be labelled
    from (before or after the command: the table's own "now"), and the count under it."""
    start = dt.datetime.now(dt.UTC)
    result = run(runner, path, *args)
    end = dt.datetime.now(dt.UTC)
    assert result.exit_code == 0 and without_unknown_project_note(result.stderr) == "", result.stderr
    title, rows = helpers.read_listing(result.stdout)
    return title, rows, {start, end}, result.stdout.splitlines()[-1]


def time_labels(stored: str, moments: set[dt.datetime]) -> set[str]:
    return {listings.when_label(stored, moment) for moment in moments}


@pytest.mark.parametrize("project", PROJECTS)
def test_lessons_json_equals_omega_semantics(
    runner: CliRunner, projects_db: Path, project: str | None
) -> None:
    for only, sender, domain, limit in itertools.product(
        (False, True), (None, "télé-42"), (None, "coding"), (None, 0, 3)
    ):
        if only and project is None:
            continue
        got = as_json(
            run(
                runner,
                projects_db,
                "lessons",
                "-f",
                "json",
                *options(project=project, only=only, sender=sender, domain=domain, limit=limit),
            )
        )
        expected = listing_seed.expected_lessons(
            projects_db, project=project, only=only, sender=sender, domain=domain, limit=limit
        )
        assert got == expected, (project, only, sender, domain, limit)
        assert all(list(row) == list(listing_seed.LESSON_COLUMNS) for row in got)


@pytest.mark.parametrize("project", PROJECTS)
def test_outcomes_json_equals_omega_semantics(
    runner: CliRunner, projects_db: Path, project: str | None
) -> None:
    for sender, domain, hours, limit in itertools.product(
        (None, "alice"), (None, "trading"), (None, 2.5, 24), (None, 0, 3)
    ):
        got = as_json(
            run(
                runner,
                projects_db,
                "outcomes",
                "-f",
                "json",
                *options(project=project, sender=sender, domain=domain, hours=hours, limit=limit),
            )
        )
        expected = listing_seed.expected_outcomes(
            projects_db,
            project=project,
            sender=sender,
            domain=domain,
            hours=hours,
            limit=50 if limit is None else limit,
        )
        assert got == expected, (project, sender, domain, hours, limit)
        assert all(list(row) == list(listing_seed.OUTCOME_COLUMNS) for row in got)


@pytest.mark.parametrize("project", PROJECTS)
def test_tasks_json_equals_omega_semantics(
    runner: CliRunner, projects_db: Path, project: str | None
) -> None:
    columns = listing_seed.task_columns(projects_db)
    for sender, status, due, limit in itertools.product(
        (None, "bob"), (None, "delivered", "all"), (False, True), (None, 2)
    ):
        if due and status not in (None, "pending"):
            continue
        got = as_json(
            run(
                runner,
                projects_db,
                "tasks",
                "-f",
                "json",
                *options(project=project, sender=sender, status=status, due=due, limit=limit),
            )
        )
        expected = listing_seed.expected_tasks(
            projects_db, project=project, sender=sender, status=status or "pending", due=due, limit=limit
        )
        assert got == expected, (project, sender, status, due, limit)
        assert all(list(row) == columns for row in got)


@pytest.mark.parametrize(
    "command,expected",
    [
        ("lessons", lambda p, project: listing_seed.expected_lessons(p, project=project)),
        (
            "outcomes",
            lambda p, project: listing_seed.expected_outcomes(p, project=project, limit=0),
        ),
        ("tasks", lambda p, project: listing_seed.expected_tasks(p, project=project, status="all")),
    ],
)
def test_csv_reads_back_as_the_same_rows(
    runner: CliRunner, projects_db: Path, command: str, expected: Any
) -> None:
    extra = {"outcomes": ["--limit", "0"], "tasks": ["--status", "all"]}.get(command, [])
    for project in ("my-app", "a'b%_", "", None):
        rows = expected(projects_db, project)
        header, cells = as_csv(
            run(runner, projects_db, command, "-f", "csv", *extra, *options(project=project))
        )
        assert rows, (command, project)
        assert header == list(rows[0])
        assert cells == csv_cells(rows)


def test_csv_and_json_of_nothing(runner: CliRunner, projects_db: Path) -> None:
    header, cells = as_csv(
        run(runner, projects_db, "lessons", "-f", "csv", "--project", "nope", "--only")
    )
    assert header == list(listing_seed.LESSON_COLUMNS) and cells == []
    assert as_json(run(runner, projects_db, "outcomes", "-f", "json", "--project", "nope")) == []


def test_table_shows_rows_general_and_a_title(runner: CliRunner, projects_db: Path) -> None:
    title, rows, moments, footer = table(runner, projects_db, "lessons", "--project", "my-app", "--sender", "alice")
    expected = listing_seed.expected_lessons(projects_db, project="my-app", sender="alice")
    assert title == "Lessons for my-app (+ general), sender alice"
    assert footer == f"{len(expected)} rows"  # the count comes last: the rows stream
    assert [(r["project"], r["sender"], r["domain"], r["rule"], r["#"]) for r in rows] == [
        (scope(e["project"]), e["sender_id"], e["domain"], as_cell(e["rule"]), str(e["occurrences"]))
        for e in expected
    ]
    for row, lesson in zip(rows, expected, strict=True):
        assert row["updated (UTC)"] in time_labels(lesson["updated_at"], moments)
    shown = [r["project"] for r in rows]
    assert set(shown) == {"my-app", "(general)"}
    assert shown == sorted(shown, key=lambda p: p == "(general)")  # P's lessons first, then general
    assert any("[red]markup[/red]" in r["rule"] for r in rows)  # user text is shown, never read as markup


def test_outcomes_table_has_scores_and_ages(runner: CliRunner, projects_db: Path) -> None:
    """Each row, in order: its score's symbol, its time with the age, its project, sender,
    domain and lesson, against the test's own query."""
    symbols = set()
    for project, scope_words in (("", "for (general)"), (None, "in every project")):
        title, rows, moments, footer = table(runner, projects_db, "outcomes", "--hours", "24", *options(project=project))
        expected = listing_seed.expected_outcomes(projects_db, project=project, hours=24)
        count = f"{len(expected)} rows" + (" (limit 50; --limit 0 shows every row)" if len(expected) == 50 else "")
        assert title == f"Outcomes {scope_words}, last 24 h"
        assert footer == count  # the count comes last: the rows stream
        assert [{k: v for k, v in r.items() if k != "time (UTC)"} for r in rows] == [
            {
                "score": SYMBOLS[e["score"]],
                "project": scope(e["project"]),
                "sender": e["sender_id"],
                "domain": e["domain"],
                "lesson": as_cell(e["lesson"]),
            }
            for e in expected
        ]
        for row, outcome in zip(rows, expected, strict=True):
            assert row["time (UTC)"] in time_labels(outcome["timestamp"], moments)
        symbols |= {r["score"] for r in rows}
    assert symbols == {"+", "-", "~"}  # each symbol was compared somewhere


def test_tasks_table(runner: CliRunner, projects_db: Path) -> None:
    title, rows, moments, footer = table(runner, projects_db, "tasks", "--due")
    due = listing_seed.expected_tasks(projects_db, due=True)
    assert title == "Due tasks in every project" and footer == f"{len(due)} rows"

    def kind(task: dict[str, Any]) -> str:  # "reminder", "action, daily"
        return ", ".join(task[k] for k in ("task_type", "repeat") if task[k] not in (None, "", "once"))

    assert [(r["id"], r["project"], r["sender"], r["kind"], r["description"]) for r in rows] == [
        (t["id"], scope(t["project"]), t["sender_id"], kind(t), t["description"]) for t in due
    ]
    for row, task in zip(rows, due, strict=True):
        assert row["due (UTC)"] in time_labels(task["due_at"], moments) and row["due (UTC)"].endswith(" ago)")
    assert all(r["description"].endswith(" [bold]x[/]") for r in rows)  # markup shown as written


NOTHING_MATCHED = {
    ("lessons", "--project", "nope", "--only"): "Nothing matched: Lessons for nope.\n",
    ("outcomes", "--sender", "nobody"): "Nothing matched: Outcomes in every project, sender nobody.\n",
    ("tasks", "--project", "nope"): "Nothing matched: Pending tasks for nope.\n",
}


@pytest.mark.parametrize("args", list(NOTHING_MATCHED))
def test_table_says_so_when_nothing_matched(
    runner: CliRunner, projects_db: Path, args: tuple[str, ...]
) -> None:
    result = run(runner, projects_db, *args)
    assert result.exit_code == 0 and without_unknown_project_note(result.stderr) == ""
    assert result.stdout == NOTHING_MATCHED[args]


def test_names_are_shown_as_written_never_as_markup(runner: CliRunner, projects_db: Path) -> None:
    result = run(runner, projects_db, "lessons", "--project", ":smile: [red]x[/]", "--only")
    assert result.stdout == "Nothing matched: Lessons for :smile: [red]x[/].\n"


@pytest.mark.parametrize(
    "stored,label",
    [
        ("2026-03-01 12:00:00", "2026-03-01 12:00 (3h ago)"),
        ("2026-03-01T14:59:30Z", "2026-03-01 14:59 (just now)"),
        ("2026-03-01T14:15:00", "2026-03-01 14:15 (45m ago)"),
        ("2026-02-25 15:00:00", "2026-02-25 15:00 (4d ago)"),
        ("2026-03-01 17:30:00", "2026-03-01 17:30 (in 2h)"),
        ("not a time", "not a time"),
    ],
)
def test_time_labels(stored: str, label: str) -> None:
    now = dt.datetime(2026, 3, 1, 15, 0, tzinfo=dt.UTC)
    assert listings.when_label(stored, now) == label


def test_before_011_answers_as_general_with_a_note(runner: CliRunner, seeded_010: Path) -> None:
    for command, extra in (
        ("lessons", []),
        ("outcomes", ["--limit", "0"]),
        ("tasks", ["--status", "all"]),
    ):
        result = run(runner, seeded_010, command, "-f", "json", *extra)
        assert result.exit_code == 0
        assert result.stderr == PRE_011_NOTE
        rows = json.loads(result.stdout)
        assert rows and {r["project"] for r in rows} == {""}
        general = run(runner, seeded_010, command, "-f", "json", "--project", "", *extra)
        assert json.loads(general.stdout) == rows
        assert json.loads(
            run(runner, seeded_010, command, "-f", "json", "--project", "my-app", *extra).stdout
        ) == (rows if command == "lessons" else [])  # lessons: OMEGA injects the general ones
    tasks = json.loads(run(runner, seeded_010, "tasks", "-f", "json", "--status", "all").stdout)
    assert list(tasks[0]) == listing_seed.task_columns(seeded_010)
    drawn = run(runner, seeded_010, "lessons")
    assert drawn.exit_code == 0
    assert drawn.stderr == PRE_011_NOTE
    title, shown = helpers.read_listing(drawn.stdout)
    lessons = json.loads(run(runner, seeded_010, "lessons", "-f", "json").stdout)
    assert title == "Lessons in every project" and drawn.stdout.splitlines()[-1] == f"{len(lessons)} rows"
    assert [(r["project"], r["rule"]) for r in shown] == [("(general)", r["rule"]) for r in lessons]


@pytest.mark.parametrize(
    "to,command,missing",
    [
        ("009", "lessons", "010_outcomes"),
        ("009", "outcomes", "010_outcomes"),
        ("004", "tasks", "005_scheduled_tasks"),
    ],
)
def test_missing_table_exits_2_naming_the_migration(
    runner: CliRunner, db_path: Path, to: str, command: str, missing: str
) -> None:
    helpers.build(db_path, to=to)
    result = run(runner, db_path, command, "-f", "json")
    assert result.exit_code == 2
    assert missing in one_sentence(result, db_path)


def test_tasks_answer_before_010(runner: CliRunner, db_path: Path) -> None:
    helpers.build(db_path, to="009")
    result = run(runner, db_path, "tasks", "-f", "json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    assert result.stderr == PRE_011_NOTE


@pytest.mark.slow
def test_read_only_while_omega_holds_it_open_in_wal(projects_db: Path, tmp_path: Path) -> None:
    """A real OMEGA-like writer in WAL mode, committed rows not yet checkpointed and a transaction open."""
    path = tmp_path / "wal.db"
    path.write_bytes(projects_db.read_bytes())
    omega = sqlite3.connect(path, isolation_level=None)
    try:
        assert omega.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
        omega.execute("PRAGMA wal_autocheckpoint = 0")
        omega.execute(
            "INSERT INTO lessons (id, sender_id, domain, rule, project) "
            "VALUES ('wal-committed', 'alice', 'wal', 'committed in the WAL', 'my-app')"
        )
        omega.execute("BEGIN IMMEDIATE")
        omega.execute(
            "INSERT INTO lessons (id, sender_id, domain, rule, project) "
            "VALUES ('wal-open', 'bob', 'wal', 'not committed', 'my-app')"
        )
        wal = path.with_name(path.name + "-wal")
        before, wal_before = helpers.fingerprint(path), helpers.fingerprint(wal)
        for args in (
            ["lessons", "--project", "my-app", "-f", "json"],
            ["outcomes", "-f", "csv"],
            ["tasks", "--due"],
            ["lessons", "--only", "--project", "my-app"],
        ):
            done = helpers.run_cli(args[0], str(path), *args[1:])
            assert done.returncode == 0, done.stderr
            assert helpers.fingerprint(path) == before, args
            assert helpers.fingerprint(wal) == wal_before, args
            if args[-1] == "json":
                ids = {r["id"] for r in json.loads(done.stdout)}
                assert "wal-committed" in ids and "wal-open" not in ids
        omega.execute("COMMIT")
    finally:
        omega.close()


@pytest.mark.slow
def test_large_exports_stream(tmp_path: Path) -> None:
    """Peak memory of `outcomes --limit 0 -f json` does not grow with the rows exported."""
    path = helpers.build(tmp_path / "big.db")
    conn = helpers.connect(path)
    text = "x" * 2000
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson) VALUES (?, ?, 'a', 'd', 0, ?)",
        (
            (f"o{i:06d}", f"2026-01-01 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}", text)
            for i in range(25_000)
        ),
    )
    conn.execute("COMMIT")
    conn.close()

    def peak_kib(limit: int) -> int:
        probe = (
            "import atexit, resource, sys\n"
            "atexit.register(lambda: sys.stderr.write("
            "'PEAK %d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
            "from omega_db.cli import main\n"
            f"sys.argv = ['omega-db', 'outcomes', {str(path)!r}, '--limit', {str(limit)!r}, '-f', 'json']\n"
            "main()\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=True,
        )
        return int(done.stderr.rsplit("PEAK ", 1)[1])

    small, full = peak_kib(500), peak_kib(0)  # 1 MB of JSON against 50 MB
    assert full - small < 12 * 1024, (small, full)
