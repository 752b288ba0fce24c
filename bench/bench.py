"""Benchmark omega-db against the sqlite3 shell doing the same work on the same database.

    .venv/bin/python bench/bench.py                 # full size (1,000,000 outcomes), 9 rounds
    .venv/bin/python bench/bench.py --scale 0.05    # a quick run on a small database

Builds (once, cached in bench/cache/) a large 010 OMEGA database and its 013 twin (what
every OMEGA release since v0.2.0 leaves), then
measures each pair with the two sides alternating, on fresh copies where the job writes,
several rounds, and prints the medians and ratios. Not a test; never run in CI.

A pair for every command: migrate (without and with its backup), status, the three
listings as JSON, verify --quick and full, tables of 20,000 lessons and tasks against
`sqlite3 -box` (piped, and on a pseudo-terminal) with both sides' peak memory,
start-up; and the peak memory of a JSON export and of a table as their rows grow.
Then the pairs of every `bench/pairs_<command>.py` module whose command this omega-db has
(each module: `PAIRS`, its pairs' names and bars, and `pairs(rounds, db013, work, omega,
shell)`); a module that does not load, or whose command is absent, is reported as skipped.
`--only` picks pairs by name, built-in or a module's.
"""

from __future__ import annotations

import argparse
import compileall
import importlib
import importlib.util
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))  # the tests' copy of OMEGA's own 012 and 013

import build_db  # noqa: E402
from measure import Pair, Run, alternate, checked, on_terminal, peak, run  # noqa: E402

from tests.omega_runner import UPSTREAM  # noqa: E402

MIGRATION_011 = HERE.parent / "migrations" / "011_project_learning.sql"  # OMEGA's 011, word for word


def upstream_sql(work: Path) -> Path:
    """OMEGA's own 011, 012 and 013 as its runner applies them, each followed by its _migrations row."""
    parts = [MIGRATION_011.read_text(encoding="utf-8"),
             "INSERT INTO _migrations (name) VALUES ('011_project_learning');"]
    for number, name in (("012", "012_project_sessions"), ("013", "013_multi_lessons")):
        parts += [f"{statement};" for statement in UPSTREAM[number]]
        parts.append(f"INSERT INTO _migrations (name) VALUES ('{name}');")
    path = work / "upstream-011-013.sql"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path
PAIRS = ("migrate", "migrate-backup", "status", "lessons", "outcomes", "tasks", "verify", "verify-full",
         "lessons-table", "tasks-table", "lessons-tty", "tasks-tty", "startup", "memory", "table-memory")
# The bars, omega-db's median over the reference's (issues 11's and 20's goals; a pair without its own
# goal has its sibling's: migrate's, the listings' JSON, verify --quick's); memory in MiB.
BARS = {"migrate": 1.0, "migrate-backup": 1.05, "status": 1.2, "lessons": 1.2, "outcomes": 1.1, "tasks": 1.2,
        "verify": 1.0, "verify-full": 1.0, "lessons-table": 3.0, "tasks-table": 3.0, "lessons-tty": 3.0,
        "tasks-tty": 3.0, "startup": 1.2}
EXPORT_MIB = 60.0
TABLE_ROWS = 20_000  # the table pairs' rows
TABLE_MIB = 60.0  # the table's peak memory, at TABLE_ROWS and flat up to every outcome


def omega_cmd() -> list[str]:
    """The omega-db console script beside this interpreter (else python -m omega_db)."""
    script = Path(sys.executable).parent / "omega-db"
    return [str(script)] if script.exists() else [sys.executable, "-m", "omega_db"]


def has_command(omega: list[str], name: str) -> bool:
    """True if this omega-db has the subcommand."""
    return subprocess.run([*omega, name, "--help"], capture_output=True).returncode == 0


@dataclass
class Module:
    """A bench/pairs_<command>.py module: its command, its pairs' bars, its pairs(); or why it is skipped."""

    file: str
    command: str
    bars: dict[str, float] = field(default_factory=dict)
    pairs: Callable[..., list[Pair]] | None = None
    skipped: str = ""


