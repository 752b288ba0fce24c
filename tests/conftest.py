"""Shared fixtures: real SQLite files in tmp_path, never the user's home."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import helpers


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test can touch a real ~/.omega: HOME and $OMEGA_DB point into a temporary folder."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("OMEGA_DB", str(home / ".omega" / "memory.db"))
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
    helpers.build(db_path, to="010")
    helpers.seed(db_path)
    return db_path
