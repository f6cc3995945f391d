//! Typed queries on the SQLite database. Synchronous: the server calls these on the
//! storage thread only (see [`super::Store`]); the admin command line calls them directly.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};

use super::schema::{LIGHT_FTS, LIGHT_FTS_VERSION, MIGRATIONS};
use crate::config::SyncMode;
use crate::model::{Channel, Directory, Roles, Status, StoredRoles, User};

pub use super::error::StoreError;

pub type Result<T> = std::result::Result<T, StoreError>;

/// SQLite's page cache per connection, in KiB (negative = KiB for the pragma): memory
/// must not grow with the history; the OS page cache does the rest.
const CACHE_KIB: i64 = -512;
/// The write connection's page cache while the directory is loaded, in pages.
const LOAD_CACHE_PAGES: i64 = 16;

/// The page size of a new database, in bytes. A commit writes every page it changed,
/// whole, into the WAL (and a checkpoint writes each again into the file), and one
/// message changes about 15 pages (its row, the id and channel indexes, FTS5's new segment
/// and structure record, AUTOINCREMENT's counter, the channel's block count): with 1 KiB
/// pages that is about 20 KB written per message instead of 54 KB with SQLite's 4 KiB
/// (BENCHMARKS.md, "Disk writes per message"), which is what wears an SD card out. It
/// takes effect only when the file is made: an existing database keeps its page size.
pub const NEW_PAGE_SIZE: u32 = 1024;

/// How much WAL an automatic checkpoint waits for, in bytes: about SQLite's default (1000
/// pages) at its default 4 KiB page size, kept in bytes whatever the page size (4096 pages
/// of 1 KiB). A checkpoint writes each page changed since the last one once, however often
/// it changed: with 1 KiB pages, checkpointing after 250 or 1000 pages instead of 4000
/// wrote 40 % and 10 % more per message at 20 msg/s (BENCHMARKS.md). The WAL file is cut back to twice this after
/// a checkpoint if a burst (or a long read) made it grow beyond.
const WAL_CHECKPOINT_BYTES: i64 = 4 << 20;

/// The schema version that adds the `mentions` table, filled by Rust code, not SQL.
const MENTIONS_VERSION: usize = 8;

/// The database file inside the data directory.
pub const DB_FILE: &str = "originchats.sqlite3";

/// An open database.
pub struct Db {
    conn: Connection,
    /// Whether `messages_fts` keeps trigram positions (migration 8's table) or not
    /// ([`LIGHT_FTS`]): a search asks it for a phrase or for all the query's trigrams.
    fts_positions: bool,
}

