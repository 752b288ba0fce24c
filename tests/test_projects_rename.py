"""`omega-db projects rename OLD NEW`: every column SPEC names, after a backup, or nothing at all."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests import helpers, nobody, projectkit
from tests.inputkit import invoke, one_sentence

# Every column that holds a project's name, and the fact that does (SQL written here).
NAMED = {
    "outcomes": "project", "lessons": "project", "scheduled_tasks": "project", "conversations": "project",
    "project_sessions": "project",
}


def seeded(tmp_path: Path, to: str | None = None) -> Path:
    return projectkit.seed(helpers.build(tmp_path / "memory.db", to=to))


def renamed_dump(before: dict[str, list[dict[str, Any]]], old: str, new: str) -> dict[str, list[dict[str, Any]]]:
    """The dump a rename without any merge must leave: OLD replaced by NEW where SPEC says, nothing else."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table, rows in before.items():
        changed = []
        for row in rows:
            row = dict(row)
            for column in ("project", "parent_project") if table in NAMED else ():
                if row.get(column) == old:
                    row[column] = new
            if table == "facts" and row["key"] == "active_project" and row["value"] == old:
                row["value"] = new
            changed.append(row)
        out[table] = sorted(changed, key=lambda r: json.dumps(r, sort_keys=True, default=str))
    return out


def rename(runner: CliRunner, path: Path, old: str, new: str, *more: str) -> Any:
    return invoke(runner, "projects", "rename", old, new, str(path), *more)


def test_rename_moves_every_named_column_after_a_backup(runner: CliRunner, tmp_path: Path) -> None:
    path = seeded(tmp_path)
    before = helpers.dump(path)
    ran = rename(runner, path, "alpha", "delta", "--yes", "-f", "json")
    assert ran.code == 0, ran.stderr
    assert helpers.dump(path) == renamed_dump(before, "alpha", "delta")
    doc = json.loads(ran.stdout)
    assert list(doc) == ["database", "from", "to", "backup", "tables", "merged", "evicted"]
    assert (doc["from"], doc["to"], doc["merged"], doc["evicted"]) == ("alpha", "delta", 0, [])
    moved = {t["table"]: t["moved"] for t in doc["tables"]}
    conn = sqlite3.connect(f"file:{doc['backup']}?mode=ro", uri=True)
    for table in ("outcomes", "lessons", "scheduled_tasks", "conversations", "project_sessions"):
        assert moved[table] == conn.execute(f"SELECT count(*) FROM {table} WHERE project = 'alpha'").fetchone()[0]
    assert moved["facts"] == 2
    conn.close()
    assert helpers.dump(Path(doc["backup"])) == before  # the backup is the file before the rename


def test_parent_project_and_general_scope(runner: CliRunner, tmp_path: Path) -> None:
    path = seeded(tmp_path)
    before = helpers.dump(path)
    ran = rename(runner, path, "parent-only", "", "--yes", "--no-backup")
    assert ran.code == 0, ran.stderr
    assert helpers.dump(path) == renamed_dump(before, "parent-only", "")
    assert helpers.backups(path) == []
    assert "project_sessions.parent_project  1 row moved" in ran.stdout


def test_control_characters_are_bound_and_shown_escaped(runner: CliRunner, tmp_path: Path) -> None:
    path = seeded(tmp_path)
    before = helpers.dump(path)
    ran = rename(runner, path, "g\x1bamma", "x'); DROP TABLE outcomes; --\x07", "--yes", "--no-backup")
    assert ran.code == 0, ran.stderr
    assert helpers.dump(path) == renamed_dump(before, "g\x1bamma", "x'); DROP TABLE outcomes; --\x07")
    assert "\x1b" not in ran.stdout + ran.stderr and "\x07" not in ran.stdout + ran.stderr
    assert "'g\\x1bamma'" in ran.stdout


