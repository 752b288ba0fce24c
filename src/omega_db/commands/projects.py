"""The projects command and its rename: parse, call the core once, render (registered by cli).

`projects [DB]` lists and `projects rename OLD NEW [DB]` moves, so the group takes an
optional DB of its own: a first word that names a subcommand is that subcommand, never DB.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer._click.exceptions import UsageError  # Typer's own (vendored Click): exit 2 with the usage
from typer.core import TyperArgument, TyperGroup

from omega_db.commands import completion
from omega_db.commands.options import (
    ConfigOpt,
    DbArg,
    DebugOpt,
    NoBackupOpt,
    ReportFormatOpt,
    TimeoutOpt,
    YesOpt,
    confirm_or_refuse,
    database_path,
)
from omega_db.ground.defaults import DEFAULT_TIMEOUT
from omega_db.output import streams
from omega_db.output.streams import ReportFormat

RENAME_USAGE = "rename OLD NEW [DB] [OPTIONS]"
PROJECTS_DIR = "~/.omega/projects"  # where OMEGA finds a project: ~/.omega/projects/<name>/

def _a_folder(value: str) -> str:
    if value == "":  # Path('') is the current folder: its subfolders would pass for projects
        raise typer.BadParameter(f"{value!r} names no folder; give OMEGA's projects folder ({PROJECTS_DIR}).")
    return value


ProjectsDirOpt = Annotated[
    str,
    typer.Option(
        "--projects-dir", metavar="DIR", help="OMEGA's projects folder, one folder per project.", callback=_a_folder,
    ),
]


class _ProjectsGroup(TyperGroup):
    """A group whose own optional DB argument never swallows the name of a subcommand.

    A subcommand comes first: `projects rename OLD NEW [DB] [OPTIONS]`. Anything before it
    (`projects DB rename ...`) would be the listing's, which does not run, and rename would
    work on the default database instead of the one named: refused as a usage error.
    """

    allow_interspersed_args = True  # `projects DB -f json`: the listing's options after its DB

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] in self.commands:
            super().parse_args(ctx, [])  # the listing's own options keep their defaults
            ctx._protected_args, ctx.args = args[:1], args[1:]
            return ctx.args
        positional = self._positional(ctx, args)
        late = next((word for word in positional if word in self.commands), None)
        if late is not None:
            raise UsageError(
                f"`{late}` comes right after `projects`, and its DB and options after OLD NEW: "
                f"omega-db projects {RENAME_USAGE}.", ctx,
            )
        if len(positional) > 1:
            raise UsageError(
                f"projects takes one DB, not {len(positional)} words ({', '.join(map(repr, positional))}); "
                "to move a project's rows: omega-db projects rename OLD NEW [DB].", ctx,
            )
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        """Two lines: the listing, then rename with its DB and options after OLD NEW (never before it)."""
        pieces = [piece for piece in self.collect_usage_pieces(ctx) if piece != self.subcommand_metavar]
        formatter.write_usage(ctx.command_path, " ".join(pieces))
        formatter.write_usage(ctx.command_path, RENAME_USAGE, prefix="   or: ")

    def _positional(self, ctx: Any, args: list[str]) -> list[str]:
        """The words of args that are not options or their values, as the listing's parser reads them."""
        valued = {name for param in self.get_params(ctx) if getattr(param, "is_flag", True) is False
                  and not getattr(param, "count", False) for name in param.opts + param.secondary_opts}
        words: list[str] = []
        i = 0
        while i < len(args):
            word = args[i]
            if word == "--":
                return words + args[i + 1:]
            if word.startswith("-") and word != "-":
                if word in valued:
                    i += 1  # its value is the next word
            else:
                words.append(word)
            i += 1
        return words

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        if ctx.command is not self:  # the usage line of `projects rename`, which takes no DB before it
            return [param for param in params if not isinstance(param, TyperArgument)]
        return params


def _subcommands(ctx: Any, incomplete: str) -> list[str]:
    """What completes where the listing's DB may stand: the subcommands (the shell offers files when none fits)."""
    return [name for name in ("rename",) if name.startswith(incomplete)]


ListingDbArg = Annotated[
    Optional[str],
    typer.Argument(
        metavar="DB",
        help=DbArg.__metadata__[0].help,  # every command's DB, and completing the subcommand's name
        show_default=False,
        autocompletion=_subcommands,
    ),
]


app = typer.Typer(
    cls=_ProjectsGroup, invoke_without_command=True, rich_markup_mode=None, subcommand_metavar=RENAME_USAGE
)


@app.callback()
def projects(
    ctx: typer.Context,
    database: ListingDbArg = None,
    projects_dir: ProjectsDirOpt = PROJECTS_DIR,
    fmt: ReportFormatOpt = ReportFormat.table,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
    config: ConfigOpt = None,
) -> None:
    """List every project: its outcomes, lessons, tasks, conversations, sessions and folder (read-only).

    A project whose rows have no folder in the projects folder is an orphan: OMEGA
    no longer finds it, and never injects its lessons. `projects rename` moves them.

    \b
    Examples:
      omega-db projects
      omega-db projects ~/.omega/data/memory.db --projects-dir ~/.omega/projects -f json
      omega-db projects rename alpha alpha2 --yes
    """
    if ctx.invoked_subcommand is not None:
        return
    from omega_db.data.projects import projects as read_projects
    from omega_db.output import projects as shown

    path = database_path(ctx, database)
    found = read_projects(path, Path(os.path.expanduser(projects_dir)), timeout=timeout)
    with streams.writing():
        shown.render_projects(found, fmt)


OldArg = Annotated[
    str,
    typer.Argument(metavar="OLD", help="The project whose rows move.", autocompletion=completion.projects),
]
NewArg = Annotated[
    str, typer.Argument(metavar="NEW", help="The name they take ('' is the general scope).", show_default=False)
]


@app.command()
def rename(
    ctx: typer.Context,
    old: OldArg,
    new: NewArg,
    database: DbArg = None,
    yes: YesOpt = False,
    no_backup: NoBackupOpt = False,
    projects_dir: ProjectsDirOpt = PROJECTS_DIR,
    fmt: ReportFormatOpt = ReportFormat.table,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Give every row of project OLD the name NEW, in one transaction after a backup.

    Outcomes, lessons, tasks, conversations, project sessions (and parent projects) and
    every active_project fact equal to OLD. NEW may be '' (the general scope). When NEW
    has rows, the two merge as OMEGA keeps them: identical lessons become one, then the
    10 newest per sender and domain stay (the others are listed; they remain in the
    backup). Refuses while OMEGA has the file open. The folder is never touched.

    \b
    Examples:
      omega-db projects rename alpha alpha2
      omega-db projects rename old-thing '' --yes      # into the general scope
      omega-db projects rename alpha alpha2 ~/.omega/data/memory.db --yes -f json
    """
    from omega_db.data import rename as core
    from omega_db.output import projects as shown

    path = database_path(ctx, database)
    prepared = core.prepare(path, old, new, projects_dir=Path(os.path.expanduser(projects_dir)), timeout=timeout)
    if (why := core.unfindable(new)) is not None:  # said before the question: the person may answer no
        streams.note(f"note: no project folder can be named {core.shown(new)} ({why}), so OMEGA will never find "
                     f"or inject these rows under it; `omega-db projects rename` can move them again.")
    confirm_or_refuse(yes, path, "projects rename", lambda: shown.rename_question(prepared, backup=not no_backup))
    renamed = core.rename(prepared, make_backup=not no_backup, timeout=timeout)
    with streams.writing(f"the project was renamed in {path}"):
        shown.render_rename(renamed, fmt)
