"""Tables for people: streamed as rows are read, folded within a terminal, one line a row when piped.

Terminal behaviour is checked on a real pseudo-terminal (ptykit), piped behaviour on a
real pipe; widths are measured in terminal cells.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

from omega_db.data import listing, queries
from omega_db.output import listings
from omega_db.output.streams import Format
from tests import helpers, listing_seed
from tests.ptykit import base_env, on_terminal

LONG = "always confirm the deploy window with the on-call person before touching production " * 3
HEADERS = {
    "lessons": ["project", "sender", "domain", "#", "updated (UTC)", "rule"],
    "outcomes": ["time (UTC)", "score", "project", "sender", "domain", "lesson"],
    "tasks": ["id", "due (UTC)", "project", "sender", "kind", "description"],
}


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The listing dataset, plus rows with long text, wide characters and an offset due time."""
    path = listing_seed.build_projects(tmp_path_factory.mktemp("tables") / "memory.db")
    conn = helpers.connect(path)
    conn.execute(
        "INSERT INTO lessons (id, sender_id, domain, rule, project, updated_at) "
        "VALUES ('long', 'alice', 'ops', ?, 'my-app', '2030-01-01 00:00:00')", (LONG,))
    conn.execute(
        "INSERT INTO lessons (id, sender_id, domain, rule, project, updated_at) "
        "VALUES ('wide', 'zed', '日本語のドメイン', 'wide characters', '東京', '2029-01-01 00:00:00')")
    conn.execute(
        "INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson, project) "
        "VALUES ('long', '2030-01-01 00:00:00', 'bob', 'ops', 1, ?, '')", (LONG + "日本語の教訓 🚀",))
    conn.execute(
        "INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at, status, project) "
        "VALUES ('offset', 'telegram', 'alice', 'chat', 'in Berlin time', '2020-03-01T14:00:00+02:00', "
        "'pending', 'my-app')")
    conn.close()
    return path


