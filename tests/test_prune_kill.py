"""SIGKILL a real `omega-db prune` at points across its run on a big file (WAL, and rollback journal), and once
during its backup.

After each kill, as OMEGA's next open finds the file: integrity_check and FTS5's check pass and the index is in
step with the user messages; every row the rules keep is there (sets computed by SQL in prunekit before the
prune); every row gone is one the rules allow; conversations, facts and lessons untouched. A second prune then
finishes the job: the file holds exactly the rows one uninterrupted prune leaves.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests import helpers, prunekit

pytestmark = pytest.mark.slow

PRUNED = ("audit_log", "outcomes", "scheduled_tasks", "messages")
UNTOUCHED = ("conversations", "facts", "lessons")


def prune(path: Path, *extra: str) -> subprocess.Popen[str]:
    return helpers.start_cli("prune", str(path), *prunekit.options(prunekit.BIG_AGES), "--yes", "-f", "json", *extra)


def assert_whole(path: Path, before: dict[str, set[str]], allowed: dict[str, set[str]], label: object) -> int:
    """The file after a kill: healthy, every kept row there, only allowed rows gone; the number of rows gone."""
    assert prunekit.health(path) == [], label
    now = prunekit.ids(path)
    for table in UNTOUCHED:
        assert now[table] == before[table], (label, table)
    gone = 0
    for table in PRUNED:
        kept = before[table] - allowed[table]
        assert kept <= now[table], (label, table, sorted(kept - now[table])[:5])  # every protected, not-yet-due row
        assert now[table] <= before[table], (label, table)
        gone += len(before[table] - now[table])
    return gone


@pytest.mark.parametrize(
    ("journal", "fractions"),
    # A WAL file (OMEGA's own), and one in rollback-journal mode, where a kill leaves a hot journal that the
    # next open rolls back. Fewer points there: its batches' fsyncs make each prune slower.
    [("wal", (0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 0.95)), ("delete", (0.15, 0.45, 0.75, 0.95))],
)
def test_sigkill_at_points_across_prune_keeps_every_protected_row_and_a_second_prune_finishes(
    tmp_path: Path, journal: str, fractions: tuple[float, ...]
) -> None:
    template = prunekit.big(tmp_path / "template.db", journal)
    before = prunekit.ids(template)
    allowed = prunekit.deletable(template, prunekit.BIG_AGES)
    total = sum(len(v) for v in allowed.values())
    assert all(len(allowed[t]) > 1000 for t in PRUNED), {t: len(v) for t, v in allowed.items()}

    # One uninterrupted prune: what every interrupted one must end as, and how long the deleting takes.
    whole = tmp_path / "whole.db"
    shutil.copyfile(template, whole)
    proc = prune(whole)
    started = time.monotonic()
    out, err = proc.communicate(timeout=120)
    window = time.monotonic() - started
    assert proc.returncode == 0, err
    finished = prunekit.ids(whole)
    for table in PRUNED:  # the rules as SQL written here (timestamps are unique: no tie at a 20th row)
        assert finished[table] == before[table] - allowed[table], (table, len(finished[table] ^ (before[table] -
                                                                                                 allowed[table])))
    assert {t["table"]: t["deleted"] for t in json.loads(out)["tables"]} == {t: len(allowed[t]) for t in PRUNED}
    assert prunekit.health(whole) == []
    assert prunekit.journal_mode(whole) == journal  # prune leaves the file's journal mode as it found it

    outcomes = []
    for i, fraction in enumerate(fractions):
        path = tmp_path / f"kill-{i}.db"
        shutil.copyfile(template, path)
        proc = prune(path, "--no-backup")
        time.sleep(fraction * window)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        gone = assert_whole(path, before, allowed, fraction)
        outcomes.append((fraction, gone))
        again = prune(path, "--no-backup")
        _, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
        assert prunekit.ids(path) == finished, fraction
        assert prunekit.health(path) == [], fraction
    # The kills did land inside the work: some part done, some not (else this proved nothing).
    assert any(0 < gone < total for _, gone in outcomes), outcomes


def test_sigkill_during_the_backup_deletes_nothing_and_leaves_no_backup_by_name(tmp_path: Path) -> None:
    path = prunekit.big(tmp_path / "memory.db")
    before = prunekit.ids(path)
    allowed = prunekit.deletable(path, prunekit.BIG_AGES)
    proc = prune(path)
    limit = time.monotonic() + 60
    partial: list[Path] = []
    while not partial and proc.poll() is None and time.monotonic() < limit:
        partial = list(tmp_path.glob("memory.db.bak-*.partial"))
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert partial, "the backup's partial file never appeared"
    assert assert_whole(path, before, allowed, "backup") == 0  # nothing deleted before the backup was whole
    # What a kill leaves is the unfinished copy under its .partial name (and, if the kill landed
    # inside one of the copy's transactions, that copy's own -journal): never a backup by name.
    assert all(p.name.endswith((".partial", ".partial-journal")) for p in helpers.backups(path))
    again = prune(path, "--no-backup")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    now = prunekit.ids(path)
    assert {t: now[t] for t in PRUNED} == {t: before[t] - allowed[t] for t in PRUNED}
