"""The chain to 013: what every OMEGA release since v0.2.0 leaves, and what omega-db must serve best."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omega_db.chain import compare
from tests import helpers
from tests.inputkit import invoke, one_sentence
from tests.omega_runner import OMEGA_012, OMEGA_013, run_like_omega

LESSON_COLUMNS = ("id", "sender_id", "domain", "rule", "project", "occurrences", "created_at", "updated_at")


def lessons(path: Path) -> list[dict[str, object]]:
    """Every lesson with its rowid, by rowid."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"SELECT rowid AS r, {', '.join(LESSON_COLUMNS)} FROM lessons ORDER BY rowid")]
    finally:
        conn.close()


def lesson_rowids(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT id, rowid FROM lessons"))
    finally:
        conn.close()


def omega_migrated(path: Path) -> Path:
    """A database as OMEGA v1.3.0 leaves it: 001-011, then OMEGA's own 012 and 013 statements."""
    helpers.build(path, to="011")
    assert run_like_omega(path, OMEGA_012, record="012_project_sessions") is None
    assert run_like_omega(path, OMEGA_013, record="013_multi_lessons") is None
    return path


def test_migrate_goes_to_013_by_default_and_to_011_when_asked(runner: CliRunner, tmp_path: Path) -> None:
    full, partial = tmp_path / "full.db", tmp_path / "partial.db"
    ran = invoke(runner, "migrate", str(full), "-f", "json")
    assert ran.code == 0 and json.loads(ran.stdout)["current"] == "013_multi_lessons"
    assert helpers.recorded(full)[-2:] == ["012_project_sessions", "013_multi_lessons"]
    ran = invoke(runner, "migrate", str(partial), "--to", "011", "-f", "json")
    assert json.loads(ran.stdout)["current"] == "011_project_learning"
    assert helpers.recorded(partial)[-1] == "011_project_learning"
    ran = invoke(runner, "migrate", str(partial), "-f", "json")
    doc = json.loads(ran.stdout)
    assert [a["name"] for a in doc["applied"]] == ["012_project_sessions", "013_multi_lessons"]


def test_omega_db_013_is_structurally_identical_to_omegas_own(tmp_path: Path) -> None:
    ours = helpers.build(tmp_path / "ours.db")
    theirs = omega_migrated(tmp_path / "theirs.db")
    assert compare.compare(helpers.structure(ours), helpers.structure(theirs)) == []
    assert compare.compare(helpers.structure(theirs), helpers.structure(ours)) == []


def test_a_file_omega_migrated_passes_verify_strict_and_needs_nothing(runner: CliRunner, tmp_path: Path) -> None:
    path = omega_migrated(tmp_path / "memory.db")
    helpers.seed(path)
    before = helpers.fingerprint(path)
    ran = invoke(runner, "verify", str(path), "--strict", "-f", "json")
    assert ran.code == 0, ran.stdout
    ran = invoke(runner, "migrate", str(path))
    assert ran.code == 0 and "nothing to apply" in ran.stdout
    assert helpers.fingerprint(path) == before


@pytest.mark.parametrize("start", ["010", "011"])
def test_every_row_of_a_full_database_survives_to_013(tmp_path: Path, start: str) -> None:
    path = helpers.build(tmp_path / "memory.db", to=start)
    helpers.seed(path, n=40)
    before = helpers.dump(path)
    rowids = lesson_rowids(path)
    helpers.build(path)
    after = helpers.dump(path)
    assert helpers.recorded(path)[-1] == "013_multi_lessons"
    assert set(after) == set(before) | {"project_sessions"} and after["project_sessions"] == []
    for table, rows in before.items():
        if table == "_migrations":
            continue
        added = {"lessons": {"project": ""}, "outcomes": {"project": ""}, "scheduled_tasks": {"project": ""},
                 "conversations": {"project": ""}}.get(table, {})
        expected = [{**row, **{k: v for k, v in added.items() if k not in row}} for row in rows]
        assert sorted(after[table], key=repr) == sorted(expected, key=repr), table
    assert lesson_rowids(path) == rowids  # OMEGA breaks ties by rowid


def hand_fixed_011(path: Path) -> None:
    """A 010 database whose half-applied 011 someone finished by hand: `project` is the LAST column of lessons."""
    helpers.build(path, to="010")
    helpers.seed(path, n=12)
    conn = helpers.connect(path)
    try:
        conn.execute("BEGIN")
        conn.execute("ALTER TABLE outcomes ADD COLUMN project TEXT NOT NULL DEFAULT ''")
        conn.execute("ALTER TABLE scheduled_tasks ADD COLUMN project TEXT NOT NULL DEFAULT ''")
        conn.execute("ALTER TABLE lessons ADD COLUMN project TEXT NOT NULL DEFAULT ''")
        conn.execute("UPDATE lessons SET project = 'proj-' || sender_id WHERE rowid % 2 = 0")
        conn.execute("CREATE INDEX idx_outcomes_project ON outcomes (sender_id, project, timestamp)")
        conn.execute("CREATE INDEX idx_lessons_project ON lessons (sender_id, project)")
        conn.execute("INSERT INTO _migrations (name) VALUES ('011_project_learning')")
        conn.execute("COMMIT")
    finally:
        conn.close()


def test_013_moves_every_lesson_value_by_column_name_where_upstream_scrambles_them(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
    hand_fixed_011(ours)
    hand_fixed_011(theirs)
    before = lessons(ours)
    assert before == lessons(theirs) and any(r["project"] for r in before)

    helpers.build(ours)
    assert lessons(ours) == before  # value by value, column by column, rowids too

    # OMEGA's own 013 on the same file puts each value in the wrong column (the test can fail).
    assert run_like_omega(theirs, OMEGA_012, record="012_project_sessions") is None
    assert run_like_omega(theirs, OMEGA_013, record="013_multi_lessons") is None
    scrambled = lessons(theirs)
    assert scrambled != before
    assert [r["project"] for r in scrambled] == [str(r["occurrences"]) for r in before]  # TEXT affinity


def test_to_a_migration_already_passed_is_exit_2_at_013(runner: CliRunner, tmp_path: Path) -> None:
    path = helpers.build(tmp_path / "memory.db")
    before = helpers.fingerprint(path)
    for to in ("011", "012_project_sessions"):
        ran = invoke(runner, "migrate", str(path), "--to", to)
        assert ran.code == 2, (to, ran.stderr)
        assert "already past" in one_sentence(ran, path)
    ran = invoke(runner, "migrate", str(path), "--to", "013")
    assert ran.code == 0 and "nothing to apply" in ran.stdout
    assert helpers.fingerprint(path) == before


def test_a_file_past_013_is_left_alone_and_to_013_is_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    path = helpers.build(tmp_path / "memory.db")
    conn = helpers.connect(path)
    conn.execute("INSERT INTO _migrations (name) VALUES ('014_future_things')")
    conn.close()
    before = helpers.fingerprint(path)
    ran = invoke(runner, "migrate", str(path), "-f", "json")
    assert ran.code == 0 and json.loads(ran.stdout)["newer"] == ["014_future_things"]
    assert json.loads(ran.stdout)["applied"] == []
    for to in ("013", "011"):
        ran = invoke(runner, "migrate", str(path), "--to", to)
        assert ran.code == 2, ran.stderr
    assert helpers.fingerprint(path) == before


def test_an_omega_v010_file_at_007_migrates_to_013_with_every_row(tmp_path: Path) -> None:
    path = helpers.build(tmp_path / "memory.db", to="007")
    conn = helpers.connect(path)
    conn.execute("INSERT INTO conversations (id, channel, sender_id) VALUES ('c1', 'telegram', 'alice')")
    conn.execute("INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at) "
                 "VALUES ('t1', 'telegram', 'alice', 'chat', 'water the plants', '2026-03-01 09:00:00')")
    conn.close()
    helpers.build(path)
    dumped = helpers.dump(path)
    assert dumped["conversations"][0]["project"] == "" and dumped["scheduled_tasks"][0]["retry_count"] == 0
    assert dumped["scheduled_tasks"][0]["description"] == "water the plants"


@pytest.mark.parametrize(
    ("to", "omega"),
    [("007", "v0.1.0"), ("013", "v0.2.0 to v1.3.0"), ("011", None), ("010", None)],
)
def test_status_names_the_omega_releases_of_the_schema(runner: CliRunner, tmp_path: Path, to: str, omega: str | None) -> None:
    path = helpers.build(tmp_path / "memory.db", to=to)
    doc = json.loads(invoke(runner, "status", str(path), "-f", "json").stdout)
    assert doc["omega"] == omega and doc["half_applied"] is None
    table = invoke(runner, "status", str(path)).stdout
    current = next(line for line in table.splitlines() if line.startswith("Current"))
    if omega:
        assert f"OMEGA {omega}" in current
    else:
        assert "development state" in current
