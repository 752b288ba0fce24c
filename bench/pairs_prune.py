"""The prune pairs: a real prune against the shell's one DELETE per table, and the dry run against the
shell's counts (discovered and run by bench.py).

    prune          prune --audit-log 30d --outcomes 30d --tasks 30d --messages 180d --yes --no-backup
                   vs  sqlite3 running one DELETE per table with the same rules, each on a fresh WAL-mode
                   copy of the 013 file (OMEGA keeps its file in WAL mode); both must delete the same
                   rows. Then once each, beside a probe process that does BEGIN IMMEDIATE / ROLLBACK in a
                   loop with a long busy timeout: the probe's longest wait is the longest write lock
                   each held, what OMEGA's own writes would feel (its busy timeout is 5 s).
    prune-dry-run  prune --dry-run (the same rules) -f json  vs  sqlite3 -json counting the same rows
                   and each table's rows.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from measure import Pair, Run, alternate, checked, run

PAIRS = {"prune": 2.0, "prune-dry-run": 1.3}
GOAL_SECONDS = 0.5  # the longest write lock prune may hold, as the probe measures it

AGES = {"audit_log": "-30 days", "outcomes": "-30 days", "scheduled_tasks": "-30 days", "messages": "-180 days"}
ARGS = ["--audit-log", "30d", "--outcomes", "30d", "--tasks", "30d", "--messages", "180d"]
TABLES = tuple(AGES)

# The same rules as omega-db's, written once more for the shell (values inline: the shell binds nothing).
WHERE = {
    "audit_log": f"datetime(timestamp) < datetime('now', '{AGES['audit_log']}')",
    "outcomes": "rowid IN (SELECT rid FROM (SELECT rowid AS rid, timestamp, "
                "RANK() OVER (PARTITION BY sender_id ORDER BY timestamp DESC) AS a, "
                "RANK() OVER (PARTITION BY sender_id, project ORDER BY timestamp DESC) AS b FROM outcomes) "
                f"WHERE a > 20 AND b > 20 AND datetime(timestamp) < datetime('now', '{AGES['outcomes']}') "
                "AND datetime(timestamp) < datetime('now', '-48 hours'))",
    "scheduled_tasks": "status IN ('delivered', 'cancelled', 'failed') "
                       f"AND datetime(due_at) < datetime('now', '{AGES['scheduled_tasks']}')",
    "messages": f"datetime(timestamp) < datetime('now', '{AGES['messages']}') "
                "AND conversation_id IN (SELECT id FROM conversations WHERE status = 'closed') "
                "AND id NOT IN (SELECT source_message_id FROM facts WHERE source_message_id IS NOT NULL)",
}
DELETE_SQL = " ".join(f"DELETE FROM {t} WHERE {WHERE[t]};" for t in TABLES) + " PRAGMA wal_checkpoint(PASSIVE);"
COUNT_SQL = " UNION ALL ".join(f"SELECT '{t}' AS t, (SELECT count(*) FROM {t} WHERE {WHERE[t]}) AS deleted, "
                               f"(SELECT count(*) FROM {t}) AS total" for t in TABLES) + ";"

PROBE = textwrap.dedent("""
    import os, sqlite3, sys, time
    path, stop = sys.argv[1], sys.argv[2]
    conn = sqlite3.connect(path, timeout=120, isolation_level=None)
    longest = tries = 0
    print("ready", flush=True)
    while not os.path.exists(stop):
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        longest = max(longest, time.perf_counter() - started)
        conn.execute("ROLLBACK")
        tries += 1
        time.sleep(0.01)
    print(longest, tries, flush=True)
""")


# Each rule's cutoff, as (table, column, modifier): rows near one are moved an hour older (below).
BOUNDARIES = (("audit_log", "timestamp", AGES["audit_log"]), ("outcomes", "timestamp", AGES["outcomes"]),
              ("outcomes", "timestamp", "-48 hours"), ("scheduled_tasks", "due_at", AGES["scheduled_tasks"]),
              ("messages", "timestamp", AGES["messages"]))
MARGIN = "1 hour"


def base_copy(db013: Path, work: Path) -> Path:
    """The 013 file in WAL mode, as OMEGA keeps it, with no row within an hour of a rule's cutoff.

    Both sides compare with datetime('now'), and they run seconds or minutes apart: a row that
    crosses a cutoff between them would make their counts differ for no fault of either. Moving
    such rows an hour older makes both sides pick the same rows for the next hour. Made once per
    run, not timed.
    """
    base = work / "prune-base.db"
    shutil.copyfile(db013, base)
    conn = sqlite3.connect(base, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = wal")
        moved = 0
        for table, column, modifier in BOUNDARIES:
            moved += conn.execute(
                f"UPDATE {table} SET {column} = datetime('now', ?, '-{MARGIN}') WHERE datetime({column}) "
                f"BETWEEN datetime('now', ?, '-{MARGIN}') AND datetime('now', ?, '+{MARGIN}')",
                (modifier, modifier, modifier)).rowcount
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    print(f"prune: {moved} rows within {MARGIN} of a cutoff moved {MARGIN} older in the bench copy", flush=True)
    return base


def fresh(base: Path, path: Path) -> None:
    """A copy of base at path, no -wal or -shm left from an earlier round."""
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(base, path)


def rows(path: Path) -> dict[str, int]:
    """Each table's rows."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def with_probe(cmd: list[str], path: Path, work: Path) -> tuple[Run, float, int]:
    """Run cmd beside the probe; (the run, the probe's longest wait for the write lock, its tries)."""
    stop = work / "probe-stop"
    stop.unlink(missing_ok=True)
    probe = subprocess.Popen([sys.executable, "-c", PROBE, str(path), str(stop)], stdout=subprocess.PIPE, text=True)
    try:
        assert probe.stdout is not None and probe.stdout.readline().strip() == "ready"
        result = run(cmd)
        time.sleep(0.05)
    finally:
        stop.touch()
        out, _ = probe.communicate(timeout=300)
    longest, tries = out.split()
    return result, float(longest), int(tries)


