"""`omega-db restore BACKUP [DB] [--yes]`.

SPEC.md: checks the backup first; refuses (exit 1, naming the process) while
another process has the database open; asks on a terminal, refuses without one
unless --yes (exit 2); the replaced database, its -wal checkpointed into it,
becomes a backup itself; the restored copy is renamed into place atomically
with the old file's owner and mode; a crash at any moment leaves the old or the
restored database at DB, never neither; row counts per table before and after.
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omega_db.backups import catalogue
from omega_db.chain import migrate
from tests import helpers
from tests.backupkit import (  # noqa: F401 (nobody_dir is a fixture)
    HEADER_WAL,
    KILL_AT,
    backup_of,
    file_size_limit,
    grow,
    header_mode,
    hold_open,
    let_go,
    names,
    snapshot,
    wal_database,
    wal_ids,
)
from tests.inputkit import invoke, one_sentence, seeded
from tests.nobody import NOBODY, as_nobody
from tests.omega_runner import half_011


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def scene(folder: Path) -> tuple[Path, Path]:
    """A database and a backup of it taken earlier: since then rows were deleted, and OMEGA
    was killed after committing rows that live only in the -wal. (database, backup)."""
    path = seeded(folder / "memory.db")
    made = backup_of(path)
    conn = helpers.connect(path)
    conn.execute("DELETE FROM lessons WHERE rowid % 2 = 0")
    conn.close()
    wal_database_from(path)
    return path, made


def wal_database_from(path: Path) -> None:
    """Put path in WAL mode with five outcomes only in its -wal (a killed OMEGA)."""
    from tests.backupkit import KILLED_WRITER

    proc = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path), "5"], timeout=60)
    assert proc.returncode == -9 and Path(f"{path}-wal").stat().st_size > 0


def restore_json(*args: str) -> dict:
    proc = helpers.run_cli("restore", *args, "--yes", "-f", "json", stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_restore_puts_the_backup_back_and_keeps_what_it_replaced(tmp_path: Path) -> None:
    path, made = scene(tmp_path)
    os.chmod(path, 0o640)
    old_rows, backup_rows = helpers.dump(path), helpers.dump(made)
    assert old_rows != backup_rows and len(wal_ids(path)) == 5

    report = restore_json(str(made), str(path))
    kept = Path(report["kept"])
    # Nothing stale beside the restored file, nothing temporary left.
    assert names(tmp_path) == sorted(["memory.db", made.name, kept.name])

    assert helpers.dump(path) == backup_rows  # content equal to the backup
    assert kept.parent == tmp_path and catalogue.parse_name(path, kept.name)
    assert helpers.dump(kept) == old_rows  # the replaced database, its -wal commits included
    assert len(wal_ids(kept, main_file_only=True)) == 5  # in the file itself, not in a -wal beside it
    assert mode(kept) == 0o600
    assert mode(path) == 0o640  # the database keeps its mode
    assert header_mode(path) == HEADER_WAL  # and its journal mode (OMEGA's WAL)
    assert header_mode(kept) != HEADER_WAL  # a backup is one plain file
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()

    assert report["database"] == str(path) and report["restored_from"] == str(made)
    tables = {t["table"]: (t["before"], t["after"]) for t in report["tables"]}
    assert tables["outcomes"] == (len(old_rows["outcomes"]), len(backup_rows["outcomes"]))
    assert tables["lessons"] == (len(old_rows["lessons"]), len(backup_rows["lessons"]))
    assert set(tables) >= {"_migrations", "messages", "scheduled_tasks"}
    assert not any(name.startswith("messages_fts") for name in tables)


def test_restore_shows_the_counts_it_takes_back(runner: CliRunner, tmp_path: Path) -> None:
    path, made = scene(tmp_path)
    ran = invoke(runner, "restore", str(made), str(path), "--yes")
    assert ran.code == 0, ran.stderr
    assert f"Restored {path} from {made}" in ran.stdout
    assert "kept as" in ran.stdout
    outcomes = next(line for line in ran.stdout.splitlines() if line.startswith("outcomes "))
    assert outcomes.split()[1:] == ["17", "12", "-5"]


def test_restore_to_a_missing_database_creates_it_private(tmp_path: Path) -> None:
    path, made = scene(tmp_path)
    for name in ("memory.db", "memory.db-wal", "memory.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    report = restore_json(str(made), str(path))
    assert report["kept"] is None
    assert all(t["before"] is None for t in report["tables"])
    assert helpers.dump(path) == helpers.dump(made)
    assert mode(path) == 0o600


def test_a_stale_wal_of_a_deleted_database_is_not_replayed_into_the_restored_one(tmp_path: Path) -> None:
    """The main file deleted by hand, its -wal left: that -wal must not meet the new file."""
    path, made = scene(tmp_path)
    path.unlink()
    wal = Path(f"{path}-wal")
    wal_bytes = wal.read_bytes()
    report = restore_json(str(made), str(path))
    assert report["kept"] is None
    assert helpers.dump(path) == helpers.dump(made)
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("memory.db-wal.orphaned-")]
    assert len(aside) == 1 and aside[0].read_bytes() == wal_bytes and mode(aside[0]) == 0o600
    assert not wal.exists()


def test_a_damaged_database_is_kept_byte_for_byte(tmp_path: Path) -> None:
    path, made = scene(tmp_path)
    for name in ("memory.db-wal", "memory.db-shm"):
        (tmp_path / name).unlink()
    path.write_bytes(b"what a bad disk left\n" * 500)
    report = restore_json(str(made), str(path))
    assert Path(report["kept"]).read_bytes() == b"what a bad disk left\n" * 500
    assert helpers.dump(path) == helpers.dump(made)


def test_restore_keeps_the_owner(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root, to give the database to another user")
    path, made = scene(tmp_path)
    os.chown(path, NOBODY, NOBODY)
    os.chmod(path, 0o640)
    report = restore_json(str(made), str(path))
    st, kept = path.stat(), Path(report["kept"]).stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (NOBODY, NOBODY, 0o640)
    assert (kept.st_uid, kept.st_gid, stat.S_IMODE(kept.st_mode)) == (NOBODY, NOBODY, 0o600)


def test_restore_from_an_old_wal_style_backup_leaves_nothing_beside_it(tmp_path: Path) -> None:
    live = wal_database(tmp_path / "live.db")
    path = tmp_path / "memory.db"
    old_style = tmp_path / "memory.db.bak-20250101T000000Z"
    src, dest = sqlite3.connect(live), sqlite3.connect(old_style)
    src.backup(dest)  # what omega-db's migrate wrote before: WAL in the header
    src.close()
    dest.close()
    assert header_mode(old_style) == HEADER_WAL
    restore_json(str(old_style), str(path))
    assert helpers.dump(path) == helpers.dump(live)
    assert not Path(f"{old_style}-wal").exists() and not Path(f"{old_style}-shm").exists()


# --- refusals: nothing changes --------------------------------------------------------------


@pytest.mark.parametrize("how", ["sqlite-wal", "sqlite-delete", "plain-open"])
def test_restore_refuses_while_another_process_has_the_database_open(tmp_path: Path, how: str) -> None:
    path, made = scene(tmp_path)
    if how == "sqlite-delete":
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode = delete")
        conn.close()
    if how == "plain-open":
        holder = subprocess.Popen([sys.executable, "-c", "import sys; f = open(sys.argv[1], 'rb'); "
                                   "print('open', flush=True); sys.stdin.read()", str(path)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
    else:
        holder = hold_open(path)
    try:
        before = snapshot(tmp_path)
        proc = helpers.run_cli("restore", str(made), str(path), "--yes", stdin=subprocess.DEVNULL)
        after = snapshot(tmp_path)
    finally:
        let_go(holder)
    assert proc.returncode == 1, proc.stderr
    line = one_sentence(proc, path)
    assert f"process {holder.pid}" in line and "OMEGA" in line
    assert after == before


def test_restore_finds_an_omega_it_cannot_see_by_its_lock(nobody_dir: Path) -> None:
    """Run as another user, /proc hides the holder: holding the WAL database open still stops it."""
    path, made = scene(nobody_dir)
    for p in nobody_dir.iterdir():
        os.chown(p, NOBODY, NOBODY)
    holder = hold_open(path)  # root's process: the user nobody cannot read its /proc/<pid>/fd
    try:
        before = snapshot(nobody_dir)
        ran = as_nobody("restore", str(made), str(path), "--yes", "--timeout", "0.5")
        after = snapshot(nobody_dir)
    finally:
        let_go(holder)
    assert ran.code == 1, ran.stderr
    assert "in use by another process" in one_sentence(ran, path)
    assert after == before
    # Once it is gone, the same user restores.
    assert as_nobody("restore", str(made), str(path), "--yes").code == 0
    assert helpers.dump(path) == helpers.dump(made)


def garbage(folder: Path, kind: str, made: Path) -> Path:
    bad = folder / f"bad-{kind}.db"
    if kind == "text":
        bad.write_text("not a database\n" * 100)
    elif kind == "truncated":
        bad.write_bytes(made.read_bytes()[: made.stat().st_size // 2])
    elif kind == "empty":
        bad.touch()
    elif kind == "damaged":
        data = bytearray(made.read_bytes())
        page = 4096
        data[5 * page: 6 * page] = bytes(range(256)) * (page // 256)
        bad.write_bytes(bytes(data))
    elif kind == "not-omega":
        conn = sqlite3.connect(bad)
        conn.execute("CREATE TABLE t (x)")
        conn.close()
    elif kind == "folder":
        bad.mkdir()
    elif kind == "missing":
        pass
    return bad


@pytest.mark.parametrize("kind", ["text", "truncated", "empty", "damaged", "not-omega", "folder", "missing"])
def test_restore_refuses_a_bad_backup(runner: CliRunner, tmp_path: Path, kind: str) -> None:
    path, made = scene(tmp_path)
    bad = garbage(tmp_path, kind, made)
    before = snapshot(tmp_path)
    ran = invoke(runner, "restore", str(bad), str(path), "--yes")
    assert ran.code == 2, ran.stderr
    said = one_sentence(ran, bad)
    # Advice for a backup, never a database's: not "restore it from a backup", not "create it with migrate".
    assert "restore it from a backup" not in said and "omega-db migrate" not in said
    if kind in ("text", "truncated", "missing"):
        assert f"`omega-db backups {path}`" in said, said
    assert snapshot(tmp_path) == before


def test_restore_refuses_the_database_itself(runner: CliRunner, tmp_path: Path) -> None:
    path, _ = scene(tmp_path)
    before = snapshot(tmp_path)
    ran = invoke(runner, "restore", str(path), str(path), "--yes")
    assert ran.code == 2
    one_sentence(ran, path)
    assert snapshot(tmp_path) == before


def test_restore_refuses_a_backup_as_the_database(tmp_path: Path) -> None:
    """`omega-db restore memory.db.bak-*` matching two backups must not restore one over the other."""
    path, made = scene(tmp_path)
    second = backup_of(path)
    before = snapshot(tmp_path)
    proc = helpers.run_cli("restore", str(made), str(second), "--yes", stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert "named like a backup" in one_sentence(proc, second)
    assert snapshot(tmp_path) == before


def test_without_a_terminal_and_without_yes_restore_refuses(runner: CliRunner, tmp_path: Path) -> None:
    path, made = scene(tmp_path)
    before = snapshot(tmp_path)
    ran = invoke(runner, "restore", str(made), str(path))
    assert ran.code == 2
    assert "--yes" in one_sentence(ran, path)
    proc = helpers.run_cli("restore", str(made), str(path), stdin=subprocess.DEVNULL)  # cron
    assert proc.returncode == 2 and "--yes" in one_sentence(proc, path)
    assert snapshot(tmp_path) == before


def on_a_terminal(args: list[str], answer: bytes) -> tuple[int, str]:
    """Run omega-db on a real pseudo-terminal, answer its question; (exit code, what it showed)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child
        os.execv(sys.executable, [sys.executable, "-m", "omega_db", *args])
    shown, answered = b"", False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if not answered and b"[y/N]" in shown:
                os.write(fd, answer + b"\n")
                answered = True
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def test_on_a_terminal_restore_asks_and_no_changes_nothing(tmp_path: Path) -> None:
    path, made = scene(tmp_path)
    before = snapshot(tmp_path)
    code, shown = on_a_terminal(["restore", str(made), str(path)], b"n")
    assert code == 1, shown
    assert "Replace" in shown and "nothing was changed" in shown and "Traceback" not in shown
    assert snapshot(tmp_path) == before

    backup_rows = helpers.dump(made)
    code, shown = on_a_terminal(["restore", str(made), str(path)], b"y")
    assert code == 0, shown
    assert helpers.dump(path) == backup_rows


