"""What a rename that merges must leave, in SQL written here (window functions over the file before it)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# Rows of both projects; a (sender, domain) scope is shared when both have rows in it; in a shared
# scope, identical rules of both projects become the one updated last (occurrences summed, the earliest
# created_at); then per scope the `cap` newest (updated_at DESC, rowid DESC) stay.
LESSONS = """
WITH pair AS (SELECT rowid AS rid, * FROM lessons WHERE project IN (:old, :new)),
shared AS (
  SELECT *, min(project) OVER s <> max(project) OVER s AS is_shared
  FROM pair WINDOW s AS (PARTITION BY sender_id, domain)
),
grouped AS (
  SELECT *, is_shared AND min(project) OVER g <> max(project) OVER g AS merging,
         row_number() OVER (PARTITION BY sender_id, domain, rule ORDER BY updated_at DESC, rid DESC) AS k,
         sum(occurrences) OVER g AS occ_sum, min(created_at) OVER g AS first_created
  FROM shared WINDOW g AS (PARTITION BY sender_id, domain, rule)
),
survivors AS (
  SELECT rid, id, sender_id, domain, rule, is_shared, updated_at,
         CASE WHEN merging THEN occ_sum ELSE occurrences END AS occurrences,
         CASE WHEN merging THEN first_created ELSE created_at END AS created_at
  FROM grouped WHERE NOT merging OR k = 1
),
ranked AS (
  SELECT *, row_number() OVER (PARTITION BY sender_id, domain ORDER BY updated_at DESC, rid DESC) AS n
  FROM survivors
)
SELECT id, sender_id, domain, rule, occurrences, created_at, updated_at, NOT is_shared OR n <= :cap FROM ranked
"""


def expected_lessons(path: Path, old: str, new: str, cap: int) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
    """(the lessons project NEW must hold afterwards, the evicted ones as (id, sender_id, domain, rule))."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(LESSONS, {"old": old, "new": new, "cap": cap}).fetchall()
    finally:
        conn.close()
    kept = {row[:7] for row in rows if row[7]}
    evicted = {row[:4] for row in rows if not row[7]}
    return kept, evicted


def lessons_of(path: Path, project: str) -> set[tuple[object, ...]]:
    """The lessons of one project, as expected_lessons gives them."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return set(conn.execute(
            "SELECT id, sender_id, domain, rule, occurrences, created_at, updated_at FROM lessons WHERE project = ?",
            (project,),
        ))
    finally:
        conn.close()
