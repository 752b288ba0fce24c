"""What a damaged file gives back, read without failing.

Text that is not UTF-8 (OMEGA writes only UTF-8: only damage makes it) reads as U+FFFD and
is counted, for the one note a command prints; SQLite's error messages that quote damaged
bytes arrive as the DatabaseError they are; the control characters they may hold are shown
as escapes.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any


class Replaced:
    """The stored text values that were not UTF-8 (only damage makes them) and were shown with U+FFFD.

    Counted once per distinct value (by its bytes): a command may read the same value twice.
    """

    LIMIT = 1_000_000  # distinct values remembered; past it each one counts (memory stays bounded)

    def __init__(self) -> None:
        self._seen: set[int] = set()
        self._more = 0

    @property
    def values(self) -> int:
        """How many values were replaced."""
        return len(self._seen) + self._more

    def add(self, data: bytes) -> None:
        """Count a value whose bytes are not UTF-8 (its raw bytes)."""
        if len(self._seen) < self.LIMIT:
            self._seen.add(hash(data))
        else:
            self._more += 1

    def note(self) -> str | None:
        """What the person is told once a command has answered, None when every value was UTF-8."""
        if not self.values:
            return None
        values = "1 stored text value is" if self.values == 1 else f"{self.values:,} stored text values are"
        return (
            f"note: {values} not valid UTF-8 (OMEGA writes only UTF-8: the file is damaged) and shown "
            "with U+FFFD (\N{REPLACEMENT CHARACTER}); `omega-db verify` names the tables."
        )

    def reset(self) -> None:
        """Start counting afresh (each command counts its own)."""
        self._seen.clear()
        self._more = 0


REPLACED = Replaced()  # one count per process: the CLI runs one command at a time


def decode(data: bytes) -> str:
    """A stored text value as str: bytes that are not UTF-8 become U+FFFD, and the value is counted."""
    try:
        return data.decode()
    except UnicodeDecodeError:
        REPLACED.add(data)
        return data.decode("utf-8", "replace")


def is_utf8(data: bytes) -> bool:
    """True if data is valid UTF-8 (one pass in C; ASCII, the common case, is checked faster still)."""
    if data.isascii():
        return True
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def readable(exc: UnicodeDecodeError) -> sqlite3.DatabaseError:
    """The error SQLite reported, whose message sqlite3 could not decode: it quotes damaged bytes.

    sqlite3 decodes SQLite's error messages strictly, so "malformed database schema (<a name
    that is not UTF-8>)" arrives as a UnicodeDecodeError instead of a DatabaseError.
    """
    message = bytes(exc.object).decode("utf-8", "replace")
    error = sqlite3.DatabaseError(message)
    if "malformed" in message:
        error.sqlite_errorname = "SQLITE_CORRUPT"  # type: ignore[attr-defined]
    return error


class Connection(sqlite3.Connection):
    """A connection whose statements fail with sqlite3 errors only, whatever the file holds."""

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        """As sqlite3's, but a message quoting damaged bytes arrives as the DatabaseError it is."""
        try:
            return super().execute(sql, parameters)
        except UnicodeDecodeError as exc:
            raise readable(exc) from None

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        """As sqlite3's, but a message quoting damaged bytes arrives as the DatabaseError it is."""
        try:
            return super().executemany(sql, parameters)
        except UnicodeDecodeError as exc:
            raise readable(exc) from None


# Characters that must not reach a terminal raw: C0, DEL, C1, and what str.splitlines breaks on.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def visible(text: str) -> str:
    """Text read from a file (SQLite's messages quote its names) with control characters as \\xNN."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)
