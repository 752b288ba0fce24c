"""Output that cannot be written, done for real: /dev/full, a closed stdout or stderr, an ASCII-only
stdout, a reader that leaves early. Never a traceback: a closed pipe ends quietly with exit 0,
anything else is one sentence and exit 1. And --debug works after the subcommand too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import helpers, listing_seed
from tests.inputkit import COMMANDS, required

BIG = 20_000  # lessons: far more output than a pipe or a stdio buffer holds


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The listing dataset (non-ASCII names included) plus many lessons."""
    path = listing_seed.build_projects(tmp_path_factory.mktemp("output") / "memory.db")
    conn = helpers.connect(path)
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO lessons (id, sender_id, domain, rule, project) VALUES (?, 'bulk', ?, ?, 'bulk')",
        ((f"bulk-{i}", f"d{i}", f"rule {i}: keep answers short, café") for i in range(BIG)),
    )
    conn.execute("COMMIT")
    conn.close()
    return path


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONUNBUFFERED", "OMEGA_DB_DEBUG")}
    return {**base, **extra}


def run(args: list[str], **popen: object) -> tuple[int, bytes, str]:
    popen.setdefault("env", env())
    popen.setdefault("stdout", subprocess.PIPE)
    proc = subprocess.Popen([sys.executable, "-m", "omega_db", *args], stderr=subprocess.PIPE, **popen)  # type: ignore[call-overload]
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out or b"", err.decode("utf-8", "replace")


