"""learning through the CLI and the core: every number against SQL written here, on a 013 file
with a week of outcomes; the sparkline, escaping, old versions, bad input, completion."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from omega_db.cli import app
from omega_db.commands import learning as command
from omega_db.data import learning as core
from omega_db.data import listing
from omega_db.data.learning import Mix
from omega_db.output.learning import sparkline
from tests import helpers
from tests.inputkit import one_sentence
from tests.test_completion import complete

PROJECTS = ("", "alpha", "beta", "a'b%_")
DOMAINS = ("coding", "trading", "writing")
EVIL = "\x1b]52;c;eA==\x07[bold red]pwned[/]\r"


def _seed(path: Path) -> Path:
    """A 013 file: outcomes on most days of the last nine (some before the window, one tomorrow,
    one on a day boundary), and lessons where alice's alpha ones fill OMEGA's window."""
    helpers.build(path)
    conn = helpers.connect(path)
    conn.execute("BEGIN")
    n = 0

    def outcome(ago: int, hour: int, sender: str, domain: str, score: int, project: str, second: int = 0) -> None:
        nonlocal n
        n += 1
        conn.execute(
            "INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson, project) VALUES "
            "(?, datetime(date('now', ?), ?), ?, ?, ?, ?, ?)",
            (f"o{n}", f"{-ago:+d} days", f"+{hour * 3600 + second} seconds", sender, domain, score, f"lesson {n}",
             project),
        )

    for ago in range(9):
        if ago in (2, 5):
            continue  # days without outcomes: a space in the sparkline
        for i in range(3 + ago):
            outcome(ago, i % 24, ("alice", "bob", "carol")[i % 3], DOMAINS[(i + ago) % 3],
                    (1, 0, -1, 1)[(i * ago) % 4], PROJECTS[(i + ago) % 4])
    outcome(-1, 1, "alice", "coding", 1, "alpha")  # tomorrow: after the window
    outcome(6, 0, "alice", "coding", -1, "alpha")  # the first second of a 7-day window
    outcome(7, 23, "alice", "coding", 1, "alpha", second=3599)  # the last second before it

    def lesson(sender: str, domain: str, project: str, i: int, occurrences: int, rule: str | None = None) -> None:
        conn.execute(
            "INSERT INTO lessons (id, sender_id, domain, rule, project, occurrences, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, '2026-01-01 00:00:00', datetime('2026-02-01', ?))",
            (f"{sender}-{project}-{domain}-{i}", sender, domain, rule or f"rule {i} of {sender}", project,
             occurrences, f"+{i % 4} hours"),
        )

    for d in range(6):  # alice: 60 alpha lessons, six scopes at the cap: no general lesson reaches her alpha
        for i in range(10):
            lesson("alice", f"d{d}", "alpha", i, 1 + (d * 7 + i) % 9)
    for i in range(7):
        lesson("alice", DOMAINS[i % 3], "", i, 9 if i == 0 else 1 + i % 4, rule=EVIL if i == 0 else None)
    for i in range(12):  # bob: 12 alpha lessons, 3 general; his window has room for them
        lesson("bob", DOMAINS[i % 3], "alpha", i, 1 + i % 5)
    for i in range(3):
        lesson("bob", "coding", "", i, 2)
    for d in range(5):  # carol: exactly 50 in beta and no general lesson
        for i in range(10):
            lesson("carol", f"b{d}", "beta", i, 3)
    conn.execute("COMMIT")
    conn.close()
    return path


def _clear_of_midnight(margin: float = 60.0) -> None:
    """Wait out UTC midnight if it is closer than margin: the seed's days and the command's window
    are both counted from date('now'), and they must be the same day (this module takes seconds)."""
    now = datetime.now(UTC)
    to_midnight = (now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1) - now).total_seconds()
    if to_midnight < margin:
        time.sleep(to_midnight + 1)


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded 013 file; tests only read it (run() checks that not a byte changes)."""
    _clear_of_midnight()
    return _seed(tmp_path_factory.mktemp("learning") / "memory.db")


