"""For prune: realistic 013 databases spread over a year, OMEGA v1.3.0's reading queries over them (verbatim,
omega-schema.md), a snapshot of everything OMEGA reads, and the retention rules written again in SQL here."""

from __future__ import annotations

import datetime as dt
import random
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from tests import faultkit, helpers

PROJECTS = ("", "alpha", "beta")
CHANNELS = ("telegram", "whatsapp")
DOMAINS = ("coding", "trading", "writing")
WORDS = ("deploy", "server", "invoice", "garden", "python", "meeting", "budget", "travel", "recipe", "piano",
         "backup", "weather", "doctor", "ticket", "kernel", "market", "novel", "coffee", "bridge", "rocket")
STATUSES = ("pending", "delivered", "cancelled", "failed")
HOUR, DAY = 3600, 86400
# Every age a rule or a query of OMEGA turns on: 120 minutes, 24 h, 48 h (the others are the tests' ages).
OMEGA_BOUNDARIES = (7200, DAY, 2 * DAY)

# --- OMEGA v1.3.0's reading queries, verbatim (omega-schema.md) -------------------------------------------

OUTCOMES = "SELECT score, domain, lesson, timestamp FROM outcomes WHERE sender_id = ? ORDER BY timestamp DESC LIMIT ?"
OUTCOMES_P = ("SELECT score, domain, lesson, timestamp FROM outcomes WHERE sender_id = ? AND project = ? "
              "ORDER BY timestamp DESC LIMIT ?")
# The heartbeat's window (its columns are not given: these are what it reports).
HEARTBEAT = ("SELECT sender_id, score, domain, lesson, timestamp FROM outcomes "
             "WHERE datetime(timestamp) >= datetime('now', '-24 hours') ORDER BY timestamp DESC LIMIT 20")
HEARTBEAT_P = ("SELECT sender_id, score, domain, lesson, timestamp FROM outcomes "
               "WHERE datetime(timestamp) >= datetime('now', '-24 hours') AND project = ? "
               "ORDER BY timestamp DESC LIMIT 20")
PENDING = ("SELECT id, description, due_at, repeat, task_type, project FROM scheduled_tasks WHERE sender_id = ? "
           "AND status = 'pending' ORDER BY due_at ASC")
DUE = ("SELECT id, sender_id, description, due_at, repeat, task_type, project FROM scheduled_tasks "
       "WHERE status = 'pending' AND datetime(due_at) <= datetime('now') ORDER BY due_at ASC")
CURRENT = ("SELECT id FROM conversations WHERE channel = ? AND sender_id = ? AND project = ? AND status = 'active' "
           "AND datetime(last_activity) > datetime('now', '-120 minutes') ORDER BY last_activity DESC LIMIT 1")
HISTORY = ("SELECT role, content FROM (SELECT role, content, timestamp FROM messages WHERE conversation_id = ? "
           "ORDER BY timestamp DESC LIMIT ?) ORDER BY timestamp ASC")
SUMMARIES = ("SELECT summary, updated_at FROM conversations WHERE channel = ? AND sender_id = ? AND status = 'closed' "
             "AND summary IS NOT NULL ORDER BY updated_at DESC LIMIT 3")
PROFILE = "SELECT key, value FROM facts WHERE sender_id = ? ORDER BY key"
LESSONS_P = ("SELECT domain, rule, project FROM lessons WHERE sender_id = ? AND (project = ? OR project = '') "
             "ORDER BY CASE WHEN project = ? THEN 0 ELSE 1 END, updated_at DESC LIMIT 50")
LESSONS = "SELECT domain, rule, project FROM lessons WHERE sender_id = ? AND project = '' ORDER BY updated_at DESC LIMIT 50"
HEARTBEAT_LESSONS_P = ("SELECT domain, rule, project FROM lessons WHERE project = ? OR project = '' "
                       "ORDER BY CASE WHEN project = ? THEN 0 ELSE 1 END, updated_at DESC LIMIT 50")
