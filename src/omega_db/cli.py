"""The Typer app: each command parses, calls the core once, renders. No SQL, no rules."""

import contextlib
import os
import sys
import traceback
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from omega_db import __version__, completion, output, paths
from omega_db.choices import DEFAULT_TIMEOUT, TaskStatus
from omega_db.errors import OmegaDbError
from omega_db.options import (
    DEBUG_ENV,
    DEBUG_KEY,
    DbArg,
    DebugOpt,
    DomainOpt,
    FormatOpt,
    LimitOpt,
    ProjectOpt,
    ReportFormatOpt,
    SenderOpt,
    TimeoutOpt,
)
from omega_db.output import Format, ReportFormat


def _debug_wanted(ctx: typer.Context) -> bool:
    return bool(ctx.meta.get(DEBUG_KEY)) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _traceback() -> None:
    with contextlib.suppress(OSError, ValueError):
        traceback.print_exc()


class _ErrorBoundary(TyperGroup):
    """The one place where errors become a sentence on stderr and an exit code."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # Typer's own control flow and usage errors (exit 2)
        except OmegaDbError as exc:
            if _debug_wanted(ctx):
                _traceback()
            output.note(f"error: {exc.message}")
            raise typer.Exit(exc.exit_code) from None
        except BrokenPipeError:
            # The reader went away (`omega-db outcomes | head`): not an error.
            output.discard_stdout()
            raise typer.Exit(0) from None
        except KeyboardInterrupt:
            output.note("interrupted; any migration in progress was rolled back.")
            raise typer.Exit(130) from None
        except Exception as exc:  # a bug of ours: still one sentence, traceback on request
            if _debug_wanted(ctx):
                _traceback()
            output.note(
                f"error: unexpected {type(exc).__name__}: {exc}. "
                f"Run again with --debug (or {DEBUG_ENV}=1) for details, and report it."
            )
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_ErrorBoundary,
    name="omega-db",
    help="Administer the OMEGA agent's memory database (~/.omega/memory.db).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"omega-db {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Administer the OMEGA agent's memory database (~/.omega/memory.db).

    The database is the DB argument of each command, else $OMEGA_DB, else
    ~/.omega/memory.db. Every command but migrate only reads it.
    """


@app.command()
def migrate(
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
    fmt: ReportFormatOpt = ReportFormat.table,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
) -> None:
    """Apply pending migrations, each in one transaction, after an online backup.

    A missing file is created (0600, folders 0700) and fully migrated.

    \b
    Examples:
      omega-db migrate ~/.omega/memory.db
      omega-db migrate --dry-run
      omega-db migrate --to 010 ./copy.db
      omega-db migrate -f json --no-backup ./scratch.db
      omega-db migrate --repair   # after OMEGA stopped half-way through a migration
    """
    from omega_db import reports
    from omega_db.migrate import migrate as run_migrate

    path = paths.resolve_path(database)
    with reports.migrate_progress(fmt is ReportFormat.table and not dry_run) as on_event:
        result = run_migrate(
            path, to=to, dry_run=dry_run, make_backup=not no_backup, timeout=timeout, on_event=on_event,
            repair_half_applied=repair_half_applied,
        )
    with output.writing():
        reports.render_migrate(result, fmt)


@app.command()
def status(
    database: DbArg = None,
    fmt: ReportFormatOpt = ReportFormat.table,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
) -> None:
    """Show the file, its migration history and its projects (read-only).

    \b
    Examples:
      omega-db status
      omega-db status ~/.omega/memory.db -f json
    """
    from omega_db import reports
    from omega_db.status import status as read_status

    st = read_status(paths.resolve_path(database), timeout=timeout)
    with output.writing():
        reports.render_status(st, fmt)


@app.command()
def verify(
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
) -> None:
    """Prove the database healthy: integrity, history, schema, foreign keys, FTS5 index, 011's data (read-only).

    Each check is ok, warning or fail; exit 1 if any fails (with --strict, any warning too).

    \b
    Examples:
      omega-db verify
      omega-db verify --quick --strict ~/.omega/memory.db
      omega-db verify -f json | jq '.checks[] | select(.status != "ok")'
    """
    from omega_db import reports
    from omega_db.verify import verify as run_verify

    report = run_verify(paths.resolve_path(database), quick=quick, strict=strict, timeout=timeout)
    with output.writing():
        reports.render_verify(report, fmt)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def lessons(
    database: DbArg = None,
    project: Annotated[
        Optional[str],
        typer.Option(
            "--project",
            metavar="P",
            help="What OMEGA injects when P is active: P's lessons first, then the general ones "
            "('': general only).",
            show_default=False,
            autocompletion=completion.projects,
        ),
    ] = None,
    only: Annotated[bool, typer.Option("--only", help="With --project P: P's lessons alone.")] = False,
    sender: SenderOpt = None,
    domain: DomainOpt = None,
    limit: LimitOpt = None,
    fmt: FormatOpt = Format.table,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
) -> None:
    """List lessons, most recently updated first (read-only).

    No --project: every lesson of every project.

    \b
    Examples:
      omega-db lessons --project my-app
      omega-db lessons --project my-app --only --sender alice
      omega-db lessons --project '' -f json
      omega-db lessons ~/.omega/memory.db --domain coding -f csv > lessons.csv
    """
    from omega_db import listing, queries

    with queries.reading(paths.resolve_path(database), timeout=timeout) as conn:
        answer = queries.lessons(conn, project=project, only=only, sender=sender, domain=domain, limit=limit)
        with output.writing():
            listing.render_listing(answer, fmt)


@app.command()
def outcomes(
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
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
) -> None:
    """List outcomes (OMEGA's reward signals), newest first (read-only).

    \b
    Examples:
      omega-db outcomes --project my-app --hours 24
      omega-db outcomes --sender alice --domain coding --limit 10
      omega-db outcomes --limit 0 -f json > outcomes.json
    """
    from omega_db import listing, queries

    with queries.reading(paths.resolve_path(database), timeout=timeout) as conn:
        answer = queries.outcomes(conn, project=project, sender=sender, domain=domain, hours=hours, limit=limit)
        with output.writing():
            listing.render_listing(answer, fmt)


@app.command()
def tasks(
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
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
) -> None:
    """List scheduled tasks by due time, earliest first (read-only).

    \b
    Examples:
      omega-db tasks --project my-app
      omega-db tasks --due -f json
      omega-db tasks --status all --sender alice -f csv
    """
    from omega_db import listing, queries

    with queries.reading(paths.resolve_path(database), timeout=timeout) as conn:
        answer = queries.tasks(conn, project=project, sender=sender, status=status, due=due, limit=limit)
        with output.writing():
            listing.render_listing(answer, fmt)


def main() -> None:
    """Console-script entry point."""
    try:
        output.prepare_streams()
        app(prog_name="omega-db")
    except OmegaDbError as exc:  # stdout is closed: there is nowhere to answer
        output.note(f"error: {exc.message}")
        sys.exit(exc.exit_code)
    except SystemExit as exc:
        sys.exit(output.finish(exc.code))
