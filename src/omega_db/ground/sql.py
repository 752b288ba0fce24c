"""SQL text as data: quoting, tokens, statements. No connection, no schema knowledge."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

_TOKEN = re.compile(
    r"""\s+|--[^\n]*|/\*.*?(?:\*/|$)"""  # whitespace and comments: dropped
    r"""|('(?:[^']|'')*')"""  # 1: string literal, kept as written
    r"""|("(?:[^"]|"")*"|\[[^\]]*\]|`(?:[^`]|``)*`)"""  # 2: quoted identifier
    r"""|([A-Za-z_][A-Za-z0-9_$]*|\d+(?:\.\d*)?|<=|>=|<>|!=|==|\|\||.)""",  # 3: word, number, symbol
    re.DOTALL,
)
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


def quote(identifier: str) -> str:
    """An identifier in double quotes, safe in any SQL text."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A string literal in single quotes, safe in any SQL text."""
    return "'" + text.replace("'", "''") + "'"


def scan(sql: str) -> Iterator[tuple[str, int, int]]:
    """(folded token, start, end) for each token; comments and whitespace are skipped."""
    for match in _TOKEN.finditer(sql):
        string, quoted, other = match.groups()
        if string is not None:
            yield string, match.start(), match.end()
        elif quoted is not None:
            yield quoted[1:-1].replace(quoted[0] * 2, quoted[0]).lower(), match.start(), match.end()
        elif other is not None:
            yield other.lower(), match.start(), match.end()


def tokens(sql: str) -> list[str]:
    """SQL text as tokens: comments and whitespace gone, case folded outside string literals."""
    return [token for token, _, _ in scan(sql)]


def normalise(sql: str) -> str:
    """A canonical text for comparing two pieces of SQL that differ only in layout, case or quoting."""
    return " ".join(tokens(sql))


def checks_in(create_sql: str) -> tuple[str, ...]:
    """The CHECK constraints of a CREATE TABLE statement, each as `CHECK (...)` in its own words."""
    scanned = list(scan(create_sql))
    found = []
    for i, (token, start, _) in enumerate(scanned):
        if token != "check" or i + 1 >= len(scanned) or scanned[i + 1][0] != "(":
            continue
        depth = 0
        for inner, _, end in scanned[i + 1 :]:
            depth += {"(": 1, ")": -1}.get(inner, 0)
            if depth == 0:
                found.append(re.sub(r"\s+", " ", create_sql[start:end]))
                break
    return tuple(found)


def split_statements(script: str) -> list[str]:
    """Split a SQL script into complete statements; a ';' inside a trigger body does not end it."""
    statements: list[str] = []
    start = 0
    pos = script.find(";")
    while pos != -1:
        candidate = script[start : pos + 1]
        if sqlite3.complete_statement(candidate):
            if _has_code(candidate):
                statements.append(candidate.strip())
            start = pos + 1
        pos = script.find(";", pos + 1)
    rest = script[start:]
    if _has_code(rest):
        statements.append(rest.strip())
    return statements


def _has_code(text: str) -> bool:
    return bool(_COMMENT.sub("", text).replace(";", "").strip())
