"""The Typer app: each command parses, calls the core once, renders. No SQL, no rules."""

import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from omega_db import __version__, backup_cli, db, lenient, output, paths
from omega_db.answers import TaskStatus
from omega_db.errors import BadDatabaseError, OmegaDbError
from omega_db.options import (
    ConfigOpt,
    DbArg,
    DomainOpt,
    FormatOpt,
    KeepOpt,
    LimitOpt,
    ProjectOpt,
    ReportFormatOpt,
    SenderOpt,
    TimeoutOpt,
)
from omega_db.output import Format, ReportFormat

DEBUG_ENV = "OMEGA_DB_DEBUG"


def _debug_wanted(ctx: typer.Context) -> bool:
    return bool(ctx.params.get("debug")) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _noting_replaced(command: Any, ctx: typer.Context) -> Any:
    """Run the command; once it has answered (exit 0 or 1), a note if stored text was not UTF-8."""
    answered = False
    try:
        result, answered = command(ctx), True
        return result
    except typer.Exit as exc:
        answered = exc.exit_code in (0, 1)  # verify's "not ok" is an answer too; an error is not
        raise
    finally:
        if answered and (note := lenient.REPLACED.note()):
            output.note(note)


class _ErrorBoundary(TyperGroup):
    """The one place where errors become a sentence on stderr and an exit code."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        lenient.REPLACED.reset()
        try:
            return _noting_replaced(super().invoke, ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # Typer's own control flow and usage errors (exit 2)
        except OmegaDbError as exc:
            if _debug_wanted(ctx):
                traceback.print_exc()
            output.note(f"error: {exc.message}")
            raise typer.Exit(exc.exit_code) from None
        except BrokenPipeError:
            # The reader went away (`omega-db outcomes | head`): not an error.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(0) from None
        except KeyboardInterrupt:
            output.note("interrupted; any migration in progress was rolled back.")
            raise typer.Exit(130) from None
        except Exception as exc:  # a bug of ours: still one sentence, traceback on request
            if _debug_wanted(ctx):
                traceback.print_exc()
            output.note(
                f"error: unexpected {type(exc).__name__}: {exc}. "
                f"Run again with --debug (or {DEBUG_ENV}=1) for details, and report it."
            )
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_ErrorBoundary,
    name="omega-db",
    help="Administer the OMEGA agent's memory database (~/.omega/data/memory.db).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"omega-db {__version__}\n")
        raise typer.Exit()


_CONFIG = "omega_db.config"  # ctx.meta key: --config given before the subcommand


def _database(ctx: typer.Context, database: Optional[str], config: Optional[str], *, create: bool = False) -> Path:
    """The database the command works on, as OMEGA would find it; a read command needs it to exist."""
    location = paths.locate(database, config=config if config is not None else ctx.meta.get(_CONFIG))
    if location.note:
        output.note(location.note)
    if not create and not location.explicit and not os.path.lexists(location.path):
        raise BadDatabaseError(location.missing())
    return location.path


def _notes(notes: tuple[str, ...]) -> None:
    for note in notes:
        output.note(f"note: {note}")


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
    debug: Annotated[
        bool,
        typer.Option("--debug", help=f"Show the Python traceback of an error (also {DEBUG_ENV}=1)."),
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Administer the OMEGA agent's memory database (~/.omega/data/memory.db).

    The database is the DB argument of each command; without it, the file OMEGA
    itself uses: $OMEGA_DB, else db_path in the [memory] table of OMEGA's config
    file (--config, default ~/.omega/config.toml), else ~/.omega/data/memory.db
    (or ~/.omega/memory.db, where OMEGA kept it before v0.2.0, if only that one
    exists). Every command but migrate only reads it.
    """
    ctx.meta[_CONFIG] = config


