"""Start-up: `omega-db --version` (and every command's parsing) pays for Typer and little else.

The benchmark measures the time (bench/bench.py, the start-up pair); this test keeps out
what has no business in a start-up: sqlite3 and the query layer (the options' defaults and
choices live in omega_db.ground.defaults), the modules completion reads the database with, rich.
"""

from __future__ import annotations

import subprocess
import sys

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