impl Db {
    /// Opens (creating if needed) the database in `data_dir`, migrates it, and makes sure
    /// the default roles and the `general` channel exist.
    pub fn open(data_dir: &Path, sync: SyncMode) -> Result<Db> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::open("create data directory", data_dir, e))?;
        let path = data_dir.join(DB_FILE);
        let conn =
            Connection::open(&path).map_err(|e| StoreError::open("open database", &path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Before WAL mode, which makes the file and fixes its page size.
        conn.pragma_update(None, "page_size", NEW_PAGE_SIZE)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        conn.pragma_update(
            None,
            "wal_autocheckpoint",
            (WAL_CHECKPOINT_BYTES / page_size.max(512)).max(1),
        )?;
        conn.pragma_update(None, "journal_size_limit", 2 * WAL_CHECKPOINT_BYTES)?;
        let sync = match sync {
            SyncMode::Normal => "NORMAL",
            SyncMode::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "cache_size", CACHE_KIB)?;
        let mut db = Db {
            conn,
            fts_positions: true,
        };
        db.migrate()?;
        db.seed()?;
        db.fts_positions = fts_positions(&db.conn)?;
        Ok(db)
    }

    fn migrate(&mut self) -> Result<()> {
        let version: usize = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > MIGRATIONS.len() {
            return Err(StoreError::SchemaTooNew {
                found: version,
                known: MIGRATIONS.len(),
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            if i + 1 == MENTIONS_VERSION {
                super::mentions::rebuild(&tx)?;
            }
            if i + 1 == LIGHT_FTS_VERSION {
                let history: bool =
                    tx.query_row("SELECT EXISTS (SELECT 1 FROM messages)", [], |r| r.get(0))?;
                if !history {
                    tx.execute_batch(LIGHT_FTS)?;
                }
            }
            tx.pragma_update(None, "user_version", i + 1)?;
            tx.commit()?;
            log::info!("database migrated to schema version {}", i + 1);
        }
        Ok(())
    }

    fn seed(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        let roles: i64 = tx.query_row("SELECT count(*) FROM roles", [], |r| r.get(0))?;
        if roles == 0 {
            for (name, data) in &Roles::defaults(crate::random::uuid_v4).0 {
                tx.execute(
                    "INSERT INTO roles (name, data) VALUES (?1, ?2)",
                    params![name, data.to_string()],
                )?;
            }
        }
        let channels: i64 = tx.query_row("SELECT count(*) FROM channels", [], |r| r.get(0))?;
        let seeded: Option<String> = tx
            .query_row(
                "SELECT value FROM settings WHERE key = 'seeded_channels'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if channels == 0 && seeded.is_none() {
            let general = Channel::general();
            tx.execute(
                "INSERT INTO channels (name, position, data) VALUES (?1, 0, ?2)",
                params![general.name(), Value::Object(general.0.clone()).to_string()],
            )?;
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ('seeded_channels', 'true')",
                [],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Opens a second, read-only connection to the same database (for the reader thread).
    pub fn open_reader(data_dir: &Path) -> Result<Db> {
        Db::open_reader_file(&data_dir.join(DB_FILE))
    }

    /// Like [`Db::open_reader`], given the database file itself.
    pub(crate) fn open_reader_file(path: &Path) -> Result<Db> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::open("open database", path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "cache_size", CACHE_KIB)?;
        let fts_positions = fts_positions(&conn)?;
        Ok(Db {
            conn,
            fts_positions,
        })
    }

    /// Whether `messages_fts` keeps trigram positions (see [`Db::search`]).
    pub(crate) fn fts_positions(&self) -> bool {
        self.fts_positions
    }

    /// The database file this connection reads and writes (`None` for one in memory).
    pub(crate) fn file(&self) -> Option<PathBuf> {
        self.conn
            .path()
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    }

    /// Hands back what SQLite keeps cached for this connection and can read again: every
    /// page of its page cache that is not in use (`PRAGMA shrink_memory`). The parsed
    /// schema stays. For after start-up work whose pages nothing needs again soon (the
    /// directory load reads every account; the storage thread after a quiet spell). Only
    /// memory is at stake, so a failure is logged, not returned.
    pub fn release_memory(&self) {
        if let Err(e) = self.conn.execute_batch("PRAGMA shrink_memory") {
            log::debug!("cannot shrink the connection's page cache: {e}");
        }
    }

    /// Starts a read transaction: the queries that follow see one snapshot.
    pub fn begin_read(&self) -> Result<()> {
        self.run("BEGIN DEFERRED")
    }

    /// Runs a statement that returns no rows, prepared once per connection: the storage
    /// thread runs `BEGIN`, `SAVEPOINT`, `RELEASE` and `COMMIT` for every message, and
    /// parsing them each time cost ~4 400 instructions per message (of ~350 000).
    fn run(&self, sql: &str) -> Result<()> {
        self.conn.prepare_cached(sql)?.execute([])?;
        Ok(())
    }

    /// Opens `n` read-only connections (one per reader thread).
    pub fn open_readers(data_dir: &Path, n: usize) -> Result<Vec<Db>> {
        (0..n).map(|_| Db::open_reader(data_dir)).collect()
    }

    /// Starts a write transaction (the storage thread groups many jobs into one).
    pub fn begin(&self) -> Result<()> {
        self.run("BEGIN IMMEDIATE")
    }

    pub fn commit(&self) -> Result<()> {
        self.run("COMMIT")
    }

    pub fn rollback(&self) {
        let _ = self.run("ROLLBACK");
    }

    /// Copies the WAL of the database in `data_dir` into the database file and empties it,
    /// on a connection of its own (a checkpoint cannot run inside the storage thread's
    /// transactions). At a graceful shutdown: the file is then whole by itself.
    pub fn checkpoint(data_dir: &Path) -> Result<()> {
        let path = data_dir.join(DB_FILE);
        let conn =
            Connection::open(&path).map_err(|e| StoreError::open("open database", &path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")?;
        Ok(())
    }

    pub fn savepoint(&self) -> Result<()> {
        self.run("SAVEPOINT job")
    }

    pub fn release(&self, keep: bool) -> Result<()> {
        if !keep {
            self.run("ROLLBACK TO job")?;
        }
        self.run("RELEASE job")
    }

    /// Changes whenever another process (the admin command line) commits.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Everything the executor keeps in memory.
    pub fn load_directory(&self) -> Result<Directory> {
        // The accounts' strings stay for the server's life. A page cache that grew between
        // them while their rows were read would leave holes in the heap once it is given
        // back, and a hole in a page that also holds a string stays resident; a small
        // cache is recycled instead (60–90 KiB less idle RssAnon at 601 accounts).
        self.conn
            .pragma_update(None, "cache_size", LOAD_CACHE_PAGES)?;
        let loaded = (|| {
            Ok(Directory::new(
                self.users()?,
                self.roles()?,
                self.channels()?,
            ))
        })();
        self.conn.pragma_update(None, "cache_size", CACHE_KIB)?;
        loaded
    }

    /// How many accounts there are (a capacity to reserve: another process may add one).
    fn user_count(&self) -> Result<usize> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM users", [], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    pub fn users(&self) -> Result<Vec<User>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, username, nickname, password_hash, roles, status, pfp_url FROM users ORDER BY seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })?;
        // Sized once: the steps of a growing vector would be left as holes in the heap.
        let mut users = Vec::with_capacity(self.user_count()?);
        for row in rows {
            let (id, username, nickname, password_hash, roles, status, pfp_url) = row?;
            let mut roles: Vec<String> = serde_json::from_str(&roles)?;
            // Kept for as long as the account exists: without the room for four that the
            // parser reserved (72 bytes per account).
            roles.shrink_to_fit();
            users.push(User {
                id,
                username,
                nickname,
                password_hash,
                roles,
                status: serde_json::from_str::<Status>(&status).unwrap_or_default(),
                pfp_url,
            });
        }
        Ok(users)
    }

    /// Inserts a new user. Fails if the id exists.
    pub fn insert_user(&self, u: &User) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO users (id, username, nickname, password_hash, roles, status, pfp_url)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                u.id,
                u.username,
                u.nickname,
                u.password_hash,
                serde_json::to_string(&u.roles)?,
                serde_json::to_string(&u.status)?,
                u.pfp_url
            ])?;
        Ok(())
    }

    /// Writes every field of an existing user.
    pub fn update_user(&self, u: &User) -> Result<()> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE users SET username = ?2, nickname = ?3, password_hash = ?4, roles = ?5,
                 status = ?6, pfp_url = ?7 WHERE id = ?1",
            )?
            .execute(params![
                u.id,
                u.username,
                u.nickname,
                u.password_hash,
                serde_json::to_string(&u.roles)?,
                serde_json::to_string(&u.status)?,
                u.pfp_url
            ])?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "user",
                key: u.id.clone(),
            });
        }
        Ok(())
    }

    /// Remembers the last `ready.validator` of a user (it carries no authority).
    pub fn set_validator(&self, user_id: &str, validator: &str) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE users SET validator = ?2 WHERE id = ?1")?
            .execute(params![user_id, validator])?;
        Ok(())
    }

    pub fn delete_user(&self, user_id: &str) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM users WHERE id = ?1", params![user_id])?
            > 0)
    }

    pub fn roles(&self) -> Result<Roles> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name, data FROM roles ORDER BY seq")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut map = Map::new();
        for row in rows {
            let (name, data) = row?;
            map.insert(name, serde_json::from_str(&data)?);
        }
        Ok(Roles::from(StoredRoles(map)))
    }

    pub fn channels(&self) -> Result<Vec<Channel>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT data FROM channels ORDER BY position, seq")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut channels = Vec::new();
        for row in rows {
            match serde_json::from_str(&row?)? {
                Value::Object(map) => channels.push(Channel(map)),
                _ => return Err(StoreError::Corrupt("a stored channel is not a JSON object")),
            }
        }
        Ok(channels)
    }

    /// Appends a channel at the end of the list.
    pub fn insert_channel(&self, channel: &Channel) -> Result<()> {
        self.conn.execute(
            "INSERT INTO channels (name, position, data)
             VALUES (?1, (SELECT coalesce(max(position), -1) + 1 FROM channels), ?2)",
            params![channel.name(), Value::Object(channel.0.clone()).to_string()],
        )?;
        Ok(())
    }

    /// Replaces the whole channel list (order = positions).
    pub fn replace_channels(&self, channels: &[Channel]) -> Result<()> {
        self.conn.execute("DELETE FROM channels", [])?;
        for (position, c) in channels.iter().enumerate() {
            self.conn.execute(
                "INSERT INTO channels (name, position, data) VALUES (?1, ?2, ?3)",
                params![
                    c.name(),
                    position as i64,
                    Value::Object(c.0.clone()).to_string()
                ],
            )?;
        }
        Ok(())
    }

    /// Replaces the whole role map (order kept).
    pub fn replace_roles(&self, roles: &Roles) -> Result<()> {
        self.conn.execute("DELETE FROM roles", [])?;
        for (name, role) in roles.iter() {
            self.conn.execute(
                "INSERT INTO roles (name, data) VALUES (?1, ?2)",
                params![name, serde_json::to_string(role)?],
            )?;
        }
        Ok(())
    }

    /// Moves a channel's history, read markers and webhooks to a new name.
    pub fn rename_channel_data(&self, old: &str, new: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE messages SET channel = ?2 WHERE channel = ?1",
            params![old, new],
        )?;
        self.conn.execute(
            "UPDATE unreads SET channel = ?2 WHERE channel = ?1",
            params![old, new],
        )?;
        self.conn.execute(
            "UPDATE webhooks SET channel = ?2 WHERE channel = ?1",
            params![old, new],
        )?;
        Ok(())
    }

    /// Deletes a channel's history, read markers and webhooks.
    pub fn delete_channel_data(&self, channel: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM messages WHERE channel = ?1", params![channel])?;
        self.conn
            .execute("DELETE FROM unreads WHERE channel = ?1", params![channel])?;
        self.delete_channel_webhooks(channel)?;
        Ok(())
    }

    /// Creates or replaces a role (a new one goes last).
    pub fn put_role(&self, name: &str, data: &Value) -> Result<()> {
        self.conn.execute(
            "INSERT INTO roles (name, data) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET data = excluded.data",
            params![name, data.to_string()],
        )?;
        Ok(())
    }

    /// A server setting (JSON), e.g. overrides made with `server_update`.
    pub fn setting(&self, key: &str) -> Result<Option<Value>> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()?;
        Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
    }

    pub fn set_setting(&self, key: &str, value: &Value) -> Result<()> {
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value.to_string()],
        )?;
        Ok(())
    }
}

