"""The backup, backups and restore commands: parse, call the core once, render (registered by cli)."""

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from omega_db import db, paths
from omega_db.options import DbArg, KeepOpt, ReportFormatOpt, TimeoutOpt
from omega_db.output import ReportFormat


def backup(
    database: DbArg = None,
    keep: KeepOpt = None,
    output_file: Annotated[
        Optional[Path],
        typer.Option(
            "--output", "-o", metavar="PATH", show_default=False,
            help="Write the backup to PATH (a new file; never overwritten) instead of <DB>.bak-<UTC time>.",
        ),
    ] = None,
    fmt: ReportFormatOpt = ReportFormat.table,
    timeout: TimeoutOpt = db.DEFAULT_TIMEOUT,
) -> None:
    """Copy the database with SQLite's online backup (safe while OMEGA runs), checked with quick_check.

    The copy is <DB>.bak-<UTC YYYYmmddTHHMMSSZ> beside the database, mode 0600,
    owned by the database file's owner when run as root. Only reads the database.

    \b
    Examples:
      omega-db backup
      omega-db backup --keep 14          # from cron: the 14 newest backups stay
      omega-db backup ~/.omega/data/memory.db --output /mnt/usb/memory-2026-03.db
      omega-db backup -f json
    """
    from omega_db import backup_reports, backups

    path = paths.resolve_path(database)
    output_path = Path(os.path.expanduser(output_file)) if output_file is not None else None
    with backup_reports.backup_progress(fmt is ReportFormat.table) as on_progress:
        taken = backups.take(path, output=output_path, keep=keep, timeout=timeout, on_progress=on_progress)
    backup_reports.render_backup(taken, fmt)


def backups(
    database: DbArg = None,
    fmt: ReportFormatOpt = ReportFormat.table,
    timeout: TimeoutOpt = db.DEFAULT_TIMEOUT,
) -> None:
    """List the database's backups, newest first: time, size, schema version, whether each opens (read-only).

    Works when the database itself is gone.

    \b
    Examples:
      omega-db backups
      omega-db backups ~/.omega/data/memory.db -f json
    """
    from omega_db import backup_reports, backups

    path = paths.resolve_path(database)
    backup_reports.render_backups(path, backups.catalog(path, timeout=timeout), fmt)