def test_the_folder_is_never_touched_and_the_mv_is_named(runner: CliRunner, tmp_path: Path) -> None:
    path = seeded(tmp_path)
    root = tmp_path / "projects"
    (root / "alpha").mkdir(parents=True)
    (root / "alpha" / "ROLE.md").write_text("role\n")
    ran = rename(runner, path, "alpha", "alpha 2", "--yes", "--projects-dir", str(root))
    assert ran.code == 0, ran.stderr
    assert sorted(p.name for p in root.iterdir()) == ["alpha"] and (root / "alpha" / "ROLE.md").exists()
    assert f"mv {root / 'alpha'} '{root / 'alpha 2'}'" in ran.stderr
    (root / "beta").mkdir()
    ran = rename(runner, path, "beta", "alpha", "--yes", "--projects-dir", str(root))
    assert ran.code == 0 and "mv " not in ran.stderr  # NEW's folder exists: nothing to suggest
    ran = rename(runner, path, "alpha", "../outside", "--yes", "--projects-dir", str(root))
    assert ran.code == 0 and "mv " not in ran.stderr  # no folder of the projects folder can have that name


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [("", "alpha", "may not be the general scope"), ("alpha", "alpha", "both 'alpha'"),
     ("nothing-here", "alpha", "has no rows of project 'nothing-here'")],
)
def test_bad_names_are_exit_2_and_change_nothing(runner: CliRunner, tmp_path: Path, old: str, new: str,
                                                  words: str) -> None:
    path = seeded(tmp_path)
    before = helpers.fingerprint(path), helpers.listing(tmp_path)
    ran = rename(runner, path, old, new, "--yes")
    assert ran.code == 2
    assert words in one_sentence(ran, path)
    assert (helpers.fingerprint(path), helpers.listing(tmp_path)) == before


def test_without_a_terminal_and_without_yes_it_refuses(runner: CliRunner, tmp_path: Path) -> None:
    path = seeded(tmp_path)
    before = helpers.fingerprint(path), helpers.listing(tmp_path)
    ran = rename(runner, path, "alpha", "delta")
    assert ran.code == 2 and "--yes" in one_sentence(ran, path)
    assert (helpers.fingerprint(path), helpers.listing(tmp_path)) == before


def test_a_half_applied_database_points_to_repair(runner: CliRunner, tmp_path: Path) -> None:
    path = seeded(tmp_path, to="011_project_learning")
    conn = helpers.connect(path)
    conn.execute("ALTER TABLE conversations ADD COLUMN project TEXT NOT NULL DEFAULT ''")  # 012 begun, not recorded
    conn.execute("UPDATE outcomes SET project = 'alpha' WHERE id = 'o0'")
    conn.close()
    before = helpers.fingerprint(path), helpers.listing(tmp_path)
    ran = rename(runner, path, "alpha", "delta", "--yes")
    assert ran.code == 1 and "migrate --repair" in one_sentence(ran, path)
    assert (helpers.fingerprint(path), helpers.listing(tmp_path)) == before


HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
if sys.argv[2] == "lock":
    conn.execute("BEGIN IMMEDIATE")
print("ready", flush=True)
time.sleep(60)
"""


@pytest.mark.slow
@pytest.mark.parametrize("how", ["open", "lock"])
def test_refuses_while_another_process_has_it_open(runner: CliRunner, tmp_path: Path, how: str) -> None:
    path = seeded(tmp_path)
    before = helpers.fingerprint(path), helpers.listing(tmp_path)
    with subprocess.Popen([sys.executable, "-c", HOLDER, str(path), how], stdout=subprocess.PIPE, text=True) as other:
        try:
            assert other.stdout is not None and other.stdout.readline() == "ready\n"
            ran = rename(runner, path, "alpha", "delta", "--yes", "--timeout", "0.2")
        finally:
            other.kill()
    assert ran.code == 1 and f"process {other.pid}" in one_sentence(ran, path)
    assert (helpers.fingerprint(path), helpers.listing(tmp_path)) == before


@pytest.fixture
def shared_dir() -> Any:
    """A folder an unprivileged child can reach (pytest's tmp_path is root's, 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="omega-db-rename-"))
    os.chmod(folder, 0o755)
    try:
        yield folder
    finally:
        for p in (folder, *folder.rglob("*")):
            os.chmod(p, 0o700 if p.is_dir() else 0o600)
        shutil.rmtree(folder)