HEARTBEAT_LESSONS = "SELECT domain, rule, project FROM lessons ORDER BY updated_at DESC LIMIT 50"
RECALL = ("SELECT m.role, m.content, m.timestamp FROM messages_fts fts JOIN messages m ON m.rowid = fts.rowid "
          "JOIN conversations c ON c.id = m.conversation_id WHERE messages_fts MATCH ? AND m.conversation_id != ? "
          "AND c.sender_id = ? ORDER BY rank LIMIT 5")
# Recall without its rank and limit: every message it can find (bm25 moves when other rows go).
RECALL_ALL = ("SELECT m.id, m.role, m.content, m.timestamp FROM messages_fts fts JOIN messages m ON m.rowid = fts.rowid "
              "JOIN conversations c ON c.id = m.conversation_id WHERE messages_fts MATCH ? AND m.conversation_id != ? "
              "AND c.sender_id = ?")


def phrase(text: str) -> str:
    """OMEGA's recall text: one phrase, in double quotes, inner quotes doubled."""
    return '"' + text.replace('"', '""') + '"'


def current(conn: sqlite3.Connection, channel: str, sender: str, project: str) -> str | None:
    """The conversation OMEGA continues for (channel, sender, project), or None (OMEGA would start one)."""
    row = conn.execute(CURRENT, (channel, sender, project)).fetchone()
    return row[0] if row else None


def scopes(conn: sqlite3.Connection) -> tuple[list[str], list[str], list[str]]:
    """Every sender, channel and project the file names (the general scope always)."""
    senders = sorted({s for (s,) in conn.execute(
        "SELECT sender_id FROM outcomes UNION SELECT sender_id FROM conversations UNION SELECT sender_id FROM lessons "
        "UNION SELECT sender_id FROM scheduled_tasks UNION SELECT sender_id FROM facts")})
    channels = sorted({c for (c,) in conn.execute("SELECT channel FROM conversations")} | set(CHANNELS))
    projects = sorted({p for (p,) in conn.execute(
        "SELECT project FROM outcomes UNION SELECT project FROM conversations UNION SELECT project FROM lessons "
        "UNION SELECT project FROM scheduled_tasks")} | {""})
    return senders, channels, projects


Scopes = tuple[list[str], list[str], list[str]]


def scopes_of(path: Path) -> Scopes:
    """The senders, channels and projects a file names: pass the ones before a prune to both snapshots."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return scopes(conn)
    finally:
        conn.close()


def snapshot(path: Path, within: Scopes | None = None) -> dict[tuple[Any, ...], list[tuple[Any, ...]]]:
    """Everything OMEGA v1.3.0 reads from the file, query by query, each key naming the query and its values;
    for the senders, channels and projects `within` (default: the file's own)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        senders, channels, projects = within or scopes(conn)
        out: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}

        def run(key: tuple[Any, ...], sql: str, args: tuple[Any, ...] = ()) -> None:
            out[key] = conn.execute(sql, args).fetchall()

        run(("heartbeat",), HEARTBEAT)
        run(("due",), DUE)
        run(("heartbeat lessons",), HEARTBEAT_LESSONS)
        for p in projects:
            run(("heartbeat", p), HEARTBEAT_P, (p,))
            run(("heartbeat lessons", p), HEARTBEAT_LESSONS_P, (p, p))
        for s in senders:
            run(("pending", s), PENDING, (s,))
            run(("profile", s), PROFILE, (s,))
            run(("lessons", s), LESSONS, (s,))
            for n in (15, 10, 20):
                run(("outcomes", s, n), OUTCOMES, (s, n))
            for p in projects:
                run(("lessons", s, p), LESSONS_P, (s, p, p))
                for n in (15, 10, 20):
                    run(("outcomes", s, p, n), OUTCOMES_P, (s, p, n))
            for c in channels:
                run(("summaries", c, s), SUMMARIES, (c, s))
                for p in projects:
                    conversation = current(conn, c, s, p)
                    out[("current", c, s, p)] = [(conversation,)]
                    if conversation is not None:
                        run(("history", conversation), HISTORY, (conversation, 50))
        return out
    finally:
        conn.close()


