"""Values the command line and the core share, in a module that costs nothing to import.

Typer reads a command's defaults and choices when the app starts, `--version` and
`--help` included; defined here, they do not pull in sqlite3 or the query layer.
"""

from __future__ import annotations

from enum import Enum

DEFAULT_TIMEOUT = 10.0  # seconds to wait for a lock held by another process
# SQLite's busy timeout is a C int of milliseconds: the longest wait it can hold (about 24.8 days).
MAX_TIMEOUT = (2**31 - 1) // 1000
# Options accepted before and after the subcommand keep their value in ctx.meta, which every
# context of one command line shares.
DEBUG_KEY = "omega_db.debug"
CONFIG_KEY = "omega_db.config"


class TaskStatus(str, Enum):
    """The task states OMEGA uses, and `all`."""

    pending = "pending"
    delivered = "delivered"
    cancelled = "cancelled"
    failed = "failed"
    all = "all"
