"""status: history, header, projects; read-only on a database at any version."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omega_db.cli import app
from tests import helpers


def status_json(runner: CliRunner, path: Path) -> dict:
    result = runner.invoke(app, ["status", str(path), "-f", "json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


HEADER_KEYS = ("Database", "Size", "SQLite", "Journal mode", "Current", "Pending", "Note", "Newer")


def status_table(runner: CliRunner, path: Path) -> tuple[dict[str, str], list[dict[str, str]], list[dict[str, str]]]:
    """status as a table, read back: the header's facts, the Migrations rows, the Projects rows."""
    result = runner.invoke(app, ["status", str(path)])
    assert result.exit_code == 0 and result.stderr == "", result.stderr
    text, tables = result.stdout.split("\nMigrations", 1)
    header: dict[str, str] = {}
    for line in text.splitlines():
        key = re.match(rf"({'|'.join(HEADER_KEYS)}) {{2,}}", line)
        if key:
            header[key.group(1)] = line[key.end():].rstrip()
        else:  # a long value folded onto the next line
            header[list(header)[-1]] += line.rstrip()
    (_, history), (_, projects) = helpers.read_tables(tables)
    return header, history, projects


def shown_projects(doc: dict) -> list[dict[str, str]]:
    """The JSON projects as the Projects table shows them."""
    return [
        {
            "project": p["project"] or "(general)",
            "outcomes": str(p["outcomes"]),
            "lessons": str(p["lessons"]),
            "pending tasks": str(p["pending_tasks"]),
        }
        for p in doc["projects"]
    ]


def test_json_keys_exactly_as_specified(migrated_db: Path, runner: CliRunner) -> None:
    doc = status_json(runner, migrated_db)
    assert list(doc) == ["database", "current", "omega", "half_applied", "migrations", "pending", "newer", "projects"]
    assert doc["current"] == "013_multi_lessons" and doc["omega"] == "v0.2.0 to v1.3.0" and doc["half_applied"] is None
    assert doc["pending"] == [] and doc["newer"] == []
    assert all(list(m) == ["name", "state", "applied_at"] for m in doc["migrations"])
    assert {m["state"] for m in doc["migrations"]} == {"applied"}
    assert doc["projects"] == [{"project": "", "outcomes": 0, "lessons": 0, "pending_tasks": 0}]


def test_empty_file_is_version_000(db_path: Path, runner: CliRunner) -> None:
    db_path.write_bytes(b"")
    doc = status_json(runner, db_path)
    assert doc["current"] is None
    assert len(doc["pending"]) == 13 and doc["omega"] is None
    assert {m["state"] for m in doc["migrations"]} == {"pending"}
    assert doc["projects"] == [{"project": "", "outcomes": 0, "lessons": 0, "pending_tasks": 0}]
    assert db_path.read_bytes() == b""


def test_at_010_counts_everything_as_general(seeded_010: Path, runner: CliRunner) -> None:
    doc = status_json(runner, seeded_010)
    assert doc["current"] == "010_outcomes"
    assert doc["pending"] == ["011_project_learning", "012_project_sessions", "013_multi_lessons"]
    conn = sqlite3.connect(seeded_010)
    expected = {
        "project": "",
        "outcomes": conn.execute("SELECT count(*) FROM outcomes").fetchone()[0],
        "lessons": conn.execute("SELECT count(*) FROM lessons").fetchone()[0],
        "pending_tasks": conn.execute("SELECT count(*) FROM scheduled_tasks WHERE status = 'pending'").fetchone()[0],
    }
    conn.close()
    assert doc["projects"] == [expected]


def test_projects_are_counted_per_scope(migrated_db: Path, runner: CliRunner) -> None:
    conn = sqlite3.connect(migrated_db)
    conn.executemany(
        "INSERT INTO outcomes (id, sender_id, domain, score, lesson, project) VALUES (?, 's', 'd', 1, 'l', ?)",
        [("o1", ""), ("o2", "my-app"), ("o3", "my-app"), ("o4", "a'b%_")],
    )
    conn.executemany(
        "INSERT INTO lessons (id, sender_id, domain, rule, project) VALUES (?, 's', ?, 'r', ?)",
        [("l1", "d1", "my-app"), ("l2", "d2", "ünï")],
    )
    conn.executemany(
        "INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at, status, project) "
        "VALUES (?, 'c', 's', 'r', 'd', '2030-01-01 00:00:00', ?, ?)",
        [("t1", "pending", "my-app"), ("t2", "delivered", "my-app"), ("t3", "pending", "")],
    )
    conn.commit()
    conn.close()
    doc = status_json(runner, migrated_db)
    assert doc["projects"] == [
        {"project": "", "outcomes": 1, "lessons": 0, "pending_tasks": 1},
        {"project": "a'b%_", "outcomes": 1, "lessons": 0, "pending_tasks": 0},
        {"project": "my-app", "outcomes": 2, "lessons": 1, "pending_tasks": 1},
        {"project": "ünï", "outcomes": 0, "lessons": 1, "pending_tasks": 0},
    ]
    _, _, projects = status_table(runner, migrated_db)
    assert projects == shown_projects(doc)