def recall_sets(path: Path, within: Scopes | None = None) -> dict[tuple[str, str], set[tuple[Any, ...]]]:
    """For each sender and word: every message recall can find (outside its current conversations), by id."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        senders, channels, projects = within or scopes(conn)
        out = {}
        for s in senders:
            currents = [current(conn, c, s, p) for c in channels for p in projects]
            here = next((x for x in currents if x), "")
            for word in WORDS:
                out[(s, word)] = set(conn.execute(RECALL_ALL, (phrase(word), here, s)))
        return out
    finally:
        conn.close()


def ids(path: Path) -> dict[str, set[str]]:
    """The ids of every row of every table prune may touch, and of conversations, facts and lessons."""
    conn = sqlite3.connect(path)  # read-write: a hot journal left by a kill is rolled back first
    try:
        return {t: {i for (i,) in conn.execute(f"SELECT id FROM {t}")}
                for t in ("audit_log", "outcomes", "scheduled_tasks", "messages", "conversations", "facts", "lessons")}
    finally:
        conn.close()


def journal_mode(path: Path) -> str:
    """The file's journal mode, as a new connection finds it."""
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()


def health(path: Path) -> list[str]:
    """What is wrong with the file: integrity_check, FTS5's own check, the index against the user messages."""
    conn = sqlite3.connect(path)
    problems = []
    try:
        result = conn.execute("PRAGMA integrity_check").fetchall()
        if result != [("ok",)]:
            problems.append(f"integrity_check: {result[:5]}")
        try:
            conn.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 0)")
        except sqlite3.DatabaseError as error:
            problems.append(f"messages_fts integrity-check: {error}")
        users = list(conn.execute("SELECT rowid, lower(content) FROM messages WHERE role = 'user'"))
        for word in WORDS:  # every message holds some of them: a stale or missing entry shows under one
            indexed = {r for (r,) in conn.execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?",
                                                  (phrase(word),))}
            expected = {r for r, text in users if word in re.findall(r"\w+", text)}
            if indexed != expected:
                problems.append(f"messages_fts for {word!r}: {len(indexed - expected)} stale, "
                                f"{len(expected - indexed)} missing")
        if conn.execute("PRAGMA foreign_key_check").fetchall():
            problems.append("foreign_key_check")
    finally:
        conn.close()
    return problems


# --- the retention rules (SPEC.md "prune"), in SQL written here ---------------------------------------------


def modifier(age: str) -> str:
    """'90d' -> '-90 days', '36h' -> '-36 hours', '2w' -> '-14 days'."""
    number, unit = int(age[:-1]), age[-1]
    return {"h": f"-{number} hours", "d": f"-{number} days", "w": f"-{7 * number} days"}[unit]


def deletable(path: Path, ages: dict[str, str]) -> dict[str, set[str]]:
    """Per table, the ids prune may delete under ages ({'outcomes': '30d', ...}); ties at a 20th row are kept."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    sql = {
        "audit_log": "SELECT id FROM audit_log WHERE timestamp < datetime('now', :age)",
        "outcomes": """SELECT id FROM (SELECT id, timestamp,
                           rank() OVER (PARTITION BY sender_id ORDER BY timestamp DESC) AS overall,
                           rank() OVER (PARTITION BY sender_id, project ORDER BY timestamp DESC) AS scoped
                         FROM outcomes)
                       WHERE timestamp < datetime('now', :age) AND timestamp < datetime('now', '-48 hours')
                         AND overall > 20 AND scoped > 20""",
        "scheduled_tasks": "SELECT id FROM scheduled_tasks WHERE status IN ('delivered', 'cancelled', 'failed') "
                           "AND datetime(due_at) < datetime('now', :age)",
        "messages": "SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                    "WHERE c.status = 'closed' AND m.timestamp < datetime('now', :age) AND m.id NOT IN "
                    "(SELECT source_message_id FROM facts WHERE source_message_id IS NOT NULL)",
    }
    try:
        return {t: {i for (i,) in conn.execute(q, {"age": modifier(ages[t])})} if t in ages else set()
                for t, q in sql.items()}
    finally:
        conn.close()


def options(ages: dict[str, str]) -> list[str]:
    """The command line's rule options for ages ({'audit_log': '90d'} -> ['--audit-log', '90d'])."""
    flags = {"audit_log": "--audit-log", "outcomes": "--outcomes", "scheduled_tasks": "--tasks", "messages": "--messages"}
    return [part for table, age in ages.items() for part in (flags[table], age)]


