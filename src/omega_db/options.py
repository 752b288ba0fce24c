"""The options every command shares, defined once: the database, the format, the timeout, the filters."""

from __future__ import annotations

import math
from typing import Annotated, Optional

import typer

from omega_db.output import Format, ReportFormat

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
ConfigOpt = Annotated[
    Optional[str],
    typer.Option(
        "--config",
        metavar="PATH",
        help="OMEGA's config file, read for [memory] db_path when no DB is given "
        "(default: ~/.omega/config.toml).",
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
    typer.Option("--project", metavar="P", help="Only project P ('' is the general scope).", show_default=False),
]
SenderOpt = Annotated[
    Optional[str], typer.Option("--sender", metavar="S", help="Only sender S.", show_default=False)
]
DomainOpt = Annotated[
    Optional[str], typer.Option("--domain", metavar="D", help="Only domain D.", show_default=False)
]
LimitOpt = Annotated[
    Optional[int],
    # max: SQLite's largest integer; a bigger N would reach the query as an OverflowError.
    typer.Option("--limit", metavar="N", min=0, max=2**63 - 1, help="At most N rows (0: no cap)."),
]


# Option shared by migrate and backup.
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
