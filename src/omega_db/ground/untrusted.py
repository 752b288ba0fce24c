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
# invisible and joins nothing, so that `alice` and `ali\u200bce` never look alike: the soft
# hyphen, the combining grapheme joiner, the Hangul fillers (a blank-looking name), the Khmer
# inherent vowels, the Mongolian vowel separator, the zero-width space, the word joiner,
# invisible operators and deprecated format characters, the BOM, the interlinear annotation
# marks. (The zero-width joiner and non-joiner and the variation selectors stay: emoji
# sequences and several scripts need them.) Last, tag characters, which render as nothing and
# can carry a whole hidden ASCII text ("ASCII smuggling"); a run of them is kept only where it
# spells an emoji subdivision flag (🏴 + tags). Each range beyond U+FFFF slows every search of
# every row (one: +20 %), so the rarer astral format controls (shorthand, musical) are left out.
_INVISIBLE = (
    "\x00-\x1f\x7f-\x9f\xad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200e\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb"
)
_TAGS = "\U000e0000-\U000e007f"
_CONTROL = re.compile(f"[{_INVISIBLE}{_TAGS}]")  # whether a text needs escaping: one character class, fast
_ESCAPED = re.compile(f"[{_INVISIBLE}]|[{_TAGS}]+")  # what is replaced: tag characters as whole runs
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_FLAG = "\U0001f3f4"  # WAVING BLACK FLAG: the base of every emoji tag sequence
_FLAG_TAGS = re.compile("[\U000e0030-\U000e0039\U000e0061-\U000e007a]{2,7}\U000e007f")  # gbeng + CANCEL TAG


def _escape(match: re.Match[str]) -> str:
    found = match.group()
    if len(found) > 1 or found >= "\U000e0000":  # a run of tag characters
        at = match.start()
        if at and match.string[at - 1] == _FLAG and _FLAG_TAGS.fullmatch(found):
            return found
        return "".join(_code(tag) for tag in found)
    return _NAMED.get(found) or _code(found)


def _code(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(value: object) -> str:
    """value as text that is safe on a terminal: control characters as escapes (\\x1b, \\n), None as ''."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if _CONTROL.search(text) is None:  # the common case: one scan, no copy
        return text
    return _ESCAPED.sub(_escape, text)


def visible_row(values: Sequence[object]) -> list[str]:
    """visible() of each value of a row, with one scan of the whole row in the common case."""
    texts = [v if v.__class__ is str else "" if v is None else str(v) for v in values]
    if _CONTROL.search("".join(texts)) is None:
        return texts
    return [visible(text) for text in texts]
