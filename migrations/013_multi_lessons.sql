-- 013_multi_lessons: several rules per (sender_id, domain, project). lessons is
-- rebuilt without its UNIQUE constraint; columns, types, NOT NULL flags and
-- defaults stay as 011 made them.
CREATE TABLE lessons_v2 (
    id          TEXT PRIMARY KEY,
    sender_id   TEXT NOT NULL,
    domain      TEXT NOT NULL,
    rule        TEXT NOT NULL,
    project     TEXT NOT NULL DEFAULT '',
    occurrences INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at  TEXT NOT NULL DEFAULT (datetime('now'))
);

-- Upstream copies with `SELECT *`, which puts values in the wrong columns when
-- lessons' columns are in another order (a hand-fixed 011 leaves them so).
-- Here every value goes to the column of its name, and each row keeps its
-- rowid: OMEGA breaks ties between equal updated_at values by rowid. When
-- lessons has exactly 011's columns in 011's order, omega-db runs this copy as
-- `SELECT *` (the same rows, copied record by record: chain/transfer.py).
INSERT INTO lessons_v2 (rowid, id, sender_id, domain, rule, project, occurrences, created_at, updated_at)
    SELECT rowid, id, sender_id, domain, rule, project, occurrences, created_at, updated_at FROM lessons;

DROP TABLE lessons;
ALTER TABLE lessons_v2 RENAME TO lessons;

CREATE INDEX IF NOT EXISTS idx_lessons_sender ON lessons (sender_id);
CREATE INDEX IF NOT EXISTS idx_lessons_project ON lessons (sender_id, project);
CREATE INDEX IF NOT EXISTS idx_lessons_domain ON lessons (sender_id, domain, project);
