"""Text that is not UTF-8 (only damage makes it): U+FFFD in every format, one note counting the values,
verify's text-encoding failure naming the tables, and not a byte changed.

The damage is planted as a disk fault would leave it: bytes that are not UTF-8 in a TEXT
value, written with CAST(x'..' AS TEXT) so that SQLite stores them as they are.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omega_db.cli import app
from omega_db.data import queries
from omega_db.data.listing import snapshot
from omega_db.verify import data_checks
from omega_db.verify.run import verify
from tests import helpers
from tests.inputkit import COMMANDS, Ran, args_for, invoke, one_sentence

# (table, id, column, stored bytes, shown text): each value distinct, so each counts once.
PLANTED = (
    ("lessons", "lesson-1", "rule", b"rule \xff!", "rule \ufffd!"),
    ("lessons", "lesson-1", "domain", b"\xc3", "\ufffd"),  # a sequence cut short
    ("outcomes", "out-2", "lesson", b"le\xe2\x82", "le\ufffd"),
    ("scheduled_tasks", "task-3", "description", b"\xed\xa0\x80 task", "\ufffd\ufffd\ufffd task"),  # a surrogate
)
# What each listing shows of them (--status all: every task), and how many values that is.
LISTINGS = {
    "lessons": (["lessons"], "lesson-1", {"rule": "rule \ufffd!", "domain": "\ufffd"}),
    "outcomes": (["outcomes"], "out-2", {"lesson": "le\ufffd"}),
    "tasks": (["tasks", "--status", "all"], "task-3", {"description": "\ufffd\ufffd\ufffd task"}),
}
LISTING_COLUMNS = {"outcomes": queries.OUTCOME_COLUMNS, "lessons": queries.LESSON_COLUMNS}
NOTE = "not valid UTF-8 (OMEGA writes only UTF-8: the file is damaged) and shown with U+FFFD"


def plant(path: Path, table: str, key: str, column: str, raw: bytes, *, key_column: str = "id") -> None:
    """Store raw (not UTF-8) as a TEXT value, as damage on disk would leave it."""
    conn = helpers.connect(path)
    try:
        (rowid,) = conn.execute(f"SELECT rowid FROM {table} WHERE {key_column} = ?", (key,)).fetchone()
        conn.execute(f"UPDATE {table} SET {column} = CAST(? AS TEXT) WHERE rowid = ?", (raw, rowid))
        assert conn.execute(f"SELECT typeof({column}) FROM {table} WHERE rowid = ?", (rowid,)).fetchone() == ("text",)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def damaged_text(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded database at 013 with the PLANTED values; never changed (every test checks that)."""
    path = helpers.seeded(tmp_path_factory.mktemp("damaged-text") / "memory.db")
    for table, key, column, raw, _ in PLANTED:
        plant(path, table, key, column, raw)
    return path


def notes(ran: Ran) -> list[str]:
    return [line for line in ran.stderr.splitlines() if NOTE in line]


def counted(ran: Ran) -> int:
    """The number of values the one note counts."""
    (line,) = notes(ran)
    words = line.split("note: ", 1)[1].split()
    return int(words[0].replace(",", ""))


def rows_of(fmt: str, stdout: str) -> list[dict[str, str]]:
    if fmt == "json":
        return json.loads(stdout)
    return list(csv.DictReader(io.StringIO(stdout, newline=""), strict=True))


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
@pytest.mark.parametrize("listing", sorted(LISTINGS))
def test_a_listing_shows_u_fffd_and_counts_the_values(
    runner: CliRunner, damaged_text: Path, listing: str, fmt: str
) -> None:
    before = helpers.fingerprint(damaged_text)
    command, key, shown = LISTINGS[listing]
    result = runner.invoke(app, [*command, str(damaged_text), "-f", fmt])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.stderr
    stdout = result.stdout_bytes.decode("utf-8")  # strict: every byte written is UTF-8
    ran = Ran(result.exit_code, stdout, result.stderr)
    assert counted(ran) == len(shown)
    assert result.stderr.count("omega-db:") == 1  # the note, once
    if fmt == "table":  # for people: the values are there, however the table lays them out
        assert all(text in stdout for text in shown.values()), stdout
        assert stdout.count("\ufffd") == sum(text.count("\ufffd") for text in shown.values())
    else:
        (row,) = [row for row in rows_of(fmt, stdout) if row["id"] == key]
        assert {column: row[column] for column in shown} == shown
    assert helpers.fingerprint(damaged_text) == before


