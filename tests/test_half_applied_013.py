"""012 and 013 stopped half-way by OMEGA's own runner: every prefix of their statements.

For each state: plain `migrate` refuses (exit 1) without changing a byte,
`migrate --repair` ends equal to a clean 013 with every row, and `status`,
`verify` and `lessons` name the state and point to `--repair`.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omega_db.chain import compare
from tests import helpers
from tests.inputkit import invoke
from tests.omega_runner import OMEGA_012, OMEGA_013, run_like_omega

CASES = [("012_project_sessions", k) for k in range(1, len(OMEGA_012) + 1)] + [
    ("013_multi_lessons", k) for k in range(1, len(OMEGA_013) + 1)
]
# After `DROP TABLE lessons`, before the RENAME: every lesson lives only in lessons_v2.
LESSONS_GONE = ("013_multi_lessons", 3)


def rows(path: Path) -> dict[str, list[dict[str, object]]]:
    """Every row of every table but _migrations (its applied_at is the time of the run), by table."""
    dumped = helpers.dump(path)
    if "lessons" not in dumped and "lessons_v2" in dumped:
        dumped["lessons"] = dumped.pop("lessons_v2")
    return {t: r for t, r in dumped.items() if t not in ("_migrations", "lessons_v2")}


def with_conversation_projects(before: dict[str, list[dict[str, object]]]) -> dict[str, list[dict[str, object]]]:
    """The rows a clean 013 holds for them: conversations gain project = ''."""
    out = dict(before)
    out["conversations"] = sorted(
        ({**r, "project": r.get("project", "")} for r in before["conversations"]), key=lambda r: json.dumps(r, sort_keys=True)
    )
    out.setdefault("project_sessions", [])
    return out


def half_applied(path: Path, name: str, statements: int) -> dict[str, list[dict[str, object]]]:
    """A seeded database at the migration before `name`, then OMEGA's runner stopped after `statements`."""
    helpers.build(path, to="011" if name.startswith("012") else "012")
    helpers.seed(path, n=24)
    expected = with_conversation_projects(rows(path))
    upstream = OMEGA_012 if name.startswith("012") else OMEGA_013
    assert run_like_omega(path, upstream[:statements]) is None
    return expected


def sorted_rows(found: dict[str, list[dict[str, object]]]) -> dict[str, list[dict[str, object]]]:
    return {t: sorted(r, key=lambda row: json.dumps(row, sort_keys=True)) for t, r in found.items()}


