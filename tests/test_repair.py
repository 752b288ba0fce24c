"""Half-applied migrations: detected, refused by plain migrate, completed by migrate --repair."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omega_db.chain import compare, files, migrate
from omega_db.cli import app
from omega_db.ground.errors import HalfAppliedError
from omega_db.verify.run import verify
from tests import helpers
from tests.omega_runner import half_003, half_011, run_like_omega, shipped

N_011 = len(shipped("011").statements)


def rows(path: Path) -> dict[str, list[dict[str, object]]]:
    """Every row of every table but _migrations (its applied_at is the time of the run)."""
    return {t: r for t, r in helpers.dump(path).items() if t != "_migrations"}


@pytest.fixture
def twins(seeded_010: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The same seeded 010 database twice: one to break and repair, one to migrate cleanly."""
    clean = tmp_path / "clean.db"
    shutil.copy(seeded_010, clean)
    migrate.migrate(clean, make_backup=False)
    return seeded_010, clean


@pytest.mark.parametrize("statements", range(1, N_011 + 1))
def test_half_applied_011_is_refused_then_repaired_and_migrated_on_to_a_clean_013(
    twins: tuple[Path, Path], statements: int, runner: CliRunner
) -> None:
    broken, clean = twins
    half_011(broken, statements)
    before_rows, before_bytes = helpers.dump(broken), helpers.fingerprint(broken)

    refused = runner.invoke(app, ["migrate", str(broken)])
    assert refused.exit_code == 1
    assert "011_project_learning is half-applied" in refused.stderr
    assert "present" in refused.stderr and "--repair" in refused.stderr
    assert helpers.fingerprint(broken) == before_bytes and helpers.backups(broken) == []

    repaired = runner.invoke(app, ["migrate", str(broken), "--repair", "-f", "json"])
    assert repaired.exit_code == 0, repaired.stderr
    doc = json.loads(repaired.stdout)
    assert doc["repaired"] == "011_project_learning" and doc["current"] == "013_multi_lessons"
    assert [a["name"] for a in doc["applied"]] == ["012_project_sessions", "013_multi_lessons"]
    assert doc["backup"] and Path(doc["backup"]).exists()
    # The backup is the half-applied file as it was, rows and all.
    assert helpers.dump(Path(doc["backup"])) == before_rows

    assert compare.compare(helpers.structure(clean), helpers.structure(broken)) == []
    assert rows(broken) == rows(clean)
    assert helpers.recorded(broken) == helpers.recorded(clean)
    assert verify(broken).ok


def test_lessons_that_live_only_in_lessons_new_are_kept(twins: tuple[Path, Path]) -> None:
    broken, clean = twins
    lessons = helpers.dump(broken)["lessons"]
    half_011(broken, 4)  # lessons dropped, lessons_new not yet renamed
    assert "lessons" not in helpers.dump(broken)
    migrate.migrate(broken, make_backup=False, repair_half_applied=True)
    kept = {row["id"]: row for row in helpers.dump(broken)["lessons"]}
    assert set(kept) == {row["id"] for row in lessons} and len(lessons) > 0
    for row in lessons:
        assert {**row, "project": ""} == kept[row["id"]]


def test_half_applied_is_named_with_what_is_present_and_missing(seeded_010: Path) -> None:
    half_011(seeded_010, 1)  # only outcomes.project
    with pytest.raises(HalfAppliedError) as caught:
        migrate.migrate(seeded_010, make_backup=False)
    message = caught.value.message
    present, missing = message.split("missing", 1)
    assert "outcomes.project" in present
    for item in ("lessons.project", "scheduled_tasks.project", "idx_outcomes_project", "idx_lessons_project"):
        assert item in missing
    assert "--repair" in message and "Nothing was changed" in message


def test_dry_run_refuses_a_half_applied_database_too(seeded_010: Path, runner: CliRunner) -> None:
    half_011(seeded_010, 2)
    before = helpers.fingerprint(seeded_010)
    result = runner.invoke(app, ["migrate", str(seeded_010), "--dry-run"])
    assert result.exit_code == 1 and "half-applied" in result.stderr
    assert helpers.fingerprint(seeded_010) == before


def build_002_with_conversations(path: Path) -> None:
    helpers.build(path, to="002")
    conn = helpers.connect(path)
    conn.executemany(
        "INSERT INTO conversations (id, channel, sender_id, started_at, updated_at) VALUES (?, 'tg', ?, ?, ?)",
        [(f"c{i}", f"s{i}", f"2026-01-0{i} 10:00:00", f"2026-01-0{i} 11:00:00") for i in range(1, 5)],
    )
    conn.executemany(
        "INSERT INTO messages (id, conversation_id, role, content) VALUES (?, ?, ?, ?)",
        [(f"m{i}", f"c{i % 4 + 1}", ("user", "assistant")[i % 2], f"text {i}") for i in range(8)],
    )
    conn.close()


