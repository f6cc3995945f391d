//! Queries on the audit log (the `modlog` table). Entries are only ever added by the
//! store methods of the actions they record, inside the same job (hence the same
//! transaction): an action that fails or is rolled back leaves no entry, and an entry
//! never describes an action that did not happen.
//!
//! Growth is bounded by age, as in the original: each category keeps its entries for its
//! retention ([`crate::model::modlog::RETENTION_DAYS`]); reads never show older ones and
//! every insert deletes them.

use rusqlite::{Row, params};
use serde_json::Value;

use super::db::{Db, Result};
use crate::model::AuditEntry;
use crate::model::modlog::{DEFAULT_RETENTION_DAYS, RETENTION_DAYS};

/// `modlog_summary` counts the newest entries up to this many, as the original does.
pub const SUMMARY_WINDOW: usize = 10_000;

/// What `modlog_get` selects: every given field must match (AND).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModlogFilter {
    pub category: Option<String>,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub action: Option<String>,
    /// Only entries strictly newer than this (Unix seconds).
    pub after: Option<f64>,
}

/// A page of entries, newest first, and how many match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct ModlogPage {
    pub entries: Vec<AuditEntry>,
    pub total: usize,
}

/// Counts per `category.action` and per category (in order of first appearance, newest
/// first), over the newest [`SUMMARY_WINDOW`] entries, and how many entries there are.
#[derive(Debug, Clone, PartialEq)]
pub struct ModlogSummary {
    pub action_counts: Vec<(String, usize)>,
    pub category_totals: Vec<(String, usize)>,
    pub total: usize,
}

/// The SQL condition "this row is still within its category's retention" (`?1` = now).
fn live() -> String {
    let mut case = String::from("timestamp > ?1 - (CASE category");
    for (category, days) in RETENTION_DAYS {
        case.push_str(&format!(
            " WHEN '{category}' THEN {}",
            u64::from(*days) * 86_400
        ));
    }
    case.push_str(&format!(
        " ELSE {} END)",
        u64::from(DEFAULT_RETENTION_DAYS) * 86_400
    ));
    case
}

/// The shortest retention, in seconds: no row younger than this can have expired.
fn shortest_retention() -> f64 {
    RETENTION_DAYS
        .iter()
        .map(|(_, d)| *d)
        .chain([DEFAULT_RETENTION_DAYS])
        .min()
        .map_or(0.0, |d| f64::from(d) * 86_400.0)
}

const COLUMNS: &str =
    "id, action, category, actor_id, actor_name, target_id, target_name, details, timestamp";

fn from_row(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    let details: String = r.get(7)?;
    Ok(AuditEntry {
        id: r.get(0)?,
        action: r.get(1)?,
        category: r.get(2)?,
        actor_id: r.get(3)?,
        actor_name: r.get(4)?,
        target_id: r.get(5)?,
        target_name: r.get(6)?,
        details: serde_json::from_str(&details).unwrap_or(Value::Object(Default::default())),
        timestamp: r.get(8)?,
    })
}

/// The filter's condition on parameters `?2` … `?6`.
const MATCHES: &str = "(?2 IS NULL OR category = ?2) AND (?3 IS NULL OR actor_id = ?3)
     AND (?4 IS NULL OR target_id = ?4) AND (?5 IS NULL OR action = ?5)
     AND (?6 IS NULL OR timestamp > ?6)";

