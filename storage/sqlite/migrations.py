"""Versioned schema. Append a new script; never edit one that has shipped.

``PRAGMA user_version`` records how many scripts a database has run.
Statements are separated by a semicolon at the end of a line.
"""

MIGRATIONS: list[str] = [
    # 1: users, refresh tokens, blocks
    """
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL,
        headline TEXT NOT NULL DEFAULT '',
        avatar_url TEXT,
        skills TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_seen_at TEXT
    );
    CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        family_id TEXT NOT NULL,
        user_id TEXT NOT NULL REFERENCES users(id),
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT,
        revoked_at TEXT
    );
    CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
    CREATE TABLE blocks (
        blocker_id TEXT NOT NULL REFERENCES users(id),
        blocked_id TEXT NOT NULL REFERENCES users(id),
        created_at TEXT NOT NULL,
        PRIMARY KEY (blocker_id, blocked_id)
    );
    CREATE INDEX blocks_blocked ON blocks(blocked_id);
    """,
    # 2: conversations, memberships, messages (+ full-text index), idempotency keys
    """
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        title TEXT,
        context TEXT,
        created_by TEXT NOT NULL REFERENCES users(id),
        created_at TEXT NOT NULL,
        last_activity_at TEXT NOT NULL,
        direct_key TEXT UNIQUE,
        last_seq INTEGER NOT NULL DEFAULT 0,
        last_message TEXT
    );
    CREATE TABLE memberships (
        conversation_id TEXT NOT NULL REFERENCES conversations(id),
        user_id TEXT NOT NULL REFERENCES users(id),
        joined_at TEXT NOT NULL,
        read_seq INTEGER NOT NULL DEFAULT 0,
        pinned INTEGER NOT NULL DEFAULT 0,
        archived INTEGER NOT NULL DEFAULT 0,
        muted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (conversation_id, user_id)
    );
    CREATE INDEX memberships_user ON memberships(user_id);
    CREATE TABLE messages (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        conversation_id TEXT NOT NULL REFERENCES conversations(id),
        seq INTEGER NOT NULL,
        sender_id TEXT NOT NULL REFERENCES users(id),
        client_msg_id TEXT NOT NULL,
        text TEXT NOT NULL,
        attachments TEXT NOT NULL DEFAULT '[]',
        reply_to TEXT,
        created_at TEXT NOT NULL,
        edited_at TEXT,
        deleted INTEGER NOT NULL DEFAULT 0,
        UNIQUE (conversation_id, seq),
        UNIQUE (sender_id, client_msg_id)
    );
    CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='rowid');
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN INSERT INTO messages_fts(rowid, text) VALUES (new.rowid, new.text); END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text); INSERT INTO messages_fts(rowid, text) VALUES (new.rowid, new.text); END;
    CREATE TABLE idempotency_keys (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (scope, key)
    );
    """,
    # Appends become one INSERT (seq from the conversation row) whose trigger
    # moves the conversation and the sender's read marker: one statement per
    # message, so many can share one group commit.
    """
    CREATE TRIGGER messages_advance_conversation AFTER INSERT ON messages BEGIN UPDATE conversations SET last_seq = new.seq, last_activity_at = new.created_at, last_message = json_object('id', new.id, 'conversation_id', new.conversation_id, 'sender_id', new.sender_id, 'client_msg_id', new.client_msg_id, 'text', new.text, 'created_at', new.created_at, 'seq', new.seq, 'attachments', json(new.attachments), 'reply_to', new.reply_to, 'edited_at', new.edited_at, 'deleted', json(CASE WHEN new.deleted THEN 'true' ELSE 'false' END)) WHERE id = new.conversation_id; UPDATE memberships SET read_seq = new.seq WHERE conversation_id = new.conversation_id AND user_id = new.sender_id AND read_seq < new.seq; END;
    """,
]
