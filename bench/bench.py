"""Benchmark omega-db against the sqlite3 shell doing the same work on the same database.

    python bench/bench.py                 # full size (1,000,000 outcomes), 5 rounds
    python bench/bench.py --scale 0.05    # a quick run on a small database

Builds (once, cached in bench/cache/) a large 010 OMEGA database and its 011 twin, then
measures each pair in alternating order on fresh copies, several rounds, and prints the
medians and ratios. Not a test; never run in CI.
"""

from __future__ import annotations

import argparse
import compileall
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

import build_db  # noqa: E402

MIGRATION_011 = HERE.parent / "migrations" / "011_project_learning.sql"
# Bars from issue 6: omega-db's median over the shell's (memory: MiB).
BARS = {"migrate": 1.2, "lessons": 1.5, "outcomes": 1.3, "verify": 1.5, "startup": 1.3, "export_mib": 60.0}


# Children run as in a user's shell: Python may write its bytecode caches, so a module edited
# since the last byte-compile is compiled once, not on every run.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@dataclass
class Run:
    """One process: wall time, peak resident memory, exit status, what it said on stderr."""

    seconds: float
    maxrss_kib: int
    code: int
    stderr: str


@dataclass
class Pair:
    """omega-db and the shell doing the same job, measured alternately."""

    name: str
    label: str
    omega: list[Run] = field(default_factory=list)
    shell: list[Run] = field(default_factory=list)
    skipped: str = ""

    def median(self, side: str) -> float:
        return statistics.median(r.seconds for r in getattr(self, side))

    def ratio(self) -> float:
        return self.median("omega") / self.median("shell")


def run(cmd: list[str], *, stdin: Path | None = None, stdout: Path | None = None) -> Run:
    """Run cmd to completion; time it and read its peak memory from wait4's rusage."""
    with tempfile.TemporaryFile() as err, open(stdin or os.devnull, "rb") as inp, \
            open(stdout or os.devnull, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=inp, stdout=out, stderr=err, env=CHILD_ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = code = os.waitstatus_to_exitcode(status)  # already reaped
        err.seek(0)
        return Run(seconds, usage.ru_maxrss, code, err.read().decode(errors="replace"))


# A child's ru_maxrss starts from the RSS of the process that forked it, so peak memory is
# read by this small launcher (a few MiB) rather than by the benchmark itself.
LAUNCHER = (
    "import os, sys\n"
    "pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def peak_kib(cmd: list[str], work: Path) -> Run:
    """Run cmd under the launcher; the Run's maxrss_kib is cmd's own peak."""
    report = work / "maxrss"
    r = run([sys.executable, "-S", "-c", LAUNCHER, str(report), *cmd])
    if r.code == 0:
        r.maxrss_kib = int(report.read_text())
    return r


def checked(r: Run, what: str, ok: tuple[int, ...] = (0,)) -> Run:
    """r, or stop the benchmark if the process failed."""
    if r.code not in ok:
        sys.exit(f"bench: {what} failed with exit {r.code}:\n{r.stderr[-2000:]}")
    return r


def omega_cmd() -> list[str]:
    """The omega-db console script beside this interpreter (else python -m omega_db)."""
    script = Path(sys.executable).parent / "omega-db"
    return [str(script)] if script.exists() else [sys.executable, "-m", "omega_db"]


def has_command(omega: list[str], name: str) -> bool:
    """True if this omega-db has the subcommand (others may still be writing it)."""
    return subprocess.run([*omega, name, "--help"], capture_output=True).returncode == 0


def alternate(pair: Pair, rounds: int, omega: Callable[[], Run], shell: Callable[[], Run],
              prepare: Callable[[], None] | None = None) -> None:
    """Run both sides rounds times, swapping which goes first every round."""
    for i in range(rounds):
        if prepare:
            prepare()
        sides = [("omega", omega), ("shell", shell)]
        for side, fn in sides if i % 2 == 0 else reversed(sides):
            getattr(pair, side).append(fn())


def schema(path: Path) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").fetchall()
    finally:
        conn.close()


def bench_migrate(args, db010: Path, work: Path, omega: list[str], shell: str) -> Pair:
    pair = Pair("migrate", "migrate --no-backup  vs  sqlite3 DB < 011.sql")
    a, b = work / "omega.db", work / "shell.db"

    def prepare() -> None:
        for path in (a, b):
            shutil.copyfile(db010, path)

    def synced(cmd: list[str], **kw: Path) -> Run:
        os.sync()  # the other side's writes must not be flushed during this run (not timed)
        return run(cmd, **kw)

    alternate(pair, args.rounds,
              lambda: checked(synced([*omega, "migrate", "--no-backup", str(a)]), "omega-db migrate"),
              lambda: checked(synced([shell, str(b)], stdin=MIGRATION_011), "sqlite3 < 011.sql"),
              prepare)
    if schema(a) != schema(b):
        sys.exit("bench: omega-db migrate and the shell ended with different schemas")
    for path in (a, b):
        path.unlink()
    return pair


def _literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def tools_sql(db011: Path, kind: str, **filters: object) -> str:
    """omega-db's own plain query for a listing, its ? parameters written in as literals.

    The shell then answers exactly the question omega-db answers (same WHERE, same ORDER BY).
    """
    from omega_db import queries

    conn = sqlite3.connect(f"file:{db011}?mode=ro", uri=True)
    try:
        answer = getattr(queries, kind)(conn, **filters)
    finally:
        conn.close()
    pieces = answer.sql.split("?")
    if len(pieces) != len(answer.params) + 1:
        sys.exit(f"bench: cannot inline the parameters of {answer.sql!r}")
    return pieces[0] + "".join(_literal(v) + rest for v, rest in zip(answer.params, pieces[1:]))


def same_rows(omega_out: Path, shell_out: Path) -> bool:
    """Both answers hold the same rows in the same order.

    Runs in a child process: parsing a million rows here would inflate this process.
    """
    return subprocess.run([sys.executable, __file__, "--compare", str(omega_out), str(shell_out)]).returncode == 0


def compare(omega_out: str, shell_out: str) -> int:
    mine = json.loads(Path(omega_out).read_text(encoding="utf-8") or "[]")
    theirs = json.loads(Path(shell_out).read_text(encoding="utf-8") or "[]")
    if mine == theirs:
        return 0
    at = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), min(len(mine), len(theirs)))
    print(f"bench: the answers differ at row {at} ({len(mine)} rows against {len(theirs)})", file=sys.stderr)
    return 1


