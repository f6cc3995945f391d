//! Rotur accounts: `auth` with a validator token, checked against Rotur's validate URL
//! (docs/protocol.md#42-rotur-auth). The HTTP call runs on a blocking thread with a timeout; other clients never
//! wait for it.

use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::{Failure, succeed};
use crate::app::App;
use crate::hub::Session;
use crate::model::User;
use crate::protocol::errors::BANNED;
use crate::protocol::{LooseStr, fields};

#[derive(Deserialize)]
struct AuthRequest<'a> {
    #[serde(borrow, default)]
    validator: LooseStr<'a>,
}

/// What the validate service said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Valid {
        id: String,
        username: String,
    },
    Invalid,
    /// No answer, a timeout, or an answer that is not JSON.
    Unavailable(String),
}

/// One HTTP agent for every validation: it keeps its TLS setup and connections instead of
/// building them again per login. The timeout comes from the configuration, which does not
/// change while the process runs.
fn agent(timeout: Duration) -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into()
    })
}

/// Asks the validate service (blocking; call it off the executor thread).
pub fn validate(url: &str, timeout: Duration, key: &str, validator: Option<&str>) -> Verdict {
    let mut request = agent(timeout).get(url).query("key", key);
    if let Some(v) = validator {
        request = request.query("v", v);
    }
    let mut response = match request.call() {
        Ok(r) => r,
        Err(e) => return Verdict::Unavailable(e.to_string()),
    };
    if response.status() != 200 {
        return Verdict::Invalid;
    }
    let body: Value = match response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_json()
    {
        Ok(v) => v,
        Err(e) => return Verdict::Unavailable(format!("unreadable answer: {e}")),
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    match (
        body.get("valid") == Some(&Value::Bool(true)),
        text("id"),
        text("username"),
    ) {
        (true, Some(id), Some(username)) if !id.is_empty() && !username.is_empty() => {
            Verdict::Valid { id, username }
        }
        _ => Verdict::Invalid,
    }
}

/// Asks Rotur for a user's subscription tier (blocking; call it off the executor thread).
/// `None`: no answer.
pub fn subscription(url: &str, timeout: Duration, username: &str) -> Option<String> {
    let mut response = agent(timeout)
        .get(url)
        .query("include_posts", "0")
        .query("name", username)
        .call()
        .ok()?;
    if response.status() != 200 {
        return None;
    }
    let body: Value = response
        .body_mut()
        .with_config()
        .limit(256 * 1024)
        .read_json()
        .ok()?;
    Some(
        body.get("subscription")
            .and_then(Value::as_str)
            .unwrap_or("none")
            .to_lowercase(),
    )
}

thread_local! {
    /// Tiers by lower-cased username, with when they were asked (executor thread only).
    static TIERS: std::cell::RefCell<std::collections::HashMap<String, (std::time::Instant, String)>> =
        std::cell::RefCell::default();
}

/// The most tiers remembered; the cache starts over beyond it.
const TIER_CACHE: usize = 1024;

/// Whether a user's uploads are permanent: a role in `attachments.permanent_roles`, or a
/// Rotur account whose tier is in `permanent_tiers` (asked off the executor thread and
/// remembered for `subscription_cache_ttl`). Local accounts have no tier, and in the
/// cracked modes nobody asks Rotur (as in the original server).
pub async fn permanent_uploads(app: &App, user_id: &str) -> bool {
    let a = &app.config.attachments;
    let (username, local, by_role) = {
        let dir = app.dir();
        let Some(user) = dir.user(user_id) else {
            return false;
        };
        let by_role = user.roles.iter().any(|r| a.permanent_roles.contains(r));
        (user.username.to_lowercase(), user.is_local(), by_role)
    };
    if by_role {
        return true;
    }
    if local
        || a.permanent_tiers.is_empty()
        || app.config.auth_mode() != crate::config::AuthMode::Rotur
    {
        return false;
    }
    let ttl = Duration::from_secs(a.subscription_cache_ttl);
    let cached = TIERS.with(|t| {
        t.borrow()
            .get(&username)
            .filter(|(at, _)| at.elapsed() < ttl)
            .map(|(_, tier)| tier.clone())
    });
    let tier = match cached {
        Some(tier) => tier,
        None => {
            let url = app.config.rotur.profile_url.clone();
            let timeout = Duration::from_secs(app.config.rotur.timeout_seconds);
            let name = username.clone();
            let Some(tier) = smol::unblock(move || subscription(&url, timeout, &name)).await else {
                return false;
            };
            TIERS.with(|t| {
                let mut t = t.borrow_mut();
                if t.len() >= TIER_CACHE {
                    t.clear();
                }
                t.insert(username, (std::time::Instant::now(), tier.clone()));
            });
            tier
        }
    };
    a.permanent_tiers
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&tier))
}

/// `auth`.
pub async fn auth(app: &Rc<App>, session: &Rc<Session>, text: &str) -> Result<(), Failure> {
    super::throttle::attempt(app, session)?;
    let _under_way = super::throttle::under_way(session);
    let request: AuthRequest = fields(text).unwrap_or(AuthRequest {
        validator: LooseStr(None),
    });
    let validator = request.validator.as_deref().map(str::to_string);
    let url = app.config.rotur.validate_url.clone();
    let timeout = Duration::from_secs(app.config.rotur.timeout_seconds);
    let key = session.validator_key.to_string();
    let verdict = {
        let _permit = app.auth.rotur.acquire().await;
        smol::unblock(move || validate(&url, timeout, &key, validator.as_deref())).await
    };
    let (id, username) = match verdict {
        Verdict::Valid { id, username } => (id, username),
        Verdict::Invalid => {
            log::info!(
                "failed Rotur authentication from {}: invalid token",
                session.peer
            );
            return Err("Invalid authentication".into());
        }
        Verdict::Unavailable(why) => {
            log::warn!("Rotur validation failed for {}: {why}", session.peer);
            return Err("Authentication service unavailable".into());
        }
    };
    let existing = app.dir().user(&id).cloned();
    let new_user = existing.is_none();
    let user = match existing {
        Some(u) if u.is_banned() => return Err(BANNED.into()),
        Some(u) if u.username == username => None,
        // Rotur is authoritative for the username.
        Some(mut u) => {
            u.username = username;
            Some(u)
        }
        None => Some(User::new_rotur(
            id.clone(),
            username,
            app.config.db.users.default.roles.clone(),
        )),
    };
    if let Some(user) = user {
        if let Err(e) = app.upsert_user(user, new_user).await {
            log::error!("could not store the Rotur account {id}: {e}");
            return Err("Authentication failed: the server could not save the account".into());
        }
    }
    succeed(app, session, &id, new_user).await;
    Ok(())
}