def test_half_applied_003_as_omega_leaves_it_is_refused_then_repaired(tmp_path: Path, runner: CliRunner) -> None:
    broken, clean = tmp_path / "broken.db", tmp_path / "clean.db"
    build_002_with_conversations(broken)
    shutil.copy(broken, clean)
    migrate.migrate(clean, make_backup=False)

    error = half_003(broken)
    assert error is not None and "non-constant default" in error
    conn = helpers.connect(broken)
    conn.execute("UPDATE conversations SET summary = 'what c2 was about' WHERE id = 'c2'")
    conn.close()
    before = helpers.fingerprint(broken)

    refused = runner.invoke(app, ["migrate", str(broken)])
    assert refused.exit_code == 1
    assert "003_memory_enhancement is half-applied" in refused.stderr
    assert "conversations.summary" in refused.stderr.split("missing")[0]
    assert "conversations.last_activity" in refused.stderr.split("missing", 1)[1]
    assert helpers.fingerprint(broken) == before

    repaired = runner.invoke(app, ["migrate", str(broken), "--repair"])
    assert repaired.exit_code == 0, repaired.stderr
    assert "Repaired 003_memory_enhancement" in repaired.stdout
    assert compare.compare(helpers.structure(clean), helpers.structure(broken)) == []
    got, want = rows(broken), rows(clean)
    summaries = {row["id"]: row.pop("summary") for row in got["conversations"]}
    for row in want["conversations"]:
        row.pop("summary")
    assert got == want
    assert summaries == {"c1": None, "c2": "what c2 was about", "c3": None, "c4": None}
    assert verify(broken).ok


def test_repair_stops_at_to_when_given(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    build_002_with_conversations(path)
    half_003(path)
    result = migrate.migrate(path, make_backup=False, repair_half_applied=True, to="003")
    assert result.repaired == "003_memory_enhancement" and result.applied == ()
    assert helpers.recorded(path)[-1] == "003_memory_enhancement"
    report = verify(path)
    assert report.ok and {c.name: c.status for c in report.checks}["pending"] == "warning"


def test_repair_flag_on_a_healthy_database_is_an_ordinary_migrate(seeded_010: Path) -> None:
    result = migrate.migrate(seeded_010, make_backup=False, repair_half_applied=True)
    assert result.repaired is None
    assert [a.name for a in result.applied] == ["011_project_learning", "012_project_sessions", "013_multi_lessons"]


def test_a_leftover_the_repair_cannot_account_for_is_refused_and_nothing_changes(
    seeded_010: Path, runner: CliRunner
) -> None:
    half_011(seeded_010, 2)  # lessons_new created beside lessons
    conn = helpers.connect(seeded_010)
    conn.execute("ALTER TABLE lessons_new ADD COLUMN note TEXT")
    conn.execute("INSERT INTO lessons_new (id, sender_id, domain, rule, note) VALUES ('x', 'a', 'b', 'c', 'mine')")
    conn.close()
    before = helpers.fingerprint(seeded_010)
    result = runner.invoke(app, ["migrate", str(seeded_010), "--repair"])
    assert result.exit_code == 1
    assert "cannot complete it" in result.stderr and "lessons_new" in result.stderr
    assert helpers.fingerprint(seeded_010)[0] == before[0]
    assert helpers.backups(seeded_010) == []


def test_repair_runs_in_one_transaction(seeded_010: Path, runner: CliRunner) -> None:
    """A failure after the repair began writing leaves the file as it was (here a real one:
    two lessons that differ only by project cannot go back to 010's UNIQUE (sender_id, domain))."""
    half_011(seeded_010, 5)  # lessons rebuilt and renamed; scheduled_tasks.project and indexes missing
    conn = helpers.connect(seeded_010)
    conn.execute(
        "INSERT INTO lessons (id, sender_id, domain, rule, project) "
        "SELECT 'dup', sender_id, domain, rule, 'my-app' FROM lessons LIMIT 1"
    )
    conn.close()
    before = helpers.dump(seeded_010), helpers.fingerprint(seeded_010)[0]
    result = runner.invoke(app, ["migrate", str(seeded_010), "--repair", "--no-backup"])
    assert result.exit_code == 1
    assert "rolled back" in result.stderr and "unchanged" in result.stderr
    assert (helpers.dump(seeded_010), helpers.fingerprint(seeded_010)[0]) == before
    assert "011_project_learning" not in helpers.recorded(seeded_010)


PREFIXES = [
    (m.name, k)
    for m in files.discover()[1:]  # 001: nothing recorded yet, so nothing half-applied
    if m.name != "011_project_learning"  # covered above with rows in every table
    for k in range(1, len(m.statements) + 1)
]


@pytest.mark.parametrize(("name", "statements"), PREFIXES, ids=[f"{n[:3]}-{k}" for n, k in PREFIXES])
def test_any_migration_stopped_after_any_statement_is_repaired_into_the_clean_one(
    tmp_path: Path, name: str, statements: int
) -> None:
    known = files.discover()
    migration = next(m for m in known if m.name == name)
    previous = known[known.index(migration) - 1].name
    broken, clean = tmp_path / "broken.db", tmp_path / "clean.db"
    helpers.build(broken, to=previous)
    if previous >= "002":
        conn = helpers.connect(broken)
        conn.execute("INSERT INTO conversations (id, channel, sender_id) VALUES ('c1', 'tg', 'a')")
        conn.execute("INSERT INTO messages (id, conversation_id, role, content) "
                     "VALUES ('m1', 'c1', 'user', 'hello'), ('m2', 'c1', 'assistant', 'hi')")
        conn.close()
    shutil.copy(broken, clean)
    migrate.migrate(clean, make_backup=False, to=name)
    run_like_omega(broken, migration.statements[:statements])

    result = migrate.migrate(broken, make_backup=False, repair_half_applied=True, to=name)
    assert result.repaired == name
    assert compare.compare(helpers.structure(clean), helpers.structure(broken)) == []
    assert rows(broken) == rows(clean)
