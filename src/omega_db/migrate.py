"""The migration chain: discover the SQL files, plan, back up, apply each atomically."""

from __future__ import annotations

import functools
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from omega_db import backup, db
from omega_db.errors import (
    BadArgumentError,
    BadDatabaseError,
    HalfAppliedError,
    HistoryError,
    MigrationFailedError,
    OmegaDbError,
)

# OMEGA's bookkeeping table, exactly as OMEGA creates it (no extra columns).
MIGRATIONS_TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS _migrations ("
    "name TEXT PRIMARY KEY, "
    "applied_at TEXT NOT NULL DEFAULT (datetime('now')))"
)
# OMEGA's bootstrap rule: a database from before migration tracking.
BOOTSTRAP_NAMES = ("001_init", "002_audit_log", "003_memory_enhancement")

_NAME = re.compile(r"^(\d{3})_[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class Migration:
    """One migration: the SQL file's stem is its identity, its text the whole change."""

    name: str
    sql: str

    @property
    def number(self) -> str:
        """The three-digit prefix, e.g. "011"."""
        return self.name[:3]

    def statements(self) -> list[str]:
        """The file's statements, one each, trigger bodies kept whole."""
        return split_statements(self.sql)


@dataclass(frozen=True)
class Plan:
    """Where a database stands against the known chain, and what migrate would do."""

    path: Path
    exists: bool
    known: tuple[Migration, ...]
    recorded: dict[str, str | None]  # name -> applied_at (None: implied by the bootstrap rule)
    bootstrap: bool  # the bootstrap rule applies: 001-003 will be recorded
    pending: tuple[Migration, ...]  # what migrate would apply, in order (honours --to)
    newer: tuple[str, ...]  # recorded names omega-db does not know

    @property
    def current(self) -> str | None:
        """The last applied migration's name, or None for an untracked database."""
        return max(self.recorded, default=None)

    @property
    def all_pending(self) -> tuple[Migration, ...]:
        """Every known migration not yet applied, whatever --to says."""
        return tuple(m for m in self.known if m.name not in self.recorded)


@dataclass(frozen=True)
class Applied:
    """A migration that was committed, and how long it took."""

    name: str
    seconds: float


@dataclass(frozen=True)
class Event:
    """Progress news for a front end: kind is "backup", "start" or "done"."""

    kind: str
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
    checked: tuple[str, ...] = field(default=())  # tables given a quick integrity check
    repaired: str | None = None  # the half-applied migration --repair completed


OnEvent = Callable[[Event], None]


def discover(folder: Path | None = None) -> tuple[Migration, ...]:
    """The migrations in name order: the shipped ones, or the *.sql files of folder."""
    if folder is None:
        return _shipped()
    return _read(Path(folder).iterdir())


@functools.cache
def _shipped() -> tuple[Migration, ...]:
    # Read once per process: the files are part of the installed package.
    return _read(resources.files("omega_db.migrations").iterdir())


def _read(files: Iterable[Any]) -> tuple[Migration, ...]:
    found = []
    for entry in files:
        if not entry.name.endswith(".sql"):
            continue
        stem = entry.name[: -len(".sql")]
        if not _NAME.match(stem):
            continue
        found.append(Migration(stem, entry.read_text(encoding="utf-8")))
    return tuple(sorted(found, key=lambda m: m.name))


def split_statements(script: str) -> list[str]:
    """Split a SQL script into complete statements; a ';' inside a trigger body does not end it."""
    statements: list[str] = []
    start = 0
    pos = script.find(";")
    while pos != -1:
        candidate = script[start : pos + 1]
        if sqlite3.complete_statement(candidate):
            if _has_code(candidate):
                statements.append(candidate.strip())
            start = pos + 1
        pos = script.find(";", pos + 1)
    rest = script[start:]
    if _has_code(rest):
        statements.append(rest.strip())
    return statements


def _has_code(text: str) -> bool:
    without_comments = re.sub(r"--[^\n]*|/\*.*?\*/", "", text, flags=re.DOTALL)
    return bool(without_comments.replace(";", "").strip())


def resolve_target(known: Iterable[Migration], to: str | None) -> str | None:
    """The full name --to designates (a name or its number); BadArgumentError if unknown."""
    if to is None:
        return None
    names = [m.name for m in known]
    wanted = to.strip()
    if wanted in names:
        return wanted
    if wanted.isdigit():
        number = wanted.zfill(3)
        for name in names:
            if name[:3] == number:
                return name
    raise BadArgumentError(
        f"--to {to!r} is not a known migration; use one of {names[0]} … {names[-1]} or its number."
    )


def read_recorded(conn: sqlite3.Connection) -> tuple[dict[str, str | None], bool]:
    """The recorded migrations (name -> applied_at) and whether the bootstrap rule applies."""
    recorded: dict[str, str | None] = {}
    if db.table_exists(conn, "_migrations"):
        recorded = dict(conn.execute("SELECT name, applied_at FROM _migrations ORDER BY name"))
    bootstrap = False
    if not recorded:
        row = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'conversations'"
        ).fetchone()
        bootstrap = bool(row and row[0] and re.search(r"\bsummary\b", row[0], re.IGNORECASE))
    if bootstrap:
        recorded = {name: None for name in BOOTSTRAP_NAMES}
    return recorded, bootstrap


