"""What the agent has learned, per project: the outcome mix by day and by domain, the lessons and the
scopes at OMEGA's cap, the most reinforced lessons, and the senders whose project lessons crowd the
general ones out of OMEGA's 50-lesson window.

Every number is a grouped count made by SQLite: what reaches Python is one row per (project, day),
(project, domain), top lesson or crowded scope, never one per outcome, so memory stays flat at any
number of outcomes.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from omega_db.data import queries
from omega_db.ground import decoding
from omega_db.ground.errors import BadArgumentError

DEFAULT_DAYS = 30
MAX_DAYS = 36_500  # a century: `daily` has one entry per day, and SQLite's dates end at year 0000
CAP = 10  # OMEGA keeps the 10 most recent lessons of each (sender_id, domain, project)
TOP = 5  # the most reinforced lessons shown per project

# The window: whole UTC days, since .. today. OMEGA writes `YYYY-MM-DD HH:MM:SS` in UTC, so the
# day is the first ten characters, and a range on the text walks idx_outcomes_time.
SQL_DAYS = "SELECT date('now', ?), date('now', '+1 day')"
SQL_IN_WINDOW = "timestamp >= ? AND timestamp < ?"
SQL_MIX = (
    "count(CASE score WHEN 1 THEN 1 END) AS positive, count(CASE score WHEN 0 THEN 1 END) AS neutral, "
    "count(CASE score WHEN -1 THEN 1 END) AS negative"
)
# One pass over the window's outcomes, counted per (project, domain, day); then per day and per
# domain from those cells. A damaged file may hold a BLOB or a number where text belongs: as text.
SQL_OUTCOMES = (
    "WITH cells AS MATERIALIZED (SELECT CAST({scope} AS TEXT) AS project, CAST(substr(timestamp, 1, 10) AS TEXT) "
    "AS day, CAST(domain AS TEXT) AS domain, " + SQL_MIX + " FROM outcomes{indexed}{where} GROUP BY 1, 2, 3) "
    "SELECT 'day', project, day, sum(positive), sum(neutral), sum(negative) FROM cells GROUP BY 2, 3 "
    "UNION ALL "
    "SELECT 'domain', project, domain, sum(positive), sum(neutral), sum(negative) FROM cells GROUP BY 2, 3"
)
# Which share of the outcomes' time span the window covers, from the two ends of idx_outcomes_time.
SQL_SHARE = (
    "SELECT (julianday(last) - julianday(?)) / (julianday(last) - julianday(first)) FROM ("
    "SELECT (SELECT min(timestamp) FROM outcomes) AS first, (SELECT max(timestamp) FROM outcomes) AS last)"
)
SCAN_SHARE = 0.25  # from about this share on, reading the whole table beats a look-up per indexed row
# Per scope (sender_id, domain, project) first, in the order of idx_lessons_domain: no sort.
SQL_LESSONS_BY_DOMAIN = (
    "SELECT project, domain, sum(n), sum(n >= ?) FROM ("
    "SELECT CAST({scope} AS TEXT) AS project, CAST(domain AS TEXT) AS domain, count(*) AS n "
    "FROM lessons{where} GROUP BY sender_id, domain, {scope}) GROUP BY 1, 2"
)
# Most occurrences first; among equals the most recently reinforced, then by id (stable).
# Ranked on the sort keys and rowid alone (a small sort), the text read for the chosen few.
SQL_TOP_LESSONS = (
    "SELECT ranked.project, CAST(l.id AS TEXT), CAST(l.sender_id AS TEXT), CAST(l.domain AS TEXT), "
    "CAST(l.rule AS TEXT), l.occurrences FROM ("
    "SELECT rowid AS row, CAST({scope} AS TEXT) AS project, row_number() OVER ("
    "PARTITION BY CAST({scope} AS TEXT) ORDER BY occurrences DESC, updated_at DESC, id) AS place "
    "FROM lessons{where}) AS ranked JOIN lessons AS l ON l.rowid = ranked.row "
    "WHERE ranked.place <= ? ORDER BY ranked.project, ranked.place"
)
# OMEGA injects a sender's P lessons before its general ones, 50 at most: from 50 on, none general.
SQL_CROWDED_OUT = (
    "SELECT CAST(sender_id AS TEXT), CAST(project AS TEXT), n, "
    "(SELECT count(*) FROM lessons AS g WHERE g.sender_id = p.sender_id AND g.project = '') FROM ("
    "SELECT sender_id, project, count(*) AS n FROM lessons WHERE project != ''{where} "
    "GROUP BY sender_id, project HAVING count(*) >= ?) AS p ORDER BY 1, 2"
)


@dataclass(frozen=True)
class Mix:
    """Outcomes counted by score: +1, 0, -1."""

    positive: int = 0
    neutral: int = 0
    negative: int = 0

    @property
    def net(self) -> int:
        """The day's (or domain's) score: positive less negative."""
        return self.positive - self.negative

    def __add__(self, other: Mix) -> Mix:
        return Mix(self.positive + other.positive, self.neutral + other.neutral, self.negative + other.negative)

    def __bool__(self) -> bool:
        return bool(self.positive or self.neutral or self.negative)


@dataclass(frozen=True)
class Domain:
    """One domain of a project: its outcomes in the window, its lessons, its scopes at the cap."""

    domain: str
    outcomes: Mix
    lessons: int
    full_scopes: int


@dataclass(frozen=True)
class Lesson:
    """One of a project's most reinforced lessons."""

    id: str
    sender_id: str
    domain: str
    rule: str
    occurrences: object  # as stored (INTEGER)


