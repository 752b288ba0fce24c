"""Bad files and bad arguments, for every command: the answer SPEC.md promises, never a traceback.

Exit 2 for a bad argument and for a path that is missing (migrate creates it), a
folder, unreadable or not a SQLite database; one sentence on stderr naming the
file; not a byte changed. Read-only and unreadable cases run the command in a
forked child that has dropped to an unprivileged user (root ignores file modes).
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import shutil
import sqlite3
import sys
import tempfile
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

import omega_db
from omega_db.cli import app
from tests import helpers

COMMANDS = ("migrate", "status", "verify", "lessons", "outcomes", "tasks")
READERS = tuple(c for c in COMMANDS if c != "migrate")
LISTINGS = ("lessons", "outcomes", "tasks")
NOBODY = 65534


@dataclass(frozen=True)
class Ran:
    """What a command did: exit code and its two streams."""

    code: int
    stdout: str
    stderr: str


def invoke(runner: CliRunner, *args: str) -> Ran:
    """Run the CLI in-process; an exception escaping the error boundary fails the test."""
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"omega-db {' '.join(args)} raised {result.exception!r}") from result.exception
    assert "Traceback" not in result.stderr + result.stdout
    return Ran(result.exit_code, result.stdout, result.stderr)


def args_for(command: str, path: Path) -> list[str]:
    """The command on path, asking for JSON (read commands) so the answer can be parsed."""
    if command == "migrate":
        return [command, str(path)]
    return [command, str(path), "-f", "json"]


def one_sentence(ran: Ran, path: Path) -> str:
    """The single error line, which names the file; nothing on stdout."""
    assert "Traceback" not in ran.stderr
    lines = [line for line in ran.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, ran.stderr
    assert str(path) in lines[0], ran.stderr
    assert ran.stdout.strip() == ""
    return lines[0]


def listing(folder: Path) -> list[str]:
    """The names in a folder: nothing may appear beside a database a command refused."""
    return sorted(p.name for p in folder.iterdir())


def test_every_command_is_covered() -> None:
    """A new command must be added to COMMANDS (and so to every case below)."""
    import typer.main

    assert set(typer.main.get_command(app).commands) == set(COMMANDS)  # type: ignore[attr-defined]


# --- missing, folder, text, empty -----------------------------------------------------------


@pytest.mark.parametrize("command", READERS)
def test_a_missing_path_is_exit_2_and_is_not_created(runner: CliRunner, tmp_path: Path, command: str) -> None:
    path = tmp_path / "nowhere" / "memory.db"
    ran = invoke(runner, *args_for(command, path))
    assert ran.code == 2
    assert "does not exist" in one_sentence(ran, path)
    assert listing(tmp_path) == []


def test_migrate_dry_run_does_not_create_a_missing_path(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "memory.db"
    ran = invoke(runner, "migrate", "--dry-run", str(path))
    assert ran.code == 0, ran.stderr
    assert listing(tmp_path) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_a_folder_is_exit_2(runner: CliRunner, tmp_path: Path, command: str) -> None:
    path = tmp_path / "memory.db"
    path.mkdir()
    ran = invoke(runner, *args_for(command, path))
    assert ran.code == 2
    assert "folder" in one_sentence(ran, path)
    assert listing(tmp_path) == ["memory.db"] and listing(path) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_a_text_file_is_exit_2_and_untouched(runner: CliRunner, tmp_path: Path, command: str) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("These are my notes, not a database.\n" * 40)
    before = helpers.fingerprint(path)
    ran = invoke(runner, *args_for(command, path))
    assert ran.code == 2
    assert "not a SQLite database" in one_sentence(ran, path)
    assert helpers.fingerprint(path) == before
    assert listing(tmp_path) == ["notes.txt"]


def odd_path(folder: Path, kind: str) -> Path:
    """Paths that are not a database file in less obvious ways."""
    if kind == "dangling-link":
        (folder / "memory.db").symlink_to(folder / "gone" / "memory.db")
        return folder / "memory.db"
    if kind == "link-loop":
        (folder / "a.db").symlink_to(folder / "b.db")
        (folder / "b.db").symlink_to(folder / "a.db")
        return folder / "a.db"
    if kind == "through-a-file":
        (folder / "notes").write_text("a file, not a folder\n")
        return folder / "notes" / "memory.db"
    if kind == "name-too-long":
        return folder / ("x" * 300 + ".db")
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["dangling-link", "link-loop", "through-a-file", "name-too-long"])
@pytest.mark.parametrize("command", COMMANDS)
def test_an_odd_path_is_exit_2_and_nothing_is_created(
    runner: CliRunner, tmp_path: Path, command: str, kind: str
) -> None:
    path = odd_path(tmp_path, kind)
    before = listing(tmp_path)
    ran = invoke(runner, *args_for(command, path))
    assert ran.code == 2, ran.stderr
    one_sentence(ran, path)
    assert listing(tmp_path) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_a_fifo_is_refused_without_opening_it(tmp_path: Path, command: str) -> None:
    """Opening a FIFO would block for ever: a real process, with a time limit."""
    path = tmp_path / "memory.db"
    os.mkfifo(path)
    proc = helpers.run_cli(*args_for(command, path), timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert "not a regular file" in one_sentence(Ran(proc.returncode, proc.stdout, proc.stderr), path)


@pytest.mark.parametrize("command", COMMANDS)
def test_an_empty_file_is_an_empty_database(runner: CliRunner, tmp_path: Path, command: str) -> None:
    """0 bytes: status and verify answer, listings name the missing migration, migrate migrates."""
    path = tmp_path / "memory.db"
    path.touch()
    before = helpers.fingerprint(path)
    ran = invoke(runner, *args_for(command, path))
    if command == "migrate":
        assert ran.code == 0, ran.stderr
        assert helpers.recorded(path)[-1] == "011_project_learning"
        return
    if command == "status":
        assert ran.code == 0, ran.stderr
        report = json.loads(ran.stdout)
        assert report["current"] is None and len(report["pending"]) == 11
    elif command == "verify":
        assert ran.code == 0, ran.stderr  # pending migrations are a warning, not a failure
        assert json.loads(ran.stdout)["checks"]
    else:
        assert ran.code == 2
        missing = "005_scheduled_tasks" if command == "tasks" else "010_outcomes"
        assert missing in one_sentence(ran, path)
    assert helpers.fingerprint(path) == before
    assert listing(tmp_path) == ["memory.db"]


# --- damaged files -------------------------------------------------------------------------

GARBAGE = bytes(range(256)) * 64  # deterministic, not a valid b-tree page of any kind


def seeded(path: Path, to: str | None = None) -> Path:
    """A database with rows in every table (at 011, or at `to`)."""
    helpers.build(path, to=to)
    helpers.seed(path)
    return path


def page_size(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()


def damage(path: Path, how: str) -> None:
    """Damage a database file as a crash, a bad copy or a bad disk would."""
    size = path.stat().st_size
    if how == "truncated-half":
        os.truncate(path, size // 2)
    elif how == "truncated-header":
        os.truncate(path, 60)
    elif how == "schema-page":
        with path.open("r+b") as f:  # page 1 after the 100-byte header: sqlite_master
            f.seek(100)
            f.write(GARBAGE[: page_size(path) - 100])
    elif how == "table-pages":
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        roots = [r for (r,) in conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name IN ('outcomes', 'lessons', 'scheduled_tasks')"
        )]
        conn.close()
        ps = page_size(path)
        with path.open("r+b") as f:
            for root in roots:
                f.seek((root - 1) * ps)
                f.write(GARBAGE[:ps])
    else:
        raise ValueError(how)


@pytest.mark.parametrize("how", ["truncated-half", "truncated-header", "schema-page", "table-pages"])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_damaged_database_gets_one_sentence_and_is_untouched(
    runner: CliRunner, tmp_path: Path, command: str, how: str
) -> None:
    """Damage: verify reports it (exit 1); every other command refuses with one sentence."""
    # migrate gets a 010 file so it has work to do: 011 must read the damaged tables.
    path = seeded(tmp_path / "memory.db", to="010" if command == "migrate" else None)
    damage(path, how)
    before = helpers.fingerprint(path)
    ran = invoke(runner, *args_for(command, path))
    if command == "verify":
        assert ran.code == 1, ran.stderr
        report = json.loads(ran.stdout)
        assert report["ok"] is False
        assert any(c["status"] == "fail" for c in report["checks"])
    else:
        assert ran.code == 2 if command != "migrate" else ran.code in (1, 2), ran.stderr
        sentence = one_sentence(ran, path)
        assert "damaged" in sentence or "not a SQLite database" in sentence or "rolled back" in sentence
    assert helpers.fingerprint(path) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_a_real_process_prints_no_traceback(tmp_path: Path, command: str) -> None:
    """Outside the test runner too: a damaged file gives exit 2 and one line, no traceback."""
    path = seeded(tmp_path / "memory.db", to="010" if command == "migrate" else None)
    damage(path, "schema-page")
    proc = helpers.run_cli(*args_for(command, path))
    expected = 1 if command == "verify" else 2
    assert proc.returncode == expected, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    if command != "verify":
        one_sentence(Ran(proc.returncode, proc.stdout, proc.stderr), path)


# --- permissions: an unprivileged child ----------------------------------------------------


def _preload() -> None:
    """Import every module a command may import lazily: the child cannot read root's files."""
    for info in pkgutil.walk_packages(omega_db.__path__, "omega_db."):
        if info.name != "omega_db.__main__":
            importlib.import_module(info.name)
    for name in ("rich.console", "rich.table", "rich.progress", "rich.markup", "rich.text"):
        importlib.import_module(name)