def test_json_keeps_every_other_value_exactly(runner: CliRunner, damaged_text: Path, tmp_path: Path) -> None:
    """Only the damaged value changes: the rest of its row and the other rows are as stored."""
    ran = invoke(runner, "lessons", str(damaged_text), "-f", "json")
    healthy = helpers.seeded(tmp_path / "memory.db")
    good = json.loads(invoke(runner, "lessons", str(healthy), "-f", "json").stdout)
    got = json.loads(ran.stdout)
    assert [r["id"] for r in got] == [r["id"] for r in good]
    for mine, theirs in zip(got, good, strict=True):
        if mine["id"] == "lesson-1":
            theirs = {**theirs, "rule": "rule \ufffd!", "domain": "\ufffd"}
        assert mine == theirs


def test_a_healthy_file_gets_no_note(runner: CliRunner, shared_seeded: Path) -> None:
    for command in (["lessons"], ["outcomes"], ["tasks", "--status", "all"], ["status"], ["verify"]):
        for fmt in ("json", "table"):
            ran = invoke(runner, *command, str(shared_seeded), "-f", fmt)
            assert ran.code == 0 and notes(ran) == [], ran.stderr


def test_status_shows_a_damaged_project_name(runner: CliRunner, tmp_path: Path) -> None:
    path = helpers.seeded(tmp_path / "memory.db")
    plant(path, "outcomes", "out-4", "project", b"alph\xe0")
    before = helpers.fingerprint(path)
    ran = invoke(runner, "status", str(path), "-f", "json")
    assert ran.code == 0, ran.stderr
    projects = {p["project"]: p for p in json.loads(ran.stdout)["projects"]}
    assert projects["alph\ufffd"]["outcomes"] == 1
    assert counted(ran) == 1
    table = invoke(runner, "status", str(path))
    assert table.code == 0 and "alph\ufffd" in table.stdout and counted(table) == 1
    assert helpers.fingerprint(path) == before


def test_a_migration_name_that_is_not_utf8_is_shown_by_status(runner: CliRunner, tmp_path: Path) -> None:
    """The history itself may be damaged: status still answers (an unknown name is a newer one)."""
    path = helpers.seeded(tmp_path / "memory.db")
    plant(path, "_migrations", "012_project_sessions", "name", b"012_project_sess\xefons", key_column="name")
    ran = invoke(runner, "status", str(path), "-f", "json")
    assert ran.code == 0, ran.stderr
    assert json.loads(ran.stdout)["newer"] == ["012_project_sess\ufffdons"]
    assert counted(ran) == 1


@pytest.mark.parametrize("listing", ["outcomes", "lessons"])
def test_every_row_comes_once_when_a_later_batch_is_damaged(tmp_path: Path, listing: str) -> None:
    """The fast read stops at the damaged row and the lenient one goes on from there: no row lost or
    repeated, in the same order (lessons: OMEGA's own window first, then the rest)."""
    healthy = helpers.seeded(tmp_path / "healthy.db")
    path = helpers.seeded(tmp_path / "memory.db")
    table, key, column = ("outcomes", "out-3", "lesson") if listing == "outcomes" else ("lessons", "lesson-3", "rule")
    plant(path, table, key, column, b"\xf0\x9f\x98 cut")

    def rows(db_file: Path) -> list[tuple[object, ...]]:
        with snapshot(db_file) as conn:
            answer = getattr(queries, listing)(conn, limit=0)
            return [row for batch in answer.batches(size=5) for row in batch]

    got, want = rows(path), rows(healthy)
    position = LISTING_COLUMNS[listing].index(column)
    assert [r[0] for r in got] == [r[0] for r in want] and len(got) == 12
    for mine, theirs in zip(got, want, strict=True):
        if mine[0] == key:
            assert mine[position] == "\ufffd cut"
            mine = mine[:position] + (theirs[position],) + mine[position + 1:]
        assert mine == theirs


