"""prune's refusals and old files, each by doing the thing: a real process holding the file or its lock,
a half-applied migration, a file from before a table existed, a read-only file, a terminal answering."""

from __future__ import annotations

import json
import os
import pty
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import helpers, pruneseed
from tests.backupkit import hold_open, let_go
from tests.faultkit import hold_lock, release
from tests.inputkit import invoke, one_sentence
from tests.nobody import NOBODY, as_nobody

EVERY = ["--audit-log", "30d", "--outcomes", "30d", "--tasks", "30d", "--messages", "30d"]


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    return pruneseed.seed(tmp_path / "memory.db")


def state(path: Path) -> tuple[object, ...]:
    """Every byte of the file and every name beside it."""
    return helpers.fingerprint(path), helpers.listing(path.parent)


def test_vacuum_is_refused_beside_a_process_holding_the_file_open(seeded: Path) -> None:
    before = state(seeded)
    holder = hold_open(seeded)
    try:
        proc = helpers.run_cli("prune", str(seeded), *EVERY, "--vacuum", "--yes", stdin=subprocess.DEVNULL)
    finally:
        let_go(holder)
    assert proc.returncode == 1, proc.stderr
    line = one_sentence(proc, seeded)
    assert f"process {holder.pid}" in line and "prune --vacuum" in line
    assert state(seeded) == before  # nothing deleted, no backup


def test_without_vacuum_it_runs_beside_a_process_holding_the_file_open(seeded: Path) -> None:
    expected = pruneseed.ids(seeded, "audit_log") - pruneseed.expected(seeded, "audit_log", "-30 days")
    holder = hold_open(seeded)
    try:
        proc = helpers.run_cli("prune", str(seeded), "--audit-log", "30d", "--yes", "--no-backup",
                               stdin=subprocess.DEVNULL)
    finally:
        let_go(holder)
    assert proc.returncode == 0, proc.stderr
    assert pruneseed.ids(seeded, "audit_log") == expected


def test_vacuum_gives_the_space_back(runner: CliRunner, seeded: Path) -> None:
    conn = sqlite3.connect(seeded, isolation_level=None)
    conn.execute("INSERT INTO audit_log (id, timestamp, channel, sender_id, input_text) "
                 "SELECT 'big-' || value, datetime('now', '-400 days'), 't', 's', hex(randomblob(2000)) "
                 "FROM json_each(?)", (json.dumps(list(range(600))),))
    conn.close()
    ran = invoke(runner, "prune", str(seeded), "--audit-log", "30d", "--vacuum", "--yes", "--no-backup", "-f", "json")
    assert ran.code == 0, ran.stderr
    doc = json.loads(ran.stdout)
    assert doc["bytes_after"] == seeded.stat().st_size < doc["bytes_before"] - 2_000_000
    conn = sqlite3.connect(seeded)
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    conn.close()


@pytest.mark.slow
def test_a_lock_held_past_the_timeout_is_exit_1_and_changes_nothing(seeded: Path) -> None:
    before = state(seeded)
    holder = hold_lock(seeded)
    try:
        started = time.monotonic()
        proc = helpers.run_cli("prune", str(seeded), *EVERY, "--yes", "--timeout", "1", stdin=subprocess.DEVNULL)
        elapsed = time.monotonic() - started
    finally:
        release(holder)
    assert proc.returncode == 1, proc.stderr
    assert "locked" in one_sentence(proc, seeded) and "--timeout" in proc.stderr
    assert 1.0 <= elapsed < 30
    assert state(seeded) == before  # no backup left behind either