def unprivileged(*args: str) -> Ran:
    """omega-db ARGS in a forked child running as 'nobody' (or as ourselves when not root)."""
    _preload()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 70
            try:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
                sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
                if os.geteuid() == 0:
                    os.setgroups([])
                    os.setgid(NOBODY)
                    os.setuid(NOBODY)
                try:
                    app(args=list(args), prog_name="omega-db")
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        err.seek(0)
        return Ran(os.waitstatus_to_exitcode(status), out.read().decode(), err.read().decode())


@pytest.fixture(scope="module")
def child_can_run() -> None:
    """Skip (saying why) where 'nobody' cannot read omega-db's own files, e.g. a clone under /root."""
    folder = Path(tempfile.mkdtemp(prefix="omega-db-probe-"))
    try:
        os.chmod(folder, 0o755)
        ran = unprivileged("migrate", "--dry-run", str(folder / "memory.db"))
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
            os.chown(p, NOBODY, NOBODY)


def database_in(folder: Path, *, to: str | None = "010") -> Path:
    """A seeded database in its own folder, both owned by the child."""
    folder.mkdir()
    path = seeded(folder / "memory.db", to=to)
    give_to_child(folder, path)
    return path


def test_the_child_really_is_unprivileged(shared_dir: Path) -> None:
    """The mechanism itself: a 0444 file cannot be written by the child, while we could."""
    path = database_in(shared_dir / "db")
    path.chmod(0o444)
    ran = unprivileged("migrate", "--no-backup", str(path))
    assert ran.code == 2, ran.stderr
    assert helpers.recorded(path)[-1] == "010_outcomes"


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unreadable_file_is_exit_2(shared_dir: Path, command: str) -> None:
    path = database_in(shared_dir / "db")
    path.chmod(0o000)
    before = helpers.fingerprint(path)
    ran = unprivileged(*args_for(command, path))
    assert ran.code == 2, ran.stderr
    assert "readable" in one_sentence(ran, path)
    assert helpers.fingerprint(path) == before


