"""The options every command shares, defined once: the database, the format, the timeout, the filters."""

from __future__ import annotations

import math
from typing import Annotated, Optional

import typer

from omega_db import completion
from omega_db.output import Format, ReportFormat

DEBUG_ENV = "OMEGA_DB_DEBUG"
DEBUG_KEY = "omega_db.debug"  # in ctx.meta, which every context of one command line shares

# Options shared by every command.
DbArg = Annotated[
    Optional[str],
    typer.Argument(
        metavar="DB",
        help="The database file (default: $OMEGA_DB, else ~/.omega/memory.db).",
        show_default=False,
    ),
]
ReportFormatOpt = Annotated[
    ReportFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
]


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a number of seconds.")
    return value


def _debug(ctx: typer.Context, value: bool) -> bool:
    if value:
        ctx.meta[DEBUG_KEY] = True
    return value


# Accepted before the subcommand (on the app) and after it (on every command) alike.
DebugOpt = Annotated[
    bool,
    typer.Option(
        "--debug",
        callback=_debug,
        is_eager=True,
        expose_value=False,
        help=f"Show the Python traceback of an error (also {DEBUG_ENV}=1).",
    ),
]

TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        min=0,
        callback=_finite,
        metavar="SECONDS",
        help="How long to wait for a lock held by another process (OMEGA) before giving up.",
    ),
]


# Options shared by the listing commands (lessons, outcomes, tasks).
FormatOpt = Annotated[
    Format, typer.Option("--format", "-f", help="Output format (json and csv: for scripts).", case_sensitive=False)
]
ProjectOpt = Annotated[
    Optional[str],
    typer.Option(
        "--project",
        metavar="P",
        help="Only project P ('' is the general scope).",
        show_default=False,
        autocompletion=completion.projects,
    ),
]
SenderOpt = Annotated[
    Optional[str],
    typer.Option(
        "--sender", metavar="S", help="Only sender S.", show_default=False, autocompletion=completion.senders
    ),
]
DomainOpt = Annotated[
    Optional[str],
    typer.Option(
        "--domain", metavar="D", help="Only domain D.", show_default=False, autocompletion=completion.domains
    ),
]
LimitOpt = Annotated[
    Optional[int],
    # max: SQLite's largest integer; a bigger N would reach the query as an OverflowError.
    typer.Option("--limit", metavar="N", min=0, max=2**63 - 1, help="At most N rows (0: no cap)."),
]