def test_a_half_applied_database_points_to_repair_and_deletes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    path = helpers.seeded(tmp_path / "memory.db", to="011_project_learning")
    conn = helpers.connect(path)
    conn.execute("UPDATE audit_log SET timestamp = '2000-01-01 00:00:00'")
    conn.execute("ALTER TABLE conversations ADD COLUMN project TEXT NOT NULL DEFAULT ''")  # 012 begun, not recorded
    conn.close()
    before = state(path)
    for extra in (["--yes"], ["--dry-run"]):
        ran = invoke(runner, "prune", str(path), "--audit-log", "30d", *extra)
        assert ran.code == 1, ran.stderr
        assert "migrate --repair" in one_sentence(ran, path)
        assert state(path) == before


@pytest.mark.parametrize(("to", "missing"), [("007_task_type", "010_outcomes"), ("001_init", "002_audit_log")])
def test_before_a_table_exists_that_rule_deletes_0_with_a_note(
    runner: CliRunner, tmp_path: Path, to: str, missing: str
) -> None:
    path = helpers.build(tmp_path / "memory.db", to=to)
    conn = helpers.connect(path)
    if to == "007_task_type":
        conn.execute("INSERT INTO audit_log (id, timestamp, channel, sender_id, input_text) "
                     "VALUES ('old', '2000-01-01 00:00:00', 't', 's', 'x'), ('new', datetime('now'), 't', 's', 'y')")
    conn.close()
    ran = invoke(runner, "prune", str(path), "--outcomes", "30d", "--audit-log", "30d", "--yes", "--no-backup",
                 "-f", "json")
    assert ran.code == 0, ran.stderr
    notes = [line for line in ran.stderr.splitlines() if "note:" in line]
    assert any(missing in line for line in notes), ran.stderr
    tables = {t["table"]: (t["deleted"], t["kept"]) for t in json.loads(ran.stdout)["tables"]}
    assert tables["outcomes"] == (0, 0)
    if to == "007_task_type":
        assert tables["audit_log"] == (1, 1)
        conn = helpers.connect(path)
        assert [r[0] for r in conn.execute("SELECT id FROM audit_log")] == ["new"]
        conn.close()


def test_a_pre_011_file_keeps_each_senders_20_newest(runner: CliRunner, tmp_path: Path) -> None:
    """Before 011 there is no project column: every outcome is general, the sender's 20 newest are kept."""
    path = helpers.build(tmp_path / "memory.db", to="010_outcomes")
    conn = helpers.connect(path)
    for i in range(25):
        conn.execute("INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson) "
                     "VALUES (?, datetime('now', ?), 'alice', 'coding', 1, 'x')", (f"o{i:02d}", f"-{40 + i} days"))
    conn.close()
    ran = invoke(runner, "prune", str(path), "--outcomes", "30d", "--yes", "--no-backup")
    assert ran.code == 0, ran.stderr
    assert pruneseed.ids(path, "outcomes") == {f"o{i:02d}" for i in range(20)}


