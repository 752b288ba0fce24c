"""omega-db as a real process on a pseudo-terminal: the bytes a person's terminal receives.

The terminal's output processing is switched off (no LF -> CRLF), so what is read back
is byte for byte what omega-db wrote; its window size is set as a terminal would.
"""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass, field

# The only escape sequences omega-db itself may send to a terminal: colours and attributes.
SGR = re.compile(rb"\x1b\[[0-9;]*m")


@dataclass
class Screenful:
    """What a run wrote to the terminal, its stderr and exit code, and when output arrived."""

    raw: bytes
    stderr: str
    code: int
    started: float
    arrivals: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, bytes so far)

    @property
    def text(self) -> str:
        """The output with omega-db's own colour sequences taken out."""
        return SGR.sub(b"", self.raw).decode("utf-8")

    def seconds_until(self, marker: bytes) -> float:
        """When the first output holding marker had arrived."""
        at = self.raw.find(marker)
        assert at >= 0, marker
        return next(t for t, size in self.arrivals if size > at)


def base_env(**extra: str) -> dict[str, str]:
    """The test's environment without a COLUMNS/LINES of the terminal running pytest, plus extra."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR")}
    env.update({"TERM": "xterm-256color", **extra})
    return env


def on_terminal(*args: str, columns: int = 80, rows: int = 24, env: dict[str, str] | None = None,
                timeout: float = 120, program: list[str] | None = None) -> Screenful:
    """Run `python -m omega_db ARGS` (or program ARGS) with stdin and stdout on a new pseudo-terminal; stderr piped."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST  # no output processing: LF stays LF
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    started = time.monotonic()
    proc = subprocess.Popen(
        [*(program or [sys.executable, "-m", "omega_db"]), *args],
        stdin=slave, stdout=slave, stderr=subprocess.PIPE, env=env if env is not None else base_env(),
    )
    os.close(slave)
    chunks: list[bytes] = []
    arrivals: list[tuple[float, int]] = []
    size = 0
    try:
        while True:
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # EIO: the slave side is closed, the process is done writing
                break
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            arrivals.append((time.monotonic() - started, size))
            if time.monotonic() - started > timeout:
                proc.kill()
                raise AssertionError(f"omega-db {' '.join(args)} ran past {timeout} s")
    finally:
        os.close(master)
    code = proc.wait(timeout=timeout)
    assert proc.stderr is not None
    return Screenful(b"".join(chunks), proc.stderr.read().decode(), code, started, arrivals)
