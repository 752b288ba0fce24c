"""`omega-db projects`: every project a file knows of, and every folder OMEGA would find, side by side.

A project's rows are keyed by its name (011); OMEGA finds a project by its folder
(~/.omega/projects/<name>/). A folder renamed or removed leaves its rows behind under
the old name, never injected again: this listing is where they show, as orphans.
Read-only, one snapshot; a table or column a file does not have yet counts 0 (before
011 every row is general).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from omega_db.data import listing
from omega_db.ground import db

GENERAL = ""
ACTIVE_PROJECT = "active_project"  # the fact key of a sender's active project
COUNTS = ("outcomes", "lessons", "pending_tasks", "conversations", "sessions", "active_for")


@dataclass(frozen=True)
class Source:
    """Where one count comes from: a table, what it counts, what it adds to last_activity."""

    table: str
    key: str | None  # the count it feeds (None: it only names projects)
    column: str = "project"  # the column holding the name
    counted: str = "count(*)"  # what the count sums
    newest: str | None = None  # the column whose max is the project's last activity here
    # Grouped first by the columns an index puts before the name (idx_outcomes_project is
    # (sender_id, project, timestamp)): SQLite walks the index in order instead of sorting every row.
    index_prefix: str = ""
    where: str = ""


SOURCES = (
    Source("outcomes", "outcomes", newest="timestamp", index_prefix="sender_id, "),
    Source("lessons", "lessons", newest="updated_at"),
    Source("scheduled_tasks", "pending_tasks", counted="sum(status = 'pending')"),
    Source("conversations", "conversations", newest="last_activity", index_prefix="channel, sender_id, "),
    Source("project_sessions", "sessions"),
    Source("project_sessions", None, column="parent_project", where=" WHERE parent_project IS NOT NULL"),
)


@dataclass(frozen=True)
class Project:
    """One row of the listing; `folder` is None for the general scope or an unreadable projects folder."""

    project: str | None  # None only where a damaged file holds NULL
    outcomes: int = 0
    lessons: int = 0
    pending_tasks: int = 0
    conversations: int = 0
    sessions: int = 0
    active_for: int = 0
    last_activity: str | None = None
    folder: bool | None = None

    @property
    def orphan(self) -> bool:
        """Rows in the database and no folder: OMEGA never finds (or injects) them again."""
        return self.folder is False


@dataclass(frozen=True)
class Listing:
    """What `projects` answers: the rows, the folder they were compared with, notes for the person."""

    database: Path
    projects_dir: Path
    folder_error: str | None  # why the projects folder could not be read, or None
    rows: tuple[Project, ...]
    notes: tuple[str, ...] = ()

    @property
    def orphans(self) -> int:
        """How many projects have rows and no folder."""
        return sum(row.orphan for row in self.rows)


def folders(projects_dir: Path) -> tuple[set[str], int]:
    """The names of the folders in projects_dir, and how many of them are not UTF-8 (OSError when it
    cannot be listed).

    A name that is not UTF-8 (os gives its bytes as lone surrogates) reads with U+FFFD, as any text
    shown anywhere: its raw bytes would make the JSON invalid and reach the terminal as they are.
    """
    names, undecodable = set(), 0
    with os.scandir(projects_dir) as entries:
        for entry in entries:
            if not entry.is_dir():
                continue
            try:
                entry.name.encode("utf-8")
                names.add(entry.name)
            except UnicodeEncodeError:  # a lone surrogate: a byte that is not UTF-8
                names.add(entry.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
                undecodable += 1
    return names, undecodable


def _gather(conn: sqlite3.Connection, found: dict[str | None, dict[str, object]]) -> None:
    """Add every source's counts and newest times to found (name -> fields)."""

    def row(name: str | None) -> dict[str, object]:
        return found.setdefault(name, {})

    for source in SOURCES:
        columns = db.table_columns(conn, source.table)
        if not columns or (source.column != "project" and source.column not in columns):
            continue
        newest = f"max(CAST({source.newest} AS TEXT))" if source.newest in columns else "NULL"
        counted = source.counted if source.key else "0"
        if source.column in columns:
            inner = (f"SELECT {source.column} AS name, {counted} AS n, {newest} AS m FROM {source.table}{source.where} "
                     f"GROUP BY {source.index_prefix}{source.column}")
            # CAST: a damaged file may hold a name as a BLOB or a number; NULL stays NULL.
            query = f"SELECT CAST(name AS TEXT), sum(n), max(m) FROM ({inner}) GROUP BY 1"
        else:  # before 011 (conversations: 012) every row is general
            query = f"SELECT '', {counted}, {newest} FROM {source.table}"
        for project, count, last in conn.execute(query):
            fields = row(project)
            if source.key:
                so_far = fields.get(source.key, 0)
                assert isinstance(so_far, int)  # a count's field is written only here, always an int
                fields[source.key] = so_far + int(count or 0)
            if last is not None and (fields.get("last_activity") is None or last > fields["last_activity"]):
                fields["last_activity"] = last
    if "key" in db.table_columns(conn, "facts"):
        query = "SELECT CAST(value AS TEXT), count(*) FROM facts WHERE key = ? GROUP BY 1"
        for project, count in conn.execute(query, (ACTIVE_PROJECT,)):
            row(project)["active_for"] = int(count)