def test_a_connection_reads_damaged_text_without_failing(tmp_path: Path) -> None:
    """The core API too: a read-only connection gives U+FFFD, never UnicodeDecodeError."""
    from omega_db.ground import db, decoding

    path = helpers.seeded(tmp_path / "memory.db")
    plant(path, "lessons", "lesson-3", "rule", b"\x80\x81")
    decoding.REPLACED.reset()
    conn = db.connect_readonly(path)
    try:
        assert conn.execute("SELECT rule FROM lessons WHERE id = 'lesson-3'").fetchone() == ("\ufffd\ufffd",)
        assert conn.execute("SELECT rule FROM lessons WHERE id = 'lesson-3'").fetchone() == ("\ufffd\ufffd",)
    finally:
        conn.close()
    assert decoding.REPLACED.values == 1  # the same value read twice counts once
    with pytest.raises(sqlite3.Error):  # and SQLite's own errors still are errors
        sqlite3.connect(path).execute("SELECT nothing FROM nowhere")


# --- verify ------------------------------------------------------------------------------------


def checks_of(ran: Ran) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in json.loads(ran.stdout)["checks"]}


def test_verify_fails_text_encoding_naming_the_tables(runner: CliRunner, damaged_text: Path) -> None:
    before = helpers.fingerprint(damaged_text)
    ran = invoke(runner, "verify", str(damaged_text), "-f", "json")
    assert ran.code == 1
    checks = checks_of(ran)
    assert checks["text-encoding"]["status"] == "fail"
    assert checks["text-encoding"]["detail"] == (
        "4 text value(s) are not valid UTF-8, which OMEGA never writes (damage): lessons.domain (1), "
        "lessons.rule (1), outcomes.lesson (1), scheduled_tasks.description (1)"
    )
    assert [name for name, c in checks.items() if c["status"] != "ok"] == ["text-encoding"]
    table = invoke(runner, "verify", str(damaged_text))
    assert table.code == 1
    (row,) = [r for r in helpers.read_tables(table.stdout)[0][1] if r["check"] == "text-encoding"]
    assert row["status"] == "fail" and "scheduled_tasks.description (1)" in row["detail"]
    assert helpers.fingerprint(damaged_text) == before


def test_verify_quick_says_it_did_not_scan(runner: CliRunner, damaged_text: Path) -> None:
    ran = invoke(runner, "verify", str(damaged_text), "--quick", "--strict", "-f", "json")
    assert ran.code == 0
    assert checks_of(ran)["text-encoding"] == {
        "name": "text-encoding", "status": "ok",
        "detail": "not scanned (--quick); the full verify reads every text value",
    }


def test_verify_passes_text_encoding_on_a_healthy_file(runner: CliRunner, shared_seeded: Path) -> None:
    ran = invoke(runner, "verify", str(shared_seeded), "-f", "json")
    check = checks_of(ran)["text-encoding"]
    assert check["status"] == "ok" and check["detail"].startswith("every text value is valid UTF-8 (")


def test_a_blob_where_text_belongs_counts_as_the_text_it_reads_as(runner: CliRunner, tmp_path: Path) -> None:
    """Fuzz-like: a BLOB in a text column. Its bytes UTF-8: fine; not: counted once, as every command reads it."""
    path = helpers.seeded(tmp_path / "memory.db")
    conn = helpers.connect(path)
    conn.execute("INSERT INTO lessons (id, sender_id, domain, rule) VALUES ('fine', 'eve', 'd', X'41')")
    conn.close()
    assert checks_of(invoke(runner, "verify", str(path), "-f", "json"))["text-encoding"]["status"] == "ok"
    conn = helpers.connect(path)
    conn.execute("INSERT INTO lessons (id, sender_id, domain, rule) VALUES ('blob', 'eve', 'd', X'C3FF')")
    conn.close()
    detail = checks_of(invoke(runner, "verify", str(path), "-f", "json"))["text-encoding"]["detail"]
    assert detail.startswith("1 text value(s) are not valid UTF-8") and detail.endswith("lessons.rule (1)")