def sentence(err: str) -> str:
    """The one line on stderr: no traceback, no 'unexpected'."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "unexpected" not in err and "report it" not in err
    return lines[0]


READS = [
    ["lessons", "{db}"],
    ["lessons", "{db}", "-f", "json"],
    ["lessons", "{db}", "-f", "csv"],
    ["outcomes", "{db}", "--project", "nope"],  # "Nothing matched": one short line
    ["status", "{db}"],
    ["status", "{db}", "-f", "json"],
    ["verify", "{db}", "--quick"],
    ["tasks", "{db}", "--status", "all", "-f", "csv"],
]


def filled(args: list[str], database: Path) -> list[str]:
    return [str(database) if a == "{db}" else a for a in args]


@pytest.mark.parametrize("unbuffered", [False, True])
@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_a_full_disk_is_one_sentence_and_exit_1(database: Path, args: list[str], unbuffered: bool) -> None:
    extra = {"PYTHONUNBUFFERED": "1"} if unbuffered else {}
    with open("/dev/full", "wb") as full:
        code, _, err = run(filled(args, database), stdout=full, env=env(**extra))
    assert code == 1, err
    assert "no room for the output" in sentence(err)


def test_a_migration_whose_report_meets_a_full_disk_says_so(tmp_path: Path) -> None:
    path = helpers.build(tmp_path / "memory.db", to="010")
    with open("/dev/full", "wb") as full:
        code, _, err = run(["migrate", str(path), "--no-backup"], stdout=full)
    assert code == 1 and "no room for the output" in sentence(err)
    # The migration was committed: the sentence says so, or a cron job reads exit 1 as a failed migrate.
    assert sentence(err).startswith(f"omega-db: error: {path} was migrated to 013_multi_lessons, but its report was not")
    assert helpers.recorded(path)[-1] == "013_multi_lessons"


@pytest.mark.parametrize(("args", "done"), [
    (["prune", "{db}", "--audit-log", "1d", "--yes", "--no-backup"], "{db} was pruned"),
    (["backup", "{db}"], "the backup "),
    (["projects", "rename", "my-app2", "my-app-3", "{db}", "--yes", "--no-backup"], "the project was renamed in {db}"),
])
def test_a_write_whose_report_meets_a_full_disk_says_what_was_done(
    database: Path, tmp_path: Path, args: list[str], done: str
) -> None:
    path = tmp_path / "memory.db"
    path.write_bytes(database.read_bytes())
    with open("/dev/full", "wb") as full:
        code, _, err = run(filled(args, path), stdout=full)
    said = sentence(err)
    assert code == 1 and "no room for the output" in said
    assert said.startswith("omega-db: error: " + done.replace("{db}", str(path))), said
    dry = ["prune", str(path), "--audit-log", "1d", "--dry-run"]  # changed nothing: nothing to say
    with open("/dev/full", "wb") as full:
        assert sentence(run(dry, stdout=full)[2]).startswith("omega-db: error: there is no room")


def close_fd(fd: int):  # noqa: ANN201 (a preexec_fn)
    return lambda: os.close(fd)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_closed_stdout_is_one_sentence_and_changes_nothing(database: Path, tmp_path: Path, command: str) -> None:
    path = tmp_path / "memory.db"
    path.write_bytes(database.read_bytes())
    before = helpers.fingerprint(path)
    code, _, err = run([command, str(path), *required(command)], stdout=subprocess.DEVNULL, preexec_fn=close_fd(1))
    assert code == 1, err
    assert "standard output is closed" in sentence(err)
    assert helpers.fingerprint(path) == before  # not migrated, and no output landed in the file


def test_a_closed_stderr_keeps_the_exit_status(database: Path, tmp_path: Path) -> None:
    code, _, _ = run(["status", str(tmp_path / "missing.db")], preexec_fn=close_fd(2))
    assert code == 2
    not_a_db = tmp_path / "text.db"
    not_a_db.write_text("hello\n" * 100)
    assert run(["lessons", str(not_a_db)], preexec_fn=close_fd(2))[0] == 2
    code, out, _ = run(["lessons", str(database), "-f", "json"], preexec_fn=close_fd(2))
    assert code == 0 and len(json.loads(out)) > BIG
    before = helpers.fingerprint(database)
    assert run(["verify", str(database)], preexec_fn=close_fd(2))[0] == 0
    assert helpers.fingerprint(database) == before


def test_an_ascii_stdout_shows_tables_with_escapes(database: Path) -> None:
    for args in (["lessons", str(database), "--project", "café-ü", "--only"], ["status", str(database)]):
        code, out, err = run(args, env=env(PYTHONIOENCODING="ascii"))
        assert code == 0, err
        assert err == "" and out.isascii()
        assert "caf\\xe9-\\xfc" in out.decode()


def test_an_ascii_stdout_cannot_carry_csv_exactly_one_sentence(database: Path) -> None:
    code, out, err = run(["lessons", str(database), "-f", "csv"], env=env(PYTHONIOENCODING="ascii"))
    assert code == 1
    line = sentence(err)
    assert "ascii" in line and "UTF-8" in line


def test_json_is_utf8_whatever_the_encoding(database: Path) -> None:
    for args in (["lessons", str(database), "--project", "café-ü", "--only", "-f", "json"],
                 ["status", str(database), "-f", "json"]):
        code, out, err = run(args, env=env(PYTHONIOENCODING="ascii"))
        assert code == 0, err
        assert "café-ü" in out.decode("utf-8")
        json.loads(out)
    rows = json.loads(run(["lessons", str(database), "--project", "café-ü", "--only", "-f", "json"],
                          env=env(PYTHONIOENCODING="ascii"))[1])
    assert rows == listing_seed.expected_lessons(database, project="café-ü", only=True)


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_a_reader_that_leaves_after_one_line_is_exit_0_and_quiet(database: Path, fmt: str) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "omega_db", "lessons", str(database), "-f", fmt],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()  # `| head -1`
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, err
    assert err == b""


@pytest.mark.parametrize("command", COMMANDS)
def test_debug_is_accepted_after_the_subcommand(tmp_path: Path, command: str) -> None:
    path = tmp_path / "not-a-db.db"
    path.write_text("just text, not SQLite\n" * 50)
    args = [command, str(path), *required(command)] + (["--no-backup"] if command == "migrate" else [])
    plain = helpers.run_cli(*args, env=env())
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    for debug in ([*args, "--debug"], ["--debug", *args], [command, "--debug", str(path), *args[2:]]):
        shown = helpers.run_cli(*debug, env=env())
        assert shown.returncode == 2, debug
        assert "Traceback" in shown.stderr and str(path) in shown.stderr.splitlines()[-1], debug
