"""Shared fixtures: real SQLite files in tmp_path, never the user's home.

Per test, yours to change: `db_path`, `migrated_db`, `seeded_010`. Per session,
built once, never to be changed (copy one first): `shared_seeded`,
`projects_db`, `references`, `big_010`, `big_digest`.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import faultkit, helpers, listing_seed, nobody


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test can touch a real ~/.omega: HOME and $OMEGA_DB point into a temporary folder."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("OMEGA_DB", str(home / ".omega" / "data" / "memory.db"))
    monkeypatch.delenv("OMEGA_DB_DEBUG", raising=False)


@pytest.fixture
def runner() -> CliRunner:
    """Typer's test runner; stdout and stderr are kept apart."""
    return CliRunner()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A path for a database that does not exist yet."""
    return tmp_path / "memory.db"


@pytest.fixture
def migrated_db(db_path: Path) -> Path:
    """A fresh database migrated to 011, empty."""
    helpers.build(db_path)
    return db_path


@pytest.fixture
def seeded_010(db_path: Path) -> Path:
    """A database at 010 with rows in every table."""
    return helpers.seeded(db_path, to="010")


# --- built once per session: copy them, never change them -----------------------------------


@pytest.fixture(scope="session")
def shared_seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A healthy database at 011 with rows in every table (helpers.seed), alone in its folder."""
    return helpers.seeded(tmp_path_factory.mktemp("seeded-011") / "memory.db")


@pytest.fixture(scope="session")
def projects_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database at 011 whose lessons, outcomes and tasks span projects, senders and domains
    (listing_seed; its expected_* functions are the oracles)."""
    return listing_seed.build_projects(tmp_path_factory.mktemp("projects-011") / "memory.db")


@pytest.fixture(scope="session")
def references(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[str, str, str]]]:
    """The structure of a clean database at 010, 011, 012 and 013, built by omega-db's own chain."""
    folder = tmp_path_factory.mktemp("reference")
    return {state: faultkit.schema(helpers.build(folder / f"{state}.db", to=state)) for state in faultkit.STATES}


@pytest.fixture(scope="session")
def big_010(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 010 database with 80,000 outcomes and 60,000 lessons (~20 MB); copy it, never change it."""
    path = tmp_path_factory.mktemp("big") / "big-010.db"
    helpers.build(path, to="010")
    faultkit.fill_big(path)
    return path


@pytest.fixture(scope="session")
def big_digest(big_010: Path) -> dict[str, tuple[int, str]]:
    """The rows of the big 010 database."""
    return faultkit.digest_of(big_010)


@pytest.fixture
def nobody_dir() -> Iterator[Path]:
    """A folder owned by nobody that nobody can reach (pytest's tmp_path is root's, 0700); root only."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to give files to another user")
    folder = Path(tempfile.mkdtemp(prefix="omega-db-backup-"))
    os.chmod(folder, 0o755)
    try:
        probe = nobody.as_nobody("--version")
        if probe.code != 0:
            pytest.skip(f"the user nobody cannot run omega-db from here: {probe.stderr.strip()}")
        os.chown(folder, nobody.NOBODY, nobody.NOBODY)
        yield folder
    finally:
        shutil.rmtree(folder)


@pytest.fixture
def sigint_delivered() -> Iterator[None]:
    """SIGINT reaches the processes this test starts, even when pytest itself runs with it
    ignored (started in the background by a shell, `cmd &`): an ignored signal stays ignored
    across exec, and Python then installs no KeyboardInterrupt handler in omega-db."""
    before = signal.getsignal(signal.SIGINT)
    if before == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # reset to the default at exec
    yield
    signal.signal(signal.SIGINT, before)
