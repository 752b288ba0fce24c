"""What a user trial found (issue 21): a database reached through a symbolic link, a project with no
rows, the --help examples on a fresh home, the -wal file's size, a WAL file in a read-only folder,
one exit code for a folder that cannot be written, what `backup --keep` deleted, and the locale.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import helpers
from tests.backupkit import names
from tests.inputkit import invoke, one_sentence, seeded
from tests.nobody import NOBODY, as_nobody

# --- 1. a database reached through a symbolic link ------------------------------------------------


@pytest.fixture
def linked(tmp_path: Path) -> tuple[Path, Path]:
    """(link, real): ~/memory.db is a link to the file in another folder, as a user moves it to a bigger disk."""
    (tmp_path / "disk").mkdir()
    real = seeded(tmp_path / "disk" / "omega-memory.db", to="012")
    (tmp_path / "home").mkdir()
    link = tmp_path / "home" / "memory.db"
    link.symlink_to(real)
    return link, real


def test_every_backup_of_a_linked_database_sits_beside_the_real_file(
    runner: CliRunner, linked: tuple[Path, Path]
) -> None:
    link, real = linked
    migrated = invoke(runner, "migrate", str(link), "-f", "json")
    assert migrated.code == 0, migrated.stderr
    made = invoke(runner, "backup", str(link), "-f", "json")
    assert made.code == 0, made.stderr
    assert names(link.parent) == ["memory.db"]  # nothing beside the link
    stamped = [n for n in names(real.parent) if n != real.name]
    assert len(stamped) == 2 and all(n.startswith(f"{real.name}.bak-") for n in stamped)
    assert Path(json.loads(made.stdout)["path"]).parent == real.parent
    listed = invoke(runner, "backups", str(link), "-f", "json")
    assert listed.code == 0, listed.stderr
    assert sorted(Path(b["path"]).name for b in json.loads(listed.stdout)) == sorted(stamped)
    # restore keeps what it replaces beside the real file too, and backups lists it
    restored = invoke(runner, "restore", str(real.parent / stamped[0]), str(link), "--yes", "-f", "json")
    assert restored.code == 0, restored.stderr
    kept = Path(json.loads(restored.stdout)["kept"])
    assert kept.parent == real.parent and link.is_symlink()
    listed = json.loads(invoke(runner, "backups", str(link), "-f", "json").stdout)
    assert str(kept) in [b["path"] for b in listed] and len(listed) == 3
    # and --keep prunes them all alike, through the link
    pruned = invoke(runner, "backup", str(link), "--keep", "1", "-f", "json")
    assert pruned.code == 0, pruned.stderr
    assert [n for n in names(real.parent) if n != real.name] == [Path(json.loads(pruned.stdout)["path"]).name]
    assert names(link.parent) == ["memory.db"]


# --- 7. backup --keep N -f json lists what it deleted ----------------------------------------------


def test_backup_keep_json_lists_what_it_deleted(runner: CliRunner, tmp_path: Path) -> None:
    path = seeded(tmp_path / "memory.db")
    old = [path.with_name(f"{path.name}.bak-2026030{i}T020000Z") for i in (1, 2, 3)]
    for name in old:
        shutil.copyfile(path, name)
    ran = invoke(runner, "backup", str(path), "--keep", "2", "-f", "json")
    assert ran.code == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert set(report) == {"path", "bytes", "current", "pruned"}
    assert sorted(report["pruned"]) == [str(old[0]), str(old[1])]
    assert not old[0].exists() and not old[1].exists() and old[2].exists()
    plain = json.loads(invoke(runner, "backup", str(path), "-f", "json").stdout)
    assert set(plain) == {"path", "bytes", "current"}  # without --keep: SPEC's shape


# --- 6. a folder that cannot be written: one exit code -------------------------------------------


def test_a_folder_that_cannot_be_written_is_exit_2_for_backup_migrate_and_restore(nobody_dir: Path) -> None:
    folder = nobody_dir / "data"
    folder.mkdir()
    path = seeded(folder / "memory.db", to="012")
    spare = seeded(nobody_dir / "spare.db")
    for p in (folder, path, spare):
        os.chown(p, NOBODY, NOBODY)
    os.chmod(folder, 0o555)
    try:
        before = helpers.listing(folder)
        backup = as_nobody("backup", str(path))
        out = as_nobody("backup", str(spare), "--output", str(folder / "copy.db"))
        migrate = as_nobody("migrate", str(path))
        restore = as_nobody("restore", str(spare), str(path), "--yes")
        for ran in (backup, out, migrate, restore):
            assert ran.code == 2, ran.stderr
            sentence = one_sentence(ran, folder)
            assert "permission" in sentence and "space" not in sentence, sentence
        assert helpers.listing(folder) == before
    finally:
        os.chmod(folder, 0o755)


# --- 5. a WAL-mode file in a read-only folder -------------------------------------------------------


def test_a_wal_file_in_a_read_only_folder_is_read_without_a_wal(nobody_dir: Path) -> None:
    """No -wal beside it: no connection has it open, so it is read immutable; nothing is created."""
    import sqlite3
    from contextlib import closing

    folder = nobody_dir / "data"
    folder.mkdir()
    path = seeded(folder / "memory.db")
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("INSERT INTO lessons (sender_id, domain, rule, project) VALUES ('s', 'd', 'in wal mode', 'p')")
        conn.commit()
        expected = conn.execute("SELECT count(*) FROM lessons").fetchone()[0]
    assert helpers.listing(folder) == ["memory.db"]  # the last connection removed its -wal and -shm
    for p in (folder, path):
        os.chown(p, NOBODY, NOBODY)
    os.chmod(folder, 0o555)
    try:
        before = helpers.fingerprint(path)
        lessons = as_nobody("lessons", str(path), "-f", "json")
        assert lessons.code == 0, lessons.stderr
        assert len(json.loads(lessons.stdout)) == expected
        for command in ("status", "verify", "outcomes", "tasks", "projects"):
            ran = as_nobody(command, str(path))
            assert ran.code == 0, (command, ran.stderr)
        assert helpers.listing(folder) == ["memory.db"] and helpers.fingerprint(path) == before
        # A -wal beside it may hold commits the file lacks: never immutable then, one sentence instead.
        os.chmod(folder, 0o755)
        shutil.copyfile(path, f"{path}-wal")  # any bytes: only its presence counts here
        os.chown(f"{path}-wal", NOBODY, NOBODY)
        os.chmod(folder, 0o555)
        refused = as_nobody("lessons", str(path))
        assert refused.code == 2, refused.stderr
        assert "make the folder writable for this user" in one_sentence(refused, path)
    finally:
        os.chmod(folder, 0o755)
