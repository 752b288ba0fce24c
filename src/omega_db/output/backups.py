"""What backup, backups and restore show: plain lines for people (one per row, never wrapped), or one JSON document."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omega_db.chain import files
from omega_db.ground.untrusted import visible
from omega_db.output import streams
from omega_db.output.streams import ReportFormat, error_console, note, write_json

if TYPE_CHECKING:
    from omega_db.backups.catalogue import Listed, Taken
    from omega_db.backups.restore import Prepared, Restored

def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")


# --- backup --------------------------------------------------------------------


def render_backup(taken: Taken, fmt: ReportFormat) -> None:
    """The backup made ({"path", "bytes", "current"}, and "pruned" with --keep: what it deleted)."""
    if taken.half_applied:
        note(f"note: the database holds a half-applied migration, and so does its backup: {taken.half_applied}.")
    if fmt is ReportFormat.json:
        report: dict[str, Any] = {"path": str(taken.path), "bytes": taken.bytes, "current": taken.current}
        if taken.kept is not None:  # --keep: what it deleted, in the answer a script reads
            report["pruned"] = [str(old) for old in taken.pruned]
        write_json(report)
        for old in taken.pruned:
            note(f"deleted the old backup {visible(old)}")
        return
    _out(f"Backup: {visible(taken.path)} ({streams.size_label(taken.bytes)}, {files.describe_version(taken.current)}; "
         "checked with quick_check)")
    for old in taken.pruned:
        _out(f"Deleted the old backup {visible(old)}")


@contextlib.contextmanager
def backup_progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar for the copy on a terminal's stderr, or None when not wanted."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("backup"), BarColumn(), TimeElapsedColumn(), console=error_console(), transient=True
    ) as progress:
        task = progress.add_task("backup", total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


# --- backups -------------------------------------------------------------------


def backups_json(listed: list[Listed]) -> list[dict[str, Any]]:
    """[{"path", "created", "bytes", "current", "ok"}], newest first."""
    return [
        {
            "path": str(item.path),
            "created": item.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "bytes": item.bytes,
            "current": item.current,
            "ok": item.ok,
        }
        for item in listed
    ]


def render_backups(database: Path, listed: list[Listed], fmt: ReportFormat) -> None:
    """Every backup of a database, newest first: one line each."""
    if fmt is ReportFormat.json:
        write_json(backups_json(listed))
        return
    if not listed:
        _out(f"No backups of {visible(database)} (none named {visible(database.name)}.bak-<UTC time> beside it).")
        return
    _out(f"Backups of {visible(database)}, newest first (times in UTC):")
    rows = [
        (
            item.created.strftime("%Y-%m-%d %H:%M:%S"),
            streams.size_label(item.bytes),
            "yes" if item.ok else "NO",
            files.describe_version(item.current) if item.ok else visible(item.problem),
            visible(item.path.name),
        )
        for item in listed
    ]
    header = ("created", "size", "opens", "schema version (or why it does not open)", "file")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].ljust(widths[2]),
                 row[3].ljust(widths[3]), row[4]]
        _out("  ".join(cells).rstrip())


# --- restore -------------------------------------------------------------------


def restore_question(prepared: Prepared) -> str:
    """The confirmation asked on a terminal before a restore."""
    source = f"{visible(prepared.source)} ({files.describe_version(prepared.source_current)})"
    if not prepared.exists:
        return f"{visible(prepared.database)} does not exist. Restore {source} there?"
    now = files.describe_version(prepared.current) if prepared.current else "does not open"
    return (
        f"Replace {visible(prepared.database)} ({now}) with {source}? "
        "The current database is kept as a backup beside it."
    )


def restore_json(restored: Restored) -> dict[str, Any]:
    """{"database", "restored_from", "kept", "tables": [{"table", "before", "after"}]}."""
    return {
        "database": str(restored.database),
        "restored_from": str(restored.restored_from),
        "kept": str(restored.kept) if restored.kept else None,
        "tables": [{"table": t.table, "before": t.before, "after": t.after} for t in restored.tables],
    }


def render_restore(restored: Restored, fmt: ReportFormat) -> None:
    """What was restored, what was kept, and the rows per table before and after."""
    for aside in restored.set_aside:
        note(f"the old database's journal {visible(aside)} was kept beside it (it could not be folded in).")
    if restored.half_applied:
        note(f"note: the restored database holds a half-applied migration: {restored.half_applied}.")
    if fmt is ReportFormat.json:
        write_json(restore_json(restored))
        return
    _out(f"Restored {visible(restored.database)} from {visible(restored.restored_from)} "
         f"({files.describe_version(restored.current)}).")
    if restored.kept:
        _out(f"The replaced database is kept as {visible(restored.kept)}.")
    else:
        _out("There was no database to keep.")
    rows = [
        (visible(t.table), _count(t.before), _count(t.after), _change(t.before, t.after))
        for t in restored.tables
    ]
    header = ("table", "before", "after", "change")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        _out("  ".join([row[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(row[1:], widths[1:],
                                                                                       strict=True))]).rstrip())


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def _change(before: int | None, after: int | None) -> str:
    if before is None or after is None:
        return ""
    return f"{after - before:+d}" if after != before else "0"


def render_pruned(pruned: list[Path]) -> None:
    """What --keep deleted after a migration's backup, as notes on stderr."""
    for old in pruned:
        note(f"deleted the old backup {visible(old)}")
