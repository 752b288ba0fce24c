"""Every error a user can cause derives from OmegaDbError and carries its exit code."""

from __future__ import annotations

import errno


class OmegaDbError(Exception):
    """A failure to report to the user as one sentence, with an exit code."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadDatabaseError(OmegaDbError):
    """The path is missing, a folder, unreadable or not a SQLite database (exit 2)."""

    exit_code = 2


class BadArgumentError(OmegaDbError):
    """An option value the command cannot act on (exit 2)."""

    exit_code = 2


class MissingMigrationError(OmegaDbError):
    """The database is too old for the question asked (exit 2)."""

    exit_code = 2


class BusyError(OmegaDbError):
    """Another process held the lock past the timeout (exit 1)."""


class MigrationFailedError(OmegaDbError):
    """A migration failed and was rolled back (exit 1)."""


class HalfAppliedError(OmegaDbError):
    """The database holds a half-applied migration; --repair is needed (exit 1)."""


class HistoryError(OmegaDbError):
    """The recorded migration history cannot be continued safely (exit 1)."""


class BackupError(OmegaDbError):
    """The backup asked for could not be written, so nothing was migrated (exit 1)."""


class InUseError(OmegaDbError):
    """Another process has the database open, so it cannot be replaced (exit 1)."""


class OutputError(OmegaDbError):
    """The answer could not be written: a full disk, a closed stdout, an encoding that cannot carry it (exit 1)."""


# A file or folder this user may not write: the same cause is exit 2 in every command (SPEC: unreadable).
PERMISSION = {errno.EACCES, errno.EPERM, errno.EROFS}


def for_os_error(exc: OSError, message: str, advice: str, otherwise: type[OmegaDbError] = OmegaDbError) -> OmegaDbError:
    """The error for an OSError met writing a file: a permission is BadDatabaseError (exit 2) in every
    command; anything else (a full disk) is `otherwise`, with the caller's advice."""
    if exc.errno in PERMISSION:
        return BadDatabaseError(f"{message} ({exc.strerror}); check the folder's permissions.")
    return otherwise(f"{message} ({exc.strerror}); {advice}.")
