"""The backup, backups and restore commands: parse, call the core once, render (registered by cli)."""

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from omega_db.commands.options import (
    ConfigOpt,
    DbArg,
    DebugOpt,
    KeepOpt,
    ReportFormatOpt,
    TimeoutOpt,
    YesOpt,
    confirm_or_refuse,
    database_path,
)
from omega_db.ground.defaults import DEFAULT_TIMEOUT
from omega_db.output import streams
from omega_db.output.streams import ReportFormat


def backup(
    ctx: typer.Context,
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
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Copy the database with SQLite's online backup (safe while OMEGA runs), checked with quick_check.

    The copy is <DB>.bak-<UTC YYYYmmddTHHMMSSZ> beside the database, mode 0600,
    owned by the database file's owner when run as root. Only reads the database.

    \b
    Examples:
      omega-db backup
      omega-db backup --keep 14          # from cron: the 14 newest backups stay
      omega-db backup ~/.omega/data/memory.db --output ./memory-2026-03.db
      omega-db backup -f json
    """
    from omega_db.backups import catalogue
    from omega_db.output import backups as shown

    path = database_path(ctx, database)
    output_path = Path(os.path.expanduser(output_file)) if output_file is not None else None
    with shown.backup_progress(fmt is ReportFormat.table) as on_progress:
        taken = catalogue.take(path, output=output_path, keep=keep, timeout=timeout, on_progress=on_progress)
    with streams.writing(f"the backup {taken.path} was made"):
        shown.render_backup(taken, fmt)


def backups(
    ctx: typer.Context,
    database: DbArg = None,
    fmt: ReportFormatOpt = ReportFormat.table,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
    config: ConfigOpt = None,
) -> None:
    """List the database's backups, newest first: time, size, schema version, whether each opens (read-only).

    Works when the database itself is gone.

    \b
    Examples:
      omega-db backups
      omega-db backups ~/.omega/data/memory.db -f json
    """
    from omega_db.backups import catalogue
    from omega_db.output import backups as shown

    path = database_path(ctx, database, missing_ok=True)
    listed = catalogue.catalog(path, timeout=timeout)
    with streams.writing():
        shown.render_backups(path, listed, fmt)


def restore(
    ctx: typer.Context,
    backup_file: Annotated[
        Path,
        typer.Argument(metavar="BACKUP", help="The backup to restore (see `omega-db backups`).", show_default=False),
    ],
    database: DbArg = None,
    yes: YesOpt = False,
    fmt: ReportFormatOpt = ReportFormat.table,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Put a backup in place of the database; the database it replaces is kept as a backup.

    Refuses while another process (OMEGA) has the database open. The backup is
    checked first; the swap is atomic and keeps the file's owner and mode; the
    row counts per table before and after are shown. Works when the database is gone.
    `omega-db backups` lists the backups to choose from.

    \b
    Examples:
      omega-db restore ~/.omega/data/memory.db.bak-20260301T020000Z
      omega-db restore memory.db.bak-20260301T020000Z memory.db --yes -f json
    """
    from omega_db.backups import restore as core
    from omega_db.output import backups as shown

    path = database_path(ctx, database, missing_ok=True)
    prepared = core.prepare(Path(os.path.expanduser(backup_file)), path, timeout=timeout, make_folders=database is None)
    confirm_or_refuse(yes, path, "restore", lambda: shown.restore_question(prepared))
    restored = core.restore(prepared, timeout=timeout)
    with streams.writing(f"{path} was restored from {prepared.source}"):
        shown.render_restore(restored, fmt)


COMMANDS = (backup, backups, restore)
