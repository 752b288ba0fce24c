"""Full disk: a file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) in the migrate process.

SPEC.md: after a full disk the database is exactly at the previous migration with
every row; and no migration without the backup that was asked for.
"""

from __future__ import annotations

import hashlib
import resource
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from omega_db.chain import migrate
from tests import helpers
from tests.faultkit import M010, M013, assert_at_a_migration, copy_db
from tests.inputkit import one_sentence

# Real processes under a file-size limit on a 20 MB file: about 2 s.
pytestmark = pytest.mark.slow


def file_size_limit(limit: int) -> Callable[[], None]:
    """preexec_fn: a child that may write no file beyond limit bytes (EFBIG, not SIGXFSZ)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_full_disk_during_migrate_leaves_010_intact(
    tmp_path: Path, big_010: Path, big_digest: dict, references: dict, journal_mode: str
) -> None:
    """No room to grow the file: exit 1, one clear sentence, still 010 with every row."""
    path = copy_db(big_010, tmp_path / "full.db", journal_mode)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    # Rollback journal: the database file must grow (the lessons copy, the new index).
    # WAL: the file waits for a checkpoint; the log is what grows, from nothing.
    limit = path.stat().st_size + 65536 if journal_mode == "delete" else 1 << 20
    proc = helpers.run_cli("migrate", "--no-backup", str(path), preexec_fn=file_size_limit(limit))
    assert proc.returncode == 1, proc.stderr
    sentence = one_sentence(proc, path)
    assert "rolled back" in sentence and "free some disk space" in sentence, sentence
    assert assert_at_a_migration(path, big_digest, references) == M010
    if journal_mode == "delete":
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    # With room again, the same command finishes.
    result = migrate.migrate(path, make_backup=False)
    assert result.current == M013


def db_with_free_pages(path: Path) -> int:
    """A seeded 010 database: free pages, then outcomes at the end; returns where those begin.

    RLIMIT_FSIZE caps the offset a process may write at. 011 writes its new pages
    (lessons copy, indexes) into free pages and only reads the outcomes at the end,
    so it fits under a cap where they begin; a backup, a whole copy, does not.
    """
    helpers.seeded(path, to="010")
    conn = helpers.connect(path)
    try:
        conn.execute("CREATE TABLE filler (x BLOB)")
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) "
            "INSERT INTO filler SELECT randomblob(4000) FROM n"
        )
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        late_start = conn.execute("PRAGMA page_count").fetchone()[0] * page_size
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
            "INSERT INTO outcomes (id, sender_id, domain, score, lesson) "
            "SELECT 'late-' || i, 'sender-' || (i % 9), 'coding', 0, 'lesson ' || i FROM n"
        )
        conn.execute("DROP TABLE filler")
    finally:
        conn.close()
    return late_start


def test_no_migration_without_the_backup_asked_for(tmp_path: Path) -> None:
    """The backup hits a file-size limit the migration alone would not: exit 1, nothing migrated."""
    path = tmp_path / "memory.db"
    limit = db_with_free_pages(path)  # below the backup's size, above anything 011 writes
    assert limit < path.stat().st_size
    before = helpers.fingerprint(path)
    rows = helpers.dump(path)

    proc = helpers.run_cli("migrate", str(path), preexec_fn=file_size_limit(limit), timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "backup" in one_sentence(proc, path)
    assert helpers.fingerprint(path) == before
    assert helpers.dump(path) == rows
    assert helpers.listing(tmp_path) == ["memory.db"]  # no partial backup left

    # The control: under the same limit, without a backup, the migration itself succeeds,
    # so it was the missing backup, not the limit, that stopped the first run.
    proc = helpers.run_cli("migrate", "--no-backup", str(path), preexec_fn=file_size_limit(limit), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert helpers.recorded(path)[-1] == M013