def test_verify_counts_exactly_across_many_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Values are checked a chunk at a time: a small chunk size makes hundreds of them."""
    path = helpers.seeded(tmp_path / "memory.db")
    conn = helpers.connect(path)
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
        "INSERT INTO outcomes (id, sender_id, domain, score, lesson) "
        "SELECT 'more-' || i, 'alice', 'coding', 0, 'a lesson of some length, number ' || i FROM n"
    )
    conn.close()
    bad = ["more-1", "more-2", "more-1500", "more-2999", "more-3000"]  # neighbours, middle, the very end
    for i, key in enumerate(bad):
        plant(path, "outcomes", key, "lesson", b"broken \x80" + bytes([i + 65]))
    plant(path, "lessons", "lesson-7", "occurrences", b"\xfe")  # text in an INTEGER column counts too
    monkeypatch.setattr(data_checks, "SCAN_BYTES", 2_000)
    check = {c.name: c for c in verify(path).checks}["text-encoding"]
    assert check.status == "fail"
    assert check.detail.endswith(": lessons.occurrences (1), outcomes.lesson (5)")


def test_verify_names_text_in_the_schema(runner: CliRunner, tmp_path: Path) -> None:
    """sqlite_master's own text is scanned: a damaged CREATE statement that still parses."""
    path = helpers.seeded(tmp_path / "memory.db")
    conn = helpers.connect(path)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "UPDATE sqlite_master SET sql = sql || CAST(x'202d2d20ff' AS TEXT) WHERE name = 'user_aliases'"
    )
    conn.close()
    ran = invoke(runner, "verify", str(path), "-f", "json")
    assert ran.code == 1
    assert checks_of(ran)["text-encoding"]["detail"].endswith("(damage): sqlite_master.sql (1)")
    assert invoke(runner, "status", str(path)).code == 0


# --- SQLite's own messages -----------------------------------------------------------------


def damage_a_name(path: Path) -> None:
    """A schema row whose name and SQL are not UTF-8: SQLite's error message quotes the name."""
    conn = helpers.connect(path)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "UPDATE sqlite_master SET name = CAST(x'6c696dff' AS TEXT), sql = CAST(x'435245415445205441424c4520ff28' "
        "AS TEXT) WHERE name = 'limitations'"
    )
    conn.close()


@pytest.mark.parametrize("command", COMMANDS)
def test_an_error_message_that_is_not_utf8_is_one_sentence(runner: CliRunner, tmp_path: Path, command: str) -> None:
    """sqlite3 cannot decode SQLite's "malformed database schema (lim\\xff)": once an unexpected
    UnicodeDecodeError (issue 13); now the damage, said as for any damaged file."""
    path = helpers.seeded(tmp_path / "memory.db", to="010" if command == "migrate" else None)
    damage_a_name(path)
    before = helpers.fingerprint(path)
    ran = invoke(runner, *args_for(command, path))
    if command == "verify":
        assert ran.code == 1
        assert checks_of(ran)["integrity"]["detail"] == (
            "the schema cannot be read: malformed database schema (lim\ufffd)"
        )
    else:
        assert ran.code == 2, ran.stderr
        assert "is damaged (malformed database schema (lim\ufffd))" in one_sentence(ran, path)
    assert helpers.fingerprint(path) == before


def test_a_backup_with_a_damaged_name_is_listed_as_not_opening(runner: CliRunner, tmp_path: Path) -> None:
    path = helpers.seeded(tmp_path / "memory.db")
    copy = tmp_path / "memory.db.bak-20260101T000000Z"
    copy.write_bytes(path.read_bytes())
    damage_a_name(copy)
    ran = invoke(runner, "backups", str(path), "-f", "json")
    assert ran.code == 0, ran.stderr
    (listed,) = json.loads(ran.stdout)
    assert listed["ok"] is False and listed["current"] is None


# --- found by the fuzz (test_fuzz.py): each once a contract break --------------------------------


def rename_in_schema(path: Path, name: bytes) -> None:
    """Give a table a name with damaged bytes in sqlite_master, and SQL that no longer parses."""
    conn = helpers.connect(path)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET name = CAST(? AS TEXT), sql = 'CREATE TABLE (' WHERE name = 'limitations'",
                 (name,))
    conn.close()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_control_character_in_sqlites_message_is_shown_as_an_escape(
    runner: CliRunner, tmp_path: Path, command: str
) -> None:
    """Fuzz seed 287: "malformed database schema (sqlite_au\\x0bo...)" reached stderr raw, a vertical
    tab that split the one sentence in two (and an ESC would have reached the terminal)."""
    path = helpers.seeded(tmp_path / "memory.db", to="010" if command == "migrate" else None)
    rename_in_schema(path, b"lim\x0bit\x1b[31m")
    ran = invoke(runner, *args_for(command, path))
    if command == "verify":
        assert ran.code == 1 and checks_of(ran)["integrity"]["status"] == "fail"
        return
    assert ran.code == 2, ran.stderr
    assert "malformed database schema (lim\\x0bit\\x1b[31m)" in one_sentence(ran, path)
    assert "\x1b" not in ran.stderr


