"""Unreadable and read-only files and folders, for every command, as an unprivileged user.

Root ignores file modes, and the tests run as root: each command runs in a forked
child that has dropped to 'nobody' (or as ourselves when not root), on files whose
modes alone decide what it may do. Read commands answer from read-only files and
folders; migrate refuses with exit 2; nothing changes.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import helpers, nobody
from tests.inputkit import COMMANDS, READERS, args_for, invoke, one_sentence
from tests.nobody import as_nobody


@pytest.fixture(scope="module")
def child_can_run() -> None:
    """Skip (saying why) where 'nobody' cannot read omega-db's own files, e.g. a clone under /root."""
    folder = Path(tempfile.mkdtemp(prefix="omega-db-probe-"))
    try:
        os.chmod(folder, 0o755)
        ran = as_nobody("migrate", "--dry-run", str(folder / "memory.db"))
    finally:
        shutil.rmtree(folder)
    if ran.code != 0:
        pytest.skip(f"an unprivileged child cannot run omega-db from here: {ran.stderr.strip()}")


@pytest.fixture
def shared_dir(child_can_run: None) -> Iterator[Path]:
    """A folder the unprivileged child can reach (pytest's tmp_path is root's, 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="omega-db-test-"))
    os.chmod(folder, 0o755)
    try:
        yield folder
    finally:
        for p in (folder, *folder.rglob("*")):
            os.chmod(p, 0o700 if p.is_dir() else 0o600)
        shutil.rmtree(folder)


def give_to_child(*paths: Path) -> None:
    """Let the child own these paths, so that their modes alone decide what it may do."""
    if os.geteuid() == 0:
        for p in paths:
            os.chown(p, nobody.NOBODY, nobody.NOBODY)


def database_in(folder: Path, *, to: str | None = "010") -> Path:
    """A seeded database in its own folder, both owned by the child."""
    folder.mkdir()
    path = helpers.seeded(folder / "memory.db", to=to)
    give_to_child(folder, path)
    return path


def test_the_child_really_is_as_nobody(shared_dir: Path) -> None:
    """The mechanism itself: a 0444 file cannot be written by the child, while we could."""
    path = database_in(shared_dir / "db")
    path.chmod(0o444)
    ran = as_nobody("migrate", "--no-backup", str(path))
    assert ran.code == 2, ran.stderr
    assert helpers.recorded(path)[-1] == "010_outcomes"


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unreadable_file_is_exit_2(shared_dir: Path, command: str) -> None:
    path = database_in(shared_dir / "db")
    path.chmod(0o000)
    before = helpers.fingerprint(path)
    ran = as_nobody(*args_for(command, path))
    assert ran.code == 2, ran.stderr
    assert "readable" in one_sentence(ran, path)
    assert helpers.fingerprint(path) == before


@pytest.mark.parametrize("where", ["file", "folder"])
@pytest.mark.parametrize("command", COMMANDS)
def test_read_only_file_or_folder(shared_dir: Path, command: str, where: str) -> None:
    """Read commands answer from a read-only file or folder as from a writable one; migrate
    refuses; nothing changes."""
    path = database_in(shared_dir / "db")
    writable = invoke(CliRunner(), *args_for(command, path)) if command != "migrate" else None
    (path if where == "file" else path.parent).chmod(0o444 if where == "file" else 0o555)
    before = helpers.fingerprint(path), helpers.listing(path.parent)
    ran = as_nobody(*args_for(command, path))
    if writable is None:
        assert ran.code == 2, ran.stderr
        assert "read-only" in one_sentence(ran, path)
    else:
        assert ran.code == 0, ran.stderr
        assert json.loads(ran.stdout) == json.loads(writable.stdout)
    assert (helpers.fingerprint(path), helpers.listing(path.parent)) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_a_missing_file_in_a_read_only_folder(shared_dir: Path, command: str) -> None:
    folder = shared_dir / "db"
    folder.mkdir()
    give_to_child(folder)
    folder.chmod(0o555)
    path = folder / "memory.db"
    ran = as_nobody(*args_for(command, path))
    assert ran.code == 2, ran.stderr
    sentence = one_sentence(ran, path)
    assert ("cannot create" if command == "migrate" else "does not exist") in sentence
    assert helpers.listing(folder) == []


@pytest.mark.parametrize("command", READERS)
def test_wal_database_in_a_read_only_folder_while_omega_has_it_open(shared_dir: Path, command: str) -> None:
    """OMEGA holds the file open in WAL mode (-wal and -shm exist): reads work, no byte changes."""
    path = database_in(shared_dir / "db", to=None)
    omega = sqlite3.connect(path, isolation_level=None)
    try:
        assert omega.execute("PRAGMA journal_mode = wal").fetchone()[0] == "wal"
        omega.execute("INSERT INTO outcomes (id, sender_id, domain, score, lesson) VALUES ('in-wal', 's', 'd', 1, 'x')")
        give_to_child(*(p for p in path.parent.iterdir()))
        writable = invoke(CliRunner(), *args_for(command, path))  # the answer with the folder writable
        path.parent.chmod(0o555)
        before = helpers.fingerprint(path), helpers.fingerprint(Path(f"{path}-wal")), helpers.listing(path.parent)
        ran = as_nobody(*args_for(command, path))
        assert ran.code == 0, ran.stderr
        answer = json.loads(ran.stdout)
        assert answer == json.loads(writable.stdout)
        if command == "outcomes":
            assert "in-wal" in {row["id"] for row in answer}  # read through the WAL
        after = helpers.fingerprint(path), helpers.fingerprint(Path(f"{path}-wal")), helpers.listing(path.parent)
        assert after == before
    finally:
        omega.close()


@pytest.mark.parametrize("command", READERS)
def test_wal_database_in_a_read_only_folder_without_shm(shared_dir: Path, command: str) -> None:
    """No OMEGA, no -wal, and none can be created: every reader reads it (immutable), untouched (issue 21)."""
    path = database_in(shared_dir / "db", to=None)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode = wal").fetchone()[0] == "wal"
    conn.close()
    path.parent.chmod(0o555)
    before = helpers.fingerprint(path), helpers.listing(path.parent)
    ran = as_nobody(*args_for(command, path))
    assert ran.code in (0, 1), ran.stderr  # verify may say "not ok" (pending migrations); never exit 2
    assert f"{path} cannot" not in ran.stderr
    assert (helpers.fingerprint(path), helpers.listing(path.parent)) == before


@pytest.mark.parametrize("where", ["file", "folder"])
def test_migrate_dry_run_reads_a_read_only_database(shared_dir: Path, where: str) -> None:
    """--dry-run only reads: it shows the plan from a read-only file or folder, untouched."""
    path = database_in(shared_dir / "db")
    (path if where == "file" else path.parent).chmod(0o444 if where == "file" else 0o555)
    before = helpers.fingerprint(path), helpers.listing(path.parent)
    ran = as_nobody("migrate", "--dry-run", "-f", "json", str(path))
    assert ran.code == 0, ran.stderr
    assert json.loads(ran.stdout)["pending"]
    assert (helpers.fingerprint(path), helpers.listing(path.parent)) == before


@pytest.mark.parametrize("journal", ["wal", "delete"])
@pytest.mark.parametrize("where", ["file", "folder"])
def test_migrate_on_an_up_to_date_file_this_user_cannot_write_says_nothing_to_apply(
    shared_dir: Path, where: str, journal: str
) -> None:
    # SPEC: nothing pending, no write. A WAL file in a read-only folder was exit 2 "cannot be opened".
    path = database_in(shared_dir / "db", to=None)
    conn = sqlite3.connect(path)
    assert conn.execute(f"PRAGMA journal_mode = {journal}").fetchone()[0] == journal
    conn.close()
    (path if where == "file" else path.parent).chmod(0o444 if where == "file" else 0o555)
    before = helpers.fingerprint(path), helpers.listing(path.parent)
    ran = as_nobody("migrate", str(path))
    assert ran.code == 0, ran.stderr
    assert "up to date at 013_multi_lessons; nothing to apply" in ran.stdout
    assert helpers.fingerprint(path) == before[0]
    if where == "folder" or journal != "wal":  # else SQLite's read leaves its (empty) -wal and -shm, as any reader's
        assert helpers.listing(path.parent) == before[1]
    pending = database_in(shared_dir / "db2")  # at 010: a write is needed, and refused as before
    (pending if where == "file" else pending.parent).chmod(0o444 if where == "file" else 0o555)
    refused = as_nobody("migrate", str(pending))
    assert refused.code == 2 and "read-only" in refused.stderr, refused.stderr
