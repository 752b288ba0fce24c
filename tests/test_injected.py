"""What the agent really sees: OMEGA v1.3.0 injects at most 50 lessons, by its own queries.

The oracle is OMEGA's SQL as omega-schema.md gives it, run by the test on the
same file. Many lessons share an updated_at second, so the order among equals
(which OMEGA leaves to SQLite) is part of what must match.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import helpers
from tests.inputkit import invoke

P = "my-app"
# OMEGA v1.3.0's queries (omega-schema.md, "How OMEGA reads and writes the project-scoped data").
CONVERSATION_P = ("SELECT domain, rule, project FROM lessons WHERE sender_id = ? AND (project = ? OR project = '') "
                  "ORDER BY CASE WHEN project = ? THEN 0 ELSE 1 END, updated_at DESC LIMIT 50")
CONVERSATION = "SELECT domain, rule, project FROM lessons WHERE sender_id = ? AND project = '' ORDER BY updated_at DESC LIMIT 50"
HEARTBEAT_P = ("SELECT domain, rule, project FROM lessons WHERE project = ? OR project = '' "
               "ORDER BY CASE WHEN project = ? THEN 0 ELSE 1 END, updated_at DESC LIMIT 50")
HEARTBEAT = "SELECT domain, rule, project FROM lessons ORDER BY updated_at DESC LIMIT 50"


@pytest.fixture(scope="module")
def busy_013(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 013 database where a project and the general scope each hold more than 50 candidates."""
    path = helpers.build(tmp_path_factory.mktemp("injected") / "memory.db")
    conn = helpers.connect(path)
    conn.execute("BEGIN")
    n = 0
    for sender, project, count in (("alice", P, 64), ("alice", "", 41), ("bob", P, 23), ("bob", "", 57),
                                   ("alice", "other", 30), ("carol", "", 12)):
        for i in range(count):
            n += 1
            # Eight distinct seconds only: equal updated_at values everywhere, also around row 50.
            conn.execute(
                "INSERT INTO lessons (id, sender_id, domain, rule, project, occurrences, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, 1, '2026-03-01 00:00:00', ?)",
                (f"l-{(n * 7919) % 1000:03d}-{n}", sender, ("coding", "trading", "writing")[i % 3],
                 f"rule {n} of {sender}/{project or 'general'}", project, f"2026-03-0{1 + (n * 5) % 8} 12:00:00"),
            )
    conn.execute("COMMIT")
    conn.close()
    return path


def omega(path: Path, sql: str, *params: str) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def shown(runner: CliRunner, path: Path, *args: str) -> list[dict[str, object]]:
    ran = invoke(runner, "lessons", str(path), *args, "-f", "json")
    assert ran.code == 0, ran.stderr
    return json.loads(ran.stdout)


