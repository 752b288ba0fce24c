"""`context`: what OMEGA v1.3.0's build_context takes from the database, section by section.

The oracle is OMEGA's SQL as omega-schema.md ("What the agent sees in a conversation") gives it,
written out here and run by the test on the same file, on a dataset where every limit bites:
more than 50 lessons, more than 15 outcomes, 3 summaries, 50 messages, 5 recall hits.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import helpers
from tests.inputkit import invoke

# OMEGA v1.3.0's queries, verbatim (omega-schema.md).
CURRENT = ("SELECT id FROM conversations WHERE channel = ? AND sender_id = ? AND project = ? AND status = 'active' "
           "AND datetime(last_activity) > datetime('now', '-120 minutes') ORDER BY last_activity DESC LIMIT 1")
HISTORY = ("SELECT role, content FROM (SELECT role, content, timestamp FROM messages WHERE conversation_id = ? "
           "ORDER BY timestamp DESC LIMIT ?) ORDER BY timestamp ASC")
PROFILE = "SELECT key, value FROM facts WHERE sender_id = ? ORDER BY key"
SUMMARIES = ("SELECT summary, updated_at FROM conversations WHERE channel = ? AND sender_id = ? AND status = 'closed' "
             "AND summary IS NOT NULL ORDER BY updated_at DESC LIMIT 3")
RECALL = ("SELECT m.role, m.content, m.timestamp FROM messages_fts fts JOIN messages m ON m.rowid = fts.rowid "
          "JOIN conversations c ON c.id = m.conversation_id WHERE messages_fts MATCH ? AND m.conversation_id != ? "
          "AND c.sender_id = ? ORDER BY rank LIMIT 5")
TASKS = ("SELECT id, description, due_at, repeat, task_type, project FROM scheduled_tasks WHERE sender_id = ? "
         "AND status = 'pending' ORDER BY due_at ASC")
OUTCOMES_P = "SELECT score, domain, lesson, timestamp FROM outcomes WHERE sender_id = ? AND project = ? " \
             "ORDER BY timestamp DESC LIMIT 15"
OUTCOMES = "SELECT score, domain, lesson, timestamp FROM outcomes WHERE sender_id = ? ORDER BY timestamp DESC LIMIT 15"
LESSONS_P = ("SELECT domain, rule, project FROM lessons WHERE sender_id = ? AND (project = ? OR project = '') "
             "ORDER BY CASE WHEN project = ? THEN 0 ELSE 1 END, updated_at DESC LIMIT 50")
LESSONS = "SELECT domain, rule, project FROM lessons WHERE sender_id = ? AND project = '' ORDER BY updated_at DESC LIMIT 50"

MESSAGE = 'deploy "prod" OR x'
PHRASE = '"deploy ""prod"" OR x"'  # OMEGA's quoting: one phrase, inner quotes doubled


def fill(path: Path) -> Path:
    """alice's memory in channel tg with project alpha, every limit exceeded; bob and carol around her."""
    conn = helpers.connect(path)
    conn.execute("BEGIN")
    ago = "datetime('now', ?)"

    def conversation(cid: str, channel: str, sender: str, project: str, status: str, minutes: int,
                     summary: str | None = None) -> None:
        conn.execute(f"INSERT INTO conversations (id, channel, sender_id, project, status, last_activity, summary, "
                     f"updated_at) VALUES (?, ?, ?, ?, ?, {ago}, ?, {ago})",
                     (cid, channel, sender, project, status, f"-{minutes} minutes", summary, f"-{minutes} minutes"))

    def message(mid: str, cid: str, role: str, content: str, seconds: int) -> None:
        conn.execute(f"INSERT INTO messages (id, conversation_id, role, content, timestamp) VALUES (?, ?, ?, ?, {ago})",
                     (mid, cid, role, content, f"-{seconds} seconds"))

    conversation("cur", "tg", "alice", "alpha", "active", 5)  # the current one
    conversation("general-now", "web", "alice", "", "active", 30)  # other channel and no project
    conversation("stale", "tg", "alice", "alpha", "active", 200)  # idle past 120 minutes
    for i in range(60):  # 50 of them reach the agent
        message(f"cur-{i:02d}", "cur", ("user", "assistant")[i % 2], f"current message {i}", 600 - i)
    message("cur-hit", "cur", "user", "deploy prod or x from the current conversation", 1)
    for i in range(6):  # 3 of them reach the agent
        conversation(f"closed-{i}", "tg", "alice", "", "closed", 1000 + 100 * i, f"summary {i}\x1b[2J")
    conversation("closed-null", "tg", "alice", "", "closed", 10)  # no summary: never injected
    conversation("closed-web", "web", "alice", "", "closed", 20, "summary in another channel")
    for i in range(8):  # 5 of them reach the agent, best first
        message(f"hit-{i}", f"closed-{i % 6}", "user", "deploy prod or x" + " padding" * i, 3000 + i)
    message("near-1", "closed-0", "user", "deploy prod now", 3100)  # an operator would match these
    message("near-2", "closed-1", "user", "x", 3101)
    message("near-3", "closed-2", "user", "prod or deploy x", 3102)
    message("hit-assistant", "closed-3", "assistant", "deploy prod or x", 3103)  # not indexed: user only
    conversation("bob-c", "tg", "bob", "", "closed", 50, "bob's summary")
    message("bob-hit", "bob-c", "user", "deploy prod or x", 3200)
    for key, value in (("name", "Alice \x1b]52;c;eA==\x07"), ("active_project", "alpha"), ("city", "Oslo")):
        conn.execute("INSERT INTO facts (id, sender_id, key, value) VALUES (?, 'alice', ?, ?)", (f"f-{key}", key, value))
    conn.execute("INSERT INTO facts (id, sender_id, key, value) VALUES ('f-bob', 'bob', 'name', 'Bob')")
    for sender, project, count in (("alice", "alpha", 40), ("alice", "", 30), ("alice", "beta", 5), ("bob", "", 5)):
        for i in range(count):
            conn.execute(f"INSERT INTO lessons (id, sender_id, domain, rule, project, updated_at) "
                         f"VALUES (?, ?, ?, ?, ?, {ago})",
                         (f"l-{sender}-{project}-{i}", sender, ("coding", "ops")[i % 2], f"rule {i} {project}",
                          project, f"-{i * 60 + len(project)} seconds"))
    for sender, project, count in (("alice", "alpha", 20), ("alice", "", 10), ("bob", "alpha", 5)):
        for i in range(count):
            conn.execute(f"INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson, project) "
                         f"VALUES (?, {ago}, ?, 'coding', ?, ?, ?)",
                         (f"o-{sender}-{project}-{i}", f"-{i * 7 + len(project)} minutes", sender, i % 3 - 1,
                          f"lesson {i}", project))
    for i, status in enumerate(("pending", "pending", "delivered", "pending", "cancelled")):
        conn.execute("INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at, repeat, "
                     "status, task_type, project) VALUES (?, 'tg', 'alice', 'r', ?, ?, ?, ?, ?, ?)",
                     (f"t-{i}", f"task {i}", f"2026-0{5 - i}-01 10:00:00", (None, "daily")[i % 2], status,
                      ("reminder", "action")[i % 2], ("alpha", "")[i % 2]))
    conn.execute("COMMIT")
    conn.close()
    return path