def test_a_good_backup_replaces_a_database_whose_schema_name_is_not_utf8(runner: CliRunner, tmp_path: Path) -> None:
    """Fuzz seeds 204, 226: restore's own connection to the old file met SQLite's message about its
    damaged schema as an unexpected UnicodeDecodeError; now the file is kept as it is and replaced."""
    path = helpers.seeded(tmp_path / "memory.db")
    good = tmp_path / "memory.db.bak-20260101T000000Z"
    good.write_bytes(path.read_bytes())
    damage_a_name(path)
    damaged = path.read_bytes()
    ran = invoke(runner, "restore", str(good), str(path), "--yes", "-f", "json")
    assert ran.code == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert Path(report["kept"]).read_bytes() == damaged
    assert helpers.dump(path) == helpers.dump(good)


def unwritable_header(path: Path) -> None:
    """Byte 18 of the header, the file format's write version, above 2: SQLite opens the file read-only."""
    with path.open("r+b") as f:
        f.seek(18)
        f.write(b"\x07")


def unknown_format_header(path: Path) -> None:
    """Bytes 44-47 of the header, the schema format number, above 4: "unsupported file format"."""
    with path.open("r+b") as f:
        f.seek(47)
        f.write(b"\x09")


@pytest.mark.parametrize("damage", [unwritable_header, unknown_format_header])
def test_a_good_backup_replaces_a_database_whose_header_is_damaged(
    runner: CliRunner, tmp_path: Path, damage: object
) -> None:
    """Fuzz seeds 191, 253 (byte 18) and 1093, 1131, 1134 (byte 47): restore refused to put a good
    backup in place ("cannot be written ... check its permissions", "SQLite failed on ...: unsupported
    file format"), the one thing restore is for. The old file is kept byte for byte."""
    path = helpers.seeded(tmp_path / "memory.db")
    good = tmp_path / "memory.db.bak-20260101T000000Z"
    good.write_bytes(path.read_bytes())
    damage(path)  # type: ignore[operator]
    damaged = path.read_bytes()
    ran = invoke(runner, "restore", str(good), str(path), "--yes", "-f", "json")
    assert ran.code == 0, ran.stderr
    assert Path(json.loads(ran.stdout)["kept"]).read_bytes() == damaged
    assert helpers.dump(path) == helpers.dump(good)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_header_naming_an_unknown_format_is_one_sentence(runner: CliRunner, tmp_path: Path, command: str) -> None:
    """Not "SQLite failed on ...: unsupported file format." (exit 1): what it is, and the remedy."""
    path = helpers.seeded(tmp_path / "memory.db")
    unknown_format_header(path)
    ran = invoke(runner, *args_for(command, path))
    assert ran.code == 2, ran.stderr
    assert one_sentence(ran, path) == (
        f"omega-db: error: {path} cannot be read: its header names a file format SQLite does not know, "
        "which a damaged header or a newer SQLite makes; restore it from a backup."
    )


def test_migrate_names_a_header_that_says_read_only(runner: CliRunner, tmp_path: Path) -> None:
    """Not "check its permissions" (they are fine): the header, and the remedy."""
    path = helpers.seeded(tmp_path / "memory.db", to="011")
    unwritable_header(path)
    before = helpers.fingerprint(path)
    ran = invoke(runner, "migrate", str(path), "--no-backup")
    assert ran.code == 2
    assert one_sentence(ran, path) == (
        f"omega-db: error: {path} cannot be written: its header says a file format SQLite only reads "
        "(write version 7), which a damaged header or a newer SQLite makes; restore it from a backup."
    )
    assert helpers.fingerprint(path) == before


def test_a_migration_name_that_is_a_blob_is_read_as_text(runner: CliRunner, tmp_path: Path) -> None:
    """Fuzz (type by type): a BLOB _migrations.name met "'>' not supported between 'bytes' and 'str'"
    in status, verify and migrate; names are compared as text, so read as text (CAST)."""
    path = helpers.seeded(tmp_path / "memory.db")
    conn = helpers.connect(path)
    conn.execute("UPDATE _migrations SET name = CAST('012_project_sessions' AS BLOB) WHERE name = '012_project_sessions'")
    conn.execute("UPDATE _migrations SET applied_at = x'ff' WHERE name = '003_memory_enhancement'")
    conn.close()
    ran = invoke(runner, "status", str(path), "-f", "json")
    assert ran.code == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert report["current"] == "013_multi_lessons" and report["pending"] == []
    assert report["migrations"][2] == {"name": "003_memory_enhancement", "state": "applied", "applied_at": "\ufffd"}
    assert counted(ran) == 1
    assert invoke(runner, "verify", str(path), "-f", "json").code == 1  # text-encoding: the \xff
    assert invoke(runner, "migrate", str(path), "--dry-run").code == 0


