"""A reader that goes away (`omega-db lessons | head`) ends the output, not the command: exit 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import helpers
from tests.inputkit import READERS


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded 011 database (healthy, so verify's own answer is exit 0)."""
    return helpers.seeded(tmp_path_factory.mktemp("pipes") / "memory.db")


@pytest.mark.parametrize("fmt", ["table", "json"])
@pytest.mark.parametrize("command", READERS)
def test_a_closed_stdout_is_exit_0_and_silent(database: Path, command: str, fmt: str) -> None:
    proc = helpers.start_cli(command, str(database), "-f", fmt)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the command writes a byte: its first write meets EPIPE
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, err
    assert err == ""
