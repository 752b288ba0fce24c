"""Output of lessons, outcomes and tasks: one small function per format, rows streamed.

JSON rows are built by SQLite (json_object) and written in big chunks; CSV rows go from
the cursor through the csv writer a batch at a time; the table is drawn as the rows
arrive (table.write). None of them holds more than a batch of rows.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
from collections.abc import Callable, Iterator, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from omega_db.data.listing import Answer, ListingKind, Question
from omega_db.ground.defaults import TaskStatus
from omega_db.ground.errors import OutputError
from omega_db.ground.untrusted import visible
from omega_db.output import streams

if TYPE_CHECKING:  # drawn only for a table: JSON and CSV do not pay for importing them
    from omega_db.output import table

PRE_011_NOTE = (
    "note: this database predates migration 011_project_learning; "
    'every row is general (project "").'
)
SCORES: dict[object, str] = {1: "+", -1: "-", 0: "~"}  # looked up with any stored value
SCORE_STYLES = {"+": "bold green", "-": "bold red", "~": "bold yellow"}
STATUS_STYLES = {"failed": "red", "delivered": "green", "cancelled": "dim"}


def render_listing(answer: Answer, fmt: streams.Format) -> None:
    """Write a listing to stdout in the chosen format; notes go to stderr."""
    if answer.before_011:
        streams.note(PRE_011_NOTE)
    {
        streams.Format.json: write_json,
        streams.Format.csv: write_csv,
        streams.Format.table: write_table,
    }[fmt](answer)


def write_json(answer: Answer) -> None:
    """A JSON array, one object per row, values exactly as stored (UTF-8, whatever the locale)."""
    out = sys.stdout
    out.flush()  # the bytes below bypass the text layer
    raw = getattr(out, "buffer", None)
    write: Callable[[bytes], Any] = (
        raw.write if raw is not None else (lambda data: out.write(data.decode()))
    )
    opening = b"["
    for batch in answer.json_batches():
        write(opening)
        write(b",\n".join(batch))
        opening = b",\n"
    write(b"[]\n" if opening == b"[" else b"]\n")
    if raw is not None:
        raw.flush()


def write_csv(answer: Answer) -> None:
    """RFC 4180: a header row, then one line per row; NULL is an empty field; exact or not at all."""
    out = sys.stdout
    encoding = out.encoding or "utf-8"
    _write_exactly(out, _csv_line(answer.columns), encoding)
    chunk = io.StringIO()
    import csv

    writer = csv.writer(chunk, lineterminator="\n")
    for batch in answer.batches():
        writer.writerows(batch)
        text = chunk.getvalue()
        if "\r" in text:
            # The writer quotes only what its line terminator holds ("\n"): a lone CR would
            # go out bare and split the row for any RFC 4180 reader. Such batches are rare.
            text = "".join(_csv_line(row) for row in batch)
        _write_exactly(out, text, encoding)
        chunk.seek(0)
        chunk.truncate()


def _csv_line(row: Sequence[object]) -> str:
    fields = []
    for value in row:
        text = "" if value is None else str(value)
        if any(special in text for special in (",", '"', "\r", "\n")):
            text = '"' + text.replace('"', '""') + '"'
        fields.append(text)
    return ",".join(fields) + "\n"


def _write_exactly(out: Any, text: str, encoding: str) -> None:
    """CSV keeps every value exact: text the output's encoding cannot carry is an error, not an escape."""
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError as exc:
        raise OutputError(
            f"standard output's encoding ({encoding}) cannot carry the text of this answer "
            f"({exc.object[exc.start:exc.end]!a}); use a UTF-8 locale or PYTHONIOENCODING=utf-8."
        ) from None
    raw = getattr(out, "buffer", None)
    if raw is None:
        out.write(text)
        return
    out.flush()
    raw.write(data)


# --- table ---------------------------------------------------------------------


def title(question: Question) -> str:
    """What was asked, in words: "Lessons for my-app (+ general), sender alice"."""
    if question.kind is ListingKind.tasks:
        if question.due:
            noun = "Due tasks"
        elif question.status is TaskStatus.all:
            noun = "Tasks (any status)"
        else:
            noun = f"{question.status.value.capitalize()} tasks"
    elif question.injected:
        noun = "Lessons OMEGA injects"
    else:
        noun = question.kind.value.capitalize()
    parts = [noun]
    if question.injected:  # "Lessons OMEGA injects when my-app is active, in alice's conversations"
        active = question.project not in (None, "")
        parts.append(f"when {question.project} is active" if active else "with no active project")
        where = "in the heartbeat" if question.sender is None else f"in the conversations of {question.sender}"
        return " ".join(parts) + f", {where}"
    if question.project is None:
        parts.append("in every project")
    else:
        scope = f"for {streams.scope_label(question.project)}"
        if question.kind is ListingKind.lessons and question.project != "" and not question.only:
            scope += " (+ general)"
        parts.append(scope)
    text = " ".join(parts)
    if question.hours is not None:
        text += f", last {question.hours:g} h"
    if question.sender is not None:
        text += f", sender {question.sender}"
    if question.domain is not None:
        text += f", domain {question.domain}"
    return text


def rows_label(question: Question, count: int) -> str:
    """The line under a table: "3 rows", "50 rows (limit 50; --limit 0 shows every row)"."""
    text = f"{count:,} row{'' if count == 1 else 's'}"
    if question.limit and count == question.limit:
        text += f" (limit {question.limit:,}; --limit 0 shows every row)"
    return text