def discover(omega: list[str], taken: set[str]) -> list[Module]:
    """Every bench/pairs_*.py in name order, loaded; skipped (with the reason) if it does not
    load, breaks the contract, reuses a pair's name, or its command is not in this omega-db."""
    found = []
    for path in sorted(HERE.glob("pairs_*.py")):
        module = Module(path.name, path.stem[len("pairs_"):])
        try:
            loaded = importlib.import_module(path.stem)
            module.bars = {str(name): float(bar) for name, bar in loaded.PAIRS.items()}
            module.pairs = loaded.pairs
            if not callable(module.pairs):
                raise TypeError("pairs is not a function")
        except Exception as exc:  # a broken module costs its own pairs only
            module.skipped = f"it does not load ({type(exc).__name__}: {exc})"
        else:
            if taken & module.bars.keys():
                module.skipped = f"its pair names {', '.join(sorted(taken & module.bars.keys()))} are taken"
            elif not has_command(omega, module.command):
                module.skipped = f"omega-db has no `{module.command}` command"
            taken |= module.bars.keys()
        found.append(module)
    return found


BUILT_IN_COMMANDS = {"migrate", "status", "lessons", "outcomes", "tasks", "verify"}


def unpaired(modules: list[Module]) -> list[str]:
    """omega-db's commands that neither a built-in pair nor a pairs module measures."""
    import typer.main

    from omega_db.cli import app

    covered = BUILT_IN_COMMANDS | {m.command for m in modules if not m.skipped}
    return sorted(set(typer.main.get_command(app).commands) - covered)  # type: ignore[attr-defined]


def run_module(module: Module, wanted: set[str], rounds: int, db013: Path, work: Path,
               omega: list[str], shell: str) -> list[Pair]:
    """The module's wanted pairs, measured; any it could not measure is a skipped pair saying why."""
    names = [name for name in module.bars if name in wanted]
    label = f"{{}} (bench/{module.file})"
    if not module.bars:  # it did not load: reported under its file name
        return [Pair(module.file, f"bench/{module.file}", skipped=module.skipped)]
    if not names:  # --only left out every pair of this module: measure none of them
        return []
    if module.skipped or module.pairs is None:
        return [Pair(name, label.format(name), skipped=module.skipped) for name in names]
    print(f"{module.file}: measuring {', '.join(names)}", flush=True)
    try:
        measured = {p.name: p for p in module.pairs(rounds, db013, work, omega, shell)}
    except (Exception, SystemExit) as exc:  # checked() exits on a failed run: report it, go on
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [Pair(name, label.format(name), skipped=f"its pairs() stopped: {why}") for name in names]
    for extra in sorted(measured.keys() - module.bars.keys()):
        print(f"bench: {module.file} measured {extra!r}, which its PAIRS does not name: left out")
    return [measured.get(name) or Pair(name, label.format(name), skipped="its pairs() did not measure it")
            for name in names]


def byte_compile() -> str:
    """Compile omega_db's modules as pip does on install; return their folder.

    An editable install run under PYTHONDONTWRITEBYTECODE would otherwise compile every
    module from source on every run, while Typer and the standard library come compiled.
    """
    spec = importlib.util.find_spec("omega_db")
    folder = Path(spec.origin).parent if spec and spec.origin else None
    if folder is None or not compileall.compile_dir(folder, quiet=1):
        sys.exit("bench: cannot byte-compile omega_db")
    return str(folder)


def same_structure(mine: Path, theirs: Path) -> bool:
    """Both files have the same tables, columns, constraints, indexes and triggers (omega-db's
    comparison: the CREATE texts differ, upstream's 013 renames a table it wrote otherwise)."""
    from omega_db.chain import compare, schema

    read = []
    for path in (mine, theirs):
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            read.append(schema.read(conn))
        finally:
            conn.close()
    return not compare.compare(read[0], read[1]) and not compare.compare(read[1], read[0])


