"""The project-scoped questions, with OMEGA's own semantics; SQL bound with ? parameters."""

from __future__ import annotations

import contextlib
import math
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from omega_db import db, sql
from omega_db.choices import TaskStatus
from omega_db.errors import BadArgumentError, MissingMigrationError

GENERAL = ""


def _project_expr(conn: sqlite3.Connection, table: str) -> str | None:
    """The SQL expression for a table's project: the column, '' before 011, None if no table."""
    columns = db.table_columns(conn, table)
    if not columns:
        return None
    return "project" if "project" in columns else "''"


def project_counts(conn: sqlite3.Connection) -> list[dict[str, object]]:
    """One row per project (the general scope '' always first) with its outcome, lesson and pending task counts."""
    counts: dict[str, dict[str, object]] = {}

    def row(project: str) -> dict[str, object]:
        return counts.setdefault(
            project, {"project": project, "outcomes": 0, "lessons": 0, "pending_tasks": 0}
        )

    row(GENERAL)
    sources = (
        ("outcomes", "outcomes", ""),
        ("lessons", "lessons", ""),
        ("scheduled_tasks", "pending_tasks", " WHERE status = 'pending'"),
    )
    for table, key, where in sources:
        scope = _project_expr(conn, table)
        if scope is None:
            continue
        query = f"SELECT {scope}, count(*) FROM {table}{where} GROUP BY 1"
        if scope == "project" and not where:  # grouped in the order of the (sender_id, project) index: no sort
            inner = f"SELECT project, count(*) AS n FROM {table} GROUP BY sender_id, 1"  # of every row, 3x faster
            query = f"SELECT project, sum(n) FROM ({inner}) GROUP BY 1"
        for project, count in conn.execute(query):
            row(project)[key] = count
    return [counts[name] for name in sorted(counts)]


# --- lessons, outcomes, tasks --------------------------------------------------

LESSON_COLUMNS = (
    "id",
    "sender_id",
    "domain",
    "rule",
    "project",
    "occurrences",
    "created_at",
    "updated_at",
)
OUTCOME_COLUMNS = ("id", "timestamp", "sender_id", "domain", "score", "lesson", "source", "project")
OUTCOMES_DEFAULT_LIMIT = 50
BATCH_ROWS = 2_000  # small enough to keep memory flat, big enough for few writes

# Where each command's table comes from, for "which migration is missing".
_MADE_BY = {
    "lessons": "010_outcomes",
    "outcomes": "010_outcomes",
    "scheduled_tasks": "005_scheduled_tasks",
}

# The fixed pieces of the listing queries; every value is a ? parameter.
SQL_SENDER = "sender_id = ?"
SQL_DOMAIN = "domain = ?"
SQL_STATUS = "status = ?"
SQL_PROJECT = "{scope} = ?"
# OMEGA's injection set: the project's rows and the general ones.
SQL_PROJECT_AND_GENERAL = "{scope} IN (?, '')"
SQL_LESSONS_ORDER = "updated_at DESC, id"
SQL_LESSONS_SCOPED_ORDER = "{scope} = '', updated_at DESC, id"  # false (the project) sorts first
# rowid breaks ties: it is in idx_outcomes_time already, so SQLite walks the index without sorting.
SQL_OUTCOMES_ORDER = "timestamp DESC, rowid DESC"
# datetime('now', '-H hours') is NULL once H reaches past year 0000, SQLite's range: no bound then.
SQL_WITHIN_HOURS = "datetime(timestamp) >= coalesce(datetime('now', ?), '')"
SQL_DUE = "datetime(due_at) <= datetime('now')"
# due_at may be written with 'T' or a trailing 'Z': compare normalised, as OMEGA does.
SQL_TASKS_ORDER = "datetime(due_at), id"

Where = list[tuple[str, tuple[object, ...]]]  # (clause, its parameters)


class ListingKind(str, Enum):
    """Which of the listing commands asked."""

    lessons = "lessons"
    outcomes = "outcomes"
    tasks = "tasks"


