"""What migrate, status and verify show: a table for people, or one JSON document."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from omega_db.chain import files
from omega_db.chain.migrate import EventKind
from omega_db.data.status import MigrationState
from omega_db.ground.untrusted import visible
from omega_db.output import table
from omega_db.output.streams import GENERAL_LABEL, ReportFormat, error_console, scope_label, size_label, write_json
from omega_db.output.terminal import Painter, detect
from omega_db.verify.checks import Severity

if TYPE_CHECKING:
    from omega_db.chain.files import Migration
    from omega_db.chain.migrate import Event, Result
    from omega_db.data.status import Status
    from omega_db.verify.run import Report


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


# --- migrate -----------------------------------------------------------------


def migrate_json(result: Result) -> dict[str, Any]:
    """The JSON document of a migrate run."""
    plan = result.plan
    doc: dict[str, Any] = {
        "database": str(result.database),
        "dry_run": result.dry_run,
        "created": result.created,
        "backup": str(result.backup) if result.backup else None,
        "applied": [{"name": a.name, "seconds": round(a.seconds, 6)} for a in result.applied],
        "pending": list(result.still_pending),
        "newer": list(plan.newer),
        "current": result.current if not result.dry_run else plan.current,
        "repaired": result.repaired,
    }
    if result.dry_run:
        half = result.repair_plan
        doc["repair"] = {"name": half.migration.name, "steps": list(half.steps)} if half else None
        doc["plan"] = [{"name": m.name, "sql": m.sql} for m in _to_apply(result)]
    return doc


def _to_apply(result: Result) -> tuple[Migration, ...]:
    """The migrations a dry run would apply: after --repair, the repaired one is not run again."""
    half = result.repair_plan
    return tuple(m for m in result.plan.pending if half is None or m != half.migration)


def render_migrate(result: Result, fmt: ReportFormat) -> None:
    """Show what migrate did, or would do with --dry-run."""
    if fmt is ReportFormat.json:
        write_json(migrate_json(result))
        return

    def out(text: str) -> None:  # names read from the file's _migrations: shown, never obeyed
        sys.stdout.write("\n".join(visible(line) for line in text.split("\n")))

    plan = result.plan
    if plan.newer:
        out(
            f"{result.database} records migrations newer than omega-db knows "
            f"({', '.join(plan.newer)}); nothing to apply.\n"
        )
        return
    if result.dry_run:
        if not plan.pending:
            out(f"{result.database} is up to date at {plan.current}; nothing to apply.\n")
            return
        creating = " (the file does not exist yet and would be created)" if not plan.exists else ""
        to_apply = _to_apply(result)
        half = result.repair_plan
        then = f"{len(to_apply)} migration(s) to apply"
        if half:
            then = f"repair {half.migration.name}, then {then}" if to_apply else f"repair {half.migration.name}"
        out(f"Plan for {result.database}{creating}: {then}.\n")
        if plan.bootstrap:
            out("Bootstrap: 001_init, 002_audit_log, 003_memory_enhancement would be recorded as applied.\n")
        if half:
            out(f"\nRepair {half.migration.name} (half-applied), in one transaction after a backup:\n")
            out("".join(f"  {step}\n" for step in half.steps))
        for migration in to_apply:  # omega-db's own SQL files: shown as they are
            sys.stdout.write(f"\n-- {migration.name}\n{migration.sql.rstrip()}\n")
        out("\nDry run: nothing was changed.\n")
        return
    if result.repaired:
        if result.backup:
            out(f"Backup: {result.backup}\n")
        out(f"Repaired {result.repaired}: the half-applied migration was completed and recorded.\n")
    if not result.applied:
        if not result.repaired:
            out(f"{result.database} is up to date at {result.current}; nothing to apply.\n")
        return
    if result.created:
        out(f"Created {result.database}.\n")
    if result.backup and not result.repaired:
        out(f"Backup: {result.backup}\n")
    width = max(len(a.name) for a in result.applied)
    for applied in result.applied:
        out(f"  {applied.name:<{width}}  applied  {_seconds(applied.seconds)}\n")
    left = len(result.still_pending)
    tail = f", {left} pending" if left else ""
    out(f"{result.database} is now at {result.current}{tail}.\n")


@contextlib.contextmanager
def migrate_progress(enabled: bool) -> Iterator[Callable[[Event], None] | None]:
    """A progress callback that draws on a terminal (stderr), or None when not wanted."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=error_console(),
        transient=True,
    ) as progress:
        tasks: dict[str, Any] = {}

        def on_event(event: Event) -> None:
            if event.kind is EventKind.backup:
                if "backup" not in tasks:
                    tasks["backup"] = progress.add_task("backup", total=event.total)
                progress.update(tasks["backup"], completed=event.done, total=event.total)
            elif event.kind is EventKind.start:
                tasks[event.name] = progress.add_task(event.name, total=None)
            elif event.kind is EventKind.done and event.name in tasks:
                progress.update(tasks[event.name], total=1, completed=1)

        yield on_event


# --- status ------------------------------------------------------------------


