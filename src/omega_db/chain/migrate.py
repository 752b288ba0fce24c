"""`omega-db migrate`: plan, back up, repair what OMEGA left half-done, apply each migration atomically."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import partial
from pathlib import Path

from omega_db.chain import apply, files, halfapplied, history, repair
from omega_db.chain.files import Migration
from omega_db.chain.history import Plan
from omega_db.ground import db, online_copy
from omega_db.ground.errors import (
    BadArgumentError,
    BadDatabaseError,
    HalfAppliedError,
    MigrationFailedError,
    OmegaDbError,
)


@dataclass(frozen=True)
class Applied:
    """A migration that was committed, and how long it took."""

    name: str
    seconds: float


class EventKind(str, Enum):
    """What a progress event reports."""

    backup = "backup"
    start = "start"
    done = "done"


@dataclass(frozen=True)
class Event:
    """Progress news for a front end."""

    kind: EventKind
    name: str = ""
    done: int = 0
    total: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class Result:
    """What a migrate run did (or, with dry_run, would do)."""

    database: Path
    created: bool
    dry_run: bool
    backup: Path | None
    plan: Plan
    applied: tuple[Applied, ...] = ()
    current: str | None = None
    checked: tuple[str, ...] = ()  # tables given a quick integrity check
    repaired: str | None = None  # the half-applied migration --repair completed
    still_pending: tuple[str, ...] = ()  # what the file does not record once the command is done
    repair_plan: halfapplied.HalfApplied | None = None  # what --repair --dry-run would complete


OnEvent = Callable[[Event], None]


def migrate(
    path: Path,
    *,
    to: str | None = None,
    dry_run: bool = False,
    make_backup: bool = True,
    timeout: float = db.DEFAULT_TIMEOUT,
    migrations: tuple[Migration, ...] | None = None,
    on_event: OnEvent | None = None,
    repair_half_applied: bool = False,
) -> Result:
    """Bring the database at path up to date (or to `to`), creating it if missing."""
    known = files.discover() if migrations is None else migrations
    exists = os.path.lexists(path)
    if not exists:
        plan = history.inspect(None, path, to=to, known=known)
        if dry_run:
            return Result(path, created=False, dry_run=True, backup=None, plan=plan,
                          still_pending=_names(plan.all_pending))
        db.create_file(path)
        conn = db.connect_readwrite(path, timeout=timeout)
    elif dry_run:
        conn = db.connect_readonly(path, timeout=timeout)
    else:
        try:
            conn = db.connect_readwrite(path, timeout=timeout)
        except BadDatabaseError:
            # A file this user may not write (e.g. a WAL file in a read-only folder) that has
            # nothing pending is up to date, as --dry-run says: no write was needed.
            if not _up_to_date(path, to, known, timeout):
                raise
            conn = db.connect_readonly(path, timeout=timeout)
    try:
        with db.translate_errors(path):
            plan = _plan(conn, path, to, known)
        history.refuse_gaps(plan)
        half = None
        if plan.all_pending and exists:
            # Whatever the target: a --to that stops before the half-applied migration
            # must not report a file OMEGA cannot start on as up to date.
            with db.translate_errors(path):
                half = halfapplied.detect(conn, plan)
            if half:
                _refuse_half_applied(path, half, plan, to, repair_half_applied)
        if dry_run or not plan.pending:
            return Result(path, created=not exists, dry_run=dry_run, backup=None, plan=plan,
                          current=plan.current, still_pending=_names(plan.all_pending), repair_plan=half)
        check_writable(path)
        checking = None
        if exists and make_backup:
            # Wait for the write lock before copying: if OMEGA holds it past --timeout,
            # give up now rather than leave a backup of a migration that never ran.
            with db.translate_errors(path):
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
            # The copy's quick_check runs beside the first migration, which commits only
            # once the backup has passed it and is named (before_commit).
            checking = online_copy.start(conn, path, on_progress=_backup_progress(path, on_event))
        applied: list[Applied] = []
        repaired = None
        saved = None
        try:
            if checking and half:
                saved = checking.done()  # the repair commits at once
            repaired = repair.repair(conn, path, plan, half) if half else None
            if repaired:
                with db.translate_errors(path):
                    plan = history.inspect(conn, path, to=to, known=known)
            rebuilt = _apply_all(conn, plan, path, on_event, applied, checking.done if checking else None)
            saved = checking.done() if checking else None
        except BaseException as exc:
            if checking and not saved:
                saved = checking.named
                if saved is None and isinstance(exc, Exception):
                    # The copy's own failure is the one to report: checked first, as it used
                    # to be, it would have stopped migrate before this migration began.
                    saved = checking.done()
                elif saved is None:  # interrupted: stop the check, delete the copy
                    checking.abandon()
            if saved and not applied and not repaired:
                # Everything was rolled back: the file is exactly what the backup
                # holds, and a retry from cron must not pile up full-size copies.
                online_copy.remove(saved)
            raise
        rebuilt |= repaired.rebuilt if repaired else set()
        with db.translate_errors(path):
            checked = apply.quick_check(conn, rebuilt, path)
            final = history.inspect(conn, path, known=known)
        return Result(path, created=not exists, dry_run=False, backup=saved, plan=plan,
                      applied=tuple(applied), current=final.current, checked=checked,
                      repaired=repaired.name if repaired else None, still_pending=_names(final.all_pending))
    finally:
        conn.close()


def _plan(conn: sqlite3.Connection, path: Path, to: str | None, known: tuple[Migration, ...]) -> Plan:
    """history.inspect's plan; a --to the file has passed also names a half-applied migration."""
    try:
        return history.inspect(conn, path, to=to, known=known)
    except BadArgumentError as exc:
        half = halfapplied.detect(conn, history.inspect(conn, path, known=known))
        if half is None:
            raise
        raise BadArgumentError(
            f"{exc.message} Besides, {half.describe()}: `omega-db migrate --repair` completes it."
        ) from None


