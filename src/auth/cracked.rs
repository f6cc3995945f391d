//! Local ("cracked") accounts: `register` and `login` with a bcrypt-hashed password (docs/protocol.md#43-local-accounts-register-login).
//! Hashing and checking run on blocking threads, a bounded number at a time.

use std::rc::Rc;

use serde::Deserialize;

use super::password::{self, Verified};
use super::{Failure, succeed, throttle};
use crate::app::App;
use crate::hub::Session;
use crate::model::User;
use crate::model::user::local_id;
use crate::protocol::errors::{BANNED, INVALID_PASSWORD, USER_NOT_FOUND, USERNAME_TAKEN};
use crate::protocol::{LooseStr, fields};

#[derive(Deserialize)]
struct Credentials<'a> {
    #[serde(borrow, default)]
    username: LooseStr<'a>,
    #[serde(borrow, default)]
    password: LooseStr<'a>,
}

const REQUIRED: &str = "Username and password required";

fn credentials(text: &str) -> Result<(String, String), Failure> {
    let c: Credentials = fields(text).map_err(|_| Failure::from(REQUIRED))?;
    let name = c.username.as_deref().map(str::trim).unwrap_or("");
    let password = c.password.as_deref().unwrap_or("");
    if name.is_empty() || password.is_empty() {
        return Err(REQUIRED.into());
    }
    Ok((name.to_lowercase(), password.to_string()))
}

/// New names use a strict alphabet: ASCII letters (lower-cased by [`credentials`]), digits,
/// `-` and `_`. Letters from other scripts and full-width forms can look exactly like these
/// (`аdmin` with a Cyrillic а, `ａdmin`), and two accounts must never look the same.
/// Accounts imported from the original server keep the names they had.
fn check_username_alphabet(name: &str) -> Result<(), Failure> {
    let bare: Vec<char> = name.chars().filter(|c| *c != '_' && *c != '-').collect();
    if bare.is_empty() || !bare.iter().all(|c| c.is_alphanumeric()) {
        return Err("Username can only contain letters, numbers, hyphens, and underscores".into());
    }
    if !bare.iter().all(|c| c.is_ascii_alphanumeric()) {
        return Err(
            "Username can only contain the letters a-z, numbers, hyphens, and \
             underscores (letters of other alphabets can look like these)"
                .into(),
        );
    }
    Ok(())
}

/// `register`: creates a local account and logs it in.
pub async fn register(app: &Rc<App>, session: &Rc<Session>, text: &str) -> Result<(), Failure> {
    if !app.config.cracked.allow_registration {
        return Err("Registration is disabled".into());
    }
    throttle::attempt(app, session)?;
    let _under_way = throttle::under_way(session);
    let (name, password) = credentials(text)?;
    if !(2..=32).contains(&name.chars().count()) {
        return Err("Username must be 2-32 characters".into());
    }
    if !(4..=72).contains(&password.chars().count()) {
        return Err("Password must be 4-72 characters".into());
    }
    check_username_alphabet(&name)?;
    let taken = |app: &App| {
        let dir = app.dir();
        dir.user(&local_id(&name)).is_some() || dir.user_by_name(&local_id(&name)).is_some()
    };
    if taken(app) {
        return Err(USERNAME_TAKEN.into());
    }
    let turn = throttle::bcrypt_turn(app, session).await;
    throttle::registration(app, session)?;
    let cost = app.config.cracked.bcrypt_cost;
    let hash = turn
        .run(move || password::hash(&password, cost))
        .await
        .map_err(|e| {
            log::error!("bcrypt failed: {e}");
            Failure::from("Registration failed: internal error")
        })?;
    // Someone may have taken the name while we were hashing.
    if taken(app) {
        return Err(USERNAME_TAKEN.into());
    }
    let user = User::new_local(&name, hash, app.config.db.users.default.roles.clone());
    let id = user.id.clone();
    match app.create_user(user).await {
        Ok(()) => {}
        // Registered by another connection while this one was hashing.
        Err(e) if e.is_constraint_violation() => return Err(USERNAME_TAKEN.into()),
        Err(e) => {
            log::error!("could not store the new account {id}: {e}");
            let why = e
                .disk_trouble()
                .map(|t| format!(": {t}"))
                .unwrap_or_default();
            return Err(
                format!("Registration failed: the server could not save the account{why}").into(),
            );
        }
    }
    log::info!("new local account {id} registered from {}", session.peer);
    succeed(app, session, &id, true).await;
    Ok(())
}

/// Stores the new kind of hash of a password that matched a legacy one (see
/// [`password`]), unless the password was changed meanwhile. Failing only costs the upgrade.
async fn replace_legacy_hash(app: &App, mut user: User, legacy: &str, new_hash: String) {
    if user.password_hash.as_deref() != Some(legacy) {
        return;
    }
    user.password_hash = Some(new_hash);
    let id = user.id.clone();
    match app.save_user(user).await {
        Ok(()) => log::info!("the password hash of {id} was upgraded"),
        Err(e) => log::warn!("could not upgrade the password hash of {id}: {e}"),
    }
}

/// `login`: checks a local account's password.
pub async fn login(app: &Rc<App>, session: &Rc<Session>, text: &str) -> Result<(), Failure> {
    throttle::attempt(app, session)?;
    let _under_way = throttle::under_way(session);
    let (name, password) = credentials(text)?;
    let (id, hash) = {
        let dir = app.dir();
        let user = dir
            .user_by_name(&local_id(&name))
            .ok_or(Failure::from(USER_NOT_FOUND))?;
        if !user.is_local() {
            return Err("This account uses Rotur authentication".into());
        }
        (user.id.clone(), user.password_hash.clone())
    };
    let Some(hash) = hash else {
        log::info!(
            "failed login for {id} from {}: the account has no password",
            session.peer
        );
        return Err(INVALID_PASSWORD.into());
    };
    let turn = throttle::bcrypt_turn(app, session).await;
    throttle::may_try_password(app, session, &id)?;
    let cost = app.config.cracked.bcrypt_cost;
    let stored = hash.clone();
    let (valid, upgraded) = turn
        .run(move || match password::verify(&password, &stored) {
            Verified::No => (false, None),
            Verified::Yes => (true, None),
            Verified::Legacy => (true, password::hash(&password, cost).ok()),
        })
        .await;
    throttle::password_checked(app, session, &id, valid);
    if !valid {
        log::info!(
            "failed login for {id} from {}: wrong password",
            session.peer
        );
        return Err(INVALID_PASSWORD.into());
    }
    // Re-read: the account may have changed (or been banned) while we were checking.
    let user = match app.dir().user(&id) {
        None => return Err(USER_NOT_FOUND.into()),
        Some(u) if u.is_banned() => return Err(BANNED.into()),
        Some(u) => u.clone(),
    };
    if let Some(new_hash) = upgraded {
        replace_legacy_hash(app, user, &hash, new_hash).await;
    }
    succeed(app, session, &id, false).await;
    Ok(())
}
