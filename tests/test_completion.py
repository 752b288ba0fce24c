"""Shell completion: --project, --sender, --domain and --to complete from the database on the line.

Run as the shells run it: omega-db started with _OMEGA_DB_COMPLETE and the words of the
command line in the environment (bash: COMP_WORDS/COMP_CWORD; zsh and fish:
_TYPER_COMPLETE_ARGS), answering on stdout.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import helpers, listing_seed


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = listing_seed.build_projects(tmp_path_factory.mktemp("complete") / "memory.db")
    conn = helpers.connect(path)
    conn.execute(  # a name no shell should be handed: it holds an escape sequence
        "INSERT INTO lessons (id, sender_id, domain, rule, project) VALUES ('x', 'eve', 'd', 'r', ?)",
        ("my-\x1b]52;c;eA==\x07evil",),
    )
    conn.close()
    return path


def stored(path: Path, sql: str) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return sorted({v for (v,) in conn.execute(sql)})
    finally:
        conn.close()


def complete(line: str, shell: str = "bash", **env: str) -> tuple[list[str], float]:
    """What omega-db offers for the last word of line (a trailing space: a new, empty word)."""
    words = line.split(" ")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("COMP_", "_TYPER"))}
    environ["_OMEGA_DB_COMPLETE"] = f"complete_{shell}"
    if shell == "bash":
        environ.update(COMP_WORDS=line, COMP_CWORD=str(len(words) - 1))
    else:
        environ["_TYPER_COMPLETE_ARGS"] = line
        if shell == "fish":
            environ["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"
    environ.update(env)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "omega_db"], capture_output=True, text=True, env=environ,
                          timeout=60)
    took = time.monotonic() - started
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return [v for v in done.stdout.split("\n") if v], took


def test_project_completes_from_the_database_named_on_the_line(database: Path) -> None:
    projects = [p for p in stored(database, "SELECT project FROM lessons UNION SELECT project FROM outcomes "
                                            "UNION SELECT project FROM scheduled_tasks") if p and "\x1b" not in p]
    for command in ("lessons", "outcomes", "tasks"):
        offered, _ = complete(f"omega-db {command} {database} --project ")
        assert offered == projects, command
        assert complete(f"omega-db {command} --project my {database}")[0] == []  # the DB itself: the shell's files
        assert complete(f"omega-db {command} --limit 3 {database} --project my")[0] == ["my-app", "my-app2"]


def test_the_escape_sequence_is_never_offered(database: Path) -> None:
    offered, _ = complete(f"omega-db lessons {database} --project my-")
    assert offered == ["my-app", "my-app2"]


def test_without_a_db_argument_it_reads_omega_db(database: Path) -> None:
    offered, _ = complete("omega-db lessons --project café", OMEGA_DB=str(database))
    assert offered == ["café-ü"]


def test_sender_and_domain(database: Path) -> None:
    senders = stored(database, "SELECT sender_id FROM lessons UNION SELECT sender_id FROM outcomes "
                               "UNION SELECT sender_id FROM scheduled_tasks")
    assert complete(f"omega-db outcomes {database} --sender ")[0] == senders
    assert complete(f"omega-db tasks {database} --sender t")[0] == ["télé-42"]
    assert complete(f"omega-db lessons {database} --domain ")[0] == ["coding", "d", "trading", "writing"]


def test_to_offers_where_the_database_can_go(tmp_path: Path) -> None:
    path = helpers.build(tmp_path / "memory.db", to="009")
    later = ["010_outcomes", "011_project_learning", "012_project_sessions", "013_multi_lessons"]
    assert complete(f"omega-db migrate {path} --to ")[0] == ["009_task_retry", *later]
    assert complete(f"omega-db migrate {path} --to 01")[0] == later
    fresh = complete(f"omega-db migrate {tmp_path / 'new.db'} --to 00")[0]  # no file yet: every migration
    assert fresh == [f"00{i}_{name}" for i, name in [(1, "init"), (2, "audit_log"), (3, "memory_enhancement"),
                                                      (4, "fts5_recall"), (5, "scheduled_tasks"), (6, "limitations"),
                                                      (7, "task_type"), (8, "user_aliases"), (9, "task_retry")]]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish(database: Path, shell: str) -> None:
    offered, _ = complete(f"omega-db lessons {database} --project my-", shell=shell)
    text = "\n".join(offered)
    assert "my-app2" in text and "my-app" in text and "evil" not in text


def test_nothing_to_offer_from_a_missing_damaged_or_locked_database_quickly(tmp_path: Path, database: Path) -> None:
    assert complete(f"omega-db lessons {tmp_path / 'missing.db'} --project ")[0] == []
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    assert complete(f"omega-db lessons {damaged} --project ")[0] == []
    locked = tmp_path / "locked.db"
    locked.write_bytes(database.read_bytes())
    before = helpers.fingerprint(locked)  # not while locked: closing any descriptor drops this process's locks
    holder = sqlite3.connect(locked, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        offered, took = complete(f"omega-db lessons {locked} --project ")
        _, plain_start = complete("omega-db lessons --limit ")  # the same process, nothing to read
    finally:
        holder.close()
    assert offered == []
    assert took < plain_start + 2.0  # gave up within a fraction of a second (generous bound)
    assert helpers.fingerprint(locked) == before


SCRIPT_OF = {"bash": "complete -o default -F _omega_db_completion", "zsh": "#compdef omega-db",
             "fish": "complete --command omega-db"}


def test_the_completion_script_and_install_options(tmp_path: Path) -> None:
    # Run from whatever shell runs the tests (bash under .ci/run): the named shell's script, not that one's.
    for shell, starts in SCRIPT_OF.items():
        for args in (["--show-completion", shell], [f"--show-completion={shell}"]):
            done = helpers.run_cli(*args)
            assert done.returncode == 0, done.stderr
            assert starts in done.stdout and "_OMEGA_DB_COMPLETE" in done.stdout, (args, done.stdout[:80])
            assert all(other not in done.stdout for s, other in SCRIPT_OF.items() if s != shell)
    unknown = helpers.run_cli("--show-completion", "tcsh")
    assert unknown.returncode == 2 and unknown.stdout == "" and "tcsh" in unknown.stderr
    help_text = helpers.run_cli("--help").stdout
    assert "--install-completion" in help_text and "--show-completion" in help_text


def test_project_completes_from_the_database_omega_uses(database: Path, tmp_path: Path) -> None:
    """No DB on the line: the file OMEGA uses, $OMEGA_DB or the config's db_path (--config on the line)."""
    projects = [p for p in stored(database, "SELECT project FROM lessons UNION SELECT project FROM outcomes "
                                            "UNION SELECT project FROM scheduled_tasks") if p and "\x1b" not in p]
    offered, _ = complete("omega-db lessons --project ", OMEGA_DB=str(database))
    assert offered == projects
    config = tmp_path / "omega.toml"
    config.write_text(f'[memory]\ndb_path = "{database}"\n')
    for line in (f"omega-db --config {config} lessons --project ", f"omega-db lessons --config {config} --project "):
        offered, _ = complete(line, OMEGA_DB="", HOME=str(tmp_path))
        assert offered == projects, line
    offered, _ = complete("omega-db lessons --project ", OMEGA_DB="", HOME=str(tmp_path))
    assert offered == []  # no file where OMEGA would look: nothing offered, no error


def test_context_completes_sender_and_project(database: Path) -> None:
    senders = stored(database, "SELECT sender_id FROM lessons UNION SELECT sender_id FROM outcomes "
                               "UNION SELECT sender_id FROM scheduled_tasks")
    assert complete(f"omega-db context {database} --sender ")[0] == senders
    assert complete(f"omega-db context {database} --sender alice --project my")[0] == ["my-app", "my-app2"]