@pytest.mark.parametrize("where", ["file", "folder"])
@pytest.mark.parametrize("command", COMMANDS)
def test_read_only_file_or_folder(shared_dir: Path, command: str, where: str) -> None:
    """Read commands answer from a read-only file or folder; migrate refuses, untouched."""
    path = database_in(shared_dir / "db")
    (path if where == "file" else path.parent).chmod(0o444 if where == "file" else 0o555)
    before = helpers.fingerprint(path), listing(path.parent)
    ran = unprivileged(*args_for(command, path))
    if command == "migrate":
        assert ran.code == 2, ran.stderr
        assert "read-only" in one_sentence(ran, path)
    else:
        assert ran.code == 0, ran.stderr
        json.loads(ran.stdout)
    assert (helpers.fingerprint(path), listing(path.parent)) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_a_missing_file_in_a_read_only_folder(shared_dir: Path, command: str) -> None:
    folder = shared_dir / "db"
    folder.mkdir()
    give_to_child(folder)
    folder.chmod(0o555)
    path = folder / "memory.db"
    ran = unprivileged(*args_for(command, path))
    assert ran.code == 2, ran.stderr
    sentence = one_sentence(ran, path)
    assert ("cannot create" if command == "migrate" else "does not exist") in sentence
    assert listing(folder) == []


@pytest.mark.parametrize("command", READERS)
def test_wal_database_in_a_read_only_folder_while_omega_has_it_open(shared_dir: Path, command: str) -> None:
    """OMEGA holds the file open in WAL mode (-wal and -shm exist): reads work, no byte changes."""
    path = database_in(shared_dir / "db", to=None)
    omega = sqlite3.connect(path, isolation_level=None)
    try:
        assert omega.execute("PRAGMA journal_mode = wal").fetchone()[0] == "wal"
        omega.execute("INSERT INTO outcomes (id, sender_id, domain, score, lesson) VALUES ('in-wal', 's', 'd', 1, 'x')")
        give_to_child(*(p for p in path.parent.iterdir()))
        path.parent.chmod(0o555)
        before = helpers.fingerprint(path), helpers.fingerprint(Path(f"{path}-wal")), listing(path.parent)
        ran = unprivileged(*args_for(command, path))
        assert ran.code == 0, ran.stderr
        answer = json.loads(ran.stdout)
        if command == "outcomes":
            assert "in-wal" in {row["id"] for row in answer}  # read through the WAL
        after = helpers.fingerprint(path), helpers.fingerprint(Path(f"{path}-wal")), listing(path.parent)
        assert after == before
    finally:
        omega.close()