@pytest.mark.parametrize(("name", "statements"), CASES)
def test_migrate_refuses_then_repair_ends_in_a_clean_013_with_every_row(
    runner: CliRunner, tmp_path: Path, name: str, statements: int
) -> None:
    path = tmp_path / "memory.db"
    expected = half_applied(path, name, statements)
    before = helpers.fingerprint(path)

    refused = invoke(runner, "migrate", str(path))
    assert refused.code == 1
    assert f"{name} is half-applied" in refused.stderr and "--repair" in refused.stderr
    assert helpers.fingerprint(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["memory.db"]  # no backup, no journal

    repaired = invoke(runner, "migrate", str(path), "--repair", "-f", "json")
    assert repaired.code == 0, repaired.stderr
    doc = json.loads(repaired.stdout)
    assert doc["repaired"] == name and doc["current"] == "013_multi_lessons" and doc["backup"]
    assert helpers.recorded(path)[-3:] == ["011_project_learning", "012_project_sessions", "013_multi_lessons"]
    clean = helpers.build(tmp_path / "clean.db")
    assert compare.compare(helpers.structure(clean), helpers.structure(path)) == []
    assert sorted_rows(rows(path)) == sorted_rows(expected)
    assert invoke(runner, "verify", str(path), "--strict").code == 0


@pytest.mark.parametrize(("name", "statements"), CASES)
def test_status_verify_and_lessons_point_to_repair(runner: CliRunner, tmp_path: Path, name: str, statements: int) -> None:
    path = tmp_path / "memory.db"
    half_applied(path, name, statements)
    before = helpers.fingerprint(path)

    status = invoke(runner, "status", str(path), "-f", "json")
    assert status.code == 0 and json.loads(status.stdout)["half_applied"] == name
    table = " ".join(invoke(runner, "status", str(path)).stdout.split())
    assert f"Half-applied {name} is half-applied" in table and "migrate --repair" in table

    verify = invoke(runner, "verify", str(path), "-f", "json")
    assert verify.code == 1
    check = next(c for c in json.loads(verify.stdout)["checks"] if c["name"] == "half-applied")
    assert check["status"] == "fail" and name in check["detail"] and "--repair" in check["detail"]

    lessons = invoke(runner, "lessons", str(path), "-f", "json")
    assert "--repair" in lessons.stderr and f"{name} is half-applied" in lessons.stderr
    assert "migration 010_outcomes is missing" not in lessons.stderr
    if (name, statements) == LESSONS_GONE:
        assert lessons.code == 1 and lessons.stdout == ""
    else:
        assert lessons.code == 0 and len(json.loads(lessons.stdout)) > 0
    outcomes = invoke(runner, "outcomes", str(path), "-f", "json")
    assert outcomes.code == 0 and "--repair" in outcomes.stderr and json.loads(outcomes.stdout)
    assert helpers.fingerprint(path) == before


def test_lessons_only_in_lessons_v2_are_all_kept_by_the_repair(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    half_applied(path, *LESSONS_GONE)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    stranded = sorted(conn.execute("SELECT id, sender_id, domain, rule, project, occurrences, created_at, updated_at "
                                   "FROM lessons_v2"))
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'lessons'").fetchone() == (0,)
    conn.close()
    assert len(stranded) > 5
    assert invoke(runner, "migrate", str(path), "--repair").code == 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        kept = sorted(conn.execute("SELECT id, sender_id, domain, rule, project, occurrences, created_at, updated_at "
                                   "FROM lessons"))
    finally:
        conn.close()
    assert kept == stranded


@pytest.mark.parametrize(("name", "to"), [("013_multi_lessons", "012"), ("012_project_sessions", "011"),
                                          ("012_project_sessions", "11")])
@pytest.mark.parametrize("repair", [False, True])
def test_a_to_that_stops_before_the_half_applied_migration_is_refused(
    runner: CliRunner, tmp_path: Path, name: str, to: str, repair: bool
) -> None:
    # The file is recorded at the target, so the target alone said "up to date", exit 0:
    # a cron `--to` then passed a file OMEGA cannot start on.
    path = tmp_path / "memory.db"
    half_applied(path, name, 1 if name.startswith("012") else LESSONS_GONE[1])
    before = helpers.fingerprint(path)
    result = invoke(runner, "migrate", str(path), "--to", to, *(["--repair"] if repair else []))
    assert result.code == 1 and result.stdout == ""
    assert f"{name} is half-applied" in result.stderr and f"--to {to} stops before it" in result.stderr
    assert f"migrate --repair --to {name}" in result.stderr and "up to date" not in result.stderr
    assert helpers.fingerprint(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["memory.db"]


@pytest.mark.parametrize(("name", "statements"), [("012_project_sessions", 1), LESSONS_GONE])
def test_repair_dry_run_prints_the_repair_and_what_follows_it_and_changes_nothing(
    runner: CliRunner, tmp_path: Path, name: str, statements: int
) -> None:
    path = tmp_path / "memory.db"
    half_applied(path, name, statements)
    before = helpers.fingerprint(path)

    plain = invoke(runner, "migrate", str(path), "--dry-run")
    assert plain.code == 1 and "--repair" in plain.stderr  # a plain migrate would fail: so does its dry run

    shown = invoke(runner, "migrate", str(path), "--repair", "--dry-run")
    assert shown.code == 0, shown.stderr
    assert f"Repair {name} (half-applied)" in shown.stdout and f"run {name} whole and record it" in shown.stdout
    follows = "013_multi_lessons" if name.startswith("012") else None
    assert ("-- 013_multi_lessons" in shown.stdout) == (follows is not None)
    assert f"-- {name}\n" not in shown.stdout or follows == name  # the repaired migration is not run twice
    assert "Dry run: nothing was changed." in shown.stdout

    doc = json.loads(invoke(runner, "migrate", str(path), "--repair", "--dry-run", "-f", "json").stdout)
    assert doc["repair"]["name"] == name and doc["repair"]["steps"][-1] == f"run {name} whole and record it"
    assert [m["name"] for m in doc["plan"]] == ([follows] if follows else [])
    assert helpers.fingerprint(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["memory.db"]


def test_a_to_the_file_has_passed_names_the_half_applied_migration_too(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    half_applied(path, *LESSONS_GONE)  # at 012, 013 half-applied
    before = helpers.fingerprint(path)
    result = invoke(runner, "migrate", str(path), "--to", "011")
    assert result.code == 2 and "already past it" in result.stderr  # still a bad argument
    assert "013_multi_lessons is half-applied" in result.stderr and "migrate --repair" in result.stderr
    assert helpers.fingerprint(path) == before
