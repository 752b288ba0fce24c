"""The prune command: parse, call the core once, render (registered by cli)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from omega_db.commands.options import (
    ConfigOpt,
    DbArg,
    DebugOpt,
    KeepOpt,
    NoBackupOpt,
    ReportFormatOpt,
    TimeoutOpt,
    YesOpt,
    confirm_or_refuse,
    database_path,
)
from omega_db.ground.defaults import DEFAULT_TIMEOUT
from omega_db.output import streams
from omega_db.output.streams import ReportFormat


def _age(option: str, what: str) -> object:
    return typer.Option(option, metavar="AGE", help=what, show_default=False)


AuditOpt = Annotated[Optional[str], _age(
    "--audit-log", "Delete audit_log rows older than AGE (OMEGA never reads them).")]
OutcomesOpt = Annotated[Optional[str], _age(
    "--outcomes", "Delete outcomes older than AGE, except each sender's 20 newest, its 20 newest per project, "
    "and the last 48 hours (what OMEGA still reads).")]
TasksOpt = Annotated[Optional[str], _age(
    "--tasks", "Delete delivered, cancelled and failed tasks due more than AGE ago (never a pending one).")]
MessagesOpt = Annotated[Optional[str], _age(
    "--messages", "Delete messages older than AGE of closed conversations, except those a fact names; "
    "the conversations and their summaries stay. OMEGA's recall no longer finds them.")]


def prune(
    ctx: typer.Context,
    database: DbArg = None,
    audit_log: AuditOpt = None,
    outcomes: OutcomesOpt = None,
    tasks: TasksOpt = None,
    messages: MessagesOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; open the file read-only, change nothing.")
    ] = False,
    vacuum: Annotated[
        bool,
        typer.Option("--vacuum", help="Then VACUUM to give the space back (refused while OMEGA has the file open)."),
    ] = False,
    secure_delete: Annotated[
        bool, typer.Option("--secure-delete", help="Overwrite the deleted text in the file (PRAGMA secure_delete).")
    ] = False,
    no_backup: NoBackupOpt = False,
    keep: KeepOpt = None,
    yes: YesOpt = False,
    fmt: ReportFormatOpt = ReportFormat.table,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Delete what OMEGA never reads again, older than AGE (90d, 12w, 36h), in short batches after a backup.

    OMEGA never deletes audit_log, messages, outcomes or finished tasks: the file only
    grows. Each rule keeps what OMEGA still reads. The deletes run in short transactions,
    so prune may run while OMEGA runs (not with --vacuum). Pruning messages removes them
    from OMEGA's recall (its search of earlier conversations): a choice to make knowingly.
    On a terminal it asks first, unless --yes; without one, --yes is needed.

    \b
    Examples:
      omega-db prune --audit-log 90d --dry-run
      omega-db prune --audit-log 90d --tasks 30d --yes          # e.g. from cron
      omega-db prune --audit-log 90d --tasks 30d --keep 3 --yes # and keep only 3 backups
      omega-db prune --outcomes 12w --messages 180d --yes ~/.omega/data/memory.db
      omega-db prune --audit-log 1w --secure-delete --vacuum --yes -f json
    """
    from omega_db.data import prune as core
    from omega_db.data.retention import parse_ages
    from omega_db.output import prune as shown

    path = database_path(ctx, database)
    ages = parse_ages(path, audit_log=audit_log, outcomes=outcomes, scheduled_tasks=tasks, messages=messages)
    prepared = core.prepare(path, ages, vacuum=vacuum and not dry_run, secure_delete=secure_delete,
                            timeout=timeout)
    if dry_run:
        pruned = core.dry_run(prepared, timeout=timeout)
    else:
        confirm_or_refuse(yes, path, "prune",
                          lambda: shown.question(prepared, core.count(prepared, timeout=timeout), backup=not no_backup))
        with shown.progress(fmt is ReportFormat.table) as on_progress:
            pruned = core.run(prepared, make_backup=not no_backup, timeout=timeout, on_progress=on_progress)
    with streams.writing(None if dry_run else f"{path} was pruned"):
        shown.render_prune(pruned, fmt)
    if keep is not None and pruned.backup:  # as migrate's: a daily prune's backups would fill the disk
        from omega_db.backups import catalogue
        from omega_db.output import backups as kept

        kept.render_pruned(catalogue.prune(path, keep=keep, made=pruned.backup))


COMMANDS = (prune,)