@pytest.fixture(scope="module")
def memory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fill(helpers.build(tmp_path_factory.mktemp("context") / "memory.db"))


def omega(path: Path, sql: str, *params: object) -> list[dict[str, object]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(sql, params)]
    finally:
        conn.close()


def context(runner: CliRunner, path: Path, *args: str) -> dict[str, object]:
    ran = invoke(runner, "context", str(path), *args, "-f", "json")
    assert ran.code == 0, ran.stderr
    return json.loads(ran.stdout)


def sections(document: dict[str, object]) -> dict[str, list[dict[str, object]]]:
    return {s["name"]: s["rows"] for s in document["sections"]}  # type: ignore[index, union-attr]


def test_it_shows_exactly_what_omegas_queries_return(runner: CliRunner, memory: Path) -> None:
    """The issue's case: `context --sender alice --project alpha --message 'deploy "prod" OR x'`."""
    before = helpers.fingerprint(memory)
    document = context(runner, memory, "--sender", "alice", "--project", "alpha", "--message", MESSAGE)
    current = omega(memory, CURRENT, "tg", "alice", "alpha")[0]["id"]
    assert current == "cur"
    assert {k: document[k] for k in ("database", "sender", "project", "channel", "conversation")} == {
        "database": str(memory), "sender": "alice", "project": "alpha", "channel": "tg", "conversation": current}
    assert [s["name"] for s in document["sections"]] == [  # type: ignore[union-attr]
        "profile", "summaries", "recall", "pending_tasks", "outcomes", "lessons", "history"]
    assert sections(document) == {
        "profile": omega(memory, PROFILE, "alice"),
        "summaries": omega(memory, SUMMARIES, "tg", "alice"),
        "recall": omega(memory, RECALL, PHRASE, current, "alice"),
        "pending_tasks": omega(memory, TASKS, "alice"),
        "outcomes": omega(memory, OUTCOMES_P, "alice", "alpha"),
        "lessons": omega(memory, LESSONS_P, "alice", "alpha", "alpha"),
        "history": omega(memory, HISTORY, current, 50),
    }
    assert helpers.fingerprint(memory) == before