@pytest.mark.slow
@pytest.mark.parametrize("where", ["file", "folder"])
def test_a_read_only_file_or_folder_is_exit_2(shared_dir: Path, where: str) -> None:
    folder = shared_dir / "db"
    folder.mkdir()
    path = projectkit.seed(helpers.build(folder / "memory.db"))
    if os.geteuid() == 0:
        for p in (folder, path):
            os.chown(p, nobody.NOBODY, nobody.NOBODY)
    (path if where == "file" else folder).chmod(0o444 if where == "file" else 0o555)
    before = helpers.fingerprint(path), helpers.listing(folder)
    ran = nobody.as_nobody("projects", "rename", "alpha", "delta", str(path), "--yes")
    if ran.code == 70:
        pytest.skip(f"an unprivileged child cannot run omega-db from here: {ran.stderr.strip()}")
    assert ran.code == 2 and "read-only" in one_sentence(ran, path)
    assert (helpers.fingerprint(path), helpers.listing(folder)) == before


@pytest.mark.slow
def test_old_completes_from_the_database(tmp_path: Path) -> None:
    from tests.test_completion import complete

    path = seeded(tmp_path)
    offered, _ = complete("omega-db projects rename ", OMEGA_DB=str(path))
    assert offered == ["alpha", "beta"]  # every stored name a shell can insert as typed ('' and g\x1bamma are not)
    offered, _ = complete("omega-db projects rename al", OMEGA_DB=str(path))
    assert offered == ["alpha"]
    offered, _ = complete("omega-db projects ren", OMEGA_DB=str(path))
    assert offered == ["rename"]  # where the listing's DB may stand, the subcommand; files when it does not fit
    offered, _ = complete("omega-db projects ./x", OMEGA_DB=str(path))
    assert offered == []