def parse_time(text: object) -> dt.datetime | None:
    """A stored time in UTC ('YYYY-MM-DD HH:MM:SS'; 'T', a 'Z' or an offset allowed), or None."""
    if not isinstance(text, str):
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())  # 3.11 reads "T" and "Z"
    except ValueError:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def ago(when: dt.datetime, now: dt.datetime) -> str:
    """A distance in time a person reads at a glance: "just now", "3h ago", "in 2d"."""
    seconds = (now - when).total_seconds()
    span = -seconds if seconds < 0 else seconds
    if span < 60:
        return "just now"
    if span >= 86400:
        amount = f"{int(span // 86400)}d"
    else:
        amount = f"{int(span // 3600)}h" if span >= 3600 else f"{int(span // 60)}m"
    return f"{amount} ago" if seconds > 0 else f"in {amount}"


def when_label(text: object, now: dt.datetime) -> object:
    """A stored time as "2026-03-01 12:00 (3h ago)" in UTC; unreadable text is shown as stored."""
    when = parse_time(text)
    if when is None:
        return text
    return f"{when.isoformat(' ', 'minutes')[:16]} ({ago(when, now)})"


Cell = Callable[[Sequence[object]], object]  # a row's value for one column


def _columns(question: Question, now: dt.datetime, names: Sequence[str]) -> list[tuple[table.Column, Cell]]:
    from omega_db.output import table

    at = {name: i for i, name in enumerate(names)}

    def field(name: str) -> Cell:
        return itemgetter(at[name])

    def time(name: str) -> Cell:
        i, naive_now = at[name], now.replace(tzinfo=None)

        def label(row: Sequence[object]) -> object:
            text = row[i]
            if text.__class__ is str and len(text) == 19 and text[10] == " ":  # OMEGA's own form: fast
                try:
                    when = dt.datetime.fromisoformat(text)
                except ValueError:
                    return text
                if when.tzinfo is None:
                    days = (naive_now - when).days  # a day or more ago: ago() would say just this
                    distance = f"{days}d ago" if days > 0 else ago(when, naive_now)
                    return f"{text[:16]} ({distance})"
            return when_label(text, now)

        return label

    scope_at, score_at = at.get("project"), at.get("score")

    def scope(row: Sequence[object]) -> object:
        value = row[scope_at]  # type: ignore[index]
        return streams.GENERAL_LABEL if value == "" else value

    def score(row: Sequence[object]) -> object:
        value = row[score_at]  # type: ignore[index]
        return SCORES.get(value, value)

    kinds = [at[k] for k in ("task_type", "repeat") if k in at]

    def kind(row: Sequence[object]) -> str:  # "reminder", "action, daily"
        return ", ".join([str(row[k]) for k in kinds if row[k] not in (None, "", "once")])

    def dim_general(text: str) -> str:
        return "dim" if text == streams.GENERAL_LABEL else ""

    common = [
        (table.Column("project", style=dim_general), scope),
        (table.Column("sender"), field("sender_id")),
    ]
    if question.kind is ListingKind.lessons:
        return [
            *common,
            (table.Column("domain"), field("domain")),
            (table.Column("#", justify="right"), field("occurrences")),
            (table.Column("updated (UTC)"), time("updated_at")),
            (table.Column("rule", flex=True), field("rule")),  # the long text last: piped rows stay aligned
        ]
    if question.kind is ListingKind.outcomes:
        return [
            (table.Column("time (UTC)"), time("timestamp")),
            (table.Column("score", justify="center", style=lambda t: SCORE_STYLES.get(t, "")), score),
            *common,
            (table.Column("domain"), field("domain")),
            (table.Column("lesson", flex=True), field("lesson")),
        ]
    columns = [(table.Column("id"), field("id")), (table.Column("due (UTC)"), time("due_at"))]
    if question.status is TaskStatus.all:
        columns.append((table.Column("status", style=lambda t: STATUS_STYLES.get(t, "")), field("status")))
    columns += common
    if "task_type" in at or "repeat" in at:
        columns.append((table.Column("kind"), kind))
    if question.status in (TaskStatus.failed, TaskStatus.all):
        if "retry_count" in at:
            columns.append((table.Column("retries", justify="right"), field("retry_count")))
        if "last_error" in at:
            columns.append((table.Column("last error"), field("last_error")))
    columns.append((table.Column("description", flex=True), field("description")))
    return columns


def write_table(answer: Answer) -> None:
    """A table for a person, drawn as the rows are read; or one clear line when nothing matched."""
    from omega_db.output import table, terminal

    question = answer.question
    specs = _columns(question, dt.datetime.now(dt.UTC), answer.columns)
    getters = [cell for _, cell in specs]

    def rows() -> Iterator[list[list[object]]]:
        for batch in answer.batches():
            yield [[cell(row) for cell in getters] for row in batch]

    def mark(after: int, text: Callable[[int], str]) -> Callable[[], str]:
        return lambda: text(answer.count() - after)

    out = sys.stdout
    drawn = table.write(
        out,
        terminal.detect(out),
        title(question),
        [column for column, _ in specs],
        rows(),
        marks={after: mark(after, text) for after, text in answer.rules},
        footer=lambda count: rows_label(question, count),
    )
    if not drawn:
        out.write(visible(f"Nothing matched: {title(question)}.") + "\n")
