"""What a database records of the chain, and the plan: what migrate would apply."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from omega_db.chain import files
from omega_db.chain.files import Migration
from omega_db.ground import db
from omega_db.ground.errors import BadArgumentError, HistoryError


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

    @property
    def may_be_half_applied(self) -> bool:
        """Whether the next migration could be half-applied: something is recorded and something
        known is pending (nothing recorded is a new file or one from before tracking, not OMEGA's
        runner stopping mid-way; a file from a newer OMEGA is not ours to judge)."""
        return bool(self.recorded) and not self.newer and any(m.name not in self.recorded for m in self.known)


def read_recorded(conn: sqlite3.Connection) -> tuple[dict[str, str | None], bool]:
    """The recorded migrations (name -> applied_at) and whether the bootstrap rule applies."""
    recorded: dict[str, str | None] = {}
    if db.table_exists(conn, "_migrations"):
        # CAST: a damaged file may hold a name as a BLOB, a number or NULL; it is compared as text.
        recorded = dict(conn.execute(
            "SELECT coalesce(CAST(name AS TEXT), ''), CAST(applied_at AS TEXT) FROM _migrations ORDER BY 1"
        ))
    bootstrap = False
    if not recorded:
        row = conn.execute(
            "SELECT CAST(sql AS TEXT) FROM sqlite_master WHERE type = 'table' AND name = 'conversations'"
        ).fetchone()
        bootstrap = bool(row and row[0] and re.search(r"\bsummary\b", row[0], re.IGNORECASE))
    if bootstrap:
        recorded = {name: None for name in files.BOOTSTRAP_NAMES}
    return recorded, bootstrap


def inspect(
    conn: sqlite3.Connection | None,
    path: Path,
    *,
    to: str | None = None,
    known: tuple[Migration, ...] | None = None,
) -> Plan:
    """The plan for the database behind conn (None: a file that does not exist yet)."""
    known = files.discover() if known is None else known
    target = files.resolve_target(known, to)
    recorded, bootstrap = read_recorded(conn) if conn is not None else ({}, False)
    known_names = {m.name for m in known}
    newer = tuple(sorted(name for name in recorded if name not in known_names))
    pending = tuple(m for m in known if m.name not in recorded)
    if target is not None:
        if target in recorded or newer:
            later = [n for n in recorded if n > target]  # a later OMEGA's own migrations count too
            if later:
                raise BadArgumentError(
                    f"--to {target}: {path} is already past it (at {max(recorded)}); "
                    "omega-db does not undo migrations."
                )
        pending = tuple(m for m in pending if m.name <= target)
    if newer:
        pending = ()
    return Plan(path, conn is not None, known, recorded, bootstrap, pending, newer)


def refuse_gaps(plan: Plan) -> None:
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