def test_every_limit_bites(runner: CliRunner, memory: Path) -> None:
    """The dataset holds more than each limit: the sections stop where OMEGA's do."""
    got = sections(context(runner, memory, "--sender", "alice", "--project", "alpha", "--message", MESSAGE))
    assert [len(got[name]) for name in ("summaries", "recall", "outcomes", "lessons", "history")] == [3, 5, 15, 50, 50]
    assert len(omega(memory, "SELECT 1 FROM lessons WHERE sender_id = 'alice' AND project IN ('alpha', '')")) == 70
    assert [row["project"] for row in got["lessons"]] == ["alpha"] * 40 + [""] * 10
    assert got["history"][-1] == {"role": "user", "content": "deploy prod or x from the current conversation"}
    assert got["history"][0]["content"] == "current message 11"
    # One phrase: no operator. Neither the current conversation nor bob's, nor the near misses.
    assert {row["content"] for row in got["recall"]} <= {"deploy prod or x" + " padding" * i for i in range(8)}
    assert got["recall"][0]["content"] == "deploy prod or x"  # rank: the shortest match first


def test_no_project_general_lessons_and_every_outcome(runner: CliRunner, memory: Path) -> None:
    document = context(runner, memory, "--sender", "alice", "--channel", "tg")
    got = sections(document)
    assert document["project"] == "" and document["conversation"] is None  # alpha's conversation is not P=''s
    assert "recall" not in got
    assert got["lessons"] == omega(memory, LESSONS, "alice")
    assert got["outcomes"] == omega(memory, OUTCOMES, "alice")
    assert got["history"] == []


def test_the_channel_defaults_to_the_most_recently_active_conversations(runner: CliRunner, memory: Path) -> None:
    assert context(runner, memory, "--sender", "alice")["channel"] == "tg"  # cur, 5 minutes ago
    document = context(runner, memory, "--sender", "alice", "--channel", "web")
    assert document["channel"] == "web" and document["conversation"] == "general-now"
    assert sections(document)["summaries"] == omega(memory, SUMMARIES, "web", "alice")
    assert sections(document)["history"] == []  # general-now holds no message
    assert context(runner, memory, "--sender", "bob")["channel"] == "tg"  # only a closed one: still its channel


def test_no_active_conversation_is_said_and_nothing_is_created(runner: CliRunner, memory: Path) -> None:
    before = helpers.fingerprint(memory)
    document = context(runner, memory, "--sender", "carol", "--project", "alpha", "--message", MESSAGE)
    assert document["channel"] is None and document["conversation"] is None
    assert all(s["rows"] == [] for s in document["sections"])  # type: ignore[union-attr]
    ran = invoke(runner, "context", str(memory), "--sender", "alice", "--project", "beta", "--channel", "tg")
    assert ran.code == 0
    assert "OMEGA would start a new one" in ran.stdout
    assert helpers.fingerprint(memory) == before
    assert omega(memory, "SELECT count(*) AS n FROM conversations WHERE sender_id = 'carol'") == [{"n": 0}]


def test_recall_without_a_current_conversation_searches_every_other_one(runner: CliRunner, memory: Path) -> None:
    got = sections(context(runner, memory, "--sender", "alice", "--project", "beta", "--channel", "tg",
                           "--message", MESSAGE))
    without = RECALL.replace(" AND m.conversation_id != ?", "")
    assert got["recall"] == omega(memory, without, PHRASE, "alice")
    assert "deploy prod or x from the current conversation" in {row["content"] for row in got["recall"]}


