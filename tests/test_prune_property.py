"""Property: over generated 013 databases and any combination of rules and ages, prune changes nothing OMEGA v1.3.0
reads — every query of prunekit.snapshot (the current conversation's history, summaries, pending and due tasks,
outcomes per sender and project with LIMIT 15, 10 and 20, the heartbeat's 24 hours, lessons) returns exactly
what it returned before — and recall loses the pruned messages only.

The rows sit on the boundaries that matter, a few seconds either side (120 minutes, 24 h, 48 h, each rule's age),
many tied to the second, around the 20th newest outcome of a sender too.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests import helpers, prunekit
from tests.inputkit import invoke

pytestmark = pytest.mark.slow

TABLES = ("audit_log", "outcomes", "scheduled_tasks", "messages")
SENDERS = ("s1", "s2", "s3")
sender = st.sampled_from(SENDERS)
project = st.sampled_from(prunekit.PROJECTS)
channel = st.sampled_from(prunekit.CHANNELS)
words = st.lists(st.sampled_from(prunekit.WORDS), min_size=1, max_size=4).map(" ".join)
_template = Path(tempfile.mkdtemp(prefix="omega-db-prune-property-")) / "013.db"


@st.composite
def cases(draw: st.DrawFn) -> dict:
    """Rules with ages, and rows whose ages (in seconds; negative: in the future) sit on every boundary."""
    ages = draw(st.dictionaries(st.sampled_from(TABLES), st.sampled_from(["1h", "36h", "2d", "3d", "1w", "30d"]),
                                min_size=1))
    boundaries = (*prunekit.OMEGA_BOUNDARIES, *(prunekit.seconds(a) for a in ages.values()))
    # A row exactly on a boundary has no verdict: the test's clock and prune's differ by the seconds between them
    # (3 days is the age of the rule "3d"). Rows sit 5 s from every boundary, further than one example takes.
    edges = {e for e in (60, 3 * prunekit.DAY, 10 * prunekit.DAY, 100 * prunekit.DAY, 300 * prunekit.DAY)
             if all(abs(e - b) > 5 for b in boundaries)}
    for boundary in boundaries:
        edges |= {boundary - 5, boundary + 5}
    when = st.sampled_from(sorted(edges))
    tie = draw(st.tuples(sender, project, st.integers(0, 30), when))  # a block of outcomes at one second
    # Enough outcomes of one sender for the 20 newest to bite: times cycling over the edges, in two scopes.
    who, count, step = draw(st.tuples(sender, st.integers(0, 60), st.integers(1, 7)))
    edge_list = sorted(edges)
    bulk = [(who, prunekit.PROJECTS[(k * step) % 2], edge_list[(k * step) % len(edge_list)], "writing")
            for k in range(count)]
    return {
        "ages": ages,
        "outcomes": bulk + draw(st.lists(st.tuples(sender, project, when, st.sampled_from(prunekit.DOMAINS)),
                                         max_size=40)),
        "tie": tie,
        "conversations": draw(st.lists(
            st.tuples(sender, channel, st.sampled_from(["closed", "active"]), when, st.booleans(), project,
                      st.lists(st.tuples(when, st.sampled_from(["user", "assistant"]), words), max_size=6)),
            max_size=8)),
        "named": draw(st.lists(st.integers(0, 999), max_size=4)),
        "tasks": draw(st.lists(st.tuples(sender, st.sampled_from(prunekit.STATUSES),
                                         st.one_of(when, st.sampled_from([-60, -3 * prunekit.DAY])),
                                         st.sampled_from(" TZ"), project), max_size=16)),
        "audit": draw(st.lists(when, max_size=10)),
        "lessons": draw(st.lists(st.tuples(sender, project, when), max_size=10)),
    }


def database(folder: Path, case: dict) -> Path:
    if not _template.exists():
        helpers.build(_template)
    path = folder / "memory.db"
    shutil.copyfile(_template, path)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    at = prunekit.stamp
    conn = helpers.connect(path)
    conn.execute("BEGIN")
    s, p, n, t = case["tie"]
    outcomes = [*case["outcomes"][: len(case["outcomes"]) // 2], *[(s, p, t, "coding")] * n,
                *case["outcomes"][len(case["outcomes"]) // 2 :]]
    conn.executemany("INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson, project) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)",
                     [(f"o{i}", at(now, age), who, domain, i % 3 - 1, f"lesson {i}", scope)
                      for i, (who, scope, age, domain) in enumerate(outcomes)])
    messages = []
    for i, (who, where, status, age, summary, scope, rows) in enumerate(case["conversations"]):
        conn.execute("INSERT INTO conversations (id, channel, sender_id, started_at, updated_at, summary, "
                     "last_activity, status, project) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (f"c{i}", where, who, at(now, age + 60), at(now, age), f"summary {i}" if summary else None,
                      at(now, age), status, scope))
        for j, (m_age, role, text) in enumerate(rows):
            conn.execute("INSERT INTO messages (id, conversation_id, role, content, timestamp) VALUES (?, ?, ?, ?, ?)",
                         (f"m{i}-{j}", f"c{i}", role, text, at(now, m_age)))
            messages.append((f"m{i}-{j}", who))
    for k, index in enumerate(case["named"]):
        if messages:
            mid, who = messages[index % len(messages)]
            conn.execute("INSERT INTO facts (id, sender_id, key, value, source_message_id) VALUES (?, ?, ?, 'v', ?)",
                         (f"f{k}", who, f"from-{k}", mid))
    conn.execute("INSERT INTO facts (id, sender_id, key, value) VALUES ('f-active', 's1', 'active_project', 'alpha')")
    conn.executemany("INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at, status, "
                     "project) VALUES (?, 'telegram', ?, 'chat', ?, ?, ?, ?)",
                     [(f"t{i}", who, f"task {i}", at(now, due, form), status, scope)
                      for i, (who, status, due, form, scope) in enumerate(case["tasks"])])
    conn.executemany("INSERT INTO audit_log (id, timestamp, channel, sender_id, input_text) "
                     "VALUES (?, ?, 'telegram', 's1', 'in')", [(f"a{i}", at(now, age)) for i, age in enumerate(case["audit"])])
    conn.executemany("INSERT INTO lessons (id, sender_id, domain, rule, project, updated_at) VALUES (?, ?, 'coding', ?, ?, ?)",
                     [(f"l{i}", who, f"rule {i}", scope, at(now, age)) for i, (who, scope, age) in enumerate(case["lessons"])])
    conn.execute("COMMIT")
    conn.close()
    return path


def surely_deletable_outcomes(path: Path, age: str) -> set[str]:
    """Outcomes old enough with at least 20 strictly newer rows of their sender and of their (sender, project):
    outside everything OMEGA reads whichever way its ties break, so any correct prune deletes them."""
    return prunekit.deletable(path, {"outcomes": age})["outcomes"]


def old_enough(path: Path, age: str) -> set[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {i for (i,) in conn.execute(
            "SELECT id FROM outcomes WHERE timestamp < datetime('now', ?) AND timestamp < datetime('now', '-48 hours')",
            (prunekit.modifier(age),))}
    finally:
        conn.close()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_prune_changes_nothing_omega_reads_and_recall_loses_only_pruned_messages(case: dict) -> None:
    ages = case["ages"]
    with tempfile.TemporaryDirectory() as folder:
        path = database(Path(folder), case)
        allowed = prunekit.deletable(path, ages)
        before_ids = prunekit.ids(path)
        untouched = {t: helpers.dump(path)[t] for t in ("conversations", "facts", "lessons")}
        must_go = surely_deletable_outcomes(path, ages["outcomes"]) if "outcomes" in ages else set()
        may_go = old_enough(path, ages["outcomes"]) if "outcomes" in ages else set()
        within = prunekit.scopes_of(path)
        recall = prunekit.recall_sets(path, within)
        seen = prunekit.snapshot(path, within)

        ran = invoke(CliRunner(), "prune", str(path), *prunekit.options(ages), "--yes", "--no-backup", "-f", "json")
        assert ran.code == 0, ran.stderr

        assert prunekit.snapshot(path, within) == seen
        after_ids = prunekit.ids(path)
        gone = {t: before_ids[t] - after_ids[t] for t in TABLES}
        for table in ("audit_log", "scheduled_tasks", "messages"):
            assert gone[table] == allowed[table], table
        assert must_go <= gone["outcomes"] <= may_go
        assert after_ids["outcomes"] <= before_ids["outcomes"]
        reported = {t["table"]: t["deleted"] for t in json.loads(ran.stdout)["tables"]}
        assert all(reported.get(t, 0) == len(gone[t]) for t in TABLES), (reported, gone)
        assert {t: helpers.dump(path)[t] for t in untouched} == untouched
        assert prunekit.recall_sets(path, within) == {
            key: {row for row in rows if row[0] not in gone["messages"]} for key, rows in recall.items()
        }
        assert prunekit.health(path) == []
