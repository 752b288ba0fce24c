"""The Typer app: the one error boundary, the root options, the commands registered. No SQL, no rules.

Each command lives with its kind (cli_core: migrate, status, verify; cli_listings:
lessons, outcomes, tasks; cli_backups: backup, backups, restore; projects, with its
rename): it parses,
calls the core once and renders.
"""

import contextlib
import os
import sys
import traceback
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from omega_db import __version__
from omega_db.commands import backups, context, core, learning, listings, projects, prune
from omega_db.commands.options import DEBUG_ENV, ConfigOpt, DebugOpt
from omega_db.ground import decoding
from omega_db.ground.defaults import DEBUG_KEY
from omega_db.ground.errors import OmegaDbError
from omega_db.output import streams


def _debug_wanted(ctx: typer.Context) -> bool:
    return bool(ctx.meta.get(DEBUG_KEY)) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _traceback() -> None:
    with contextlib.suppress(OSError, ValueError):
        traceback.print_exc()


def _noting_replaced(command: Any, ctx: typer.Context) -> Any:
    """Run the command; once it has answered (exit 0 or 1), a note if stored text was not UTF-8."""
    answered = False
    try:
        result, answered = command(ctx), True
        return result
    except typer.Exit as exc:
        answered = exc.exit_code in (0, 1)  # verify's "not ok" is an answer too; an error is not
        raise
    finally:
        if answered and (note := decoding.REPLACED.note()):
            streams.note(note)


class _ErrorBoundary(TyperGroup):
    """The one place where errors become a sentence on stderr and an exit code."""

    # Typer passes its own Context (a subclass); its TyperGroup types the argument as Click's.
    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        decoding.REPLACED.reset()
        try:
            return _noting_replaced(super().invoke, ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # Typer's own control flow and usage errors (exit 2)
        except OmegaDbError as exc:
            if _debug_wanted(ctx):
                _traceback()
            streams.note(f"error: {exc.message}")
            raise typer.Exit(exc.exit_code) from None
        except BrokenPipeError:
            # The reader went away (`omega-db outcomes | head`): not an error.
            streams.discard_stdout()
            raise typer.Exit(0) from None
        except KeyboardInterrupt:
            streams.note("interrupted; the write in progress, if any, was rolled back.")
            raise typer.Exit(130) from None
        except Exception as exc:  # a bug of ours: still one sentence, traceback on request
            if _debug_wanted(ctx):
                _traceback()
            streams.note(
                f"error: unexpected {type(exc).__name__}: {exc}. "
                f"Run again with --debug (or {DEBUG_ENV}=1) for details, and report it."
            )
            raise typer.Exit(1) from None


_COMPLETE_VAR = "_OMEGA_DB_COMPLETE"  # set by the shell when it asks for completions (Click's name for it)


def _version(value: bool) -> None:
    if value:
        try:
            with streams.writing():  # a full disk: one sentence, exit 1 (main() reports the OutputError)
                sys.stdout.write(f"omega-db {__version__}\n")
        except BrokenPipeError:  # the reader went away: not an error
            streams.discard_stdout()
        raise typer.Exit()


def _root(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
    debug: DebugOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Administer the OMEGA agent's memory database (~/.omega/data/memory.db).

    The database is the DB argument of each command; without it, the file OMEGA
    itself uses: $OMEGA_DB, else db_path in the [memory] table of OMEGA's config
    file (--config, default ~/.omega/config.toml), else ~/.omega/data/memory.db
    (or ~/.omega/memory.db, where OMEGA kept it before v0.2.0, if only that one
    exists). Every command but migrate, restore, projects rename and prune (without
    --dry-run) only reads it.
    """


def _new_app() -> typer.Typer:
    """The app with its root options and no command yet."""
    new = typer.Typer(
        cls=_ErrorBoundary,
        name="omega-db",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    new.callback()(_root)
    return new


# Each command by the name it is called (Typer's own: the function's name, _ as -).
_COMMANDS = {
    command.__name__.replace("_", "-"): command
    for module in (core, listings, backups, learning, context, prune)
    for command in module.COMMANDS
}
_GROUPS = {"projects": projects.app}  # `projects [DB]` lists, `projects rename` moves

app = _new_app()
for _name, _command in _COMMANDS.items():
    app.command(name=_name)(_command)
for _name, _group in _GROUPS.items():
    app.add_typer(_group, name=_name)


def app_for(args: list[str]) -> typer.Typer:
    """The app that runs this command line: when its first word names a command, an app with
    that command alone, which answers exactly as the whole app would. Typer builds every
    command's options before it runs one (~7 ms of every run); this way it builds one's."""
    name = args[0] if args else ""
    if os.environ.get(_COMPLETE_VAR):  # the shell asks for completions: they need every command
        return app
    narrow = _new_app()
    if name in _COMMANDS:
        narrow.command(name=name)(_COMMANDS[name])
    elif name in _GROUPS:
        narrow.add_typer(_GROUPS[name], name=name)
    else:  # root options first, no command, --help, a misspelt command: the whole app
        return app
    return narrow


_COMPLETION_OPTIONS = ("--show-completion", "--install-completion")
# Typer's switch for the form of these options that takes the shell's name (its tests use it);
# by default they are flags and the shell is detected from the parent process, so
# `--show-completion zsh` typed in bash printed the bash script and exited 0.
_NAMED_SHELL_VAR = "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION"


def _shell_named(args: list[str]) -> bool:
    """The line names the shell for --show-completion or --install-completion (`zsh`, `=fish`)."""
    for i, arg in enumerate(args):
        name, eq, _ = arg.partition("=")
        if name in _COMPLETION_OPTIONS:
            return bool(eq) or (i + 1 < len(args) and not args[i + 1].startswith("-"))
    return False


def _version_alone() -> bool:
    """The command line is `omega-db --version` and nothing else (and no shell is asking for completions)."""
    return sys.argv[1:] == ["--version"] and not os.environ.get(_COMPLETE_VAR)


def main() -> None:
    """Console-script entry point."""
    try:
        streams.prepare_streams()
        if _shell_named(sys.argv[1:]):
            os.environ[_NAMED_SHELL_VAR] = "1"  # the named shell, checked by Typer: bash, zsh, fish, …
        if _version_alone():
            # Answered as the app would, before Typer builds every command's options (~7 ms).
            _version(True)
        app_for(sys.argv[1:])(prog_name="omega-db")
    except typer.Exit as exc:  # only _version_alone()'s: inside app(), Click turns it into SystemExit
        sys.exit(streams.finish(exc.exit_code))
    except OmegaDbError as exc:  # stdout is closed, or --version could not write: nowhere to answer
        streams.note(f"error: {exc.message}")
        sys.exit(exc.exit_code)
    except SystemExit as exc:
        sys.exit(streams.finish(exc.code))