# --- building realistic files ------------------------------------------------------------------------------


def stamp(now: dt.datetime, seconds: float, form: str = " ") -> str:
    """OMEGA's UTC text for `seconds` before now (negative: in the future); form 'T' or 'Z' as due_at may be."""
    text = (now - dt.timedelta(seconds=seconds)).strftime(f"%Y-%m-%d{'T' if form != ' ' else ' '}%H:%M:%S")
    return text + "Z" if form == "Z" else text


class Ages:
    """Ages in seconds from minutes to a year, never within `margin` of a boundary (so a rule's verdict cannot
    change while a test runs); unique to the second when asked."""

    def __init__(self, rng: random.Random, boundaries: tuple[int, ...], margin: int = 900) -> None:
        self.rng, self.margin = rng, margin
        self.boundaries = tuple(OMEGA_BOUNDARIES) + tuple(boundaries)
        self.used: set[int] = set()

    def draw(self, low: float = 60, high: float = 365 * DAY, unique: bool = False) -> int:
        while True:
            pick = self.rng.random()
            if pick < 0.2:  # the last three days
                age = int(self.rng.uniform(low, min(high, 3 * DAY)))
            elif pick < 0.5:  # more of them the more recent
                age = int(low * (high / low) ** self.rng.random())
            else:
                age = int(self.rng.uniform(low, high))
            if any(abs(age - b) < self.margin for b in self.boundaries) or (unique and age in self.used):
                continue
            if unique:
                self.used.add(age)
            return age


def seconds(age: str) -> int:
    """An AGE option in seconds."""
    return int(age[:-1]) * {"h": HOUR, "d": DAY, "w": 7 * DAY}[age[-1]]