def test_a_project_that_is_a_blob_is_counted_as_text(runner: CliRunner, tmp_path: Path) -> None:
    path = helpers.seeded(tmp_path / "memory.db")
    conn = helpers.connect(path)
    conn.execute("UPDATE outcomes SET project = CAST('alpha' AS BLOB) WHERE id IN ('out-1', 'out-2')")
    conn.execute("UPDATE outcomes SET project = 'alpha' WHERE id = 'out-3'")
    conn.close()
    ran = invoke(runner, "status", str(path), "-f", "json")
    assert ran.code == 0, ran.stderr
    projects = {p["project"]: p["outcomes"] for p in json.loads(ran.stdout)["projects"]}
    assert projects == {"": 9, "alpha": 3}


def test_json_export_goes_on_past_a_blob_where_text_belongs(runner: CliRunner, tmp_path: Path) -> None:
    """SQLite's json_object refuses a BLOB ("JSON cannot hold BLOB values"): the export stopped with
    exit 1 where CSV and the table answered. Now the rows from there are written by omega-db, the
    BLOB's bytes as text, U+FFFD where they are not UTF-8 (and counted)."""
    path = helpers.seeded(tmp_path / "memory.db")
    conn = helpers.connect(path)
    conn.execute("UPDATE outcomes SET lesson = x'ff00fe' WHERE id = 'out-3'")
    conn.execute("UPDATE outcomes SET domain = CAST('coding' AS BLOB) WHERE id = 'out-7'")
    conn.close()
    healthy = helpers.seeded(tmp_path / "healthy.db")
    got = invoke(runner, "outcomes", str(path), "--limit", "0", "-f", "json")
    want = json.loads(invoke(runner, "outcomes", str(healthy), "--limit", "0", "-f", "json").stdout)
    assert got.code == 0, got.stderr
    rows = json.loads(got.stdout)
    assert [r["id"] for r in rows] == [r["id"] for r in want]  # every row once, in order
    planted = {"out-3": {"lesson": "\ufffd\x00\ufffd"}, "out-7": {"domain": "coding"}}
    assert rows == [{**theirs, **planted.get(theirs["id"], {})} for theirs in want]
    assert counted(got) == 1


def zero_last_leaf_cells(path: Path, table: str) -> None:
    """Zero the cells of a table's last leaf page, header and cell pointers kept: what a file cut
    short inside that page reads as. Its cells then read as rowid 0."""
    conn = helpers.connect(path)
    try:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        (page,) = conn.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY path DESC LIMIT 1", (table,)
        ).fetchone()
    finally:
        conn.close()
    with path.open("r+b") as f:
        f.seek((page - 1) * size + 3)
        cells = int.from_bytes(f.read(2), "big")
        start = (page - 1) * size + 8 + 2 * cells
        f.seek(start)
        f.write(bytes(page * size - start))


def test_verify_ends_when_rowids_go_backwards(tmp_path: Path) -> None:
    """Fuzz seed 1259 (a 011 file cut short): the text scan seeks past the last rowid it read, and a
    damaged b-tree gave an earlier one back, for ever: verify hung. Now that table is "could not read"."""
    path = helpers.seeded(tmp_path / "memory.db")
    conn = helpers.connect(path)
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) "
        "INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at) "
        "SELECT 'more-' || i, 'telegram', 'alice', 'chat', 'a task of some length, number ' || i, "
        "'2026-05-01 09:00:00' FROM n"
    )
    conn.close()
    zero_last_leaf_cells(path, "scheduled_tasks")
    proc = helpers.run_cli("verify", str(path), "-f", "json", timeout=30)
    assert proc.returncode == 1, proc.stderr
    checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert checks["integrity"]["status"] == "fail"
    assert checks["text-encoding"]["status"] == "fail"
    assert checks["text-encoding"]["detail"].startswith("could not read scheduled_tasks (rowids go backwards after ")
