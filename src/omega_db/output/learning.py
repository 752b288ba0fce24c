"""What `omega-db learning` shows: one JSON document, or tables with a sparkline of each day's net score."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omega_db.output import streams, table
from omega_db.output.listings import PRE_011_NOTE, SCORE_STYLES
from omega_db.output.streams import GENERAL_LABEL, ReportFormat, scope_label, write_json
from omega_db.output.terminal import detect

if TYPE_CHECKING:
    from omega_db.data.learning import Learning, Mix

BARS = "▁▂▃▄▅▆▇█"


def _mix(mix: Mix) -> dict[str, int]:
    return {"positive": mix.positive, "neutral": mix.neutral, "negative": mix.negative}


def learning_json(database: Path, found: Learning) -> dict[str, Any]:
    """The JSON document of learning, keys exactly as SPEC.md lists them."""
    return {
        "database": str(database),
        "days": found.days,
        "since": found.since,
        "projects": [
            {
                "project": p.project,
                **_mix(p.outcomes),
                "daily": [{"day": day, **_mix(mix)} for day, mix in p.daily],
                "domains": [
                    {"domain": d.domain, **_mix(d.outcomes), "lessons": d.lessons, "full_scopes": d.full_scopes}
                    for d in p.domains
                ],
                "top_lessons": [
                    {"id": t.id, "sender_id": t.sender_id, "domain": t.domain, "rule": t.rule,
                     "occurrences": t.occurrences}
                    for t in p.top_lessons
                ],
            }
            for p in found.projects
        ],
        "crowded_out": [
            {"sender_id": c.sender_id, "project": c.project, "project_lessons": c.project_lessons,
             "general_lessons": c.general_lessons}
            for c in found.crowded_out
        ],
    }


def sparkline(daily: list[Mix]) -> str:
    """One character a day: the lowest net score of the window ▁, the highest █; no outcomes, a space."""
    nets = [mix.net for mix in daily if mix]
    if not nets:
        return " " * len(daily)
    low, high = min(nets), max(nets)
    if low == high:  # one level all along: the middle bar
        return "".join(BARS[3] if mix else " " for mix in daily)
    top = len(BARS) - 1
    return "".join(BARS[round((mix.net - low) * top / (high - low))] if mix else " " for mix in daily)


def _general_dim(text: str) -> str:
    return "dim" if text == GENERAL_LABEL else ""


def _score(symbol: str) -> table.Column:
    return table.Column(symbol, justify="right", style=lambda text: SCORE_STYLES[symbol] if text != "0" else "dim")


def render_learning(database: Path, found: Learning, fmt: ReportFormat) -> None:
    """Show what the agent has learned per project, and who has the general lessons crowded out."""
    if found.before_011:
        streams.note(PRE_011_NOTE)
    if fmt is ReportFormat.json:
        write_json(learning_json(database, found))
        return
    out = sys.stdout
    screen = detect(out)
    today = found.projects[0].daily[-1][0] if found.projects else ""
    out.write(f"Learning in {database}: {found.days} UTC day(s), {found.since} to {today}\n")
    table.write(out, screen, "Outcomes per project (trend: each day's net score, oldest first)", [
        table.Column("project", style=_general_dim),
        _score("+"), _score("~"), _score("-"),
        table.Column("net", justify="right"),
        table.Column("trend"),
    ], [[
        [scope_label(p.project), p.outcomes.positive, p.outcomes.neutral, p.outcomes.negative,
         f"{p.outcomes.net:+d}", sparkline([mix for _, mix in p.daily])]
        for p in found.projects
    ]])
    for p in found.projects:
        name = scope_label(p.project)
        table.write(out, screen, f"{name}: per domain (lessons, and scopes at OMEGA's cap of 10)", [
            table.Column("domain"),
            _score("+"), _score("~"), _score("-"),
            table.Column("lessons", justify="right"),
            table.Column("full scopes", justify="right"),
        ], [[
            [d.domain, d.outcomes.positive, d.outcomes.neutral, d.outcomes.negative, d.lessons, d.full_scopes]
            for d in p.domains
        ]])
        table.write(out, screen, f"{name}: the most reinforced lessons", [
            table.Column("occurrences", justify="right"),
            table.Column("sender"),
            table.Column("domain"),
            table.Column("rule", flex=True),
            table.Column("id"),
        ], [[[t.occurrences, t.sender_id, t.domain, t.rule, t.id] for t in p.top_lessons]])
    if not found.crowded_out:
        out.write("Crowded out: none (no sender has 50 lessons in one project).\n")
        return
    table.write(out, screen, "Crowded out: OMEGA's 50-lesson window holds no general lesson for these", [
        table.Column("sender"),
        table.Column("project"),
        table.Column("project lessons", justify="right"),
        table.Column("general lessons", justify="right"),
    ], [[[c.sender_id, scope_label(c.project), c.project_lessons, c.general_lessons] for c in found.crowded_out]])