# --- a kill at any moment -------------------------------------------------------------------


def copy_scene(template: Path, folder: Path) -> None:
    folder.mkdir()
    for p in template.iterdir():
        shutil.copy2(p, folder / p.name)


def state_of(path: Path, old: dict, new: dict) -> str:
    """'old' or 'new': the database at path, opened as OMEGA would (recovering its -wal), whole."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    rows = helpers.dump(path)
    assert rows in (old, new), "the database is neither the old one nor the restored one"
    return "old" if rows == old else "new"


@pytest.mark.slow
def test_sigkill_at_every_step_leaves_the_old_or_the_restored_database(tmp_path: Path) -> None:
    """A real omega-db killed by SIGKILL before each of its file operations, one run each."""
    template = tmp_path / "template"
    template.mkdir()
    path, made = scene(template)
    old, new = helpers.dump(path), helpers.dump(made)

    def run(step: int, folder: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", KILL_AT, str(step), "restore", str(folder / made.name),
             str(folder / path.name), "--yes", "-f", "json"],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )

    copy_scene(template, tmp_path / "whole")
    whole = run(0, tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    steps = int(whole.stderr.strip().rsplit("calls=", 1)[1])
    assert steps >= 6

    seen = []
    for step in range(1, steps + 1):
        folder = tmp_path / f"kill-{step}"
        copy_scene(template, folder)
        proc = run(step, folder)
        assert proc.returncode == -signal.SIGKILL, (step, proc.stderr)
        state = state_of(folder / path.name, old, new)
        seen.append(state)
        for found in catalogue.find(folder / path.name):  # whatever carries a backup's name is whole
            assert helpers.dump(found.path) in (old, new), found.path.name
        if state == "new":  # the restored database is there: so is the kept old one
            assert any(helpers.dump(f.path) == old for f in catalogue.find(folder / path.name))
    assert "old" in seen and "new" in seen, seen
    assert seen == sorted(seen, key=["old", "new"].index), seen  # old until the rename, then new


@pytest.mark.slow
def test_sigkill_while_the_copy_is_written_leaves_the_old_database(tmp_path: Path) -> None:
    """A big backup: killed from outside at moments while SQLite writes and checks the copy."""
    path, made = scene(tmp_path)
    conn = helpers.connect(made)
    conn.execute("CREATE TABLE filler (x BLOB)")
    conn.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8000) "
                 "INSERT INTO filler SELECT randomblob(8000) FROM n")
    conn.close()
    old = helpers.dump(path)
    template = tmp_path / "template"
    template.mkdir()
    for p in list(tmp_path.iterdir()):
        if p.is_file():
            shutil.copy2(p, template / p.name)

    def started(folder: Path, proc: subprocess.Popen[str]) -> float:
        deadline = time.monotonic() + 30
        while not any(p.name.startswith("memory.db.restore-") for p in folder.iterdir()):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.001)
        return time.monotonic()

    # The window: from the temporary copy's creation to the first step on the old database's side.
    folder = tmp_path / "calibrate"
    copy_scene(template, folder)
    proc = helpers.start_cli("restore", str(folder / made.name), str(folder / path.name), "--yes")
    began = started(folder, proc)
    while not any(p.name.startswith("memory.db.bak-") for p in folder.iterdir()) and proc.poll() is None:
        time.sleep(0.001)
    window = time.monotonic() - began
    assert proc.wait(timeout=60) == 0

    for i, fraction in enumerate((0.1, 0.4, 0.7)):
        folder = tmp_path / f"kill-{i}"
        copy_scene(template, folder)
        proc = helpers.start_cli("restore", str(folder / made.name), str(folder / path.name), "--yes")
        started(folder, proc)
        time.sleep(fraction * window)
        assert proc.poll() is None, "the restore ended before the kill: the test proves nothing"
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert state_of(folder / path.name, old, {}) == "old"
        assert [f.path.name for f in catalogue.find(folder / path.name)] == [made.name]


@pytest.mark.parametrize("short_of", ["the copy", "the kept one"])
def test_a_full_disk_changes_nothing(tmp_path: Path, short_of: str) -> None:
    """No room for the restored copy, or for keeping the old database: exit 1, nothing changed."""
    path = seeded(tmp_path / "memory.db")
    made = backup_of(path)
    grow(made if short_of == "the copy" else path, 4)  # the one that will not fit
    limit = max(path.stat().st_size, made.stat().st_size) // 2
    before = snapshot(tmp_path)
    proc = helpers.run_cli("restore", str(made), str(path), "--yes", preexec_fn=file_size_limit(limit), timeout=60)
    assert proc.returncode == 1, proc.stderr
    line = one_sentence(proc, path)
    assert "nothing was" in line and "space" in line
    assert ("restored copy" in line) is (short_of == "the copy")
    assert snapshot(tmp_path) == before


def test_a_half_applied_backup_is_restored_and_said_so(runner: CliRunner, tmp_path: Path) -> None:
    path = seeded(tmp_path / "memory.db", to="010")
    half_011(path, 2)
    made = backup_of(path)
    migrate.migrate(path, make_backup=False, repair_half_applied=True)  # the database moved on
    ran = invoke(runner, "restore", str(made), str(path), "--yes", "-f", "json")
    assert ran.code == 0, ran.stderr
    assert "half-applied" in ran.stderr and "migrate --repair" in ran.stderr
    assert helpers.dump(path) == helpers.dump(made)


def test_restore_to_the_default_database_whose_folder_is_gone_creates_it(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ~/.omega/data/ deleted with the database in it: SPEC's "a missing DB is simply restored".
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("OMEGA_DB", raising=False)
    path, made = scene(tmp_path / "elsewhere")
    ran = invoke(runner, "restore", str(made), "--yes", "-f", "json")
    assert ran.code == 0, ran.stderr
    restored = home / ".omega" / "data" / "memory.db"
    assert json.loads(ran.stdout)["kept"] is None
    assert helpers.dump(restored) == helpers.dump(made)
    assert stat.S_IMODE((home / ".omega").stat().st_mode) == 0o700
    assert stat.S_IMODE(restored.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(restored.stat().st_mode) == 0o600


def test_restore_never_creates_a_folder_the_user_named(runner: CliRunner, tmp_path: Path) -> None:
    path, made = scene(tmp_path)
    typo = tmp_path / "dta" / "memory.db"
    ran = invoke(runner, "restore", str(made), str(typo), "--yes")
    assert ran.code == 2 and "its folder does not exist" in one_sentence(ran, typo)
    assert not typo.parent.exists()
