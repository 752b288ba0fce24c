"""The commands lessons, outcomes and tasks: parse, ask the core, stream the answer (registered by cli)."""

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from omega_db.commands import completion
from omega_db.commands.options import (
    ConfigOpt,
    DbArg,
    DebugOpt,
    DomainOpt,
    FormatOpt,
    LimitOpt,
    ProjectOpt,
    SenderOpt,
    TimeoutOpt,
    database_path,
)
from omega_db.ground.defaults import DEFAULT_TIMEOUT, TaskStatus
from omega_db.output import streams
from omega_db.output.streams import Format

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable

    from omega_db.data.listing import Answer


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
            autocompletion=completion.projects,
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
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
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
    from omega_db.data import queries

    _answer(ctx, database, timeout, fmt, queries.lessons, "lessons", project=project, only=only, sender=sender,
            domain=domain, limit=limit, injected=injected)


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
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
    config: ConfigOpt = None,
) -> None:
    """List outcomes (OMEGA's reward signals), newest first (read-only).

    \b
    Examples:
      omega-db outcomes --project my-app --hours 24
      omega-db outcomes --sender alice --domain coding --limit 10
      omega-db outcomes --limit 0 -f json > outcomes.json
    """
    from omega_db.data import queries

    _answer(ctx, database, timeout, fmt, queries.outcomes, "outcomes", project=project, sender=sender, domain=domain,
            hours=hours, limit=limit)


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
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
    config: ConfigOpt = None,
) -> None:
    """List scheduled tasks by due time, earliest first (read-only).

    \b
    Examples:
      omega-db tasks --project my-app
      omega-db tasks --due -f json
      omega-db tasks --status all --sender alice -f csv
    """
    from omega_db.data import queries

    _answer(ctx, database, timeout, fmt, queries.tasks, "scheduled_tasks", project=project, sender=sender,
            status=status, due=due, limit=limit)


def _answer(ctx: typer.Context, database: Optional[str], timeout: float, fmt: Format, ask: "Callable[..., Answer]",
            table: str, **question: object) -> None:
    """Open the file read-only, say what is half-done in it, ask, and stream the answer in fmt."""
    from omega_db.data import listing
    from omega_db.output import listings

    with listing.reading(database_path(ctx, database), timeout=timeout) as found:
        for note in found.notes:
            streams.note(f"note: {note}")
        answer = ask(found.conn, **question)
        with streams.writing():
            listings.render_listing(answer, fmt)
        project = question.get("project")
        if isinstance(project, str):
            note_unknown_project(found.conn, (table,), project)


def note_unknown_project(conn: "sqlite3.Connection", tables: tuple[str, ...], project: str) -> None:
    """A note when --project names a project with no rows in any of tables (a typo shows only general rows)."""
    from omega_db.data import projects
    from omega_db.ground import decoding

    previous, conn.text_factory = conn.text_factory, decoding.decode  # names as str, whatever the caller read
    try:
        if any(projects.has_rows(conn, table, project) for table in tables):
            return
        known, total = projects.nearest(conn, project)
    finally:
        conn.text_factory = previous
    listed = ", ".join(known) if known else "none"
    if total > len(known):
        listed += f" and {total - len(known)} more (`omega-db projects` lists them)"
    where = tables[0] if len(tables) == 1 else f"{', '.join(tables[:-1])} or {tables[-1]}"
    streams.note(f"note: no rows for {project} in {where}; known: {listed}.")


COMMANDS = (lessons, outcomes, tasks)
