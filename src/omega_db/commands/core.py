"""The commands migrate, status and verify: parse, call the core once, render (registered by cli)."""

from typing import Annotated, Optional

import typer

from omega_db.commands import completion
from omega_db.commands.options import ConfigOpt, DbArg, DebugOpt, KeepOpt, ReportFormatOpt, TimeoutOpt, database_path
from omega_db.ground.defaults import DEFAULT_TIMEOUT
from omega_db.output import streams
from omega_db.output.streams import ReportFormat


def migrate(
    ctx: typer.Context,
    database: DbArg = None,
    to: Annotated[
        Optional[str],
        typer.Option(
            "--to",
            metavar="NAME",
            help="Stop after this migration (full name or number, e.g. 011).",
            autocompletion=completion.targets,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan with each migration's SQL; change nothing.")
    ] = False,
    no_backup: Annotated[
        bool, typer.Option("--no-backup", help="Do not take the online backup before changing the file.")
    ] = False,
    repair_half_applied: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Complete a half-applied migration (left by OMEGA's own runner) in one transaction, "
            "keeping every row.",
        ),
    ] = False,
    keep: KeepOpt = None,
    fmt: ReportFormatOpt = ReportFormat.table,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Apply pending migrations, each in one transaction, after an online backup.

    A missing file is created (0600, folders 0700) and fully migrated.

    \b
    Examples:
      omega-db migrate                     # the file OMEGA uses
      omega-db migrate ~/.omega/data/memory.db
      omega-db migrate --dry-run
      omega-db migrate --to 010 ./copy.db
      omega-db migrate -f json --no-backup ./scratch.db
      omega-db migrate --repair   # after OMEGA stopped half-way through a migration
      omega-db migrate --keep 5   # and delete all but the 5 newest backups
    """
    from omega_db.chain.migrate import migrate as run_migrate
    from omega_db.output import reports

    path = database_path(ctx, database, missing_ok=True)
    with reports.migrate_progress(fmt is ReportFormat.table and not dry_run) as on_event:
        result = run_migrate(
            path, to=to, dry_run=dry_run, make_backup=not no_backup, timeout=timeout, on_event=on_event,
            repair_half_applied=repair_half_applied,
        )
    changed = result.applied or result.repaired or (result.created and not dry_run)
    with streams.writing(f"{path} was migrated to {result.current}" if changed else None):
        reports.render_migrate(result, fmt)
    if keep is not None and result.backup:
        from omega_db.backups import catalogue
        from omega_db.output import backups as shown

        shown.render_pruned(catalogue.prune(path, keep=keep, made=result.backup))


def status(
    ctx: typer.Context,
    database: DbArg = None,
    fmt: ReportFormatOpt = ReportFormat.table,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Show the file, its migration history and its projects (read-only).

    \b
    Examples:
      omega-db status
      omega-db status ~/.omega/data/memory.db -f json
    """
    from omega_db.data.status import status as read_status
    from omega_db.output import reports

    st = read_status(database_path(ctx, database), timeout=timeout)
    with streams.writing():
        reports.render_status(st, fmt)


def verify(
    ctx: typer.Context,
    database: DbArg = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="PRAGMA quick_check instead of integrity_check; trust declared constraints.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 on a warning too (e.g. a pending migration).")
    ] = False,
    fmt: ReportFormatOpt = ReportFormat.table,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Prove the database healthy: integrity, history, schema, foreign keys, FTS5 index, the data (read-only).

    The schema and the data promises are those of the migrations the file records.
    Each check is ok, warning or fail; exit 1 if any fails (with --strict, any warning too).

    \b
    Examples:
      omega-db verify
      omega-db verify --quick --strict
      omega-db verify -f json | jq '.checks[] | select(.status != "ok")'
    """
    from omega_db.output import reports
    from omega_db.verify.run import verify as run_verify

    report = run_verify(database_path(ctx, database), quick=quick, strict=strict, timeout=timeout)
    with streams.writing():
        reports.render_verify(report, fmt)
    if not report.ok:
        raise typer.Exit(1)


COMMANDS = (migrate, status, verify)