/// Whether the store's `messages_fts` is migration 8's table, with positions (every store
/// that had history when it reached schema 9), rather than [`LIGHT_FTS`].
fn fts_positions(conn: &Connection) -> Result<bool> {
    let sql: Option<String> = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'messages_fts'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(!sql.is_some_and(|sql| sql.contains("detail = 'none'")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_size(db: &Db) -> u32 {
        db.conn()
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap()
    }

    fn checkpoint_pages(db: &Db) -> i64 {
        db.conn()
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_new_store_gets_the_small_page_size_and_an_existing_one_keeps_its_own() {
        let new = tempfile::tempdir().unwrap();
        assert_eq!(
            page_size(&Db::open(new.path(), SyncMode::Normal).unwrap()),
            NEW_PAGE_SIZE
        );
        let again = Db::open(new.path(), SyncMode::Full).unwrap();
        assert_eq!(page_size(&again), NEW_PAGE_SIZE);
        assert_eq!(checkpoint_pages(&again), 4096);

        // A store made with SQLite's default page size, as every store was before.
        let old = tempfile::tempdir().unwrap();
        let conn = Connection::open(old.path().join(DB_FILE)).unwrap();
        conn.pragma_update(None, "page_size", 4096).unwrap();
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        drop(conn);
        let db = Db::open(old.path(), SyncMode::Normal).unwrap();
        assert_eq!(page_size(&db), 4096);
        assert_eq!(checkpoint_pages(&db), 1024);
        let version: usize = db
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
    }
}
