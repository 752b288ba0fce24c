"""Tables drawn as their rows are read: flat memory at any row count, the first row at once.

On a terminal, rich's look: a title, a bold header over a rule, columns two spaces
apart, colours, long cells folded within the terminal's width — never cut, and no
column dropped: when the columns cannot stand side by side, each row becomes a block
of "header  value" lines. Not on a terminal (a pipe, a file, cron): one line per row,
never wrapped or cut.

Column widths come from the first batch of rows, so the first line is written before
the rest are read. rich's Table measures every row before it draws one (and takes
~0.7 ms a row), so this module lays out the lines itself and asks rich only what the
terminal is (width, colours) and how wide a character is. Every cell passes through
text.visible(): no stored control character reaches the terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TextIO, cast

from omega_db.ground.untrusted import visible, visible_row
from omega_db.output.terminal import Painter, Screen, cells, fold, fold_sized, pad

GAP = "  "
PIPED_CAP = 40  # piped, a column is padded to at most this many cells; a longer value runs on
FLEX_FLOOR = 20  # the long-text column keeps this many cells before the other columns fold
WORD_FLOOR = 12  # a column keeps its longest word whole up to this many cells (then it may be cut)
LABEL_CAP = 24  # a block row's label column, at most

Row = Sequence[object]  # one value per column; None shows as ''


@dataclass(frozen=True)
class Column:
    """One column: its header, how its cells line up, and how they look on a terminal."""

    header: str
    justify: str = "left"  # left, right or center
    flex: bool = False  # the long text (a rule, a description): it takes the width the others leave
    style: Callable[[str], str] | None = None  # a cell's style ("bold green", "dim", "") from its text


def _longest_word(text: str) -> int:
    return max(cells(word) for word in text.split(" "))


def fit(natural: list[int], floors: list[int], flex: int | None, room: int, more: bool) -> list[int] | None:
    """Column widths within room cells (gaps excluded), or None when even the floors do not fit.

    Natural widths when they fit (the long-text column then takes the room left, if more rows
    may follow); else the long-text column gives way first, down to its floor, then the
    widest columns are levelled down together, none below its floor (its header and its
    longest word, so that folding breaks cells at spaces rather than cutting words).
    """
    widths = list(natural)
    total = sum(widths)
    if total <= room:
        if flex is not None and more:
            widths[flex] += room - total
        return widths
    if sum(floors) > room:
        return None
    if flex is not None:
        cut = min(total - room, widths[flex] - floors[flex])
        widths[flex] -= cut
        total -= cut
    if total > room:
        low, high = 0, max(widths)  # the largest level that fits
        while low < high:
            mid = (low + high + 1) // 2
            if sum(max(f, min(w, mid)) for w, f in zip(widths, floors, strict=True)) <= room:
                low = mid
            else:
                high = mid - 1
        widths = [max(f, min(w, low)) for w, f in zip(widths, floors, strict=True)]
        spare = room - sum(widths)
        widest = flex if flex is not None else max(range(len(widths)), key=lambda i: natural[i] - widths[i])
        widths[widest] += spare
    return widths


def write(
    out: TextIO,
    screen: Screen,
    title: str,
    columns: Sequence[Column],
    batches: Iterable[Sequence[Row]],
    *,
    marks: Mapping[int, Callable[[], str]] | None = None,
    footer: Callable[[int], str] | None = None,
) -> int:
    """Draw a table as its batches of rows arrive; return how many rows it drew (0: nothing written).

    marks: after row N (counted from 1), when another row follows, a full-width rule line
    with the text marks[N]() returns — called only then, so it may count what follows.
    footer: a line after the last row, given the number of rows.
    """
    feed = iter(batches)
    first = next((batch for batch in feed if batch), None)
    if first is None:
        return 0
    sample = [visible_row(row) for row in first]
    following = next((batch for batch in feed if batch), None)
    rest: Iterator[Sequence[Row]] = chain([following], feed) if following is not None else iter(())
    layout = _Layout(screen, columns, sample, more=following is not None)
    out.write("\n".join([*layout.note(visible(title), "italic"), *layout.head()]) + "\n")
    count = 0
    marks = marks or {}
    for batch, ready in chain([(sample, True)], ((b, False) for b in rest)):
        lines: list[str] = []
        if not any(count <= n < count + len(batch) for n in marks if n):
            layout.rows(batch, lines, ready=ready)  # the common case: no rule line among these rows
            count += len(batch)
        else:
            for row in batch:
                if count in marks and count:
                    layout.mark(visible(marks[count]()), lines)
                count += 1
                layout.row(cast(Sequence[str], row) if ready else visible_row(row), lines)  # ready: the sample's text
        out.write("\n".join(lines) + "\n")
    if footer is not None:
        out.write("\n".join(layout.note(visible(footer(count)), "dim")) + "\n")
    return count


class _Layout:
    """How rows become lines on one screen: piped lines, a folded table, or blocks of labelled lines."""

    def __init__(self, screen: Screen, columns: Sequence[Column], sample: list[list[str]], *, more: bool) -> None:
        self.screen, self.columns = screen, columns
        self.justify = [c.justify for c in columns]
        self.paint = Painter(screen)
        self.bar = "─" if screen.unicode else "-"
        shows_style = screen.terminal and (screen.colour or screen.attributes)
        self.styles = [c.style if shows_style else None for c in columns]
        headers = [cells(c.header) for c in columns]
        natural = [max([h, *(cells(row[i]) for row in sample)]) for i, h in enumerate(headers)]
        gaps = len(GAP) * (len(columns) - 1)
        self.label = max(1, min(max(headers), LABEL_CAP, (screen.width - len(GAP)) // 2))
        self.widths: list[int] | None
        if not screen.terminal:
            # Padded for the eye, never cut: a value longer than its column runs on.
            self.widths = [min(n, max(PIPED_CAP, h)) for n, h in zip(natural, headers, strict=True)]
            self.span = sum(self.widths) + gaps
            self.row = self._piped_row
            aligns = {"left": "<", "right": ">", "center": "^"}
            fields = [f"{{:{aligns[c.justify]}{w}}}" for c, w in zip(columns, self.widths, strict=True)]
            if columns[-1].justify == "left":
                fields[-1] = "{}"
            self.template = GAP.join(fields)  # pads by characters: for ASCII rows, exactly by cells
            return
        flex = next((i for i, c in enumerate(columns) if c.flex), None)
        # Folding may break a cell at its spaces, but should not cut its words: a column's floor
        # is its longest word (up to WORD_FLOOR), and the header's; the long text keeps FLEX_FLOOR.
        floors = []
        for i, column in enumerate(columns):
            floor = _longest_word(column.header)
            if i == flex:
                floor = max(floor, FLEX_FLOOR)
            else:
                floor = max(floor, min(WORD_FLOOR, max(_longest_word(row[i]) for row in sample)))
            floors.append(min(natural[i], floor))
        self.widths = fit(natural, floors, flex, screen.width - gaps, more)
        if self.widths is None:
            self.span = screen.width
            self.row = self._block_row
        else:
            self.span = sum(self.widths) + gaps
            self.row = self._folded_row
            self.blanks = [" " * width for width in self.widths]  # a column with no more to show
            self.specs = list(zip(self.widths, self.justify, self.styles, strict=True))
            self.indent = "".join(blank + GAP for blank in self.blanks[:-1])  # the columns before the last, blank

    def head(self) -> list[str]:
        """The header line(s) and the rule under them (none for blocks: each block has its labels)."""
        if self.widths is None:
            return []
        lines: list[str] = []
        self.row([c.header for c in self.columns], lines, header=True)
        return [*lines, self.bar * self.span]

    def note(self, text: str, style: str) -> list[str]:
        """A line of text above or below the table (on a terminal, folded within the width)."""
        pieces = fold(text, self.screen.width) if self.screen.terminal else [text]
        return [self.paint(piece, style) for piece in pieces]

    def mark(self, text: str, lines: list[str]) -> None:
        """A full-width rule line carrying text (on a terminal, the text folded within the width)."""
        room = self.span - 6 if self.screen.terminal else cells(text)
        first, *more = fold(text, max(8, room))
        line = f"{self.bar * 2} {first} "
        lines.append(self.paint(line + self.bar * max(2, self.span - cells(line)), "dim"))
        lines.extend(self.paint(f"   {piece}", "dim") for piece in more)

    def rows(self, batch: Sequence[Row], lines: list[str], *, ready: bool) -> None:
        """A batch of rows as lines (ready: its values are visible() text already)."""
        if self.row != self._piped_row:
            for values in batch:
                self.row(cast(Sequence[str], values) if ready else visible_row(values), lines)
            return
        line, free = self.template.format, self.justify[-1] == "left"
        for values in batch:  # piped, the hot loop: a row whose padded cells are ASCII is one format call
            texts = cast(Sequence[str], values) if ready else visible_row(values)
            if "".join(texts[:-1] if free else texts).isascii():
                lines.append(line(*texts))
            else:
                self._piped_row(texts, lines)

    def _piped_row(self, row: Sequence[str], lines: list[str], header: bool = False) -> None:
        free = self.justify[-1] == "left"  # the last column runs to the end of the line: never padded
        padded = row[:-1] if free else row
        if "".join(padded).isascii():  # the common case: a character is a cell; one format call pads all
            lines.append(self.template.format(*row))
            return
        assert self.widths is not None  # __init__ picks _piped_row only with widths
        parts = [pad(text, width, how) for text, width, how in zip(padded, self.widths, self.justify, strict=False)]
        if free:
            parts.append(row[-1])
        lines.append(GAP.join(parts))

    def _folded_row(self, row: Sequence[str], lines: list[str], header: bool = False) -> None:
        # The hot loop on a terminal: each cell is measured and folded once (fold_sized), and the
        # common cell (ASCII, fits, no style) is padded by one C call.
        paint = self.paint
        columns: list[list[str]] = []  # each column's lines, padded to its width
        height = 1
        for text, (width, justify, style) in zip(row, self.specs, strict=False):
            look = "bold" if header else (style(text) if style is not None and text else "")
            if text.isascii() and len(text) <= width:  # a character is a cell, and it fits (fold_sized's answer)
                if not look and justify == "left":
                    columns.append([text.ljust(width)])
                    continue
                if not look and justify == "right":
                    columns.append([text.rjust(width)])
                    continue
                pieces, sizes = [text], [len(text)]
            else:
                pieces, sizes = fold_sized(text, width)
            if len(pieces) > height:
                height = len(pieces)
            parts = []
            for piece, size in zip(pieces, sizes, strict=True):
                shown = paint(piece, look) if look else piece
                gap = width - size
                if gap <= 0:
                    parts.append(shown)
                elif justify == "left":
                    parts.append(shown + " " * gap)
                else:
                    left = gap if justify == "right" else gap // 2
                    parts.append(f"{' ' * left}{shown}{' ' * (gap - left)}")
            columns.append(parts)
        if height == 1:
            lines.append(GAP.join([parts[0] for parts in columns]).rstrip(" "))
            return
        last = columns[-1]
        if len(last) == height and all(len(parts) == 1 for parts in columns[:-1]):
            # Only the last column folds (the long text, the common case): its lines after the first
            # follow the other columns' blanks.
            lines.append(GAP.join([parts[0] for parts in columns]).rstrip(" "))
            lines.extend([(self.indent + part).rstrip(" ") for part in last[1:]])
            return
        blanks = self.blanks
        for k in range(height):
            line = [parts[k] if k < len(parts) else blank for parts, blank in zip(columns, blanks, strict=False)]
            lines.append(GAP.join(line).rstrip(" "))

    def _block_row(self, row: Sequence[str], lines: list[str], header: bool = False) -> None:
        room = max(1, self.screen.width - self.label - len(GAP))
        lines.append(self.paint(self.bar * self.screen.width, "dim"))
        for text, column, style in zip(row, self.columns, self.styles, strict=True):
            labels = fold(column.header, self.label)
            values = fold(text, room)
            look = style(text) if style and text else ""
            for k in range(max(len(labels), len(values))):
                label = labels[k] if k < len(labels) else ""
                value = values[k] if k < len(values) else ""
                if value:
                    label = pad(label, self.label, "left") + GAP
                lines.append(f"{self.paint(label, 'bold')}{self.paint(value, look)}")
