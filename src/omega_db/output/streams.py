"""Output basics: the formats, the standard streams, notes, JSON documents, output that fails.

rich is imported only when a table is drawn on a terminal or progress is shown: plain JSON
and CSV output (and `--version`) never pay for it.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import functools
import os
import sys
from collections.abc import Iterator
from enum import Enum
from typing import TYPE_CHECKING, Any

from omega_db.ground.errors import OutputError

if TYPE_CHECKING:
    from rich.console import Console

GENERAL_LABEL = "(general)"
STREAM_ERRORS = "omega_db.visible"  # the error handler of stdout and stderr (prepare_streams)
_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class Format(str, Enum):
    """Output formats of the listing commands."""

    table = "table"
    json = "json"
    csv = "csv"


class ReportFormat(str, Enum):
    """Output formats of migrate, status and verify."""

    table = "table"
    json = "json"


def _raw_or_visible(exc: UnicodeError) -> tuple[bytes, int]:
    """A character the stream's encoding lacks: a file name's undecodable byte (a surrogate)
    goes out as the byte it was; anything else as a visible escape (\\xe9), never an error."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = bytearray()
    for char in exc.object[exc.start : exc.end]:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(code - 0xDC00)
        else:
            out += char.encode("ascii", "backslashreplace")
    return bytes(out), exc.end


def prepare_streams() -> None:
    """Make the standard streams safe before a command runs; OutputError if stdout is closed.

    A closed descriptor 0, 1 or 2 (`>&-`) gets /dev/null, so that no database opened later
    can become it and receive output. Text the encoding cannot carry never fails a table or
    a note (JSON and CSV take care of exactness themselves).
    """
    closed = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.append(fd)
    for fd in closed:
        null = os.open(os.devnull, os.O_RDWR)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
    if 2 in closed or sys.stderr is None:
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115 (notes vanish; exit codes stay)
    codecs.register_error(STREAM_ERRORS, _raw_or_visible)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors=STREAM_ERRORS)
    if 1 in closed or sys.stdout is None:
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        raise OutputError(
            "standard output is closed, so there is nowhere to write the answer; "
            "run again with it open (> /dev/null discards it)."
        )


def discard_stdout() -> None:
    """Point stdout at /dev/null: what is still buffered for a reader that left is dropped quietly."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def unwritable(exc: OSError, done: str | None = None) -> OutputError:
    """The sentence for output that failed with exc (after which stdout is discarded).

    done: what the command changed before its report failed (a cron job must not read the exit 1
    as a prune or a restore that did not happen, and run it again).
    """
    discard_stdout()
    reason = exc.strerror or str(exc)
    if exc.errno in _NO_ROOM:
        failed, advice = f"there is no room for the output ({reason})", "free some disk space or write it elsewhere"
    else:
        failed, advice = f"the output cannot be written ({reason})", "send it somewhere that can take it"
    if done:
        return OutputError(f"{done}, but its report was not: {failed}; {advice}.")
    return OutputError(f"{failed}; {advice}.")


def finish(code: Any) -> Any:
    """At exit: flush what stdout still holds, while a failure is ours to report; the exit status to leave."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        discard_stdout()
        return 0
    except OSError as exc:
        note(f"error: {unwritable(exc).message}")
        return 1
    return code


@contextlib.contextmanager
def writing(done: str | None = None) -> Iterator[None]:
    """Around a command's output: flushed at the end; a failed write becomes one OutputError
    (which says what was done, when the command changed something before its report).

    BrokenPipeError (the reader went away: `| head`) is left for the error boundary, which
    ends quietly.
    """
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise unwritable(exc, done) from None


@functools.cache
def error_console() -> Console:
    """The rich console on stderr, for progress."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def scope_label(project: str) -> str:
    """How a project scope reads in a table: '' is (general)."""
    return GENERAL_LABEL if project == "" else project


def size_label(n: int) -> str:
    """A file size a person reads at a glance: 1234567 -> '1.2 MiB'."""
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"


def note(message: str) -> None:
    """A note for the person, on stderr, never mixed with data on stdout (control characters made visible)."""
    from omega_db.ground.untrusted import visible  # not on every start: --version never needs it

    try:
        sys.stderr.write(f"omega-db: {visible(message)}\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass  # stderr is closed or full: the exit status still says it


def write_json(value: Any) -> None:
    """One JSON document on stdout in UTF-8, as the database holds the values."""
    import json  # only JSON output pays for the import (start-up matters)

    # A file name that is not UTF-8 arrives as surrogates: its bytes go out as they were.
    data = (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8", "surrogateescape")
    out = sys.stdout
    raw = getattr(out, "buffer", None)
    if raw is None:
        out.write(data.decode("utf-8", "replace"))
        return
    out.flush()
    raw.write(data)
    raw.flush()
