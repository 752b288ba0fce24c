"""`omega-db prune`: delete what OMEGA never reads again, in short batches that OMEGA's writes can wait out.

Checked first on a read-only connection (the ages, a half-applied migration, which tables the
file has, another process holding the file when --vacuum is asked), so that a refusal changes
no byte; --dry-run stops there with the counts. A real run takes a backup as migrate does,
then deletes each rule's rows in batches, each its own BEGIN IMMEDIATE transaction of well
under OMEGA's 5-second busy timeout, releasing the lock between batches; a kill at any moment
leaves whole batches deleted and every other row in place, and running it again finishes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from omega_db.chain import halfapplied, history
from omega_db.chain.migrate import check_writable
from omega_db.data import retention
from omega_db.data.retention import Age, Rule
from omega_db.ground import db, holders, online_copy
from omega_db.ground.errors import BadArgumentError, BusyError, HalfAppliedError

# The write lock held per batch, aimed at (OMEGA waits up to 5 s). Each batch rewrites every
# index page its rows touch (outcomes' id and sender indexes are in no order the batch shares),
# so smaller batches write the same pages many times over: at bench scale 0.2, 0.08 s made a
# prune 5x the shell's one DELETE and 0.2 s about 2x (full size: bench/RESULTS-prune.txt).
TARGET_SECONDS = 0.2
FIRST_BATCH, SMALLEST_BATCH, LARGEST_BATCH = 500, 20, 20_000
# SQLite's busy handler retries a waiting writer after 1, 3, 8, ... 178, 228 ms, then every 100 ms.
# The lock is free for the checkpoint after a batch and then a pause of a quarter of the batch: a
# writer past its first 228 ms can miss a short window and wait out one more batch (bench: longest wait 0.33 s).
PAUSE_SHARE = 0.25  # after each batch, no lock for this share of its time (at least MIN_PAUSE)
MIN_PAUSE = 0.005
CACHE_KIB = 64 * 1024  # this connection's page cache while it deletes
TRUNCATE_WAIT_MS = 200  # --secure-delete's TRUNCATE checkpoint waits this long for OMEGA, no longer
OnProgress = Callable[[str, int, int], None]  # (table, deleted so far, picked)


@dataclass(frozen=True)
class Table:
    """One table's line of the report: rows deleted (or, dry, that would be) and rows kept."""

    table: str
    deleted: int
    kept: int


@dataclass(frozen=True)
class Prepared:
    """A prune that was checked and can run."""

    database: Path
    rules: tuple[Rule, ...]
    vacuum: bool
    secure_delete: bool
    bytes_before: int

    @property
    def notes(self) -> tuple[str, ...]:
        """A rule's table the file does not have yet: it deletes nothing, and says so."""
        return tuple(rule.missing for rule in self.rules if rule.missing)


@dataclass(frozen=True)
class Pruned:
    """What a prune did (with dry_run, would do)."""

    prepared: Prepared
    dry_run: bool
    backup: Path | None
    tables: tuple[Table, ...]
    bytes_after: int
    longest_batch: float = 0.0  # seconds of the longest write transaction
    checkpointed: bool = True  # False: WAL mode and the passive checkpoint could not copy every page


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def prepare(path: Path, ages: dict[str, Age], *, vacuum: bool = False, secure_delete: bool = False,
            timeout: float = db.DEFAULT_TIMEOUT) -> Prepared:
    """Check the prune on a read-only connection; raise what stops it before anything changes."""
    if not ages:
        raise BadArgumentError(
            f"name what to prune in {path}: --audit-log, --outcomes, --tasks or --messages, each with an age "
            "such as 90d (`omega-db prune --help`); nothing was changed."
        )
    conn = db.connect_readonly(path, timeout=timeout)
    try:
        with db.translate_errors(path):
            for table, age in ages.items():
                if conn.execute("SELECT datetime('now', ?)", (age.modifier,)).fetchone()[0] is None:
                    option = retention.NEEDS[table][0]
                    raise BadArgumentError(f"{option} {age.text} reaches back before the year 0000, which SQLite's "
                                           f"times cannot; give a shorter age for {path}; nothing was changed.")
            plan = history.inspect(conn, path)
            half = halfapplied.detect(conn, plan)
            if half is not None:
                raise HalfAppliedError(f"{path}: {half.describe()}; run `omega-db migrate --repair` first, "
                                       "then prune; nothing was deleted.")
            rules = retention.rules(conn, ages)
    finally:
        conn.close()
    if vacuum:
        holders.refuse_if_open(path, path, "prune --vacuum")
    return Prepared(path, rules, vacuum, secure_delete, _size(path))


