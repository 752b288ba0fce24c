"""Building, filling and fingerprinting real OMEGA databases for the tests; running omega-db;
reading its tables back."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from omega_db.chain import migrate, schema

SENDERS = ("alice", "bob", "télé-42")
DOMAINS = ("coding", "trading", "writing")


# The databases build() made first, one per `to`, copied for every later new file.
_templates: dict[str | None, Path] = {}
_template_folder = tempfile.TemporaryDirectory(prefix="omega-db-templates-")


def build(path: Path, *, to: str | None = None) -> Path:
    """A database at path migrated (to the end, or to `to`) with omega-db's core.

    An existing file is migrated in place. A new one is a copy of the file this process
    built first for the same `to`, with omega-db's core too: the same bytes but the
    file's own times, in 0.5 ms instead of 15 (eleven migrations, each committed and synced).
    """
    if path.exists():
        migrate.migrate(path, to=to, make_backup=False)
        return path
    template = _templates.get(to)
    if template is None:
        template = Path(_template_folder.name) / f"{len(_templates)}.db"
        migrate.migrate(template, to=to, make_backup=False)
        _templates[to] = template
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    path.chmod(0o600)  # as omega-db creates a database
    return path


def connect(path: Path) -> sqlite3.Connection:
    """A plain read-write connection, autocommit."""
    conn = sqlite3.connect(path, isolation_level=None)
    return conn


def seed(path: Path, *, n: int = 12) -> None:
    """Fill every table of a 010/011 database with n rows (each sender and domain used)."""
    conn = connect(path)
    try:
        conn.execute("BEGIN")
        for i in range(n):
            sender = SENDERS[i % len(SENDERS)]
            domain = DOMAINS[(i // len(SENDERS)) % len(DOMAINS)]
            conv = f"conv-{i % 4}"
            conn.execute(
                "INSERT OR IGNORE INTO conversations (id, channel, sender_id, summary) VALUES (?, 'telegram', ?, ?)",
                (conv, sender, f"summary {i}"),
            )
            role = "user" if i % 2 == 0 else "assistant"
            conn.execute(
                "INSERT INTO messages (id, conversation_id, role, content, timestamp, metadata_json) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (f"msg-{i}", conv, role, f"message {i} about {domain}", f"2026-01-{i % 28 + 1:02d} 10:00:00",
                 None if i % 3 else '{"k": 1}'),
            )
            conn.execute(
                "INSERT INTO facts (id, sender_id, key, value, source_message_id) VALUES (?, ?, ?, ?, ?)",
                (f"fact-{i}", sender, f"key-{i}", f"value {i}", f"msg-{i}"),
            )
            conn.execute(
                "INSERT INTO audit_log (id, channel, sender_id, input_text, output_text, processing_ms, status) "
                "VALUES (?, 'telegram', ?, ?, ?, ?, ?)",
                (f"audit-{i}", sender, f"in {i}", f"out {i}", i * 10, ("ok", "error", "denied")[i % 3]),
            )
            conn.execute(
                "INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at, "
                "repeat, status, task_type, retry_count, last_error) "
                "VALUES (?, 'telegram', ?, 'chat-1', ?, ?, ?, ?, ?, ?, ?)",
                (f"task-{i}", sender, f"task {i}", f"2026-02-{i % 28 + 1:02d} 09:00:00",
                 (None, "daily", "weekly")[i % 3], ("pending", "delivered", "cancelled", "failed")[i % 4],
                 ("reminder", "action")[i % 2], i % 3, None if i % 2 else "boom"),
            )
            conn.execute(
                "INSERT INTO limitations (id, title, description) VALUES (?, ?, ?)",
                (f"lim-{i}", f"Limitation {i}", f"cannot do {i}"),
            )
            conn.execute(
                "INSERT INTO user_aliases (alias_sender_id, canonical_sender_id) VALUES (?, ?)",
                (f"alias-{i}", sender),
            )
            conn.execute(
                "INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson, source) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (f"out-{i}", f"2026-03-{i % 28 + 1:02d} 12:00:00", sender, domain, (i % 3) - 1,
                 f"lesson text {i}", ("conversation", "heartbeat")[i % 2]),
            )
            conn.execute(
                "INSERT OR IGNORE INTO lessons (id, sender_id, domain, rule, occurrences, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (f"lesson-{i}", sender, domain, f"rule {i}", i + 1, "2026-01-01 00:00:00",
                 f"2026-04-{i % 28 + 1:02d} 08:00:00"),
            )
        conn.execute("COMMIT")
    finally:
        conn.close()


def seeded(path: Path, to: str | None = None) -> Path:
    """A database with rows in every table (at 011, or at `to`): build, then seed."""
    build(path, to=to)
    seed(path)
    return path


def user_tables(conn: sqlite3.Connection) -> list[str]:
    """Ordinary tables, without SQLite's and FTS5's internal ones."""
    return [
        name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'messages_fts%' ORDER BY name"
        )
    ]


def dump(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every row of every ordinary table, as dicts, sorted: for before/after comparisons."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        out = {}
        for table in user_tables(conn):
            rows = [dict(r) for r in conn.execute(f'SELECT * FROM "{table}"')]
            out[table] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))
        return out
    finally:
        conn.close()


def fingerprint(path: Path) -> tuple[str, int]:
    """The file's content hash and mtime: 'not a byte changed' means this is equal."""
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), path.stat().st_mtime_ns


