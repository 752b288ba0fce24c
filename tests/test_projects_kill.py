"""SIGKILL a real `projects rename` on a big file at points across it: old names or new ones everywhere, every row."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests import helpers

NAMED = ("outcomes", "lessons", "scheduled_tasks", "conversations", "project_sessions")
FILL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows)
INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson, project)
  SELECT 'o' || i, '2026-03-01 00:00:00', 's' || (i % 50), 'd' || (i % 7), i % 3 - 1, 'lesson ' || i,
         CASE WHEN i % 3 THEN 'A' ELSE 'other' END FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows / 5)
INSERT INTO lessons (id, sender_id, domain, rule, project)
  SELECT 'l' || i, 's' || i, 'd', 'rule ' || i, CASE WHEN i % 2 THEN 'A' ELSE 'other' END FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows / 5)
INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at, project)
  SELECT 't' || i, 'tg', 's' || i, 'r', 'task ' || i, '2026-04-01 00:00:00', 'A' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows / 10)
INSERT INTO conversations (id, channel, sender_id, project, status)
  SELECT 'c' || i, 'tg', 's' || i, 'A', 'closed' FROM n;
INSERT INTO project_sessions (id, channel, sender_id, project, session_id) VALUES ('p1', 'tg', 's1', 'A', 'x');
"""


def big(path: Path, rows: int) -> Path:
    helpers.build(path)
    conn = helpers.connect(path)
    for statement in FILL.replace(":rows", str(rows)).split(";\n"):
        if statement.strip():
            conn.execute(statement)
    conn.close()
    return path


def names(path: Path) -> dict[str, tuple[int, int, int]]:
    """Per table: rows named A, rows named B, all rows (opening read-write rolls back a hot journal)."""
    conn = sqlite3.connect(path)
    try:
        return {
            t: conn.execute(f"SELECT sum(project = 'A'), sum(project = 'B'), count(*) FROM {t}").fetchone()
            for t in NAMED
        }
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_sigkill_during_rename_leaves_old_or_new_names_everywhere(tmp_path: Path, journal_mode: str) -> None:
    template = big(tmp_path / "template.db", 300_000)
    if journal_mode == "wal":
        helpers.connect(template).execute("PRAGMA journal_mode = WAL").fetchone()
    before = names(template)
    total = {t: v[2] for t, v in before.items()}

    def start(i: int) -> tuple[Path, object]:
        path = tmp_path / f"kill-{i}.db"
        shutil.copyfile(template, path)
        return path, helpers.start_cli("projects", "rename", "A", "B", str(path), "--yes")

    path, proc = start(0)
    started = time.monotonic()
    _, err = proc.communicate(timeout=120)  # type: ignore[attr-defined]
    window = time.monotonic() - started
    assert proc.returncode == 0, err  # type: ignore[attr-defined]
    assert names(path) == {t: (0, a, n) for t, (a, _, n) in before.items()}

    seen = []
    for i, fraction in enumerate((0.3, 0.5, 0.65, 0.8, 0.9, 0.97), start=1):
        path, proc = start(i)
        time.sleep(fraction * window)
        alive = proc.poll() is None  # type: ignore[attr-defined]
        proc.send_signal(signal.SIGKILL)  # type: ignore[attr-defined]
        proc.communicate(timeout=30)  # type: ignore[attr-defined]
        journal, wal = Path(f"{path}-journal"), Path(f"{path}-wal")
        mid = (journal.exists() and journal.stat().st_size > 0) or (wal.exists() and wal.stat().st_size > 0)
        after = names(path)
        assert {t: v[2] for t, v in after.items()} == total  # every row
        old = after == before
        new = after == {t: (0, a, n) for t, (a, _, n) in before.items()}
        assert old or new, (fraction, after)  # never a mix
        seen.append((alive and mid, old))
    assert any(mid and old for mid, old in seen), seen  # a kill did hit the rename's transaction before its commit
