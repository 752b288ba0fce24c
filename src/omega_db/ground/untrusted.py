"""Stored text on its way to a terminal: every control (and invisible) character made visible, nothing else changed.

The database's text is written by an LLM and by chat users. A terminal obeys what it
is sent: ESC ] 52 writes its clipboard, ESC [ 2 J clears it, ESC [ 8 m hides what
follows, a CR overwrites the line, a bidi override reorders it. So everything a table or
a report shows passes through visible() first; JSON and CSV keep the values exact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# C0 (NUL … US: ESC, BEL, BS, CR, LF, TAB …), DEL and the C1 range (8-bit CSI, OSC, ST …);
# then what moves or reorders text without being a C0/C1 control: the line and paragraph
# separators and the bidirectional marks, embeddings, overrides and isolates; and what is
# invisible and joins nothing, so that `alice` and `ali\u200bce` never look alike: the zero-width
# space, the word joiner and invisible operators, the BOM. (The zero-width joiner and non-joiner
# stay: emoji sequences and several scripts need them.)
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: object) -> str:
    """value as text that is safe on a terminal: control characters as escapes (\\x1b, \\n), None as ''."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if _CONTROL.search(text) is None:  # the common case: one scan, no copy
        return text
    return _CONTROL.sub(_escape, text)


def visible_row(values: Sequence[object]) -> list[str]:
    """visible() of each value of a row, with one scan of the whole row in the common case."""
    texts = [v if v.__class__ is str else "" if v is None else str(v) for v in values]
    if _CONTROL.search("".join(texts)) is None:
        return texts
    return [visible(text) for text in texts]
