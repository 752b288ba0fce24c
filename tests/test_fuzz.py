"""Fuzz: every command on damaged files answers in one sentence at most, and never does harm.

Each case damages a populated database (random bytes, a truncation, a zeroed page, a page
copied over another, a damaged header; see fuzzkit) and runs every command on it, in every
format: exit 0, 1 or 2; at most one error sentence and nothing after it; no traceback, no
"unexpected" error, no hang; JSON that parses and CSV that parses whenever the exit is 0.
Read commands change no byte. migrate leaves the file unchanged or at a migration boundary
(and no worse than it found it); backup and restore check what they write.

The default run is small (DEFAULT_CASES); a long run raises the count, and splits by seed:

    OMEGA_DB_FUZZ_CASES=2000 .venv/bin/python -m pytest tests/test_fuzz.py -q
    OMEGA_DB_FUZZ_SEED=1000 OMEGA_DB_FUZZ_CASES=1000 .venv/bin/python -m pytest tests/test_fuzz.py -q

A failure names its seed; the case is made from its seed alone, so it replays with
OMEGA_DB_FUZZ_SEED=17 OMEGA_DB_FUZZ_CASES=1. A command still running after --timeout plus
15 s is interrupted and reported as a hang (one stuck in C stops the run: see fuzzkit.HANG_LOG).
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import helpers
from tests.fuzzkit import (
    BAD_BACKUP,
    BASES,
    CASES_ENV,
    DEFAULT_CASES,
    GOOD_BACKUP,
    ODD_VALUES,
    SEED_ENV,
    TIMEOUT,
    Answer,
    Case,
    breaks,
    build_base,
    chain_names,
    fmt_of,
    make_case,
    plant_value,
    quick_check,
    recorded,
    run,
    run_process,
    snapshot,
    unchanged,
)

CASES = int(os.environ.get(CASES_ENV, DEFAULT_CASES))
FIRST = int(os.environ.get(SEED_ENV, 0))
WAIT = ("--timeout", str(TIMEOUT))

# The read commands, in every format they take: they must change no byte.
READS: list[list[str]] = [
    ["status"], ["status", "-f", "json"],
    ["verify"], ["verify", "-f", "json"], ["verify", "--quick", "-f", "json"],
    ["lessons"], ["lessons", "--project", "alpha", "-f", "json"], ["lessons", "--injected", "-f", "csv"],
    ["lessons", "--project", "alpha", "--injected"],
    ["outcomes", "--limit", "0", "-f", "json"], ["outcomes", "--limit", "0", "-f", "csv"], ["outcomes"],
    ["tasks", "--status", "all", "-f", "csv"], ["tasks", "--status", "all", "-f", "json"], ["tasks", "--status", "all"],
    ["backups"], ["backups", "-f", "json"],
    ["migrate", "--dry-run"], ["migrate", "--dry-run", "-f", "json"],
]
MIGRATES: list[list[str]] = [["migrate"], ["migrate", "--no-backup", "-f", "json"], ["migrate", "--repair"]]


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Each base database's bytes: built once, damaged anew by every case."""
    folder = tmp_path_factory.mktemp("fuzz-bases")
    return {base: build_base(folder / f"{base}.db", base).read_bytes() for base in sorted(set(BASES))}