def piped(*args: str, **env: str) -> str:
    done = subprocess.run([sys.executable, "-m", "omega_db", *args], capture_output=True, text=True,
                          env=base_env(**env), timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("command", list(HEADERS))
def test_piped_each_row_is_one_line_never_wrapped_or_cut(database: Path, command: str) -> None:
    for env in ({}, {"COLUMNS": "40"}):
        out = piped(command, str(database), "--limit", "0", **env)
        lines = out.splitlines()
        title, header, rule, *body, footer = lines
        rows = [line for line in body if not line.startswith("── the agent sees")]  # the window's end
        assert len(rows) >= len(body) - 1
        assert header.split() == " ".join(HEADERS[command]).split()
        assert set(rule) == {"─"}
        assert footer == f"{len(rows)} rows"
        long = [row for row in rows if LONG.strip() in row]
        if command != "tasks":
            assert len(long) == 1 and len(long[0]) > 250  # the whole text, on its own single line
        assert "\x1b" not in out


def test_piped_columns_line_up_in_cells_with_wide_characters(database: Path) -> None:
    lines = piped("lessons", str(database), "--limit", "0").splitlines()
    header, rows = lines[1], [line for line in lines[3:-1] if not line.startswith("── the agent sees")]
    starts = {cell_len(header[: header.index("updated (UTC)")])}
    starts |= {cell_len(row[: row.index(" (")]) - len("2026-01-01 00:00") for row in rows}
    assert len(starts) == 1  # the time column starts at the same cell on every line
    assert any("東京" in row for row in rows)


def displayed(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")


@pytest.mark.parametrize("width", [12, 20, 40, 60, 80, 100, 160])
@pytest.mark.parametrize("command", list(HEADERS))
def test_on_a_terminal_every_line_fits_and_no_column_is_dropped(database: Path, command: str, width: int) -> None:
    shown = on_terminal(command, str(database), "--limit", "0", columns=width)
    assert shown.code == 0, shown.stderr
    lines = displayed(shown.text)
    too_wide = [line for line in lines if cell_len(line) > width]
    assert too_wide == []
    squeezed = "".join(shown.text.split())
    for header in HEADERS[command]:  # a header may fold at the narrowest widths, but is there
        assert in_order("".join(header.split()), squeezed), header
    assert lines[-1].endswith("rows")
    # Nothing is cut: the long text's characters all come, in order, among the folded lines.
    if command in ("lessons", "outcomes"):
        long = "".join((LONG + ("日本語の教訓 🚀" if command == "outcomes" else "")).split())
        assert in_order(long, "".join(shown.text.split()))


def in_order(wanted: str, text: str) -> bool:
    """True if wanted's characters occur in text in the same order (other text may come between)."""
    rest = iter(text)
    return all(char in rest for char in wanted)


def test_a_wide_terminal_shows_a_table_with_a_header_and_a_rule(database: Path) -> None:
    shown = on_terminal("lessons", str(database), "--project", "my-app", columns=160)
    title, header, rule, *rest = displayed(shown.text)
    assert title == "Lessons for my-app (+ general)"
    assert header.split() == " ".join(HEADERS["lessons"]).split()
    assert set(rule) == {"─"} and cell_len(rule) <= 160
    assert b"\x1b[1mproject\x1b[0m" in shown.raw  # the header in bold
    assert b"\x1b[2m(general)\x1b[0m" in shown.raw  # the general scope dimmed


def test_columns_in_the_environment_sets_the_width(database: Path) -> None:
    shown = on_terminal("outcomes", str(database), columns=200, env=base_env(COLUMNS="40"))
    assert max(cell_len(line) for line in displayed(shown.text)) <= 40
    wide = on_terminal("outcomes", str(database), columns=200)
    assert max(cell_len(line) for line in displayed(wide.text)) > 40


def test_scores_are_coloured_symbols(database: Path) -> None:
    shown = on_terminal("outcomes", str(database), "--limit", "0", columns=160)
    for code, symbol in (("1;32", "+"), ("1;31", "-"), ("1;33", "~")):
        assert f"\x1b[{code}m{symbol}\x1b[0m".encode() in shown.raw
    plain = on_terminal("outcomes", str(database), columns=160, env=base_env(NO_COLOR="1"))
    assert b"\x1b[1m+\x1b[0m" in plain.raw and b"32m" not in plain.raw  # bold stays, colour goes
    dumb = on_terminal("outcomes", str(database), columns=160, env=base_env(TERM="dumb"))
    assert b"\x1b" not in dumb.raw


def columns_of(out: str) -> list[str]:
    return out.splitlines()[1].split("  ")


@pytest.mark.parametrize(
    "status,extra",
    [("pending", []), ("delivered", []), ("failed", ["retries", "last error"]),
     ("all", ["status", "retries", "last error"])],
)
def test_tasks_table_columns(database: Path, status: str, extra: list[str]) -> None:
    out = piped("tasks", str(database), "--status", status)
    header = [name.strip() for name in columns_of(out) if name.strip()]
    base = HEADERS["tasks"]
    expected = base[:2] + (["status"] if "status" in extra else []) + base[2:5]
    expected += [name for name in extra if name != "status"] + base[5:]
    assert header == expected
    tasks = listing_seed.expected_tasks(database, status=status)
    for task in tasks:
        assert f"\n{task['id']}  " in out  # each row starts with the task's id
    if status in ("failed", "all"):
        failed = [t for t in tasks if t["status"] == "failed" and t["last_error"]]
        assert failed and all(t["last_error"] in out for t in failed)


def test_times_are_utc_and_say_so_once(database: Path) -> None:
    out = piped("tasks", str(database), "--project", "my-app")
    header = out.splitlines()[1]
    assert "due (UTC)" in header and out.count("UTC") == 1
    row = next(line for line in out.splitlines() if line.startswith("offset"))
    assert "2020-03-01 12:00 (" in row  # 14:00 at +02:00 is 12:00 UTC


def test_the_count_comes_after_the_rows(database: Path) -> None:
    out = piped("outcomes", str(database))
    assert out.splitlines()[0] == "Outcomes in every project"
    assert out.endswith("\n50 rows (limit 50; --limit 0 shows every row)\n")


def test_a_caller_can_draw_a_rule_whose_text_counts_the_rows_below(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The window of OMEGA's injected lessons: a line after row N that needs the rows that follow."""
    called = []

    def words(below: int) -> str:
        called.append(below)
        return f"the agent sees the 3 lessons above; {below} more are never injected"

    with listing.snapshot(database) as conn:
        answer = queries.lessons(conn, project="my-app", sender="alice")
        total = answer.count()
        listings.render_listing(dataclasses.replace(answer, rules=((3, words),)), Format.table)
        out = capsys.readouterr().out
        lines = out.splitlines()
        rule = f"── the agent sees the 3 lessons above; {total - 3} more are never injected ─"
        assert lines[6].startswith(rule) and set(lines[6][len(rule):]) == {"─"}
        assert len(lines[6]) == len(lines[2])  # as wide as the rule under the header
        assert len(lines) == 3 + total + 1 + 1 and lines[-1] == f"{total} rows"
        assert called == [total - 3]
        # No row after N: no line, and the text is never asked for.
        listings.render_listing(dataclasses.replace(answer, rules=((total, words),)), Format.table)
        assert "never injected" not in capsys.readouterr().out and called == [total - 3]


def test_the_rule_folds_within_a_terminal(database: Path, tmp_path: Path) -> None:
    script = tmp_path / "rule.py"
    script.write_text(
        "import dataclasses, sys\n"
        "from pathlib import Path\n"
        "from omega_db.data import listing, queries\n"
        "from omega_db.output import listings\n"
        "from omega_db.output.streams import Format\n"
        "with listing.snapshot(Path(sys.argv[1])) as conn:\n"
        "    answer = queries.lessons(conn)\n"
        "    rule = (2, lambda n: f'the agent sees the 2 lessons above; {n} more are never injected')\n"
        "    listings.render_listing(dataclasses.replace(answer, rules=(rule,)), Format.table)\n"
    )
    shown = on_terminal(str(database), columns=30, program=[sys.executable, str(script)])
    assert shown.code == 0, shown.stderr
    lines = displayed(shown.text)
    assert max(cell_len(line) for line in lines) <= 30
    assert "more are never injected" in " ".join(line.strip() for line in lines)


def big_outcomes(path: Path, rows: int) -> Path:
    helpers.build(path)
    conn = helpers.connect(path)
    start = dt.datetime(2026, 1, 1)
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO outcomes (id, timestamp, sender_id, domain, score, lesson, project) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ((f"o{i:07d}", (start + dt.timedelta(seconds=i)).isoformat(" "), f"tg-{i % 977}", f"domain-{i % 31}",
          i % 3 - 1, f"lesson {i}: the user prefers short answers when asked about code review", "alpha")
         for i in range(rows)),
    )
    conn.execute("COMMIT")
    conn.close()
    return path


PROBE = (
    "import atexit, sys\n"
    "def peak():\n"
    "    kib = next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]\n"
    "    sys.stderr.write(f'PEAK {kib}\\n')\n"
    "atexit.register(peak)\n"
    "from omega_db.cli import main\n"
    "sys.argv[0] = 'omega-db'\n"
    "main()\n"
)


def test_a_big_table_starts_at_once_and_runs_in_flat_memory(tmp_path: Path) -> None:
    """200,000 rows on a terminal: the first row long before the last, memory as for 1,000 rows."""
    path = big_outcomes(tmp_path / "big.db", 200_000)
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)

    def run(limit: int) -> tuple[float, float, int]:
        shown = on_terminal("outcomes", str(path), "--limit", str(limit), columns=120,
                            program=[sys.executable, str(probe)])
        assert shown.code == 0, shown.stderr
        first_row = shown.seconds_until(b"alpha")
        peak_kib = int(shown.stderr.rsplit("PEAK ", 1)[1])
        return first_row, shown.arrivals[-1][0], peak_kib

    _, _, small_peak = run(1_000)
    first_row, last_row, big_peak = run(0)
    assert first_row < 10 and first_row < last_row / 2, (first_row, last_row)
    assert big_peak - small_peak < 10 * 1024, (small_peak, big_peak)
    assert big_peak < 100 * 1024, big_peak


def test_time_labels_in_omega_s_form_and_others(tmp_path: Path) -> None:
    """OMEGA's own form takes a fast path; 'T', 'Z' and offsets the general one: the same words."""
    path = helpers.build(tmp_path / "memory.db")
    conn = helpers.connect(path)
    offsets = {"3d": ("-3 days", "-1 hours"), "2h": ("-2 hours", "-10 minutes"),
               "soon": ("+5 hours", "+10 minutes"), "now": ("-5 seconds", "+0 seconds")}
    for name, offset in offsets.items():
        for form, fmt in (("space", "%Y-%m-%d %H:%M:%S"), ("t", "%Y-%m-%dT%H:%M:%S"), ("z", "%Y-%m-%dT%H:%M:%SZ")):
            conn.execute(
                "INSERT INTO scheduled_tasks (id, channel, sender_id, reply_target, description, due_at) "
                "VALUES (?, 'c', 's', 'r', 'd', strftime(?, 'now', ?, ?))", (f"{name}-{form}", fmt, *offset))
    conn.close()
    out = piped("tasks", str(path))
    labels = {line.split()[0]: line.split("(", 1)[1].split(")")[0] for line in out.splitlines()[3:-1]}
    expected = {"3d": "3d ago", "2h": "2h ago", "soon": "in 5h", "now": "just now"}
    assert labels == {f"{name}-{form}": words for name, words in expected.items() for form in ("space", "t", "z")}


FOLDED = [
    "plain words that run past the width of the column",
    "café naïve soft\xadhyphen and more words here",
    "漢字テスト漢字テスト漢字テスト mixed 漢字 and ascii words",
    "e\u0301e\u0301e\u0301 combining Z\u0351\u0352a\u0354l\u0356go marks",
    "thumbs 👍🏽 family 👨‍👩‍👧 flag 🇫🇷🇩🇪 sun ☀️ vs ☀",
    "a" * 19 + "漢" + "b" * 30,
    "漢" * 45,
    "ＦＵＬＬＷＩＤＴＨ  double  spaces ",
]


@pytest.mark.parametrize("width", [1, 2, 7, 20, 33])
@pytest.mark.parametrize("text", FOLDED)
def test_folded_lines_come_with_the_cells_rich_counts(text: str, width: int) -> None:
    # The table pads each folded line by the size fold_sized gives, measured once: rich must agree.
    from omega_db.output.terminal import fold, fold_sized

    lines, sizes = fold_sized(text, width)
    assert lines == fold(text, width)
    assert sizes == [cell_len(line) for line in lines]
    assert all(size <= max(2, width) for size in sizes)  # a wide character alone may overhang width 1
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # nothing lost but the spaces broken at
