"""Start-up: `omega-db --version` (and every command's parsing) pays for Typer and little else.

The benchmark measures the time (bench/bench.py, the start-up pair); this test keeps out
what has no business in a start-up: sqlite3 and the query layer (the options' defaults and
choices live in omega_db.ground.defaults), the modules completion reads the database with, rich.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import omega_db
from tests import helpers

HEAVY = ("sqlite3", "omega_db.ground.db", "omega_db.data.queries", "omega_db.chain.history", "omega_db.chain.files", "rich")


def test_version_loads_nothing_it_does_not_need() -> None:
    code = (
        "import sys; sys.argv = ['omega-db', '--version']\n"
        "from omega_db.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in sys.modules if m in {HEAVY!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr
    assert done.stdout.startswith("omega-db ")


VERSION_LINES = (["--version"], ["--debug", "--version"], ["--version", "status"], ["--config", "nowhere.toml", "--version"])


@pytest.mark.parametrize("args", VERSION_LINES, ids=" ".join)
def test_version_alone_answers_as_the_app_does(tmp_path: Path, args: list[str]) -> None:
    # `--version` alone is answered before the app is built; with anything beside it, Click answers.
    done = helpers.run_cli(*args, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"omega-db {omega_db.__version__}\n", "")


def test_version_alone_still_completes_when_the_shell_asks(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("COMP_", "_TYPER"))}
    environ.update(_OMEGA_DB_COMPLETE="complete_bash", COMP_WORDS="omega-db --vers", COMP_CWORD="1")
    done = helpers.run_cli("--version", cwd=tmp_path, env=environ)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["--version"]  # the completion of "--vers", not the version


def buffering(unbuffered: bool) -> dict[str, str]:
    """The environment, with stdout buffered or not (PYTHONUNBUFFERED)."""
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return {**environ, "PYTHONUNBUFFERED": "1"} if unbuffered else environ


@pytest.mark.parametrize("unbuffered", [False, True])
@pytest.mark.parametrize("args", VERSION_LINES[:2], ids=" ".join)
def test_version_on_a_full_disk_is_one_sentence_and_exit_1(tmp_path: Path, args: list[str], unbuffered: bool) -> None:
    with open("/dev/full", "wb") as full:
        done = helpers.run_cli(*args, cwd=tmp_path, env=buffering(unbuffered), stdout=full)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("omega-db: error: there is no room for the output") and done.stderr.count("\n") == 1


@pytest.mark.parametrize("unbuffered", [False, True])
@pytest.mark.parametrize("args", VERSION_LINES[:2], ids=" ".join)
def test_version_to_a_reader_that_left_is_exit_0_and_quiet(tmp_path: Path, args: list[str], unbuffered: bool) -> None:
    read, write = os.pipe()
    os.close(read)
    try:
        done = helpers.run_cli(*args, cwd=tmp_path, env=buffering(unbuffered), stdout=write)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (0, "")