def read(conn: sqlite3.Connection, names_on_disk: set[str] | None) -> list[Project]:
    """Every project of the database and of the folder, the general scope first, then by name."""
    found: dict[str | None, dict[str, object]] = {GENERAL: {}}
    _gather(conn, found)
    for name in names_on_disk or ():
        found.setdefault(name, {})
    order = sorted(found, key=lambda name: (name != GENERAL, name is None, name or ""))
    return [
        Project(
            name,
            **{key: value for key, value in found[name].items()},  # type: ignore[arg-type]
            folder=None if name == GENERAL or names_on_disk is None else name in names_on_disk,
        )
        for name in order
    ]


def projects(path: Path, projects_dir: Path, *, timeout: float = db.DEFAULT_TIMEOUT) -> Listing:
    """List the projects of the database at path against the folders of projects_dir, changing no byte."""
    on_disk: set[str] | None
    notes: tuple[str, ...] = ()
    try:
        on_disk, undecodable = folders(projects_dir)
        folder_error = None
    except OSError as exc:
        on_disk, undecodable, folder_error = None, 0, exc.strerror or type(exc).__name__
    if undecodable:
        notes = (f"{undecodable} folder name(s) in {projects_dir} are not valid UTF-8 and are shown with U+FFFD "
                 "(\N{REPLACEMENT CHARACTER}); a project's rows are named in UTF-8, so none are theirs.",)
    with listing.reading(path, timeout=timeout) as reading:
        rows = read(reading.conn, on_disk)
    return Listing(path, projects_dir, folder_error, tuple(rows), reading.notes + notes)


def has_rows(conn: sqlite3.Connection, table: str, name: str) -> bool:
    """True when table holds rows of project name, or when there is nothing to say: the general
    scope, or a table before 011 (every row general) or not there at all."""
    if not name or "project" not in db.table_columns(conn, table):
        return True
    # Stops at the first row of the project: on the normal path (it has rows) this costs next to nothing.
    return conn.execute(f"SELECT 1 FROM {table} WHERE project = ? LIMIT 1", (name,)).fetchone() is not None


def nearest(conn: sqlite3.Connection, name: str, *, shown: int = 5) -> tuple[list[str], int]:
    """The known projects (at most shown), the most similar to name first, and how many there are
    in all: read only when name has no rows."""
    import difflib

    known = [row.project for row in read(conn, None) if row.project]
    close = difflib.get_close_matches(name, known, n=shown, cutoff=0.5)
    return (close + [other for other in known if other not in close])[:shown], len(known)
