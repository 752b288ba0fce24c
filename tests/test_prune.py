"""`omega-db prune`: each rule deletes exactly what the tests' own SQL says OMEGA never reads again."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests import helpers, pruneseed
from tests.inputkit import invoke, one_sentence

RULES = {"audit_log": "--audit-log", "outcomes": "--outcomes", "scheduled_tasks": "--tasks", "messages": "--messages"}


def prune(runner: CliRunner, path: Path, *args: str) -> Any:
    return invoke(runner, "prune", str(path), *args)


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    return pruneseed.seed(tmp_path / "memory.db")


@pytest.mark.parametrize(("age", "modifier"), [("30d", "-30 days"), ("1h", "-1 hours"), ("12w", "-84 days"),
                                               ("36h", "-36 hours")])
@pytest.mark.parametrize("table", list(RULES))
def test_each_rule_deletes_what_the_tests_sql_picks(
    runner: CliRunner, seeded: Path, table: str, age: str, modifier: str
) -> None:
    expected = pruneseed.expected(seeded, table, modifier)
    before = {t: pruneseed.ids(seeded, t) for t in RULES}
    ran = prune(runner, seeded, RULES[table], age, "--yes", "--no-backup", "-f", "json")
    assert ran.code == 0, ran.stderr
    after = {t: pruneseed.ids(seeded, t) for t in RULES}
    assert after[table] == before[table] - expected
    assert {t: after[t] for t in RULES if t != table} == {t: before[t] for t in RULES if t != table}
    doc = json.loads(ran.stdout)
    assert doc["tables"] == [{"table": table, "deleted": len(expected), "kept": len(after[table])}]


def test_the_seed_has_rows_on_both_sides_of_every_rule(seeded: Path) -> None:
    """The cases the rule tests rely on, counted by hand (so the SQL above can fail too)."""
    picked = {t: pruneseed.expected(seeded, t, "-30 days") for t in RULES}
    assert picked["audit_log"] == {"audit-3", "audit-4", "audit-5"}  # not 'not a time', not 29 days
    # alice: 10 general past her 20 newest (none of alpha's 5); bob: the 4 behind the tie, not the
    # 5 tied at the 20th place; carol: the 6 old ones, none of the 30 recent ones.
    assert picked["outcomes"] == ({f"alice-g{i:02d}" for i in range(20, 30)} | {f"bob-old{i}" for i in range(4)}
                                  | {f"carol-old{i}" for i in range(6)})
    assert picked["scheduled_tasks"] == {"task-6", "task-7", "task-10", "task-11", "task-14", "task-15", "task-T"}
    assert picked["messages"] == {"c-closed-m2", "c-closed-m3", "c-named-m3"}  # c-named-m2: a fact's source


def test_outcomes_under_48_hours_old_are_kept_even_past_the_20_newest(runner: CliRunner, seeded: Path) -> None:
    ran = prune(runner, seeded, "--outcomes", "1h", "--yes", "--no-backup")
    assert ran.code == 0, ran.stderr
    left = pruneseed.ids(seeded, "outcomes")
    assert {f"carol-r{i:02d}" for i in range(30)} <= left  # 30 of one sender within 48 hours: every one
    assert not {f"carol-old{i}" for i in range(6)} & left


def test_ties_at_the_20th_place_are_all_kept(runner: CliRunner, seeded: Path) -> None:
    ran = prune(runner, seeded, "--outcomes", "1d", "--yes", "--no-backup")
    assert ran.code == 0, ran.stderr
    left = pruneseed.ids(seeded, "outcomes")
    assert {f"bob-tie{i}" for i in range(5)} <= left and not {f"bob-old{i}" for i in range(4)} & left
    conn = sqlite3.connect(seeded)
    # OMEGA's own query for bob's 20: whichever of the tied rows it returns, each one is still there.
    read = [r[0] for r in conn.execute("SELECT id FROM outcomes WHERE sender_id = 'bob' ORDER BY timestamp DESC "
                                       "LIMIT 20")]
    assert len(read) == 20 and set(read) <= left
    conn.close()


def test_dry_run_changes_no_byte_and_counts_what_the_real_run_deletes(
    runner: CliRunner, seeded: Path, tmp_path: Path
) -> None:
    every = [a for option in RULES.values() for a in (option, "30d")]
    before = helpers.fingerprint(seeded), helpers.listing(tmp_path)
    dry = prune(runner, seeded, *every, "--dry-run", "-f", "json")
    assert dry.code == 0, dry.stderr
    assert (helpers.fingerprint(seeded), helpers.listing(tmp_path)) == before
    dry_doc = json.loads(dry.stdout)
    assert dry_doc["dry_run"] is True and dry_doc["backup"] is None
    assert dry_doc["bytes_before"] == dry_doc["bytes_after"] == seeded.stat().st_size
    real = prune(runner, seeded, *every, "--yes", "-f", "json")
    assert real.code == 0, real.stderr
    real_doc = json.loads(real.stdout)
    assert list(real_doc) == ["database", "dry_run", "backup", "tables", "bytes_before", "bytes_after"]
    assert real_doc["dry_run"] is False and real_doc["tables"] == dry_doc["tables"]
    assert [t["deleted"] for t in real_doc["tables"]] == [3, 20, 7, 3]


def test_a_backup_is_taken_first_and_holds_every_deleted_row(runner: CliRunner, seeded: Path) -> None:
    before = helpers.dump(seeded)
    ran = prune(runner, seeded, "--audit-log", "30d", "--outcomes", "30d", "--yes", "-f", "json")
    assert ran.code == 0, ran.stderr
    backup = Path(json.loads(ran.stdout)["backup"])
    assert helpers.backups(seeded) == [backup]
    assert backup.stat().st_mode & 0o777 == 0o600
    assert helpers.dump(backup) == before


def test_no_backup_takes_none(runner: CliRunner, seeded: Path, tmp_path: Path) -> None:
    ran = prune(runner, seeded, "--audit-log", "30d", "--yes", "--no-backup", "-f", "json")
    assert ran.code == 0, ran.stderr
    assert json.loads(ran.stdout)["backup"] is None and helpers.listing(tmp_path) == ["memory.db"]


def test_keep_leaves_the_n_newest_backups_with_the_new_one_among_them(runner: CliRunner, seeded: Path) -> None:
    folder = seeded.parent
    older = [folder / f"memory.db.bak-2026010{day}T040000Z" for day in (1, 2, 3)]
    for old in older:
        shutil.copyfile(seeded, old)
    stranger = folder / "memory.db.bak-notes.txt"  # not a backup's name: never touched
    stranger.write_text("mine\n")
    ran = prune(runner, seeded, "--audit-log", "30d", "--keep", "2", "--yes", "-f", "json")
    assert ran.code == 0, ran.stderr
    made = Path(json.loads(ran.stdout)["backup"])  # stdout holds the report alone
    assert set(helpers.backups(seeded)) - {stranger} == {made, older[2]}  # the new one and the newest old one
    assert stranger.read_text() == "mine\n"
    assert f"deleted the old backup {older[0]}" in ran.stderr and f"deleted the old backup {older[1]}" in ran.stderr


def test_keep_without_a_backup_deletes_none(runner: CliRunner, seeded: Path) -> None:
    old = seeded.parent / "memory.db.bak-20260101T040000Z"
    shutil.copyfile(seeded, old)
    for extra in (["--no-backup"], ["--dry-run"]):
        ran = prune(runner, seeded, "--audit-log", "30d", "--keep", "1", "--yes", *extra)
        assert ran.code == 0, ran.stderr
        assert old.exists() and "deleted the old backup" not in ran.stderr


def test_nothing_to_delete_takes_no_backup_and_writes_nothing(runner: CliRunner, seeded: Path, tmp_path: Path) -> None:
    before = helpers.fingerprint(seeded)
    ran = prune(runner, seeded, "--audit-log", "1000w", "--yes", "-f", "json")
    assert ran.code == 0, ran.stderr
    assert json.loads(ran.stdout)["tables"] == [{"table": "audit_log", "deleted": 0, "kept": 7}]
    assert helpers.fingerprint(seeded) == before and helpers.listing(tmp_path) == ["memory.db"]


def test_without_a_terminal_and_without_yes_it_refuses(runner: CliRunner, seeded: Path, tmp_path: Path) -> None:
    before = helpers.fingerprint(seeded)
    ran = prune(runner, seeded, "--audit-log", "30d")
    assert ran.code == 2
    assert "--yes" in one_sentence(ran, seeded)
    assert helpers.fingerprint(seeded) == before and helpers.listing(tmp_path) == ["memory.db"]


@pytest.mark.parametrize("age", ["30", "d", "0d", "000h", "-3d", "3m", "3 d", "1.5d", "3D", "", "3dd", "٣d", "1e3d"])
def test_a_malformed_age_is_exit_2_and_changes_nothing(runner: CliRunner, seeded: Path, age: str) -> None:
    before = helpers.fingerprint(seeded)
    ran = prune(runner, seeded, "--outcomes", age, "--yes")
    assert ran.code == 2, ran.stderr
    assert "not an age" in one_sentence(ran, seeded)
    assert helpers.fingerprint(seeded) == before


@pytest.mark.parametrize("age", ["800000d", "120000w", "20000000h", "3000000d", "9999999w", "99999999999999999999d"])
def test_an_age_past_the_year_0000_says_so_and_changes_nothing(runner: CliRunner, seeded: Path, age: str) -> None:
    # SQLite's answer decides, for every unit: a year below 0000 ('-0001-…', which no stored time is
    # older than as text: the rule deleted nothing, silently) or NULL (beyond its range).
    before = helpers.fingerprint(seeded)
    ran = prune(runner, seeded, "--audit-log", age, "--yes")
    assert ran.code == 2, ran.stderr
    assert f"--audit-log {age} reaches back before the year 0000" in one_sentence(ran, seeded)
    assert helpers.fingerprint(seeded) == before


@pytest.mark.parametrize("age", ["10000000h", "700000d", "99999w"])
def test_a_long_age_that_stays_after_the_year_0000_is_taken(runner: CliRunner, seeded: Path, age: str) -> None:
    # 10,000,000 hours reach back to about the year 886: once refused, because a bound of 10**7 ignored the unit.
    before = helpers.fingerprint(seeded)
    ran = prune(runner, seeded, "--audit-log", age, "--dry-run", "-f", "json")
    assert ran.code == 0, ran.stderr
    assert json.loads(ran.stdout)["tables"][0]["deleted"] == 0
    assert helpers.fingerprint(seeded) == before


def test_no_rule_is_exit_2(runner: CliRunner, seeded: Path) -> None:
    before = helpers.fingerprint(seeded)
    ran = prune(runner, seeded, "--yes", "--vacuum")
    assert ran.code == 2
    assert "--audit-log" in one_sentence(ran, seeded)
    assert helpers.fingerprint(seeded) == before


def test_help_has_examples_and_says_messages_leave_recall(runner: CliRunner) -> None:
    ran = invoke(runner, "prune", "--help")
    assert ran.code == 0
    flat = " ".join(ran.stdout.split())
    assert "Examples:" in flat and "omega-db prune --audit-log 90d --tasks 30d --yes" in flat
    assert "recall" in flat and "--dry-run" in flat and "--secure-delete" in flat


def test_a_row_that_became_protected_after_the_read_is_not_deleted(seeded: Path) -> None:
    """Each batch's DELETE checks the rule again: a fact naming a message, a conversation reopened and
    newer outcomes deleted meanwhile each protect rows the read had picked."""
    from omega_db.data import retention

    conn = sqlite3.connect(seeded, isolation_level=None)
    ages = retention.parse_ages(seeded, outcomes="30d", messages="30d")
    outcomes, messages = retention.rules(conn, ages)
    picked = {rule.table: [r[0] for r in conn.execute(rule.pick, (rule.age.modifier,))] for rule in (outcomes, messages)}
    assert len(picked["outcomes"]) == 20 and len(picked["messages"]) == 3
    # Meanwhile: a fact names c-closed-m2, c-named is reopened, and bob's newer outcomes are gone.
    conn.execute("INSERT INTO facts (id, sender_id, key, value, source_message_id) "
                 "VALUES ('fact-2', 'alice', 'pet', 'cat', 'c-closed-m2')")
    conn.execute("UPDATE conversations SET status = 'active' WHERE id = 'c-named'")
    conn.execute("DELETE FROM outcomes WHERE sender_id = 'bob' AND id NOT LIKE 'bob-old%'")
    for rule in (outcomes, messages):
        conn.execute(rule.delete, (json.dumps(picked[rule.table]), rule.age.modifier))
    left_messages = pruneseed.ids(seeded, "messages")
    assert {"c-closed-m2", "c-named-m3"} <= left_messages and "c-closed-m3" not in left_messages
    left_outcomes = pruneseed.ids(seeded, "outcomes")
    assert {f"bob-old{i}" for i in range(4)} <= left_outcomes  # bob has 4 outcomes now: all his newest
    assert not {f"alice-g{i:02d}" for i in range(20, 30)} & left_outcomes
    conn.close()


def test_each_batch_is_checkpointed_so_the_wal_stays_the_size_of_a_batch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The prune connection checkpoints after every batch (its automatic checkpoint is off): without it the
    -wal file would grow by every page each batch rewrites, here about 2,000 pages of deleted audit text."""
    from omega_db.data import prune, retention

    path = helpers.build(tmp_path / "wal.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO audit_log (id, channel, sender_id, input_text, output_text, timestamp) "
                     "VALUES (?, 'telegram', 'alice', ?, 'ok', datetime('now', '-400 days'))",
                     [(f"a{i}", f"{i:06d} " + "x" * 2000) for i in range(4000)])
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # conn stays open, as OMEGA's would: the -wal file is kept
    monkeypatch.setattr(prune, "FIRST_BATCH", 50)
    monkeypatch.setattr(prune, "LARGEST_BATCH", 50)  # 80 batches
    monkeypatch.setattr(prune, "MIN_PAUSE", 0.0)
    monkeypatch.setattr(prune, "PAUSE_SHARE", 0.0)
    done = prune.run(prune.prepare(path, retention.parse_ages(path, audit_log="30d")), make_backup=False)
    assert [(t.table, t.deleted, t.kept) for t in done.tables] == [("audit_log", 4000, 0)]
    wal = Path(f"{path}-wal").stat().st_size
    conn.close()
    assert 0 < wal < 100 * 4096, f"the -wal file grew to {wal} bytes over 80 batches of 50 rows"
