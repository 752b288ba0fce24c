"""The command context: parse, build OMEGA's conversation context once, render (registered by cli)."""

from typing import Annotated, Optional

import typer

from omega_db.commands import completion
from omega_db.commands.listings import note_unknown_project
from omega_db.commands.options import ConfigOpt, DbArg, DebugOpt, ReportFormatOpt, TimeoutOpt, database_path
from omega_db.ground.defaults import CONFIG_KEY, DEFAULT_TIMEOUT
from omega_db.ground.errors import BadDatabaseError
from omega_db.output import streams
from omega_db.output.streams import ReportFormat


def context(
    ctx: typer.Context,
    sender: Annotated[
        str,
        typer.Option("--sender", metavar="S", help="The sender whose next message OMEGA answers.",
                     show_default=False, autocompletion=completion.senders),
    ],
    database: DbArg = None,
    project: Annotated[
        Optional[str],
        typer.Option("--project", metavar="P", help="The project active for the sender (default: none).",
                     show_default=False, autocompletion=completion.projects),
    ] = None,
    channel: Annotated[
        Optional[str],
        typer.Option("--channel", metavar="C", help="The channel the message arrives on (default: the "
                     "channel of the sender's most recently active conversation).", show_default=False),
    ] = None,
    message: Annotated[
        Optional[str],
        typer.Option("--message", metavar="TEXT", help="The incoming message: also show what OMEGA's recall "
                     "finds for it (matched as one phrase).", show_default=False),
    ] = None,
    fmt: ReportFormatOpt = ReportFormat.table,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    debug: DebugOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Show what OMEGA v1.3.0 puts in a conversation's prompt from the database (read-only).

    Each section by OMEGA's own query, in its order and with its limits: the
    sender's facts, recent conversation summaries, recall (with --message),
    pending tasks, recent outcomes, lessons, and the current conversation's
    last messages ([memory] max_context_messages in OMEGA's config, default 50).
    Nothing is created: without an active conversation the history is empty.

    \b
    Examples:
      omega-db context --sender alice --project alpha
      omega-db context --sender alice --message 'deploy "prod" OR x'
      omega-db context --sender alice --channel telegram -f json
    """
    from omega_db.data import context as conversation
    from omega_db.data import listing
    from omega_db.output import context as shown

    path = database_path(ctx, database)
    with listing.reading(path, timeout=timeout) as found:
        for note in found.notes:
            streams.note(f"note: {note}")
        limit = _max_context_messages(ctx.meta.get(CONFIG_KEY))  # once the file is known to answer
        built = conversation.build(found.conn, sender=sender, project=project, channel=channel, message=message,
                                   max_context_messages=limit)
        if project is not None:  # OMEGA's view of a new project is a fair question; a typo's is worth a note
            note_unknown_project(found.conn, ("outcomes", "lessons", "conversations"), project)
    with streams.writing():
        shown.render_context(path, built, fmt)


def _max_context_messages(config: Optional[str]) -> int:
    """[memory] max_context_messages from OMEGA's config; OMEGA's default, with a note, when the
    default config file cannot be read (a file named by --config must be readable)."""
    from omega_db.data.context import DEFAULT_MAX_MESSAGES, max_messages
    from omega_db.ground import paths

    where = paths.config_path(config)
    try:
        value = paths.memory_setting(config, "max_context_messages")
    except BadDatabaseError:
        if config is not None:
            raise
        streams.note(f"note: OMEGA's config file {where} cannot be read; the history is shown with "
                     f"OMEGA's default max_context_messages, {DEFAULT_MAX_MESSAGES}.")
        return DEFAULT_MAX_MESSAGES
    return max_messages(value, str(where))


COMMANDS = (context,)
