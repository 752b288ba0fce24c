"""The projects pairs: the listing against the shell counting the same, and a big rename against the
shell's UPDATEs (discovered and run by bench.py).

    projects          projects -f json  vs  sqlite3 -json counting each project's rows and newest time
    projects-rename   projects rename --no-backup (100,000 lessons, 500,000 outcomes) vs  sqlite3 with
                      one transaction of the same UPDATEs, on fresh copies of the whole 013 file (its
                      largest table, messages, included). The backup is the one every writing command
                      takes (online_copy), measured against `.backup` by the migrate-backup pair.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
from pathlib import Path

from measure import Pair, Run, alternate, checked, run

PAIRS = {"projects": 1.3, "projects-rename": 1.3}

OLD, NEW = "bench-old", "bench-new"
LESSONS, OUTCOMES = 100_000, 500_000

# What `projects` answers, as the shell would ask it: one GROUP BY per table.
PROJECTS_SQL = (
    "SELECT project, count(*), max(timestamp) FROM outcomes GROUP BY 1; "
    "SELECT project, count(*), max(updated_at) FROM lessons GROUP BY 1; "
    "SELECT project, sum(status = 'pending') FROM scheduled_tasks GROUP BY 1; "
    "SELECT project, count(*), max(last_activity) FROM conversations GROUP BY 1; "
    "SELECT project, count(*) FROM project_sessions GROUP BY 1; "
    "SELECT parent_project FROM project_sessions WHERE parent_project IS NOT NULL GROUP BY 1; "
    "SELECT value, count(*) FROM facts WHERE key = 'active_project' GROUP BY 1;"
)

RENAME_SQL = "BEGIN IMMEDIATE; " + " ".join(
    f"UPDATE {table} SET {column} = '{NEW}' WHERE {column} = '{OLD}';"
    for table, column in (("outcomes", "project"), ("lessons", "project"), ("scheduled_tasks", "project"),
                          ("conversations", "project"), ("project_sessions", "project"),
                          ("project_sessions", "parent_project"))
) + f" UPDATE facts SET value = '{NEW}' WHERE key = 'active_project' AND value = '{OLD}'; COMMIT;"


def bench_projects(rounds: int, db013: Path, work: Path, omega: list[str], shell: str) -> Pair:
    """projects -f json against the shell's counts, on the 013 file as it is."""
    pair = Pair("projects", "projects -f json  vs  sqlite3 -json counts per project")
    folders = work / "projects"
    folders.mkdir(exist_ok=True)
    print(f"projects: the shell runs {PROJECTS_SQL}", flush=True)
    alternate(pair, rounds,
              lambda: checked(run([*omega, "projects", str(db013), "--projects-dir", str(folders), "-f", "json"]),
                              "omega-db projects"),
              lambda: checked(run([shell, "-json", str(db013), PROJECTS_SQL]), "sqlite3 projects"))
    return pair


def rename_base(db013: Path, work: Path) -> Path:
    """The 013 file with a project of LESSONS lessons and OUTCOMES outcomes (made once per run, not timed)."""
    base = work / "rename-base.db"
    shutil.copyfile(db013, base)
    conn = sqlite3.connect(base, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.execute("UPDATE lessons SET project = ? WHERE rowid IN (SELECT rowid FROM lessons LIMIT ?)",
                     (OLD, LESSONS))
        conn.execute("UPDATE outcomes SET project = ? WHERE rowid IN (SELECT rowid FROM outcomes LIMIT ?)",
                     (OLD, OUTCOMES))
        conn.execute("COMMIT")
    finally:
        conn.close()
    return base


def bench_rename(rounds: int, db013: Path, work: Path, omega: list[str], shell: str) -> Pair:
    """projects rename --no-backup against the shell's UPDATEs in one transaction, on fresh copies."""
    pair = Pair("projects-rename", f"projects rename --no-backup ({LESSONS:,} lessons, {OUTCOMES:,} outcomes)  "
                "vs  sqlite3 UPDATEs")
    base = rename_base(db013, work)
    mine, theirs = work / "rename-omega.db", work / "rename-shell.db"

    def copies() -> None:
        for path in (mine, theirs):
            shutil.copyfile(base, path)
        os.sync()

    def synced(cmd: list[str]) -> Run:
        os.sync()
        return run(cmd)

    alternate(
        pair, rounds,
        lambda: checked(synced([*omega, "projects", "rename", OLD, NEW, str(mine), "--yes", "--no-backup"]),
                        "omega-db projects rename"),
        lambda: checked(synced([shell, str(theirs), RENAME_SQL]), "sqlite3 UPDATEs"),
        copies,
    )
    if counts(mine) != counts(theirs) or counts(mine)[0] != 0:
        sys.exit("bench: omega-db projects rename and the shell's UPDATEs did not end alike")
    for leftover in (base, mine, theirs):
        leftover.unlink()
    return pair


def counts(path: Path) -> tuple[int, int]:
    """Rows named OLD, rows named NEW, in lessons and outcomes together."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(
            "SELECT sum(project = ?), sum(project = ?) FROM (SELECT project FROM lessons UNION ALL "
            "SELECT project FROM outcomes)", (OLD, NEW),
        ).fetchone()
    finally:
        conn.close()


def pairs(rounds: int, db013: Path, work: Path, omega: list[str], shell: str) -> list[Pair]:
    """Both pairs of the projects command."""
    return [bench_projects(rounds, db013, work, omega, shell), bench_rename(rounds, db013, work, omega, shell)]
