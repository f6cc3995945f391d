//! The audit log (docs/protocol.md#821-audit-log): `modlog_get` (a page of entries,
//! newest first, with the original's filters) and `modlog_summary` (counts per action and
//! per category), for holders of `view_audit_log` or `manage_users`, as in the original.
//! Entries are written by the actions themselves, in their own store transaction; here
//! they are only read (on the reader thread), and [`Ctx::audit`] starts one for a handler.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{CmdError, Ctx, Outcome, Reply};
use crate::model::AuditEntry;
use crate::store::modlog::ModlogFilter;

/// The original's error for a user without either permission.
const ACCESS_DENIED: &str = "Access denied: 'view_audit_log' or 'manage_users' permission required";
/// `limit` when the request has none.
const DEFAULT_LIMIT: u64 = 100;
/// The largest `limit`.
const MAX_LIMIT: u64 = 200;

impl Ctx<'_> {
    /// An audit log entry for `action` by the sender, now (the handler adds the target and
    /// details, and hands it to the store call that makes the change).
    pub fn audit(&self, action: &str) -> AuditEntry {
        AuditEntry::new(action, self.user_id, &self.username())
    }

    fn require_audit_access(&self) -> Result<(), CmdError> {
        let dir = self.app.dir();
        let allowed = dir.user(self.user_id).is_some_and(|u| {
            dir.roles.has_permission(&u.roles, "view_audit_log")
                || dir.roles.has_permission(&u.roles, "manage_users")
        });
        if allowed {
            Ok(())
        } else {
            Err(ACCESS_DENIED.into())
        }
    }
}

#[derive(Deserialize)]
struct Request {
    limit: Option<Value>,
    offset: Option<Value>,
    after: Option<Value>,
    category: Option<Value>,
    actor: Option<Value>,
    target: Option<Value>,
    action: Option<Value>,
}

/// A filter field: a string, or absent (null and "" count as absent, as in the original).
fn filter_text(value: &Option<Value>, field: &str) -> Result<Option<String>, CmdError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{field} must be a string").into()),
    }
}

/// `after`: a Unix timestamp, as a number or a numeric string (the original takes both).
fn after(value: &Option<Value>) -> Result<Option<f64>, CmdError> {
    let parsed = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match parsed {
        Some(t) if t.is_finite() => Ok(Some(t)),
        _ => Err("After must be a valid Unix timestamp".into()),
    }
}

pub async fn modlog_get(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_audit_access()?;
    let req: Request = ctx.fields()?;
    let limit = match &req.limit {
        None | Some(Value::Null) => DEFAULT_LIMIT,
        Some(v) => v
            .as_u64()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or("Limit must be between 1 and 200")?,
    };
    let offset = match &req.offset {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_u64().ok_or("Offset must be a non-negative integer")?,
    };
    let filter = ModlogFilter {
        category: filter_text(&req.category, "Category")?,
        actor: filter_text(&req.actor, "Actor")?,
        target: filter_text(&req.target, "Target")?,
        action: filter_text(&req.action, "Action")?,
        after: after(&req.after)?,
    };
    let now = crate::model::message::now();
    // An offset past any real log is an empty page; SQLite's OFFSET is an i64.
    let skip = usize::try_from(offset.min(i64::MAX as u64)).unwrap_or(usize::MAX);
    let page = ctx
        .app
        .store
        .read(move |db| db.modlog_page(&filter, skip, limit as usize, now))
        .await?;
    let entries: Vec<Value> = page.entries.iter().map(AuditEntry::wire).collect();
    Ok(Reply::to_sender(&json!({
        "cmd": "modlog_get",
        "entries": entries,
        "total": page.total,
        "offset": offset,
        "limit": limit,
    })))
}

pub async fn modlog_summary(ctx: &Ctx<'_>) -> Outcome {
    ctx.require_audit_access()?;
    let now = crate::model::message::now();
    let summary = ctx.app.store.read(move |db| db.modlog_summary(now)).await?;
    let counts = |list: Vec<(String, usize)>| -> Map<String, Value> {
        list.into_iter().map(|(k, n)| (k, json!(n))).collect()
    };
    Ok(Reply::to_sender(&json!({
        "cmd": "modlog_summary",
        "action_counts": counts(summary.action_counts),
        "category_totals": counts(summary.category_totals),
        "total": summary.total,
    })))
}
