"""`omega-db projects`: every project of the file and of the projects folder, counted as SQL here counts."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omega_db.chain import files
from omega_db.cli import app
from tests import helpers, projectkit

VERSIONS = [m.name for m in files.discover()]


def folders_in(tmp_path: Path, *names: str) -> Path:
    """A projects folder holding a folder per name (and a plain file, which is no project)."""
    root = tmp_path / "projects"
    root.mkdir()
    for name in names:
        (root / name).mkdir()
    (root / "README.md").write_text("not a project\n")
    return root


def listed(runner: CliRunner, path: Path, projects_dir: Path) -> tuple[list[dict[str, object]], str]:
    ran = runner.invoke(app, ["projects", str(path), "--projects-dir", str(projects_dir), "-f", "json"])
    assert ran.exit_code == 0, ran.stderr
    return json.loads(ran.stdout), ran.stderr


def test_counts_match_sql_at_013(runner: CliRunner, tmp_path: Path) -> None:
    path = projectkit.seed(helpers.build(tmp_path / "memory.db"))
    root = folders_in(tmp_path, "beta", "folder-only")
    rows, err = listed(runner, path, root)
    assert rows == projectkit.expected(path, {"beta", "folder-only"})
    assert [r["project"] for r in rows][:2] == ["", "alpha"]  # general first, then by name
    by_name = {r["project"]: r for r in rows}
    assert by_name["folder-only"]["outcomes"] == 0 and by_name["folder-only"]["folder"] is True
    assert by_name["alpha"]["folder"] is False and by_name["alpha"]["active_for"] == 2
    assert by_name["parent-only"]["sessions"] == 0  # named only as a parent project
    assert list(rows[0]) == ["project", "outcomes", "lessons", "pending_tasks", "conversations", "sessions",
                             "active_for", "last_activity", "folder"]
    orphans = sum(1 for r in rows if r["folder"] is False)
    assert orphans == 4 and f"{orphans} orphan project(s)" in err


@pytest.mark.parametrize("version", ["000", *VERSIONS, "014"])
def test_every_version(runner: CliRunner, tmp_path: Path, version: str) -> None:
    """Before a table or column exists its counts are 0; before 011 every row is general; a newer 014 too."""
    path = tmp_path / "memory.db"
    if version == "000":
        sqlite3.connect(path).close()
    else:
        helpers.build(path, to=None if version == "014" else version)
        projectkit.seed(path)
    if version == "014":  # what a newer OMEGA might add: a table, a column
        conn = helpers.connect(path)
        conn.executescript("CREATE TABLE project_notes (project TEXT NOT NULL, note TEXT);"
                           "ALTER TABLE outcomes ADD COLUMN weight REAL;"
                           "INSERT INTO _migrations (name) VALUES ('014_future_things');")
        conn.close()
    root = folders_in(tmp_path, "alpha")
    before = helpers.fingerprint(path)
    rows, _ = listed(runner, path, root)
    assert rows == projectkit.expected(path, {"alpha"})
    assert helpers.fingerprint(path) == before
    if version < "011":  # only the general scope has rows; a fact may still name a project
        assert all(r["outcomes"] == r["lessons"] == r["pending_tasks"] == 0 for r in rows[1:])


def test_reads_only_also_beside_omega_in_wal(runner: CliRunner, tmp_path: Path) -> None:
    path = projectkit.seed(helpers.build(tmp_path / "memory.db"))
    omega = helpers.connect(path)
    omega.execute("PRAGMA journal_mode = WAL")
    omega.execute("UPDATE outcomes SET lesson = 'changed' WHERE id = 'o1'")  # held in the -wal
    try:
        before = helpers.fingerprint(path), (tmp_path / "memory.db-wal").read_bytes()
        rows, _ = listed(runner, path, folders_in(tmp_path))
        assert rows == projectkit.expected(path, set())
        assert (helpers.fingerprint(path), (tmp_path / "memory.db-wal").read_bytes()) == before
    finally:
        omega.close()


def test_table_escapes_names_and_marks_orphans(runner: CliRunner, tmp_path: Path) -> None:
    path = projectkit.seed(helpers.build(tmp_path / "memory.db"))
    ran = runner.invoke(app, ["projects", str(path), "--projects-dir", str(folders_in(tmp_path, "beta"))])
    assert ran.exit_code == 0, ran.stderr
    assert "\x1b" not in ran.stdout and "g\\x1bamma" in ran.stdout
    lines = {line.split()[0]: line for line in ran.stdout.splitlines()[3:]}
    general = projectkit.expected(path, {"beta"})[0]
    assert lines["(general)"].split()[1:] == [
        *(str(general[k]) for k in ("outcomes", "lessons", "pending_tasks", "conversations", "sessions", "active_for")),
        *str(general["last_activity"]).split(),
    ]
    assert lines["alpha"].rstrip().endswith("no: orphan") and lines["beta"].rstrip().endswith("yes")
    assert "last activity (UTC)" in ran.stdout


def test_an_unreadable_projects_folder_is_null_with_a_note(runner: CliRunner, tmp_path: Path) -> None:
    path = projectkit.seed(helpers.build(tmp_path / "memory.db"))
    rows, err = listed(runner, path, tmp_path / "nowhere")
    assert rows == projectkit.expected(path, None)
    assert all(r["folder"] is None for r in rows) and "cannot be read" in err and "orphan" not in err


def test_default_projects_folder_is_omegas(runner: CliRunner, tmp_path: Path) -> None:
    path = projectkit.seed(helpers.build(tmp_path / "memory.db"))
    (Path(os.environ["HOME"]) / ".omega" / "projects" / "alpha").mkdir(parents=True)
    ran = runner.invoke(app, ["projects", str(path), "-f", "json"])
    assert ran.exit_code == 0, ran.stderr
    assert json.loads(ran.stdout) == projectkit.expected(path, {"alpha"})


@pytest.mark.parametrize("args", [["extra"], ["--bogus"], ["--projects-dir", ""]])
def test_bad_arguments_are_exit_2(runner: CliRunner, tmp_path: Path, args: list[str]) -> None:
    path = projectkit.seed(helpers.build(tmp_path / "memory.db"))
    ran = runner.invoke(app, ["projects", str(path), *args])
    assert ran.exit_code == 2


def test_an_empty_projects_dir_is_not_the_current_folder(runner: CliRunner, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = projectkit.seed(helpers.build(tmp_path / "memory.db"))
    (tmp_path / "alpha").mkdir()  # were '' the current folder, alpha would have a folder
    monkeypatch.chdir(tmp_path)
    for command in (["projects", str(path)], ["projects", "rename", "alpha", "zeta", str(path), "--yes"]):
        ran = runner.invoke(app, [*command, "--projects-dir", ""])
        assert ran.exit_code == 2 and "'' names no folder" in ran.stderr, ran.stderr


def test_a_half_applied_file_is_listed_with_a_note_pointing_to_repair(runner: CliRunner, tmp_path: Path) -> None:
    path = projectkit.seed(helpers.build(tmp_path / "memory.db", to="011_project_learning"))
    conn = helpers.connect(path)
    conn.execute("ALTER TABLE conversations ADD COLUMN project TEXT NOT NULL DEFAULT ''")  # 012 begun, not recorded
    conn.close()
    before = helpers.fingerprint(path)
    rows, err = listed(runner, path, folders_in(tmp_path))
    assert rows == projectkit.expected(path, set())
    assert "012_project_sessions is half-applied" in err and "migrate --repair" in err
    assert helpers.fingerprint(path) == before


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_a_folder_name_that_is_not_utf8_is_shown_with_u_fffd(tmp_path: Path, fmt: str) -> None:
    import subprocess
    import sys

    path = projectkit.seed(helpers.build(tmp_path / "memory.db"))
    root = folders_in(tmp_path, "beta")
    os.mkdir(os.fsencode(root) + b"/x\xff\xfe")  # a name no UTF-8 reader can take as it is
    ran = subprocess.run([sys.executable, "-m", "omega_db", "projects", str(path), "--projects-dir", str(root),
                          "-f", fmt], capture_output=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    text = ran.stdout.decode("utf-8")  # strict: not one raw byte of the name reaches stdout
    if fmt == "json":
        rows = json.loads(text)
        assert {"project": "x\ufffd\ufffd", "folder": True} == {k: v for k, v in rows[-1].items() if k in ("project", "folder")}
    else:
        assert "x\ufffd\ufffd" in text
    assert "1 folder name(s) in" in ran.stderr.decode() and "not valid UTF-8" in ran.stderr.decode()
