"""A listing as data: what was asked, and its rows ready to stream from a read-only connection."""

from __future__ import annotations

import contextlib
import math
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import cast

from omega_db.chain import history
from omega_db.ground import db, decoding
from omega_db.ground.defaults import TaskStatus
from omega_db.ground.errors import HalfAppliedError, MissingMigrationError

BATCH_ROWS = 2_000  # small enough to keep memory flat, big enough for few writes
_UNDECODABLE = "Could not decode to UTF-8"  # how sqlite3 reported bad text before it raised UnicodeDecodeError
# A string in the JSON SQLite writes: it escapes '"' and '\\' inside strings, and keys are ASCII.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_ESCAPED = re.compile("[\udc80-\udcff]")  # a byte that is not UTF-8, decoded with surrogateescape


def _repaired(row: bytes) -> bytes:
    """A row's JSON with U+FFFD for bytes that are not UTF-8, its damaged values counted."""
    if decoding.is_utf8(row):
        return row
    for string in _JSON_STRING.finditer(row.decode("utf-8", "surrogateescape")):
        if _ESCAPED.search(string[0]):
            decoding.REPLACED.add(string[0].encode("utf-8", "surrogateescape"))
    return row.decode("utf-8", "replace").encode()


def _json_object(columns: tuple[str, ...], row: tuple[object, ...]) -> bytes:
    """A row as SQLite's json_object writes it; a BLOB as its bytes read as text (U+FFFD, counted)."""
    import json  # only a damaged file's export comes here

    def value(item: object) -> str:
        if isinstance(item, bytes):
            item = decoding.decode(item)
        if isinstance(item, float) and not math.isfinite(item):
            return "9.0e+999" if item > 0 else "-9.0e+999"  # as SQLite writes infinity (3.43 on)
        return json.dumps(item, ensure_ascii=False)

    return ("{" + ",".join(f"{json.dumps(c)}:{value(v)}" for c, v in zip(columns, row, strict=True)) + "}").encode()


class ListingKind(str, Enum):
    """Which of the listing commands asked."""

    lessons = "lessons"
    outcomes = "outcomes"
    tasks = "tasks"


@dataclass(frozen=True)
class Query:
    """One SELECT in two forms: the columns as stored, and each row as one JSON object built by SQLite;
    and how many rows it holds without its LIMIT (count_sql, with the same parameters less the limit)."""

    sql: str
    json_sql: str
    params: tuple[object, ...]
    count_sql: str = ""
    count_params: tuple[object, ...] = ()


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
    injected: bool = False


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
    # OMEGA's own query for the lessons it injects (with --injected, the whole answer).
    head: Query | None = None
    window: int = 0  # the listing's first rows that are the agent's (0: no window in this listing)
    window_by_scope: bool = False  # OMEGA's order puts a project's lessons before the general ones
    # Lines a table draws after row N, when a row follows: (N, its text given how many rows follow N
    # in the whole answer, --limit aside).
    rules: tuple[tuple[int, Callable[[int], str]], ...] = field(default=(), compare=False)
    total: Query | None = field(default=None, compare=False)  # counts the whole answer

    def count(self) -> int:
        """How many rows the answer holds, --limit aside, counted by SQLite without fetching them."""
        if self.total is None or not self.total.count_sql:
            raise ValueError("this answer has no count")
        return int(self.conn.execute(self.total.count_sql, self.total.count_params).fetchone()[0])

    def batches(self, size: int = BATCH_ROWS) -> Iterator[list[tuple[object, ...]]]:
        """The rows as tuples, a bounded batch at a time (never all in memory).

        Text that is not UTF-8 (only damage makes it) reads as U+FFFD and is counted in decoding.REPLACED.
        """
        at = {name: i for i, name in enumerate(self.columns)}
        where = [at.get(name, 0) for name in ("id", "project", "updated_at")]

        def fields(row: tuple[object, ...]) -> tuple[object, ...]:
            return tuple(row[i] for i in where)

        head = self.head.sql if self.head else ""
        sent = 0
        try:
            # SQLite's own decoding, in C: a healthy file pays nothing for the damaged one's sake.
            with self._text_as(str):
                for rows in self._stream(self.sql, head, size, fields):
                    yield rows
                    sent += len(rows)
            return
        except (UnicodeDecodeError, sqlite3.OperationalError) as exc:
            if isinstance(exc, sqlite3.OperationalError) and not str(exc).startswith(_UNDECODABLE):
                raise
        # A value that is not UTF-8: read again, decoding leniently, from the row where the
        # first read stopped. snapshot() holds one read transaction, so the rows are the same ones.
        for rows in self._stream(self.sql, head, size, fields):
            if sent >= len(rows):
                sent -= len(rows)
                continue
            yield rows[sent:]
            sent = 0

    def json_batches(self, size: int = BATCH_ROWS) -> Iterator[list[bytes]]:
        """Each row as one JSON object in UTF-8, as SQLite wrote it, a bounded batch at a time.

        SQLite copies text into JSON byte for byte: a value that is not UTF-8 (damage) is
        shown with U+FFFD, as in the other formats, and counted in decoding.REPLACED.
        """
        sent = 0
        try:
            # bytes: the JSON goes from SQLite to stdout without a decode and an encode per row.
            with self._text_as(bytes):
                for rows in self._stream(self.json_sql, self.head.json_sql if self.head else "", size, _json_fields):
                    # json_sql's one column, json_object()'s TEXT, read with text_factory=bytes:
                    batch = cast(list[bytes], [row[-1] for row in rows])
                    yield batch if decoding.all_utf8(batch) else [_repaired(text) for text in batch]
                    sent += len(batch)
            return
        except sqlite3.OperationalError as exc:
            if "JSON" not in str(exc):  # "JSON cannot hold BLOB values": a BLOB where text belongs
                raise
        # Damage SQLite's JSON cannot hold: the rows from where it stopped are read as values
        # (the same snapshot) and each written here, a BLOB's bytes as text.
        for rows in self.batches(size):
            if sent >= len(rows):
                sent -= len(rows)
                continue
            yield [_json_object(self.columns, row) for row in rows[sent:]]
            sent = 0

    @contextlib.contextmanager
    def _text_as(self, factory: type) -> Iterator[None]:
        previous = self.conn.text_factory
        self.conn.text_factory = factory
        try:
            yield
        finally:
            self.conn.text_factory = previous

    def _stream(self, main: str, head: str, size: int,
                fields: Callable[[tuple[object, ...]], tuple[object, ...]]) -> Iterator[list[tuple[object, ...]]]:
        """The rows of main; with a window, the rows OMEGA injects among its first. fields(row) gives a
        row's id, project and updated_at (read only around the window's end, and where rows are skipped)."""
        left = self.question.limit or None
        if not main:  # --injected: OMEGA's rows alone, cut to --limit here (a smaller LIMIT in SQL
            assert self.head is not None  # queries._answer gives an empty main only with head set
            yield self.conn.execute(head, self.head.params).fetchall()[:left]  # could order ties otherwise)
            return
        cursor = self.conn.execute(main, self.params)
        if not self.window or self.head is None:
            while rows := cursor.fetchmany(size):
                yield rows
            return
        rows = []
        while len(rows) <= self.window and (more := cursor.fetchmany(size)):
            rows += more
        skip: set[object] = set()  # ids already given, until each has been passed over in main
        if len(rows) > self.window and self._key(fields(rows[self.window - 1])) == self._key(fields(rows[self.window])):
            # Equal in OMEGA's order across the window's end: which of them OMEGA injects is its own
            # query's choice. Its rows come first, the others after.
            first = self.conn.execute(head, self.head.params).fetchall()
            skip = {fields(row)[0] for row in first}
            rows = first + self._without(rows, skip, fields)
        while True:
            if rows:
                rows = rows[:left]
                left = None if left is None else left - len(rows)
                yield rows
            if left == 0 or not (batch := cursor.fetchmany(size)):
                return
            rows = self._without(batch, skip, fields) if skip else batch

    def _key(self, fields: tuple[object, ...]) -> tuple[object, ...]:
        """A row's place in OMEGA's order: (general?, updated_at), or updated_at alone."""
        _, project, updated_at = fields
        return (project == "", updated_at) if self.window_by_scope else (updated_at,)

    @staticmethod
    def _without(rows: list[tuple[object, ...]], skip: set[object],
                 fields: Callable[[tuple[object, ...]], tuple[object, ...]]) -> list[tuple[object, ...]]:
        """rows less those whose id is in skip; each id found is taken out of skip (it appears once)."""
        kept: list[tuple[object, ...]] = []
        for i, row in enumerate(rows):
            if not skip:
                return kept + rows[i:]
            found = fields(row)[0]
            if found in skip:
                skip.discard(found)
            else:
                kept.append(row)
        return kept


