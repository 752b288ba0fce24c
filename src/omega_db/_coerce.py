"""Plain option values without pydantic, for a fast start on Typer 0.29+.

Typer 0.29 converts every parameter of the command being run through a pydantic
TypeAdapter: importing pydantic and building those adapters costs more than the
rest of omega-db's start-up (about 0.2 s per run, on every command). The values
omega-db's options take are plain — text, numbers within bounds, enum choices —
so this converts those itself, exactly as Typer would, and hands anything else,
and every value it would reject, to Typer's own path: results and error messages
do not change. On a Typer without that path it does nothing.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

_NOT_PLAIN = object()


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


# Only forms pydantic reads the same way as int()/float(); anything else goes to Typer.
_NUMERAL = {int: _digits, float: lambda text: all(_digits(part) for part in text.split(".", 1))}


def _plain(param: Any, value: Any, ctx: Any) -> Any:
    """value converted as Typer would, or _NOT_PLAIN when Typer must decide."""
    descriptor = param.type_descriptor
    info = descriptor.parameter_info
    annotation = descriptor.annotation
    if descriptor.file_annotation is not None or info.parser is not None:
        return _NOT_PLAIN
    if param.nargs != 1 or param.multiple:
        return _NOT_PLAIN
    if annotation is str:
        return value if type(value) is str else _NOT_PLAIN
    if annotation in _NUMERAL:
        if type(value) is annotation:
            number = value
        elif type(value) is str and _NUMERAL[annotation](value):
            number = annotation(value)
        else:
            return _NOT_PLAIN
        below = info.min is not None and number < info.min
        above = info.max is not None and number > info.max
        if info.clamp or below or above:
            return _NOT_PLAIN
        return number
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        if isinstance(value, annotation):
            return value
        if type(value) is not str or getattr(ctx, "token_normalize_func", None):
            return _NOT_PLAIN
        folded = value.casefold()
        for member in annotation:
            wanted = str(member.value)
            if wanted == value or (not info.case_sensitive and wanted.casefold() == folded):
                return member
    return _NOT_PLAIN


def install() -> None:
    """Route plain values around Typer's pydantic coercion (a no-op on other Typer versions)."""
    try:
        from typer.core import _TyperParameter
    except ImportError:
        return
    typers_own = getattr(_TyperParameter, "get_runtime_param", None)
    if typers_own is None or getattr(typers_own, "_omega_db", False):
        return

    class _PlainFirst:
        """Quacks like Typer's RuntimeParam: plain values here, the rest to Typer."""

        def __init__(self, owner: Any) -> None:
            self.owner = owner

        def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
            if value is None and param.nargs == 1 and not param.multiple:
                return None  # what Typer returns for a missing value, before any conversion
            converted = _plain(param, value, ctx)
            if converted is _NOT_PLAIN:
                return typers_own(self.owner).coerce(value, param=param, ctx=ctx)
            return converted

    def get_runtime_param(self: Any) -> Any:
        return _PlainFirst(self)

    get_runtime_param._omega_db = True  # type: ignore[attr-defined]
    get_runtime_param._typers_own = typers_own  # type: ignore[attr-defined]
    _TyperParameter.get_runtime_param = get_runtime_param
