"""The project-scoped questions asked of a file: read-only, and honest about a half-applied migration.

A file that OMEGA's runner left half-way through a migration answers from the
tables that are there, with a note that says so; where the half-done state
took the asked table away (013 stopped after `DROP TABLE lessons`), the answer
is that state and its remedy, not "run omega-db migrate".
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from omega_db import answers, db, history
from omega_db.errors import HalfAppliedError, MissingMigrationError


@dataclass(frozen=True)
class Reading:
    """An open read-only connection and what the person should know about the file."""

    conn: sqlite3.Connection
    notes: tuple[str, ...] = ()


@contextlib.contextmanager
def reading(path: Path, *, timeout: float = db.DEFAULT_TIMEOUT) -> Iterator[Reading]:
    """A read-only connection for one listing, after looking for a half-applied migration."""
    with answers.reading(path, timeout=timeout) as conn:
        plan = history.inspect(conn, path)
        half = None
        if plan.may_be_half_applied:  # rarely: the detection (and its import) costs milliseconds
            from omega_db import halfapplied

            half = halfapplied.detect(conn, plan)
        if half is None:
            yield Reading(conn)
            return
        remedy = "run `omega-db migrate --repair` to complete it"
        try:
            yield Reading(conn, (f"{path}: {half.describe()}; the answer below may be incomplete; {remedy}.",))
        except MissingMigrationError:
            raise HalfAppliedError(f"{path}: {half.describe()}; {remedy}.") from None