def test_newer_migrations_are_listed(migrated_db: Path, runner: CliRunner) -> None:
    conn = sqlite3.connect(migrated_db)
    conn.execute("INSERT INTO _migrations (name) VALUES ('014_later_things'), ('015_even_later')")
    conn.commit()
    conn.close()
    doc = status_json(runner, migrated_db)
    assert doc["newer"] == ["014_later_things", "015_even_later"]
    assert doc["current"] == "015_even_later" and doc["omega"] is None
    assert [m["state"] for m in doc["migrations"]] == ["applied"] * 13 + ["newer", "newer"]
    header, _, _ = status_table(runner, migrated_db)
    assert header["Current"] == "015_even_later — written by an OMEGA newer than v1.3.0"


def test_pre_tracking_database_counts_001_to_003_as_applied(db_path: Path, runner: CliRunner) -> None:
    helpers.build(db_path, to="003")
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TABLE _migrations")
    conn.commit()
    conn.close()
    doc = status_json(runner, db_path)
    assert doc["current"] == "003_memory_enhancement"
    assert doc["pending"] == [m["name"] for m in doc["migrations"]][3:]
    assert doc["pending"][0] == "004_fts5_recall" and len(doc["pending"]) == 10


def test_table_shows_header_and_history(seeded_010: Path, runner: CliRunner) -> None:
    header, history, projects = status_table(runner, seeded_010)
    assert list(header) == ["Database", "Size", "SQLite", "Journal mode", "Current", "Pending"]
    assert header["Database"] == str(seeded_010)
    assert header["SQLite"] == sqlite3.sqlite_version
    assert (header["Journal mode"], header["Current"], header["Pending"]) == (
        "delete", "010_outcomes — a development state (no OMEGA release stops here)", "3"
    )
    doc = status_json(runner, seeded_010)
    assert [(r["#"], r["name"], r["state"], r["applied at (UTC)"]) for r in history] == [
        (m["name"][:3], m["name"], m["state"], m["applied_at"] or "") for m in doc["migrations"]
    ]
    assert [r["state"] for r in history] == ["applied"] * 10 + ["pending"] * 3
    assert projects == shown_projects(doc) and [p["project"] for p in projects] == ["(general)"]


@pytest.mark.parametrize("wal", [False, True])
def test_status_changes_no_byte(seeded_010: Path, runner: CliRunner, wal: bool) -> None:
    holder = None
    if wal:
        holder = sqlite3.connect(seeded_010, isolation_level=None)
        holder.execute("PRAGMA journal_mode = WAL")
        holder.execute("INSERT INTO user_aliases VALUES ('x', 'y')")  # lives in the WAL
    before = helpers.fingerprint(seeded_010)
    assert runner.invoke(app, ["status", str(seeded_010)]).exit_code == 0
    assert runner.invoke(app, ["status", str(seeded_010), "-f", "json"]).exit_code == 0
    assert helpers.fingerprint(seeded_010) == before
    if holder:
        holder.close()


def test_status_uses_omega_db_env_when_no_argument(migrated_db: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMEGA_DB", str(migrated_db))
    result = runner.invoke(app, ["status", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["database"] == str(migrated_db)


def test_default_path_is_in_home(runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OMEGA_DB")
    monkeypatch.setenv("HOME", str(tmp_path))
    result = runner.invoke(app, ["migrate", "-f", "json", "--no-backup"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["database"] == str(tmp_path / ".omega" / "data" / "memory.db")
    assert (tmp_path / ".omega" / "data" / "memory.db").is_file()


def _size_lines(out: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r"^(Size|WAL|Hint)\s*:?\s+(.*)$", out, flags=re.M)}


def test_status_shows_the_wal_beside_the_file_and_a_hint_when_it_is_large(migrated_db: Path, runner: CliRunner) -> None:
    holder = sqlite3.connect(migrated_db, isolation_level=None)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("PRAGMA wal_autocheckpoint = 0")  # OMEGA's checkpoints have not caught up
    holder.execute("INSERT INTO user_aliases VALUES ('small', 'y')")
    wal = Path(f"{migrated_db}-wal")
    small = runner.invoke(app, ["status", str(migrated_db)], env={"COLUMNS": "300"})
    assert small.exit_code == 0, small.stderr
    lines = _size_lines(small.stdout)
    assert lines["Size"].startswith(f"{migrated_db.stat().st_size // 1024}.") or "bytes" in lines["Size"]
    assert "WAL" in lines and "Hint" not in lines, small.stdout
    holder.execute("BEGIN")
    for i in range(3000):
        holder.execute("INSERT INTO user_aliases VALUES (?, ?)", (f"a{i}", "x" * 2000))
    holder.execute("COMMIT")
    assert wal.stat().st_size > 4 * 1024 * 1024 > migrated_db.stat().st_size
    big = runner.invoke(app, ["status", str(migrated_db)], env={"COLUMNS": "300"})
    lines = _size_lines(big.stdout)
    assert lines["WAL"].startswith(f"{wal.stat().st_size / 1024 / 1024:.1f} MiB"), big.stdout
    assert "checkpoint" in lines["Hint"]
    doc = json.loads(runner.invoke(app, ["status", str(migrated_db), "-f", "json"]).stdout)
    assert list(doc) == ["database", "current", "omega", "half_applied", "migrations", "pending", "newer", "projects"]
    holder.close()
    assert not wal.exists()  # the last connection checkpointed it away: what the hint promises
    assert "WAL" not in _size_lines(runner.invoke(app, ["status", str(migrated_db)]).stdout)
