"""The command learning: parse, ask the core once, render (registered by cli)."""

from typing import Annotated, Optional

import typer

from omega_db.commands import completion
from omega_db.commands.listings import note_unknown_project
from omega_db.commands.options import (
    ConfigOpt,
    DbArg,
    DebugOpt,
    ReportFormatOpt,
    SenderOpt,
    TimeoutOpt,
    database_path,
)
from omega_db.ground.defaults import DEFAULT_TIMEOUT
from omega_db.output import streams
from omega_db.output.streams import ReportFormat

DEFAULT_DAYS = 30  # data.learning.DEFAULT_DAYS: that module is imported only when the command runs
MAX_DAYS = 36_500  # data.learning.MAX_DAYS


def learning(
    ctx: typer.Context,
    database: DbArg = None,
    project: Annotated[
        Optional[str],
        typer.Option(
            "--project",
            metavar="P",
            help="Only project P ('' is the general scope).",
            show_default=False,
            autocompletion=completion.projects,
        ),
    ] = None,
    sender: SenderOpt = None,
    days: Annotated[
        int,
        typer.Option("--days", metavar="N", min=1, max=MAX_DAYS, help="The last N whole UTC days, today included."),
    ] = DEFAULT_DAYS,
    fmt: ReportFormatOpt = ReportFormat.table,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Show what the agent has learned, per project (read-only).

    For each project (general first): the outcomes by score (+, ~, -) over the
    window, in total and per UTC day (a sparkline of each day's net score); per
    domain the outcomes, the lessons and the (sender, domain) scopes at OMEGA's
    cap of 10; the five most reinforced lessons. Then every sender whose
    lessons in one project fill OMEGA's 50-lesson window, so that no general
    lesson reaches the agent there.

    \b
    Examples:
      omega-db learning --project my-app
      omega-db learning --sender alice --days 7
      omega-db learning -f json | jq '.crowded_out'
    """
    from omega_db.data import learning as core
    from omega_db.data import listing
    from omega_db.output import learning as shown

    path = database_path(ctx, database)
    with listing.reading(path, timeout=timeout) as found:
        for note in found.notes:
            streams.note(f"note: {note}")
        result = core.learning(found.conn, project=project, sender=sender, days=days)
        if project is not None:
            note_unknown_project(found.conn, ("outcomes", "lessons"), project)
    with streams.writing():
        shown.render_learning(path, result, fmt)


COMMANDS = (learning,)
