"""What a terminal is, as omega-db reads it without rich, and as rich itself reads it: the same.

Each case runs a real process with stdin and stdout on a pseudo-terminal of a known width,
under the environment variables rich reads (COLUMNS, LINES, TERM, NO_COLOR, FORCE_COLOR,
TTY_COMPATIBLE), and asks both.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests import ptykit

ASK_BOTH = """
import json, sys
from omega_db.output import terminal
mine = terminal.detect(sys.stdout)
rich_loaded = "rich.console" in sys.modules
from rich.console import Console
console = Console(file=sys.stdout, highlight=False)
styled = console.color_system is not None and not console.legacy_windows
sys.stdout.write(json.dumps({
    "mine": [mine.terminal, mine.width, mine.colour, mine.attributes],
    "rich": [True, max(1, console.width), styled and not console.no_color, styled],
    "rich_loaded": rich_loaded,
}) + "\\n")
"""

CASES = {
    "plain": {},
    "COLUMNS": {"COLUMNS": "50"},
    "COLUMNS=0": {"COLUMNS": "0"},
    "COLUMNS not digits": {"COLUMNS": "wide"},
    "LINES alone": {"LINES": "10"},
    "dumb": {"TERM": "dumb"},
    "dumb, COLUMNS": {"TERM": "dumb", "COLUMNS": "50"},
    "dumb, COLUMNS and LINES": {"TERM": "DUMB", "COLUMNS": "50", "LINES": "10"},
    "unknown": {"TERM": "unknown"},
    "no TERM": {"TERM": None},
    "truecolor": {"COLORTERM": "truecolor", "TERM": "xterm"},
    "NO_COLOR": {"NO_COLOR": "1"},
    "NO_COLOR empty": {"NO_COLOR": ""},
    "FORCE_COLOR": {"FORCE_COLOR": "1", "TERM": "dumb"},
    "FORCE_COLOR empty": {"FORCE_COLOR": ""},
    "TTY_COMPATIBLE=0": {"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"},
    "TTY_COMPATIBLE=1": {"TTY_COMPATIBLE": "1", "FORCE_COLOR": ""},
    "TTY_COMPATIBLE other": {"TTY_COMPATIBLE": "yes", "FORCE_COLOR": ""},
}


def _asked(env_changes: dict[str, str | None], columns: int) -> dict[str, object]:
    env = ptykit.base_env()
    for name, value in env_changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    screen = ptykit.on_terminal(columns=columns, env=env, program=[sys.executable, "-c", ASK_BOTH])
    assert screen.code == 0, screen.stderr
    answer: dict[str, object] = json.loads(screen.raw.decode().strip().splitlines()[-1])
    return answer


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_terminal_reads_as_rich_reads_it(case: str) -> None:
    answer = _asked(CASES[case], columns=123)
    assert answer["mine"] == answer["rich"]


def test_the_window_size_is_the_terminals_own() -> None:
    assert _asked({}, columns=123)["mine"] == [True, 123, True, True]
    assert _asked({"TERM": "dumb"}, columns=123)["mine"] == [True, 80, False, False]


def test_a_window_of_no_columns_reads_as_80_as_in_rich() -> None:
    answer = _asked({}, columns=0)
    assert answer["mine"] == answer["rich"] == [True, 80, True, True]


def test_knowing_the_terminal_does_not_load_rich_console() -> None:
    assert _asked({}, columns=100)["rich_loaded"] is False
