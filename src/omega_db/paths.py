"""Which file is the database: the argument, else the one OMEGA itself uses."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_PATH = "~/.omega/memory.db"


def resolve_path(db: str | os.PathLike[str] | None) -> Path:
    """The database path: the argument, else $OMEGA_DB, else ~/.omega/memory.db; ~ expanded."""
    raw = db if db not in (None, "") else os.environ.get("OMEGA_DB") or DEFAULT_PATH
    return Path(os.path.expanduser(os.fspath(raw)))