def recorded(path: Path) -> list[str]:
    """The names in _migrations, in order."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [n for (n,) in conn.execute("SELECT name FROM _migrations ORDER BY name")]
    finally:
        conn.close()


def listing(folder: Path) -> list[str]:
    """The names in a folder: nothing may appear beside a database a command refused."""
    return sorted(p.name for p in folder.iterdir())


def backups(path: Path) -> list[Path]:
    """The backups beside a database (`<name>.bak-<stamp>`), oldest first."""
    return sorted(path.parent.glob(f"{path.name}.bak-*"))


def structure(path: Path) -> schema.Schema:
    """A database's structure as omega-db reads it (compare two with omega_db.chain.compare)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return schema.read(conn)
    finally:
        conn.close()


def start_cli(*args: str, **popen: Any) -> subprocess.Popen[str]:
    """Start omega-db as a real process (python -m omega_db); stdout and stderr piped as text,
    stdin from /dev/null (no terminal, as under cron).

    Keyword arguments go to subprocess.Popen (env, cwd, preexec_fn, stdin=..., stderr=..., errors=...).
    """
    options: dict[str, Any] = {
        "stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, **popen
    }
    return subprocess.Popen([sys.executable, "-m", "omega_db", *args], **options)


def run_cli(*args: str, timeout: float = 120, **popen: Any) -> subprocess.CompletedProcess[str]:
    """Run omega-db as a real process to its end (start_cli, then wait), capturing text output."""
    with start_cli(*args, **popen) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


# --- tables as printed without a terminal, read back into cells -----------------------------


_RULE = re.compile(r"^\s*─+\s*$")
# What ends a table's rows: the count under a listing, verify's verdict, the window's end line.
_AFTER_ROWS = re.compile(r"^(\d[\d,]* rows?\b|ok\b|not ok\b)")


def _cells(header: str, body: list[str]) -> list[dict[str, str]]:
    """Rows ({header: cell}) of lines aligned under a header: columns are where some line has
    text, split at two or more blank columns; a line whose first cell is empty continues the
    row above (a folded cell, joined by a space)."""
    width = max(len(line) for line in (header, *body))
    grid = [line.ljust(width) for line in (header, *body)]
    spans: list[list[int]] = []
    for i in range(width):
        if all(line[i] == " " for line in grid):
            continue
        if spans and i - spans[-1][1] <= 1:  # one blank column is a space inside a cell
            spans[-1][1] = i + 1
        else:
            spans.append([i, i + 1])
    names = [header[a:b].strip() for a, b in spans]
    assert names == re.split(r"\s{2,}", header.strip()), (names, header)
    rows: list[dict[str, str]] = []
    for line in grid[1:]:
        cells = [line[a:b].strip() for a, b in spans]
        if cells[0] or not rows:
            rows.append(dict(zip(names, cells, strict=True)))
        else:
            for name, cell in zip(names, cells, strict=True):
                if cell:
                    rows[-1][name] = f"{rows[-1][name]} {cell}".strip()
    return rows


def read_tables(text: str) -> list[tuple[str, list[dict[str, str]]]]:
    """Every table as printed without a terminal (listings, status, verify), in order:
    (title, rows). A table is a title line, a header line, a rule, then its rows, up to the
    next table's title, the count under it, or verify's verdict."""
    lines = text.rstrip("\n").split("\n")
    rules = [i for i, line in enumerate(lines) if _RULE.match(line)]
    tables = []
    for n, rule in enumerate(rules):
        end = rules[n + 1] - 2 if n + 1 < len(rules) else len(lines)
        body = lines[rule + 1 : end]
        stop = next((i for i, line in enumerate(body) if _AFTER_ROWS.match(line)), len(body))
        tables.append((lines[rule - 2].strip(), _cells(lines[rule - 1], body[:stop])))
    return tables


def read_listing(text: str) -> tuple[str, list[dict[str, str]]]:
    """A lessons/outcomes/tasks table as printed: its title and its rows ({header: cell})."""
    [table] = read_tables(text)
    return table