@dataclass(frozen=True)
class Project:
    """What one project (or the general scope '') has learned over the window."""

    project: str
    outcomes: Mix
    daily: tuple[tuple[str, Mix], ...]  # (YYYY-MM-DD, mix) for every day of the window, oldest first
    domains: tuple[Domain, ...]
    top_lessons: tuple[Lesson, ...]


@dataclass(frozen=True)
class Crowded:
    """A sender whose lessons in one project fill OMEGA's window: no general lesson reaches it there."""

    sender_id: str
    project: str
    project_lessons: int
    general_lessons: int


@dataclass(frozen=True)
class Learning:
    """Everything `omega-db learning` reports."""

    days: int
    since: str  # YYYY-MM-DD, the window's first UTC day; the last is today
    projects: tuple[Project, ...]
    crowded_out: tuple[Crowded, ...]
    before_011: bool  # no project column yet: every row is general


def _rows(conn: sqlite3.Connection, query: str, params: tuple[object, ...]) -> Iterator[tuple[Any, ...]]:
    """The rows of a grouped query; text that is not UTF-8 (damage) as U+FFFD, counted."""
    # Any, as sqlite3 gives it: each query's columns are known by position, not by a type.
    previous = conn.text_factory
    conn.text_factory = decoding.decode
    try:
        yield from conn.execute(query, params).fetchall()
    finally:
        conn.text_factory = previous


def _where(clauses: list[tuple[str, tuple[object, ...]]]) -> tuple[str, tuple[object, ...]]:
    text = " WHERE " + " AND ".join(clause for clause, _ in clauses) if clauses else ""
    return text, tuple(value for _, values in clauses for value in values)


def _window(conn: sqlite3.Connection, days: int) -> tuple[str, list[str], str]:
    """The first day, every day, and the day after the last (today), from SQLite's clock."""
    since, after = conn.execute(SQL_DAYS, (f"-{days - 1} days",)).fetchone()
    first = dt.date.fromisoformat(since)
    return since, [(first + dt.timedelta(days=i)).isoformat() for i in range(days)], after


def _most_in_window(conn: sqlite3.Connection, since: str) -> bool:
    """True when the window spans most of the outcomes' time: then reading the table beats walking
    idx_outcomes_time, which SQLite would choose (OMEGA never runs ANALYZE: it has no statistics)."""
    share = conn.execute(SQL_SHARE, (since,)).fetchone()[0]
    return isinstance(share, float) and share >= SCAN_SHARE


