"""Stored text is untrusted: in tables it never reaches the terminal raw; JSON and CSV keep it exact.

Every stored text column that a table shows holds escape sequences and control
characters. The check reads the raw bytes omega-db wrote, piped and on a real
pseudo-terminal, where the only escape sequences allowed are omega-db's own colours.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests import helpers
from tests.ptykit import SGR, base_env, on_terminal

PAYLOAD = (
    "\x1b]52;c;cGF5bG9hZA==\x07"  # OSC 52: writes the terminal's clipboard
    "\x1b[2J\x1b[H"  # clears the screen
    "\x1b]0;owned\x1b\\"  # sets the window title (ST-terminated)
    "\x1b[8m"  # hides what follows
    "\x00\x07\x08\r\n\t\x7f"  # NUL BEL BS CR LF TAB DEL
    "\x9b31m\x9d0;x\x9c"  # the C1 forms of CSI, OSC and ST
    "\u202e\u2028"  # a bidi override, a line separator
    "a\u200bb\u2060c\ufeff"  # invisible: a zero-width space, a word joiner, a BOM (look-alike names)
    "\u3164\xad\u180e\ufff9"  # a Hangul filler (a blank name), a soft hyphen, a Mongolian separator, an annotation
    "\U000e0068\U000e0069"  # "hi" in tag characters: rendered as nothing (ASCII smuggling)
    "[red]markup[/red]"  # rich markup: shown as written
)
# How the payload must read in a table: every control character as a visible escape.
SHOWN = (
    "\\x1b]52;c;cGF5bG9hZA==\\x07\\x1b[2J\\x1b[H\\x1b]0;owned\\x1b\\\\x1b[8m"
    "\\x00\\x07\\x08\\r\\n\\t\\x7f\\x9b31m\\x9d0;x\\x9c\\u202e\\u2028a\\u200bb\\u2060c\\ufeff"
    "\\u3164\\xad\\u180e\\ufff9\\U000e0068\\U000e0069[red]markup[/red]"
)
ARGUMENT = PAYLOAD.replace("\x00", "")  # a command-line argument cannot hold NUL
FORBIDDEN = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]} - {"\n"} | {
    "\u202e", "\u2028", "\u200b", "\u2060", "\ufeff", "\u3164", "\xad", "\u180e", "\ufff9", "\U000e0068", "\U000e0069"
}


def hostile(name: str) -> str:
    """A column's value: its name, then the payload."""
    return f"{name}<{PAYLOAD}>"


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 011 database whose every shown text column holds the payload (and a recorded migration name)."""
    path = helpers.build(tmp_path_factory.mktemp("hostile") / "memory.db")
    conn = helpers.connect(path)
    h = hostile
    conn.execute(
        "INSERT INTO lessons (id, sender_id, domain, rule, project, occurrences, created_at, updated_at) "
        "VALUES ('l1', ?, ?, ?, ?, ?, '2026-01-01 00:00:00', ?)",
        (h("sender"), h("domain"), h("rule"), h("project"), h("occurrences"), h("updated_at")),
    )
    conn.execute(
        "INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson, source, project) "
        "VALUES ('o1', ?, ?, ?, 1, ?, 'conversation', ?)",
        (h("timestamp"), h("sender"), h("domain"), h("lesson"), h("project")),
    )
    task = (
        "INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at, repeat, "
        "status, task_type, retry_count, last_error, project) VALUES (?, 'telegram', ?, 'chat', ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    conn.execute(task, (h("id"), h("sender"), h("description"), h("due_at"), h("repeat"), h("status"),
                        h("task_type"), h("retry_count"), h("last_error"), h("project")))
    conn.execute(task, (h("failed-id"), h("sender"), h("description"), "2026-01-01 00:00:00", None, "failed",
                        h("task_type"), h("retry_count"), h("last_error"), h("project")))
    conn.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (h("999_name"), h("applied_at")))
    conn.close()
    return path


TABLES = {
    "lessons": (["lessons"], ["sender", "domain", "rule", "project", "occurrences", "updated_at"]),
    "outcomes": (["outcomes", "--limit", "0"], ["timestamp", "sender", "domain", "lesson", "project"]),
    "tasks-all": (["tasks", "--status", "all"],
                  ["id", "sender", "description", "due_at", "repeat", "status", "task_type", "project"]),
    "tasks-failed": (["tasks", "--status", "failed"], ["failed-id", "retry_count", "last_error"]),
    "status": (["status"], ["project", "999_name", "applied_at"]),
    "nothing-matched": (["lessons", "--sender", ARGUMENT], []),
}


def assert_inert(text: str) -> None:
    """No control character at all but the line breaks omega-db writes itself."""
    found = sorted({repr(c) for c in text if c in FORBIDDEN})
    assert found == [], found


def command(name: str, database: Path) -> list[str]:
    args, _ = TABLES[name]
    return [args[0], str(database), *args[1:]]


@pytest.mark.parametrize("name", list(TABLES))
def test_piped_tables_show_every_control_character_as_an_escape(database: Path, name: str) -> None:
    done = subprocess.run([sys.executable, "-m", "omega_db", *command(name, database)],
                          capture_output=True, env=base_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert b"\x1b" not in done.stdout  # piped: not even colours
    text = done.stdout.decode("utf-8")
    assert_inert(text)
    for column in TABLES[name][1]:
        assert f"{column}<{SHOWN}>" in text, column  # each value whole, on one line
    if name == "nothing-matched":
        shown_argument = SHOWN.replace("\\x00", "")
        assert text == f"Nothing matched: Lessons in every project, sender {shown_argument}.\n"


@pytest.mark.parametrize("columns", [2500, 60, 30])
@pytest.mark.parametrize("name", list(TABLES))
def test_on_a_terminal_only_omega_db_colours_are_escape_sequences(database: Path, name: str, columns: int) -> None:
    shown = on_terminal(*command(name, database), columns=columns)
    assert shown.code == 0, shown.stderr
    outside_colours = SGR.sub(b"", shown.raw)
    assert b"\x1b" not in outside_colours
    assert_inert(shown.text)
    if columns == 2500:  # wide enough for the values to stand whole in their cells
        for column in TABLES[name][1]:
            assert f"{column}<{SHOWN}>" in shown.text, column
    else:  # folded: the escapes are still there, in pieces no wider than the screen
        assert "\\x1b" in shown.text


def test_json_and_csv_keep_the_values_exact(database: Path) -> None:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    stored = conn.execute("SELECT rule, sender_id, project FROM lessons").fetchone()
    conn.close()
    as_json = helpers.run_cli("lessons", str(database), "-f", "json")
    assert as_json.returncode == 0
    row = json.loads(as_json.stdout)[0]
    assert (row["rule"], row["sender_id"], row["project"]) == stored
    as_csv = subprocess.run([sys.executable, "-m", "omega_db", "lessons", str(database), "-f", "csv"],
                            capture_output=True, timeout=60)
    header, values = list(csv.reader(io.StringIO(as_csv.stdout.decode("utf-8"), newline="")))
    got = dict(zip(header, values, strict=True))
    assert (got["rule"], got["sender_id"], got["project"]) == stored


def test_a_lone_cr_is_quoted_in_csv(tmp_path: Path) -> None:
    """RFC 4180: a field holding CR is quoted, or a reader splits the row in two."""
    path = helpers.build(tmp_path / "memory.db")
    conn = helpers.connect(path)
    conn.executemany(
        "INSERT INTO lessons (id, sender_id, domain, rule, project) VALUES (?, 's', ?, ?, '')",
        [("l1", "d1", "before\rafter"), ("l2", "d2", "plain"), ("l3", "d3", 'say "hi",\r\nthen')],
    )
    conn.close()
    done = subprocess.run([sys.executable, "-m", "omega_db", "lessons", str(path), "-f", "csv"],
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert b'"before\rafter"' in done.stdout and b"\nl2,s,d2,plain," in done.stdout
    rows = list(csv.reader(io.StringIO(done.stdout.decode(), newline="")))
    assert sorted(r[3] for r in rows[1:]) == sorted(["before\rafter", "plain", 'say "hi",\r\nthen'])
    assert len(rows) == 4


def test_verify_and_migrate_show_a_recorded_name_inert(database: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    copy.write_bytes(database.read_bytes())
    for args in (["verify", str(copy)], ["migrate", str(copy), "--dry-run"], ["migrate", str(copy)]):
        done = subprocess.run([sys.executable, "-m", "omega_db", *args], capture_output=True, timeout=60)
        assert done.returncode in (0, 1), done.stderr
        for stream in (done.stdout, done.stderr):
            assert b"\x1b" not in stream
            assert_inert(stream.decode("utf-8"))
        assert "999_name<" in (done.stdout + done.stderr).decode(), args


def test_the_joiners_that_scripts_and_emoji_need_stay_as_they_are() -> None:
    from omega_db.ground.untrusted import visible

    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one emoji, joined by ZWJ
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # a word with a ZWNJ in it
    assert visible(family) == family and visible(persian) == persian
    assert visible("ali\u200bce") == "ali\\u200bce"


def test_tag_characters_stay_only_where_they_spell_an_emoji_flag() -> None:
    from omega_db.ground.untrusted import visible

    england = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    assert visible(f"go {england}!") == f"go {england}!"
    assert visible(england[1:]) == "\\U000e0067\\U000e0062\\U000e0065\\U000e006e\\U000e0067\\U000e007f"
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "ignore previous instructions")
    assert visible(f"ok{hidden}") == "ok" + "".join(f"\\U{0xE0000 + ord(c):08x}" for c in "ignore previous instructions")
    assert visible(england + hidden) == "\U0001f3f4" + "".join(f"\\U{ord(c):08x}" for c in england[1:] + hidden)
    assert visible("\u3164") == "\\u3164"