def triples(rows: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    return [(r["domain"], r["rule"], r["project"]) for r in rows]


@pytest.mark.parametrize(
    ("args", "sql", "params"),
    [
        (["--project", P, "--sender", "alice"], CONVERSATION_P, ("alice", P, P)),
        (["--sender", "bob"], CONVERSATION, ("bob",)),
        (["--project", "", "--sender", "bob"], CONVERSATION, ("bob",)),
        (["--project", P], HEARTBEAT_P, (P, P)),
        ([], HEARTBEAT, ()),
        (["--project", ""], HEARTBEAT, ()),
    ],
)
def test_injected_is_exactly_omegas_query(runner: CliRunner, busy_013: Path, args: list[str], sql: str,
                                          params: tuple[str, ...]) -> None:
    expected = omega(busy_013, sql, *params)
    assert len(expected) == 50  # the limit bites
    rows = shown(runner, busy_013, "--injected", *args)
    assert triples(rows) == expected
    assert set(rows[0]) == {"id", "sender_id", "domain", "rule", "project", "occurrences", "created_at", "updated_at"}
    capped = shown(runner, busy_013, "--injected", *args, "--limit", "7")
    assert triples(capped) == expected[:7]


def test_a_busy_project_leaves_no_room_for_general_lessons(runner: CliRunner, busy_013: Path) -> None:
    rows = shown(runner, busy_013, "--injected", "--project", P, "--sender", "alice")
    assert {r["project"] for r in rows} == {P}  # alice has 64 lessons in my-app: none of her 41 general ones


@pytest.mark.parametrize("extra", [["--only"], ["--domain", "coding"]])
def test_injected_refuses_filters_omega_does_not_have(runner: CliRunner, busy_013: Path, extra: list[str]) -> None:
    ran = invoke(runner, "lessons", str(busy_013), "--injected", "--project", P, *extra)
    assert ran.code == 2 and ran.stdout == "" and "--injected" in ran.stderr


@pytest.mark.parametrize(
    ("args", "sql", "params", "candidates"),
    [
        (["--project", P, "--sender", "alice"], CONVERSATION_P, ("alice", P, P), 64 + 41),
        (["--project", P], HEARTBEAT_P, (P, P), 64 + 41 + 23 + 57 + 12),
        ([], HEARTBEAT, (), 64 + 41 + 23 + 57 + 30 + 12),
        (["--project", "", "--sender", "bob"], CONVERSATION, ("bob",), 57),
    ],
)
def test_the_listing_puts_the_injected_rows_first(runner: CliRunner, busy_013: Path, args: list[str], sql: str,
                                                  params: tuple[str, ...], candidates: int) -> None:
    rows = shown(runner, busy_013, *args)
    assert len(rows) == candidates and len({r["id"] for r in rows}) == candidates
    assert sorted(triples(rows[:50])) == sorted(omega(busy_013, sql, *params))  # exactly OMEGA's choice
    scoped = bool(args[:2] == ["--project", P])
    for part in (rows[:50], rows[50:]):  # each part in OMEGA's order (its own among equal times)
        key = [((r["project"] != P) if scoped else 0, r["updated_at"]) for r in part]
        assert key == sorted(key, key=lambda k: (k[0], _desc(k[1])))
    capped = shown(runner, busy_013, *args, "--limit", "60")
    assert capped == rows[:60]


def _desc(text: object) -> str:
    return "".join(chr(0x10FFFF - ord(c)) for c in str(text))


def test_the_table_marks_where_the_agents_window_ends(runner: CliRunner, busy_013: Path) -> None:
    args = ["--project", P, "--sender", "alice"]
    ran = invoke(runner, "lessons", str(busy_013), *args)
    assert ran.code == 0, ran.stderr
    lines = ran.stdout.splitlines()
    rule = next(i for i, line in enumerate(lines) if "the agent sees" in line)
    assert rule == 3 + 50  # title, header, rule line, then the 50 injected rows
    assert "── the agent sees the 50 lessons above; 55 more are never injected " in lines[rule]
    assert lines[-1] == f"{64 + 41} rows"
    capped = invoke(runner, "lessons", str(busy_013), *args, "--limit", "52").stdout.splitlines()
    assert "55 more are never injected" in capped[3 + 50]  # counted over the whole answer
    assert capped[-1].startswith("52 rows")
    bob = invoke(runner, "lessons", str(busy_013), "--project", P, "--sender", "bob").stdout
    assert "the agent sees the 50 lessons above; 30 more are never injected" in bob  # 23 of my-app, 57 general


@pytest.mark.parametrize(
    "args",
    [
        ["--project", P, "--only"],  # P's alone: not what OMEGA chooses from
        ["--project", P, "--domain", "coding"],
        ["--sender", "alice"],  # every project of alice's: OMEGA's query without a project takes general ones only
        ["--injected", "--project", P],  # everything shown is injected
        ["--limit", "50"],  # the window's end is not shown
    ],
)
def test_no_window_line_where_it_would_not_be_true(runner: CliRunner, busy_013: Path, args: list[str]) -> None:
    ran = invoke(runner, "lessons", str(busy_013), *args)
    assert ran.code == 0 and len(ran.stdout.splitlines()) > 50 and "the agent sees" not in ran.stdout


@pytest.mark.parametrize("tie", [True, False])
def test_the_window_is_omegas_choice_whether_or_not_equal_times_straddle_its_end(
    runner: CliRunner, tmp_path: Path, tie: bool
) -> None:
    """60 general lessons: when the 50th and 51st share their second, OMEGA's own query says which
    of the equal ones it injects; when they do not, the listing's first 50 are the same set."""
    path = helpers.build(tmp_path / "memory.db")
    conn = helpers.connect(path)
    conn.execute("BEGIN")
    for i in range(60):
        second = i // 20 if tie else (0 if i < 50 else 1)  # tie: rows 40-59 share a second
        conn.execute("INSERT INTO lessons (id, sender_id, domain, rule, updated_at) VALUES (?, 'alice', 'd', ?, ?)",
                     (f"l-{(i * 37) % 60:02d}", f"rule {i}", f"2026-03-01 12:00:{59 - second:02d}"))
    conn.execute("COMMIT")
    conn.close()
    rows = shown(runner, path, "--project", "", "--sender", "alice")
    expected = omega(path, CONVERSATION, "alice")
    assert sorted(triples(rows[:50])) == sorted(expected) and len(rows) == 60
    capped = shown(runner, path, "--project", "", "--sender", "alice", "--limit", "55")
    assert capped == rows[:55]