def learning(
    conn: sqlite3.Connection,
    *,
    project: str | None = None,
    sender: str | None = None,
    days: int = DEFAULT_DAYS,
) -> Learning:
    """Per project (general first; only P with project), over the last `days` whole UTC days: outcomes
    by score in total and per day, per domain the outcomes, lessons and scopes at the cap, the most
    reinforced lessons; and every (sender, project) whose own lessons crowd out the general ones."""
    decoding.require_utf8(project=project, sender=sender)
    if not 1 <= days <= MAX_DAYS:
        raise BadArgumentError(f"--days must be a whole number of days from 1 to {MAX_DAYS:,}, not {days}.")
    _, out_scope = queries.scoped_table(conn, "outcomes")
    _, lesson_scope = queries.scoped_table(conn, "lessons")
    since, every, after = _window(conn, days)

    def filters(scope: str) -> list[tuple[str, tuple[object, ...]]]:
        found: list[tuple[str, tuple[object, ...]]] = []
        if sender is not None:
            found.append((queries.SQL_SENDER, (sender,)))
        if project is not None:
            found.append((queries.SQL_PROJECT.format(scope=scope), (project,)))
        return found

    where, params = _where([(SQL_IN_WINDOW, (since, after)), *filters(out_scope)])
    indexed = " NOT INDEXED" if sender is None and _most_in_window(conn, since) else ""
    cells: dict[str, dict[str, dict[str, Mix]]] = {"day": {}, "domain": {}}
    for kind, scope, key, *mix in _rows(conn, SQL_OUTCOMES.format(scope=out_scope, indexed=indexed, where=where),
                                        params):
        cells[str(kind)].setdefault(scope, {})[key] = Mix(*(int(n) for n in mix))
    by_day, by_domain = cells["day"], cells["domain"]
    lesson_where, lesson_params = _where(filters(lesson_scope))
    lessons: dict[str, dict[str, tuple[int, int]]] = {}
    query = SQL_LESSONS_BY_DOMAIN.format(scope=lesson_scope, where=lesson_where)
    for scope, domain, count, full in _rows(conn, query, (CAP, *lesson_params)):
        lessons.setdefault(scope, {})[domain] = (int(count), int(full))
    top: dict[str, list[Lesson]] = {}
    query = SQL_TOP_LESSONS.format(scope=lesson_scope, where=lesson_where)
    for scope, *lesson in _rows(conn, query, (*lesson_params, TOP)):
        top.setdefault(scope, []).append(Lesson(*lesson))
    names = {queries.GENERAL} if project is None else {project}
    if project is None:
        names |= {*by_day, *by_domain, *lessons, *top}
    return Learning(
        days=days,
        since=since,
        projects=tuple(
            _project(name, every, by_day.get(name, {}), by_domain.get(name, {}), lessons.get(name, {}),
                     top.get(name, []))
            for name in _in_order(names)
        ),
        crowded_out=_crowded_out(conn, lesson_scope, project, sender),
        before_011=lesson_scope != "project" or out_scope != "project",
    )


def _in_order(names: set[Any]) -> list[Any]:
    """Names sorted, '' (general) first; NULL, which only a damaged file holds, last."""
    return sorted(names, key=lambda name: (name is None, name or ""))


def _project(name: str, every: list[str], by_day: dict[str, Mix], by_domain: dict[str, Mix],
             lessons: dict[str, tuple[int, int]], top: list[Lesson]) -> Project:
    daily = tuple((day, by_day.get(day, Mix())) for day in every)
    domains = tuple(
        Domain(domain, by_domain.get(domain, Mix()), *lessons.get(domain, (0, 0)))
        for domain in _in_order({*by_domain, *lessons})
    )
    total = sum((mix for _, mix in daily), Mix())
    return Project(name, total, daily, domains, tuple(top))


def _crowded_out(conn: sqlite3.Connection, scope: str, project: str | None, sender: str | None) -> tuple[Crowded, ...]:
    """Every (sender, project) with at least OMEGA's window of its own lessons, with its general ones."""
    if scope != "project":  # before 011 every lesson is general: nothing crowds them out
        return ()
    clauses: list[tuple[str, tuple[object, ...]]] = []
    if sender is not None:
        clauses.append((queries.SQL_SENDER, (sender,)))
    if project is not None:
        clauses.append((queries.SQL_PROJECT.format(scope=scope), (project,)))
    extra = "".join(f" AND {clause}" for clause, _ in clauses)
    params = (*(value for _, values in clauses for value in values), queries.WINDOW)
    return tuple(Crowded(*row) for row in _rows(conn, SQL_CROWDED_OUT.format(where=extra), params))