def inspect(
    conn: sqlite3.Connection | None,
    path: Path,
    *,
    to: str | None = None,
    known: tuple[Migration, ...] | None = None,
) -> Plan:
    """The plan for the database behind conn (None: a file that does not exist yet)."""
    known = discover() if known is None else known
    target = resolve_target(known, to)
    recorded, bootstrap = read_recorded(conn) if conn is not None else ({}, False)
    known_names = {m.name for m in known}
    newer = tuple(sorted(name for name in recorded if name not in known_names))
    pending = tuple(m for m in known if m.name not in recorded)
    if target is not None:
        if target in recorded:
            later = [n for n in recorded if n in known_names and n > target]
            if later:
                raise BadArgumentError(
                    f"--to {target}: {path} is already past it (at {max(recorded)}); "
                    "omega-db does not undo migrations."
                )
        pending = tuple(m for m in pending if m.name <= target)
    if newer:
        pending = ()
    return Plan(path, conn is not None, known, recorded, bootstrap, pending, newer)


def check_history(plan: Plan) -> None:
    """Refuse to apply a migration below one already recorded: the history has a gap."""
    applied_known = [n for n in plan.recorded if n not in plan.newer]
    if not plan.pending or not applied_known:
        return
    highest = max(applied_known)
    gaps = [m.name for m in plan.pending if m.name < highest]
    if gaps:
        raise HistoryError(
            f"{plan.path} records {highest} but not {', '.join(gaps)}: its history has a gap, "
            "so omega-db will not guess; run `omega-db verify` to see what is there."
        )


def _tables(conn: sqlite3.Connection) -> dict[str, tuple[str, int]]:
    return {
        name: (sql or "", rootpage or 0)
        for name, sql, rootpage in conn.execute(
            "SELECT name, sql, rootpage FROM sqlite_master WHERE type = 'table'"
        )
    }


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _check_foreign_keys(conn: sqlite3.Connection, touched: set[str], migration: str) -> None:
    """PRAGMA foreign_key_check of the tables a migration touched and of their children."""
    tables = {n: sql for n, (sql, _) in _tables(conn).items() if not sql.upper().startswith("CREATE VIRTUAL")}
    to_check = set(touched) & tables.keys()
    lowered = {t.lower() for t in touched}
    for name in tables:
        parents = {row[2].lower() for row in conn.execute(f"PRAGMA foreign_key_list({_quote(name)})")}
        if parents & lowered:
            to_check.add(name)
    for name in sorted(to_check):
        violation = conn.execute(f"PRAGMA foreign_key_check({_quote(name)})").fetchone()
        if violation:
            raise MigrationFailedError(
                f"migration {migration} would leave a foreign key broken "
                f"({violation[0]} row {violation[1]} -> {violation[2]}); it was rolled back."
            )


def apply_one(conn: sqlite3.Connection, migration: Migration, plan: Plan) -> set[str] | None:
    """Apply one migration and its _migrations row in one transaction; return tables rebuilt.

    None: another process recorded it since the plan was made, so nothing was applied.
    """
    conn.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction: set before BEGIN
    with db.transaction(conn):
        conn.execute(MIGRATIONS_TABLE_SQL)
        if plan.bootstrap:
            conn.executemany(
                "INSERT OR IGNORE INTO _migrations (name) VALUES (?)",
                [(name,) for name in BOOTSTRAP_NAMES],
            )
        already = conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (migration.name,)).fetchone()
        if already:
            return None
        before = _tables(conn)
        for statement in migration.statements():
            conn.execute(statement)
        conn.execute("INSERT INTO _migrations (name) VALUES (?)", (migration.name,))
        after = _tables(conn)
        touched = {name for name, value in after.items() if before.get(name) != value}
        _check_foreign_keys(conn, touched, migration.name)
    return {name for name in touched if name in before and before[name][1] != after[name][1]}


def quick_check(conn: sqlite3.Connection, tables: Iterable[str], path: Path) -> tuple[str, ...]:
    """PRAGMA quick_check of each table (and its indexes); OmegaDbError if one is damaged."""
    checked = []
    for table in sorted(tables):
        if not db.table_exists(conn, table):
            continue
        rows = [r[0] for r in conn.execute(f"PRAGMA quick_check({_quote(table)})")]
        if rows != ["ok"]:
            raise OmegaDbError(
                f"after migrating, the integrity check of {table} in {path} failed: {rows[0]}; "
                "restore the backup and run `omega-db verify`."
            )
        checked.append(table)
    return tuple(checked)


