"""What `prune` shows: the question on a terminal, progress on stderr, the report as a table or JSON."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from omega_db.ground.untrusted import visible
from omega_db.output.streams import ReportFormat, error_console, note, size_label, write_json

if TYPE_CHECKING:
    from omega_db.data.prune import Prepared, Pruned, Table


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def question(prepared: Prepared, tables: tuple[Table, ...], *, backup: bool) -> str:
    """The confirmation asked on a terminal: what each rule deletes, and whether a backup keeps it."""
    what = ", ".join(f"{_rows(t.deleted)} of {t.table} (older than {r.age.text})"
                     for t, r in zip(tables, prepared.rules, strict=True))
    then = " Then VACUUM it." if prepared.vacuum else ""
    kept = ("A backup is taken first (--no-backup skips it)." if backup
            else "No backup is taken (--no-backup): the deleted rows cannot be recovered.")
    return f"Delete {what} from {visible(prepared.database)}?{then} {kept} Go on?"


def prune_json(pruned: Pruned) -> dict[str, Any]:
    """SPEC's document: {"database", "dry_run", "backup", "tables", "bytes_before", "bytes_after"}."""
    return {
        "database": str(pruned.prepared.database),
        "dry_run": pruned.dry_run,
        "backup": str(pruned.backup) if pruned.backup else None,
        "tables": [{"table": t.table, "deleted": t.deleted, "kept": t.kept} for t in pruned.tables],
        "bytes_before": pruned.prepared.bytes_before,
        "bytes_after": pruned.bytes_after,
    }


def render_prune(pruned: Pruned, fmt: ReportFormat) -> None:
    """Notes on stderr; per table the rows deleted and kept, and the file's size before and after."""
    prepared = pruned.prepared
    for text in prepared.notes:
        note(f"note: {text}.")
    if not pruned.checkpointed and prepared.secure_delete:
        note(f"note: another process was using {pruned.prepared.database} (WAL mode), so its -wal file could not "
             "be emptied and may still hold deleted text until SQLite's next full checkpoint; run prune "
             "--secure-delete again when OMEGA is stopped.")
    elif not pruned.checkpointed:
        note("note: the file is in WAL mode and another process was reading it, so the passive checkpoint "
             "left some pages in the -wal file; SQLite copies them at a later checkpoint.")
    if pruned.backup and prepared.secure_delete:
        note(f"note: the backup {pruned.backup} still holds every deleted row; delete it once it is no "
             "longer needed.")
    if fmt is ReportFormat.json:
        write_json(prune_json(pruned))
        return
    out = sys.stdout
    verb = "would delete" if pruned.dry_run else "deleted"
    head = "Dry run (nothing changed) on" if pruned.dry_run else "Pruned"
    backup = "" if pruned.dry_run else (f" (backup: {visible(pruned.backup)})" if pruned.backup else " (no backup)")
    out.write(f"{head} {visible(prepared.database)}{backup}.\n")
    width = max(len(t.table) for t in pruned.tables)
    for table, rule in zip(pruned.tables, prepared.rules, strict=True):
        out.write(f"  {table.table:<{width}}  {verb} {table.deleted:>9}  kept {table.kept:>9}"
                  f"  (older than {rule.age.text})\n")
    after = "unchanged" if pruned.dry_run else size_label(pruned.bytes_after)
    tail = "" if pruned.dry_run or prepared.vacuum else " (SQLite reuses the freed pages; --vacuum gives them back)"
    out.write(f"File size: {size_label(prepared.bytes_before)} before, {after} after{tail}.\n")


@contextlib.contextmanager
def progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress callback drawing rows deleted per table on a terminal (stderr), or None."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=error_console(), transient=True) as bars:
        tasks: dict[str, Any] = {}

        def on_progress(table: str, deleted: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bars.add_task(f"{table}: deleting", total=total)
            bars.update(tasks[table], completed=deleted, total=total)

        yield on_progress
