//! Queries on session tokens (see [`crate::auth::session_token`]). Only a token's SHA-256
//! hash is stored, so a copy of the database does not let anyone log in; rows are looked
//! up by that hash.

use rusqlite::{OptionalExtension, params};

use super::db::{Db, Result};

/// The SHA-256 of a session token: the table's key.
pub type TokenHash = [u8; 32];

/// A token that may still be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveToken {
    pub user_id: String,
    /// Unix seconds.
    pub expires_at: i64,
}

impl Db {
    /// Stores a new token of `user_id`, created at `created_at` (taken as now: tokens expired
    /// by then are deleted first). The user keeps at most `max_per_user` tokens: the oldest
    /// beyond that are deleted.
    pub fn insert_session_token(
        &self,
        hash: &TokenHash,
        user_id: &str,
        created_at: i64,
        expires_at: i64,
        max_per_user: usize,
    ) -> Result<()> {
        self.delete_expired_session_tokens(created_at)?;
        self.conn()
            .prepare_cached(
                "INSERT INTO session_tokens (hash, user_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![&hash[..], user_id, created_at, expires_at])?;
        // rowid breaks ties between tokens made in the same second: the later one stays.
        self.conn()
            .prepare_cached(
                "DELETE FROM session_tokens WHERE user_id = ?1 AND rowid NOT IN (
                     SELECT rowid FROM session_tokens WHERE user_id = ?1
                     ORDER BY created_at DESC, rowid DESC LIMIT ?2)",
            )?
            .execute(params![
                user_id,
                i64::try_from(max_per_user).unwrap_or(i64::MAX)
            ])?;
        Ok(())
    }

    /// The token with this hash if it has not expired at `now`. Expired tokens (of every
    /// user) are deleted on the way.
    pub fn session_token(&self, hash: &TokenHash, now: i64) -> Result<Option<LiveToken>> {
        self.delete_expired_session_tokens(now)?;
        self.live_session_token(hash, now)
    }

    /// The token with this hash if it has not expired at `now`, without writing anything
    /// (for the reader: HTTP requests that only show a credential).
    pub fn live_session_token(&self, hash: &TokenHash, now: i64) -> Result<Option<LiveToken>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT user_id, expires_at FROM session_tokens WHERE hash = ?1 AND expires_at > ?2",
            )?
            .query_row(params![&hash[..], now], |r| {
                Ok(LiveToken {
                    user_id: r.get(0)?,
                    expires_at: r.get(1)?,
                })
            })
            .optional()?)
    }

    /// Deletes one token of `user_id`. False if that user has no token with this hash.
    pub fn revoke_session_token(&self, hash: &TokenHash, user_id: &str) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached("DELETE FROM session_tokens WHERE hash = ?1 AND user_id = ?2")?
            .execute(params![&hash[..], user_id])?
            > 0)
    }

    /// Deletes a token whoever holds it (its bearer asked: `DELETE /session`).
    pub fn delete_session_token(&self, hash: &TokenHash) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached("DELETE FROM session_tokens WHERE hash = ?1")?
            .execute(params![&hash[..]])?
            > 0)
    }

    /// Deletes every token of a user (new password, deleted account). Returns how many.
    pub fn revoke_session_tokens_of(&self, user_id: &str) -> Result<usize> {
        Ok(self
            .conn()
            .prepare_cached("DELETE FROM session_tokens WHERE user_id = ?1")?
            .execute(params![user_id])?)
    }

    /// Deletes the tokens that have expired at `now`.
    pub fn delete_expired_session_tokens(&self, now: i64) -> Result<usize> {
        Ok(self
            .conn()
            .prepare_cached("DELETE FROM session_tokens WHERE expires_at <= ?1")?
            .execute(params![now])?)
    }

    /// How many tokens a user has (expired ones included until they are cleaned up).
    pub fn session_token_count(&self, user_id: &str) -> Result<usize> {
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT count(*) FROM session_tokens WHERE user_id = ?1")?
            .query_row(params![user_id], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SyncMode;

    fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), SyncMode::Normal).unwrap();
        (dir, db)
    }

    fn h(n: u8) -> TokenHash {
        [n; 32]
    }

    #[test]
    fn a_live_token_is_found_until_it_expires() {
        let (_dir, db) = db();
        db.insert_session_token(&h(1), "alice", 100, 200, 32)
            .unwrap();
        let live = LiveToken {
            user_id: "alice".into(),
            expires_at: 200,
        };
        assert_eq!(db.session_token(&h(1), 199).unwrap(), Some(live));
        assert_eq!(db.session_token(&h(2), 199).unwrap(), None);
        assert_eq!(db.session_token(&h(1), 200).unwrap(), None);
        // Checking deleted it.
        assert_eq!(db.session_token_count("alice").unwrap(), 0);
    }

    #[test]
    fn the_oldest_token_goes_beyond_the_cap() {
        let (_dir, db) = db();
        for n in 0..4u8 {
            // Two in the same second: the one made later counts as newer.
            let created = 100 + i64::from(n / 2);
            db.insert_session_token(&h(n), "alice", created, 1000, 3)
                .unwrap();
        }
        db.insert_session_token(&h(9), "bob", 100, 1000, 3).unwrap();
        assert_eq!(db.session_token_count("alice").unwrap(), 3);
        assert_eq!(db.session_token(&h(0), 150).unwrap(), None);
        for n in 1..4u8 {
            assert!(db.session_token(&h(n), 150).unwrap().is_some(), "{n}");
        }
        assert_eq!(db.session_token_count("bob").unwrap(), 1);
    }

    #[test]
    fn creating_a_token_cleans_up_expired_ones() {
        let (_dir, db) = db();
        db.insert_session_token(&h(1), "bob", 10, 20, 32).unwrap();
        db.insert_session_token(&h(2), "alice", 30, 90, 32).unwrap();
        assert_eq!(db.session_token_count("bob").unwrap(), 0);
        assert_eq!(db.session_token_count("alice").unwrap(), 1);
    }

    #[test]
    fn revoking_only_touches_the_owners_tokens() {
        let (_dir, db) = db();
        db.insert_session_token(&h(1), "alice", 10, 90, 32).unwrap();
        db.insert_session_token(&h(2), "alice", 10, 90, 32).unwrap();
        db.insert_session_token(&h(3), "bob", 10, 90, 32).unwrap();
        assert!(!db.revoke_session_token(&h(3), "alice").unwrap());
        assert!(db.revoke_session_token(&h(1), "alice").unwrap());
        assert!(!db.revoke_session_token(&h(1), "alice").unwrap());
        assert!(db.delete_session_token(&h(3)).unwrap());
        assert_eq!(db.revoke_session_tokens_of("alice").unwrap(), 1);
        assert_eq!(db.session_token(&h(2), 50).unwrap(), None);
    }
}
