"""Connections that fail with sqlite3 errors only, whatever bytes the file holds.

SQLite's error messages that quote damaged bytes (a name that is not UTF-8) reach Python
as a UnicodeDecodeError, past every `except sqlite3.Error`: here they arrive as the
DatabaseError they are. (Text values that are not UTF-8: see decoding.)
"""

from __future__ import annotations

import sqlite3
from typing import Any


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
