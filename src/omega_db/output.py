"""Output basics: the formats, the two consoles, notes, JSON documents.

rich is imported only when a table or progress is drawn: plain JSON and CSV
output (and `--version`) never pay for it.
"""

from __future__ import annotations

import functools
import sys
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

GENERAL_LABEL = "(general)"


class Format(str, Enum):
    """Output formats of the listing commands."""

    table = "table"
    json = "json"
    csv = "csv"


class ReportFormat(str, Enum):
    """Output formats of migrate, status and verify."""

    table = "table"
    json = "json"


@functools.cache
def error_console() -> Console:
    """The rich console on stderr, for progress."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def scope_label(project: str) -> str:
    """How a project scope reads in a table: '' is (general)."""
    return GENERAL_LABEL if project == "" else project


def note(message: str) -> None:
    """A note for the person, on stderr, never mixed with data on stdout (control characters made visible)."""
    from omega_db.text import visible  # not on every start: --version never needs it

    sys.stderr.write(f"omega-db: {visible(message)}\n")


def write_json(value: Any) -> None:
    """One JSON document on stdout, as the database holds the values."""
    import json  # only JSON output pays for the import (start-up matters)

    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2))
    sys.stdout.write("\n")
