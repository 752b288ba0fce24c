"""The type check: mypy, configured in pyproject.toml ([tool.mypy]), passes on every module of src/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # starts mypy, a few seconds (more without its cache); plain `pytest` runs it
def test_mypy_passes_on_src() -> None:
    sources = sorted((REPO / "src").rglob("*.py"))
    # No paths on the command line: mypy checks what [tool.mypy] `files` names, with its settings.
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    report = f"mypy exited {result.returncode}:\n{result.stdout}{result.stderr}"
    assert result.returncode == 0, report
    # Every module of src/ was checked, not a part of it (a `files` setting that drifted).
    assert f"no issues found in {len(sources)} source files" in result.stdout, report
