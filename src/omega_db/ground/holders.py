"""Which other processes have a file open: Linux's /proc/<pid>/fd, read without opening anything."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from omega_db.ground.errors import InUseError

PROC = Path("/proc")
COMPANIONS = ("-journal", "-wal", "-shm")  # the files SQLite may keep beside a database


@dataclass(frozen=True)
class Holder:
    """A process that has one of the files open."""

    pid: int
    name: str  # the command name (/proc/<pid>/comm), or '' when it cannot be read
    path: str  # the file it has open, as the process sees it

    def describe(self) -> str:
        """'process 4242 (omega)'."""
        return f"process {self.pid}" + (f" ({self.name})" if self.name else "")


def available() -> bool:
    """True where /proc lists open files (Linux); elsewhere no holder can be seen."""
    return (PROC / "self" / "fd").is_dir()


def holders(paths: Iterable[Path]) -> list[Holder]:
    """Every other process with one of paths open, by file identity (device and inode), not by name.

    As root every process is seen; as another user only that user's own processes
    (the kernel hides the rest), which is where OMEGA runs when it runs as that user.
    """
    wanted: dict[tuple[int, int], str] = {}
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue  # not there: nobody can have it open under that name
        wanted[(st.st_dev, st.st_ino)] = str(path)
    if not wanted or not available():
        return []
    me = os.getpid()
    found: list[Holder] = []
    for entry in os.scandir(PROC):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        fd_dir = f"{entry.path}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:  # another user's process, or one that just ended
            continue
        for fd in fds:
            link = f"{fd_dir}/{fd}"
            try:
                # Only paths (not sockets, pipes, anon inodes) can be one of our files;
                # stat() follows the link to the open file itself, even if it was renamed.
                if not os.readlink(link).startswith("/"):
                    continue
                st = os.stat(link)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in wanted:
                found.append(Holder(int(entry.name), _command(entry.path), wanted[(st.st_dev, st.st_ino)]))
                break
    return found


def refuse_if_open(target: Path, shown: Path, command: str) -> None:
    """InUseError (exit 1) naming the process if another process has the database or its journals open.

    For the commands that rewrite OMEGA's data wholesale (restore, projects rename,
    prune --vacuum); `command` is what to run again once OMEGA is stopped.
    """
    found = holders([target, *(Path(f"{target}{s}") for s in COMPANIONS)])
    if found:
        others = f" and {len(found) - 1} other process(es)" if len(found) > 1 else ""
        raise InUseError(
            f"{shown} is open in {found[0].describe()}{others}: stop OMEGA (and anything else "
            f"using the file), then run {command} again; nothing was changed."
        )


def _command(proc_dir: str) -> str:
    try:
        with open(f"{proc_dir}/comm", encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return ""