def status_json(st: Status) -> dict[str, Any]:
    """The JSON document of status, keys exactly as SPEC.md lists them."""
    return {
        "database": str(st.database),
        "current": st.plan.current,
        "omega": st.omega,
        "half_applied": st.half_applied.migration.name if st.half_applied else None,
        "migrations": st.history(),
        "pending": [m.name for m in st.plan.all_pending],
        "newer": list(st.plan.newer),
        "projects": st.projects,
    }


def status_lines(st: Status) -> list[tuple[str, str]]:
    """The facts above the history, as (label, value): one line each, in order."""
    plan = st.plan
    lines = [
        ("Database", str(st.database)),
        ("Size", size_label(st.size)),
        *_wal_lines(st),
        ("SQLite", st.sqlite_version),
        ("Journal mode", st.journal_mode),
        ("Current", files.describe_version(plan.current)),
        ("Pending", str(len(plan.all_pending))),
    ]
    if plan.bootstrap:
        lines.append(("Note", "tracking predates this database: 001–003 count as applied (OMEGA's bootstrap rule)"))
    if plan.newer:
        lines.append(("Newer", f"{', '.join(plan.newer)} (written by a newer OMEGA)"))
    if st.half_applied:
        lines.append(("Half-applied", f"{st.half_applied.describe()}; {st.half_applied.remedy()}"))
    return lines


# Past SQLite's automatic checkpoint (1000 pages of 4 KiB) and bigger than the file itself, a -wal
# file means OMEGA's checkpoints have not caught up: worth a word, never a checkpoint from a read.
WAL_HINT_BYTES = 4 * 1024 * 1024


def _wal_lines(st: Status) -> list[tuple[str, str]]:
    """The -wal file's size, and a hint when it is large; nothing when there is no -wal file or it is empty."""
    if not st.wal_size:
        return []
    lines = [("WAL", f"{size_label(st.wal_size)} (the -wal file; {size_label(st.size + st.wal_size)} in all)")]
    if st.wal_size >= WAL_HINT_BYTES and st.wal_size > st.size:
        lines.append(("Hint", "the WAL holds changes OMEGA has not yet copied into the file: they move at OMEGA's "
                              "next checkpoint and the -wal file goes when OMEGA closes the database; "
                              "omega-db never checkpoints on a read"))
    return lines


STATE_STYLES = {MigrationState.applied.value: "green", MigrationState.pending.value: "yellow",
                MigrationState.newer.value: "cyan"}


def render_status(st: Status, fmt: ReportFormat) -> None:
    """Show a database's file facts, migration history and projects."""
    if fmt is ReportFormat.json:
        write_json(status_json(st))
        return
    out = sys.stdout
    screen = detect(out)
    lines = status_lines(st)
    width = max(len(label) for label, _ in lines) + 2
    out.write("".join(f"{label:<{width}}{visible(value)}\n" for label, value in lines))
    history = [
        [str(row["name"])[:3], row["name"], MigrationState(row["state"]).value, row["applied_at"]]
        for row in st.history()
    ]
    table.write(out, screen, "Migrations", [
        table.Column("#", justify="right"),
        table.Column("name"),
        table.Column("state", style=lambda text: STATE_STYLES.get(text, "")),
        table.Column("applied at (UTC)"),
    ], [history])
    projects = [
        [scope_label(str(row["project"])), row["outcomes"], row["lessons"], row["pending_tasks"]]
        for row in st.projects
    ]
    table.write(out, screen, "Projects", [
        table.Column("project", style=lambda text: "dim" if text == GENERAL_LABEL else ""),
        table.Column("outcomes", justify="right"),
        table.Column("lessons", justify="right"),
        table.Column("pending tasks", justify="right"),
    ], [projects])


# --- verify ------------------------------------------------------------------


def verify_json(report: Report) -> dict[str, Any]:
    """The JSON document of verify: {"database", "ok", "checks": [{"name", "status", "detail"}]}."""
    return {
        "database": str(report.database),
        "ok": report.ok,
        "checks": [{"name": c.name, "status": c.status, "detail": c.detail} for c in report.checks],
    }


CHECK_STYLES = {Severity.ok.value: "green", Severity.warning.value: "yellow", Severity.fail.value: "bold red"}


def render_verify(report: Report, fmt: ReportFormat) -> None:
    """Show each check with its coloured status and detail, then the verdict."""
    if fmt is ReportFormat.json:
        write_json(verify_json(report))
        return
    out = sys.stdout
    screen = detect(out)
    rows = [[check.name, check.status.value, check.detail] for check in report.checks]
    table.write(out, screen, f"verify {report.database}", [
        table.Column("check"),
        table.Column("status", style=lambda text: CHECK_STYLES.get(text, "")),
        table.Column("detail", flex=True),
    ], [rows])
    paint = Painter(screen)
    failed = sum(c.status is Severity.fail for c in report.checks)
    warned = sum(c.status is Severity.warning for c in report.checks)
    if report.ok:
        tail = f" ({warned} warning(s))" if warned else ""
        out.write(f"{paint('ok', 'green')}{tail}\n")
    else:
        strict = " (--strict: warnings count)" if report.strict and not failed else ""
        out.write(f"{paint('not ok', 'bold red')}: {failed} failed, {warned} warning(s){strict}\n")
