"""Build the benchmark's large OMEGA databases: a 010 one to migrate, a 013 one to query.

Both are built once per scale and cached; the rows are deterministic (seeded), the
schema comes from omega-db's own migration files.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from omega_db.chain import migrate

# Row counts at --scale 1.
FULL = {
    "outcomes": 1_000_000,
    "lessons": 200_000,
    "scheduled_tasks": 200_000,
    "messages": 200_000,
    "conversations": 20_000,
    "audit_log": 100_000,
}
DOMAINS_PER_SENDER = 100  # lessons are unique on (sender_id, domain): senders x domains
FACT_KEYS = ("name", "timezone", "language", "city", "work", "pet", "editor", "diet", "team")
# The 013 database's projects, by share of rows ('' is the general scope).
PROJECTS = ("", "", "", "", "", "", "alpha", "alpha", "alpha", "alpha", "beta", "beta", "beta",
            "gamma", "gamma", "gamma", "delta", "delta", "omega-app", "a'b%_")
QUERY_PROJECT = "alpha"
REPEATS = (None,) * 5 + ("once", "daily", "daily", "weekdays", "weekly", "monthly")

BASE = dt.datetime(2026, 5, 1)
SPAN = dt.timedelta(days=200).total_seconds()
WORDS = (
    "the user prefers short answers when asked about code review deploy trading risk position "
    "morning schedule reminder meeting café naïve résumé über 日本語 emoji 🚀 budget portfolio "
    "tests failing because of timezone offset cron job backup restore memory context project "
    "always never sometimes confirm before acting on \"quoted\" text with back\\slash "
    "and tab\t"
).split(" ")


def counts(scale: float) -> dict[str, int]:
    """The row count of each table at a scale (at least a few rows each)."""
    return {table: max(10, int(n * scale)) for table, n in FULL.items()}


def cache_paths(cache: Path, scale: float) -> tuple[Path, Path]:
    """The cached 010 and 013 databases of a scale (013: what every OMEGA release since v0.2.0 leaves)."""
    tag = f"s{scale:g}"
    return cache / f"omega-010-{tag}.db", cache / f"omega-013-{tag}.db"


def ensure(cache: Path, scale: float, *, rebuild: bool = False, log=print) -> tuple[Path, Path]:
    """Build (or reuse) the 010 and 013 databases of a scale; return their paths."""
    cache.mkdir(parents=True, exist_ok=True)
    db010, db013 = cache_paths(cache, scale)
    if rebuild:
        for path in (db010, db013):
            path.unlink(missing_ok=True)
    if not db010.exists():
        log(f"building {db010} (once; cached) ...")
        tmp = db010.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        build_010(tmp, scale)
        tmp.rename(db010)
    if not db013.exists():
        log(f"building {db013} (once; cached) ...")
        tmp = db013.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        shutil.copyfile(db010, tmp)
        migrate.migrate(tmp, make_backup=False)
        spread_projects(tmp)
        tmp.rename(db013)
    return db010, db013


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _stamp(seconds: float) -> str:
    return (BASE + dt.timedelta(seconds=int(seconds))).strftime("%Y-%m-%d %H:%M:%S")


def _texts(rng: random.Random, n: int, low: int, high: int) -> list[str]:
    return [" ".join(rng.choices(WORDS, k=rng.randint(low, high))) for _ in range(n)]


def build_010(path: Path, scale: float) -> None:
    """A database at 010_outcomes, filled with realistic OMEGA rows."""
    migrate.migrate(path, to="010", make_backup=False)
    n = counts(scale)
    rng = random.Random(20261126)
    n_senders = -(-n["lessons"] // DOMAINS_PER_SENDER)  # ceil: every (sender, domain) once
    senders = [f"tg-{100_000_000 + i * 7919}" for i in range(n_senders)]
    domains = [f"domain-{d:03d}" for d in range(DOMAINS_PER_SENDER)]
    lesson_texts = _texts(rng, 5000, 6, 20)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")  # building a cache file, not OMEGA's data
        conn.execute("BEGIN")
        _fill(conn, rng, n, senders, domains, lesson_texts)
        conn.execute("COMMIT")
    finally:
        conn.close()


def _insert(conn: sqlite3.Connection, table: str, columns: str, rows: Iterable[tuple]) -> None:
    marks = ", ".join("?" * len(columns.split(",")))
    conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


def _fill(conn: sqlite3.Connection, rng: random.Random, n: dict[str, int], senders: list[str],
          domains: list[str], lesson_texts: list[str]) -> None:
    pick = rng.choice

    def outcomes() -> Iterator[tuple]:
        total = n["outcomes"]
        for i in range(total):  # written in time order, as OMEGA does
            yield (_uuid(rng), _stamp(i * SPAN / total + rng.random() * 60), pick(senders),
                   pick(domains), pick((-1, 0, 0, 1, 1, 1)), pick(lesson_texts),
                   pick(("conversation", "conversation", "heartbeat", "action")))

    _insert(conn, "outcomes", "id, timestamp, sender_id, domain, score, lesson, source", outcomes())

    def lessons() -> Iterator[tuple]:
        total = n["lessons"]
        for i in range(total):
            created = i * SPAN / total
            updated = created + rng.random() * (SPAN - created)
            yield (_uuid(rng), senders[i // len(domains) % len(senders)], domains[i % len(domains)],
                   pick(lesson_texts), rng.randint(1, 40), _stamp(created), _stamp(updated))

    _insert(conn, "lessons", "id, sender_id, domain, rule, occurrences, created_at, updated_at",
            lessons())

    def tasks() -> Iterator[tuple]:
        total = n["scheduled_tasks"]
        for i in range(total):
            due = _stamp(i * SPAN / total + 3600)
            form = rng.random()  # OMEGA meets due_at written with 'T', and with a 'Z' too
            if form < 0.1:
                due = due.replace(" ", "T")
            elif form < 0.2:
                due = due.replace(" ", "T") + "Z"
            status = pick(("delivered",) * 6 + ("pending",) * 2 + ("cancelled", "failed"))
            delivered = _stamp(i * SPAN / total + 3600) if status == "delivered" else None
            yield (_uuid(rng), "telegram", pick(senders), f"chat-{rng.randint(1, 5000)}",
                   pick(lesson_texts), due, pick(REPEATS), status, _stamp(i * SPAN / total),
                   delivered,
                   pick(("reminder",) * 7 + ("action",) * 3), 0 if status != "failed" else 3,
                   "provider timeout" if status == "failed" else None)

    _insert(conn, "scheduled_tasks", "id, channel, sender_id, reply_target, description, due_at, "
            "repeat, status, created_at, delivered_at, task_type, retry_count, last_error", tasks())

    conversations = [_uuid(rng) for _ in range(n["conversations"])]
    step = SPAN / len(conversations)
    _insert(conn, "conversations", "id, channel, sender_id, started_at, updated_at, summary, "
            "last_activity, status",
            ((c, "telegram", senders[i % len(senders)], _stamp(i * step), _stamp(i * step + 1800),
              pick(lesson_texts), _stamp(i * step + 1800), "closed" if i % 10 else "active")
             for i, c in enumerate(conversations)))
    message_texts = _texts(rng, 20_000, 5, 60)

    def messages() -> Iterator[tuple]:
        total = n["messages"]
        for i in range(total):  # ten per conversation, user and assistant in turn
            role = "user" if i % 2 == 0 else "assistant"
            yield (_uuid(rng), conversations[(i // 10) % len(conversations)], role,
                   pick(message_texts), _stamp(i * SPAN / total),
                   None if i % 4 else '{"provider":"claude","ms":1234}')

    # The FTS5 triggers of 004 index each user message as it goes in.
    _insert(conn, "messages", "id, conversation_id, role, content, timestamp, metadata_json",
            messages())
    _insert(conn, "facts", "id, sender_id, key, value",
            ((_uuid(rng), s, key, f"{key} of {s}") for s in senders for key in FACT_KEYS))
    active = ((s, PROJECTS[i % len(PROJECTS)]) for i, s in enumerate(senders))
    _insert(conn, "facts", "id, sender_id, key, value",
            ((_uuid(rng), s, "active_project", p) for s, p in active if p))

    def audit() -> Iterator[tuple]:
        total = n["audit_log"]
        for i in range(total):
            status = pick(("ok",) * 8 + ("error", "denied"))
            yield (_uuid(rng), _stamp(i * SPAN / total), "telegram", pick(senders), "Ann",
                   pick(message_texts), pick(message_texts) if status == "ok" else None,
                   "claude-code", "sonnet", rng.randint(200, 30_000), status,
                   "not allowed" if status == "denied" else None)

    _insert(conn, "audit_log", "id, timestamp, channel, sender_id, sender_name, input_text, "
            "output_text, provider_used, model, processing_ms, status, denial_reason", audit())
    _insert(conn, "limitations", "id, title, description",
            ((_uuid(rng), f"Limitation {i}", pick(lesson_texts)) for i in range(50)))
    _insert(conn, "user_aliases", "alias_sender_id, canonical_sender_id",
            ((f"wa-{i}", s) for i, s in enumerate(senders[::10])))


def spread_projects(path: Path) -> None:
    """Give the migrated rows projects: the 013 database OMEGA would have after some use."""
    quoted = ["'" + p.replace("'", "''") + "'" for p in PROJECTS]
    cases = " ".join(f"WHEN {i} THEN {q}" for i, q in enumerate(quoted))
    expr = f"CASE (rowid * 7 + 3) % {len(PROJECTS)} {cases} END"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("BEGIN")
        for table in ("outcomes", "lessons", "scheduled_tasks", "conversations"):
            conn.execute(f"UPDATE {table} SET project = {expr}")
        conn.execute("COMMIT")
    finally:
        conn.close()
    os.sync()
