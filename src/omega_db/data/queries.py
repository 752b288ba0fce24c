"""The project-scoped questions, with OMEGA's own semantics; SQL bound with ? parameters."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence

from omega_db.data.listing import Answer, ListingKind, Query, Question, TaskStatus
from omega_db.ground import db, decoding, sql
from omega_db.ground.errors import BadArgumentError, MissingMigrationError

GENERAL = ""


def _project_expr(conn: sqlite3.Connection, table: str) -> str | None:
    """The SQL expression for a table's project: the column, '' before 011, None if no table."""
    columns = db.table_columns(conn, table)
    if not columns:
        return None
    return "project" if "project" in columns else "''"


def project_counts(conn: sqlite3.Connection) -> list[dict[str, object]]:
    """One row per project (the general scope '' always first) with its outcome, lesson and pending task counts."""
    counts: dict[str | None, dict[str, object]] = {}

    def row(project: str | None) -> dict[str, object]:
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
        # CAST: a damaged file may hold a project as a BLOB or a number; NULL stays NULL (None).
        query = f"SELECT CAST({scope} AS TEXT), count(*) FROM {table}{where} GROUP BY 1"
        if scope == "project" and not where:  # grouped in the order of the (sender_id, project) index: no sort
            inner = f"SELECT project, count(*) AS n FROM {table} GROUP BY sender_id, 1"  # of every row, 3x faster
            query = f"SELECT CAST(project AS TEXT), sum(n) FROM ({inner}) GROUP BY 1"
        for project, count in conn.execute(query):
            row(project)[key] = count
    return [counts[name] for name in sorted(counts, key=lambda name: (name is None, name or ""))]


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
WINDOW = 50  # OMEGA v1.3.0 injects at most 50 lessons (omega-schema.md)

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


def scoped_table(conn: sqlite3.Connection, table: str) -> tuple[list[str], str]:
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


def _query(table: str, selected: Sequence[tuple[str, str]], where: Where, order: Where, limit: int) -> Query:
    """One SELECT from fixed pieces, in two forms (the columns; one JSON object); every value a ? parameter."""
    plain = ", ".join(
        expr if expr == sql.quote(name) else f"{expr} AS {sql.quote(name)}" for name, expr in selected
    )
    as_json = "json_object(" + ", ".join(f"{sql.literal(name)}, {expr}" for name, expr in selected) + ")"
    source = f" FROM {sql.quote(table)}"
    if where:
        source += " WHERE " + " AND ".join(clause for clause, _ in where)
    where_params = tuple(value for _, values in where for value in values)
    tail = source + " ORDER BY " + ", ".join(clause for clause, _ in order)
    params = where_params + tuple(value for _, values in order for value in values)
    if limit:
        # Only when capped: even LIMIT -1 turns SQLite's merge sort into a slower bounded sort.
        tail += " LIMIT ?"
        params += (limit,)
    return Query(f"SELECT {plain}{tail}", f"SELECT {as_json}{tail}", params, f"SELECT count(*){source}", where_params)


def _answer(
    conn: sqlite3.Connection,
    question: Question,
    table: str,
    columns: Sequence[str],
    scope: str,
    where: Where,
    order: Where,
    *,
    omega: tuple[Where, Where, bool] | None = None,
) -> Answer:
    """The listing's query; with omega (OMEGA's WHERE and ORDER BY, and whether that order puts a
    project's lessons before the general ones), also OMEGA's own query for the lessons it injects,
    and the window's end marked. With question.injected, the answer is OMEGA's query alone."""
    selected = [(name, scope if name == "project" else sql.quote(name)) for name in columns]
    names = tuple(name for name, _ in selected)
    if omega is None:
        main = _query(table, selected, where, order, question.limit)
        return Answer(question, names, main.sql, main.json_sql, main.params, scope != "project", conn, total=main)
    omega_where, omega_order, by_scope = omega
    head = _query(table, selected, omega_where, omega_order, WINDOW)
    if question.injected:
        return Answer(question, names, "", "", (), scope != "project", conn, head, total=head)
    limit = question.limit + WINDOW if question.limit else 0
    main = _query(table, selected, where, order, limit)
    return Answer(
        question=question,
        columns=names,
        sql=main.sql,
        json_sql=main.json_sql,
        params=main.params,
        before_011=scope != "project",
        conn=conn,
        head=head,
        window=WINDOW,
        window_by_scope=by_scope,
        rules=((WINDOW, _never_injected),),
        total=main,
    )


