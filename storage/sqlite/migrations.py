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
    # 3: marketplace (jobs, bids, milestones, reviews), wallet (deposits, payouts,
    # double-entry ledger), processed webhook events, notifications
    """
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        owner_id TEXT NOT NULL REFERENCES users(id),
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        skills TEXT NOT NULL DEFAULT '[]',
        budget_min INTEGER NOT NULL,
        budget_max INTEGER NOT NULL,
        currency TEXT NOT NULL,
        type TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        published_at TEXT,
        awarded_bid_id TEXT,
        freelancer_id TEXT,
        version INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX jobs_owner ON jobs(owner_id, id);
    CREATE INDEX jobs_status ON jobs(status, id);
    CREATE TABLE bids (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL REFERENCES jobs(id),
        owner_id TEXT NOT NULL REFERENCES users(id),
        freelancer_id TEXT NOT NULL REFERENCES users(id),
        amount INTEGER NOT NULL CHECK (amount > 0),
        currency TEXT NOT NULL,
        period_days INTEGER NOT NULL,
        proposal TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        active_key TEXT UNIQUE,
        conversation_id TEXT,
        version INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX bids_job ON bids(job_id, id);
    CREATE TABLE milestones (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL REFERENCES jobs(id),
        owner_id TEXT NOT NULL REFERENCES users(id),
        freelancer_id TEXT NOT NULL REFERENCES users(id),
        amount INTEGER NOT NULL CHECK (amount > 0),
        currency TEXT NOT NULL,
        description TEXT NOT NULL,
        status TEXT NOT NULL,
        held INTEGER NOT NULL CHECK (held >= 0),
        released INTEGER NOT NULL DEFAULT 0,
        fee INTEGER NOT NULL DEFAULT 0,
        refunded INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 0,
        CHECK (held + released + refunded = amount)
    );
    CREATE INDEX milestones_job ON milestones(job_id, id);
    CREATE TABLE reviews (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL REFERENCES jobs(id),
        author_id TEXT NOT NULL REFERENCES users(id),
        subject_id TEXT NOT NULL REFERENCES users(id),
        rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
        comment TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (job_id, author_id)
    );
    CREATE INDEX reviews_subject ON reviews(subject_id, id);
    CREATE TABLE deposits (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id),
        amount INTEGER NOT NULL CHECK (amount > 0),
        currency TEXT NOT NULL,
        payment_method TEXT NOT NULL,
        provider TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        provider_ref TEXT,
        failure_reason TEXT,
        version INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE payouts (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id),
        amount INTEGER NOT NULL CHECK (amount > 0),
        currency TEXT NOT NULL,
        destination TEXT NOT NULL,
        provider TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        provider_ref TEXT,
        failure_reason TEXT,
        version INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE ledger_accounts (
        owner_id TEXT NOT NULL,
        account TEXT NOT NULL,
        currency TEXT NOT NULL,
        balance INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (owner_id, currency, account),
        CHECK (account NOT IN ('available', 'held') OR balance >= 0)
    );
    CREATE TABLE ledger_movements (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        ref_type TEXT NOT NULL,
        ref_id TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE ledger_entries (
        id TEXT PRIMARY KEY,
        movement_id TEXT NOT NULL REFERENCES ledger_movements(id),
        owner_id TEXT NOT NULL,
        account TEXT NOT NULL,
        currency TEXT NOT NULL,
        amount INTEGER NOT NULL,
        kind TEXT NOT NULL,
        ref_type TEXT NOT NULL,
        ref_id TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX ledger_entries_owner ON ledger_entries(owner_id, id);
    CREATE TABLE processed_events (
        id TEXT PRIMARY KEY,
        processed_at TEXT NOT NULL
    );
    CREATE TABLE notifications (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id),
        type TEXT NOT NULL,
        data TEXT NOT NULL,
        created_at TEXT NOT NULL,
        read_at TEXT
    );
    CREATE INDEX notifications_user ON notifications(user_id, id);
    CREATE INDEX notifications_unread ON notifications(user_id) WHERE read_at IS NULL;
    """,
    # 4 (issue 6): speed-networking lobbies, sessions and ratings
    """
    CREATE TABLE networking_lobbies (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        topic TEXT NOT NULL,
        duration_minutes INTEGER NOT NULL,
        created_by TEXT NOT NULL REFERENCES users(id),
        created_at TEXT NOT NULL,
        starts_at TEXT,
        ends_at TEXT,
        closed_at TEXT
    );
    CREATE INDEX networking_lobbies_open ON networking_lobbies(ends_at) WHERE closed_at IS NULL;
    CREATE TABLE networking_sessions (
        id TEXT PRIMARY KEY,
        lobby_id TEXT NOT NULL REFERENCES networking_lobbies(id),
        offerer_id TEXT NOT NULL REFERENCES users(id),
        answerer_id TEXT NOT NULL REFERENCES users(id),
        offerer_conn TEXT NOT NULL,
        answerer_conn TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ends_at TEXT NOT NULL,
        status TEXT NOT NULL,
        ended_at TEXT,
        end_reason TEXT,
        offerer_signaled_at TEXT,
        answerer_signaled_at TEXT,
        connected_at TEXT,
        conversation_id TEXT
    );
    CREATE INDEX networking_sessions_lobby ON networking_sessions(lobby_id);
    CREATE INDEX networking_sessions_active ON networking_sessions(ends_at) WHERE status = 'active';
    CREATE TABLE networking_ratings (
        session_id TEXT NOT NULL REFERENCES networking_sessions(id),
        rater_id TEXT NOT NULL REFERENCES users(id),
        stars INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
        connect INTEGER NOT NULL,
        note TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (session_id, rater_id)
    );
    """,
    # Appends become one INSERT (seq from the conversation row) whose trigger
    # moves the conversation and the sender's read marker: one statement per
    # message, so many can share one group commit.
    """
    CREATE TRIGGER messages_advance_conversation AFTER INSERT ON messages BEGIN UPDATE conversations SET last_seq = new.seq, last_activity_at = new.created_at, last_message = json_object('id', new.id, 'conversation_id', new.conversation_id, 'sender_id', new.sender_id, 'client_msg_id', new.client_msg_id, 'text', new.text, 'created_at', new.created_at, 'seq', new.seq, 'attachments', json(new.attachments), 'reply_to', new.reply_to, 'edited_at', new.edited_at, 'deleted', json(CASE WHEN new.deleted THEN 'true' ELSE 'false' END)) WHERE id = new.conversation_id; UPDATE memberships SET read_seq = new.seq WHERE conversation_id = new.conversation_id AND user_id = new.sender_id AND read_seq < new.seq; END;
    """,
    # A version on the conversation that moves with its member list, so the
    # member list of a conversation can be cached and checked for staleness
    # by the append that returns it.
    """
    ALTER TABLE conversations ADD COLUMN members_version INTEGER NOT NULL DEFAULT 0;
    CREATE TRIGGER memberships_added AFTER INSERT ON memberships BEGIN UPDATE conversations SET members_version = members_version + 1 WHERE id = new.conversation_id; END;
    CREATE TRIGGER memberships_removed AFTER DELETE ON memberships BEGIN UPDATE conversations SET members_version = members_version + 1 WHERE id = old.conversation_id; END;
    """,
    # Sessions (issue 12): one row per login; its id is the refresh-token
    # family id and the access tokens' sid. Refresh tokens issued before this
    # have no session and stop working: their users log in again.
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id),
        created_at TEXT NOT NULL,
        last_used_at TEXT NOT NULL,
        user_agent TEXT,
        ip TEXT,
        revoked_at TEXT
    );
    CREATE INDEX sessions_active_by_user ON sessions(user_id, created_at) WHERE revoked_at IS NULL;
    """,
    # One conversation per bid (issue 13): context_key "bid:<id>" is unique like
    # direct_key. Bids that already have several keep one: the conversation the
    # bid names, else the oldest; the others stay as plain conversations.
    """
    ALTER TABLE conversations ADD COLUMN context_key TEXT;
    UPDATE conversations SET context_key = 'bid:' || json_extract(context, '$.id')
    WHERE json_extract(context, '$.type') = 'bid' AND id = (
        SELECT c.id FROM conversations c
        WHERE json_extract(c.context, '$.type') = 'bid'
        AND json_extract(c.context, '$.id') = json_extract(conversations.context, '$.id')
        ORDER BY c.id IS (SELECT conversation_id FROM bids
                          WHERE bids.id = json_extract(c.context, '$.id')) DESC,
                 c.created_at, c.id
        LIMIT 1);
    CREATE UNIQUE INDEX conversations_context_key ON conversations(context_key) WHERE context_key IS NOT NULL;
    """,
    # 9 (issue 15): appends no longer index search; storage/sqlite/search_index.py
    # indexes everything past the watermark in batches. Every message so far
    # was indexed by the old trigger. An edit re-indexes only what is indexed.
    """
    DROP TRIGGER messages_fts_insert;
    DROP TRIGGER messages_fts_update;
    CREATE TABLE search_index_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        indexed_rowid INTEGER NOT NULL
    );
    INSERT INTO search_index_state (id, indexed_rowid) VALUES (1, (SELECT COALESCE(MAX(rowid), 0) FROM messages));
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages WHEN old.rowid <= (SELECT indexed_rowid FROM search_index_state) BEGIN INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text); INSERT INTO messages_fts(rowid, text) VALUES (new.rowid, new.text); END;
    """,
    # 10 (issue 16): uploads, which become a message's attachments. No foreign
    # key on message_id: an upload is attached before its message is written.
    """
    CREATE TABLE uploads (
        id TEXT PRIMARY KEY,
        owner_id TEXT NOT NULL REFERENCES users(id),
        conversation_id TEXT NOT NULL REFERENCES conversations(id),
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        mime TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        status TEXT NOT NULL,
        sha256 TEXT,
        width INTEGER,
        height INTEGER,
        has_thumbnail INTEGER NOT NULL DEFAULT 0,
        scan_status TEXT NOT NULL,
        message_id TEXT,
        completed_at TEXT
    );
    CREATE INDEX uploads_owner_created ON uploads(owner_id, created_at);
    CREATE INDEX uploads_status_expires ON uploads(status, expires_at);
    CREATE INDEX uploads_message ON uploads(message_id) WHERE message_id IS NOT NULL;
    """,
    # 11 (issue 17): conversation flags that work. pinned_at orders pinned
    # conversations, most recently pinned first; a pin made before it takes its
    # conversation's last activity, so old pins keep the order they listed in.
    # A new message unarchives the conversation for every participant who
    # archived it and did not mute it, in the append's own statement (a second
    # trigger on the INSERT); the partial index makes that a lookup that finds
    # nothing in the usual case, instead of a scan of the members.
    """
    ALTER TABLE memberships ADD COLUMN pinned_at TEXT;
    UPDATE memberships SET pinned_at = (SELECT last_activity_at FROM conversations WHERE id = memberships.conversation_id) WHERE pinned = 1;
    CREATE INDEX memberships_unarchivable ON memberships(conversation_id) WHERE archived = 1 AND muted = 0;
    CREATE TRIGGER messages_unarchive AFTER INSERT ON messages BEGIN UPDATE memberships SET archived = 0 WHERE conversation_id = new.conversation_id AND archived = 1 AND muted = 0; END;
    """,
    # issue 17: receipts. How far each participant's devices received
    # (message:delivered); only moves forward.
    """
    ALTER TABLE memberships ADD COLUMN delivered_seq INTEGER NOT NULL DEFAULT 0;
    """,
    # issue 17: message pins. Pinned messages of a conversation, most recently
    # pinned first; the partial index also makes the per-conversation count
    # that MessageStore.pin checks against the limit a short range scan. The
    # conversation's last_message snapshot, written by the append's trigger,
    # gains the three fields.
    """
    ALTER TABLE messages ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN pinned_at TEXT;
    ALTER TABLE messages ADD COLUMN pinned_by TEXT;
    CREATE INDEX messages_pinned ON messages(conversation_id, pinned_at) WHERE pinned = 1;
    DROP TRIGGER messages_advance_conversation;
    CREATE TRIGGER messages_advance_conversation AFTER INSERT ON messages BEGIN UPDATE conversations SET last_seq = new.seq, last_activity_at = new.created_at, last_message = json_object('id', new.id, 'conversation_id', new.conversation_id, 'sender_id', new.sender_id, 'client_msg_id', new.client_msg_id, 'text', new.text, 'created_at', new.created_at, 'seq', new.seq, 'attachments', json(new.attachments), 'reply_to', new.reply_to, 'edited_at', new.edited_at, 'deleted', json(CASE WHEN new.deleted THEN 'true' ELSE 'false' END), 'pinned', json(CASE WHEN new.pinned THEN 'true' ELSE 'false' END), 'pinned_at', new.pinned_at, 'pinned_by', new.pinned_by) WHERE id = new.conversation_id; UPDATE memberships SET read_seq = new.seq WHERE conversation_id = new.conversation_id AND user_id = new.sender_id AND read_seq < new.seq; END;
    """,
    # issue 17: mentions. The participant ids a message mentions, as a JSON
    # array; the conversation's last_message snapshot gains the field.
    """
    ALTER TABLE messages ADD COLUMN mentions TEXT NOT NULL DEFAULT '[]';
    DROP TRIGGER messages_advance_conversation;
    CREATE TRIGGER messages_advance_conversation AFTER INSERT ON messages BEGIN UPDATE conversations SET last_seq = new.seq, last_activity_at = new.created_at, last_message = json_object('id', new.id, 'conversation_id', new.conversation_id, 'sender_id', new.sender_id, 'client_msg_id', new.client_msg_id, 'text', new.text, 'created_at', new.created_at, 'seq', new.seq, 'attachments', json(new.attachments), 'reply_to', new.reply_to, 'edited_at', new.edited_at, 'deleted', json(CASE WHEN new.deleted THEN 'true' ELSE 'false' END), 'pinned', json(CASE WHEN new.pinned THEN 'true' ELSE 'false' END), 'pinned_at', new.pinned_at, 'pinned_by', new.pinned_by, 'mentions', json(new.mentions)) WHERE id = new.conversation_id; UPDATE memberships SET read_seq = new.seq WHERE conversation_id = new.conversation_id AND user_id = new.sender_id AND read_seq < new.seq; END;
    """,
    # issue 17: reactions, threads, system and card messages, and the change
    # feed that sync reads. A message's reactions are a JSON list of
    # {emoji, user_ids}; system and card messages have kind 'system'/'card',
    # a JSON card, and as sender_id the user whose action caused them (so
    # unread counts and that user's read marker work as for their own
    # messages; the wire shows sender_id null). A thread reply moves its root's
    # reply_count and last_reply_at (trigger). Every change to a stored message
    # sets its rev to the conversation's next one (storage/sqlite/messages.py's
    # NEXT_REV; a trigger moves the conversation's last_rev), so sync can return
    # the messages changed since a rev the client holds.
    """
    ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
    ALTER TABLE messages ADD COLUMN card TEXT;
    ALTER TABLE messages ADD COLUMN reactions TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE messages ADD COLUMN thread_root_id TEXT;
    ALTER TABLE messages ADD COLUMN reply_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN last_reply_at TEXT;
    ALTER TABLE messages ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE conversations ADD COLUMN last_rev INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX messages_thread ON messages(thread_root_id, seq) WHERE thread_root_id IS NOT NULL;
    CREATE INDEX messages_rev ON messages(conversation_id, rev) WHERE rev > 0;
    DROP TRIGGER messages_advance_conversation;
    CREATE TRIGGER messages_advance_conversation AFTER INSERT ON messages BEGIN UPDATE conversations SET last_seq = new.seq, last_activity_at = new.created_at, last_message = json_object('id', new.id, 'conversation_id', new.conversation_id, 'sender_id', new.sender_id, 'client_msg_id', new.client_msg_id, 'text', new.text, 'created_at', new.created_at, 'seq', new.seq, 'attachments', json(new.attachments), 'reply_to', new.reply_to, 'edited_at', new.edited_at, 'deleted', json(CASE WHEN new.deleted THEN 'true' ELSE 'false' END), 'pinned', json(CASE WHEN new.pinned THEN 'true' ELSE 'false' END), 'pinned_at', new.pinned_at, 'pinned_by', new.pinned_by, 'mentions', json(new.mentions), 'kind', new.kind, 'card', json(new.card), 'reactions', json(new.reactions), 'thread_root_id', new.thread_root_id, 'reply_count', new.reply_count, 'last_reply_at', new.last_reply_at, 'rev', new.rev) WHERE id = new.conversation_id; UPDATE memberships SET read_seq = new.seq WHERE conversation_id = new.conversation_id AND user_id = new.sender_id AND read_seq < new.seq; END;
    CREATE TRIGGER messages_thread_reply AFTER INSERT ON messages WHEN new.thread_root_id IS NOT NULL BEGIN UPDATE messages SET reply_count = reply_count + 1, last_reply_at = new.created_at, rev = (SELECT last_rev + 1 FROM conversations WHERE id = new.conversation_id) WHERE id = new.thread_root_id; END;
    CREATE TRIGGER messages_revise AFTER UPDATE OF rev ON messages BEGIN UPDATE conversations SET last_rev = new.rev WHERE id = new.conversation_id AND last_rev < new.rev; END;
    """,
    # issue 17: a system or card message does not move its actor's read
    # marker (a text message still moves its sender's): the actor of a release
    # made from the dashboard, or of a call hung up, has not necessarily read
    # what came before, and a read receipt must not say so. It is not unread
    # for them either way: unread counts leave out a user's own messages.
    """
    DROP TRIGGER messages_advance_conversation;
    CREATE TRIGGER messages_advance_conversation AFTER INSERT ON messages BEGIN UPDATE conversations SET last_seq = new.seq, last_activity_at = new.created_at, last_message = json_object('id', new.id, 'conversation_id', new.conversation_id, 'sender_id', new.sender_id, 'client_msg_id', new.client_msg_id, 'text', new.text, 'created_at', new.created_at, 'seq', new.seq, 'attachments', json(new.attachments), 'reply_to', new.reply_to, 'edited_at', new.edited_at, 'deleted', json(CASE WHEN new.deleted THEN 'true' ELSE 'false' END), 'pinned', json(CASE WHEN new.pinned THEN 'true' ELSE 'false' END), 'pinned_at', new.pinned_at, 'pinned_by', new.pinned_by, 'mentions', json(new.mentions), 'kind', new.kind, 'card', json(new.card), 'reactions', json(new.reactions), 'thread_root_id', new.thread_root_id, 'reply_count', new.reply_count, 'last_reply_at', new.last_reply_at, 'rev', new.rev) WHERE id = new.conversation_id; UPDATE memberships SET read_seq = new.seq WHERE conversation_id = new.conversation_id AND user_id = new.sender_id AND read_seq < new.seq AND new.kind = 'text'; END;
    """,
    # issue 18: notification settings per user (quiet_hours as JSON), and
    # Web Push subscriptions, one per endpoint (re-subscribing updates it).
    """
    CREATE TABLE notification_settings (
        user_id TEXT PRIMARY KEY REFERENCES users(id),
        push INTEGER NOT NULL DEFAULT 1,
        email INTEGER NOT NULL DEFAULT 1,
        email_digest_delay_s INTEGER NOT NULL DEFAULT 900,
        quiet_hours TEXT,
        updated_at TEXT
    );
    CREATE TABLE push_subscriptions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id),
        endpoint TEXT NOT NULL UNIQUE,
        p256dh TEXT NOT NULL,
        auth TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        user_agent TEXT
    );
    CREATE INDEX push_subscriptions_user ON push_subscriptions(user_id);
    """,
    # issue 18: outbound webhooks. Endpoints; the outbox, one entry per event
    # and endpoint, sent oldest first per endpoint under an expiring lease
    # (the partial index finds an endpoint's head and counts the depth); the
    # log of delivery attempts, newest first per endpoint.
    """
    CREATE TABLE webhook_endpoints (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        events TEXT NOT NULL,
        secret TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE webhook_outbox (
        id TEXT PRIMARY KEY,
        endpoint_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        next_attempt_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'pending',
        lease_owner TEXT,
        lease_until TEXT,
        last_error TEXT
    );
    CREATE INDEX webhook_outbox_pending ON webhook_outbox(endpoint_id, id) WHERE status = 'pending';
    CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY,
        endpoint_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        at TEXT NOT NULL,
        duration_ms INTEGER NOT NULL,
        status_code INTEGER,
        error TEXT
    );
    CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, id);
    """,
    # issue 18: email digests, one record per user for their latest absence
    # (storage/records.py EmailDigestRecord); the worker reads the pending ones
    # by due time.
    """
    CREATE TABLE email_digests (
        user_id TEXT PRIMARY KEY,
        absence_since TEXT NOT NULL,
        due_at TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        lease_until TEXT,
        finished_at TEXT
    );
    CREATE INDEX email_digests_due ON email_digests(due_at) WHERE state = 'pending';
    """,
    # issue 19: two-factor (TOTP) state, one row per user (storage/records.py
    # MfaRecord); recovery_codes is a JSON array of hashes.
    """
    CREATE TABLE user_mfa (
        user_id TEXT PRIMARY KEY REFERENCES users(id),
        updated_at TEXT NOT NULL,
        secret TEXT,
        pending_secret TEXT,
        enabled_at TEXT,
        recovery_codes TEXT NOT NULL DEFAULT '[]',
        last_step INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT
    );
    """,
    # issue 19: single-use tokens mailed to users (storage/records.py
    # AccountTokenRecord: password reset, email verification), stored as the
    # token's SHA-256; and whether a user's email is verified.
    """
    CREATE TABLE account_tokens (
        token_hash TEXT PRIMARY KEY,
        purpose TEXT NOT NULL,
        user_id TEXT NOT NULL REFERENCES users(id),
        email TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT
    );
    CREATE INDEX account_tokens_user ON account_tokens(user_id, purpose) WHERE used_at IS NULL;
    CREATE INDEX account_tokens_expiry ON account_tokens(expires_at);
    ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
    """,
    # issue 20: reports (one per reporter and target), the append-only audit
    # log of admin actions (triggers refuse any change or removal), and a
    # user's suspension or ban.
    """
    CREATE TABLE reports (
        id TEXT PRIMARY KEY,
        reporter_id TEXT NOT NULL REFERENCES users(id),
        target_type TEXT NOT NULL,
        target_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_at TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'open',
        subject_id TEXT,
        conversation_id TEXT,
        message_seq INTEGER,
        action TEXT,
        resolved_by TEXT,
        resolved_at TEXT,
        resolution_note TEXT,
        UNIQUE (reporter_id, target_type, target_id)
    );
    CREATE INDEX reports_status ON reports(status, id);
    CREATE TABLE audit_log (
        id TEXT PRIMARY KEY,
        actor_id TEXT NOT NULL,
        action TEXT NOT NULL,
        target_type TEXT NOT NULL,
        target_id TEXT NOT NULL,
        at TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        details TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX audit_log_actor ON audit_log(actor_id, id);
    CREATE INDEX audit_log_target ON audit_log(target_id, id);
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE INDEX bids_freelancer ON bids(freelancer_id, status);
    CREATE INDEX milestones_disputed ON milestones(id) WHERE status = 'disputed';
    ALTER TABLE users ADD COLUMN suspended_until TEXT;
    ALTER TABLE users ADD COLUMN banned_at TEXT;
    """,
    # issue 20: contact masking. A masked message keeps the sender's text for
    # moderators (storage/records.py MessageRecord.original_text, flagged);
    # the pair's accepted bid is looked up by (freelancer, owner); the
    # conversation's last_message snapshot gains both fields, as every record field.
    """
    ALTER TABLE messages ADD COLUMN original_text TEXT;
    ALTER TABLE messages ADD COLUMN flagged INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX messages_flagged ON messages(id) WHERE flagged = 1;
    CREATE INDEX bids_pair ON bids(freelancer_id, owner_id, status);
    DROP TRIGGER messages_advance_conversation;
    CREATE TRIGGER messages_advance_conversation AFTER INSERT ON messages BEGIN UPDATE conversations SET last_seq = new.seq, last_activity_at = new.created_at, last_message = json_object('id', new.id, 'conversation_id', new.conversation_id, 'sender_id', new.sender_id, 'client_msg_id', new.client_msg_id, 'text', new.text, 'created_at', new.created_at, 'seq', new.seq, 'attachments', json(new.attachments), 'reply_to', new.reply_to, 'edited_at', new.edited_at, 'deleted', json(CASE WHEN new.deleted THEN 'true' ELSE 'false' END), 'pinned', json(CASE WHEN new.pinned THEN 'true' ELSE 'false' END), 'pinned_at', new.pinned_at, 'pinned_by', new.pinned_by, 'mentions', json(new.mentions), 'kind', new.kind, 'card', json(new.card), 'reactions', json(new.reactions), 'thread_root_id', new.thread_root_id, 'reply_count', new.reply_count, 'last_reply_at', new.last_reply_at, 'rev', new.rev, 'original_text', new.original_text, 'flagged', json(CASE WHEN new.flagged THEN 'true' ELSE 'false' END)) WHERE id = new.conversation_id; UPDATE memberships SET read_seq = new.seq WHERE conversation_id = new.conversation_id AND user_id = new.sender_id AND read_seq < new.seq AND new.kind = 'text'; END;
    """,
    # issue 18 (left open): the delivery log and the outbox entries given up
    # on are deleted by age (hub/offline/webhook_worker.py, prune); these
    # indexes find the old rows without scanning.
    """
    CREATE INDEX webhook_deliveries_at ON webhook_deliveries(at);
    CREATE INDEX webhook_outbox_failed ON webhook_outbox(created_at) WHERE status = 'failed';
    """,
    # Dispute notes: each side's latest note on a milestone and when
    # (storage/records.py MilestoneRecord; hub/marketplace/milestones.py).
    """
    ALTER TABLE milestones ADD COLUMN owner_note TEXT;
    ALTER TABLE milestones ADD COLUMN owner_note_at TEXT;
    ALTER TABLE milestones ADD COLUMN freelancer_note TEXT;
    ALTER TABLE milestones ADD COLUMN freelancer_note_at TEXT;
    """,
    # Sessions and refresh tokens are deleted some days after they ended
    # (hub/accounts/retention.py, HUB_SESSION_RETENTION_DAYS); these indexes
    # find expired tokens, revoked sessions and unrevoked ones by last use.
    """
    CREATE INDEX refresh_tokens_expiry ON refresh_tokens(expires_at);
    CREATE INDEX sessions_revoked ON sessions(revoked_at) WHERE revoked_at IS NOT NULL;
    CREATE INDEX sessions_unrevoked_last_used ON sessions(last_used_at) WHERE revoked_at IS NULL;
    """,
]
