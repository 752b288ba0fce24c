-- 011_project_learning: scope outcomes, lessons and tasks to projects.
-- '' is the general scope; any other value is a project name.
ALTER TABLE outcomes ADD COLUMN project TEXT NOT NULL DEFAULT '';

-- SQLite cannot change a UNIQUE constraint in place: lessons is rebuilt with
-- project after rule and UNIQUE (sender_id, domain, project). Every row is
-- kept, in the general scope.
CREATE TABLE lessons_new (
    id          TEXT PRIMARY KEY,
    sender_id   TEXT NOT NULL,
    domain      TEXT NOT NULL,
    rule        TEXT NOT NULL,
    project     TEXT NOT NULL DEFAULT '',
    occurrences INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at  TEXT NOT NULL DEFAULT (datetime('now')),
    UNIQUE (sender_id, domain, project)
);

INSERT INTO lessons_new (id, sender_id, domain, rule, project, occurrences, created_at, updated_at)
    SELECT id, sender_id, domain, rule, '', occurrences, created_at, updated_at FROM lessons;

DROP TABLE lessons;
ALTER TABLE lessons_new RENAME TO lessons;

ALTER TABLE scheduled_tasks ADD COLUMN project TEXT NOT NULL DEFAULT '';

CREATE INDEX IF NOT EXISTS idx_outcomes_project ON outcomes (sender_id, project, timestamp);
CREATE INDEX IF NOT EXISTS idx_lessons_project ON lessons (sender_id, project);
CREATE INDEX IF NOT EXISTS idx_lessons_sender ON lessons (sender_id);