@pytest.mark.parametrize("command", READERS)
def test_wal_database_in_a_read_only_folder_without_shm(shared_dir: Path, command: str) -> None:
    """No OMEGA, no -shm, and it cannot be created: one sentence, exit 2, untouched."""
    path = database_in(shared_dir / "db", to=None)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode = wal").fetchone()[0] == "wal"
    conn.close()
    path.parent.chmod(0o555)
    before = helpers.fingerprint(path), listing(path.parent)
    ran = unprivileged(*args_for(command, path))
    assert ran.code == 2, ran.stderr
    assert "folder is read-only" in one_sentence(ran, path)
    assert (helpers.fingerprint(path), listing(path.parent)) == before


# --- bad option values ---------------------------------------------------------------------

COMMON_BAD = [
    (["--format", "xml"], "--format"),
    (["--timeout", "-1"], "--timeout"),
    (["--timeout", "soon"], "--timeout"),
    (["--timeout", "nan"], "--timeout"),
    (["--bogus"], "--bogus"),
]
SPECIFIC_BAD = [
    ("migrate", ["--to", "999"], "--to"),
    ("migrate", ["--to", "bogus"], "--to"),
    ("migrate", ["--to", ""], "--to"),
    ("migrate", ["--to", "005"], "--to"),  # already passed: the file is at 011
    ("lessons", ["--limit", "-1"], "--limit"),
    ("lessons", ["--limit", "ten"], "--limit"),
    ("lessons", ["--limit", str(2**64)], "--limit"),
    ("lessons", ["--only"], "--only"),
    ("outcomes", ["--hours", "0"], "--hours"),
    ("outcomes", ["--hours", "-3"], "--hours"),
    ("outcomes", ["--hours", "nan"], "--hours"),
    ("outcomes", ["--hours", "inf"], "--hours"),
    ("outcomes", ["--hours", "yesterday"], "--hours"),
    ("outcomes", ["--limit", "-5"], "--limit"),
    ("outcomes", ["--limit", str(2**64)], "--limit"),
    ("tasks", ["--status", "done"], "--status"),
    ("tasks", ["--limit", "-1"], "--limit"),
]
BAD_OPTIONS = [(c, a, o) for c in COMMANDS for a, o in COMMON_BAD] + SPECIFIC_BAD


@pytest.fixture(scope="module")
def seeded_011(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded 011 database shared by the bad-option cases (none may change it)."""
    return seeded(tmp_path_factory.mktemp("bad-options") / "memory.db")


@pytest.mark.parametrize(("command", "extra", "option"), BAD_OPTIONS, ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_a_bad_option_value_is_exit_2(runner: CliRunner, seeded_011: Path, command: str, extra: list[str], option: str) -> None:
    before = helpers.fingerprint(seeded_011)
    ran = invoke(runner, command, str(seeded_011), *extra)
    assert ran.code == 2, (ran.stdout, ran.stderr)
    assert option in ran.stderr
    assert ran.stdout.strip() == ""
    assert helpers.fingerprint(seeded_011) == before
    assert listing(seeded_011.parent) == ["memory.db"]


@pytest.mark.parametrize("command", COMMANDS)
def test_two_database_arguments_are_exit_2(runner: CliRunner, seeded_011: Path, command: str) -> None:
    before = helpers.fingerprint(seeded_011)
    ran = invoke(runner, command, str(seeded_011), str(seeded_011))
    assert ran.code == 2
    assert helpers.fingerprint(seeded_011) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_a_file_name_that_is_not_utf8_works(tmp_path: Path, command: str) -> None:
    """Linux file names are bytes: b'\\xff' in a name must not stop any command."""
    path = tmp_path / os.fsdecode(b"m\xe9moire-\xff.db")
    seeded(path, to="010")
    args = [*args_for(command, path), *(["-f", "json"] if command == "migrate" else [])]
    # A strict stdout, as under en_US.UTF-8 (this machine's C locale would hide the problem).
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    proc = helpers.run_cli(*args, errors="surrogateescape", env=env)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    if isinstance(answer, dict):
        assert answer["database"] == str(path)  # the same bytes back
    assert "Traceback" not in proc.stderr
