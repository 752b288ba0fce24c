"""The fast path for option values: same results and errors as Typer's own, without pydantic."""

from __future__ import annotations

import enum
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import typer.core
from typer.testing import CliRunner

from omega_db.cli import app

_TyperParameter = getattr(typer.core, "_TyperParameter", None)
# Typer before 0.29 has no pydantic coercion, so omega-db installs nothing to compare with.
needs_fast_path = pytest.mark.skipif(
    not hasattr(getattr(_TyperParameter, "get_runtime_param", None), "_typers_own"),
    reason="this Typer converts values without pydantic: no fast path installed",
)

LIMITS = ("0", "3", "007", "-1", "abc", "1.5", "+3", " 3", "", "1e2")
TIMEOUTS = ("0", "5", "-1", "nan", "inf", "1e3", ".5", "2.50", "abc")
ARGS = [
    *(["outcomes", "--limit", v, "-f", "json"] for v in LIMITS),
    *(["status", "--timeout", v, "-f", "json"] for v in TIMEOUTS),
    *(["outcomes", "--hours", v, "-f", "json"] for v in ("0", "2", "-2", "0.5", "abc")),
    *(["lessons", "-f", v] for v in ("json", "JSON", "Json", "csv", "xml", "")),
    *(["tasks", "--status", v, "-f", "json"] for v in ("all", "ALL", "pending", "nope")),
    *(["lessons", "--project", v, "-f", "csv"] for v in ("", "x", "a'b%_")),
    ["migrate", "--to", "nope"],
    ["migrate", "--to", "5", "--dry-run"],
]


class Colour(str, enum.Enum):
    """A case-sensitive choice for the probe app."""

    red = "red"


@needs_fast_path
@pytest.mark.parametrize("args", ARGS, ids=lambda a: " ".join(repr(x) for x in a))
def test_same_answer_as_typers_own_coercion(
    args: list[str], migrated_db: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = [args[0], str(migrated_db), *args[1:]]
    fast = runner.invoke(app, argv)
    typers_own = _TyperParameter.get_runtime_param._typers_own  # type: ignore[attr-defined]
    monkeypatch.setattr(_TyperParameter, "get_runtime_param", typers_own)
    slow = runner.invoke(app, argv)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)


def test_json_output_imports_neither_pydantic_nor_rich(migrated_db: Path) -> None:
    """Start-up is most of a small command's time: neither import may creep back in."""
    code = (
        "import sys\n"
        "from omega_db.cli import main\n"
        "sys.argv = ['omega-db', 'lessons', sys.argv[1], '--project', 'x', '-f', 'json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "loaded = {name.split('.')[0] for name in sys.modules}\n"
        "sys.stderr.write(' '.join(sorted(loaded & {'pydantic', 'rich'})))\n"
    )
    argv = [sys.executable, "-c", code, str(migrated_db)]
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.stdout.strip() == "[]"
    assert done.stderr == ""


@needs_fast_path
def test_bounds_and_choices_of_any_option_are_typers(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bounds and case-sensitive choices too (omega-db's own options have none of either)."""
    probe = typer.Typer()

    @probe.command()
    def show(
        n: int = typer.Option(3, min=1, max=5),
        x: float = typer.Option(1.0, min=0.5),
        colour: Colour = typer.Option(Colour.red, case_sensitive=True),
    ) -> None:
        print(repr((n, x, colour)))

    argvs = [["--n", v] for v in ("0", "1", "5", "6")] + [["--x", v] for v in ("0.4", "0.5", "7")]
    argvs += [["--colour", v] for v in ("red", "RED")]
    typers_own = _TyperParameter.get_runtime_param._typers_own  # type: ignore[attr-defined]
    fast = [runner.invoke(probe, argv) for argv in argvs]
    monkeypatch.setattr(_TyperParameter, "get_runtime_param", typers_own)
    slow = [runner.invoke(probe, argv) for argv in argvs]
    assert [(r.exit_code, r.output) for r in fast] == [(r.exit_code, r.output) for r in slow]
    assert [r.exit_code for r in fast] == [2, 0, 0, 2, 2, 0, 0, 0, 2]
