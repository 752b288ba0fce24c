"""Permissions: new databases 0600 in 0700 folders, backups 0600, whatever the umask.

A memory database holds a person's conversations: omega-db never creates one, or a
copy of one, that others can read, and never widens an existing file's mode.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests import helpers

# Each test starts omega-db as a real process under a umask.
pytestmark = pytest.mark.slow

UMASKS = [0o000, 0o022, 0o077]


def mode(path: Path) -> int:
    """The permission bits of a path."""
    return stat.S_IMODE(path.stat().st_mode)


def migrate_with_umask(umask: int, *args: str):  # type: ignore[no-untyped-def]
    """`omega-db migrate ARGS` as a real process started under umask."""
    return helpers.run_cli("migrate", "-f", "json", *args, preexec_fn=lambda: os.umask(umask))


@pytest.mark.parametrize("umask", UMASKS, ids=oct)
def test_a_new_database_is_0600_in_0700_folders(tmp_path: Path, umask: int) -> None:
    existing = tmp_path / "home"
    existing.mkdir(mode=0o755)
    os.chmod(existing, 0o755)
    path = existing / ".omega" / "deeper" / "memory.db"
    proc = migrate_with_umask(umask, str(path))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["current"] == "013_multi_lessons"
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert mode(path.parent.parent) == 0o700
    assert mode(existing) == 0o755  # a folder that was there is left as it was
    assert helpers.listing(path.parent) == ["memory.db"]


@pytest.mark.parametrize("umask", UMASKS, ids=oct)
def test_the_default_path_is_created_private_too(tmp_path: Path, umask: int) -> None:
    """No DB argument, no $OMEGA_DB: ~/.omega/data/memory.db, folders 0700, file 0600."""
    env = {k: v for k, v in os.environ.items() if k != "OMEGA_DB"}
    env["HOME"] = str(tmp_path)
    proc = helpers.run_cli("migrate", "-f", "json", preexec_fn=lambda: os.umask(umask), env=env)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / ".omega" / "data" / "memory.db"
    assert mode(path) == 0o600 and mode(path.parent) == 0o700 and mode(path.parent.parent) == 0o700


@pytest.mark.parametrize("umask", [0o000, 0o022], ids=oct)
@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_a_backup_is_0600_and_the_database_keeps_its_mode(tmp_path: Path, umask: int, journal_mode: str) -> None:
    """The backup is private even under umask 000; the database's own mode is not changed."""
    path = helpers.seeded(tmp_path / "memory.db", to="010")
    if journal_mode == "wal":
        conn = helpers.connect(path)
        conn.execute("PRAGMA journal_mode = wal")
        conn.close()
    os.chmod(path, 0o640)
    proc = migrate_with_umask(umask, str(path))
    assert proc.returncode == 0, proc.stderr
    backup = Path(json.loads(proc.stdout)["backup"])
    if not backup.is_absolute():
        backup = Path.cwd() / backup
    assert backup.parent == tmp_path
    assert mode(backup) == 0o600
    assert mode(path) == 0o640
    assert helpers.listing(tmp_path) == sorted(["memory.db", backup.name])
    assert helpers.recorded(backup)[-1] == "010_outcomes"
