"""verify at 013, what every OMEGA release since v0.2.0 leaves: checked against 013, by 013's promises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import helpers
from tests.inputkit import invoke


def checks(runner: CliRunner, path: Path, *flags: str) -> tuple[int, dict[str, dict[str, str]]]:
    ran = invoke(runner, "verify", str(path), *flags, "-f", "json")
    return ran.code, {c["name"]: c for c in json.loads(ran.stdout)["checks"]}


def add_lessons(path: Path, sender: str, domain: str, project: str, count: int) -> None:
    conn = helpers.connect(path)
    conn.execute("BEGIN")
    for i in range(count):
        conn.execute(
            "INSERT INTO lessons (id, sender_id, domain, rule, project, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            (f"{sender}-{domain}-{project}-{i}", sender, domain, f"rule {i}", project, f"2026-03-01 10:00:{i:02d}"),
        )
    conn.execute("COMMIT")
    conn.close()


@pytest.fixture
def populated_013(db_path: Path) -> Path:
    """A healthy 013 database with rows everywhere and several rules per (sender, domain, project)."""
    helpers.build(db_path, to="010")
    helpers.seed(db_path, n=30)
    helpers.build(db_path)
    for project in ("", "my-app"):
        add_lessons(db_path, "ann", "coding", project, 10)  # OMEGA's most: 10 per scope
        add_lessons(db_path, "ben", "trading", project, 4)
    conn = helpers.connect(db_path)
    conn.execute("INSERT INTO project_sessions (id, channel, sender_id, project, session_id) "
                 "VALUES ('s1', 'telegram', 'alice', 'my-app', 'sess-1')")
    conn.execute("UPDATE conversations SET project = 'my-app' WHERE rowid % 2 = 0")
    conn.close()
    return db_path


@pytest.mark.parametrize("flags", [(), ("--quick",)])
def test_a_healthy_populated_013_passes_verify_strict(runner: CliRunner, populated_013: Path, flags: tuple[str, ...]) -> None:
    before = helpers.fingerprint(populated_013)
    code, found = checks(runner, populated_013, "--strict", *flags)
    assert code == 0, found
    assert {c["status"] for c in found.values()} == {"ok"}
    assert "at most 10" in found["lessons-per-scope"]["detail"]
    assert helpers.fingerprint(populated_013) == before


def test_more_than_ten_lessons_in_a_scope_is_a_warning(runner: CliRunner, populated_013: Path) -> None:
    add_lessons(populated_013, "carol", "writing", "my-app", 13)
    code, found = checks(runner, populated_013)
    assert code == 0
    assert found["lessons-per-scope"]["status"] == "warning"
    assert "1 (sender_id, domain, project) group(s)" in found["lessons-per-scope"]["detail"]
    assert "up to 13" in found["lessons-per-scope"]["detail"]
    code, _ = checks(runner, populated_013, "--strict")
    assert code == 1


def test_a_database_at_011_is_checked_against_011(runner: CliRunner, db_path: Path) -> None:
    helpers.build(db_path, to="011")
    helpers.seed(db_path)
    code, found = checks(runner, db_path)
    assert code == 0
    assert [name for name, c in found.items() if c["status"] != "ok"] == ["pending"]
    assert found["lessons-per-scope"]["detail"] == "one lesson per (sender_id, domain, project)"


@pytest.mark.parametrize(
    ("damage", "words", "status"),
    [
        ("DROP INDEX idx_lessons_domain", "index idx_lessons_domain on lessons (sender_id, domain, project) is missing", "fail"),
        ("DROP INDEX idx_conversations_project", "idx_conversations_project", "fail"),
        ("CREATE UNIQUE INDEX u ON lessons (rule, id)", "extra unique index u", "warning"),  # someone's own index
    ],
)
def test_a_013_database_that_departs_from_013_is_told(
    runner: CliRunner, populated_013: Path, damage: str, words: str, status: str
) -> None:
    conn = helpers.connect(populated_013)
    conn.execute(damage)
    conn.close()
    code, found = checks(runner, populated_013)
    assert code == (1 if status == "fail" else 0)
    assert found["schema"]["status"] == status and words in found["schema"]["detail"]
    code, _ = checks(runner, populated_013, "--strict")
    assert code == 1
