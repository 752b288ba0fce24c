"""`omega-db backup [--keep N] [--output PATH]`, and `migrate --keep`.

SPEC.md: a consistent online copy (safe while OMEGA runs) beside the database,
verified with quick_check before it is reported, 0600, owned by the database
file's owner when run as root; --keep N deletes all but the N newest backups of
this database, never the one just made, never a file that is not one of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omega_db.backups import catalogue
from tests import helpers
from tests.backupkit import (  # noqa: F401 (nobody_dir is a fixture)
    HEADER_WAL,
    PAIR_WRITER,
    damage_an_index,
    file_size_limit,
    grow,
    header_mode,
    json_of,
    let_go,
    lock_exclusively,
    names,
    wal_database,
    wal_ids,
)
from tests.inputkit import invoke, one_sentence, seeded
from tests.nobody import NOBODY, as_nobody
from tests.omega_runner import half_011


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_backup_holds_every_row_is_0600_and_says_where(runner: CliRunner, tmp_path: Path) -> None:
    path = seeded(tmp_path / "memory.db")
    os.chmod(path, 0o644)
    before = helpers.fingerprint(path)
    ran = invoke(runner, "backup", str(path), "-f", "json")
    assert ran.code == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert set(report) == {"path", "bytes", "current"}
    made = Path(report["path"])
    assert made.parent == tmp_path and catalogue.parse_name(path, made.name) is not None
    assert report["bytes"] == made.stat().st_size
    assert report["current"] == "013_multi_lessons"
    assert helpers.dump(made) == helpers.dump(path)
    assert mode(made) == 0o600 and mode(path) == 0o644
    assert helpers.fingerprint(path) == before  # the database is only read
    assert names(tmp_path) == sorted(["memory.db", made.name])


@pytest.mark.parametrize("umask", [0o000, 0o022], ids=oct)
def test_a_backup_is_private_under_any_umask(tmp_path: Path, umask: int) -> None:
    path = seeded(tmp_path / "memory.db")
    proc = helpers.run_cli("backup", str(path), "-f", "json", preexec_fn=lambda: os.umask(umask))
    made = Path(json_of(proc)["path"])  # type: ignore[index]
    assert mode(made) == 0o600


def test_a_wal_database_is_copied_with_what_only_its_wal_holds(runner: CliRunner, tmp_path: Path) -> None:
    """OMEGA killed between checkpoints: a hand copy of memory.db would miss these commits."""
    path = wal_database(tmp_path / "memory.db")
    ran = invoke(runner, "backup", str(path), "-f", "json")
    assert ran.code == 0, ran.stderr
    made = Path(json.loads(ran.stdout)["path"])
    assert wal_ids(made, main_file_only=True) == wal_ids(path) != []
    # One self-contained file: rollback-journal mode, so reading it leaves nothing beside it.
    assert header_mode(made) != HEADER_WAL
    before = names(tmp_path)
    assert invoke(runner, "status", str(made), "-f", "json").code == 0
    assert names(tmp_path) == before


@pytest.mark.slow
def test_a_backup_taken_while_a_writer_commits_holds_exactly_the_committed_rows(tmp_path: Path) -> None:
    """A real process commits pairs of rows throughout: the copy holds a whole prefix of them."""
    path = seeded(tmp_path / "memory.db")
    conn = helpers.connect(path)
    conn.execute("PRAGMA journal_mode = wal")
    conn.execute("CREATE TABLE filler (x BLOB)")  # a copy that takes a while
    conn.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
                 "INSERT INTO filler SELECT randomblob(8000) FROM n")
    conn.close()
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", PAIR_WRITER, str(path), str(stop)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None
        first = writer.stdout.readline()  # one pair committed
        started = time.monotonic()
        proc = helpers.run_cli("backup", str(path), "-f", "json", timeout=120)
        ended = time.monotonic()
        time.sleep(0.05)
    finally:
        stop.touch()
        out, _ = writer.communicate(timeout=60)
    made = Path(json_of(proc)["path"])  # type: ignore[index]
    committed = [json.loads(line) for line in [first, *out.splitlines()]]
    during = [i for i, at in committed if started < at < ended]
    assert during, "the writer committed nothing while the backup ran: the test proves nothing"

    copy = sqlite3.connect(f"file:{made}?mode=ro", uri=True)
    try:
        outcomes = {r for (r,) in copy.execute("SELECT id FROM outcomes WHERE id LIKE 'pair-%'")}
        lessons = {r for (r,) in copy.execute("SELECT id FROM lessons WHERE id LIKE 'pair-%'")}
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        copy.close()
    assert outcomes == lessons  # every transaction whole
    k = len(outcomes)
    assert outcomes == {f"pair-{i}" for i in range(k)}  # a prefix of the commits: no gap
    assert 1 <= k <= len(committed)
    assert helpers.dump(made)["conversations"] == helpers.dump(path)["conversations"]


def test_a_damaged_database_gives_no_backup(runner: CliRunner, tmp_path: Path) -> None:
    """The copy of a damaged file fails quick_check: not reported, not left under a backup's name."""
    path = seeded(tmp_path / "memory.db")
    damage_an_index(path)
    before = helpers.fingerprint(path)
    ran = invoke(runner, "backup", str(path), "-f", "json")
    assert ran.code in (1, 2), ran.stderr
    sentence = one_sentence(ran, path)
    assert "quick_check" in sentence or "damaged" in sentence
    assert names(tmp_path) == ["memory.db"]
    assert helpers.fingerprint(path) == before


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_migrate_commits_nothing_when_its_backup_fails_the_check(
    tmp_path: Path, big_010: Path, journal_mode: str
) -> None:
    """The backup's quick_check runs beside the first migration, which may finish its statements
    meanwhile: a failed check still leaves the file at 010, byte for byte, and no backup."""
    from tests.faultkit import copy_db

    path = copy_db(big_010, tmp_path / "memory.db", journal_mode)
    damage_an_index(path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    ran = helpers.run_cli("migrate", str(path))
    assert ran.returncode == 1, ran.stderr
    assert ran.stderr.count("\n") == 1 and "failed SQLite's quick_check" in ran.stderr, ran.stderr
    assert "Traceback" not in ran.stderr and "Nothing was changed" in ran.stderr
    assert helpers.recorded(path)[-1] == "010_outcomes"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert [name for name in names(tmp_path) if ".bak-" in name] == []


@pytest.mark.parametrize("at", ["011_project_learning", "012_project_sessions"])
def test_an_interrupted_migrate_leaves_no_backup_however_far_its_check_got(
    tmp_path: Path, big_010: Path, at: str
) -> None:
    """Ctrl-C as a migration starts: at 011 the backup's check may still run (it is stopped and
    the unnamed copy deleted); at 012 the backup was named before 011 committed and stays."""
    from omega_db.chain import migrate
    from omega_db.chain.migrate import EventKind
    from tests.faultkit import copy_db

    path = copy_db(big_010, tmp_path / "memory.db")

    def interrupt(event: migrate.Event) -> None:
        if event.kind == EventKind.start and event.name == at:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        migrate.migrate(path, on_event=interrupt)
    left = [name for name in names(tmp_path) if name != "memory.db"]
    if at == "011_project_learning":
        assert left == [] and helpers.recorded(path)[-1] == "010_outcomes"
    else:
        assert helpers.recorded(path)[-1] == "011_project_learning"
        assert len(left) == 1 and ".bak-" in left[0] and not left[0].endswith(".partial")
        assert helpers.dump(tmp_path / left[0]) == helpers.dump(big_010)


def test_two_backups_in_one_second_get_two_names(runner: CliRunner, tmp_path: Path) -> None:
    path = seeded(tmp_path / "memory.db")
    made = {json.loads(invoke(runner, "backup", str(path), "-f", "json").stdout)["path"] for _ in range(3)}
    assert len(made) == 3
    assert all(catalogue.parse_name(path, Path(p).name) for p in made)


# --- --output ---------------------------------------------------------------------------


def test_output_writes_the_backup_there(runner: CliRunner, tmp_path: Path) -> None:
    path = seeded(tmp_path / "memory.db")
    target = tmp_path / "elsewhere" / "copy.db"
    target.parent.mkdir()
    ran = invoke(runner, "backup", str(path), "--output", str(target), "-f", "json")
    assert ran.code == 0, ran.stderr
    assert json.loads(ran.stdout)["path"] == str(target)
    assert helpers.dump(target) == helpers.dump(path) and mode(target) == 0o600
    assert names(target.parent) == ["copy.db"]


@pytest.mark.parametrize("existing", ["file", "folder", "link"])
def test_output_never_overwrites(runner: CliRunner, tmp_path: Path, existing: str) -> None:
    path = seeded(tmp_path / "memory.db")
    target = tmp_path / "precious"
    if existing == "file":
        target.write_text("do not overwrite me\n")
    elif existing == "folder":
        target.mkdir()
    else:
        target.symlink_to(tmp_path / "nowhere")
    before = names(tmp_path)
    ran = invoke(runner, "backup", str(path), "--output", str(target))
    assert ran.code == 2, ran.stderr
    assert "exists" in one_sentence(ran, target)
    assert names(tmp_path) == before
    if existing == "file":
        assert target.read_text() == "do not overwrite me\n"


def test_output_in_a_missing_folder_is_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    path = seeded(tmp_path / "memory.db")
    target = tmp_path / "no" / "such" / "copy.db"
    ran = invoke(runner, "backup", str(path), "--output", str(target))
    assert ran.code == 2
    assert "folder" in one_sentence(ran, target)
    assert names(tmp_path) == ["memory.db"]


# --- --keep -------------------------------------------------------------------------------


def fill_folder(path: Path) -> tuple[list[str], list[str]]:
    """Old backups of path (real copies) and look-alikes; (backups oldest first, look-alikes)."""
    folder = path.parent
    first = catalogue.take(path).path
    olds = [
        f"{path.name}.bak-20250101T000000Z",
        f"{path.name}.bak-20250101T000000Z-2",
        f"{path.name}.bak-20250615T120000Z",
        f"{path.name}.bak-20260101T000000Z",
    ]
    for name in olds:
        (folder / name).write_bytes(first.read_bytes())
    first.unlink()
    look_alikes = [
        f"{path.name}.bak-20240101T000000Z.partial",  # a copy cut short
        f"{path.name}.bak-20240101T000000Z.old",
        f"{path.name}.bak-2024",
        f"{path.name}.bak-20241399T000000Z",  # no such month
        f"{path.name}.bak-20240101T000000Z-x",
        f"x{path.name}.bak-20240101T000000Z",
        "other.db.bak-20240101T000000Z",  # another database's backup
        f"{path.name}.backup",
        "notes.txt",
    ]
    for name in look_alikes:
        (folder / name).write_text("not a backup of this database\n")
    (folder / f"{path.name}.bak-20230101T000000Z-9").mkdir()  # a folder with a backup's name
    (folder / f"{path.name}.bak-20230101T000000Z-8").symlink_to(folder / olds[0])  # a link with one
    look_alikes += [f"{path.name}.bak-20230101T000000Z-9", f"{path.name}.bak-20230101T000000Z-8"]
    return olds, look_alikes


@pytest.mark.parametrize("keep", [1, 2, 3, 10])
def test_keep_deletes_only_this_databases_older_backups(runner: CliRunner, tmp_path: Path, keep: int) -> None:
    path = seeded(tmp_path / "memory.db")
    olds, look_alikes = fill_folder(path)
    ran = invoke(runner, "backup", str(path), "--keep", str(keep), "-f", "json")
    assert ran.code == 0, ran.stderr
    made = Path(json.loads(ran.stdout)["path"]).name
    newest_first = [made, *reversed(olds)]
    assert names(tmp_path) == sorted(["memory.db", *newest_first[:keep], *look_alikes])
    deleted = newest_first[keep:]
    for name in deleted:  # said on stderr (stdout is the JSON alone)
        assert name in ran.stderr


def test_keep_never_deletes_the_backup_just_made(runner: CliRunner, tmp_path: Path) -> None:
    """Backups named in the future (a clock that was wrong) are newer by name; the new one stays."""
    path = seeded(tmp_path / "memory.db")
    future = tmp_path / f"{path.name}.bak-20990101T000000Z"
    future.write_bytes(path.read_bytes())
    ran = invoke(runner, "backup", str(path), "--keep", "1", "-f", "json")
    assert ran.code == 0, ran.stderr
    made = Path(json.loads(ran.stdout)["path"])
    assert names(tmp_path) == sorted(["memory.db", made.name, future.name])


def test_keep_with_output_elsewhere_prunes_beside_the_database(runner: CliRunner, tmp_path: Path) -> None:
    path = seeded(tmp_path / "memory.db")
    olds, _ = fill_folder(path)
    target = tmp_path / "copy.db"
    ran = invoke(runner, "backup", str(path), "--output", str(target), "--keep", "2")
    assert ran.code == 0, ran.stderr
    assert target.exists()
    assert [f.path.name for f in catalogue.find(path)] == [olds[-1], olds[-2]]


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_keep_must_be_at_least_1(runner: CliRunner, tmp_path: Path, value: str) -> None:
    path = seeded(tmp_path / "memory.db")
    for command in ("backup", "migrate"):
        ran = invoke(runner, command, str(path), "--keep", value)
        assert ran.code == 2 and "--keep" in ran.stderr
    assert names(tmp_path) == ["memory.db"]


def test_migrate_keep_prunes_after_its_backup(runner: CliRunner, tmp_path: Path) -> None:
    path = seeded(tmp_path / "memory.db", to="010")
    olds, look_alikes = fill_folder(path)
    ran = invoke(runner, "migrate", str(path), "--keep", "2", "-f", "json")
    assert ran.code == 0, ran.stderr
    made = Path(json.loads(ran.stdout)["backup"]).name
    assert names(tmp_path) == sorted(["memory.db", made, olds[-1], *look_alikes])
    assert helpers.recorded(tmp_path / made)[-1] == "010_outcomes"
    # Nothing pending: no backup, and so nothing pruned.
    ran = invoke(runner, "migrate", str(path), "--keep", "1")
    assert ran.code == 0, ran.stderr
    assert names(tmp_path) == sorted(["memory.db", made, olds[-1], *look_alikes])


# --- ownership -------------------------------------------------------------------------------


def test_run_as_root_the_backup_is_the_database_owners(nobody_dir: Path) -> None:
    """Cron runs as root; OMEGA runs as its user, who must be able to read and restore the backup."""
    path = seeded(nobody_dir / "memory.db")
    os.chown(path, NOBODY, NOBODY)
    os.chmod(path, 0o600)
    made = Path(json_of(helpers.run_cli("backup", str(path), "-f", "json"))["path"])  # type: ignore[index]
    st = made.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (NOBODY, NOBODY, 0o600)
    # migrate's backup too.
    old = seeded(nobody_dir / "old.db", to="010")
    os.chown(old, NOBODY, NOBODY)
    migrated = Path(json_of(helpers.run_cli("migrate", str(old), "-f", "json"))["backup"])  # type: ignore[index]
    assert (migrated.stat().st_uid, migrated.stat().st_gid) == (NOBODY, NOBODY)

    # The user nobody reads the root-made backup, and restores it.
    listed = json_of(as_nobody("backups", str(path), "-f", "json"))
    assert [(b["path"], b["ok"]) for b in listed] == [(str(made), True)]  # type: ignore[index]
    restored = as_nobody("restore", str(made), str(path), "--yes", "-f", "json")
    assert restored.code == 0, restored.stderr
    assert path.stat().st_uid == NOBODY


def test_a_backup_of_a_missing_database_is_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    ran = invoke(runner, "backup", str(path))
    assert ran.code == 2
    assert "does not exist" in one_sentence(ran, path)
    assert names(tmp_path) == []


def test_backup_table_output_says_where_and_what(runner: CliRunner, tmp_path: Path) -> None:
    path = seeded(tmp_path / "memory.db")
    ran = invoke(runner, "backup", str(path))
    assert ran.code == 0, ran.stderr
    made = catalogue.find(path)[0].path
    assert ran.stdout.startswith(f"Backup: {made} (")
    assert "013_multi_lessons" in ran.stdout and "quick_check" in ran.stdout


def test_a_full_disk_leaves_no_backup_behind(tmp_path: Path) -> None:
    """No room for the copy: exit 1, one sentence, nothing named as a backup, no .partial left."""
    path = seeded(tmp_path / "memory.db")
    grow(path, 4)
    before = helpers.fingerprint(path)
    proc = helpers.run_cli("backup", str(path), preexec_fn=file_size_limit(path.stat().st_size // 2), timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "backup" in one_sentence(proc, path)
    assert names(tmp_path) == ["memory.db"]
    assert helpers.fingerprint(path) == before


def test_backup_gives_up_on_a_lock_held_past_the_timeout(tmp_path: Path) -> None:
    """A writer holding an EXCLUSIVE lock (rollback journal): exit 1 after --timeout, nothing left."""
    path = seeded(tmp_path / "memory.db")
    holder = lock_exclusively(path)
    try:
        started = time.monotonic()
        proc = helpers.run_cli("backup", str(path), "--timeout", "0.5")
        elapsed = time.monotonic() - started
    finally:
        let_go(holder)
    assert proc.returncode == 1, proc.stderr
    assert "locked" in one_sentence(proc, path)
    assert 0.5 <= elapsed < 20
    assert names(tmp_path) == ["memory.db"]


def test_a_half_applied_database_is_backed_up_and_said_so(runner: CliRunner, tmp_path: Path) -> None:
    """OMEGA's runner stopped inside 011: the backup keeps that state and says what repairs it."""
    path = seeded(tmp_path / "memory.db", to="010")
    half_011(path, 2)
    ran = invoke(runner, "backup", str(path), "-f", "json")
    assert ran.code == 0, ran.stderr
    assert "half-applied" in ran.stderr and "migrate --repair" in ran.stderr
    made = Path(json.loads(ran.stdout)["path"])
    assert helpers.dump(made) == helpers.dump(path)
