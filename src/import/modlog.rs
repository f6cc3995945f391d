//! The audit log part of `import`: the original's `modlog.json`, an array of entries
//! `{"id", "action", "category", "actor_id", "actor_name", "target_id", "target_name",
//! "details", "timestamp"}` (its `db/modlog.py`). Entries keep their id, times and
//! details; one already there (same id, action and time) is kept as it is, and one past
//! its category's retention is not brought over (the original would have dropped it too).

use serde_json::{Map, Value};

use super::{ImportError, Tally, shown};
use crate::model::AuditEntry;
use crate::model::modlog::category_of;
use crate::store::Db;

/// The largest `details` (as JSON text) taken over: entries are small, and a log is read
/// in pages of up to 200 entries.
const MAX_DETAILS_BYTES: usize = 8 * 1024;

pub(super) fn import_modlog(
    db: &Db,
    entries: Option<&Vec<Value>>,
    now: f64,
    t: &mut Tally,
) -> Result<(), ImportError> {
    let Some(entries) = entries else {
        t.absent = Some("modlog.json");
        return Ok(());
    };
    for (i, record) in entries.iter().enumerate() {
        let example = || Some(format!("entry {}", i + 1));
        let Value::Object(e) = record else {
            t.skip("not a JSON object", example());
            continue;
        };
        let text = |k: &str| {
            e.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let (Some(action), Some(actor_id), Some(timestamp)) = (
            text("action"),
            text("actor_id"),
            e.get("timestamp")
                .and_then(Value::as_f64)
                .filter(|t| t.is_finite()),
        ) else {
            t.skip("action, actor_id or timestamp missing", example());
            continue;
        };
        let details = match e.get("details") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(d) => d.clone(),
        };
        if details.to_string().len() > MAX_DETAILS_BYTES {
            t.skip("details too large", Some(shown(&action)));
            continue;
        }
        let entry = AuditEntry {
            id: text("id").unwrap_or_else(|| format!("{}-{actor_id}", (timestamp * 1000.0) as u64)),
            category: text("category").unwrap_or_else(|| category_of(&action).to_string()),
            actor_name: text("actor_name").unwrap_or_else(|| actor_id.clone()),
            action,
            actor_id,
            target_id: text("target_id"),
            target_name: text("target_name"),
            details,
            timestamp,
        };
        if !entry.is_live(now) {
            t.skip("past its retention", Some(shown(&entry.id)));
            continue;
        }
        if db.audit_exists(&entry)? {
            t.skip("already there", Some(shown(&entry.id)));
            continue;
        }
        db.insert_audit(&entry)?;
        t.imported += 1;
    }
    Ok(())
}