def _never_injected(below: int) -> str:
    """The rule line where the agent's window ends."""
    return f"the agent sees the {WINDOW} lessons above; {below:,} more {'is' if below == 1 else 'are'} never injected"


def _filters(scope: str, project: str | None, sender: str | None, domain: str | None) -> Where:
    decoding.require_utf8(project=project, sender=sender, domain=domain)
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
    injected: bool = False,
) -> Answer:
    """Lessons in OMEGA's order: P's first, then general ones (--only: P's alone); none: all.

    injected: exactly the rows OMEGA v1.3.0 injects (its own LIMIT 50 query): a conversation's
    with a sender, the heartbeat's without. Otherwise, where the listing holds the same candidates
    as that query, the rows OMEGA injects come first and `window` marks where they end.
    """
    if only and project is None:
        raise BadArgumentError(
            "--only needs --project P: it shows project P's lessons without the general ones."
        )
    if injected and (only or domain is not None):
        raise BadArgumentError(
            "--injected shows exactly what OMEGA's own query injects, which knows no --only or --domain; "
            "leave those out."
        )
    question = Question(
        ListingKind.lessons, project=project, only=only, sender=sender, domain=domain, limit=_cap(limit),
        injected=injected,
    )
    _, scope = scoped_table(conn, "lessons")
    omega = _injection(scope, project, sender)
    if injected:
        return _answer(conn, question, "lessons", LESSON_COLUMNS, scope, [], [], omega=omega)
    order: Where = [(SQL_LESSONS_ORDER, ())]
    where = _filters(scope, project, sender, domain)
    if project is not None and project != GENERAL and not only:
        where[0] = (SQL_PROJECT_AND_GENERAL.format(scope=scope), (project,))
        order = [(SQL_LESSONS_SCOPED_ORDER.format(scope=scope), ())]
    # The same candidates as OMEGA's query: all lessons (the heartbeat, no project), P's and the
    # general ones, or one sender's general ones. Not with --domain or --only.
    same = domain is None and not only and (
        (project is None and sender is None) or project not in (None, GENERAL) or (project == GENERAL and sender)
    )
    return _answer(conn, question, "lessons", LESSON_COLUMNS, scope, where, order, omega=omega if same else None)


def _injection(scope: str, project: str | None, sender: str | None) -> tuple[Where, Where, bool]:
    """OMEGA v1.3.0's query for the lessons it injects (omega-schema.md), as WHERE and ORDER BY pieces,
    and whether that order puts P's lessons before the general ones (else: updated_at alone)."""
    where: Where = [(SQL_SENDER, (sender,))] if sender is not None else []
    if project in (None, GENERAL):
        if sender is not None:  # a conversation with no active project: the general lessons
            where.append((f"{scope} = ''", ()))
        return where, [("updated_at DESC", ())], False  # the heartbeat with no project: every lesson
    where.append((f"({scope} = ? OR {scope} = '')", (project,)))
    return where, [(f"CASE WHEN {scope} = ? THEN 0 ELSE 1 END, updated_at DESC", (project,))], True


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
    _, scope = scoped_table(conn, "outcomes")
    where = _filters(scope, project, sender, domain)
    if hours is not None:
        where.append((SQL_WITHIN_HOURS, (f"-{hours:.6f} hours",)))
    return _answer(conn, question, "outcomes", OUTCOME_COLUMNS, scope, where, [(SQL_OUTCOMES_ORDER, ())])


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
    columns, scope = scoped_table(conn, "scheduled_tasks")
    if scope != "project":
        columns = [*columns, "project"]
    where = _filters(scope, project, sender, None)
    if wanted is not TaskStatus.all:
        where.append((SQL_STATUS, (wanted.value,)))
    if due:
        where.append((SQL_DUE, ()))
    return _answer(conn, question, "scheduled_tasks", columns, scope, where, [(SQL_TASKS_ORDER, ())])
