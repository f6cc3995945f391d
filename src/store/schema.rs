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
];
