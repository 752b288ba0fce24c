"""Pruning messages keeps OMEGA's FTS5 index in step (its own delete trigger), and --secure-delete
overwrites deleted text in the file: both checked on the file itself, each with a case that fails."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import helpers, pruneseed
from tests.inputkit import invoke

SECRET_AUDIT = "AUDITSECRET-hunter2-7c1f"
SECRET_WORD = "qqxpasswordzz"  # a word of a user message: in the table and in the FTS5 index


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    path = pruneseed.seed(tmp_path / "memory.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO audit_log (id, timestamp, channel, sender_id, input_text) "
                 "VALUES ('audit-secret', datetime('now', '-90 days'), 't', 'alice', ?)", (f"my key is {SECRET_AUDIT}",))
    conn.execute("INSERT INTO messages (id, conversation_id, role, content, timestamp) "
                 "VALUES ('m-secret', 'c-closed', 'user', ?, datetime('now', '-90 days'))",
                 (f"remember {SECRET_WORD} please",))
    conn.close()
    return path


def fts_integrity(path: Path) -> None:
    """FTS5's own integrity-check of messages_fts (rank 0: the index alone, as OMEGA indexes only user
    messages), and the index in step: the rows it holds words of are exactly the user messages."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 0)")
        conn.execute("CREATE VIRTUAL TABLE temp.words USING fts5vocab(main, messages_fts, instance)")
        indexed = {r[0] for r in conn.execute("SELECT DISTINCT doc FROM temp.words")}
        users = {r[0] for r in conn.execute("SELECT rowid FROM messages WHERE role = 'user'")}
        assert indexed == users, (sorted(indexed - users), sorted(users - indexed))
    finally:
        conn.close()


def recall(path: Path, word: str) -> list[str]:
    """What OMEGA's recall finds for a word (its MATCH, joined to messages)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute(
            "SELECT m.id FROM messages_fts fts JOIN messages m ON m.rowid = fts.rowid WHERE messages_fts MATCH ?",
            (f'"{word}"',))]
    finally:
        conn.close()


def test_after_pruning_messages_the_fts5_index_and_verify_pass(runner: CliRunner, seeded: Path) -> None:
    assert recall(seeded, SECRET_WORD) == ["m-secret"]
    ran = invoke(runner, "prune", str(seeded), "--messages", "30d", "--yes", "--no-backup", "-f", "json")
    assert ran.code == 0, ran.stderr
    assert json.loads(ran.stdout)["tables"][0]["deleted"] == 4  # the seed's 3 and the secret one
    fts_integrity(seeded)
    assert recall(seeded, SECRET_WORD) == []
    assert recall(seeded, "c-active") != []  # the kept conversations are still found
    verified = invoke(runner, "verify", str(seeded), "--strict", "-f", "json")
    assert verified.code == 0, verified.stdout
    conn = sqlite3.connect(seeded)
    assert conn.execute("SELECT count(*) FROM conversations").fetchone()[0] == 3  # conversations kept
    conn.close()


def test_the_fts5_check_fails_when_the_index_is_not_kept_in_step(tmp_path: Path, seeded: Path) -> None:
    """The check above can fail: the same delete without OMEGA's trigger leaves the index behind."""
    copy = tmp_path / "copy.db"
    shutil.copyfile(seeded, copy)
    conn = sqlite3.connect(copy, isolation_level=None)
    conn.execute("DROP TRIGGER messages_fts_delete")
    conn.execute("DELETE FROM messages WHERE id = 'm-secret'")
    conn.close()
    with pytest.raises(AssertionError):
        fts_integrity(copy)


def file_bytes(path: Path) -> bytes:
    """The database file and any -wal beside it."""
    wal = Path(f"{path}-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
@pytest.mark.parametrize("secure", [True, False], ids=["secure-delete", "plain"])
def test_secure_delete_overwrites_the_deleted_text(
    runner: CliRunner, seeded: Path, secure: bool, journal_mode: str
) -> None:
    conn = sqlite3.connect(seeded, isolation_level=None)
    conn.execute(f"PRAGMA journal_mode = {journal_mode}")
    conn.close()
    assert SECRET_AUDIT.encode() in file_bytes(seeded) and SECRET_WORD.encode() in file_bytes(seeded)
    extra = ["--secure-delete"] if secure else []
    ran = invoke(runner, "prune", str(seeded), "--audit-log", "30d", "--messages", "30d", "--yes", "--no-backup",
                 *extra)
    assert ran.code == 0, ran.stderr
    assert "audit-secret" not in pruneseed.ids(seeded, "audit_log")
    assert "m-secret" not in pruneseed.ids(seeded, "messages")
    left = file_bytes(seeded)
    if secure:
        assert SECRET_AUDIT.encode() not in left and SECRET_WORD.encode() not in left
    else:  # FTS5 keeps a deleted row's words in its older index segments until they merge
        assert SECRET_WORD.encode() in left
    fts_integrity(seeded)


def test_the_byte_check_finds_text_sqlite_only_marked_free(tmp_path: Path, seeded: Path) -> None:
    """The same delete with secure_delete OFF (this SQLite's build may default to ON): the text stays."""
    conn = sqlite3.connect(seeded, isolation_level=None)
    conn.execute("PRAGMA secure_delete = OFF")
    conn.execute("DELETE FROM audit_log WHERE id = 'audit-secret'")
    conn.close()
    assert SECRET_AUDIT.encode() in file_bytes(seeded)


@pytest.mark.parametrize("secure", [True, False], ids=["secure-delete", "plain"])
def test_secure_delete_empties_a_wal_whose_older_frames_hold_the_text(
    runner: CliRunner, tmp_path: Path, secure: bool
) -> None:
    """OMEGA wrote the secret in WAL mode and the -wal file still holds that frame: it is emptied too
    (without --secure-delete the frame stays, whatever SQLite's own secure_delete default)."""
    path = pruneseed.seed(tmp_path / "memory.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = wal")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("INSERT INTO audit_log (id, timestamp, channel, sender_id, input_text) "
                 "VALUES ('audit-secret', datetime('now', '-90 days'), 't', 'alice', ?)", (SECRET_AUDIT,))
    conn.close()  # the last connection: SQLite checkpoints and deletes the -wal; hold one open instead
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("UPDATE audit_log SET input_text = ? WHERE id = 'audit-secret'", (SECRET_AUDIT + " again",))
    assert SECRET_AUDIT.encode() in Path(f"{path}-wal").read_bytes()
    try:
        extra = ["--secure-delete"] if secure else []
        ran = invoke(runner, "prune", str(path), "--audit-log", "30d", "--yes", "--no-backup", *extra)
        assert ran.code == 0, ran.stderr
        assert (SECRET_AUDIT.encode() in file_bytes(path)) is not secure
    finally:
        conn.close()


def test_secure_delete_says_the_backup_still_holds_the_rows(runner: CliRunner, seeded: Path) -> None:
    ran = invoke(runner, "prune", str(seeded), "--audit-log", "30d", "--secure-delete", "--yes")
    assert ran.code == 0, ran.stderr
    (backup,) = helpers.backups(seeded)
    assert str(backup) in ran.stderr and "still holds" in ran.stderr
    assert SECRET_AUDIT.encode() in backup.read_bytes()
