"""What a terminal is and how text stands on it: its width and colours, the cells a string
takes, folding within a width, the SGR sequences of the few styles omega-db uses.

rich answers how wide a character is, imported only when asked: piped output never needs it
for text that is ASCII. What the terminal is (its width, its colours) is read as rich reads it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
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
    """What the stream can show: a terminal (its width and colours as rich would see them) or not.

    rich's own answer costs its console module's import (~20 ms on every table drawn on a
    terminal); the few environment variables it reads are read here the same way, and a test
    holds the two answers together on a real terminal.
    """
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    unicode = encoding.startswith("utf")
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError, OSError):
        terminal = False
    if not terminal:
        return Screen(terminal=False, unicode=unicode)
    env = os.environ
    styled = _escapes_understood(env)
    dumb = styled and env.get("TERM", "").lower() in ("dumb", "unknown")
    return Screen(
        terminal=True,
        width=max(1, _width(env, dumb)),
        colour=styled and not dumb and env.get("NO_COLOR", "") == "",
        attributes=styled and not dumb,
        unicode=unicode,
    )


def _escapes_understood(env: Mapping[str, str]) -> bool:
    """Whether a stream that is a tty takes escape sequences: TTY_COMPATIBLE, then FORCE_COLOR
    (set but empty: no), as rich reads them."""
    compatible = env.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    force = env.get("FORCE_COLOR")
    return force is None or force != ""


def _digits(value: str | None) -> int | None:
    # isdecimal, not rich's isdigit: "²" is a digit that int() refuses (rich stops on it); here it is unset.
    return int(value) if value is not None and value.isdecimal() else None


def _width(env: Mapping[str, str], dumb: bool) -> int:
    """The terminal's width: COLUMNS; a dumb terminal 80 (unless LINES is set too); else the first
    of stdin, stdout and stderr that is a terminal; else 80."""
    columns = _digits(env.get("COLUMNS"))
    if columns is not None and (_digits(env.get("LINES")) is not None or not dumb):
        return columns
    if dumb:
        return 80
    for descriptor in (0, 1, 2):
        try:
            return os.get_terminal_size(descriptor).columns or 80
        except (AttributeError, ValueError, OSError):
            continue
    return 80


# Characters one cell wide in every terminal (printable ASCII and Latin up to the combining
# marks; rich counts them so too): only the others are looked up one by one.
_NOT_NARROW = re.compile("[^\x20-\x7e\xa0-\xac\xae-\u02ff]")


def cells(text: str) -> int:
    """How many terminal cells text takes (wide characters two, combining marks none), as rich counts."""
    if text.isascii():
        return len(text)
    others = _NOT_NARROW.findall(text)
    if not others:
        return len(text)
    from rich import cells as rich_cells

    if "\u200d" in text or "\ufe0f" in text:  # a joiner or a variation selector: rich reads the sequence
        return rich_cells.cell_len(text)
    # rich's sum over every character, without a call for each narrow one (a table measures thousands).
    return len(text) - len(others) + sum(map(rich_cells.get_character_cell_size, others))


def fold(text: str, width: int) -> list[str]:
    """text in lines of at most width cells: broken at spaces, a longer word cut into pieces."""
    return fold_sized(text, width)[0]


def fold_sized(text: str, width: int) -> tuple[list[str], list[int]]:
    """fold(), with the cells each line takes: every character measured once."""
    if text.isascii() or not _NOT_NARROW.search(text):  # a character is a cell
        if len(text) <= width:
            return [text], [len(text)]
        lines = _fold_narrow(text, max(1, width))
        return lines, list(map(len, lines))
    if "\u200d" in text or "\ufe0f" in text:  # rich reads the sequence: a line is not the sum of its words
        size = cells(text)
        if size <= width:
            return [text], [size]
        lines = _fold_words(text, max(1, width))[0]
        return lines, [cells(line) for line in lines]
    # Otherwise a text's cells are the sum of its characters': its words' and spaces' add up.
    words = text.split(" ")
    sizes = [len(w) if w.isascii() else cells(w) for w in words]
    if sum(sizes) + len(words) - 1 <= width:
        return [text], [sum(sizes) + len(words) - 1]
    return _fold_words(text, max(1, width), words, sizes)


def _fold_words(
    text: str, width: int, words: list[str] | None = None, lengths: list[int] | None = None
) -> tuple[list[str], list[int]]:
    """fold() word by word (width >= 1), with each line's cells as the sum of its words' and spaces'."""
    if words is None or lengths is None:
        words = text.split(" ")
        lengths = [len(w) if w.isascii() else cells(w) for w in words]
    lines: list[str] = []
    sizes: list[int] = []
    line, size = "", -1  # size -1: nothing on the line yet
    for word, length in zip(words, lengths, strict=False):
        if size >= 0 and size + 1 + length <= width:
            line, size = f"{line} {word}", size + 1 + length
            continue
        if size >= 0:
            lines.append(line)
            sizes.append(size)
        if length > width:
            pieces = _chop(word, width)
            lines.extend(pieces[:-1])
            sizes.extend(cells(piece) for piece in pieces[:-1])
            word = pieces[-1]
            length = cells(word)
        line, size = word, length
    lines.append(line)
    sizes.append(size)
    return lines, sizes


def _fold_narrow(text: str, width: int) -> list[str]:
    """fold() of a text whose every character is one cell, with the string's own searches.

    The same lines as adding word after word: a line is its first word (the end of it, if the
    word is cut into pieces of width) and as many more as fit, which is the last space within
    width of the line's start; the space a line breaks at is left out.
    """
    lines: list[str] = []
    start, end = 0, len(text)
    while True:
        first = text.find(" ", start)
        first = end if first < 0 else first  # the end of the line's first word
        while first - start > width:  # a word longer than the line: cut, its last piece starts the line
            lines.append(text[start : start + width])
            start += width
        limit = start + width
        if end <= limit:
            lines.append(text[start:])
            return lines
        cut = limit if text[limit] == " " else text.rfind(" ", first, limit)
        lines.append(text[start:cut])
        start = cut + 1


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
