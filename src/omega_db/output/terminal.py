"""What a terminal is and how text stands on it: its width and colours, the cells a string
takes, folding within a width, the SGR sequences of the few styles omega-db uses.

rich answers what the terminal is and how wide a character is, imported only when asked:
piped output never needs it for text that is ASCII.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

# SGR codes of the few styles the tables use (every terminal knows these 8-colour codes).
_ATTRIBUTES = {"bold": "1", "dim": "2", "italic": "3"}
_COLOURS = {"red": "31", "green": "32", "yellow": "33", "cyan": "36"}


@dataclass(frozen=True)
class Screen:
    """Where the table goes: a terminal of some width, with or without colours, or not a terminal."""

    terminal: bool
    width: int = 80
    colour: bool = False  # red, green, ...
    attributes: bool = False  # bold, dim, italic
    unicode: bool = True  # box-drawing characters for rules


def detect(stream: TextIO) -> Screen:
    """What the stream can show: a terminal (width and colours as rich sees them) or not."""
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    unicode = encoding.startswith("utf")
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError, OSError):
        terminal = False
    if not terminal:
        return Screen(terminal=False, unicode=unicode)
    from rich.console import Console  # only a terminal pays for it

    console = Console(file=stream, highlight=False)
    styled = console.color_system is not None and not console.legacy_windows
    return Screen(
        terminal=True,
        width=max(1, console.width),
        colour=styled and not console.no_color,
        attributes=styled,
        unicode=unicode,
    )


def cells(text: str) -> int:
    """How many terminal cells text takes (wide characters two, combining marks none)."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def fold(text: str, width: int) -> list[str]:
    """text in lines of at most width cells: broken at spaces, a longer word cut into pieces."""
    if cells(text) <= width:
        return [text]
    width = max(1, width)
    lines: list[str] = []
    line, size = "", -1  # size -1: nothing on the line yet
    for word in text.split(" "):
        length = cells(word)
        if size >= 0 and size + 1 + length <= width:
            line, size = f"{line} {word}", size + 1 + length
            continue
        if size >= 0:
            lines.append(line)
        if length > width:
            pieces = _chop(word, width)
            lines.extend(pieces[:-1])
            word = pieces[-1]
            length = cells(word)
        line, size = word, length
    lines.append(line)
    return lines


def _chop(word: str, width: int) -> list[str]:
    if word.isascii():
        return [word[i : i + width] for i in range(0, len(word), width)]
    from rich.cells import chop_cells

    return chop_cells(word, width) or [""]


def margins(text: str, width: int, justify: str) -> tuple[int, int]:
    """The spaces left and right of text that make it width cells wide, as justified."""
    gap = width - cells(text)
    if gap <= 0:
        return 0, 0
    if justify == "right":
        return gap, 0
    if justify == "center":
        return gap // 2, gap - gap // 2
    return 0, gap


def pad(text: str, width: int, justify: str) -> str:
    """text made width cells wide with spaces, as justified (a longer text stays as it is)."""
    left, right = margins(text, width, justify)
    return f"{' ' * left}{text}{' ' * right}" if left or right else text


class Painter:
    """SGR sequences for style names on one screen ('' everywhere when it shows none)."""

    def __init__(self, screen: Screen) -> None:
        self.screen = screen
        self.cache: dict[str, tuple[str, str]] = {}

    def __call__(self, text: str, style: str) -> str:
        if not style or not text:
            return text
        codes = self.cache.get(style)
        if codes is None:
            wanted = []
            for word in style.split():
                if word in _ATTRIBUTES and self.screen.attributes:
                    wanted.append(_ATTRIBUTES[word])
                elif word in _COLOURS and self.screen.colour:
                    wanted.append(_COLOURS[word])
            codes = self.cache[style] = (f"\x1b[{';'.join(wanted)}m", "\x1b[0m") if wanted else ("", "")
        return f"{codes[0]}{text}{codes[1]}"
