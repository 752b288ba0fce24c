"""The options every command shares, defined once: the database, the format, the timeout, the filters."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer

from omega_db.commands import completion
from omega_db.ground import paths
from omega_db.ground.defaults import CONFIG_KEY, DEBUG_KEY, MAX_TIMEOUT
from omega_db.ground.errors import BadArgumentError, BadDatabaseError, OmegaDbError
from omega_db.output import streams
from omega_db.output.streams import Format, ReportFormat

DEBUG_ENV = "OMEGA_DB_DEBUG"

# Options shared by every command.
DbArg = Annotated[
    Optional[str],
    typer.Argument(
        metavar="DB",
        help="The database file (default: the one OMEGA uses: $OMEGA_DB, else [memory] db_path in "
        "OMEGA's config file, else ~/.omega/data/memory.db).",
        show_default=False,
    ),
]
ReportFormatOpt = Annotated[
    ReportFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
]


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a number of seconds.")
    if value > MAX_TIMEOUT:  # past it, SQLite's busy timeout would wrap around and not wait at all
        raise typer.BadParameter(
            f"{value:.10g} seconds is longer than SQLite can wait; the most is {MAX_TIMEOUT} (about 24 days)."
        )
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

def _config(ctx: typer.Context, value: Optional[str]) -> Optional[str]:
    if value is not None:
        ctx.meta[CONFIG_KEY] = value
    return value


# Accepted before the subcommand (on the app) and after it (on every command) alike.
ConfigOpt = Annotated[
    Optional[str],
    typer.Option(
        "--config",
        metavar="PATH",
        callback=_config,
        expose_value=False,
        help="OMEGA's config file, read for [memory] db_path when no DB is given "
        "(default: ~/.omega/config.toml).",
        show_default=False,
    ),
]


def database_path(ctx: typer.Context, database: Optional[str], *, missing_ok: bool = False) -> Path:
    """The database a command works on, found as OMEGA finds it; a note when it is the legacy file.

    Unless missing_ok (migrate creates it; backups and restore work without it), a file that
    the default order did not find is an error that names every place looked.
    """
    location = paths.locate(database, config=ctx.meta.get(CONFIG_KEY))
    if location.note:
        streams.note(f"note: {location.note}")
    if not missing_ok and not location.explicit and not os.path.lexists(location.path):
        raise BadDatabaseError(location.missing())
    return location.path


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
KeepOpt = Annotated[
    Optional[int],
    typer.Option(
        "--keep",
        metavar="N",
        min=1,
        max=1_000_000,
        help="Afterwards delete all but the N newest backups of this database (<DB>.bak-<UTC time>); "
        "never the one just made.",
        show_default=False,
    ),
]


# Options of the commands that change OMEGA's rows (projects rename, prune).
YesOpt = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (needed without a terminal).")
]
NoBackupOpt = Annotated[
    bool, typer.Option("--no-backup", help="Do not take the online backup before changing the file.")
]


def confirm_or_refuse(yes: bool, path: Path, command: str, question: Callable[[], str]) -> None:
    """Go on with `yes`; else ask on a terminal (no: exit 1), and refuse without one (exit 2). Nothing changed yet."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise BadArgumentError(f"{command} changes {path}: confirm on a terminal, or pass --yes; nothing was changed.")
    try:
        confirmed = _confirmed(question())
    except KeyboardInterrupt:  # Ctrl-C at the question: nothing began, so there is nothing to roll back
        sys.stderr.write("\n")
        streams.note(f"interrupted; {command} was not confirmed, nothing was changed.")
        raise typer.Exit(130) from None
    if not confirmed:
        raise OmegaDbError(f"{path}: {command} was not confirmed; nothing was changed.")


def _confirmed(question: str) -> bool:
    """Ask on stderr, read the answer from stdin: y or yes goes on; n, no, an empty line or end of input does not.

    Not typer.confirm: with err=True its prompt still writes a space to stdout, and the report that
    follows there (JSON with -f json) would start with it.
    """
    while True:
        sys.stderr.write(f"{question} [y/N]: ")
        sys.stderr.flush()
        answer = sys.stdin.readline()
        if not answer:  # end of input (Ctrl-D)
            sys.stderr.write("\n")
            return False
        word = answer.strip().lower()
        if word in ("y", "yes"):
            return True
        if word in ("", "n", "no"):
            return False
        sys.stderr.write("Answer y or n.\n")