def on_a_terminal_answering(answer: bytes, *args: str) -> tuple[int, str]:
    """Run omega-db with stdin and stderr on a pseudo-terminal, typing answer; (exit code, what the terminal showed)."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "omega_db", *args], stdin=slave, stderr=slave,
                            stdout=subprocess.DEVNULL)
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
    return proc.wait(timeout=60), shown.decode(errors="replace")


@pytest.mark.slow
def test_on_a_terminal_it_shows_what_moves_and_asks(tmp_path: Path) -> None:
    path = seeded(tmp_path)
    before = helpers.fingerprint(path), helpers.listing(tmp_path)
    code, shown = on_a_terminal_answering(b"n\n", "projects", "rename", "alpha", "beta", str(path))
    assert code == 1 and "6 outcomes" in shown and "'beta' has rows already" in shown.replace("\r\n", " ")
    assert "not confirmed" in shown
    assert (helpers.fingerprint(path), helpers.listing(tmp_path)) == before
    code, shown = on_a_terminal_answering(b"y\n", "projects", "rename", "alpha", "beta", str(path))
    assert code == 0, shown
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM outcomes WHERE project = 'alpha'").fetchone()[0] == 0
    conn.close()


@pytest.mark.parametrize("to", ["010_outcomes", "011_project_learning", "012_project_sessions"])
def test_older_versions_move_what_they_have(runner: CliRunner, tmp_path: Path, to: str) -> None:
    """Before 011 only active_project facts name a project; 011 and 012 move what their tables hold."""
    path = seeded(tmp_path, to=to)
    before = helpers.dump(path)
    ran = rename(runner, path, "alpha", "delta", "--yes", "--no-backup", "-f", "json")
    assert ran.code == 0, ran.stderr
    assert helpers.dump(path) == renamed_dump(before, "alpha", "delta")
    moved = {t["table"]: t["moved"] for t in json.loads(ran.stdout)["tables"]}
    assert moved["facts"] == 2 and ("outcomes" in moved) == (to != "010_outcomes")
    assert ("project_sessions" in moved) == (to == "012_project_sessions")


@pytest.mark.parametrize("what", ["missing", "folder", "text", "damaged"])
def test_a_bad_file_is_one_sentence_and_changes_nothing(runner: CliRunner, tmp_path: Path, what: str) -> None:
    path = tmp_path / "memory.db"
    if what == "folder":
        path.mkdir()
    elif what == "text":
        path.write_text("not a database\n" * 200)
    elif what == "damaged":
        seeded(tmp_path)
        data = bytearray(path.read_bytes())
        data[100:4096] = b"\xff" * (4096 - 100)  # the schema page overwritten
        path.write_bytes(bytes(data))
    before = helpers.listing(tmp_path), helpers.fingerprint(path) if path.is_file() else None
    ran = rename(runner, path, "alpha", "delta", "--yes")
    assert ran.code == 2, ran.stderr
    one_sentence(ran, path)
    assert (helpers.listing(tmp_path), helpers.fingerprint(path) if path.is_file() else None) == before


@pytest.mark.parametrize(
    "words",
    [
        ["projects", "{named}", "rename", "alpha", "delta", "--yes"],  # the listing's DB before the subcommand
        ["projects", "{named}", "rename", "--yes", "alpha", "delta"],
        ["projects", "-f", "json", "rename", "alpha", "delta", "{named}", "--yes"],  # the listing's option before it
        ["projects", "--projects-dir", "{folder}", "rename", "alpha", "delta", "{named}", "--yes"],
    ],
)
def test_words_before_rename_are_refused_and_no_database_changes(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, words: list[str]
) -> None:
    # `projects DB rename ...` once renamed in the default database ($OMEGA_DB), not the one named.
    default = seeded(tmp_path)
    named = tmp_path / "named.db"
    shutil.copyfile(default, named)
    monkeypatch.setenv("OMEGA_DB", str(default))
    before = {path: helpers.fingerprint(path) for path in (default, named)}
    ran = invoke(runner, *(word.format(named=named, folder=tmp_path) for word in words))
    assert ran.code == 2, ran.stderr
    assert "omega-db projects rename OLD NEW [DB] [OPTIONS]" in ran.stderr
    assert {path: helpers.fingerprint(path) for path in (default, named)} == before
    assert helpers.backups(default) == [] and helpers.backups(named) == []


def test_projects_with_more_than_one_word_names_the_words_and_rename(runner: CliRunner, tmp_path: Path) -> None:
    path = seeded(tmp_path)
    ran = invoke(runner, "projects", str(path), "alpha", "delta")
    assert ran.code == 2
    assert f"projects takes one DB, not 3 words ('{path}', 'alpha', 'delta')" in ran.stderr
    assert "omega-db projects rename OLD NEW [DB]" in ran.stderr


def test_the_usage_shows_rename_with_its_db_after_old_new(runner: CliRunner) -> None:
    ran = invoke(runner, "projects", "--help")
    assert ran.code == 0
    lines = ran.stdout.splitlines()
    assert lines[0] == "Usage: omega-db projects [OPTIONS] [DB]"
    assert lines[1] == "   or: omega-db projects rename OLD NEW [DB] [OPTIONS]"


@pytest.mark.parametrize(("new", "why"), [("x/y", "holds no '/'"), ("../../escape", "holds no '/'"),
                                          (".", "the folder itself or its parent"), ("é" * 128, "at most 255 bytes")])
def test_a_new_name_no_folder_can_have_is_renamed_with_a_note(runner: CliRunner, tmp_path: Path, new: str,
                                                              why: str) -> None:
    path = seeded(tmp_path)
    before = helpers.dump(path)
    ran = rename(runner, path, "alpha", new, "--yes", "--no-backup", "-f", "json")
    assert ran.code == 0, ran.stderr
    assert helpers.dump(path) == renamed_dump(before, "alpha", new)  # SPEC allows any NEW: done, and said
    flat = " ".join(ran.stderr.split())
    assert "no project folder can be named" in flat and why in flat and "OMEGA will never find" in flat


def test_a_name_a_folder_can_have_gets_no_folder_note(runner: CliRunner, tmp_path: Path) -> None:
    ran = rename(runner, seeded(tmp_path), "alpha", "é" * 127, "--yes", "--no-backup")  # 254 bytes
    assert ran.code == 0, ran.stderr
    assert "no project folder can be named" not in ran.stderr