def bench_migrate(rounds: int, db010: Path, work: Path, omega: list[str], shell: str) -> Pair:
    """migrate --no-backup (010 to 013) against the shell running OMEGA's own 011, 012 and 013, on fresh copies."""
    pair = Pair("migrate", "migrate --no-backup  vs  sqlite3 DB < OMEGA's 011-013")
    upstream = upstream_sql(work)
    mine, theirs = work / "omega.db", work / "shell.db"

    def copies() -> None:
        for path in (mine, theirs):
            shutil.copyfile(db010, path)

    def synced(cmd: list[str], **kw: Path) -> Run:
        os.sync()  # no write-back of a copy or of the other side during this run (not timed)
        return run(cmd, **kw)

    alternate(
        pair, rounds,
        lambda: checked(synced([*omega, "migrate", "--no-backup", str(mine)]), "omega-db migrate"),
        lambda: checked(synced([shell, str(theirs)], stdin=upstream), "sqlite3 < 011-013"),
        copies,
    )
    if not same_structure(mine, theirs):
        sys.exit("bench: omega-db migrate and the shell ended with different schemas")
    for path in (mine, theirs):
        path.unlink()
    return pair


def bench_migrate_backup(rounds: int, db010: Path, work: Path, omega: list[str], shell: str) -> Pair:
    """migrate with its online backup against the shell's .backup, then OMEGA's 011-013, on fresh copies."""
    pair = Pair("migrate-backup", "migrate (with its backup)  vs  sqlite3 .backup + OMEGA's 011-013")
    upstream = upstream_sql(work)
    mine, theirs = work / "omega.db", work / "shell.db"
    shell_backup = work / "shell.db.bak"

    def copies() -> None:
        for leftover in work.glob("*.bak*"):
            leftover.unlink()
        for path in (mine, theirs):
            shutil.copyfile(db010, path)
        os.sync()

    def synced(cmd: list[str]) -> Run:
        os.sync()
        return run(cmd)

    alternate(
        pair, rounds,
        lambda: checked(synced([*omega, "migrate", str(mine)]), "omega-db migrate"),
        lambda: checked(synced([shell, str(theirs), f".backup '{shell_backup}'", f".read '{upstream}'"]),
                        "sqlite3 .backup + 011-013"),
        copies,
    )
    if not same_structure(mine, theirs) or not list(work.glob("omega.db.bak-*")) or not shell_backup.exists():
        sys.exit("bench: migrate with a backup and the shell did not end alike")
    for leftover in [mine, theirs, *work.glob("*.bak*")]:
        leftover.unlink()
    return pair


STATUS_SQL = (
    "SELECT name, applied_at FROM _migrations ORDER BY name; "
    "SELECT project, count(*) FROM outcomes GROUP BY 1; "
    "SELECT project, count(*) FROM lessons GROUP BY 1; "
    "SELECT project, count(*) FROM scheduled_tasks WHERE status = 'pending' GROUP BY 1;"
)


def bench_status(rounds: int, db013: Path, omega: list[str], shell: str) -> Pair:
    """status -f json against the shell reading the history and counting each project's rows."""
    pair = Pair("status", "status -f json  vs  sqlite3 -json history + counts")
    print(f"status: the shell runs {STATUS_SQL}", flush=True)
    alternate(pair, rounds,
              lambda: checked(run([*omega, "status", str(db013), "-f", "json"]), "omega-db status"),
              lambda: checked(run([shell, "-json", str(db013), STATUS_SQL]), "sqlite3 status"))
    return pair