class Campaign:
    """One case's runs and every contract break found in them."""

    def __init__(self, case: Case, good: bytes, folder: Path) -> None:
        self.case, self.good, self.folder = case, good, folder
        self.runner = CliRunner()
        self.problems: list[str] = []

    def place(self, name: str, files: dict[str, bytes]) -> Path:
        """A fresh folder holding files; the database's path in it."""
        folder = self.folder / name
        folder.mkdir()
        for file, data in files.items():
            (folder / file).write_bytes(data)
        return folder / "memory.db"

    def judge(self, answer: Answer, extra: list[str] = ()) -> None:  # type: ignore[assignment]
        for problem in [*breaks(answer, fmt_of(answer.args)), *extra]:
            self.problems.append(f"{answer}: {problem}")

    def reads(self) -> None:
        """Every read command on the damaged file, beside a good and a damaged backup: no byte changes."""
        path = self.place("read", {"memory.db": self.case.data, GOOD_BACKUP: self.good, BAD_BACKUP: self.case.data})
        before = snapshot(path.parent)
        for args in READS:
            answer = run(self.runner, args[0], str(path), *args[1:], *WAIT)
            self.judge(answer, unchanged(before, snapshot(path.parent)))
            before = snapshot(path.parent)  # report each change once, after the command that made it
        # One of them again as a real process: no test runner between it and the terminal.
        args = random.Random(self.case.seed).choice(READS)
        self.judge(run_process(args[0], str(path), *args[1:], *WAIT), unchanged(before, snapshot(path.parent)))

    def migrates(self) -> None:
        """migrate leaves the file as it was, or at a later migration boundary, no less whole."""
        whole = quick_check(self.folder / "read" / "memory.db")
        history = recorded(self.folder / "read" / "memory.db")
        for i, args in enumerate(MIGRATES):
            path = self.place(f"migrate-{i}", {"memory.db": self.case.data})
            answer = run(self.runner, args[0], str(path), *args[1:], *WAIT)
            self.judge(answer, self.migrated(path, whole, history))

    def migrated(self, path: Path, whole: bool, history: list[str] | None) -> list[str]:
        problems = [f"{made.name} fails quick_check" for made in helpers.backups(path) if not quick_check(made)]
        if path.read_bytes() == self.case.data:
            return problems
        after = recorded(path)
        if after is None or history is None:
            return [*problems, f"the file changed; its history was {history}, is now {after}"]
        pending = [name for name in chain_names() if name not in history]
        added = [name for name in after if name not in history]
        if not set(history) <= set(after) or added != pending[: len(added)]:
            problems.append(f"the history went from {history} to {after}: not a migration boundary")
        if whole and not quick_check(path):
            problems.append("the file passed quick_check before migrate and fails it after")
        return problems

    def backup(self) -> None:
        """backup reads the damaged file; a copy it names passed quick_check; a refusal leaves nothing."""
        path = self.place("backup", {"memory.db": self.case.data})
        for fmt in ("json", "table"):
            before = snapshot(path.parent)
            answer = run(self.runner, "backup", str(path), "-f", fmt, *WAIT)
            made = [name for name in snapshot(path.parent) if name not in before and ".bak-" in name]
            problems = unchanged(before, snapshot(path.parent))
            if answer.code == 0:  # one new file, the backup, whole
                problems = [p for p in problems if p not in [f"{name} appeared" for name in made[:1]]]
                if len(made) != 1 or not quick_check(path.parent / made[0]):
                    problems.append(f"it made {made}, not one backup that passes quick_check")
            self.judge(answer, problems)

    def restores(self) -> None:
        """A damaged backup over a good database, and a good backup over the damaged database."""
        path = self.place("restore-bad", {"memory.db": self.good, BAD_BACKUP: self.case.data})
        before = snapshot(path.parent)
        answer = run(self.runner, "restore", str(path.parent / BAD_BACKUP), str(path), "--yes", "-f", "json", *WAIT)
        problems = unchanged(before, snapshot(path.parent)) if answer.code else []
        if answer.code == 0 and not quick_check(path):
            problems.append("it restored a backup that fails quick_check")
        self.judge(answer, problems)

        path = self.place("restore-good", {"memory.db": self.case.data, GOOD_BACKUP: self.good})
        before = snapshot(path.parent)
        answer = run(self.runner, "restore", str(path.parent / GOOD_BACKUP), str(path), "--yes", *WAIT)
        if answer.code != 0:  # restoring a good backup is what a damaged database needs most
            problems = ["a good backup was not restored over the damaged database",
                        *unchanged(before, snapshot(path.parent))]
        else:
            kept = [made for made in helpers.backups(path) if made.name not in (GOOD_BACKUP,)]
            problems = [] if len(kept) == 1 else [f"the replaced database was kept as {kept}"]
            good = self.place("good", {"memory.db": self.good})
            if helpers.dump(path) != helpers.dump(good):
                problems.append("the restored database does not hold the backup's rows")
        self.judge(answer, problems)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed_{s}") for s in range(FIRST, FIRST + CASES)])
def test_every_command_answers_a_damaged_file(seed: int, bases: dict[str, bytes], tmp_path: Path) -> None:
    case = make_case(seed, bases)
    campaign = Campaign(case, bases[case.base], tmp_path)
    try:
        campaign.reads()
        campaign.migrates()
        campaign.backup()
        campaign.restores()
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)  # a long run must not fill the disk
    assert not campaign.problems, f"{case}:\n" + "\n".join(campaign.problems)


def test_cases_are_made_from_their_seed_alone(bases: dict[str, bytes]) -> None:
    """Replaying a seed gives the same damaged file: a failure found in a long run can be rerun."""
    assert make_case(7, bases) == make_case(7, bases)
    assert {make_case(s, bases).kind for s in range(40)} == {"bytes", "truncate", "zero-page", "copy-page", "header"}


# Where OMEGA writes text and omega-db reads it: the history, the projects, the listed columns.
TEXT_PLACES = [
    ("_migrations", "name", "rowid = 12"),
    ("_migrations", "applied_at", "rowid = 3"),
    ("outcomes", "project", "rowid = 2"),
    ("outcomes", "timestamp", "rowid = 6"),
    ("outcomes", "score", "rowid = 5"),
    ("lessons", "rule", "rowid = 2"),
    ("lessons", "project", "rowid = 3"),
    ("lessons", "updated_at", "rowid = 7"),
    ("scheduled_tasks", "due_at", "rowid = 4"),
    ("scheduled_tasks", "status", "rowid = 1"),
    ("messages", "content", "rowid = 1"),
]


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(ODD_VALUES))
@pytest.mark.parametrize(("table", "column", "where"), TEXT_PLACES, ids=[f"{t}.{c}" for t, c, _ in TEXT_PLACES])
def test_every_read_command_answers_a_value_of_the_wrong_type(
    table: str, column: str, where: str, kind: str, bases: dict[str, bytes], tmp_path: Path
) -> None:
    """Random bytes rarely give a text column a BLOB, a number or a NULL: this gives each, everywhere.
    (A BLOB _migrations.name once broke status, verify and migrate with an unexpected TypeError.)"""
    path = tmp_path / "memory.db"
    path.write_bytes(bases["013"])
    plant_value(path, table, column, where, ODD_VALUES[kind])
    runner = CliRunner()
    before = snapshot(tmp_path)
    problems = []
    for args in READS:
        answer = run(runner, args[0], str(path), *args[1:], *WAIT)
        problems += [f"{answer}: {p}" for p in [*breaks(answer, fmt_of(args)), *unchanged(before, snapshot(tmp_path))]]
    assert not problems, "\n".join(problems)
