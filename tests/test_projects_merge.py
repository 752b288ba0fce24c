"""`projects rename` into a project that has rows: merged the way OMEGA keeps them (SPEC), checked by SQL here."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import helpers, mergekit
from tests.inputkit import invoke


def lesson(conn: sqlite3.Connection, id_: str, project: str, rule: str, day: int, occurrences: int = 1,
           sender: str = "S", domain: str = "coding") -> None:
    conn.execute(
        "INSERT INTO lessons (id, sender_id, domain, rule, project, occurrences, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (id_, sender, domain, rule, project, occurrences, f"2026-01-{day:02d} 00:00:00", f"2026-02-{day:02d} 00:00:00"),
    )


def renamed(runner: CliRunner, path: Path, old: str, new: str) -> dict[str, object]:
    ran = invoke(runner, "projects", "rename", old, new, str(path), "--yes", "-f", "json")
    assert ran.code == 0, ran.stderr
    return json.loads(ran.stdout)


@pytest.mark.parametrize("new", ["beta", ""])
def test_lessons_merge_then_the_cap_of_10(runner: CliRunner, tmp_path: Path, new: str) -> None:
    path = helpers.build(tmp_path / "memory.db")
    conn = helpers.connect(path)
    for i in range(7):
        lesson(conn, f"old-{i}", "alpha", f"rule {i}", day=20 if i == 0 else 2 * i + 2, occurrences=2)
        lesson(conn, f"new-{i}", new, "rule 0" if i == 0 else f"other {i}", day=2 * i + 1, occurrences=3)
    lesson(conn, "same-day", new, "other 9", day=14)  # ties old-6 on updated_at: rowid decides
    lesson(conn, "elsewhere", "alpha", "rule 0", day=1, domain="writing")  # a scope only alpha has
    for i in range(12):  # a scope of beta's that alpha does not touch keeps even more than 10
        lesson(conn, f"untouched-{i}", new, f"u{i}", day=i + 1, domain="trading")
    conn.close()
    kept, evicted = mergekit.expected_lessons(path, "alpha", new, cap=10)
    untouched = {row for row in mergekit.lessons_of(path, new) if row[2] == "trading"}
    doc = renamed(runner, path, "alpha", new)
    assert mergekit.lessons_of(path, new) == kept | untouched
    assert mergekit.lessons_of(path, "alpha") == set()
    assert {tuple(e.values()) for e in doc["evicted"]} == evicted and len(evicted) == 4  # 15 rows, 1 merged
    assert doc["merged"] == 1
    merged = next(row for row in kept if row[3] == "rule 0" and row[2] == "coding")
    assert merged[0] == "old-0" and merged[4] == 5 and merged[5] == "2026-01-01 00:00:00"  # summed, earliest created
    assert merged[6] == "2026-02-20 00:00:00"  # the later updated_at
    assert {row[0] for row in kept} >= {"elsewhere", "same-day", "old-6"}


def test_before_013_the_lesson_updated_last_wins(runner: CliRunner, tmp_path: Path) -> None:
    path = helpers.build(tmp_path / "memory.db", to="012_project_sessions")
    conn = helpers.connect(path)
    lesson(conn, "a-new", "alpha", "alpha's rule", day=9)
    lesson(conn, "b-old", "beta", "beta's rule", day=3)
    lesson(conn, "a-old", "alpha", "same", day=2, occurrences=4, domain="writing")
    lesson(conn, "b-new", "beta", "same", day=5, occurrences=1, domain="writing")
    conn.close()
    kept, evicted = mergekit.expected_lessons(path, "alpha", "beta", cap=1)
    doc = renamed(runner, path, "alpha", "beta")
    assert mergekit.lessons_of(path, "beta") == kept
    assert {r[0] for r in kept} == {"a-new", "b-new"} and {e[0] for e in evicted} == {"b-old"}
    assert next(r for r in kept if r[0] == "b-new")[4] == 5  # identical rules: summed
    assert [e["id"] for e in doc["evicted"]] == ["b-old"] and doc["merged"] == 1


def test_one_session_kept_and_the_older_conversation_closed(runner: CliRunner, tmp_path: Path) -> None:
    path = helpers.build(tmp_path / "memory.db")
    conn = helpers.connect(path)
    conn.executemany(
        "INSERT INTO project_sessions (id, channel, sender_id, project, session_id, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        [("s-a", "tg", "S", "alpha", "A", "2026-02-02 00:00:00"), ("s-b", "tg", "S", "beta", "B", "2026-02-01 00:00:00"),
         ("s-c", "tg", "T", "alpha", "C", "2026-02-01 00:00:00")],
    )
    conn.executemany(
        "INSERT INTO conversations (id, channel, sender_id, project, status, last_activity) VALUES (?, ?, ?, ?, ?, ?)",
        [("c-a", "tg", "S", "alpha", "active", "2026-03-01 00:00:00"),
         ("c-b", "tg", "S", "beta", "active", "2026-03-02 00:00:00"),
         ("c-old", "tg", "S", "alpha", "closed", "2026-01-01 00:00:00"),
         ("c-t", "tg", "T", "alpha", "active", "2026-01-01 00:00:00")],
    )
    conn.close()
    doc = renamed(runner, path, "alpha", "beta")
    conn = sqlite3.connect(path)
    sessions = conn.execute("SELECT id, project FROM project_sessions ORDER BY id").fetchall()
    conversations = conn.execute("SELECT id, project, status FROM conversations ORDER BY id").fetchall()
    conn.close()
    assert sessions == [("s-a", "beta"), ("s-c", "beta")]  # s-a was updated last
    assert conversations == [("c-a", "beta", "closed"), ("c-b", "beta", "active"), ("c-old", "beta", "closed"),
                             ("c-t", "beta", "active")]
    assert doc["merged"] == 1
    assert {t["table"]: t["moved"] for t in doc["tables"]}["project_sessions"] == 2


@pytest.mark.parametrize("backup", [True, False])
def test_the_report_says_where_evicted_lessons_are(runner: CliRunner, tmp_path: Path, backup: bool) -> None:
    path = helpers.build(tmp_path / "memory.db")
    conn = helpers.connect(path)
    for i in range(6):  # 12 lessons in one scope after the merge: OMEGA's cap of 10 evicts 2
        lesson(conn, f"a-{i}", "alpha", f"rule a{i}", day=i + 1)
        lesson(conn, f"b-{i}", "beta", f"rule b{i}", day=i + 10)
    conn.close()
    ran = invoke(runner, "projects", "rename", "alpha", "beta", str(path), "--yes", *(() if backup else ("--no-backup",)))
    assert ran.code == 0, ran.stderr
    flat = " ".join(ran.stdout.split())
    assert "Evicted 2 lesson(s)" in flat
    if backup:
        assert "(they remain in the backup)" in flat and len(helpers.backups(path)) == 1
    else:
        assert "(no backup was taken: they are gone)" in flat and "remain in the backup" not in flat
        assert helpers.backups(path) == []
