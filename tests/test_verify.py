"""omega-db verify: a green answer can be trusted, a red one names the problem, no byte changes."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omega_db.chain import migrate
from omega_db.cli import app
from omega_db.ground import sql
from omega_db.verify.run import verify
from tests import helpers
from tests.omega_runner import OMEGA_003, OMEGA_013, half_003, half_011, run_like_omega

CHECK_NAMES = [
    "integrity", "history", "pending", "half-applied", "effects", "schema", "foreign-keys",
    "fts5-index", "project-not-null", "lessons-per-scope", "outcome-scores", "text-encoding",
]


def run_verify(runner: CliRunner, path: Path, *flags: str) -> tuple[int, dict[str, dict[str, str]]]:
    """verify -f json through the CLI: the exit code and the checks by name; no byte may change."""
    before = helpers.fingerprint(path)
    result = runner.invoke(app, ["verify", str(path), "-f", "json", *flags])
    assert helpers.fingerprint(path) == before, "verify changed the file"
    assert "Traceback" not in result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"database", "ok", "checks"} and doc["database"] == str(path)
    assert doc["ok"] is (result.exit_code == 0)
    checks = {c["name"]: c for c in doc["checks"]}
    assert list(checks) == CHECK_NAMES
    for check in doc["checks"]:
        assert set(check) == {"name", "status", "detail"}
        assert check["status"] in ("ok", "warning", "fail") and check["detail"] and "\n" not in check["detail"]
    return result.exit_code, checks


def statuses(checks: dict[str, dict[str, str]]) -> dict[str, str]:
    return {name: c["status"] for name, c in checks.items()}


@pytest.fixture
def seeded_010_migrated(seeded_010: Path) -> Path:
    """seeded_010 after omega-db migrated it to 013: rows in every table; yours to change."""
    migrate.migrate(seeded_010, make_backup=False)
    return seeded_010


def execute(path: Path, *statements: str) -> None:
    conn = helpers.connect(path)
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


@pytest.mark.parametrize("flags", [(), ("--quick",), ("--strict",), ("--quick", "--strict")])
def test_a_freshly_migrated_database_passes_every_check(seeded_010_migrated: Path, runner: CliRunner, flags: tuple) -> None:
    code, checks = run_verify(runner, seeded_010_migrated, *flags)
    assert code == 0
    assert set(statuses(checks).values()) == {"ok"}


def test_an_empty_new_database_passes(migrated_db: Path, runner: CliRunner) -> None:
    code, checks = run_verify(runner, migrated_db)
    assert code == 0 and set(statuses(checks).values()) == {"ok"}


def test_a_database_at_010_passes_with_a_pending_warning(seeded_010: Path, runner: CliRunner) -> None:
    code, checks = run_verify(runner, seeded_010)
    assert code == 0
    assert checks["pending"]["status"] == "warning" and "011_project_learning" in checks["pending"]["detail"]
    assert [n for n, s in statuses(checks).items() if s != "ok"] == ["pending"]
    assert "not applicable" in checks["project-not-null"]["detail"]
    strict, _ = run_verify(runner, seeded_010, "--strict")
    assert strict == 1


def test_an_empty_file_is_version_000_with_everything_pending(db_path: Path, runner: CliRunner) -> None:
    db_path.touch()
    code, checks = run_verify(runner, db_path)
    assert code == 0 and checks["pending"]["status"] == "warning" and "13 pending" in checks["pending"]["detail"]


def test_table_output_colours_status_and_exits_by_verdict(seeded_010: Path, runner: CliRunner) -> None:
    """The table (read back) holds every check with the status and detail of the JSON; the verdict
    is the last line and decides the exit code."""
    _, checks = run_verify(runner, seeded_010)
    ok = runner.invoke(app, ["verify", str(seeded_010)])
    assert ok.exit_code == 0 and ok.stderr == ""
    [(_, shown)] = helpers.read_tables(ok.stdout)
    assert [(r["check"], r["status"], r["detail"]) for r in shown] == [
        (c["name"], c["status"], " ".join(c["detail"].split())) for c in checks.values()
    ]
    assert [r["check"] for r in shown if r["status"] != "ok"] == ["pending"]
    assert ok.stdout.splitlines()[-1] == "ok (1 warning(s))"
    strict = runner.invoke(app, ["verify", str(seeded_010), "--strict"])
    assert strict.exit_code == 1
    assert strict.stdout.splitlines()[-1] == "not ok: 0 failed, 1 warning(s) (--strict: warnings count)"


def drop_column(path: Path) -> None:
    execute(path, "ALTER TABLE audit_log DROP COLUMN denial_reason")


def drop_011_index(path: Path) -> None:
    execute(path, "DROP INDEX idx_outcomes_project")


def lessons_unique_again(path: Path) -> None:
    """lessons taken back to its 012 shape (one rule per scope) while 013 stays recorded."""
    execute(
        path,
        "CREATE TABLE lessons_u (id TEXT PRIMARY KEY, sender_id TEXT NOT NULL, domain TEXT NOT NULL, "
        "rule TEXT NOT NULL, project TEXT NOT NULL DEFAULT '', occurrences INTEGER NOT NULL DEFAULT 1, "
        "created_at TEXT NOT NULL DEFAULT (datetime('now')), updated_at TEXT NOT NULL DEFAULT (datetime('now')), "
        "UNIQUE (sender_id, domain, project))",
        "INSERT INTO lessons_u SELECT * FROM lessons",
        "DROP TABLE lessons",
        "ALTER TABLE lessons_u RENAME TO lessons",
        *OMEGA_013[4:],
    )


def record_011_without_columns(path: Path) -> None:
    execute(path, "DELETE FROM _migrations WHERE name = '011_project_learning'")
    helpers.build(path.with_name("at010.db"), to="010")
    os.replace(path.with_name("at010.db"), path)
    execute(path, "INSERT INTO _migrations (name) VALUES ('011_project_learning')")


def outcomes_without_check(path: Path) -> None:
    execute(
        path,
        "CREATE TABLE o2 (id TEXT PRIMARY KEY, timestamp TEXT NOT NULL DEFAULT (datetime('now')), "
        "sender_id TEXT NOT NULL, domain TEXT NOT NULL, score INTEGER NOT NULL, lesson TEXT NOT NULL, "
        "source TEXT NOT NULL DEFAULT 'conversation', project TEXT NOT NULL DEFAULT '')",
        "INSERT INTO o2 SELECT * FROM outcomes",
        "DROP TABLE outcomes",
        "ALTER TABLE o2 RENAME TO outcomes",
        "CREATE INDEX idx_outcomes_sender_time ON outcomes (sender_id, timestamp)",
        "CREATE INDEX idx_outcomes_time ON outcomes (timestamp)",
        "CREATE INDEX idx_outcomes_project ON outcomes (sender_id, project, timestamp)",
        "INSERT INTO outcomes (id, sender_id, domain, score, lesson) VALUES ('bad', 'a', 'b', 7, 'c')",
    )


def broken_foreign_key(path: Path) -> None:
    execute(path, "INSERT INTO messages (id, conversation_id, role, content) VALUES ('orphan', 'nope', 'user', 'x')")


def history_gap(path: Path) -> None:
    execute(path, "DELETE FROM _migrations WHERE name = '005_scheduled_tasks'")


def trigger_dropped(path: Path) -> None:
    execute(path, "DROP TRIGGER messages_fts_insert")


def fts_block_damaged(path: Path) -> None:
    execute(path, "UPDATE messages_fts_data SET block = zeroblob(length(block)) WHERE id = "
                  "(SELECT max(id) FROM messages_fts_data WHERE id > 10)")


BREAKAGES: list[tuple[Callable[[Path], None], dict[str, str]]] = [
    (drop_column, {"schema": "audit_log: column denial_reason is missing"}),
    (drop_011_index, {
        "schema": "index idx_outcomes_project on outcomes (sender_id, project, timestamp) is missing",
        "effects": "011_project_learning is recorded but index idx_outcomes_project is missing",
    }),
    (lessons_unique_again, {"schema": "lessons: extra UNIQUE (sender_id, domain, project)"}),
    (record_011_without_columns, {
        "effects": "011_project_learning is recorded but",
        "schema": "outcomes: column project is missing",
    }),
    (outcomes_without_check, {
        "schema": "outcomes: CHECK (score IN (-1, 0, 1)) is missing",
        "outcome-scores": "1 outcome(s) have a score other than -1, 0 or 1",
    }),
    (broken_foreign_key, {"foreign-keys": "messages row"}),
    (history_gap, {"history": "not 005_scheduled_tasks: the history has a gap"}),
    (trigger_dropped, {"schema": "trigger messages_fts_insert is missing"}),
    (fts_block_damaged, {"fts5-index": "messages_fts: FTS5 integrity-check"}),
]


@pytest.mark.parametrize(("breakage", "expected"), BREAKAGES, ids=[b.__name__ for b, _ in BREAKAGES])
def test_a_broken_database_fails_naming_the_problem(
    seeded_010_migrated: Path, runner: CliRunner, breakage: Callable[[Path], None], expected: dict[str, str]
) -> None:
    breakage(seeded_010_migrated)
    code, checks = run_verify(runner, seeded_010_migrated)
    assert code == 1
    for name, words in expected.items():
        assert checks[name]["status"] == "fail", checks[name]
        assert words in checks[name]["detail"]
    failing = {n for n, s in statuses(checks).items() if s == "fail"}
    assert failing <= set(expected) | {"effects", "schema"}


def test_quick_trusts_declared_constraints_and_full_scans_them(seeded_010_migrated: Path) -> None:
    conn = helpers.connect(seeded_010_migrated)
    conn.execute("PRAGMA ignore_check_constraints = ON")  # how a score of 5 can get past the CHECK
    conn.execute("INSERT INTO outcomes (id, sender_id, domain, score, lesson) VALUES ('x', 'a', 'b', 5, 'c')")
    conn.close()
    full = {c.name: c for c in verify(seeded_010_migrated).checks}
    quick = {c.name: c for c in verify(seeded_010_migrated, quick=True).checks}
    assert full["outcome-scores"].status == "fail"
    assert quick["outcome-scores"].status == "ok" and "--quick" in quick["outcome-scores"].detail
    assert "ignore_check_constraints" in quick["outcome-scores"].detail  # not "guaranteed": it was not


def test_scores_are_checked_at_010_where_outcomes_begins(seeded_010: Path) -> None:
    # 010 creates outcomes with its CHECK; the check used to wait for 011 and say "not applicable".
    conn = helpers.connect(seeded_010)
    conn.execute("PRAGMA ignore_check_constraints = ON")
    conn.execute("INSERT INTO outcomes (id, sender_id, domain, score, lesson) VALUES ('x', 'a', 'b', 5, 'c')")
    conn.close()
    found = {c.name: c for c in verify(seeded_010).checks}["outcome-scores"]
    assert found.status == "fail" and "1 outcome(s) have a score other than -1, 0 or 1" in found.detail
    earlier = helpers.build(seeded_010.with_name("at-009.db"), to="009")
    assert {c.name: c for c in verify(earlier).checks}["outcome-scores"].detail == (
        "not applicable: 010_outcomes is not applied"
    )


def corrupt_pages(path: Path, pages: list[int]) -> None:
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(path, "r+b") as f:
        for page in pages:
            f.seek((page - 1) * page_size)
            f.write(bytes((i * 37 + page) % 251 for i in range(page_size)))


@pytest.mark.parametrize("quick", [False, True])
def test_a_file_with_corrupted_pages_fails_integrity(db_path: Path, runner: CliRunner, quick: bool) -> None:
    helpers.build(db_path)
    execute(db_path, "BEGIN", *[
        f"INSERT INTO outcomes (id, sender_id, domain, score, lesson) VALUES ('o{i}', 's{i % 7}', 'd', 1, '{'x' * 200}')"
        for i in range(3000)
    ], "COMMIT")
    pages = os.path.getsize(db_path) // 4096
    corrupt_pages(db_path, [pages // 2, pages // 2 + 1, pages - 2])
    code, checks = run_verify(runner, db_path, *(["--quick"] if quick else []))
    assert code == 1
    assert checks["integrity"]["status"] == "fail"
    assert checks["integrity"]["detail"].startswith("PRAGMA quick_check" if quick else "PRAGMA integrity_check")


def test_a_file_whose_schema_page_is_damaged_still_gets_a_report(migrated_db: Path, runner: CliRunner) -> None:
    corrupt_pages(migrated_db, [1])
    result = runner.invoke(app, ["verify", str(migrated_db), "-f", "json"])
    # Page 1 holds the header: SQLite then no longer sees a database at all (exit 2), or reports damage.
    assert result.exit_code in (1, 2) and "Traceback" not in result.stderr
    if result.exit_code == 1:
        assert json.loads(result.stdout)["checks"][0]["status"] == "fail"


def test_half_applied_011_is_named_with_the_repair(seeded_010: Path, runner: CliRunner) -> None:
    half_011(seeded_010, 4)  # lessons dropped, lessons_new not renamed
    code, checks = run_verify(runner, seeded_010)
    assert code == 1
    detail = checks["half-applied"]["detail"]
    assert checks["half-applied"]["status"] == "fail"
    present, missing = detail.split("missing", 1)
    assert "table lessons_new" in present and "outcomes.project" in present
    assert "table lessons" in missing and "scheduled_tasks.project" in missing
    assert "migrate --repair" in detail and "from lessons_new" in detail


def test_half_applied_003_is_named_with_the_repair(db_path: Path, runner: CliRunner) -> None:
    helpers.build(db_path, to="002")
    execute(db_path, "INSERT INTO conversations (id, channel, sender_id) VALUES ('c1', 'tg', 'a')")
    assert half_003(db_path) is not None
    code, checks = run_verify(runner, db_path)
    assert code == 1
    detail = checks["half-applied"]["detail"]
    assert detail.startswith("003_memory_enhancement is half-applied")
    assert "conversations.summary" in detail.split("missing")[0]
    assert "conversations.last_activity" in detail.split("missing", 1)[1]


def test_omega_alter_style_003_verifies_although_its_create_text_differs(db_path: Path, runner: CliRunner) -> None:
    helpers.build(db_path, to="002")
    assert run_like_omega(db_path, OMEGA_003, record="003_memory_enhancement") is None  # empty table: it works
    migrate.migrate(db_path, make_backup=False)
    code, checks = run_verify(runner, db_path)
    assert code == 0, checks


# What a future OMEGA's 014 might do: add a table, a column and an index, and drop a constraint.
OMEGA_014 = (
    "CREATE TABLE agent_notes (id TEXT PRIMARY KEY, note TEXT NOT NULL)",
    "ALTER TABLE lessons ADD COLUMN weight REAL NOT NULL DEFAULT 1.0",
    "CREATE INDEX idx_outcomes_source ON outcomes (source)",
    "CREATE TABLE facts_v2 (id TEXT PRIMARY KEY, sender_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
    "source_message_id TEXT REFERENCES messages(id), created_at TEXT NOT NULL DEFAULT (datetime('now')), "
    "updated_at TEXT NOT NULL DEFAULT (datetime('now')))",
    "INSERT INTO facts_v2 SELECT * FROM facts",
    "DROP TABLE facts",
    "ALTER TABLE facts_v2 RENAME TO facts",
)


@pytest.fixture
def newer(seeded_010_migrated: Path) -> Path:
    """A database a newer OMEGA took past 013, to a 014 omega-db does not know."""
    assert run_like_omega(seeded_010_migrated, OMEGA_014, record="014_future_memory") is None
    return seeded_010_migrated


def test_newer_migrations_give_warnings_not_failures(newer: Path, runner: CliRunner) -> None:
    execute(newer, "INSERT INTO facts (id, sender_id, key, value) SELECT 'again', sender_id, key, 'v2' FROM facts LIMIT 1")
    code, checks = run_verify(runner, newer)
    assert code == 0, checks
    assert "fail" not in statuses(checks).values()
    schema_detail = checks["schema"]["detail"]
    assert checks["schema"]["status"] == "warning"
    assert "extra table agent_notes" in schema_detail and "lessons: extra column weight" in schema_detail
    assert "facts: UNIQUE (sender_id, key) is missing" in schema_detail
    assert "idx_outcomes_source" in schema_detail
    assert "also 014_future_memory from a newer OMEGA" in checks["history"]["detail"]
    strict, _ = run_verify(runner, newer, "--strict")
    assert strict == 1


def test_newer_migrations_do_not_excuse_a_missing_011_index(newer: Path, runner: CliRunner) -> None:
    execute(newer, "DROP INDEX idx_outcomes_project")
    code, checks = run_verify(runner, newer)
    assert code == 1 and checks["schema"]["status"] == "fail"
    assert "idx_outcomes_project" in checks["schema"]["detail"]


@pytest.mark.slow
def test_verify_leaves_a_wal_database_untouched_while_it_is_open(seeded_010_migrated: Path) -> None:
    writer = sqlite3.connect(seeded_010_migrated, isolation_level=None)
    try:
        writer.execute("PRAGMA journal_mode = WAL")
        writer.execute("INSERT INTO user_aliases VALUES ('late', 'alice')")  # stays in the -wal file
        wal = Path(f"{seeded_010_migrated}-wal")
        before = helpers.fingerprint(seeded_010_migrated), helpers.fingerprint(wal)
        result = helpers.run_cli("verify", str(seeded_010_migrated), "-f", "json")
        assert result.returncode == 0, result.stdout + result.stderr
        assert (helpers.fingerprint(seeded_010_migrated), helpers.fingerprint(wal)) == before
    finally:
        writer.close()


def test_checks_are_read_from_create_text_whatever_its_layout() -> None:
    create = (
        "CREATE TABLE t (a TEXT -- it's a comment with a quote\n, b INTEGER CHECK( b IN (1,2) ), "
        "c TEXT CHECK (c <> 'x)y'), CONSTRAINT k check (length(a)>0))"
    )
    assert sql.checks_in(create) == ("CHECK( b IN (1,2) )", "CHECK (c <> 'x)y')", "check (length(a)>0)")
    assert sql.normalise("CHECK( b IN (1,2) )") == sql.normalise("check (B in (1, 2))")
    assert sql.normalise("CHECK (c = 'X')") != sql.normalise("CHECK (c = 'x')")
