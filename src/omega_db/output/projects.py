"""What `projects` and `projects rename` show: a table (orphans marked) or one JSON document."""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING, Any

from omega_db.ground.untrusted import visible
from omega_db.output import table
from omega_db.output.streams import GENERAL_LABEL, ReportFormat, note, scope_label, write_json
from omega_db.output.terminal import detect

if TYPE_CHECKING:
    from omega_db.data.projects import Listing, Project
    from omega_db.data.rename import Prepared, Renamed

FOLDER_LABELS = {True: "yes", False: "no: orphan", None: ""}
FOLDER_STYLES = {"no: orphan": "bold yellow"}


def project_json(row: Project) -> dict[str, Any]:
    """One project as SPEC's JSON object, values as the database holds them."""
    return {
        "project": row.project,
        "outcomes": row.outcomes,
        "lessons": row.lessons,
        "pending_tasks": row.pending_tasks,
        "conversations": row.conversations,
        "sessions": row.sessions,
        "active_for": row.active_for,
        "last_activity": row.last_activity,
        "folder": row.folder,
    }


def _name(project: str | None) -> str:
    return "NULL" if project is None else scope_label(project)


def render_projects(found: Listing, fmt: ReportFormat) -> None:
    """Every project with its counts; orphans marked in the table and counted in a note on stderr."""
    for text in found.notes:
        note(f"note: {text}")
    if found.folder_error is not None and any(row.project != "" for row in found.rows):  # folders would matter
        note(f"note: the projects folder {found.projects_dir} cannot be read ({found.folder_error}), so no "
             "project's folder is known; give OMEGA's projects folder with --projects-dir.")
    if found.orphans:
        note(f"{found.orphans} orphan project(s): rows in the database but no folder in {found.projects_dir}; "
             "`omega-db projects rename OLD NEW` moves their rows to another project.")
    if fmt is ReportFormat.json:
        write_json([project_json(row) for row in found.rows])
        return
    rows = [
        [_name(row.project), row.outcomes, row.lessons, row.pending_tasks, row.conversations, row.sessions,
         row.active_for, row.last_activity, FOLDER_LABELS[row.folder]]
        for row in found.rows
    ]
    out = sys.stdout
    table.write(out, detect(out), f"Projects of {visible(found.database)} (folders in {visible(found.projects_dir)})", [
        table.Column("project", style=lambda text: "dim" if text == GENERAL_LABEL else ""),
        table.Column("outcomes", justify="right"),
        table.Column("lessons", justify="right"),
        table.Column("pending tasks", justify="right"),
        table.Column("conversations", justify="right"),
        table.Column("sessions", justify="right"),
        table.Column("active for", justify="right"),
        table.Column("last activity (UTC)"),
        table.Column("folder", style=lambda text: FOLDER_STYLES.get(text, "")),
    ], [rows])


# --- rename --------------------------------------------------------------------


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def rename_question(prepared: Prepared, *, backup: bool) -> str:
    """The confirmation asked on a terminal: what will move, whether it merges, and whether a backup keeps it."""
    from omega_db.data.rename import shown  # not for the listing: it never renames

    moving = ", ".join(f"{n} {label}" for label, n in prepared.rows if n)
    merging = (f" {shown(prepared.new).capitalize()} has rows already: the two merge as OMEGA keeps them "
               "(identical lessons become one, the cap of 10 per sender and domain applies)."
               if prepared.merging else "")
    kept = (" A backup is taken first." if backup
            else " No backup is taken (--no-backup): what the merge deletes cannot be recovered." if prepared.merging
            else " No backup is taken (--no-backup).")
    return (f"Move {moving} of project {shown(prepared.old)} to {shown(prepared.new)} in "
            f"{visible(prepared.database)}?{merging}{kept} Go on?")


def rename_json(renamed: Renamed) -> dict[str, Any]:
    """SPEC's document: {"database", "from", "to", "backup", "tables", "merged", "evicted"}."""
    prepared = renamed.prepared
    return {
        "database": str(prepared.database),
        "from": prepared.old,
        "to": prepared.new,
        "backup": str(renamed.backup) if renamed.backup else None,
        "tables": [{"table": label, "moved": n} for label, n in renamed.moves.tables],
        "merged": renamed.moves.merged,
        "evicted": [{"id": e.id, "sender_id": e.sender_id, "domain": e.domain, "rule": e.rule}
                    for e in renamed.evicted],
    }


def render_rename(renamed: Renamed, fmt: ReportFormat) -> None:
    """Rows moved per table, merged and evicted; the folder's mv as a note."""
    from omega_db.data.rename import shown

    moves, prepared = renamed.moves, renamed.prepared
    if moves.closed:
        note(f"closed {moves.closed} older active conversation(s) of a channel and sender active in both projects.")
    if prepared.folder_move:
        source, target = (shlex.quote(str(p)) for p in prepared.folder_move)
        note(f"the project's folder was not touched; for OMEGA to find the rows under their new name, run: "
             f"mv {source} {target}")
    if fmt is ReportFormat.json:
        write_json(rename_json(renamed))
        return
    out = sys.stdout
    backup = f" (backup: {visible(renamed.backup)})" if renamed.backup else " (no backup)"
    out.write(f"Renamed project {shown(prepared.old)} to {shown(prepared.new)} in {visible(prepared.database)}"
              f"{backup}.\n")
    width = max(len(label) for label, _ in moves.tables)
    out.write("".join(f"  {label:<{width}}  {_rows(n)} moved\n" for label, n in moves.tables))
    if moves.merged:
        out.write(f"Merged {_rows(moves.merged)} into identical ones (lessons, project sessions).\n")
    if renamed.evicted:
        kept = "they remain in the backup" if renamed.backup else "no backup was taken: they are gone"
        out.write(f"Evicted {len(renamed.evicted)} lesson(s) past OMEGA's cap of {prepared.cap} per sender, "
                  f"domain and project ({kept}):\n")
        out.write("".join(f"  {visible(e.id)}  {visible(e.sender_id)}  {visible(e.domain)}  {visible(e.rule)}\n"
                          for e in renamed.evicted))
