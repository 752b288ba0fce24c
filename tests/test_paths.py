"""The file OMEGA uses when no DB is given: $OMEGA_DB, else its config's db_path, else ~/.omega/data/memory.db."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import helpers
from tests.inputkit import READERS, invoke, one_sentence, required


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch HOME with no $OMEGA_DB: the default order decides."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.delenv("OMEGA_DB", raising=False)
    return folder


def database_of(runner: CliRunner, *args: str) -> str:
    """The database a status run used (from its JSON)."""
    ran = invoke(runner, "status", *args, "-f", "json")
    assert ran.code == 0, ran.stderr
    return json.loads(ran.stdout)["database"]


def config(home: Path, text: str) -> Path:
    path = home / ".omega" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_the_default_is_data_memory_db(runner: CliRunner, home: Path) -> None:
    helpers.build(home / ".omega" / "data" / "memory.db")
    helpers.build(home / ".omega" / "memory.db")  # a legacy file too: the new one wins
    assert database_of(runner) == str(home / ".omega" / "data" / "memory.db")


def test_the_legacy_file_is_used_with_a_note_when_it_is_the_only_one(runner: CliRunner, home: Path) -> None:
    legacy = helpers.build(home / ".omega" / "memory.db")
    ran = invoke(runner, "status", "-f", "json")
    assert ran.code == 0 and json.loads(ran.stdout)["database"] == str(legacy)
    assert "before v0.2.0" in ran.stderr and str(home / ".omega" / "data" / "memory.db") in ran.stderr


def test_config_db_path_wins_over_the_default_and_expands_tilde(runner: CliRunner, home: Path) -> None:
    helpers.build(home / ".omega" / "data" / "memory.db")
    mine = helpers.build(home / "elsewhere" / "mine.db")
    config(home, '[provider]\nname = "x"\n\n[memory]\ndb_path = "~/elsewhere/mine.db"\n')
    assert database_of(runner) == str(mine)


def test_a_configured_path_that_does_not_exist_is_not_fallen_past(runner: CliRunner, home: Path) -> None:
    helpers.build(home / ".omega" / "data" / "memory.db")
    config(home, '[memory]\ndb_path = "~/new/place.db"\n')
    ran = invoke(runner, "status")
    assert ran.code == 2 and str(home / "new" / "place.db") in one_sentence(ran, home / "new" / "place.db")
    ran = invoke(runner, "migrate", "-f", "json")
    assert ran.code == 0 and json.loads(ran.stdout)["database"] == str(home / "new" / "place.db")
    assert helpers.recorded(home / "new" / "place.db")[-1] == "013_multi_lessons"


def test_omega_db_wins_over_the_config_which_is_then_not_read(
    runner: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = helpers.build(home / "env.db")
    config(home, "this is [not toml\n")
    monkeypatch.setenv("OMEGA_DB", "~/env.db")
    assert database_of(runner) == str(env)


def test_the_argument_wins_over_everything(runner: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    given = helpers.build(home / "given.db")
    config(home, "this is [not toml\n")
    monkeypatch.setenv("OMEGA_DB", str(home / "nothing-here.db"))
    assert database_of(runner, str(given)) == str(given)


@pytest.mark.parametrize("command", [*READERS, "migrate"])
def test_an_unparsable_config_is_exit_2_naming_it(runner: CliRunner, home: Path, command: str) -> None:
    path = config(home, "[memory]\ndb_path = \n")
    ran = invoke(runner, command, *required(command))
    assert ran.code == 2
    assert "cannot be parsed" in one_sentence(ran, path)
    assert sorted(p.name for p in (home / ".omega").iterdir()) == ["config.toml"]  # nothing created


def test_config_option_before_or_after_the_subcommand(runner: CliRunner, home: Path, tmp_path: Path) -> None:
    mine = helpers.build(tmp_path / "mine.db")
    other = tmp_path / "omega.toml"
    other.write_text(f'[memory]\ndb_path = "{mine}"\n')
    for args in (["--config", str(other), "status"], ["status", "--config", str(other)]):
        ran = invoke(runner, *args, "-f", "json")
        assert ran.code == 0 and json.loads(ran.stdout)["database"] == str(mine), args
    ran = invoke(runner, "status", "--config", str(tmp_path / "missing.toml"))
    assert ran.code == 2 and "missing.toml" in ran.stderr


@pytest.mark.parametrize("command", READERS)
def test_no_file_anywhere_names_each_place_looked(runner: CliRunner, home: Path, command: str) -> None:
    ran = invoke(runner, command, *required(command))
    assert ran.code == 2 and ran.stdout == ""
    sentence = one_sentence(ran, home / ".omega" / "data" / "memory.db")
    for place in ("$OMEGA_DB", str(home / ".omega" / "config.toml"), str(home / ".omega" / "memory.db")):
        assert place in sentence
    assert not (home / ".omega").exists()


def test_migrate_with_no_path_creates_data_memory_db_privately(runner: CliRunner, home: Path) -> None:
    ran = invoke(runner, "migrate", "-f", "json")
    created = home / ".omega" / "data" / "memory.db"
    assert ran.code == 0 and json.loads(ran.stdout)["database"] == str(created)
    assert json.loads(ran.stdout)["current"] == "013_multi_lessons"
    assert stat.S_IMODE(created.stat().st_mode) == 0o600
    assert stat.S_IMODE(created.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(created.parent.parent.stat().st_mode) == 0o700
    assert not (home / ".omega" / "memory.db").exists()


@pytest.mark.parametrize("args", [["--help"], ["status", "--help"], ["migrate", "--help"], ["backups", "--help"]])
def test_help_gives_the_order_omega_uses(runner: CliRunner, args: list[str]) -> None:
    text = " ".join(invoke(runner, *args).stdout.split())
    for piece in ("$OMEGA_DB", "db_path", "~/.omega/data/memory.db"):
        assert piece in text, (args, piece)
    assert "~/.omega/memory.db " not in text.replace("where OMEGA kept it", "")  # only as the legacy place