def bench_query(args, name: str, label: str, omega_args: list[str], sql: str, db011: Path, work: Path, omega: list[str], shell: str) -> Pair:
    pair = Pair(name, label)
    if not has_command(omega, omega_args[0]):
        pair.skipped = f"omega-db has no `{omega_args[0]}` command yet"
        return pair
    print(f"{name}: the shell runs omega-db's own query: {sql}", flush=True)
    mine, theirs = work / f"{name}-omega.json", work / f"{name}-shell.json"
    checked(run([*omega, *omega_args], stdout=mine), f"omega-db {name}")
    checked(run([shell, "-json", str(db011), sql], stdout=theirs), f"sqlite3 {name}")
    if not same_rows(mine, theirs):
        pair.skipped = f"omega-db {name} and the shell disagree"
        return pair
    mine.unlink()
    theirs.unlink()
    alternate(pair, args.rounds,
              lambda: checked(run([*omega, *omega_args]), f"omega-db {name}"),
              lambda: checked(run([shell, "-json", str(db011), sql]), f"sqlite3 {name}"))
    return pair


def bench_verify(args, db011: Path, omega: list[str], shell: str) -> Pair:
    pair = Pair("verify", "verify --quick  vs  sqlite3 DB 'PRAGMA quick_check'")
    if not has_command(omega, "verify"):
        pair.skipped = "omega-db has no `verify` command yet"
        return pair
    alternate(pair, args.rounds,
              lambda: checked(run([*omega, "verify", str(db011), "--quick"]), "omega-db verify --quick"),
              lambda: checked(run([shell, str(db011), "PRAGMA quick_check"]), "sqlite3 quick_check"))
    return pair


def bench_startup(args, omega: list[str]) -> Pair:
    pair = Pair("startup", "omega-db --version  vs  python -c 'import typer'")
    alternate(pair, args.rounds * args.startup_runs,
              lambda: checked(run([*omega, "--version"]), "omega-db --version"),
              lambda: checked(run([sys.executable, "-c", "import typer"]), "import typer"))
    return pair