@pytest.fixture
def reachable() -> Iterator[Path]:
    """A folder 'nobody' can reach (pytest's tmp_path is root's, 0700), owned by it."""
    folder = Path(tempfile.mkdtemp(prefix="omega-db-prune-"))
    os.chmod(folder, 0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand the file to 'nobody'")
def test_a_read_only_file_is_exit_2_and_unchanged(reachable: Path) -> None:
    seeded = pruneseed.seed(reachable / "memory.db")
    os.chown(reachable, NOBODY, NOBODY)
    os.chown(seeded, NOBODY, NOBODY)
    seeded.chmod(0o444)
    before = state(seeded)
    ran = as_nobody("prune", str(seeded), *EVERY, "--yes")
    assert ran.code == 2, ran.stderr
    assert "read-only" in one_sentence(ran, seeded)
    assert state(seeded) == before
    dry = as_nobody("prune", str(seeded), *EVERY, "--dry-run", "-f", "json")  # a dry run only reads
    assert dry.code == 0, dry.stderr
    assert [t["deleted"] for t in json.loads(dry.stdout)["tables"]] == [3, 20, 7, 3]
    assert state(seeded) == before


def on_a_terminal(answer: bytes, *args: str) -> tuple[int, str]:
    """omega-db with stdin and stderr on a pseudo-terminal, typing answer; (exit code, what the terminal showed)."""
    code, shown, _ = on_a_terminal_with_stdout(answer, *args)
    return code, shown


def on_a_terminal_with_stdout(answer: bytes, *args: str) -> tuple[int, str, bytes]:
    """As on_a_terminal, stdout to a pipe: (exit code, what the terminal showed, the bytes stdout got)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "omega_db", *args], stdin=slave, stderr=slave,
                            stdout=subprocess.PIPE)
    os.close(slave)
    os.write(master, answer)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # the process closed its side
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert proc.stdout is not None
    out = proc.stdout.read()  # the reports here are small: the pipe never filled while the terminal was read
    return proc.wait(timeout=60), shown.decode(errors="replace"), out


@pytest.mark.slow
def test_on_a_terminal_it_asks_with_the_counts(seeded: Path) -> None:
    before = state(seeded)
    code, shown = on_a_terminal(b"n\n", "prune", str(seeded), *EVERY)
    assert code == 1 and "not confirmed" in shown, shown
    flat = " ".join(shown.split())
    assert "3 rows of audit_log" in flat and "20 rows of outcomes" in flat and "A backup is taken first" in flat
    assert state(seeded) == before
    code, shown = on_a_terminal(b"y\n", "prune", str(seeded), *EVERY)
    assert code == 0, shown
    assert len(helpers.backups(seeded)) == 1
    assert pruneseed.expected(seeded, "outcomes", "-30 days") == set()


@pytest.mark.slow
def test_on_a_terminal_without_a_backup_it_says_so_and_the_json_report_is_exact(seeded: Path) -> None:
    # stdin and stderr on a terminal, stdout to a file: the answer's question must leave stdout alone.
    code, shown, out = on_a_terminal_with_stdout(b"y\n", "prune", str(seeded), *EVERY, "--no-backup", "-f", "json")
    assert code == 0, shown
    flat = " ".join(shown.split())
    assert "No backup is taken (--no-backup): the deleted rows cannot be recovered. Go on? [y/N]" in flat, flat
    assert "backup is taken first" not in flat
    assert out.startswith(b"{") and json.loads(out)["backup"] is None  # not " {": the prompt wrote nothing here
    assert helpers.backups(seeded) == []


@pytest.mark.slow
def test_yes_on_a_terminal_asks_nothing(seeded: Path) -> None:
    code, shown = on_a_terminal(b"", "prune", str(seeded), "--audit-log", "30d", "--yes", "--no-backup")
    assert code == 0, shown
    assert "Delete" not in shown and pruneseed.expected(seeded, "audit_log", "-30 days") == set()
    assert "audit_log: deleting" in shown  # the progress, on the terminal's stderr


def test_no_progress_without_a_terminal(runner: CliRunner, seeded: Path) -> None:
    ran = invoke(runner, "prune", str(seeded), "--audit-log", "30d", "--yes", "--no-backup")
    assert ran.code == 0 and "deleting" not in ran.stderr and "\x1b" not in ran.stderr


@pytest.mark.slow
def test_ctrl_c_at_the_question_says_nothing_was_changed(seeded: Path, sigint_delivered: None) -> None:
    # It used to say "any migration in progress was rolled back": no migration, and nothing had begun.
    before = state(seeded)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "omega_db", "prune", str(seeded), *EVERY], stdin=slave,
                            stderr=slave, stdout=subprocess.PIPE)
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + 60
    while b"[y/N]" not in shown and time.monotonic() < deadline:
        shown += os.read(master, 1 << 16)
    proc.send_signal(signal.SIGINT)
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 130
    said = " ".join(shown.decode(errors="replace").split())
    assert "interrupted; prune was not confirmed, nothing was changed." in said, said
    assert "migration" not in said and "Traceback" not in said
    assert state(seeded) == before and helpers.backups(seeded) == []