@app.command()
def migrate(
    ctx: typer.Context,
    database: DbArg = None,
    to: Annotated[
        Optional[str],
        typer.Option("--to", metavar="NAME", help="Stop after this migration (full name or number, e.g. 011)."),
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
    timeout: TimeoutOpt = db.DEFAULT_TIMEOUT,
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
    from omega_db import reports
    from omega_db.migrate import migrate as run_migrate

    path = _database(ctx, database, config, create=True)
    with reports.migrate_progress(fmt is ReportFormat.table and not dry_run) as on_event:
        result = run_migrate(
            path, to=to, dry_run=dry_run, make_backup=not no_backup, timeout=timeout, on_event=on_event,
            repair_half_applied=repair_half_applied,
        )
    reports.render_migrate(result, fmt)
    if keep is not None and result.backup:
        from omega_db import backup_reports, backups

        backup_reports.render_pruned(backups.prune(path, keep=keep, made=result.backup))


@app.command()
def status(
    ctx: typer.Context,
    database: DbArg = None,
    fmt: ReportFormatOpt = ReportFormat.table,
    timeout: TimeoutOpt = db.DEFAULT_TIMEOUT,
    config: ConfigOpt = None,
) -> None:
    """Show the file, its migration history and its projects (read-only).

    \b
    Examples:
      omega-db status
      omega-db status ~/.omega/data/memory.db -f json
    """
    from omega_db import reports
    from omega_db.status import status as read_status

    reports.render_status(read_status(_database(ctx, database, config), timeout=timeout), fmt)


@app.command()
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
    timeout: TimeoutOpt = db.DEFAULT_TIMEOUT,
    config: ConfigOpt = None,
) -> None:
    """Prove the database healthy: integrity, history, schema, foreign keys, FTS5 index, 011's data (read-only).

    Each check is ok, warning or fail; exit 1 if any fails (with --strict, any warning too).

    \b
    Examples:
      omega-db verify
      omega-db verify --quick --strict --config ~/.omega/config.toml
      omega-db verify -f json | jq '.checks[] | select(.status != "ok")'
    """
    from omega_db import reports
    from omega_db.verify import verify as run_verify

    report = run_verify(_database(ctx, database, config), quick=quick, strict=strict, timeout=timeout)
    reports.render_verify(report, fmt)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def lessons(
    ctx: typer.Context,
    database: DbArg = None,
    project: Annotated[
        Optional[str],
        typer.Option(
            "--project",
            metavar="P",
            help="The lessons OMEGA draws on when P is active: P's first, then the general ones "
            "('': general only).",
            show_default=False,
        ),
    ] = None,
    only: Annotated[bool, typer.Option("--only", help="With --project P: P's lessons alone.")] = False,
    sender: SenderOpt = None,
    domain: DomainOpt = None,
    injected: Annotated[
        bool,
        typer.Option(
            "--injected",
            help="Exactly the (at most 50) lessons OMEGA v1.3.0 injects, by its own query: with --sender, "
            "what that sender's conversations see; without, what the heartbeat sees.",
        ),
    ] = False,
    limit: LimitOpt = None,
    fmt: FormatOpt = Format.table,
    timeout: TimeoutOpt = db.DEFAULT_TIMEOUT,
    config: ConfigOpt = None,
) -> None:
    """List lessons in OMEGA's order, most recently updated first (read-only).

    No --project: every lesson of every project. OMEGA injects at most 50
    lessons: where the list holds the same lessons OMEGA's query chooses from,
    the ones it injects come first and the table marks where they end.

    \b
    Examples:
      omega-db lessons --project my-app
      omega-db lessons --project my-app --sender alice --injected
      omega-db lessons --project my-app --only --sender alice
      omega-db lessons --project '' -f json
      omega-db lessons ~/.omega/data/memory.db --domain coding -f csv > lessons.csv
    """
    from omega_db import listing, queries, scoped

    with scoped.reading(_database(ctx, database, config), timeout=timeout) as found:
        _notes(found.notes)
        answer = queries.lessons(found.conn, project=project, only=only, sender=sender, domain=domain, limit=limit,
                                 injected=injected)
        listing.render_listing(answer, fmt)


@app.command()
def outcomes(
    ctx: typer.Context,
    database: DbArg = None,
    project: ProjectOpt = None,
    sender: SenderOpt = None,
    domain: DomainOpt = None,
    hours: Annotated[
        Optional[float],
        typer.Option("--hours", metavar="H", help="Only the last H hours (fractions allowed).", show_default=False),
    ] = None,
    limit: LimitOpt = 50,
    fmt: FormatOpt = Format.table,
    timeout: TimeoutOpt = db.DEFAULT_TIMEOUT,
    config: ConfigOpt = None,
) -> None:
    """List outcomes (OMEGA's reward signals), newest first (read-only).

    \b
    Examples:
      omega-db outcomes --project my-app --hours 24
      omega-db outcomes --sender alice --domain coding --limit 10
      omega-db outcomes --limit 0 -f json > outcomes.json
    """
    from omega_db import listing, queries, scoped

    with scoped.reading(_database(ctx, database, config), timeout=timeout) as found:
        _notes(found.notes)
        answer = queries.outcomes(found.conn, project=project, sender=sender, domain=domain, hours=hours, limit=limit)
        listing.render_listing(answer, fmt)


@app.command()
def tasks(
    ctx: typer.Context,
    database: DbArg = None,
    project: ProjectOpt = None,
    sender: SenderOpt = None,
    status: Annotated[
        TaskStatus,
        typer.Option("--status", help="Only tasks in this state.", case_sensitive=False),
    ] = TaskStatus.pending,
    due: Annotated[bool, typer.Option("--due", help="Only pending tasks that are due now.")] = False,
    limit: LimitOpt = None,
    fmt: FormatOpt = Format.table,
    timeout: TimeoutOpt = db.DEFAULT_TIMEOUT,
    config: ConfigOpt = None,
) -> None:
    """List scheduled tasks by due time, earliest first (read-only).

    \b
    Examples:
      omega-db tasks --project my-app
      omega-db tasks --due -f json
      omega-db tasks --status all --sender alice -f csv
    """
    from omega_db import listing, queries, scoped

    with scoped.reading(_database(ctx, database, config), timeout=timeout) as found:
        _notes(found.notes)
        answer = queries.tasks(found.conn, project=project, sender=sender, status=status, due=due, limit=limit)
        listing.render_listing(answer, fmt)


# backup, backups and restore live in backup_cli (cli.py stays one screenful per job).
app.command("backup")(backup_cli.backup)
app.command("backups")(backup_cli.backups)
app.command("restore")(backup_cli.restore)


def main() -> None:
    """Console-script entry point."""
    # A file name that is not UTF-8 arrives as surrogates: print its bytes as they were,
    # also under a locale whose stdout is strict (en_US.UTF-8), instead of failing.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="surrogateescape")
    app(prog_name="omega-db")
