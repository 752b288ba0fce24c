"""migrate: the chain, atomicity, backup, bootstrap, --to, --dry-run, newer databases."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omega_db.chain import files, history, migrate
from omega_db.cli import app
from omega_db.ground import sql
from omega_db.ground.errors import MigrationFailedError
from tests import helpers
from tests.faultkit import hold_lock, release

ALL = [m.name for m in files.discover()]


def test_the_chain_is_001_to_013_in_name_order() -> None:
    assert ALL == [
        "001_init", "002_audit_log", "003_memory_enhancement", "004_fts5_recall",
        "005_scheduled_tasks", "006_limitations", "007_task_type", "008_user_aliases",
        "009_task_retry", "010_outcomes", "011_project_learning", "012_project_sessions",
        "013_multi_lessons",
    ]


def test_split_keeps_trigger_bodies_whole() -> None:
    fts = next(m for m in files.discover() if m.name == "004_fts5_recall")
    statements = fts.statements
    triggers = [s for s in statements if s.upper().startswith("CREATE TRIGGER")]
    assert len(triggers) == 3
    assert all(s.rstrip().upper().endswith("END;") for s in triggers)
    assert all(sqlite3.complete_statement(s) for s in statements)


def test_split_ignores_semicolons_in_comments_and_strings() -> None:
    script = "-- a; comment\nCREATE TABLE t (x TEXT DEFAULT 'a;b');\n/* c; */ INSERT INTO t VALUES (';');\n-- end"
    assert sql.split_statements(script) == [
        "-- a; comment\nCREATE TABLE t (x TEXT DEFAULT 'a;b');",
        "/* c; */ INSERT INTO t VALUES (';');",
    ]


def test_new_database_is_created_and_fully_migrated(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "memory.db"
    result = runner.invoke(app, ["migrate", str(path)])
    assert result.exit_code == 0, result.stderr
    assert helpers.recorded(path) == ALL
    first, *applied, last = result.stdout.splitlines()
    assert first == f"Created {path}."
    assert [line.split()[:2] for line in applied] == [[name, "applied"] for name in ALL]  # each with its time
    assert last == f"{path} is now at 013_multi_lessons."
    assert helpers.backups(path) == []  # nothing to back up: the file is new


def test_010_with_rows_keeps_every_row_and_gains_general_scope(seeded_010: Path, runner: CliRunner) -> None:
    before = helpers.dump(seeded_010)
    result = runner.invoke(app, ["migrate", str(seeded_010), "--no-backup"])
    assert result.exit_code == 0, result.stderr
    after = helpers.dump(seeded_010)
    assert helpers.recorded(seeded_010) == ALL
    for table in before:
        if table == "_migrations":
            continue
        if table in ("lessons", "outcomes", "scheduled_tasks", "conversations"):
            assert all(row["project"] == "" for row in after[table])
            assert [{k: v for k, v in row.items() if k != "project"} for row in after[table]] == before[table]
        else:
            assert after[table] == before[table], table
    assert len(after["lessons"]) == len(before["lessons"]) > 0


def test_lessons_column_order_after_rebuild(seeded_010: Path) -> None:
    helpers.build(seeded_010)
    conn = sqlite3.connect(seeded_010)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(lessons)")]
    conn.close()
    assert cols == ["id", "sender_id", "domain", "rule", "project", "occurrences", "created_at", "updated_at"]


def test_second_migrate_changes_no_byte_and_makes_no_backup(migrated_db: Path, runner: CliRunner) -> None:
    before = helpers.fingerprint(migrated_db)
    result = runner.invoke(app, ["migrate", str(migrated_db)])
    assert result.exit_code == 0
    assert "nothing to apply" in result.stdout
    assert helpers.fingerprint(migrated_db) == before
    assert helpers.backups(migrated_db) == []


def test_dry_run_changes_no_byte_and_prints_the_sql(seeded_010: Path, runner: CliRunner) -> None:
    before = helpers.fingerprint(seeded_010)
    result = runner.invoke(app, ["migrate", str(seeded_010), "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert "011_project_learning" in result.stdout
    assert "CREATE TABLE lessons_new" in result.stdout
    assert helpers.fingerprint(seeded_010) == before
    assert helpers.backups(seeded_010) == []


def test_dry_run_does_not_create_a_missing_file(tmp_path: Path, runner: CliRunner) -> None:
    path = tmp_path / "nowhere" / "memory.db"  # neither the file nor its folder
    result = runner.invoke(app, ["migrate", str(path), "--dry-run", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["dry_run"] is True
    assert [p["name"] for p in doc["plan"]] == ALL
    assert helpers.listing(tmp_path) == []


def test_backup_is_consistent_private_and_named(seeded_010: Path, runner: CliRunner) -> None:
    before = helpers.dump(seeded_010)
    old = os.umask(0)  # the widest umask: the backup must still be 0600
    try:
        result = runner.invoke(app, ["migrate", str(seeded_010)])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.stderr
    [copy] = helpers.backups(seeded_010)
    assert str(copy) in result.stdout
    assert copy.name.startswith("memory.db.bak-") and copy.name.endswith("Z")
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert helpers.dump(copy) == before
    assert helpers.recorded(copy)[-1] == "010_outcomes"


def test_no_backup_flag_skips_the_backup(seeded_010: Path, runner: CliRunner) -> None:
    assert runner.invoke(app, ["migrate", str(seeded_010), "--no-backup"]).exit_code == 0
    assert helpers.backups(seeded_010) == []


def test_failure_half_way_leaves_the_database_exactly_as_before(seeded_010: Path, tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    for m in files.discover():
        (folder / f"{m.name}.sql").write_text(m.sql)
    (folder / "011_project_learning.sql").write_text(
        "ALTER TABLE outcomes ADD COLUMN project TEXT NOT NULL DEFAULT '';\n"
        "ALTER TABLE no_such_table ADD COLUMN project TEXT;\n"
    )
    before_rows, before_bytes = helpers.dump(seeded_010), helpers.fingerprint(seeded_010)
    with pytest.raises(MigrationFailedError, match="rolled back.*unchanged at 010_outcomes"):
        migrate.migrate(seeded_010, make_backup=False, migrations=files.discover(folder))
    assert helpers.dump(seeded_010) == before_rows
    assert helpers.fingerprint(seeded_010)[0] == before_bytes[0]
    conn = sqlite3.connect(seeded_010)
    assert "project" not in [r[1] for r in conn.execute("PRAGMA table_info(outcomes)")]
    conn.close()


def test_a_failure_after_earlier_migrations_of_the_run_does_not_call_the_file_unchanged(
    seeded_010: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    for m in files.discover():
        (folder / f"{m.name}.sql").write_text(m.sql)
    (folder / "012_project_sessions.sql").write_text("ALTER TABLE no_such_table ADD COLUMN project TEXT;\n")
    with pytest.raises(MigrationFailedError) as caught:
        migrate.migrate(seeded_010, make_backup=False, migrations=files.discover(folder))
    said = caught.value.message
    assert "unchanged" not in said, said  # 011 was applied by this run and stays
    assert "is at 011_project_learning, where this run's 1 earlier migration(s) left it" in said
    assert helpers.recorded(seeded_010)[-1] == "011_project_learning"


def test_failure_is_exit_1_with_one_sentence(seeded_010: Path, tmp_path: Path, runner: CliRunner) -> None:
    conn = sqlite3.connect(seeded_010)
    conn.execute("CREATE TABLE lessons_new (x)")  # makes 011's CREATE TABLE fail
    conn.commit()
    conn.close()
    before = helpers.dump(seeded_010)
    result = runner.invoke(app, ["migrate", str(seeded_010), "--no-backup"])
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert helpers.dump(seeded_010) == before


def test_migration_003_applies_to_a_non_empty_conversations_table(db_path: Path) -> None:
    helpers.build(db_path, to="002")
    conn = sqlite3.connect(db_path)
    conn.execute(
        "INSERT INTO conversations (id, channel, sender_id, started_at, updated_at) "
        "VALUES ('c1', 'telegram', 'alice', '2025-01-01 10:00:00', '2025-01-02 11:00:00')"
    )
    conn.execute("INSERT INTO messages (id, conversation_id, role, content) VALUES ('m1', 'c1', 'user', 'hi')")
    conn.commit()
    # OMEGA's own 003 fails right here:
    with pytest.raises(sqlite3.OperationalError, match="non-constant default"):
        conn.execute("ALTER TABLE conversations ADD COLUMN last_activity TEXT NOT NULL DEFAULT (datetime('now'))")
    conn.close()
    helpers.build(db_path)
    conn = sqlite3.connect(db_path)
    row = conn.execute("SELECT id, channel, sender_id, started_at, updated_at, summary, last_activity, status "
                       "FROM conversations").fetchall()
    assert row == [("c1", "telegram", "alice", "2025-01-01 10:00:00", "2025-01-02 11:00:00", None,
                    "2025-01-02 11:00:00", "active")]
    assert conn.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'hi'").fetchone() == (1,)
    conn.close()


def test_bootstrap_rule_records_001_to_003_without_running_them(db_path: Path) -> None:
    helpers.build(db_path, to="003")
    conn = sqlite3.connect(db_path)
    conn.execute("INSERT INTO facts (id, sender_id, key, value) VALUES ('f1', 'alice', 'k', 'v')")
    conn.execute("DROP TABLE _migrations")  # a database from before tracking
    conn.commit()
    conn.close()
    plan = history.inspect(sqlite3.connect(db_path), db_path)
    assert plan.bootstrap and plan.pending[0].name == "004_fts5_recall"
    helpers.build(db_path)
    assert helpers.recorded(db_path) == ALL
    # 003 would have dropped facts: it did not run.
    assert helpers.dump(db_path)["facts"][0]["id"] == "f1"


def test_untracked_database_without_summary_is_not_bootstrapped(db_path: Path) -> None:
    helpers.build(db_path, to="001")
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TABLE _migrations")
    conn.commit()
    plan = history.inspect(conn, db_path)
    conn.close()
    assert not plan.bootstrap
    assert plan.pending[0].name == "001_init"


def test_database_with_newer_migrations_is_left_untouched(migrated_db: Path, runner: CliRunner) -> None:
    conn = sqlite3.connect(migrated_db)
    conn.execute("INSERT INTO _migrations (name) VALUES ('014_later_things'), ('015_even_later')")
    conn.commit()
    conn.close()
    before = helpers.fingerprint(migrated_db)
    result = runner.invoke(app, ["migrate", str(migrated_db)])
    assert result.exit_code == 0
    assert "newer" in result.stdout and "015_even_later" in result.stdout
    assert helpers.fingerprint(migrated_db) == before
    assert helpers.backups(migrated_db) == []
    doc = json.loads(runner.invoke(app, ["migrate", str(migrated_db), "-f", "json"]).stdout)
    assert doc["newer"] == ["014_later_things", "015_even_later"] and doc["applied"] == []


@pytest.mark.parametrize("to", ["010", "10", "010_outcomes"])
def test_to_stops_at_the_named_migration(db_path: Path, runner: CliRunner, to: str) -> None:
    result = runner.invoke(app, ["migrate", str(db_path), "--to", to])
    assert result.exit_code == 0, result.stderr
    assert helpers.recorded(db_path) == ALL[:10]
    assert result.stdout.splitlines()[-1] == f"{db_path} is now at 010_outcomes, 3 pending."


@pytest.mark.parametrize("to", ["999", "014_project_things", "banana"])
def test_to_unknown_is_a_bad_argument(db_path: Path, runner: CliRunner, to: str) -> None:
    result = runner.invoke(app, ["migrate", str(db_path), "--to", to])
    assert result.exit_code == 2
    assert not db_path.exists()


def test_to_already_passed_is_a_bad_argument(migrated_db: Path, runner: CliRunner) -> None:
    before = helpers.fingerprint(migrated_db)
    result = runner.invoke(app, ["migrate", str(migrated_db), "--to", "005"])
    assert result.exit_code == 2
    assert "already past" in result.stderr
    assert helpers.fingerprint(migrated_db) == before


def test_to_the_current_migration_is_nothing_to_do(migrated_db: Path, runner: CliRunner) -> None:
    before = helpers.fingerprint(migrated_db)
    result = runner.invoke(app, ["migrate", str(migrated_db), "--to", "013"])
    assert result.exit_code == 0 and "nothing to apply" in result.stdout
    assert helpers.fingerprint(migrated_db) == before


def test_journal_mode_is_left_as_found(seeded_010: Path) -> None:
    conn = sqlite3.connect(seeded_010)
    assert conn.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
    conn.close()
    helpers.build(seeded_010)
    conn = sqlite3.connect(seeded_010)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()
    fresh = seeded_010.with_name("fresh.db")
    helpers.build(fresh)
    conn = sqlite3.connect(fresh)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    conn.close()


def test_json_output_reports_each_migration(seeded_010: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["migrate", str(seeded_010), "-f", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [a["name"] for a in doc["applied"]] == ["011_project_learning", "012_project_sessions", "013_multi_lessons"]
    assert all(a["seconds"] >= 0 for a in doc["applied"])
    assert doc["current"] == "013_multi_lessons" and doc["pending"] == []
    assert Path(doc["backup"]).exists()


def test_json_pending_is_what_is_still_pending_after_the_run(db_path: Path, runner: CliRunner) -> None:
    helpers.build(db_path, to="003")
    ran = runner.invoke(app, ["migrate", str(db_path), "--to", "005", "-f", "json"])
    assert ran.exit_code == 0, ran.stderr
    doc = json.loads(ran.stdout)
    assert [a["name"] for a in doc["applied"]] == ALL[3:5]
    assert doc["pending"] == ALL[5:] and doc["current"] == ALL[4]
    # A dry run changes nothing: everything not recorded is still pending; the plan is what it would apply.
    dry = json.loads(runner.invoke(app, ["migrate", str(db_path), "--to", "007", "--dry-run", "-f", "json"]).stdout)
    assert dry["pending"] == ALL[5:] and [m["name"] for m in dry["plan"]] == ALL[5:7]


def test_history_gap_is_refused(migrated_db: Path, runner: CliRunner) -> None:
    conn = sqlite3.connect(migrated_db)
    conn.execute("DELETE FROM _migrations WHERE name = '006_limitations'")
    conn.commit()
    conn.close()
    before = helpers.fingerprint(migrated_db)
    result = runner.invoke(app, ["migrate", str(migrated_db)])
    assert result.exit_code == 1
    assert "gap" in result.stderr
    assert helpers.fingerprint(migrated_db) == before


def test_foreign_key_check_rolls_back_a_migration_that_breaks_references(seeded_010: Path, tmp_path: Path) -> None:
    folder = tmp_path / "fk"
    folder.mkdir()
    for m in files.discover():
        if m.name <= "010_outcomes":
            (folder / f"{m.name}.sql").write_text(m.sql)
    # A rebuild that loses parent rows must not commit.
    (folder / "011_drop_parents.sql").write_text(
        "CREATE TABLE conversations_new AS SELECT * FROM conversations WHERE 0;\n"
        "DROP TABLE conversations;\n"
        "ALTER TABLE conversations_new RENAME TO conversations;\n"
    )
    before = helpers.dump(seeded_010)
    with pytest.raises(MigrationFailedError, match="foreign key"):
        migrate.migrate(seeded_010, make_backup=False, migrations=files.discover(folder))
    assert helpers.dump(seeded_010) == before


@pytest.mark.slow
def test_a_migration_rolled_back_leaves_no_backup_behind(seeded_010: Path, tmp_path: Path) -> None:
    """Rollback-journal mode: a reader holding its lock stops the COMMIT; the file is as
    before, so the backup taken for it is removed (a cron retry must not pile up copies)."""
    reader = hold_lock(seeded_010, "DEFERRED")  # a reader's lock, held until released
    try:
        before = helpers.fingerprint(seeded_010)[0]
        result = helpers.run_cli("migrate", str(seeded_010), "--timeout", "0.5")
    finally:
        release(reader)
    assert result.returncode == 1, result.stderr
    assert "locked" in result.stderr and "Traceback" not in result.stderr
    assert helpers.fingerprint(seeded_010)[0] == before
    assert helpers.backups(seeded_010) == []
    assert helpers.recorded(seeded_010)[-1] == "010_outcomes"


@pytest.mark.slow
def test_progress_is_drawn_on_a_terminal_and_not_in_a_pipe(seeded_010: Path, tmp_path: Path) -> None:
    import pty

    main, child = pty.openpty()
    try:
        proc = helpers.run_cli("migrate", str(seeded_010), stderr=child, timeout=60)
        os.close(child)
        drawn = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(main)
    assert proc.returncode == 0
    assert b"backup" in drawn and b"011_project_learning" in drawn  # the progress lines
    assert "\x1b[" not in proc.stdout  # the result on stdout stays plain text
    piped = helpers.run_cli("migrate", str(tmp_path / "other.db"))
    assert piped.returncode == 0 and piped.stderr == ""
