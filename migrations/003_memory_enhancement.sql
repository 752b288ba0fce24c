-- 003_memory_enhancement: conversation summaries and status; facts per sender.
--
-- OMEGA's own 003 adds last_activity with ALTER TABLE ... ADD COLUMN and a
-- default of datetime('now'). SQLite refuses a non-constant default when the
-- table already holds rows ("Cannot add a column with non-constant default"),
-- so OMEGA's 003 fails half-way on a non-empty conversations table. Here the
-- table is rebuilt instead: same columns, same order, same types and defaults,
-- and it works whether or not the table holds rows. Existing conversations
-- take their updated_at as last_activity and stay 'active'.
CREATE TABLE conversations_new (
    id            TEXT PRIMARY KEY,
    channel       TEXT NOT NULL,
    sender_id     TEXT NOT NULL,
    started_at    TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at    TEXT NOT NULL DEFAULT (datetime('now')),
    summary       TEXT,
    last_activity TEXT NOT NULL DEFAULT (datetime('now')),
    status        TEXT NOT NULL DEFAULT 'active'
);

INSERT INTO conversations_new (id, channel, sender_id, started_at, updated_at,
                               summary, last_activity, status)
    SELECT id, channel, sender_id, started_at, updated_at,
           NULL, updated_at, 'active'
    FROM conversations;

DROP TABLE conversations;
ALTER TABLE conversations_new RENAME TO conversations;

CREATE INDEX IF NOT EXISTS idx_conversations_channel_sender
    ON conversations (channel, sender_id);
CREATE INDEX IF NOT EXISTS idx_conversations_status
    ON conversations (status, last_activity);

-- The first facts table was never written to by OMEGA: it is replaced.
DROP TABLE IF EXISTS facts;

CREATE TABLE facts (
    id                TEXT PRIMARY KEY,
    sender_id         TEXT NOT NULL,
    key               TEXT NOT NULL,
    value             TEXT NOT NULL,
    source_message_id TEXT REFERENCES messages (id),
    created_at        TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at        TEXT NOT NULL DEFAULT (datetime('now')),
    UNIQUE (sender_id, key)
);