impl Db {
    /// Adds an entry, and drops the entries past their retention. Call it from the store
    /// job of the action it records.
    pub fn insert_audit(&self, e: &AuditEntry) -> Result<()> {
        self.conn()
            .prepare_cached(&format!(
                "INSERT INTO modlog ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))?
            .execute(params![
                e.id,
                e.action,
                e.category,
                e.actor_id,
                e.actor_name,
                e.target_id,
                e.target_name,
                e.details.to_string(),
                e.timestamp
            ])?;
        let now = crate::model::message::now();
        // The first condition lets the timestamp index find the few candidates.
        self.conn()
            .prepare_cached(&format!(
                "DELETE FROM modlog WHERE timestamp <= ?1 - ?2 AND NOT ({})",
                live()
            ))?
            .execute(params![now, shortest_retention()])?;
        Ok(())
    }

    /// Whether an entry with this id, action and time is stored (the importer's check).
    pub fn audit_exists(&self, e: &AuditEntry) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT 1 FROM modlog WHERE id = ?1 AND action = ?2 AND timestamp = ?3",
            )?
            .exists(params![e.id, e.action, e.timestamp])?)
    }

    /// A page of the entries matching `filter`, newest first, at `now`.
    pub fn modlog_page(
        &self,
        filter: &ModlogFilter,
        offset: usize,
        limit: usize,
        now: f64,
    ) -> Result<ModlogPage> {
        let f = filter;
        let live = live();
        let total: i64 = self
            .conn()
            .prepare_cached(&format!(
                "SELECT count(*) FROM modlog WHERE {live} AND {MATCHES}"
            ))?
            .query_row(
                params![now, f.category, f.actor, f.target, f.action, f.after],
                |r| r.get(0),
            )?;
        let mut statement = self.conn().prepare_cached(&format!(
            "SELECT {COLUMNS} FROM modlog WHERE {live} AND {MATCHES}
             ORDER BY timestamp DESC, seq DESC LIMIT ?7 OFFSET ?8"
        ))?;
        let rows = statement.query_map(
            params![
                now,
                f.category,
                f.actor,
                f.target,
                f.action,
                f.after,
                limit as i64,
                offset as i64
            ],
            from_row,
        )?;
        Ok(ModlogPage {
            entries: rows.collect::<rusqlite::Result<_>>()?,
            total: usize::try_from(total).unwrap_or(0),
        })
    }

    /// The counts of `modlog_summary`, at `now`.
    pub fn modlog_summary(&self, now: f64) -> Result<ModlogSummary> {
        let live = live();
        let total: i64 = self
            .conn()
            .prepare_cached(&format!("SELECT count(*) FROM modlog WHERE {live}"))?
            .query_row(params![now], |r| r.get(0))?;
        let mut statement = self.conn().prepare_cached(&format!(
            "SELECT category, action FROM modlog WHERE {live}
             ORDER BY timestamp DESC, seq DESC LIMIT ?2"
        ))?;
        let rows = statement.query_map(params![now, SUMMARY_WINDOW as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut action_counts: Vec<(String, usize)> = Vec::new();
        let mut category_totals: Vec<(String, usize)> = Vec::new();
        for row in rows {
            let (category, action) = row?;
            bump(&mut action_counts, format!("{category}.{action}"));
            bump(&mut category_totals, category);
        }
        Ok(ModlogSummary {
            action_counts,
            category_totals,
            total: usize::try_from(total).unwrap_or(0),
        })
    }
}

/// Counts one more `key`; a few dozen distinct keys at most, so a list is enough.
fn bump(counts: &mut Vec<(String, usize)>, key: String) {
    match counts.iter_mut().find(|(k, _)| *k == key) {
        Some((_, n)) => *n += 1,
        None => counts.push((key, 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SyncMode;
    use serde_json::json;

    fn entry(action: &str, actor: &str, target: &str, at: f64) -> AuditEntry {
        let mut e = AuditEntry::new(action, actor, actor).target(target, None);
        e.timestamp = at;
        e
    }

    #[test]
    fn pages_filters_and_retention() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), SyncMode::Normal).unwrap();
        let now = crate::model::message::now();
        db.insert_audit(&entry("user_ban", "a", "x", now - 30.0))
            .unwrap();
        db.insert_audit(&entry("role_create", "b", "r", now - 20.0))
            .unwrap();
        db.insert_audit(&entry("user_unban", "a", "x", now - 10.0))
            .unwrap();
        // Past message_moderation's 90 days but within user_moderation's 365.
        db.insert_audit(&entry("message_delete", "a", "m", now - 100.0 * 86_400.0))
            .unwrap();
        db.insert_audit(&entry("user_timeout", "a", "y", now - 100.0 * 86_400.0))
            .unwrap();
        let all = db
            .modlog_page(&ModlogFilter::default(), 0, 10, now)
            .unwrap();
        let actions: Vec<&str> = all.entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["user_unban", "role_create", "user_ban", "user_timeout"]
        );
        assert_eq!(all.total, 4);
        let stored: i64 = db
            .conn()
            .query_row("SELECT count(*) FROM modlog", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, 4, "the expired message_delete entry is gone");
        let by_a = ModlogFilter {
            actor: Some("a".into()),
            category: Some("user_moderation".into()),
            after: Some(now - 25.0),
            ..ModlogFilter::default()
        };
        let page = db.modlog_page(&by_a, 0, 10, now).unwrap();
        assert_eq!(page.total, 1);
        assert_eq!(page.entries[0].action, "user_unban");
        let second = db.modlog_page(&ModlogFilter::default(), 1, 2, now).unwrap();
        assert_eq!(second.entries.len(), 2);
        assert_eq!(second.entries[0].action, "role_create");
        let summary = db.modlog_summary(now).unwrap();
        assert_eq!(summary.total, 4);
        assert_eq!(
            summary.category_totals,
            [
                ("user_moderation".to_string(), 3),
                ("role_management".to_string(), 1)
            ]
        );
        assert!(
            summary
                .action_counts
                .contains(&("user_moderation.user_ban".to_string(), 1))
        );
        assert_eq!(all.entries[3].details, json!({}));
    }
}
