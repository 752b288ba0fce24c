"""Running one side of a pair: wall time, peak memory, exit status; alternating the sides."""

from __future__ import annotations

import fcntl
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Children run as in a user's shell: Python may write its bytecode caches, so a module
# edited since the benchmark byte-compiled omega_db is compiled once, not on every run.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

# A child's ru_maxrss starts from the RSS of the process that forked it, so peak memory
# is read by this small launcher (a few MiB) rather than by the benchmark itself.
LAUNCHER = (
    "import os, sys\n"
    "pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


@dataclass
class Run:
    """One process: wall time, peak resident memory, exit status, what it said on stderr."""

    seconds: float
    maxrss_kib: int
    code: int
    stderr: str


@dataclass
class Pair:
    """omega-db and its reference doing the same job, measured alternately."""

    name: str
    label: str
    omega: list[Run] = field(default_factory=list)
    reference: list[Run] = field(default_factory=list)
    skipped: str = ""
    peak_mib: dict[str, float] = field(default_factory=dict)  # side -> median peak memory, where measured

    def median(self, side: str) -> float:
        """The median wall time of one side ("omega" or "reference")."""
        return statistics.median(r.seconds for r in getattr(self, side))

    def ratio(self) -> float:
        """omega-db's median over the reference's."""
        return self.median("omega") / self.median("reference")


def run(cmd: list[str], *, stdin: Path | None = None, stdout: Path | None = None) -> Run:
    """Run cmd to completion; time it and read its rusage with wait4."""
    with tempfile.TemporaryFile() as err, open(stdin or os.devnull, "rb") as inp, \
            open(stdout or os.devnull, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=inp, stdout=out, stderr=err, env=CHILD_ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = code = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        err.seek(0)
        return Run(seconds, usage.ru_maxrss, code, err.read().decode(errors="replace"))


def on_terminal(cmd: list[str], *, columns: int = 160, rows: int = 50) -> Run:
    """Run cmd with its stdout on a new pseudo-terminal of that size, drained as a terminal would."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {k: v for k, v in CHILD_ENV.items() if k not in ("COLUMNS", "LINES")}

    def drain() -> None:
        while True:
            try:
                if not os.read(master, 1 << 16):
                    return
            except OSError:  # EIO: the slave side closed
                return

    reader = threading.Thread(target=drain)
    reader.start()
    with tempfile.TemporaryFile() as err, open(os.devnull, "rb") as inp:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=inp, stdout=slave, stderr=err, env=env)
        os.close(slave)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        reader.join()
        os.close(master)
        err.seek(0)
        return Run(seconds, usage.ru_maxrss, code, err.read().decode(errors="replace"))


def peak(cmd: list[str], work: Path) -> Run:
    """Run cmd under the launcher: the Run's maxrss_kib is cmd's own peak."""
    report = work / "maxrss"
    result = run([sys.executable, "-S", "-c", LAUNCHER, str(report), *cmd])
    if result.code == 0:
        result.maxrss_kib = int(report.read_text())
    return result


def checked(result: Run, what: str) -> Run:
    """result, or stop the benchmark with what the process said if it failed."""
    if result.code != 0:
        sys.exit(f"bench: {what} failed with exit {result.code}:\n{result.stderr[-2000:]}")
    return result


def alternate(
    pair: Pair,
    rounds: int,
    omega: Callable[[], Run],
    reference: Callable[[], Run],
    prepare: Callable[[], None] | None = None,
) -> None:
    """Run both sides `rounds` times, swapping which goes first every round."""
    for i in range(rounds):
        if prepare:
            prepare()
        sides = [("omega", omega), ("reference", reference)]
        for side, fn in sides if i % 2 == 0 else reversed(sides):
            getattr(pair, side).append(fn())
