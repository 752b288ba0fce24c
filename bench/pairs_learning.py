"""learning -f json over every outcome of the bench database against the sqlite3 shell running the
same grouped queries; and omega-db's peak memory, which must stay flat (the counts are SQLite's).

The shell's statements are the ones omega-db's core executes, as SQLite expanded them (the trace
callback: parameters written in), so both sides answer exactly the same questions.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
from pathlib import Path

from measure import Pair, alternate, checked, peak, run

PAIRS = {"learning": 1.3}
PEAK_MIB = 60.0  # the bar on omega-db's own peak memory


def days_back(db013: Path) -> int:
    """The window that holds every outcome: from the oldest one's UTC day to today."""
    conn = sqlite3.connect(f"file:{db013}?mode=ro", uri=True)
    try:
        (days,) = conn.execute(
            "SELECT CAST(julianday(date('now')) - julianday(date(min(timestamp))) AS INTEGER) + 1 FROM outcomes"
        ).fetchone()
    finally:
        conn.close()
    return max(1, int(days or 1))


def core_statements(db013: Path, days: int) -> tuple[list[str], int]:
    """Every statement omega-db's core runs for `learning --days days`, parameters written in; and
    how many outcomes the file holds."""
    from omega_db.data import learning

    conn = sqlite3.connect(f"file:{db013}?mode=ro", uri=True)
    statements: list[str] = []
    try:
        conn.set_trace_callback(statements.append)
        learning.learning(conn, days=days)
        conn.set_trace_callback(None)
        (total,) = conn.execute("SELECT count(*) FROM outcomes").fetchone()
    finally:
        conn.close()
    return statements, int(total)


def counted(answer: Path) -> int:
    """How many outcomes omega-db's JSON answer counts over all projects."""
    doc = json.loads(answer.read_text(encoding="utf-8"))
    return sum(p["positive"] + p["neutral"] + p["negative"] for p in doc["projects"])


def pairs(rounds: int, db013: Path, work: Path, omega: list[str], shell: str) -> list[Pair]:
    """The learning pair, with both sides' peak memory."""
    days = days_back(db013)
    statements, total = core_statements(db013, days)
    script = work / "learning.sql"
    script.write_text("".join(f"{s.rstrip(';')};\n" for s in statements), encoding="utf-8")
    pair = Pair("learning", f"learning --days {days} -f json  vs  sqlite3, same queries")
    print(f"learning: the shell runs omega-db's own statements from {script}", flush=True)
    mine_cmd = [*omega, "learning", str(db013), "--days", str(days), "-f", "json"]
    theirs_cmd = [shell, "-json", str(db013), f".read {script}"]
    answer = work / "learning-omega.json"
    checked(run(mine_cmd, stdout=answer), "omega-db learning")
    if counted(answer) != total:
        sys.exit(f"bench: omega-db learning counted {counted(answer):,} outcomes of the file's {total:,}")
    checked(run(theirs_cmd), "sqlite3 learning")
    alternate(pair, rounds, lambda: checked(run(mine_cmd), "omega-db learning"),
              lambda: checked(run(theirs_cmd), "sqlite3 learning"))
    for side, cmd in (("omega", mine_cmd), ("reference", theirs_cmd)):
        kib = [checked(peak(cmd, work), f"{side} learning").maxrss_kib for _ in range(3)]
        pair.peak_mib[side] = statistics.median(kib) / 1024
    mine = pair.peak_mib["omega"]
    verdict = "ok" if mine <= PEAK_MIB else "OVER"
    print(f"learning: omega-db's peak memory {mine:.1f} MiB <= {PEAK_MIB:.0f} MiB {verdict}", flush=True)
    return [pair]
