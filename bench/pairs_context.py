"""Bench pairs of `context`: its JSON against the sqlite3 shell running OMEGA's same queries.

On a copy of the 013 database where the busiest sender of the queried project has a current
conversation (the benchmark's conversations are months old, so none is active otherwise), both
sides run the current conversation, profile, summaries, recall, pending tasks, outcomes,
lessons and history queries. Before timing, the shell's rows, query by query, are checked
to be omega-db's sections.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import build_db
from measure import Pair, alternate, checked, run

from omega_db.data import context as omega_context

# A bar above the listings': at full size the shell takes ~0.08 s (recall's FTS5 match most of it),
# and omega-db adds Python's and Typer's start-up (~0.05 s, the `startup` pair) to the same queries.
PAIRS = {"context": 2.5}
MESSAGE = "memory"  # a word of many messages: recall ranks real matches
CHANNEL = "telegram"


def _literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _written(sql: str, params: tuple[object, ...]) -> str:
    """sql with each ? replaced by its value as an SQL literal."""
    pieces = sql.split("?")
    assert len(pieces) == len(params) + 1, sql
    return pieces[0] + "".join(_literal(v) + rest for v, rest in zip(params, pieces[1:], strict=True))


def prepare(db013: Path, work: Path) -> tuple[Path, str, str]:
    """A copy of db013 with one current conversation: (its path, the sender, the conversation id)."""
    path = work / "context.db"
    shutil.copyfile(db013, path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        sender, = conn.execute("SELECT sender_id FROM outcomes WHERE project = ? GROUP BY 1 "
                               "ORDER BY count(*) DESC, 1 LIMIT 1", (build_db.QUERY_PROJECT,)).fetchone()
        conversation, = conn.execute("SELECT id FROM conversations WHERE sender_id = ? ORDER BY last_activity DESC "
                                     "LIMIT 1", (sender,)).fetchone()
        conn.execute("UPDATE conversations SET status = 'active', project = ?, channel = ?, "
                     "last_activity = datetime('now') WHERE id = ?", (build_db.QUERY_PROJECT, CHANNEL, conversation))
    finally:
        conn.close()
    return path, sender, conversation


def queries(sender: str, conversation: str) -> list[tuple[str, str]]:
    """OMEGA's queries for the pair's context, as data/context runs them: (section, SQL with literals)."""
    c, p, s = omega_context, build_db.QUERY_PROJECT, sender
    return [
        ("conversation", _written(c.SQL_CURRENT.format(and_project=" AND project = ?"), (CHANNEL, s, p))),
        ("profile", _written(c.SQL_PROFILE, (s,))),
        ("summaries", _written(c.SQL_SUMMARIES, (CHANNEL, s))),
        ("recall", _written(c.SQL_RECALL.format(not_current=" AND m.conversation_id != ?"),
                            (c.phrase(MESSAGE), conversation, s))),
        ("pending_tasks", _written(c.SQL_TASKS.format(selected="project"), (s,))),
        ("outcomes", _written(c.SQL_OUTCOMES.format(and_project=" AND project = ?"), (s, p))),
        ("lessons", _written(c.SQL_LESSONS_PROJECT.format(project="project", selected="project"), (s, p, p))),
        ("history", _written(c.SQL_HISTORY, (conversation, c.DEFAULT_MAX_MESSAGES))),
    ]


def _same(path: Path, answer: Path, written: list[tuple[str, str]], conversation: str) -> None:
    """Stop the benchmark unless omega-db's sections are the queries' rows (so both do the same work)."""
    document = json.loads(answer.read_text(encoding="utf-8"))
    if document["conversation"] != conversation:
        raise SystemExit(f"bench: context found conversation {document['conversation']!r}, not {conversation!r}")
    sections = {section["name"]: section["rows"] for section in document["sections"]}
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        for name, sql in written[1:]:
            if sections[name] != [dict(row) for row in conn.execute(sql)]:
                raise SystemExit(f"bench: context's {name} is not the shell's query's answer")
    finally:
        conn.close()


def pairs(rounds: int, db013: Path, work: Path, omega: list[str], shell: str) -> list[Pair]:
    path, sender, conversation = prepare(db013, work)
    written = queries(sender, conversation)
    script = " ".join(sql + ";" for _, sql in written)
    cmd = [*omega, "context", str(path), "--sender", sender, "--project", build_db.QUERY_PROJECT,
           "--channel", CHANNEL, "--message", MESSAGE, "-f", "json"]
    answer = work / "context.json"
    checked(run(cmd, stdout=answer), "omega-db context")
    _same(path, answer, written, conversation)
    print(f"context: the shell runs {script}", flush=True)
    pair = Pair("context", "context -f json  vs  sqlite3 -json OMEGA's context queries")
    alternate(pair, rounds, lambda: checked(run(cmd), "omega-db context"),
              lambda: checked(run([shell, "-json", str(path), script]), "sqlite3 context"))
    path.unlink()
    return [pair]