def _literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def tools_sql(db013: Path, kind: str, **filters: object) -> str:
    """omega-db's own plain query for a listing, its ? parameters written in as literals.

    So the shell answers exactly the question omega-db answers: same WHERE, same ORDER BY.
    """
    from omega_db.data import queries

    conn = sqlite3.connect(f"file:{db013}?mode=ro", uri=True)
    try:
        answer = getattr(queries, kind)(conn, **filters)
    finally:
        conn.close()
    params = list(answer.params)
    if answer.window and answer.question.limit:  # the listing fetches the window more, shows --limit rows
        params[-1] = answer.question.limit
    pieces = answer.sql.split("?")
    if len(pieces) != len(params) + 1:
        sys.exit(f"bench: cannot write the parameters into {answer.sql!r}")
    return pieces[0] + "".join(_literal(v) + rest for v, rest in zip(params, pieces[1:], strict=False))


def same_rows(mine: Path, theirs: Path) -> bool:
    """Both answers hold the same rows in the same order (parsed in a child: a million rows
    parsed here would inflate this process and every child's measured memory)."""
    check = [sys.executable, __file__, "--compare", str(mine), str(theirs)]
    return subprocess.run(check).returncode == 0


def compare(mine: str, theirs: str) -> int:
    """Exit status 0 if two JSON answers are equal; else say where they part."""
    a = json.loads(Path(mine).read_text(encoding="utf-8") or "[]")
    b = json.loads(Path(theirs).read_text(encoding="utf-8") or "[]")
    if a == b:
        return 0
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    print(f"bench: the answers differ at row {at} ({len(a)} rows against {len(b)})",
          file=sys.stderr)
    return 1


def bench_query(rounds: int, pair: Pair, args: list[str], sql: str, db013: Path, work: Path,
                omega: list[str], shell: str) -> Pair:
    """A listing as JSON against the shell's -json answering the same query."""
    if not has_command(omega, args[0]):
        pair.skipped = f"omega-db has no `{args[0]}` command"
        return pair
    print(f"{pair.name}: the shell runs omega-db's own query: {sql}", flush=True)
    theirs_cmd = [shell, "-json", str(db013), sql]
    mine, theirs = work / f"{pair.name}-omega.json", work / f"{pair.name}-shell.json"
    checked(run([*omega, *args], stdout=mine), f"omega-db {pair.name}")
    checked(run(theirs_cmd, stdout=theirs), f"sqlite3 {pair.name}")
    if not same_rows(mine, theirs):
        pair.skipped = f"omega-db {pair.name} and the shell disagree"
        return pair
    alternate(pair, rounds, lambda: checked(run([*omega, *args]), f"omega-db {pair.name}"),
              lambda: checked(run(theirs_cmd), f"sqlite3 {pair.name}"))
    return pair


def bench_verify(rounds: int, db013: Path, omega: list[str], shell: str) -> Pair:
    """verify --quick against PRAGMA quick_check."""
    pair = Pair("verify", "verify --quick  vs  sqlite3 DB 'PRAGMA quick_check'")
    if not has_command(omega, "verify"):
        pair.skipped = "omega-db has no `verify` command"
        return pair
    alternate(pair, rounds,
              lambda: checked(run([*omega, "verify", str(db013), "--quick"]), "omega-db verify"),
              lambda: checked(run([shell, str(db013), "PRAGMA quick_check"]), "quick_check"))
    return pair


def bench_verify_full(rounds: int, db013: Path, omega: list[str], shell: str) -> Pair:
    """Every check of verify against PRAGMA integrity_check alone."""
    pair = Pair("verify-full", "verify  vs  sqlite3 DB 'PRAGMA integrity_check'")
    alternate(pair, rounds,
              lambda: checked(run([*omega, "verify", str(db013)]), "omega-db verify"),
              lambda: checked(run([shell, str(db013), "PRAGMA integrity_check"]), "integrity_check"))
    return pair


