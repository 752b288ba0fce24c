"""A reader that goes away (`omega-db lessons | head`) ends the output, not the command: exit 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import helpers
from tests.inputkit import READERS, required

# Each test starts omega-db as a real process.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("fmt", ["table", "json"])
@pytest.mark.parametrize("command", READERS)
def test_a_closed_stdout_is_exit_0_and_silent(shared_seeded: Path, command: str, fmt: str) -> None:
    proc = helpers.start_cli(command, str(shared_seeded), *required(command), "-f", fmt)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the command writes a byte: its first write meets EPIPE
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, err
    assert err == ""