def _up_to_date(path: Path, to: str | None, known: tuple[Migration, ...], timeout: float) -> bool:
    """Whether a read-only look finds nothing for migrate to do (nothing pending up to `to`)."""
    try:
        conn = db.connect_readonly(path, timeout=timeout)
    except OmegaDbError:
        return False
    try:
        with db.translate_errors(path):
            return not history.inspect(conn, path, to=to, known=known).pending
    except OmegaDbError:
        return False
    finally:
        conn.close()


def _names(migrations: tuple[Migration, ...]) -> tuple[str, ...]:
    return tuple(m.name for m in migrations)


def _refuse_half_applied(
    path: Path, half: halfapplied.HalfApplied, plan: Plan, to: str | None, repair_half_applied: bool
) -> None:
    """HalfAppliedError unless --repair can complete half within the target (a dry run then shows how)."""
    said = f"{path}: {half.describe()}"
    if half.migration not in plan.pending:
        raise HalfAppliedError(
            f"{said}; --to {to} stops before it, which would leave the file half-applied. "
            f"`omega-db migrate --repair --to {half.migration.name}` (or without --to) completes it. "
            "Nothing was changed."
        )
    if half.blocker or not repair_half_applied:
        raise HalfAppliedError(f"{said}. {half.remedy()}. Nothing was changed.")


def _backup_progress(path: Path, on_event: OnEvent | None) -> Callable[[int, int], None] | None:
    if on_event is None:
        return None
    return lambda done, total: on_event(Event(EventKind.backup, name=str(path), done=done, total=total))


def _apply_all(
    conn: sqlite3.Connection, plan: Plan, path: Path, on_event: OnEvent | None, applied: list[Applied],
    before_commit: Callable[[], object] | None = None,
) -> set[str]:
    """Apply plan.pending in order, appending each committed one to applied; the tables rebuilt.

    before_commit runs before each migration's COMMIT, inside its transaction: an error there rolls it back.
    """
    rebuilt: set[str] = set()
    for migration in plan.pending:
        if on_event:
            on_event(Event(EventKind.start, name=migration.name))
        started = time.perf_counter()
        try:
            committed = apply.apply(
                conn, migration.name, partial(migration.execute, conn), bootstrap=plan.bootstrap,
                before_commit=before_commit,
            )
        except sqlite3.Error as exc:
            raise _failure(exc, migration, path, applied, plan) from exc
        if committed is None:
            continue  # another process applied it meanwhile
        rebuilt |= committed.rebuilt
        seconds = time.perf_counter() - started
        applied.append(Applied(migration.name, seconds))
        if on_event:
            on_event(Event(EventKind.done, name=migration.name, seconds=seconds))
    return rebuilt


def _failure(
    exc: sqlite3.Error, migration: Migration, path: Path, applied: list[Applied], plan: Plan
) -> OmegaDbError:
    about_file = db.about_the_file(exc, path)
    if about_file is not None:  # busy, read-only, damaged: say that
        return about_file
    at = applied[-1].name if applied else (plan.current or "no migration (empty)")
    name = getattr(exc, "sqlite_errorname", "") or ""
    # A full disk is SQLITE_FULL; a file-size limit (EFBIG) surfaces as SQLITE_IOERR_WRITE.
    room = name == "SQLITE_FULL" or name.startswith("SQLITE_IOERR")
    hint = "; free some disk space (or raise the file size limit) and run it again" if room else ""
    # Each migration commits on its own: those this run applied before the failure stay.
    state = (f"is at {at}, where this run's {len(applied)} earlier migration(s) left it" if applied
             else f"is unchanged at {at}")
    return MigrationFailedError(
        f"migration {migration.name} failed and was rolled back ({exc}); {path} {state}{hint}."
    )


def check_writable(path: Path, doing: str = "migrated") -> None:
    """BadDatabaseError (exit 2) unless this user may write the file and its folder (backup, journal)."""
    folder = path.absolute().parent
    if not os.access(path, os.W_OK) or not os.access(folder, os.W_OK):
        what = "file" if not os.access(path, os.W_OK) else "folder"
        raise BadDatabaseError(
            f"{path} cannot be {doing}: its {what} is read-only; check the permissions."
        )
