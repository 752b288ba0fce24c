"""The vocabulary of `verify`: severities, a check's verdict, what a check reads, how a check is named."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from omega_db.chain import schema
from omega_db.chain.files import Migration
from omega_db.chain.history import Plan
from omega_db.ground import db
from omega_db.ground.errors import BusyError


class Severity(str, Enum):
    """A check's verdict: ok, warning or fail."""

    ok = "ok"
    warning = "warning"
    fail = "fail"

    @property
    def rank(self) -> int:
        """0 for ok, 1 for warning, 2 for fail."""
        return tuple(Severity).index(self)


OK, WARNING, FAIL = Severity.ok, Severity.warning, Severity.fail


@dataclass(frozen=True)
class Check:
    """One check's verdict, under the check's name."""

    name: str
    status: Severity
    detail: str


Verdict = tuple[Severity, str]  # what a check function returns; its name comes from @named


@dataclass(frozen=True)
class Context:
    """What every check reads: one read-only connection and what is known about the file."""

    conn: sqlite3.Connection
    path: Path
    quick: bool
    timeout: float
    plan: Plan
    actual: schema.Schema
    chain: tuple[Migration, ...]  # the known chain up to the last recorded migration
    integrity: Future[Verdict]  # the integrity check, running on a connection of its own

    @property
    def newer(self) -> bool:
        """True when the file records migrations from a newer OMEGA."""
        return bool(self.plan.newer)


CheckFn = Callable[[Context], Verdict]


@dataclass(frozen=True)
class NamedCheck:
    """A check function under the one name it is reported by."""

    name: str
    fn: CheckFn

    def run(self, ctx: Context) -> Check:
        """The verdict; a damaged page becomes this check's failure, a lock stays an error."""
        try:
            return Check(self.name, *self.fn(ctx))
        except sqlite3.Error as exc:
            if is_busy(exc):
                raise db.error_for(exc, ctx.path) from exc
            return Check(self.name, FAIL, f"could not be checked: {exc}")

    def verdict(self, severity: Severity, detail: str) -> Check:
        """A verdict of this check reached outside its function (the file could not be read)."""
        return Check(self.name, severity, detail)


def named(name: str) -> Callable[[CheckFn], NamedCheck]:
    """Give a check function its name: the only place that name is written."""
    return lambda fn: NamedCheck(name, fn)


def is_busy(exc: sqlite3.Error) -> bool:
    """A lock held by another process: an error for the whole command, not a check's verdict."""
    return isinstance(db.error_for(exc, Path()), BusyError)
