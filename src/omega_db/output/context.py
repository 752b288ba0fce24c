"""What `context` shows: a heading and a table per section of the agent's context, or one JSON document."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omega_db.data.context import ACTIVE_MINUTES, SYSTEM_FACTS, Context, Section
from omega_db.ground.untrusted import visible
from omega_db.output import table
from omega_db.output.listings import PRE_011_NOTE, SCORE_STYLES, SCORES
from omega_db.output.streams import GENERAL_LABEL, ReportFormat, note, scope_label, write_json
from omega_db.output.terminal import Painter, Screen, detect

# Each section's heading: what OMEGA injects there, and its limit.
TITLES = {
    "profile": "Profile (the sender's facts; system keys, dim, stay out of the profile text)",
    "summaries": "Summaries of recent closed conversations in this channel (3 newest)",
    "recall": "Recall: the sender's other conversations matching the message (best 5)",
    "pending_tasks": "Pending tasks (all, earliest due first)",
    "outcomes": "Recent outcomes (15 newest{scope})",
    "lessons": "Lessons (at most 50{scope})",
    "history": "History of the current conversation (last {n}, oldest first)",
}
FLEX = {"value", "summary", "content", "description", "lesson", "rule"}  # the long text of each section


def context_json(database: Path, ctx: Context) -> dict[str, Any]:
    """SPEC's document: the context's place, then each section's rows as objects of its query's columns."""
    return {
        "database": str(database),
        "sender": ctx.sender,
        "project": ctx.project,
        "channel": ctx.channel,
        "conversation": ctx.conversation,
        "sections": [
            {"name": s.name, "rows": [dict(zip(s.columns, row, strict=True)) for row in s.rows]}
            for s in ctx.sections
        ],
    }


def render_context(database: Path, ctx: Context, fmt: ReportFormat) -> None:
    """Write the context to stdout; notes go to stderr."""
    if ctx.before_011:
        note(PRE_011_NOTE)
    if fmt is ReportFormat.json:
        write_json(context_json(database, ctx))
        return
    out = sys.stdout
    screen = detect(out)
    paint = Painter(screen)
    out.write("".join(f"{label:<14}{visible(value)}\n" for label, value in _facts(database, ctx)))
    for section in ctx.sections:
        out.write("\n")
        title = _title(section, ctx)
        if not _draw(out, screen, section, title):  # a table draws its title; an empty one, nothing
            out.write(f"{paint(visible(title), 'italic')}\n{paint('  (none)', 'dim')}\n")


def _facts(database: Path, ctx: Context) -> list[tuple[str, str]]:
    """The lines above the sections: whose context, and which conversation it continues."""
    if ctx.conversation is not None:
        conversation = ctx.conversation
    else:
        place = "in this channel" if ctx.channel is not None else "anywhere"
        conversation = (f"none active {place} in the last {ACTIVE_MINUTES} minutes: OMEGA would start a new "
                        "one, with an empty history")
    return [
        ("database", str(database)),
        ("sender", ctx.sender),
        ("project", scope_label(ctx.project) if ctx.project else "(none active)"),
        ("channel", ctx.channel if ctx.channel is not None else "(none: the sender has no conversation)"),
        ("conversation", conversation),
        ("times", "UTC, as stored"),
    ]


def _title(section: Section, ctx: Context) -> str:
    scope = f", project {ctx.project} only" if ctx.project else ""
    if section.name == "lessons":
        scope = f": {ctx.project}'s first, then general ones" if ctx.project else ": general ones"
    title = TITLES[section.name].format(scope=scope, n=ctx.max_messages)
    return f"{title}: {len(section.rows)}"


def _draw(out: Any, screen: Screen, section: Section, title: str) -> int:
    """The section's rows as a table (stored text made visible by table.write); 0 when it has none."""
    columns = [table.Column(name, flex=name in FLEX, style=_style(section.name, name)) for name in section.columns]
    shown = [[_cell(name, value) for name, value in zip(section.columns, row, strict=True)] for row in section.rows]
    return table.write(out, screen, title, columns, [shown])


def _cell(column: str, value: object) -> object:
    if column == "score":
        return SCORES.get(value, value)
    if column == "project" and isinstance(value, str):
        return scope_label(value)
    return value


def _style(section: str, column: str) -> Callable[[str], str] | None:
    if column == "score":
        return lambda text: SCORE_STYLES.get(text, "")
    if column == "project":
        return lambda text: "dim" if text == GENERAL_LABEL else ""
    if section == "profile" and column == "key":
        return lambda text: "dim" if text in SYSTEM_FACTS else ""
    return None