def count(prepared: Prepared, *, timeout: float = db.DEFAULT_TIMEOUT) -> tuple[Table, ...]:
    """What each rule would delete and keep, read from one read-only snapshot."""
    path = prepared.database
    conn = db.connect_readonly(path, timeout=timeout)
    try:
        with db.translate_errors(path):
            conn.execute("BEGIN")  # one snapshot: the counts add up while OMEGA writes
            try:
                found = []
                for rule in prepared.rules:
                    picked = 0 if rule.missing else int(
                        conn.execute(rule.count_sql(), (rule.age.modifier,)).fetchone()[0])
                    found.append(Table(rule.table, picked, retention.total(conn, rule.table) - picked))
            finally:
                conn.execute("ROLLBACK")
    finally:
        conn.close()
    return tuple(found)


def dry_run(prepared: Prepared, *, timeout: float = db.DEFAULT_TIMEOUT) -> Pruned:
    """The report of a prune that changes nothing: what would be deleted."""
    tables = count(prepared, timeout=timeout)
    return Pruned(prepared, True, None, tables, prepared.bytes_before)


def _pick(conn: sqlite3.Connection, rule: Rule) -> array[int]:
    rowids: array[int] = array("q")
    if not rule.missing:
        for (rowid,) in conn.execute(rule.pick, (rule.age.modifier,)):
            rowids.append(rowid)
    return rowids


@dataclass
class _Batches:
    """The batch size, adapted to each batch's measured time, and the longest write transaction."""

    size: int = FIRST_BATCH
    longest: float = 0.0
    deleted: int = 0

    def measured(self, rows: int, seconds: float) -> float:
        """Size the next batch from this one's time; the pause (seconds) before it."""
        self.longest = max(self.longest, seconds)
        rate = rows / max(seconds, 1e-4)
        self.size = max(SMALLEST_BATCH, min(LARGEST_BATCH, int(rate * TARGET_SECONDS), self.size * 2))
        return max(MIN_PAUSE, seconds * PAUSE_SHARE)


def _delete(conn: sqlite3.Connection, rule: Rule, rowids: array[int], batches: _Batches,
            on_progress: OnProgress | None, *, wal: bool) -> int:
    deleted = 0
    at = 0
    batches.size = FIRST_BATCH  # each table's rows cost differently (indexes, triggers): measure afresh
    while at < len(rowids):
        chunk = rowids[at : at + batches.size]
        at += len(chunk)
        with db.transaction(conn):
            started = time.perf_counter()  # the lock is ours from here to the end of COMMIT
            rows = conn.execute(rule.delete, (json.dumps(chunk.tolist()), rule.age.modifier)).rowcount
        deleted += rows
        batches.deleted += rows
        pause = batches.measured(len(chunk), time.perf_counter() - started)
        if on_progress:
            on_progress(rule.table, deleted, len(rowids))
        # The lock is free: OMEGA's waiting writes go first. In WAL mode this batch's pages are
        # copied into the file first (a passive checkpoint takes no write lock: OMEGA writes
        # beside it), then the whole pause is slept.
        if wal:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        time.sleep(pause)
    return deleted


def _is_wal(conn: sqlite3.Connection) -> bool:
    return str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal"