def bench_memory(args, db011: Path, work: Path, omega: list[str], total: int) -> list[tuple[int, float]]:
    """Peak memory (MiB) of `outcomes -f json` as the exported rows grow: [(rows, MiB)]."""
    if not has_command(omega, "outcomes"):
        return []
    peaks = []
    for rows in (total // 100, total // 10, total):
        limit = "0" if rows == total else str(rows)
        rss = [checked(peak_kib([*omega, "outcomes", str(db011), "--limit", limit, "-f", "json"], work),
                       "omega-db outcomes").maxrss_kib for _ in range(max(1, args.rounds // 2))]
        peaks.append((rows, statistics.median(rss) / 1024))
    return peaks


def byte_compile() -> str:
    """Compile omega-db's modules as pip does on install.

    An editable install run under PYTHONDONTWRITEBYTECODE would otherwise compile every module
    from source on every run, while Typer's and the standard library's come compiled.
    """
    spec = importlib.util.find_spec("omega_db")
    folder = Path(spec.origin).parent if spec and spec.origin else None
    if folder is None or not compileall.compile_dir(folder, quiet=1):
        sys.exit("bench: cannot byte-compile omega_db")
    return str(folder)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    shell_version = subprocess.run([shutil.which("sqlite3") or "sqlite3", "--version"],
                                   capture_output=True, text=True).stdout.split(" ")[0]
    return (f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()} (SQLite {sqlite3.sqlite_version}), "
            f"sqlite3 shell {shell_version}")


def report(pairs: list[Pair], peaks: list[tuple[int, float]] | None, scale: float) -> None:
    print(f"\n{'pair (omega-db  vs  reference)':<52} {'omega-db':>10} {'reference':>10} {'ratio':>7}  bar")
    last = []
    for p in pairs:
        if p.skipped:
            print(f"{p.label:<52} skipped: {p.skipped}")
            last.append(f"{p.name}=n/a")
            continue
        ratio, bar = p.ratio(), BARS[p.name]
        verdict = "ok" if ratio <= bar else "OVER"
        print(f"{p.label:<52} {p.median('omega'):>9.3f}s {p.median('shell'):>9.3f}s "
              f"{ratio:>6.2f}x  <= {bar}x {verdict}")
        last.append(f"{p.name}={ratio:.2f}x")
    if peaks:
        growth = ", ".join(f"{rows:,} rows {mib:.1f} MiB" for rows, mib in peaks)
        peak = max(mib for _, mib in peaks)
        verdict = "ok" if peak <= BARS["export_mib"] else "OVER"
        print(f"{'peak memory of outcomes --limit N -f json':<52} {growth}  <= {BARS['export_mib']:.0f} MiB {verdict}")
        last.append(f"export_peak={peaks[-1][1]:.1f}MiB")
    elif peaks is not None:
        print("peak memory of the JSON export: skipped (omega-db has no `outcomes` command yet)")
        last.append("export_peak=n/a")
    print("ratios: " + " ".join(last))
    if scale != 1:
        print(f"(scale {scale:g}: the bars are for the full size, --scale 1; small databases show Python's fixed start-up cost)")


def main() -> None:
    if sys.argv[1:2] == ["--compare"]:
        sys.exit(compare(*sys.argv[2:4]))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="database size (1 = 1,000,000 outcomes)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per pair (medians are reported)")
    parser.add_argument("--startup-runs", type=int, default=10, help="start-up runs per side per round")
    parser.add_argument("--only", default="", help="comma list of pairs: migrate,lessons,outcomes,verify,startup,memory")
    parser.add_argument("--cache", type=Path, default=HERE / "cache", help="where the databases are kept")
    parser.add_argument("--rebuild", action="store_true", help="build the databases again")
    args = parser.parse_args()
    wanted = set(filter(None, args.only.split(","))) or {"migrate", "lessons", "outcomes", "verify", "startup", "memory"}
    shell = shutil.which("sqlite3")
    if not shell:
        sys.exit("bench: the sqlite3 shell is not on PATH")
    omega = omega_cmd()
    compiled = byte_compile()

    db010, db011 = build_db.ensure(args.cache, args.scale, rebuild=args.rebuild)
    n = build_db.counts(args.scale)
    print(f"omega-db benchmark: scale {args.scale:g}, {args.rounds} rounds, medians; sides alternate each round")
    print(f"machine: {machine()}")
    print(f"database: {n['outcomes']:,} outcomes, {n['lessons']:,} lessons, {n['scheduled_tasks']:,} tasks, "
          f"{n['messages']:,} messages in {n['conversations']:,} conversations, {n['audit_log']:,} audit rows, "
          f"facts; 010 file {db010.stat().st_size / 2**20:.0f} MiB, 011 file {db011.stat().st_size / 2**20:.0f} MiB")
    print(f"omega-db: {' '.join(omega)} (modules byte-compiled in {compiled}); shell: {shell}", flush=True)

    work = Path(tempfile.mkdtemp(prefix="work-", dir=args.cache))
    pairs: list[Pair] = []
    peaks: list[tuple[int, float]] | None = None
    try:
        if "migrate" in wanted:
            pairs.append(bench_migrate(args, db010, work, omega, shell))
        project = build_db.QUERY_PROJECT
        if "lessons" in wanted:
            pairs.append(bench_query(
                args, "lessons", f"lessons --project {project} -f json  vs  sqlite3 -json",
                ["lessons", str(db011), "--project", project, "-f", "json"],
                tools_sql(db011, "lessons", project=project), db011, work, omega, shell))
        if "outcomes" in wanted:
            pairs.append(bench_query(
                args, "outcomes", "outcomes --limit 0 -f json  vs  sqlite3 -json",
                ["outcomes", str(db011), "--limit", "0", "-f", "json"],
                tools_sql(db011, "outcomes", limit=0), db011, work, omega, shell))
        if "verify" in wanted:
            pairs.append(bench_verify(args, db011, omega, shell))
        if "startup" in wanted:
            pairs.append(bench_startup(args, omega))
        if "memory" in wanted:
            peaks = bench_memory(args, db011, work, omega, n["outcomes"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(pairs, peaks, args.scale)


if __name__ == "__main__":
    main()
