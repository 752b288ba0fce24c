"""Shell completion of option values, read from the database named on the command line.

Runs only when the shell asks (Typer sets _OMEGA_DB_COMPLETE), never on an ordinary run.
Read-only and quick to give up: a database that is missing, locked, damaged or slow gives
no suggestions, never an error, a traceback or a wait of more than a fraction of a second.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omega_db.ground import paths
from omega_db.ground.defaults import CONFIG_KEY

if TYPE_CHECKING:
    import sqlite3

# The modules that read the database are imported when the shell asks, not on every start.

GIVE_UP_SECONDS = 0.3  # the whole look-up, lock waits and scans included
MOST = 200  # values offered at once; a shell menu of more helps nobody
_LAST_CHAR = "\U0010ffff"  # after every character: [prefix, prefix + this) holds what starts with prefix

# What each option completes from: the column and the tables that hold it.
SOURCES = {
    "project": ("project", ("lessons", "outcomes", "scheduled_tasks")),
    "sender": ("sender_id", ("lessons", "outcomes", "scheduled_tasks")),
    "domain": ("domain", ("lessons", "outcomes")),
}


def database_on_line(ctx: Any) -> Path:
    """The DB the command line names, else the one OMEGA uses (after --config if the line gives it).

    While the shell completes, the positional DB is not parsed into ctx.params yet: it
    waits among ctx.args.
    """
    given = ctx.params.get("database") or next(
        (arg for arg in getattr(ctx, "args", ()) if not arg.startswith("-")), None
    )
    config = getattr(ctx, "meta", {}).get(CONFIG_KEY)  # --config, before or after the subcommand
    return paths.resolve_path(given, config=config)


def _deadline_reader(path: Path) -> tuple[sqlite3.Connection, float]:
    from omega_db.ground import db

    deadline = time.monotonic() + GIVE_UP_SECONDS
    conn = db.connect_readonly(path, timeout=GIVE_UP_SECONDS / 3)
    # A non-zero return interrupts the statement running: a big scan stops at the deadline.
    conn.set_progress_handler(lambda: time.monotonic() > deadline, 2_000)
    return conn, deadline


def _distinct(conn: sqlite3.Connection, column: str, tables: tuple[str, ...], prefix: str) -> Iterator[object]:
    from omega_db.ground import db

    for table in tables:
        if column not in db.table_columns(conn, table):
            continue
        params: tuple[str, ...]
        where, params = "", ()
        if prefix:  # a range, not LIKE: no wildcard in a value, and an index on the column serves it
            where, params = f" WHERE {column} >= ? AND {column} < ?", (prefix, prefix + _LAST_CHAR)
        query = f"SELECT DISTINCT {column} FROM {table}{where} LIMIT {MOST}"
        for (value,) in conn.execute(query, params):
            yield value


def values(ctx: Any, option: str, incomplete: str) -> list[str]:
    """The stored values of an option's column that start with incomplete; [] when the database will not say quickly."""
    from omega_db.ground.untrusted import visible

    column, tables = SOURCES[option]
    found: set[object] = set()  # stored values: a damaged file may hold a number or a BLOB
    try:
        conn, _ = _deadline_reader(database_on_line(ctx))
        try:
            for value in _distinct(conn, column, tables, incomplete):
                found.add(value)
                if len(found) >= MOST:
                    break
        finally:
            conn.close()
    except Exception:  # completion runs outside the error boundary: any failure is "no suggestions"
        pass
    # A value a shell could not insert as typed (empty, or holding control characters) is left out.
    return sorted(v for v in found if isinstance(v, str) and v and visible(v) == v and v.startswith(incomplete))


def projects(ctx: Any, incomplete: str) -> list[str]:
    """--project: the project names the database holds."""
    return values(ctx, "project", incomplete)


def senders(ctx: Any, incomplete: str) -> list[str]:
    """--sender: the sender ids the database holds."""
    return values(ctx, "sender", incomplete)


def domains(ctx: Any, incomplete: str) -> list[str]:
    """--domain: the domains the database holds."""
    return values(ctx, "domain", incomplete)


def targets(ctx: Any, incomplete: str) -> list[str]:
    """--to: the migrations the database can go to (where it is now, and each pending one); all when unknown."""
    from omega_db.chain import files, history

    try:
        known = files.discover()
        names = [m.name for m in known]
        path = database_on_line(ctx)
        if path.exists():
            conn, _ = _deadline_reader(path)
            try:
                plan = history.inspect(conn, path, known=known)
            finally:
                conn.close()
            names = [n for n in (plan.current, *(m.name for m in plan.all_pending)) if n in names]
    except Exception:  # as in values(): no suggestions rather than an error
        return []
    return [name for name in names if name.startswith(incomplete)]
