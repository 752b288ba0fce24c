"""The issue's "It must show": a project folder renamed by hand, its rows found as an orphan and moved after it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from tests import helpers
from tests.inputkit import invoke

# OMEGA v1.3.0's lesson injection for one sender with project P active (omega-schema.md).
INJECTED = (
    "SELECT domain, rule, project FROM lessons WHERE sender_id = ? AND (project = ? OR project = '') "
    "ORDER BY CASE WHEN project = ? THEN 0 ELSE 1 END, updated_at DESC LIMIT 50"
)


def omega_home(tmp_path: Path) -> tuple[Path, Path]:
    """~/.omega with a database at 013 whose project alpha has rows, and its folder renamed to alpha2."""
    root = tmp_path / ".omega"
    path = helpers.build(root / "data" / "memory.db")
    conn = helpers.connect(path)
    for i in range(60):
        project = "alpha" if i % 3 else ""
        conn.execute(
            "INSERT INTO lessons (id, sender_id, domain, rule, project, updated_at) VALUES (?, 'S', ?, ?, ?, ?)",
            (f"l{i}", f"d{i % 6}", f"rule {i}", project, f"2026-02-{i % 28 + 1:02d} {i % 24:02d}:00:00"),
        )
        conn.execute(
            "INSERT INTO outcomes (id, sender_id, domain, score, lesson, project) VALUES (?, 'S', 'd', 1, 'x', ?)",
            (f"o{i}", project),
        )
    conn.execute("INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at, project) "
                 "VALUES ('t1', 'tg', 'S', 'r', 'ship it', '2026-05-01 09:00:00', 'alpha')")
    conn.execute("INSERT INTO facts (id, sender_id, key, value) VALUES ('f1', 'S', 'active_project', 'alpha')")
    conn.close()
    (root / "projects" / "alpha2").mkdir(parents=True)  # was projects/alpha, renamed by the user
    (root / "projects" / "alpha2" / "ROLE.md").write_text("role\n")
    return path, root / "projects"


def test_a_renamed_folder_shows_as_an_orphan_and_rename_brings_its_rows_back(runner: CliRunner,
                                                                             tmp_path: Path) -> None:
    path, projects = omega_home(tmp_path)
    ran = invoke(runner, "projects", str(path), "--projects-dir", str(projects), "-f", "json")
    assert ran.code == 0, ran.stderr
    rows = {row["project"]: row for row in json.loads(ran.stdout)}
    conn = sqlite3.connect(path)
    alpha_lessons = conn.execute("SELECT count(*) FROM lessons WHERE project = 'alpha'").fetchone()[0]
    conn.close()
    assert rows["alpha"]["folder"] is False and rows["alpha"]["lessons"] == alpha_lessons == 40
    assert rows["alpha"]["outcomes"] == 40 and rows["alpha"]["pending_tasks"] == 1 and rows["alpha"]["active_for"] == 1
    assert rows["alpha2"] == {"project": "alpha2", "outcomes": 0, "lessons": 0, "pending_tasks": 0,
                              "conversations": 0, "sessions": 0, "active_for": 0, "last_activity": None,
                              "folder": True}
    assert "1 orphan project(s)" in ran.stderr

    ran = invoke(runner, "projects", "rename", "alpha", "alpha2", str(path), "--yes", "--projects-dir", str(projects))
    assert ran.code == 0, ran.stderr
    assert "mv " not in ran.stderr  # alpha2's folder is there already
    assert sorted(p.name for p in projects.iterdir()) == ["alpha2"]

    ran = invoke(runner, "lessons", str(path), "--project", "alpha2", "--injected", "--sender", "S", "-f", "json")
    assert ran.code == 0, ran.stderr
    conn = sqlite3.connect(path)
    omega_sees = conn.execute(INJECTED, ("S", "alpha2", "alpha2")).fetchall()
    conn.close()
    assert [(r["domain"], r["rule"], r["project"]) for r in json.loads(ran.stdout)] == omega_sees
    assert len(omega_sees) == 50 and {p for _, _, p in omega_sees} == {"alpha2", ""}

    ran = invoke(runner, "verify", str(path), "--strict")
    assert ran.code == 0, ran.stdout + ran.stderr
    ran = invoke(runner, "projects", str(path), "--projects-dir", str(projects), "-f", "json")
    after = {row["project"]: row for row in json.loads(ran.stdout)}
    assert "alpha" not in after and after["alpha2"]["lessons"] == 40 and after["alpha2"]["folder"] is True
    assert "orphan" not in ran.stderr