@dataclass(frozen=True)
class Question:
    """What a listing command was asked: the command and its filters (for titles and notes)."""

    kind: ListingKind
    project: str | None = None
    only: bool = False
    sender: str | None = None
    domain: str | None = None
    hours: float | None = None
    status: TaskStatus = TaskStatus.pending
    due: bool = False
    limit: int = 0  # 0: no cap


@dataclass(frozen=True)
class Answer:
    """A listing ready to stream from an open read-only connection."""

    question: Question
    columns: tuple[str, ...]
    sql: str  # selects the columns, values as stored
    json_sql: str  # the same rows, each one JSON object built by SQLite
    params: tuple[object, ...]
    before_011: bool  # the table has no project column: every row is general
    conn: sqlite3.Connection = field(repr=False, compare=False)
    # Lines a table draws after row N, when a row follows: (N, its text given how many rows follow N).
    rules: tuple[tuple[int, Callable[[int], str]], ...] = field(default=(), compare=False)

    def count(self) -> int:
        """How many rows the answer holds, counted by SQLite without fetching them."""
        return int(self.conn.execute(f"SELECT count(*) FROM ({self.sql})", self.params).fetchone()[0])

    def batches(self, size: int = BATCH_ROWS) -> Iterator[list[tuple[object, ...]]]:
        """The rows as tuples, a bounded batch at a time (never all in memory)."""
        cursor = self.conn.execute(self.sql, self.params)
        while rows := cursor.fetchmany(size):
            yield rows

    def json_batches(self, size: int = BATCH_ROWS) -> Iterator[list[bytes]]:
        """Each row as one JSON object in UTF-8, as SQLite wrote it, a bounded batch at a time."""
        previous = self.conn.text_factory
        # bytes: the JSON goes from SQLite to stdout without a decode and an encode per row.
        self.conn.text_factory = bytes
        try:
            cursor = self.conn.execute(self.json_sql, self.params)
            while rows := cursor.fetchmany(size):
                yield [row[0] for row in rows]
        finally:
            self.conn.text_factory = previous


@contextlib.contextmanager
def reading(path: Path, *, timeout: float = db.DEFAULT_TIMEOUT) -> Iterator[sqlite3.Connection]:
    """A read-only connection for one listing; SQLite errors met inside become OmegaDbError."""
    conn = db.connect_readonly(path, timeout=timeout)
    try:
        with db.translate_errors(path):
            conn.execute("BEGIN")  # one snapshot: Answer.count() agrees with the rows
            yield conn
    except MissingMigrationError as exc:  # the query knows the table, only we know the file
        raise MissingMigrationError(f"{path}: {exc.message}") from None
    finally:
        conn.close()


def _table(conn: sqlite3.Connection, table: str) -> tuple[list[str], str]:
    """The table's columns and its project expression; MissingMigrationError if it does not exist."""
    columns = db.table_columns(conn, table)
    if not columns:
        raise MissingMigrationError(
            f"this database has no {table} table yet: migration {_MADE_BY[table]} is missing; "
            "run `omega-db migrate` on it first."
        )
    return columns, ("project" if "project" in columns else "''")


def _cap(limit: int | None) -> int:
    if limit is not None and limit < 0:
        raise BadArgumentError(
            f"--limit must be 0 (no cap) or a positive number of rows, not {limit}."
        )
    return limit or 0


def _answer(
    conn: sqlite3.Connection,
    question: Question,
    table: str,
    columns: Sequence[str],
    scope: str,
    where: Where,
    order: str,
) -> Answer:
    """Assemble the plain and the JSON query from fixed pieces; values only as parameters."""
    selected = [(name, scope if name == "project" else sql.quote(name)) for name in columns]
    plain = ", ".join(
        expr if expr == sql.quote(name) else f"{expr} AS {sql.quote(name)}" for name, expr in selected
    )
    as_json = (
        "json_object(" + ", ".join(f"{sql.literal(name)}, {expr}" for name, expr in selected) + ")"
    )
    tail = f" FROM {sql.quote(table)}"
    if where:
        tail += " WHERE " + " AND ".join(clause for clause, _ in where)
    tail += f" ORDER BY {order}"
    params = tuple(value for _, values in where for value in values)
    if question.limit:
        # Only when capped: even LIMIT -1 turns SQLite's merge sort into a slower bounded sort.
        tail += " LIMIT ?"
        params += (question.limit,)
    return Answer(
        question=question,
        columns=tuple(name for name, _ in selected),
        sql=f"SELECT {plain}{tail}",
        json_sql=f"SELECT {as_json}{tail}",
        params=params,
        before_011=scope != "project",
        conn=conn,
    )