def bench_table(rounds: int, pair: Pair, args: list[str], sql: str, work: Path, omega: list[str],
                shell: str, *, terminal: bool = False) -> Pair:
    """A listing as a table against the shell's -box on the same query; then both sides' peak memory."""
    theirs_cmd = [shell, "-box", args[1], sql]
    mine_cmd = [*omega, *args]
    print(f"{pair.name}: the shell runs sqlite3 -box with omega-db's own query: {sql}", flush=True)
    out = work / f"{pair.name}.txt"
    checked(run(mine_cmd, stdout=out), f"omega-db {pair.name}")
    conn = sqlite3.connect(f"file:{args[1]}?mode=ro", uri=True)
    try:
        rows = conn.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]
    finally:
        conn.close()
    text = out.read_text(encoding="utf-8")
    lines = text.count("\n")
    window = int("── the agent sees" in text)  # the line where the agent's 50 lessons end
    if lines != rows + 4 + window:  # title, header, rule, the rows, their count
        sys.exit(f"bench: omega-db {pair.name} wrote {lines} lines, not {rows} rows and {4 + window} more")
    side = on_terminal if terminal else run
    alternate(pair, rounds, lambda: checked(side(mine_cmd), f"omega-db {pair.name}"),
              lambda: checked(side(theirs_cmd), f"sqlite3 -box {pair.name}"))
    for name, cmd in (("omega", mine_cmd), ("reference", theirs_cmd)):
        kib = [checked(peak(cmd, work), f"{name} {pair.name}").maxrss_kib for _ in range(3)]
        pair.peak_mib[name] = statistics.median(kib) / 1024
    return pair


def bench_startup(runs: int, omega: list[str]) -> Pair:
    """omega-db --version against importing Typer on the same interpreter."""
    pair = Pair("startup", "omega-db --version  vs  python -c 'import typer'")
    alternate(pair, runs, lambda: checked(run([*omega, "--version"]), "omega-db --version"),
              lambda: checked(run([sys.executable, "-c", "import typer"]), "import typer"))
    return pair


