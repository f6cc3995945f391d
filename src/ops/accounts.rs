//! Write-through changes of accounts and roles: each writes the store, waits for the
//! commit, and only then changes the directory (which marks cached audiences stale). A
//! failed write leaves the directory as it was, so memory never shows what the disk lacks.

use serde_json::json;

use crate::app::App;
use crate::hub::Target;
use crate::model::{AuditEntry, Roles, User};
use crate::protocol::encode;
use crate::store::StoreError;

impl App {
    /// Saves every field of an existing user, then makes it live.
    pub async fn save_user(&self, user: User) -> Result<(), StoreError> {
        self.save_user_as(user, None).await
    }

    /// Saves a user as [`App::save_user`] does, for a moderation action: its audit log
    /// entry is written in the same transaction.
    pub async fn save_user_logged(&self, user: User, entry: AuditEntry) -> Result<(), StoreError> {
        self.save_user_as(user, Some(entry)).await
    }

    async fn save_user_as(&self, user: User, entry: Option<AuditEntry>) -> Result<(), StoreError> {
        let stored = user.clone();
        self.write(move |db| {
            db.update_user(&stored)?;
            entry.iter().try_for_each(|e| db.insert_audit(e))
        })
        .await?;
        self.dir_mut().put_user(user);
        Ok(())
    }

    /// Stores a new account, then makes it live. Fails (with the store's constraint error)
    /// when the id or username exists on disk.
    pub async fn create_user(&self, user: User) -> Result<(), StoreError> {
        let stored = user.clone();
        self.write(move |db| db.insert_user(&stored)).await?;
        self.dir_mut().put_user(user);
        Ok(())
    }

    /// Saves a user that may or may not exist yet (Rotur accounts on login). A new account
    /// that another connection stored meanwhile (the same person logging in twice at once)
    /// is saved over.
    pub async fn upsert_user(&self, user: User, new: bool) -> Result<(), StoreError> {
        if !new {
            return self.save_user(user).await;
        }
        match self.create_user(user.clone()).await {
            Err(e) if e.is_constraint_violation() => self.save_user(user).await,
            done => done,
        }
    }

    /// Deletes an account: on disk first (with its session tokens), then out of voice,
    /// then everyone is told (`user_leave`), and last out of the directory, so that the
    /// voice announcement still reaches the user's own connections. Someone deleting
    /// another's account gives the audit log `entry` (written in the same transaction).
    pub async fn delete_account(
        &self,
        user: &User,
        entry: Option<AuditEntry>,
    ) -> Result<(), StoreError> {
        self.store.delete_user(&user.id, entry).await?;
        self.leave_voice(&user.id);
        self.broadcast(
            Target::All,
            &encode(&json!({"cmd": "user_leave", "username": user.username})),
        );
        self.dir_mut().remove_user(&user.id);
        Ok(())
    }

    /// Replaces the whole role map and saves the users whose roles changed with it, and
    /// the audit log entry of the change, in one transaction, then makes both live.
    pub async fn save_roles(
        &self,
        roles: Roles,
        users: Vec<User>,
        entry: AuditEntry,
    ) -> Result<(), StoreError> {
        let (stored_roles, stored_users) = (roles.clone(), users.clone());
        self.write(move |db| {
            db.replace_roles(&stored_roles)?;
            stored_users.iter().try_for_each(|u| db.update_user(u))?;
            db.insert_audit(&entry)
        })
        .await?;
        let mut dir = self.dir_mut();
        dir.roles = roles;
        for u in users {
            dir.put_user(u);
        }
        Ok(())
    }

    /// Remembers the last `ready.validator` of a user (it carries no authority).
    pub async fn remember_validator(
        &self,
        user_id: &str,
        validator: String,
    ) -> Result<(), StoreError> {
        let id = user_id.to_string();
        self.write(move |db| db.set_validator(&id, &validator))
            .await
    }
}