def run(runner: CliRunner, path: Path, *args: str) -> Any:
    before = helpers.fingerprint(path)
    result = runner.invoke(app, ["learning", str(path), *args])
    assert helpers.fingerprint(path) == before, args
    return result


def as_json(runner: CliRunner, path: Path, *args: str) -> dict[str, Any]:
    result = run(runner, path, *args, "-f", "json")
    assert result.exit_code == 0, result.stderr
    if "nope" in args:  # a project with no rows: the note that names the known ones, and nothing else
        assert result.stderr.startswith("omega-db: note: no rows for nope in outcomes or lessons; known: ")
        assert len(result.stderr.splitlines()) == 1
    else:
        assert result.stderr == ""
    return json.loads(result.stdout)


def rows(path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def filters(project: str | None, sender: str | None) -> tuple[str, tuple[object, ...]]:
    where, params = "", ()
    if project is not None:
        where, params = " AND project = ?", (project,)
    if sender is not None:
        where, params = where + " AND sender_id = ?", (*params, sender)
    return where, params


def expected(path: Path, days: int, project: str | None, sender: str | None) -> dict[str, Any]:
    """The document, from SQL written here: date() per row, plain GROUP BY, ORDER BY ... LIMIT."""
    where, params = filters(project, sender)
    [(since, today)] = rows(path, "SELECT date('now', ?), date('now')", f"-{days - 1} days")
    days_list = [d for (d,) in rows(
        path, "WITH RECURSIVE d(day) AS (SELECT ? UNION ALL SELECT date(day, '+1 day') FROM d WHERE day < ?) "
        "SELECT day FROM d", since, today)]
    window = f"FROM outcomes WHERE date(timestamp) BETWEEN ? AND ?{where}"
    mix: dict[tuple[str, str, str], int] = {}
    for kind in ("date(timestamp)", "domain"):
        for project_, key, score, count in rows(
            path, f"SELECT project, {kind}, score, count(*) {window} GROUP BY 1, 2, 3", since, today, *params
        ):
            mix[(kind, project_, key, score)] = count  # type: ignore[index]
    lesson_counts = dict(((p, d), n) for p, d, n in rows(
        path, f"SELECT project, domain, count(*) FROM lessons WHERE 1{where} GROUP BY 1, 2", *params))
    full = dict(((p, d), n) for p, d, n in rows(
        path, f"SELECT project, domain, count(*) FROM (SELECT project, domain FROM lessons WHERE 1{where} "
        "GROUP BY sender_id, domain, project HAVING count(*) >= 10) GROUP BY 1, 2", *params))
    if project is None:
        names = sorted({""} | {p for (p,) in rows(path, f"SELECT project {window} UNION SELECT project FROM lessons "
                                                        f"WHERE 1{where}", since, today, *params, *params)})
    else:
        names = [project]

    def counts(kind: str, name: str, key: str) -> dict[str, int]:
        return {label: mix.get((kind, name, key, score), 0)  # type: ignore[call-overload]
                for label, score in (("positive", 1), ("neutral", 0), ("negative", -1))}

    projects = []
    for name in names:
        daily = [{"day": day, **counts("date(timestamp)", name, day)} for day in days_list]
        domains = sorted({d for (k, p, d, _) in mix if k == "domain" and p == name}
                         | {d for (p, d) in lesson_counts if p == name})
        projects.append({
            "project": name,
            **{label: sum(day[label] for day in daily) for label in ("positive", "neutral", "negative")},
            "daily": daily,
            "domains": [{"domain": d, **counts("domain", name, d), "lessons": lesson_counts.get((name, d), 0),
                         "full_scopes": full.get((name, d), 0)} for d in domains],
            "top_lessons": [dict(zip(("id", "sender_id", "domain", "rule", "occurrences"), r, strict=True))
                            for r in rows(path, "SELECT id, sender_id, domain, rule, occurrences FROM lessons "
                                          f"WHERE project = ?{filters(None, sender)[0]} "
                                          "ORDER BY occurrences DESC, updated_at DESC, id LIMIT 5",
                                          name, *filters(None, sender)[1])],
        })
    crowded = [
        {"sender_id": s, "project": p, "project_lessons": n,
         "general_lessons": rows(path, "SELECT count(*) FROM lessons WHERE sender_id = ? AND project = ''", s)[0][0]}
        for s, p, n in rows(path, f"SELECT sender_id, project, count(*) FROM lessons WHERE project != ''{where} "
                                  "GROUP BY 1, 2 HAVING count(*) >= 50 ORDER BY 1, 2", *params)
    ]
    return {"database": str(path), "days": days, "since": since, "projects": projects, "crowded_out": crowded}


@pytest.mark.parametrize("days", [1, 7, 30])
@pytest.mark.parametrize(
    "project,sender",
    [(None, None), ("alpha", None), ("", None), (None, "alice"), ("alpha", "bob"), ("a'b%_", None),
     ("nope", None), ("beta", "carol")],
)
def test_every_number_is_what_sql_counts(
    runner: CliRunner, week: Path, days: int, project: str | None, sender: str | None
) -> None:
    args = ["--days", str(days)]
    if project is not None:
        args += ["--project", project]
    if sender is not None:
        args += ["--sender", sender]
    assert as_json(runner, week, *args) == expected(week, days, project, sender)


def test_the_window_is_whole_utc_days_ending_today(runner: CliRunner, week: Path) -> None:
    doc = as_json(runner, week, "--days", "7", "--project", "alpha", "--sender", "alice")
    [(since, today)] = rows(week, "SELECT date('now', '-6 days'), date('now')")
    daily = doc["projects"][0]["daily"]
    assert doc["since"] == since == daily[0]["day"] and daily[-1]["day"] == today and len(daily) == 7
    # The first second of the window counts; the second before it and tomorrow's outcome do not.
    assert daily[0]["negative"] == rows(
        week, "SELECT count(*) FROM outcomes WHERE sender_id = 'alice' AND project = 'alpha' AND score = -1 "
        "AND date(timestamp) = ?", since)[0][0] >= 1
    total = rows(week, "SELECT count(*) FROM outcomes WHERE sender_id = 'alice' AND project = 'alpha' "
                       "AND timestamp >= ? AND timestamp < date('now', '+1 day')", since)[0][0]
    first = doc["projects"][0]
    assert first["positive"] + first["neutral"] + first["negative"] == total
    assert as_json(runner, week)["days"] == 30


def test_crowded_out_is_what_omegas_own_query_leaves(runner: CliRunner, week: Path) -> None:
    doc = as_json(runner, week)
    assert [(c["sender_id"], c["project"]) for c in doc["crowded_out"]] == [("alice", "alpha"), ("carol", "beta")]
    omega = ("SELECT domain, rule, project FROM lessons WHERE sender_id = ? AND (project = ? OR project = '') "
             "ORDER BY CASE WHEN project = ? THEN 0 ELSE 1 END, updated_at DESC LIMIT 50")
    for sender, project in (("alice", "alpha"), ("carol", "beta"), ("bob", "alpha")):
        injected = rows(week, omega, sender, project, project)
        flagged = (sender, project) in [(c["sender_id"], c["project"]) for c in doc["crowded_out"]]
        assert flagged == all(p == project for _, _, p in injected), sender
    assert doc["crowded_out"][0]["general_lessons"] == 7 and doc["crowded_out"][1]["general_lessons"] == 0
    assert as_json(runner, week, "--sender", "bob")["crowded_out"] == []
    assert [c["sender_id"] for c in as_json(runner, week, "--project", "beta")["crowded_out"]] == ["carol"]


def test_the_table_shows_counts_a_sparkline_and_the_crowded_sender(runner: CliRunner, week: Path) -> None:
    result = run(runner, week, "--project", "alpha", "--days", "9")
    assert result.exit_code == 0 and result.stderr == ""
    doc = as_json(runner, week, "--project", "alpha", "--days", "9")["projects"][0]
    tables = dict(helpers.read_tables(result.stdout))
    [alpha] = tables["Outcomes per project (trend: each day's net score, oldest first)"]
    assert (alpha["project"], alpha["+"], alpha["~"], alpha["-"]) == (
        "alpha", str(doc["positive"]), str(doc["neutral"]), str(doc["negative"]))
    assert alpha["net"] == f"{doc['positive'] - doc['negative']:+d}"
    line = next(line for line in result.stdout.splitlines() if line.startswith("alpha "))
    spark = sparkline([Mix(d["positive"], d["neutral"], d["negative"]) for d in doc["daily"]])
    assert line.endswith(spark.rstrip()) and len(spark) == 9 and spark[6] == " "  # 2 days ago: none
    domains = tables["alpha: per domain (lessons, and scopes at OMEGA's cap of 10)"]
    assert [(r["domain"], r["lessons"], r["full scopes"]) for r in domains] == [
        (d["domain"], str(d["lessons"]), str(d["full_scopes"])) for d in doc["domains"]]
    top = tables["alpha: the most reinforced lessons"]
    assert [r["id"] for r in top] == [t["id"] for t in doc["top_lessons"]]
    [crowded] = tables["Crowded out: OMEGA's 50-lesson window holds no general lesson for these"]
    assert crowded == {"sender": "alice", "project": "alpha", "project lessons": "60", "general lessons": "7"}


def test_stored_text_is_escaped_in_the_table_and_exact_in_json(runner: CliRunner, week: Path) -> None:
    shown = run(runner, week, "--project", "", "--sender", "alice").stdout
    assert "\x1b" not in shown and "\x07" not in shown and "\r" not in shown
    assert "\\x1b]52;c;eA==\\x07[bold red]pwned[/]\\r" in shown
    doc = as_json(runner, week, "--project", "", "--sender", "alice")
    assert EVIL in [t["rule"] for t in doc["projects"][0]["top_lessons"]]


def test_sparkline() -> None:
    assert sparkline([Mix(), Mix()]) == "  "
    assert sparkline([Mix(1), Mix(), Mix(2)]) == "▁ █"
    assert sparkline([Mix(negative=3), Mix(), Mix(positive=4), Mix(neutral=1)]) == "▁ █▄"
    assert sparkline([Mix(2, 0, 1), Mix(5, 0, 4)]) == "▄▄"  # the same net every day: the middle bar
    assert sparkline([Mix(neutral=2)]) == "▄"  # a day of neutral outcomes is not a day without


def test_before_011_every_row_is_general(runner: CliRunner, seeded_010: Path) -> None:
    result = run(runner, seeded_010, "-f", "json")
    assert result.exit_code == 0
    assert "predates migration 011_project_learning" in result.stderr
    doc = json.loads(result.stdout)
    assert [p["project"] for p in doc["projects"]] == [""] and doc["crowded_out"] == []
    [(lessons,)] = rows(seeded_010, "SELECT count(*) FROM lessons")
    assert sum(d["lessons"] for d in doc["projects"][0]["domains"]) == lessons
    alpha = json.loads(run(runner, seeded_010, "-f", "json", "--project", "alpha").stdout)["projects"]
    assert alpha[0]["domains"] == [] and alpha[0]["top_lessons"] == []
    assert run(runner, seeded_010).exit_code == 0


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_before_010_exits_2_naming_the_migration(runner: CliRunner, db_path: Path, fmt: str) -> None:
    helpers.build(db_path, to="009")
    result = run(runner, db_path, "-f", fmt)
    assert result.exit_code == 2 and result.stdout == ""
    assert "010_outcomes" in one_sentence(result, db_path)


@pytest.mark.parametrize("days", ["0", "-3", "1.5", "x", str(core.MAX_DAYS + 1)])
def test_bad_days_exit_2(runner: CliRunner, week: Path, days: str) -> None:
    result = run(runner, week, "--days", days)
    assert result.exit_code == 2 and result.stdout == ""


def test_the_core_refuses_bad_days(week: Path) -> None:
    with listing.snapshot(week) as conn:
        for days in (0, core.MAX_DAYS + 1):
            with pytest.raises(core.BadArgumentError):
                core.learning(conn, days=days)
        assert len(core.learning(conn, days=core.MAX_DAYS).projects[0].daily) == core.MAX_DAYS


def test_the_commands_defaults_are_the_cores() -> None:
    assert (command.DEFAULT_DAYS, command.MAX_DAYS) == (core.DEFAULT_DAYS, core.MAX_DAYS)


@pytest.mark.parametrize("sender", [None, "alice"])
def test_a_table_scan_counts_what_the_index_does(week: Path, monkeypatch: pytest.MonkeyPatch, sender: str | None) -> None:
    """A window over most outcomes reads the whole table instead of idx_outcomes_time: the same answer."""
    found = []
    for share in (0.0, 2.0):  # always scan; never
        monkeypatch.setattr(core, "SCAN_SHARE", share)
        with listing.snapshot(week) as conn:
            found.append(core.learning(conn, days=8, sender=sender))
    assert found[0] == found[1] and any(p.outcomes for p in found[0].projects)


def test_project_and_sender_complete_from_the_database(week: Path) -> None:
    assert complete(f"omega-db learning {week} --project ")[0] == ["a'b%_", "alpha", "beta"]
    assert complete(f"omega-db learning {week} --sender c")[0] == ["carol"]


def test_damage_is_an_answer(runner: CliRunner, tmp_path: Path) -> None:
    """NULL, a BLOB and bytes that are not UTF-8 where OMEGA writes text: counted, shown, never a crash."""
    path = helpers.build(tmp_path / "memory.db")
    conn = helpers.connect(path)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = replace(replace(sql, 'project TEXT NOT NULL', 'project TEXT'), "
                 "'project     TEXT NOT NULL', 'project TEXT') WHERE name IN ('outcomes', 'lessons')")
    conn.close()
    conn = helpers.connect(path)
    for project, domain in ((None, "coding"), (b"\xffbad", "coding"), ("ok", None), ("ok", b"x\xfe")):
        conn.execute("INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson, project) "
                     "VALUES (?, datetime('now'), 'alice', coalesce(?, 'd'), 1, 'l', ?)",
                     (f"o-{project!r}-{domain!r}", domain, project))
        conn.execute("INSERT INTO lessons (id, sender_id, domain, rule, project) VALUES (?, 'alice', "
                     "coalesce(?, 'd'), CAST(? AS BLOB), ?)", (f"l-{project!r}-{domain!r}", domain, b"r\xff", project))
    conn.close()
    for fmt in ("json", "table"):
        result = run(runner, path, "-f", fmt)
        assert result.exit_code == 0, result.stderr
        assert "not valid UTF-8" in result.stderr and "Traceback" not in result.stderr
    doc = json.loads(run(runner, path, "-f", "json").stdout)
    assert [p["project"] for p in doc["projects"]] == ["", "ok", "\ufffdbad", None]
    assert sum(p["positive"] for p in doc["projects"]) == 4


@pytest.mark.slow
def test_read_only_while_omega_holds_it_open_in_wal(week: Path, tmp_path: Path) -> None:
    """OMEGA in WAL mode with rows committed but not checkpointed, and a write transaction open."""
    path = tmp_path / "wal.db"
    path.write_bytes(week.read_bytes())
    omega = sqlite3.connect(path, isolation_level=None)
    try:
        assert omega.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
        omega.execute("PRAGMA wal_autocheckpoint = 0")
        insert = ("INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson, project) "
                  "VALUES (?, datetime('now'), 'alice', 'wal', ?, 'l', 'walled')")
        omega.execute(insert, ("wal-committed", 1))
        omega.execute("BEGIN IMMEDIATE")
        omega.execute(insert, ("wal-open", -1))
        wal = path.with_name(path.name + "-wal")
        before = helpers.fingerprint(path), helpers.fingerprint(wal)
        for fmt in ("table", "json"):
            done = helpers.run_cli("learning", str(path), "--project", "walled", "-f", fmt)
            assert done.returncode == 0, done.stderr
            assert (helpers.fingerprint(path), helpers.fingerprint(wal)) == before
        [walled] = json.loads(done.stdout)["projects"]
        assert (walled["positive"], walled["negative"]) == (1, 0)  # committed, yes; still open, no
        omega.execute("COMMIT")
    finally:
        omega.close()