@pytest.mark.parametrize("text", ["x", "ab", "é", 'OR', '"', "NEAR(deploy x)", "deploy*", "prod AND"])
def test_recall_text_is_never_an_fts_operator(runner: CliRunner, memory: Path, text: str) -> None:
    got = sections(context(runner, memory, "--sender", "alice", "--project", "alpha", "--message", text))
    phrase = '"' + text.replace('"', '""') + '"'
    expected = [] if len(text.encode()) < 3 else omega(memory, RECALL, phrase, "cur", "alice")
    assert got["recall"] == expected


def test_max_context_messages_comes_from_omegas_config(runner: CliRunner, memory: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[memory]\nmax_context_messages = 7\n")
    got = sections(context(runner, memory, "--sender", "alice", "--project", "alpha", "--config", str(config)))
    assert got["history"] == omega(memory, HISTORY, "cur", 7) and len(got["history"]) == 7
    home_config = Path.home() / ".omega" / "config.toml"
    home_config.parent.mkdir(parents=True, exist_ok=True)
    home_config.write_text("[memory]\nmax_context_messages = 3\n")
    assert len(sections(context(runner, memory, "--sender", "alice", "--project", "alpha"))["history"]) == 3
    for bad in ('"many"', "-1", "true", "[memory"):
        config.write_text(f"[memory]\nmax_context_messages = {bad}\n")
        ran = invoke(runner, "context", str(memory), "--sender", "alice", "--config", str(config))
        assert ran.code == 2 and ran.stdout == ""
        assert str(config) in ran.stderr and len(ran.stderr.strip().splitlines()) == 1


def test_a_default_config_that_cannot_be_parsed_is_exit_2_with_advice_that_fits(runner: CliRunner, memory: Path) -> None:
    # DB is given, so the config is read only for max_context_messages: "give the database path" would not help.
    config = Path.home() / ".omega" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[memory\n")
    ran = invoke(runner, "context", str(memory), "--sender", "alice", "-f", "json")
    assert ran.code == 2 and ran.stdout == ""
    sentence = ran.stderr.strip()
    assert len(sentence.splitlines()) == 1
    assert str(config) in sentence and "cannot be parsed" in sentence
    assert "--config" in sentence and "max_context_messages" in sentence and "database path" not in sentence


def test_the_report_has_a_heading_per_section_and_escapes_stored_text(runner: CliRunner, memory: Path) -> None:
    before = helpers.fingerprint(memory)
    ran = invoke(runner, "context", str(memory), "--sender", "alice", "--project", "alpha", "--message", MESSAGE)
    assert ran.code == 0, ran.stderr
    for heading in ("Profile", "Summaries", "Recall", "Pending tasks", "Recent outcomes", "Lessons (at most 50",
                    "History of the current conversation (last 50"):
        assert heading in ran.stdout
    assert "\x1b" not in ran.stdout and "\x07" not in ran.stdout
    assert "Alice \\x1b]52;c;eA==\\x07" in ran.stdout and "summary 0\\x1b[2J" in ran.stdout
    assert "(general)" in ran.stdout and "conversation  cur" in ran.stdout
    assert helpers.fingerprint(memory) == before


def test_sender_is_required(runner: CliRunner, memory: Path) -> None:
    ran = invoke(runner, "context", str(memory))
    assert ran.code == 2 and "--sender" in ran.stderr


def test_a_folder_where_omegas_config_belongs_is_exit_2(runner: CliRunner, memory: Path) -> None:
    """As for every command that reads the config (an unreadable one, as nobody: test_read_only)."""
    config = Path.home() / ".omega" / "config.toml"
    config.mkdir(parents=True)
    ran = invoke(runner, "context", str(memory), "--sender", "alice", "--project", "alpha", "-f", "json")
    assert ran.code == 2 and ran.stdout == "" and str(config) in ran.stderr


def test_rich_markup_in_stored_text_is_shown_as_text(runner: CliRunner, tmp_path: Path) -> None:
    path = helpers.build(tmp_path / "memory.db")
    conn = helpers.connect(path)
    conn.execute("INSERT INTO lessons (id, sender_id, domain, rule) VALUES ('l', 'eve', '[bold]d[/bold]', "
                 "'[link=http://x]click[/link] \u202eevil')")
    conn.close()
    ran = invoke(runner, "context", str(path), "--sender", "eve")
    assert ran.code == 0
    assert "[bold]d[/bold]" in ran.stdout and "[link=http://x]click[/link] \\u202eevil" in ran.stdout
    assert "OMEGA would start a new one" in ran.stdout and "(none: the sender has no conversation)" in ran.stdout


# --- older versions ----------------------------------------------------------------------------


def fill_old(path: Path) -> Path:
    """alice's memory in a file before 012 (conversations without a project) and maybe before 011."""
    conn = helpers.connect(path)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO conversations (id, channel, sender_id, status, last_activity) "
                 "VALUES ('cur', 'tg', 'alice', 'active', datetime('now', '-3 minutes'))")
    for i in range(55):
        conn.execute("INSERT INTO messages (id, conversation_id, role, content, timestamp) "
                     "VALUES (?, 'cur', 'user', ?, datetime('now', ?))", (f"m{i}", f"message {i}", f"-{100 - i} seconds"))
        conn.execute("INSERT INTO lessons (id, sender_id, domain, rule, updated_at) "
                     "VALUES (?, 'alice', ?, ?, datetime('now', ?))", (f"l{i}", f"d{i}", f"rule {i}", f"-{i} minutes"))
        conn.execute("INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson) "
                     "VALUES (?, datetime('now', ?), 'alice', 'coding', 1, ?)", (f"o{i}", f"-{i} minutes", f"lesson {i}"))
    conn.execute("INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at) "
                 "VALUES ('t', 'tg', 'alice', 'r', 'call', '2026-05-01 10:00:00')")
    conn.execute("COMMIT")
    conn.close()
    return path


CURRENT_BEFORE_012 = ("SELECT id FROM conversations WHERE channel = ? AND sender_id = ? AND status = 'active' "
                      "AND datetime(last_activity) > datetime('now', '-120 minutes') ORDER BY last_activity DESC "
                      "LIMIT 1")


def test_before_011_every_row_is_general(runner: CliRunner, tmp_path: Path) -> None:
    path = fill_old(helpers.build(tmp_path / "memory.db", to="010"))
    before = helpers.fingerprint(path)
    ran = invoke(runner, "context", str(path), "--sender", "alice", "--project", "alpha", "-f", "json")
    assert ran.code == 0 and "011_project_learning" in ran.stderr and "general" in ran.stderr
    document = json.loads(ran.stdout)
    got = sections(document)
    assert document["conversation"] == omega(path, CURRENT_BEFORE_012, "tg", "alice")[0]["id"] == "cur"
    assert got["lessons"] == omega(path, "SELECT domain, rule, '' AS project FROM lessons WHERE sender_id = ? "
                                         "ORDER BY updated_at DESC LIMIT 50", "alice")
    assert got["outcomes"] == []  # no outcome is alpha's: every one is general
    assert got["pending_tasks"] == omega(path, "SELECT id, description, due_at, repeat, task_type, '' AS project "
                                               "FROM scheduled_tasks WHERE sender_id = ? AND status = 'pending' "
                                               "ORDER BY due_at ASC", "alice")
    assert got["history"] == omega(path, HISTORY, "cur", 50)
    general = sections(context(runner, path, "--sender", "alice"))
    assert general["outcomes"] == omega(path, OUTCOMES, "alice") and len(general["outcomes"]) == 15
    assert helpers.fingerprint(path) == before


def test_at_011_the_conversation_has_no_project_yet(runner: CliRunner, tmp_path: Path) -> None:
    path = fill_old(helpers.build(tmp_path / "memory.db", to="011"))
    document = context(runner, path, "--sender", "alice", "--project", "alpha")
    assert document["conversation"] == "cur"
    assert sections(document)["lessons"] == omega(path, LESSONS_P, "alice", "alpha", "alpha")


@pytest.mark.parametrize("to", ["009", "007", "001"])
def test_a_missing_table_is_exit_2_naming_the_migration(runner: CliRunner, tmp_path: Path, to: str) -> None:
    path = helpers.build(tmp_path / "memory.db", to=to)
    before = helpers.fingerprint(path)
    ran = invoke(runner, "context", str(path), "--sender", "alice")
    assert ran.code == 2 and ran.stdout == ""
    assert "010_outcomes" in ran.stderr and str(path) in ran.stderr and len(ran.stderr.strip().splitlines()) == 1
    assert helpers.fingerprint(path) == before


@pytest.mark.parametrize("option", ["--sender", "--project", "--channel", "--message"])
def test_text_that_is_not_utf8_is_a_bad_argument(runner: CliRunner, memory: Path, option: str) -> None:
    """Bytes from the shell that are not UTF-8 arrive as surrogates: never bound, exit 2 in one sentence."""
    args = ["--sender", "alice"] if option != "--sender" else []
    ran = invoke(runner, "context", str(memory), *args, option, "ab\udcffcd")
    assert ran.code == 2 and ran.stdout == "" and option in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1


def test_the_queries_are_omegas_word_for_word() -> None:
    """On a 013 file each section runs OMEGA's text itself, so even the order among equals is OMEGA's."""
    from omega_db.data import context as c

    assert c.SQL_CURRENT.format(and_project=" AND project = ?") == CURRENT
    assert (c.SQL_HISTORY, c.SQL_PROFILE, c.SQL_SUMMARIES) == (HISTORY, PROFILE, SUMMARIES)
    assert c.SQL_RECALL.format(not_current=" AND m.conversation_id != ?") == RECALL
    assert c.SQL_TASKS.format(selected="project") == TASKS
    assert c.SQL_OUTCOMES.format(and_project=" AND project = ?") == OUTCOMES_P
    assert c.SQL_OUTCOMES.format(and_project="") == OUTCOMES
    assert c.SQL_LESSONS_PROJECT.format(project="project", selected="project") == LESSONS_P
    assert c.SQL_LESSONS_GENERAL.format(project="project", selected="project") == LESSONS


def test_lessons_equal_across_the_windows_end_are_omegas_choice(runner: CliRunner, tmp_path: Path) -> None:
    path = helpers.build(tmp_path / "memory.db")
    conn = helpers.connect(path)
    conn.execute("BEGIN")
    for i in range(80):  # three seconds only: ties everywhere, also at row 50
        conn.execute("INSERT INTO lessons (id, sender_id, domain, rule, project, updated_at) VALUES (?, 'dave', 'd', ?, ?, ?)",
                     (f"l-{(i * 7919) % 100:02d}-{i}", f"rule {i}", ("alpha", "")[i % 2], f"2026-03-0{1 + i % 3} 00:00:00"))
    conn.execute("COMMIT")
    conn.close()
    got = sections(context(runner, path, "--sender", "dave", "--project", "alpha"))["lessons"]
    assert got == omega(path, LESSONS_P, "dave", "alpha", "alpha") and len(got) == 50
    general = sections(context(runner, path, "--sender", "dave"))["lessons"]
    assert general == omega(path, LESSONS, "dave")


@pytest.mark.parametrize("case", [("012_project_sessions", 1), ("013_multi_lessons", 3)])
def test_a_half_applied_migration_is_named_with_repair(runner: CliRunner, tmp_path: Path,
                                                       case: tuple[str, int]) -> None:
    """As `lessons` does: a note with an answer while the tables are there, exit 2 pointing to
    --repair when 013 stopped with every lesson only in lessons_v2."""
    from tests.test_half_applied_013 import half_applied

    name, statements = case
    path = tmp_path / "memory.db"
    half_applied(path, name, statements)
    before = helpers.fingerprint(path)
    ran = invoke(runner, "context", str(path), "--sender", "alice", "-f", "json")
    assert name in ran.stderr and "migrate --repair" in ran.stderr
    if name == "013_multi_lessons":  # lessons is gone
        assert ran.code == 1 and ran.stdout == ""
    else:
        assert ran.code == 0 and json.loads(ran.stdout)["sender"] == "alice"
    assert helpers.fingerprint(path) == before


def test_text_that_is_not_utf8_is_shown_with_u_fffd_and_a_note(runner: CliRunner, tmp_path: Path) -> None:
    path = fill(helpers.build(tmp_path / "memory.db"))
    conn = helpers.connect(path)
    conn.execute("UPDATE facts SET value = CAST(X'6F736C6FFF' AS TEXT) WHERE id = 'f-city'")
    conn.close()
    for fmt in ("json", "table"):
        ran = invoke(runner, "context", str(path), "--sender", "alice", "-f", fmt)
        assert ran.code == 0 and "not valid UTF-8" in ran.stderr
        assert "oslo\ufffd" in ran.stdout