def bench_prune(rounds: int, base: Path, work: Path, omega: list[str], shell: str) -> Pair:
    """prune --yes --no-backup against one DELETE per table in the shell, on fresh WAL copies of base."""
    pair = Pair("prune", "prune (4 rules) --yes --no-backup  vs  sqlite3 DELETEs")
    before = rows(base)
    mine, theirs = work / "prune-omega.db", work / "prune-shell.db"
    print(f"prune: the shell runs {DELETE_SQL}", flush=True)

    def copies() -> None:
        fresh(base, mine)
        fresh(base, theirs)
        os.sync()

    def synced(cmd: list[str]) -> Run:
        os.sync()
        return run(cmd)

    omega_cmd = [*omega, "prune", str(mine), *ARGS, "--yes", "--no-backup"]
    alternate(pair, rounds, lambda: checked(synced(omega_cmd), "omega-db prune"),
              lambda: checked(synced([shell, str(theirs), DELETE_SQL]), "sqlite3 DELETEs"), copies)
    after_mine, after_theirs = rows(mine), rows(theirs)
    if after_mine != after_theirs or after_mine == before:
        sys.exit(f"bench: omega-db prune and the shell's DELETEs did not delete alike: {after_mine} vs {after_theirs}")
    deleted = {t: before[t] - after_mine[t] for t in TABLES}
    print(f"prune: both deleted {deleted}", flush=True)
    copies()
    _, mine_wait, mine_tries = with_probe(omega_cmd, mine, work)
    _, shell_wait, shell_tries = with_probe([shell, str(theirs), DELETE_SQL], theirs, work)
    verdict = "ok" if mine_wait <= GOAL_SECONDS else "OVER"
    print(f"prune: longest wait of a writer beside it: omega-db {mine_wait:.3f} s ({mine_tries} tries; goal "
          f"<= {GOAL_SECONDS} s {verdict}), the shell's DELETEs {shell_wait:.3f} s ({shell_tries} tries)", flush=True)
    pair.label = f"prune --yes --no-backup vs sqlite3 DELETEs; longest lock {mine_wait:.2f}s {verdict}"
    for leftover in (mine, theirs):
        for path in (leftover, Path(f"{leftover}-wal"), Path(f"{leftover}-shm")):
            path.unlink(missing_ok=True)
    return pair


def bench_dry_run(rounds: int, base: Path, work: Path, omega: list[str], shell: str) -> Pair:
    """prune --dry-run -f json against the shell's counts of the same rules, on base as it is."""
    pair = Pair("prune-dry-run", "prune --dry-run (4 rules) -f json  vs  sqlite3 -json counts")
    print(f"prune-dry-run: the shell runs {COUNT_SQL}", flush=True)
    out_mine, out_theirs = work / "dry-omega.json", work / "dry-shell.json"
    alternate(pair, rounds,
              lambda: checked(run([*omega, "prune", str(base), *ARGS, "--dry-run", "-f", "json"], stdout=out_mine),
                              "omega-db prune --dry-run"),
              lambda: checked(run([shell, "-json", str(base), COUNT_SQL], stdout=out_theirs), "sqlite3 counts"))
    mine = {t["table"]: (t["deleted"], t["deleted"] + t["kept"]) for t in json.loads(out_mine.read_text())["tables"]}
    theirs = {row["t"]: (row["deleted"], row["total"]) for row in json.loads(out_theirs.read_text())}
    if mine != theirs:
        sys.exit(f"bench: omega-db prune --dry-run and the shell counted differently: {mine} vs {theirs}")
    return pair


def pairs(rounds: int, db013: Path, work: Path, omega: list[str], shell: str) -> list[Pair]:
    """Both pairs of the prune command, on one copy of the 013 file made for them."""
    base = base_copy(db013, work)
    try:
        return [bench_dry_run(rounds, base, work, omega, shell), bench_prune(rounds, base, work, omega, shell)]
    finally:
        for path in (base, Path(f"{base}-wal"), Path(f"{base}-shm")):
            path.unlink(missing_ok=True)