def _checkpoint(conn: sqlite3.Connection, *, secure: bool) -> bool:
    """A passive checkpoint in WAL mode (never waits for OMEGA); False if it could not copy every page.

    With secure, then a TRUNCATE checkpoint, which empties the -wal file (its older frames may
    still hold deleted text), waiting at most TRUNCATE_WAIT for OMEGA: past that it stays as it is.
    """
    if not _is_wal(conn):
        return True
    busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    if not secure:
        return busy == 0 and frames == copied
    waited = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute(f"PRAGMA busy_timeout = {TRUNCATE_WAIT_MS}")
    try:
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    except sqlite3.OperationalError:  # busy: OMEGA is writing
        busy = 1
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(waited)}")
    return busy == 0


def run(prepared: Prepared, *, make_backup: bool = True, timeout: float = db.DEFAULT_TIMEOUT,
        on_progress: OnProgress | None = None) -> Pruned:
    """Back up the database, then delete each rule's rows in short batches; the report."""
    path = prepared.database
    check_writable(path, "pruned")
    if prepared.vacuum:
        holders.refuse_if_open(path, path, "prune --vacuum")  # again: OMEGA may have started while we asked
    conn = db.connect_readwrite(path, timeout=timeout)
    saved = None
    batches = _Batches()
    try:
        with db.translate_errors(path):
            picked = [(rule, _pick(conn, rule)) for rule in prepared.rules]
            if not any(len(rowids) for _, rowids in picked) and not prepared.vacuum:
                return _report(conn, prepared, None, picked, [0] * len(picked), batches)
            # The write lock first: if OMEGA holds it past --timeout, no backup is left behind.
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            if make_backup:
                advice = f"nothing was deleted; {online_copy.COMMAND_ADVICE}, or pass --no-backup"
                saved = online_copy.backup(conn, path, advice=advice)
            # This connection checkpoints in the pause after each batch (_delete), not inside the
            # COMMIT that would count as the batch's lock time; OMEGA's connections keep their setting.
            wal = _is_wal(conn)
            if wal:
                conn.execute("PRAGMA wal_autocheckpoint = 0")
                # A batch's COMMIT does not wait for the disk; the checkpoint after it syncs the -wal
                # before copying. In WAL mode that cannot corrupt the file (SQLite's documentation of
                # synchronous): a power cut can only undo the last batches, whose rows are then still
                # there for the next prune. Full size, in-process: 4 to 5 s less lock held (of 30).
                conn.execute("PRAGMA synchronous = NORMAL")
            # The indexes a batch touches at random are read again by every batch: keep them in
            # memory (64 MiB; SQLite's default is 2): a full-size bench prune went from 64 s to 49 s.
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            if prepared.secure_delete:
                conn.execute("PRAGMA secure_delete = ON")  # deleted text is overwritten with zeros
            done = [_delete(conn, rule, rowids, batches, on_progress, wal=wal) for rule, rowids in picked]
            if prepared.secure_delete and done[-1] and picked[-1][0].table == "messages":
                _optimize_fts(conn)
            if prepared.vacuum:
                conn.execute("VACUUM")
            return _report(conn, prepared, saved, picked, done, batches)
    except BusyError as exc:
        if saved is not None and not batches.deleted:
            online_copy.remove(saved)
        if batches.deleted:
            raise BusyError(f"{exc.message.rstrip('.')}; {batches.deleted} rows were deleted before that, in whole "
                            "batches: run prune again to finish.") from exc
        raise
    except BaseException:
        if saved is not None and not batches.deleted:
            online_copy.remove(saved)  # nothing deleted: the file is what the backup holds
        raise
    finally:
        conn.close()


def _optimize_fts(conn: sqlite3.Connection) -> None:
    """FTS5 keeps a deleted message's words in old index segments until they merge: merge them all now."""
    if db.table_exists(conn, "messages_fts"):
        with db.transaction(conn):
            conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")


def _report(conn: sqlite3.Connection, prepared: Prepared, saved: Path | None,
            picked: list[tuple[Rule, array[int]]], done: list[int], batches: _Batches) -> Pruned:
    tables = tuple(Table(rule.table, n, retention.total(conn, rule.table))
                   for (rule, _), n in zip(picked, done, strict=True))
    checkpointed = _checkpoint(conn, secure=prepared.secure_delete)
    return Pruned(prepared, False, saved, tables, _size(prepared.database), batches.longest, checkpointed)
