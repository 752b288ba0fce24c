"""status counts each project's rows in the order of the (sender_id, project) index; the answer
must equal a plain GROUP BY project, whatever the senders, projects and order of the rows."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from omega_db.cli import app
from tests import helpers


def test_project_counts_equal_a_plain_group_by(tmp_path: Path, runner: CliRunner) -> None:
    path = helpers.build(tmp_path / "memory.db")
    rng = random.Random(11)
    senders = [f"s{i}" for i in range(7)]
    projects = ["", "alpha", "beta", "a'b%_", "ünï"]
    conn = helpers.connect(path)
    conn.execute("BEGIN")
    for i in range(600):
        sender, project = rng.choice(senders), rng.choice(projects)
        conn.execute("INSERT INTO outcomes (id, sender_id, domain, score, lesson, project) VALUES (?, ?, 'd', 0, 'l', ?)",
                     (f"o{i}", sender, project))
        conn.execute("INSERT OR IGNORE INTO lessons (id, sender_id, domain, rule, project) VALUES (?, ?, ?, 'r', ?)",
                     (f"l{i}", sender, f"d{i % 13}", project))
        conn.execute(
            "INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at, status, project) "
            "VALUES (?, 'c', ?, 'r', 'd', '2030-01-01 00:00:00', ?, ?)",
            (f"t{i}", sender, rng.choice(["pending", "delivered"]), project))
    conn.execute("COMMIT")
    conn.close()

    result = runner.invoke(app, ["status", str(path), "-f", "json"])
    assert result.exit_code == 0, result.stderr
    ro = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    expected: dict[str, dict[str, object]] = {}
    for table, key, where in (("outcomes", "outcomes", ""), ("lessons", "lessons", ""),
                              ("scheduled_tasks", "pending_tasks", " WHERE status = 'pending'")):
        for project, count in ro.execute(f"SELECT project, count(*) FROM {table}{where} GROUP BY project"):
            expected.setdefault(project, {"project": project, "outcomes": 0, "lessons": 0, "pending_tasks": 0})
            expected[project][key] = count
    ro.close()
    assert json.loads(result.stdout)["projects"] == [expected[p] for p in sorted(expected)]
