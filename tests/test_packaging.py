"""The package as installed: console script, python -m, migration files shipped inside."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

import omega_db
from tests import helpers

# Each test starts Python or the console script as a real process.
pytestmark = pytest.mark.slow


def test_migration_files_ship_as_package_data() -> None:
    names = sorted(f.name for f in resources.files("omega_db.migrations").iterdir() if f.name.endswith(".sql"))
    assert names[0] == "001_init.sql" and names[-1] == "013_multi_lessons.sql" and len(names) == 13


def _console_script() -> str:
    script = Path(sys.executable).with_name("omega-db")
    found = str(script) if script.exists() else shutil.which("omega-db")
    assert found, "the omega-db console script is not installed next to this interpreter"
    return found


def test_console_script_migrates_from_an_unrelated_folder(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [_console_script(), "migrate", "new.db", "-f", "json"],
        cwd=elsewhere, capture_output=True, text=True, env=env, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert helpers.recorded(elsewhere / "new.db")[-1] == "013_multi_lessons"


def test_python_dash_m_and_version(tmp_path: Path) -> None:
    result = helpers.run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"omega-db {omega_db.__version__}"


def test_version_does_not_import_rich(tmp_path: Path) -> None:
    code = "import sys; from omega_db.cli import app; print(any(m.startswith('rich') for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.stdout.strip() == "False", result.stderr


def test_json_output_imports_neither_rich_nor_pydantic(migrated_db: Path, tmp_path: Path) -> None:
    """Start-up cost: rich is for tables only; pydantic is not a dependency at all."""
    code = (
        "import sys\n"
        "from omega_db import cli\n"
        f"sys.argv = ['omega-db', 'status', {str(migrated_db)!r}, '-f', 'json']\n"
        "try:\n"
        "    cli.main()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('rich', 'pydantic')]\n"
        "sys.stderr.write(repr(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "[]"
