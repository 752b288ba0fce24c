"""Which file is the database: the DB argument, else the one OMEGA itself uses.

OMEGA's own order (omega-schema.md, "Where the file is"): `$OMEGA_DB`; else
`db_path` in the `[memory]` table of its config file (`~/.omega/config.toml`
unless `--config` names another); else `~/.omega/data/memory.db`. OMEGA
v0.2.0 moved the file there from `~/.omega/memory.db`, and moves it on its next
start, so a file still at the old place is the one to use meanwhile.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from omega_db.ground.errors import BadArgumentError, BadDatabaseError

ENV = "OMEGA_DB"
DEFAULT_CONFIG = "~/.omega/config.toml"
DEFAULT_PATH = "~/.omega/data/memory.db"
LEGACY_PATH = "~/.omega/memory.db"  # before OMEGA v0.2.0


@dataclass(frozen=True)
class Location:
    """The database path, how it was chosen, and what was tried on the way."""

    path: Path
    explicit: bool  # named by the DB argument, $OMEGA_DB or the config file: no fallback past it
    looked: tuple[str, ...] = ()  # the places tried, in words, for "not found"
    note: str | None = None  # something to tell the person (the legacy path is in use)

    def missing(self) -> str:
        """The sentence for a read command when the file is not there."""
        if self.explicit or not self.looked:
            return (f"{self.path} does not exist; check the path, or create a new memory database "
                    f"with `omega-db migrate {self.path}`.")
        return (f"no OMEGA memory database found (looked at {'; '.join(self.looked)}); give its path "
                "as DB, or create one with `omega-db migrate`.")


def expand(raw: str | os.PathLike[str]) -> Path:
    """A path with ~ expanded."""
    return Path(os.path.expanduser(os.fspath(raw)))


def locate(
    db: str | os.PathLike[str] | None,
    *,
    config: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Location:
    """Where the database is: DB, else $OMEGA_DB, else the config's db_path, else OMEGA's default."""
    env = os.environ if env is None else env
    if db not in (None, ""):
        return Location(expand(db), explicit=True)
    if env.get(ENV):
        return Location(expand(env[ENV]), explicit=True)
    config_file = config_path(config)
    configured = _configured_path(config_file, required=config not in (None, ""))
    if configured is not None:
        return Location(expand(configured), explicit=True)
    default, legacy = expand(DEFAULT_PATH), expand(LEGACY_PATH)
    in_config = "no [memory] db_path" if os.path.lexists(config_file) else "no such file"
    looked = (f"${ENV} (not set)", f"{config_file} ({in_config})", str(default), str(legacy))
    if not os.path.lexists(default) and os.path.lexists(legacy):
        note = (f"using {legacy}, where OMEGA before v0.2.0 kept it; OMEGA moves it to {default} "
                "on its next start.")
        return Location(legacy, explicit=False, looked=looked, note=note)
    return Location(default, explicit=False, looked=looked)


def resolve_path(db: str | os.PathLike[str] | None, *, config: str | os.PathLike[str] | None = None) -> Path:
    """The database path alone (see locate)."""
    return locate(db, config=config).path


def config_path(config: str | os.PathLike[str] | None) -> Path:
    """OMEGA's config file: the one --config names, else ~/.omega/config.toml."""
    return expand(config if config not in (None, "") else DEFAULT_CONFIG)


def memory_setting(config: str | os.PathLike[str] | None, key: str) -> object | None:
    """A key of the [memory] table of OMEGA's config file (--config, else the default one); None if
    the default file, the table or the key is absent. A file that cannot be parsed is an error."""
    remedy = f"or name another with --config (it is read for [memory] {key})"
    memory = _memory_table(config_path(config), required=config not in (None, ""), remedy=remedy)
    return memory.get(key)


def _configured_path(config: Path, *, required: bool) -> str | None:
    """db_path from the [memory] table of OMEGA's config file; None if the file or the key is absent."""
    value = _memory_table(config, required=required).get("db_path")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadArgumentError(f"OMEGA's config file {config}: [memory] db_path must be a file path, "
                               f"not {value!r}; fix it, or give the database path as DB.")
    return value


def _memory_table(config: Path, *, required: bool,
                  remedy: str = "or give the database path as DB or $OMEGA_DB") -> dict[str, object]:
    """The [memory] table of OMEGA's config file; empty if the file (when not required) or the table is absent.

    remedy: what else the person can do, in the errors (the config is read for db_path unless said otherwise)."""
    import tomllib  # only when OMEGA's config file is consulted

    try:
        data = config.read_bytes()
    except FileNotFoundError:
        if required:
            raise BadArgumentError(f"--config {config}: the file does not exist; check the path.") from None
        return {}
    except IsADirectoryError:
        raise BadArgumentError(f"{config} is a folder, not OMEGA's config file; check --config.") from None
    except OSError as exc:
        raise BadDatabaseError(f"OMEGA's config file {config} cannot be read ({exc.strerror}); "
                               f"check its permissions, {remedy}.") from None
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadArgumentError(f"OMEGA's config file {config} cannot be parsed ({exc}); fix it, "
                               f"{remedy}.") from None
    memory = parsed.get("memory")
    return memory if isinstance(memory, dict) else {}