def build(path: Path, *, senders: int = 8, outcomes: int = 2000, conversations: int = 6, messages: int = 20,
          audit: int = 1000, tasks: int = 400, ages: dict[str, str] | None = None, seed: int = 0) -> Path:
    """A 013 database in OMEGA's use: per sender outcomes in projects, closed and active conversations with
    messages (old ones in active conversations too), facts naming messages, lessons, tasks of every status,
    audit_log; all rows spread from minutes to a year ago, none near the boundaries of `ages`."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    draw = Ages(rng, tuple(seconds(a) for a in (ages or {}).values())).draw
    helpers.build(path)
    conn = helpers.connect(path)
    conn.execute("BEGIN")
    names = [f"user-{i}" for i in range(senders)]

    def text(k: int = 5) -> str:
        return " ".join(rng.sample(WORDS, rng.randint(2, k)))

    rows = []
    for _ in range(outcomes):  # OMEGA writes them in time order: rowid follows timestamp
        rows.append((draw(unique=True), rng.choice(names), rng.choice(DOMAINS), rng.choice((-1, 0, 1)),
                     text(), rng.choice(("conversation", "heartbeat", "action")), rng.choice(PROJECTS)))
    rows.sort(reverse=True)
    conn.executemany("INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson, source, project) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     [(f"out-{i}", stamp(now, a), *rest) for i, (a, *rest) in enumerate(rows)])
    message_ids = []
    for s in names:
        active = rng.choice(PROJECTS)
        conn.execute("INSERT INTO facts (id, sender_id, key, value) VALUES (?, ?, 'active_project', ?)",
                     (f"fact-{s}-project", s, active))
        conn.execute("INSERT INTO facts (id, sender_id, key, value) VALUES (?, ?, 'name', ?)", (f"fact-{s}", s, s))
        for c in CHANNELS:
            kinds = ["closed"] * conversations + ["current", "stale"]
            for k, kind in enumerate(kinds):
                cid = f"conv-{s}-{c}-{k}"
                end = rng.randint(60, 6000) if kind == "current" else draw(low=3 * HOUR)
                start = end + (draw(low=60, high=30 * DAY) if kind == "current" else rng.randint(60, 3 * DAY))
                summary = None if kind != "closed" or k % 4 == 3 else f"{s} talked about {text()}"
                conn.execute("INSERT INTO conversations (id, channel, sender_id, started_at, updated_at, summary, "
                             "last_activity, status, project) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (cid, c, s, stamp(now, start), stamp(now, end), summary, stamp(now, end),
                              "closed" if kind == "closed" else "active", active if kind == "current" else
                              rng.choice(PROJECTS)))
                times = sorted((rng.randint(end, start) for _ in range(messages)), reverse=True)
                batch = [(f"msg-{cid}-{j}", cid, ("user", "assistant")[j % 2], text(8), stamp(now, t))
                         for j, t in enumerate(times)]
                conn.executemany("INSERT INTO messages (id, conversation_id, role, content, timestamp) "
                                 "VALUES (?, ?, ?, ?, ?)", batch)
                message_ids += [(m[0], s) for m in batch]
        for d in DOMAINS:
            for p in PROJECTS:
                for j in range(rng.randint(0, 4)):
                    conn.execute("INSERT INTO lessons (id, sender_id, domain, rule, project, occurrences, created_at, "
                                 "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                 (f"lesson-{s}-{d}-{p}-{j}", s, d, f"when {text(3)}, {text(3)}", p,
                                  rng.randint(1, 9), stamp(now, 365 * DAY), stamp(now, draw())))
    for i, (mid, sender) in enumerate(rng.sample(message_ids, min(len(message_ids), 6 * senders))):  # a fact's source
        conn.execute("INSERT INTO facts (id, sender_id, key, value, source_message_id) VALUES (?, ?, ?, ?, ?)",
                     (f"fact-from-{i}", sender, f"learned-{i}", text(3), mid))
    conn.executemany("INSERT INTO audit_log (id, timestamp, channel, sender_id, input_text, output_text, status) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)",
                     sorted(((f"audit-{i}", stamp(now, draw()), rng.choice(CHANNELS), rng.choice(names), text(8),
                              text(8), rng.choice(("ok", "error", "denied"))) for i in range(audit)),
                            key=lambda r: r[1]))
    for i in range(tasks):
        status = STATUSES[i % 4]
        due = draw() if rng.random() < 0.8 else -draw(high=30 * DAY)  # some due in the future
        conn.execute("INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at, repeat, "
                     "status, created_at, delivered_at, task_type, retry_count, last_error, project) "
                     "VALUES (?, ?, ?, 'chat', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (f"task-{i}", rng.choice(CHANNELS), rng.choice(names), text(), stamp(now, due, rng.choice(" TZ")),
                      rng.choice((None, "once", "daily", "weekly")), status, stamp(now, max(due, 0) + DAY),
                      stamp(now, due) if status == "delivered" else None, rng.choice(("reminder", "action")),
                      3 if status == "failed" else 0, "timeout" if status == "failed" else None,
                      rng.choice(PROJECTS)))
    conn.execute("COMMIT")
    conn.close()
    return path


# --- the big file of the live and kill tests ---------------------------------------------------------------

BIG_AGES = {"audit_log": "90d", "outcomes": "30d", "scheduled_tasks": "2w", "messages": "10d"}
_big: list[Path] = []


def big(path: Path, journal: str = "wal") -> Path:
    """A copy of one big WAL-mode file (built once per test process): about 40 senders, 150,000 outcomes,
    100,000 messages, 60,000 audit_log rows, 20,000 tasks, none near the boundaries of BIG_AGES.
    journal="delete": the copy in rollback-journal mode (a file OMEGA has not opened since it was made)."""
    if not _big:
        folder = Path(tempfile.mkdtemp(prefix="omega-db-prune-"))
        template = build(folder / "big.db", senders=40, outcomes=150_000, conversations=12, messages=90,
                         audit=60_000, tasks=20_000, ages=BIG_AGES, seed=1)
        conn = sqlite3.connect(template)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.close()
        _big.append(template)
    shutil.copyfile(_big[0], path)
    path.chmod(0o600)
    if journal != "wal":
        faultkit.set_journal_mode(path, journal)
    return path