def migrate(
    path: Path,
    *,
    to: str | None = None,
    dry_run: bool = False,
    make_backup: bool = True,
    timeout: float = db.DEFAULT_TIMEOUT,
    migrations: tuple[Migration, ...] | None = None,
    on_event: OnEvent | None = None,
    repair: bool = False,
) -> Result:
    """Bring the database at path up to date (or to `to`), creating it if missing."""
    known = discover() if migrations is None else migrations
    exists = os.path.lexists(path)
    if not exists:
        plan = inspect(None, path, to=to, known=known)
        if dry_run:
            return Result(path, created=False, dry_run=True, backup=None, plan=plan)
        db.create_file(path)
        conn = db.connect_readwrite(path, timeout=timeout)
    elif dry_run:
        conn = db.connect_readonly(path, timeout=timeout)
    else:
        conn = db.connect_readwrite(path, timeout=timeout)
    try:
        with db.translate_errors(path):
            plan = inspect(conn, path, to=to, known=known)
        check_history(plan)
        half = None
        if plan.pending and exists:
            from omega_db import repair as repairing  # reads the schema: only when there is work

            with db.translate_errors(path):
                half = repairing.detect(conn, plan)
            if half and (dry_run or not repair or half.blocker):
                raise HalfAppliedError(f"{path}: {half.describe()}. {half.remedy()}. Nothing was changed.")
        if dry_run or not plan.pending:
            return Result(path, created=not exists, dry_run=dry_run, backup=None, plan=plan,
                          current=plan.current)
        _check_writable(path)
        saved = None
        if exists and make_backup:
            # Wait for the write lock before copying: if OMEGA holds it past --timeout,
            # give up now rather than leave a backup of a migration that never ran.
            with db.translate_errors(path):
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
            saved = backup.backup(conn, path, on_progress=_backup_progress(path, on_event))
        applied: list[Applied] = []
        repaired = None
        try:
            repaired = repairing.repair(conn, path, plan) if half else None
            if repaired:
                with db.translate_errors(path):
                    plan = inspect(conn, path, to=to, known=known)
            rebuilt = _apply_all(conn, plan, path, on_event, applied)
        except BaseException:
            if saved and not applied and not repaired:
                # Everything was rolled back: the file is exactly what the backup
                # holds, and a retry from cron must not pile up full-size copies.
                backup.remove(saved)
            raise
        rebuilt |= repaired.rebuilt if repaired else set()
        with db.translate_errors(path):
            checked = quick_check(conn, rebuilt, path)
            current = inspect(conn, path, known=known).current
        return Result(path, created=not exists, dry_run=False, backup=saved, plan=plan,
                      applied=tuple(applied), current=current, checked=checked,
                      repaired=repaired.name if repaired else None)
    finally:
        conn.close()


def _backup_progress(path: Path, on_event: OnEvent | None) -> Callable[[int, int], None] | None:
    if on_event is None:
        return None
    return lambda done, total: on_event(Event("backup", name=str(path), done=done, total=total))


def _apply_all(
    conn: sqlite3.Connection, plan: Plan, path: Path, on_event: OnEvent | None, applied: list[Applied]
) -> set[str]:
    """Apply plan.pending in order, appending each committed one to applied; the tables rebuilt."""
    rebuilt: set[str] = set()
    for migration in plan.pending:
        if on_event:
            on_event(Event("start", name=migration.name))
        started = time.perf_counter()
        try:
            tables = apply_one(conn, migration, plan)
        except sqlite3.Error as exc:
            raise _failure(exc, migration, path, applied, plan) from exc
        if tables is None:
            continue
        rebuilt |= tables
        seconds = time.perf_counter() - started
        applied.append(Applied(migration.name, seconds))
        if on_event:
            on_event(Event("done", name=migration.name, seconds=seconds))
    return rebuilt


def _failure(
    exc: sqlite3.Error, migration: Migration, path: Path, applied: list[Applied], plan: Plan
) -> OmegaDbError:
    translated = db.error_for(exc, path)
    if type(translated) is not OmegaDbError:  # busy, read-only, damaged: say that
        return translated
    at = applied[-1].name if applied else (plan.current or "no migration (empty)")
    name = getattr(exc, "sqlite_errorname", "") or ""
    # A full disk is SQLITE_FULL; a file-size limit (EFBIG) surfaces as SQLITE_IOERR_WRITE.
    room = name == "SQLITE_FULL" or name.startswith("SQLITE_IOERR")
    hint = "; free some disk space (or raise the file size limit) and run it again" if room else ""
    return MigrationFailedError(
        f"migration {migration.name} failed and was rolled back ({exc}); "
        f"{path} is unchanged at {at}{hint}."
    )


def _check_writable(path: Path) -> None:
    folder = path.absolute().parent
    if not os.access(path, os.W_OK) or not os.access(folder, os.W_OK):
        what = "file" if not os.access(path, os.W_OK) else "folder"
        raise BadDatabaseError(
            f"{path} cannot be migrated: its {what} is read-only; check the permissions."
        )