def bench_memory(rounds: int, db013: Path, work: Path, omega: list[str],
                 total: int) -> list[tuple[int, float]]:
    """Peak memory (MiB) of `outcomes -f json` as the exported rows grow: [(rows, MiB)]."""
    if not has_command(omega, "outcomes"):
        return []
    peaks = []
    for rows in (total // 100, total // 10, total):
        limit = "0" if rows == total else str(rows)
        cmd = [*omega, "outcomes", str(db013), "--limit", limit, "-f", "json"]
        kib = [checked(peak(cmd, work), "omega-db outcomes").maxrss_kib for _ in range(rounds)]
        peaks.append((rows, statistics.median(kib) / 1024))
    return peaks


def bench_table_memory(rounds: int, db013: Path, work: Path, omega: list[str],
                       total: int) -> list[tuple[int, float]]:
    """Peak memory (MiB) of `outcomes` drawn as a table as its rows grow: [(rows, MiB)]."""
    peaks = []
    for rows in (TABLE_ROWS, total // 10, total):
        limit = "0" if rows == total else str(rows)
        cmd = [*omega, "outcomes", str(db013), "--limit", limit]
        kib = [checked(peak(cmd, work), "omega-db outcomes (table)").maxrss_kib for _ in range(rounds)]
        peaks.append((rows, statistics.median(kib) / 1024))
    return peaks


def machine() -> str:
    """Cores, CPU model, system, Python and SQLite versions."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = [ln for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        model = found[0].split(":", 1)[1].strip() if found else model
    shell = subprocess.run(["sqlite3", "--version"], capture_output=True, text=True).stdout
    return (f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()} with SQLite {sqlite3.sqlite_version}, "
            f"sqlite3 shell {shell.split(' ')[0]}")


def report(pairs: list[Pair], bars: dict[str, float], peaks: list[tuple[int, float]] | None,
           table_peaks: list[tuple[int, float]] | None, scale: float) -> None:
    """The table of medians and ratios (and peak memory where measured), then one line with every ratio."""
    print(f"\n{'pair (omega-db  vs  reference)':<58} {'omega-db':>9} {'reference':>9} "
          f"{'ratio':>6}  bar")
    last = []
    for p in pairs:
        if p.skipped:
            print(f"{p.label:<58} skipped: {p.skipped}")
            last.append(f"{p.name}=n/a")
            continue
        ratio, bar = p.ratio(), bars[p.name]
        line = (f"{p.label:<58} {p.median('omega'):>8.3f}s {p.median('reference'):>8.3f}s "
                f"{ratio:>5.2f}x  <= {bar}x {'ok' if ratio <= bar else 'OVER'}")
        if p.peak_mib:
            mine, theirs = p.peak_mib["omega"], p.peak_mib["reference"]
            line += (f"; peak {mine:.1f} MiB (sqlite3 {theirs:.1f} MiB) <= {TABLE_MIB:.0f} MiB "
                     f"{'ok' if mine <= TABLE_MIB else 'OVER'}")
        print(line)
        last.append(f"{p.name}={ratio:.2f}x")
    for label, found, bar, key in (
        ("peak memory of outcomes --limit N -f json", peaks, EXPORT_MIB, "export_peak"),
        ("peak memory of outcomes --limit N (table)", table_peaks, TABLE_MIB, "table_peak"),
    ):
        if found:
            top = max(mib for _, mib in found)
            print(f"{label:<58} " + ", ".join(f"{rows:,} rows {mib:.1f} MiB" for rows, mib in found)
                  + f"  <= {bar:.0f} MiB {'ok' if top <= bar else 'OVER'}")
            last.append(f"{key}={found[-1][1]:.1f}MiB")
    print("ratios: " + " ".join(last))
    if scale != 1:
        print(f"(scale {scale:g}: the bars are for the full size, --scale 1; on a small "
              "database Python's fixed start-up dominates)")


def main() -> None:
    """Parse the options, build or reuse the databases, measure, report."""
    if sys.argv[1:2] == ["--compare"]:
        sys.exit(compare(*sys.argv[2:4]))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0,
                        help="database size (1 = 1,000,000 outcomes)")
    parser.add_argument("--rounds", type=int, default=9, help="rounds per pair (medians)")
    parser.add_argument("--startup-runs", type=int, default=10,
                        help="start-up runs per side per round")
    omega = omega_cmd()
    modules = discover(omega, set(PAIRS))
    names = [*PAIRS, *(name for m in modules for name in m.bars)]
    bars = {**BARS, **{name: bar for m in modules for name, bar in m.bars.items()}}
    parser.add_argument("--only", default=",".join(names), help="comma list of " + ",".join(names))
    parser.add_argument("--cache", type=Path, default=HERE / "cache",
                        help="where the databases are kept")
    parser.add_argument("--rebuild", action="store_true", help="build the databases again")
    parser.add_argument("--runs", action="store_true", help="also print every run's time")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    if wanted - set(names):
        parser.error(f"--only: unknown {', '.join(sorted(wanted - set(names)))}")
    shell = shutil.which("sqlite3")
    if not shell:
        sys.exit("bench: the sqlite3 shell is not on PATH")
    compiled = byte_compile()
    db010, db013 = build_db.ensure(args.cache, args.scale, rebuild=args.rebuild)
    n = build_db.counts(args.scale)
    started = time.monotonic()
    print(f"omega-db benchmark: scale {args.scale:g}, {args.rounds} rounds, medians; "
          "the sides alternate every round")
    print(f"command: python bench/bench.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f} at start")
    print(f"database: {n['outcomes']:,} outcomes, {n['lessons']:,} lessons, "
          f"{n['scheduled_tasks']:,} tasks, {n['messages']:,} messages in "
          f"{n['conversations']:,} conversations, {n['audit_log']:,} audit rows, facts; "
          f"010 file {db010.stat().st_size / 2**20:.0f} MiB, 013 file "
          f"{db013.stat().st_size / 2**20:.0f} MiB")
    print(f"omega-db: {' '.join(omega)} (byte-compiled {compiled}); shell: {shell}", flush=True)
    for module in modules:
        state = f"skipped: {module.skipped}" if module.skipped else f"pairs {', '.join(module.bars)}"
        print(f"bench/{module.file}: {state}", flush=True)
    print(f"commands without pairs (no bench/pairs_<command>.py): {', '.join(unpaired(modules)) or 'none'}",
          flush=True)

    work = Path(tempfile.mkdtemp(prefix="work-", dir=args.cache))
    pairs: list[Pair] = []
    peaks: list[tuple[int, float]] | None = None
    table_peaks: list[tuple[int, float]] | None = None
    project = build_db.QUERY_PROJECT
    rounds = args.rounds
    try:
        if "migrate" in wanted:
            pairs.append(bench_migrate(rounds, db010, work, omega, shell))
        if "migrate-backup" in wanted:
            pairs.append(bench_migrate_backup(rounds, db010, work, omega, shell))
        if "status" in wanted:
            pairs.append(bench_status(rounds, db013, omega, shell))
        if "lessons" in wanted:
            pair = Pair("lessons", f"lessons --project {project} -f json  vs  sqlite3 -json")
            sql = tools_sql(db013, "lessons", project=project)
            argv = ["lessons", str(db013), "--project", project, "-f", "json"]
            pairs.append(bench_query(rounds, pair, argv, sql, db013, work, omega, shell))
        if "outcomes" in wanted:
            pair = Pair("outcomes", "outcomes --limit 0 -f json  vs  sqlite3 -json")
            sql = tools_sql(db013, "outcomes", limit=0)
            argv = ["outcomes", str(db013), "--limit", "0", "-f", "json"]
            pairs.append(bench_query(rounds, pair, argv, sql, db013, work, omega, shell))
        if "tasks" in wanted:
            pair = Pair("tasks", "tasks --status all -f json  vs  sqlite3 -json")
            sql = tools_sql(db013, "tasks", status="all")
            argv = ["tasks", str(db013), "--status", "all", "-f", "json"]
            pairs.append(bench_query(rounds, pair, argv, sql, db013, work, omega, shell))
        if "verify" in wanted:
            pairs.append(bench_verify(rounds, db013, omega, shell))
        if "verify-full" in wanted:
            pairs.append(bench_verify_full(rounds, db013, omega, shell))
        n_rows = str(TABLE_ROWS)
        for name, kind, label, terminal in (
            ("lessons-table", "lessons", f"lessons --limit {TABLE_ROWS:,} (table, piped)  vs  sqlite3 -box", False),
            ("tasks-table", "tasks", f"tasks --limit {TABLE_ROWS:,} (table, piped)  vs  sqlite3 -box", False),
            ("lessons-tty", "lessons", f"lessons --limit {TABLE_ROWS:,} on a terminal  vs  sqlite3 -box", True),
            ("tasks-tty", "tasks", f"tasks --limit {TABLE_ROWS:,} on a terminal  vs  sqlite3 -box", True),
        ):
            if name in wanted:
                sql = tools_sql(db013, kind, limit=TABLE_ROWS)
                pairs.append(bench_table(rounds, Pair(name, label), [kind, str(db013), "--limit", n_rows], sql,
                                         work, omega, shell, terminal=terminal))
        if "startup" in wanted:
            pairs.append(bench_startup(rounds * args.startup_runs, omega))
        if "memory" in wanted:
            peaks = bench_memory(max(1, rounds // 2), db013, work, omega, n["outcomes"])
        if "table-memory" in wanted:
            table_peaks = bench_table_memory(max(1, rounds // 2), db013, work, omega, n["outcomes"])
        for module in modules:
            pairs += run_module(module, wanted, rounds, db013, work, omega, shell)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"(measured in {time.monotonic() - started:.0f} s; load average "
          f"{os.getloadavg()[0]:.2f} at the end)")
    if args.runs:
        for p in pairs:
            for side in ("omega", "reference"):
                times = " ".join(f"{r.seconds:.3f}" for r in getattr(p, side))
                print(f"{p.name} {side}: {times}")
    report(pairs, bars, peaks, table_peaks, args.scale)


if __name__ == "__main__":
    main()
