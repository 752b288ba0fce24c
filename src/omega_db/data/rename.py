"""`omega-db projects rename OLD NEW`: every row of a project takes another name, in one transaction.

Checked first on a read-only connection (the names, the rows, a half-applied migration,
another process holding the file), so that a refusal changes no byte; then a backup, as
migrate takes one; then one write transaction (data.merge), so that a crash at any moment
leaves the old names everywhere or the new ones everywhere. The project's folder is
OMEGA's: never touched, only named in the answer when it should follow.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from omega_db.chain import halfapplied, history
from omega_db.chain.migrate import check_writable
from omega_db.data import merge
from omega_db.data.merge import Evicted
from omega_db.ground import db, decoding, holders, online_copy
from omega_db.ground.errors import BadArgumentError, HalfAppliedError
from omega_db.ground.untrusted import visible

MULTI_LESSONS = "013_multi_lessons"  # from here OMEGA keeps up to 10 lessons per scope
COMMAND = "`omega-db projects rename`"


def shown(name: str) -> str:
    """A project's name inside a sentence: quoted, control characters visible, '' the general scope."""
    return "the general scope ''" if name == "" else f"'{visible(name)}'"


@dataclass(frozen=True)
class Prepared:
    """A rename that was checked and can run."""

    database: Path
    old: str
    new: str
    rows: tuple[tuple[str, int], ...]  # OLD's rows per place
    merging: bool  # NEW has rows too
    cap: int  # lessons kept per (sender, domain, project)
    folder_move: tuple[Path, Path] | None  # OLD's folder exists and NEW's does not: the mv to suggest


@dataclass(frozen=True)
class Renamed:
    """What a rename did."""

    prepared: Prepared
    backup: Path | None
    moves: merge.Moves

    @property
    def evicted(self) -> tuple[Evicted, ...]:
        """The lessons OMEGA's cap deleted (they stay in the backup)."""
        return self.moves.evicted


def _check_names(path: Path, old: str, new: str) -> None:
    decoding.require_utf8(OLD=old, NEW=new)
    if old == "":
        raise BadArgumentError(
            f"OLD may not be the general scope '': give the project whose rows move out of {path} "
            "(`omega-db projects` lists them); nothing was changed."
        )
    if old == new:
        raise BadArgumentError(
            f"OLD and NEW are both {shown(old)}: nothing to move in {path}; give two different names; "
            "nothing was changed."
        )


def prepare(path: Path, old: str, new: str, *, projects_dir: Path, timeout: float = db.DEFAULT_TIMEOUT) -> Prepared:
    """Check the rename on a read-only connection; raise what stops it before anything changes."""
    _check_names(path, old, new)
    conn = db.connect_readonly(path, timeout=timeout)
    try:
        with db.translate_errors(path):
            plan = history.inspect(conn, path)
            half = halfapplied.detect(conn, plan)
            if half is not None:
                raise HalfAppliedError(
                    f"{path}: {half.describe()}; run `omega-db migrate --repair` first, then rename; "
                    "nothing was changed."
                )
            places = merge.present(conn)
            rows = tuple((place[0], merge.count(conn, place, old)) for place in places)
            merging = any(merge.count(conn, place, new) for place in places)
    finally:
        conn.close()
    if not any(n for _, n in rows):
        raise BadArgumentError(
            f"{path} has no rows of project {shown(old)} (`omega-db projects` lists the projects); nothing was changed."
        )
    holders.refuse_if_open(path, path, "projects rename")
    cap = merge.CAP if MULTI_LESSONS in plan.recorded else merge.CAP_BEFORE_013
    return Prepared(path, old, new, rows, merging, cap, _folder_move(projects_dir, old, new))


def unfindable(name: str) -> str | None:
    """Why no folder can have this name, so that OMEGA never finds a project of it; None if one can
    (the general scope '' needs none)."""
    if name in (".", ".."):
        return f"'{name}' is the folder itself or its parent"
    if "/" in name:
        return "a folder's name holds no '/'"
    if len(name.encode("utf-8", "surrogateescape")) > 255:
        return "a folder's name is at most 255 bytes"
    return None


def _folder_move(projects_dir: Path, old: str, new: str) -> tuple[Path, Path] | None:
    source, target = projects_dir / old, projects_dir / new
    try:
        if new == "" or unfindable(new) or not source.is_dir() or os.path.lexists(target):
            return None
    except OSError:  # a projects folder this user cannot reach: nothing to suggest
        return None
    return source, target


def rename(prepared: Prepared, *, make_backup: bool = True, timeout: float = db.DEFAULT_TIMEOUT) -> Renamed:
    """Back up the database, then move every row of OLD to NEW in one transaction."""
    path = prepared.database
    check_writable(path, "changed")
    holders.refuse_if_open(path, path, "projects rename")  # again: OMEGA may have started while we asked
    conn = db.connect_readwrite(path, timeout=timeout)
    saved = None
    try:
        with db.translate_errors(path):
            # The write lock first: if OMEGA holds it past --timeout, no backup is left behind.
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            if make_backup:
                advice = f"nothing was renamed; {online_copy.COMMAND_ADVICE}, or pass --no-backup"
                saved = online_copy.backup(conn, path, advice=advice)
            with db.transaction(conn):
                moves = merge.move(conn, prepared.old, prepared.new, cap=prepared.cap, places=merge.present(conn))
    except BaseException:
        if saved is not None:
            online_copy.remove(saved)  # rolled back: the file is what the backup holds
        raise
    finally:
        conn.close()
    return Renamed(prepared, saved, moves)
