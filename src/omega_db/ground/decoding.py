"""Stored text as bytes: is it UTF-8, what it reads as when it is not, and how many values were not.

OMEGA writes only UTF-8, so text that is not is damage: it reads as U+FFFD and is counted,
for the one note a command prints once it has answered. No sqlite3 here: the CLI's error
boundary reads the count on every start.
"""

from __future__ import annotations

from collections.abc import Iterable

from omega_db.ground.errors import BadArgumentError


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


def all_utf8(values: Iterable[bytes]) -> bool:
    """True if every value is valid UTF-8. Value by value: decoding a whole batch at once makes one
    long string, widened whole by a single character past U+FFFF (an emoji), 2.5 times the cost."""
    try:
        for value in values:
            value.decode()
    except UnicodeDecodeError:
        return False
    return True


def require_utf8(**given: str | None) -> None:
    """Each option's text can be bound: a value that is not UTF-8 (bytes from the shell) is a bad argument.

    A name in capitals is a positional argument (OLD), any other an option (--sender)."""
    for name, value in given.items():
        # Python hands undecodable argv bytes over as lone surrogates, which sqlite3 cannot bind.
        if value is not None and not is_utf8(value.encode("utf-8", "surrogateescape")):
            shown = name if name.isupper() else f"--{name}"
            raise BadArgumentError(f"{shown} is not valid UTF-8 text (OMEGA stores only UTF-8); give it as UTF-8.")