def _filters(scope: str, project: str | None, sender: str | None, domain: str | None) -> Where:
    where: Where = []
    if project is not None:
        where.append((SQL_PROJECT.format(scope=scope), (project,)))
    if sender is not None:
        where.append((SQL_SENDER, (sender,)))
    if domain is not None:
        where.append((SQL_DOMAIN, (domain,)))
    return where


def lessons(
    conn: sqlite3.Connection,
    *,
    project: str | None = None,
    only: bool = False,
    sender: str | None = None,
    domain: str | None = None,
    limit: int | None = None,
) -> Answer:
    """Lessons as OMEGA injects them: P's first, then general ones (--only: P's alone); none: all."""
    if only and project is None:
        raise BadArgumentError(
            "--only needs --project P: it shows project P's lessons without the general ones."
        )
    question = Question(
        ListingKind.lessons, project=project, only=only, sender=sender, domain=domain, limit=_cap(limit)
    )
    _, scope = _table(conn, "lessons")
    order = SQL_LESSONS_ORDER
    where = _filters(scope, project, sender, domain)
    if project is not None and project != GENERAL and not only:
        where[0] = (SQL_PROJECT_AND_GENERAL.format(scope=scope), (project,))
        order = SQL_LESSONS_SCOPED_ORDER.format(scope=scope)
    return _answer(conn, question, "lessons", LESSON_COLUMNS, scope, where, order)


def outcomes(
    conn: sqlite3.Connection,
    *,
    project: str | None = None,
    sender: str | None = None,
    domain: str | None = None,
    hours: float | None = None,
    limit: int | None = OUTCOMES_DEFAULT_LIMIT,
) -> Answer:
    """Outcomes newest first, optionally one project ('' general only) and the last H hours."""
    if hours is not None and not (0 < hours < math.inf):
        raise BadArgumentError(
            f"--hours must be a positive number of hours (fractions allowed), not {hours}."
        )
    question = Question(
        ListingKind.outcomes, project=project, sender=sender, domain=domain, hours=hours, limit=_cap(limit)
    )
    _, scope = _table(conn, "outcomes")
    where = _filters(scope, project, sender, domain)
    if hours is not None:
        where.append((SQL_WITHIN_HOURS, (f"-{hours:.6f} hours",)))
    return _answer(conn, question, "outcomes", OUTCOME_COLUMNS, scope, where, SQL_OUTCOMES_ORDER)


def tasks(
    conn: sqlite3.Connection,
    *,
    project: str | None = None,
    sender: str | None = None,
    status: TaskStatus | str | None = None,
    due: bool = False,
    limit: int | None = None,
) -> Answer:
    """Scheduled tasks by due time, earliest first: one status (pending by default) or all; --due: due now."""
    try:
        wanted = TaskStatus(status) if status is not None else TaskStatus.pending
    except ValueError:
        choices = ", ".join(s.value for s in TaskStatus)
        raise BadArgumentError(f"--status must be one of {choices}, not {status!r}.") from None
    if due and wanted is not TaskStatus.pending:
        raise BadArgumentError(
            f"--due lists pending tasks that are due; it cannot be combined with --status {wanted.value}."
        )
    question = Question(
        ListingKind.tasks, project=project, sender=sender, status=wanted, due=due, limit=_cap(limit)
    )
    columns, scope = _table(conn, "scheduled_tasks")
    if scope != "project":
        columns = [*columns, "project"]
    where = _filters(scope, project, sender, None)
    if wanted is not TaskStatus.all:
        where.append((SQL_STATUS, (wanted.value,)))
    if due:
        where.append((SQL_DUE, ()))
    return _answer(conn, question, "scheduled_tasks", columns, scope, where, SQL_TASKS_ORDER)
