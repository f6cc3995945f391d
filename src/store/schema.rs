//! The SQLite schema, as a list of migrations. `PRAGMA user_version` records how many
//! have run; each runs once, in order, inside the transaction that bumps the version.

/// Migration `i` brings the schema from version `i` to `i + 1`. Append only.
pub const MIGRATIONS: &[&str] = &[
    // 1: accounts, roles, channels, server settings.
    r#"
    CREATE TABLE users (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        id            TEXT NOT NULL UNIQUE,
        username      TEXT NOT NULL,
        nickname      TEXT,
        password_hash TEXT,
        roles         TEXT NOT NULL,            -- JSON array of role names, in order
        status        TEXT NOT NULL,            -- JSON {"status","text"}
        pfp_url       TEXT,
        validator     TEXT
    );
    CREATE INDEX users_username ON users (lower(username));
    CREATE TABLE roles (
        seq      INTEGER PRIMARY KEY AUTOINCREMENT,
        name     TEXT NOT NULL UNIQUE,
        data     TEXT NOT NULL                  -- JSON object as sent to clients
    );
    CREATE TABLE channels (
        seq      INTEGER PRIMARY KEY AUTOINCREMENT,
        name     TEXT NOT NULL UNIQUE,
        position INTEGER NOT NULL,
        data     TEXT NOT NULL                  -- JSON object as sent to clients
    );
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL                     -- JSON
    );
    "#,
    // 2: message history and read markers. A message's standard fields are columns; every
    // other stored key (reply_to, ping, edited, reactions, pinned, embeds, interaction, …)
    // stays in `extra`, a JSON object, so that imported data keeps what it had.
    r#"
    CREATE TABLE messages (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,   -- order of arrival
        channel    TEXT NOT NULL,
        id         TEXT NOT NULL UNIQUE,
        user_id    TEXT NOT NULL,
        content    TEXT NOT NULL,
        timestamp  REAL NOT NULL,
        reply_to   TEXT,                                -- id of the message replied to
        reply_user TEXT,                                -- its author's user id
        pinned     INTEGER NOT NULL DEFAULT 0,
        extra      TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX messages_by_channel ON messages (channel, seq);
    CREATE INDEX messages_by_reply ON messages (channel, reply_to) WHERE reply_to IS NOT NULL;
    CREATE INDEX messages_pinned ON messages (channel, seq) WHERE pinned = 1;
    CREATE TABLE unreads (
        user_id   TEXT NOT NULL,
        channel   TEXT NOT NULL,
        last_read TEXT NOT NULL,
        PRIMARY KEY (user_id, channel)
    );
    "#,
    // 3: session tokens (stay logged in across reloads). Only the SHA-256 of a token is kept.
    r#"
    CREATE TABLE session_tokens (
        hash       BLOB PRIMARY KEY,
        user_id    TEXT NOT NULL,
        created_at INTEGER NOT NULL,                    -- unix seconds
        expires_at INTEGER NOT NULL                     -- unix seconds
    );
    CREATE INDEX session_tokens_by_user ON session_tokens (user_id, created_at);
    CREATE INDEX session_tokens_by_expiry ON session_tokens (expires_at);
    "#,
    // 4: user files (attachments, custom emojis, server assets). The bytes are files under
    // the data directory (crate::media::files); these rows say what they are.
    r#"
    CREATE TABLE attachments (
        id            TEXT PRIMARY KEY,
        file          TEXT NOT NULL,                    -- name under attachments/
        name          TEXT NOT NULL,                    -- as the uploader named it
        mime_type     TEXT NOT NULL,                    -- sniffed from the bytes
        size          INTEGER NOT NULL,
        uploader_id   TEXT NOT NULL,
        uploader_name TEXT NOT NULL,
        channel       TEXT NOT NULL,
        created_at    REAL NOT NULL,                    -- unix seconds
        expires_at    REAL NOT NULL,                    -- unix seconds (permanent ones too)
        permanent     INTEGER NOT NULL,
        url           TEXT NOT NULL,                    -- as given to the uploader
        width         INTEGER,
        height        INTEGER,
        message_id    TEXT                              -- set once posted in a message
    );
    CREATE INDEX attachments_by_uploader ON attachments (uploader_id);
    CREATE INDEX attachments_by_expiry ON attachments (expires_at);
    CREATE INDEX attachments_by_message ON attachments (message_id) WHERE message_id IS NOT NULL;
    CREATE TABLE emojis (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,   -- never reused (clients cache images)
        name       TEXT NOT NULL,
        name_key   TEXT NOT NULL UNIQUE,                -- lower-cased: names are unique in any case
        file       TEXT NOT NULL,                       -- name under emojis/
        mime_type  TEXT NOT NULL,
        size       INTEGER NOT NULL,
        created_by TEXT NOT NULL,                       -- user id
        created_at REAL NOT NULL
    );
    CREATE TABLE server_assets (
        name       TEXT PRIMARY KEY,                    -- icon | banner
        file       TEXT NOT NULL,                       -- name under server-assets/
        mime_type  TEXT NOT NULL,
        size       INTEGER NOT NULL,
        updated_at REAL NOT NULL
    );
    "#,
    // 5: webhooks (POST /webhooks posts into `channel`). Only the SHA-256 of a token is kept.
    r#"
    CREATE TABLE webhooks (
        id         TEXT PRIMARY KEY,
        channel    TEXT NOT NULL,
        name       TEXT NOT NULL,
        avatar     TEXT,
        token_hash BLOB NOT NULL UNIQUE,
        created_by TEXT NOT NULL,                       -- user id
        created_at REAL NOT NULL                        -- unix seconds
    );
    CREATE INDEX webhooks_by_channel ON webhooks (channel);
    "#,
    // 6: polls (crate::store::polls). A poll belongs to its message: deleting the message
    // (or its channel's history) deletes the poll, its options and its votes by cascade.
    // The channel is the message's, so a channel rename needs nothing here.
    r#"
    CREATE TABLE polls (
        id                TEXT PRIMARY KEY,
        message_id        TEXT NOT NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
        question          TEXT NOT NULL,
        allow_multiselect INTEGER NOT NULL,
        expires_at        REAL,                         -- unix seconds; NULL: no end time
        created_by        TEXT NOT NULL,                -- user id
        created_at        REAL NOT NULL,
        ended_at          REAL                          -- NULL while open
    );
    CREATE INDEX polls_open_by_expiry ON polls (expires_at)
        WHERE ended_at IS NULL AND expires_at IS NOT NULL;
    CREATE TABLE poll_options (
        poll_id  TEXT NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        id       TEXT NOT NULL,
        text     TEXT NOT NULL,
        emoji    TEXT,
        PRIMARY KEY (poll_id, id)
    );
    CREATE TABLE poll_votes (
        poll_id   TEXT NOT NULL,
        user_id   TEXT NOT NULL,
        option_id TEXT NOT NULL,
        voted_at  REAL NOT NULL,
        PRIMARY KEY (poll_id, user_id, option_id),
        FOREIGN KEY (poll_id, option_id) REFERENCES poll_options (poll_id, id) ON DELETE CASCADE
    );
    "#,
    // 7: the audit log (`modlog_get`): one row per moderation or management action, written
    // in the transaction of the action itself. `details` is a JSON object.
    r#"
    CREATE TABLE IF NOT EXISTS modlog (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        id          TEXT NOT NULL,                      -- <milliseconds>-<actor id>
        action      TEXT NOT NULL,
        category    TEXT NOT NULL,
        actor_id    TEXT NOT NULL,
        actor_name  TEXT NOT NULL,
        target_id   TEXT,
        target_name TEXT,
        details     TEXT NOT NULL DEFAULT '{}',
        timestamp   REAL NOT NULL                       -- unix seconds
    );
    CREATE INDEX IF NOT EXISTS modlog_by_time ON modlog (timestamp);
    "#,
    // 8: indexes that keep history reads flat in history size (issue 14).
    // - messages_fts: trigram full-text index of `content` for `messages_search` (substring,
    //   case-insensitive), kept by triggers in the transaction of each change.
    // - message_buckets: how many messages each channel has per block of 1024 seqs, kept by
    //   triggers, so an index in the channel (unread counts, `messages_around`, deep pages)
    //   is a sum over blocks plus a count inside one block, never a count of the history.
    // - mentions: who a message may ping (crate::store::mentions), written by the store
    //   with the message; the migration's Rust step (Db::migrate) fills it for old stores.
    r#"
    CREATE VIRTUAL TABLE messages_fts USING fts5 (
        content, content = 'messages', content_rowid = 'seq', tokenize = 'trigram'
    );
    INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, content) VALUES (new.seq, new.content);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
        INSERT INTO messages_fts (rowid, content) VALUES (new.seq, new.content);
    END;

    CREATE TABLE message_buckets (
        channel TEXT NOT NULL,
        bucket  INTEGER NOT NULL,                       -- seq >> 10
        n       INTEGER NOT NULL,
        PRIMARY KEY (channel, bucket)
    ) WITHOUT ROWID;
    INSERT INTO message_buckets (channel, bucket, n)
        SELECT channel, seq >> 10, count(*) FROM messages GROUP BY channel, seq >> 10;
    CREATE TRIGGER message_buckets_insert AFTER INSERT ON messages BEGIN
        INSERT INTO message_buckets (channel, bucket, n) VALUES (new.channel, new.seq >> 10, 1)
            ON CONFLICT (channel, bucket) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER message_buckets_delete AFTER DELETE ON messages BEGIN
        UPDATE message_buckets SET n = n - 1 WHERE channel = old.channel AND bucket = old.seq >> 10;
        DELETE FROM message_buckets WHERE channel = old.channel AND bucket = old.seq >> 10 AND n <= 0;
    END;
    CREATE TRIGGER message_buckets_move AFTER UPDATE OF channel ON messages BEGIN
        UPDATE message_buckets SET n = n - 1 WHERE channel = old.channel AND bucket = old.seq >> 10;
        DELETE FROM message_buckets WHERE channel = old.channel AND bucket = old.seq >> 10 AND n <= 0;
        INSERT INTO message_buckets (channel, bucket, n) VALUES (new.channel, new.seq >> 10, 1)
            ON CONFLICT (channel, bucket) DO UPDATE SET n = n + 1;
    END;

    CREATE TABLE mentions (
        kind      INTEGER NOT NULL,                     -- crate::store::mentions::Kind
        name      TEXT NOT NULL,
        seq       INTEGER NOT NULL,                     -- messages.seq
        channel   TEXT NOT NULL,                        -- the message's (pings are counted
        timestamp REAL NOT NULL,                        -- and ordered from here alone)
        PRIMARY KEY (kind, name, seq)
    ) WITHOUT ROWID;
    CREATE INDEX mentions_by_message ON mentions (seq);
    CREATE TRIGGER mentions_delete AFTER DELETE ON messages BEGIN
        DELETE FROM mentions WHERE seq = old.seq;
    END;
    CREATE TRIGGER mentions_move AFTER UPDATE OF channel ON messages BEGIN
        UPDATE mentions SET channel = new.channel WHERE seq = new.seq;
    END;
    "#,
    // 9: a store without any message yet (a new one, the importer's) gets the cheaper
    // trigram index of [`LIGHT_FTS`] instead of migration 8's; one with history keeps its
    // own (re-indexing it would rewrite the whole index at start-up). Done by Db::migrate's
    // Rust step: whether there is history is not for SQL to decide here.
    "-- see schema::LIGHT_FTS",
];

/// The version whose Rust step puts [`LIGHT_FTS`] in place of migration 8's index.
pub const LIGHT_FTS_VERSION: usize = 9;

/// `messages_fts` for a store that has no message yet (migration 9): the same trigram
/// index of `content`, kept by the same triggers of migration 8, without the positions of
/// each trigram (`detail = 'none'`) and without the per-message token counts (`columnsize
/// = 0`, used only for ranking, which search does not do). A query then finds the messages
/// holding all its trigrams, anywhere (a superset of those holding the substring), which
/// search checks one by one anyway ([`crate::store::Db::search`]). Each message is its own
/// commit at a chat's pace, so FTS5 writes each one as a new segment and merges it later:
/// without positions and counts that costs ~5 % fewer instructions per stored message
/// with the load tool's content and ~15 % fewer with chat-like words (BENCHMARKS.md,
/// "Instructions per delivered frame").
pub const LIGHT_FTS: &str = r#"
    DROP TABLE messages_fts;
    CREATE VIRTUAL TABLE messages_fts USING fts5 (
        content, content = 'messages', content_rowid = 'seq', tokenize = 'trigram',
        detail = 'none', columnsize = 0
    );
"#;
