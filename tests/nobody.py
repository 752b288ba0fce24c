"""omega-db as an unprivileged user, in a forked child: root ignores file modes, the tests run as root.

The child drops to 'nobody' (when we are root) without exec'ing anything, so it
cannot read what root's Python may still load lazily (an interpreter under
/root): preload() loads it all first, by importing every module and running
every command once.
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
import sys
import tempfile
import traceback
from pathlib import Path

from typer.testing import CliRunner

import omega_db
from omega_db.cli import app
from tests import helpers
from tests.inputkit import COMMANDS, Ran, required

NOBODY = 65534


@functools.cache
def preload() -> None:
    """Load everything a command may load lazily (modules, stdlib readers such as json)."""
    for info in pkgutil.walk_packages(omega_db.__path__, "omega_db."):
        if info.name != "omega_db.__main__":
            importlib.import_module(info.name)
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as folder:
        path = helpers.seeded(Path(folder) / "warm-up.db", to="010")
        for command in (*COMMANDS, "backups"):
            for fmt in ("table", "json"):
                runner.invoke(app, [command, str(path), *required(command), "-f", fmt])


def as_nobody(*args: str) -> Ran:
    """omega-db ARGS in a forked child running as 'nobody' (or as ourselves when not root), no terminal."""
    preload()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 70
            try:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115  (no terminal)
                sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
                sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
                if os.geteuid() == 0:
                    os.setgroups([])
                    os.setgid(NOBODY)
                    os.setuid(NOBODY)
                try:
                    app(args=list(args), prog_name="omega-db")
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        err.seek(0)
        return Ran(os.waitstatus_to_exitcode(status), out.read().decode(), err.read().decode())
