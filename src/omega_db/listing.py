"""Output of lessons, outcomes and tasks: one small function per format, rows streamed.

JSON rows are built by SQLite (json_object) and written in big chunks; CSV rows go
straight from the cursor to the csv writer. Only the table reads every row first
(to count them for its title) and only it imports rich.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from omega_db import output
from omega_db.answers import Answer, ListingKind, Question, TaskStatus

if TYPE_CHECKING:
    from rich.table import Table

PRE_011_NOTE = (
    "note: this database predates migration 011_project_learning; "
    'every row is general (project "").'
)
SCORES = {1: ("+", "green"), -1: ("-", "red"), 0: ("~", "yellow")}


def render_listing(answer: Answer, fmt: output.Format) -> None:
    """Write a listing to stdout in the chosen format; notes go to stderr."""
    if answer.before_011:
        output.note(PRE_011_NOTE)
    {
        output.Format.json: write_json,
        output.Format.csv: write_csv,
        output.Format.table: write_table,
    }[fmt](answer)


def write_json(answer: Answer) -> None:
    """A JSON array, one object per row, values exactly as stored."""
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
    """A header row, then one line per row; NULL is an empty field."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(answer.columns)
    for batch in answer.batches():
        writer.writerows(batch)


# --- table ---------------------------------------------------------------------


def title(question: Question, count: int | None = None) -> str:
    """What was asked, in words: "Lessons for my-app (+ general), sender alice — 3 rows"."""
    if question.kind is ListingKind.tasks:
        if question.due:
            noun = "Due tasks"
        elif question.status is TaskStatus.all:
            noun = "Tasks (any status)"
        else:
            noun = f"{question.status.value.capitalize()} tasks"
    else:
        noun = question.kind.value.capitalize()
    parts = [noun]
    if question.project is None:
        parts.append("in every project")
    else:
        scope = f"for {output.scope_label(question.project)}"
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
    if count is not None:
        text += f" — {count:,} row{'' if count == 1 else 's'}"
        if question.limit and count == question.limit:
            text += f" (limit {question.limit})"
    return text


def parse_time(text: object) -> dt.datetime | None:
    """A stored UTC time ('YYYY-MM-DD HH:MM:SS', 'T' or a trailing 'Z' allowed), or None."""
    if not isinstance(text, str):
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())  # 3.11 reads "T" and "Z"
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def ago(when: dt.datetime, now: dt.datetime) -> str:
    """A distance in time a person reads at a glance: "just now", "3h ago", "in 2d"."""
    seconds = (now - when).total_seconds()
    span = abs(seconds)
    if span < 60:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if span >= size:
            amount = f"{int(span // size)}{unit}"
            break
    return f"{amount} ago" if seconds > 0 else f"in {amount}"


def when_label(text: object, now: dt.datetime) -> str:
    """A stored time as "2026-03-01 12:00 (3h ago)"; unreadable text is shown as stored."""
    when = parse_time(text)
    if when is None:
        return "" if text is None else str(text)
    return f"{when:%Y-%m-%d %H:%M} ({ago(when, now)})"


def _text(value: object) -> Any:
    from rich.text import Text

    return Text("" if value is None else str(value))  # Text: never read as markup


def _scope_cell(value: object) -> Any:
    from rich.text import Text

    return Text(output.scope_label(str(value)), style="dim" if value == "" else "")


def _score(value: object) -> Any:
    from rich.text import Text

    symbol, colour = SCORES.get(value, (str(value), ""))  # type: ignore[arg-type]
    return Text(symbol, style=f"bold {colour}" if colour else "")


Row = dict[str, object]
ColumnSpec = tuple[str, Callable[[Row], Any], dict[str, Any]]  # header, cell of a row, column options


def _columns(question: Question, now: dt.datetime, names: Sequence[str]) -> list[ColumnSpec]:
    def field(key: str, cell: Callable[[object], Any] = _text) -> Callable[[Row], Any]:
        return lambda row: cell(row.get(key))

    def time(key: str) -> Callable[[Row], Any]:
        return lambda row: _text(when_label(row.get(key), now))

    def kind(row: Row) -> Any:  # "reminder", "action, daily"
        return _text(
            ", ".join(
                str(row[k]) for k in ("task_type", "repeat") if row.get(k) not in (None, "", "once")
            )
        )

    wrap = {"ratio": 1, "min_width": 12}
    never_wrap = {"no_wrap": True}
    common = [("project", field("project", _scope_cell), {}), ("sender", field("sender_id"), {})]
    if question.kind is ListingKind.lessons:
        return [
            *common,
            ("domain", field("domain"), {}),
            ("rule", field("rule"), wrap),
            ("#", field("occurrences"), {"justify": "right"}),
            ("updated", time("updated_at"), never_wrap),
        ]
    if question.kind is ListingKind.outcomes:
        return [
            ("time", time("timestamp"), never_wrap),
            ("score", field("score", _score), {"justify": "center"}),
            *common,
            ("domain", field("domain"), {}),
            ("lesson", field("lesson"), wrap),
        ]
    columns: list[ColumnSpec] = [("due", time("due_at"), never_wrap)]
    if question.status is TaskStatus.all:
        columns.append(("status", field("status"), {}))
    columns += common
    if "task_type" in names or "repeat" in names:
        columns.append(("kind", kind, {}))
    columns.append(("description", field("description"), wrap))
    return columns


def build_table(answer: Answer, rows: list[tuple[object, ...]], now: dt.datetime) -> Table:
    """The rich table of a listing's rows."""
    from rich import box
    from rich.table import Table

    columns = _columns(answer.question, now, answer.columns)
    table = Table(
        title=_text(title(answer.question, len(rows))),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        header_style="bold",
    )
    for header, _, options in columns:
        table.add_column(
            header, **{"overflow": "fold", **options}
        )  # fold: never hide a name behind "…"
    for values in rows:
        row = dict(zip(answer.columns, values, strict=False))
        table.add_row(*(cell(row) for _, cell, _ in columns))
    return table


def write_table(answer: Answer) -> None:
    """A rich table for a person, or one clear line when nothing matched."""
    rows = [row for batch in answer.batches() for row in batch]
    out = output.console()
    if not rows:
        # Text: shown as written, no markup and no :emoji: codes.
        out.print(_text(f"Nothing matched: {title(answer.question)}."))
        return
    out.print(build_table(answer, rows, dt.datetime.now(dt.UTC)))
