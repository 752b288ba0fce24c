-- 004_fts5_recall: full-text recall over what the user said.
-- External-content FTS5 table: the text lives in messages, the index here.
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
    content,
    content = 'messages',
    content_rowid = 'rowid'
);

-- Only user messages are indexed.
INSERT INTO messages_fts (rowid, content)
    SELECT rowid, content FROM messages WHERE role = 'user';

CREATE TRIGGER IF NOT EXISTS messages_fts_insert
AFTER INSERT ON messages
WHEN new.role = 'user'
BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.rowid, new.content);
END;

CREATE TRIGGER IF NOT EXISTS messages_fts_delete
AFTER DELETE ON messages
WHEN old.role = 'user'
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content)
        VALUES ('delete', old.rowid, old.content);
END;

CREATE TRIGGER IF NOT EXISTS messages_fts_update
AFTER UPDATE OF content ON messages
WHEN new.role = 'user'
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content)
        VALUES ('delete', old.rowid, old.content);
    INSERT INTO messages_fts (rowid, content) VALUES (new.rowid, new.content);
END;