def _json_fields(row: tuple[object, ...]) -> tuple[object, ...]:
    """id, project and updated_at of a row given as one JSON object (bytes)."""
    import json

    data = row[0]
    assert isinstance(data, bytes)  # json_sql's one column, json_object()'s TEXT, read with text_factory=bytes
    value = json.loads(data.decode("utf-8", "replace"))
    return value.get("id"), value.get("project"), value.get("updated_at")


@contextlib.contextmanager
def snapshot(path: Path, *, timeout: float = db.DEFAULT_TIMEOUT) -> Iterator[sqlite3.Connection]:
    """A read-only connection for one listing; SQLite errors met inside become OmegaDbError."""
    conn = db.connect_readonly(path, timeout=timeout)
    try:
        with db.translate_errors(path):
            # One snapshot for the whole listing (a read transaction; closing ends it): its
            # queries agree with each other, and batches() can read again from where it stopped.
            conn.execute("BEGIN")
            yield conn
    except MissingMigrationError as exc:  # the query knows the table, only we know the file
        raise MissingMigrationError(f"{path}: {exc.message}") from None
    finally:
        conn.close()



@dataclass(frozen=True)
class Reading:
    """An open read-only connection and what the person should know about the file."""

    conn: sqlite3.Connection
    notes: tuple[str, ...] = ()


@contextlib.contextmanager
def reading(path: Path, *, timeout: float = db.DEFAULT_TIMEOUT) -> Iterator[Reading]:
    """A read-only connection for one listing, after looking for a half-applied migration."""
    with snapshot(path, timeout=timeout) as conn:
        plan = history.inspect(conn, path)
        half = None
        if plan.may_be_half_applied:  # rarely: the detection (and its import) costs milliseconds
            from omega_db.chain import halfapplied

            half = halfapplied.detect(conn, plan)
        if half is None:
            yield Reading(conn)
            return
        remedy = "run `omega-db migrate --repair` to complete it"
        try:
            yield Reading(conn, (f"{path}: {half.describe()}; the answer below may be incomplete; {remedy}.",))
        except MissingMigrationError:
            raise HalfAppliedError(f"{path}: {half.describe()}; {remedy}.") from None
