//! The admin command line, for the person at the server's terminal. It opens the same
//! database as the server (SQLite serialises the writers) and each change is one
//! transaction; a running server notices it within seconds (see `server::watch_store`).

use std::path::Path;

use crate::cli::ADMIN_HELP;
use crate::config::SyncMode;
use crate::model::User;
use crate::model::user::local_id;
use crate::store::{Db, StoreError};

/// Runs `admin ARGS…`; returns the text to print, or an error to report.
pub fn run(data_dir: &Path, sync: SyncMode, args: &[String]) -> Result<String, String> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    if words.is_empty() || words.contains(&"--help") || words.contains(&"-h") {
        return Ok(ADMIN_HELP.to_string());
    }
    let db = Db::open(data_dir, sync)
        .map_err(|e| format!("cannot open the data directory {}: {e}", data_dir.display()))?;
    match words.as_slice() {
        ["users"] => list_users(&db),
        ["grant-role", user, role] => change_roles(&db, user, role, true),
        ["revoke-role", user, role] => change_roles(&db, user, role, false),
        ["ban", user] => set_banned(&db, user, true),
        ["unban", user] => set_banned(&db, user, false),
        [cmd, ..] => Err(format!(
            "unknown or incomplete admin command `{cmd}`\n\n{ADMIN_HELP}"
        )),
        [] => Ok(ADMIN_HELP.to_string()),
    }
}

fn list_users(db: &Db) -> Result<String, String> {
    let users = db.users().map_err(|e| e.to_string())?;
    if users.is_empty() {
        return Ok("no accounts yet\n".into());
    }
    let mut out = String::new();
    for u in users {
        let kind = if u.is_local() { "local" } else { "rotur" };
        out.push_str(&format!("{}\t{kind}\t{}\n", u.username, u.roles.join(",")));
    }
    Ok(out)
}

/// Finds a user by local name, username (case-insensitive) or id.
fn find_user(users: &[User], name: &str) -> Option<User> {
    let lower = name.to_lowercase();
    let local = local_id(&lower);
    users
        .iter()
        .find(|u| u.username.to_lowercase() == lower || u.id == name)
        .or_else(|| users.iter().find(|u| u.id == local))
        .cloned()
}

fn set_banned(db: &Db, name: &str, ban: bool) -> Result<String, String> {
    let users = db.users().map_err(|e| e.to_string())?;
    let mut user = find_user(&users, name)
        .ok_or_else(|| format!("no account named `{name}` (see `admin users`)"))?;
    if user.is_banned() == ban {
        let state = if ban { "already banned" } else { "not banned" };
        return Ok(format!("{} is {state}; nothing changed\n", user.username));
    }
    if ban {
        // As the original server does: `banned` goes first.
        user.roles.insert(0, "banned".into());
    } else {
        user.roles.retain(|r| r != "banned");
    }
    save_user(db, &user)?;
    let verb = if ban {
        "is now banned (disconnected if online)"
    } else {
        "is no longer banned"
    };
    Ok(format!("{} {verb}\n", user.username))
}

fn save_user(db: &Db, user: &User) -> Result<(), String> {
    let write = || -> Result<(), StoreError> {
        db.begin()?;
        match db.update_user(user) {
            Ok(()) => db.commit(),
            Err(e) => {
                db.rollback();
                Err(e)
            }
        }
    };
    write().map_err(|e| format!("could not save the change: {e}"))
}

fn change_roles(db: &Db, name: &str, role: &str, grant: bool) -> Result<String, String> {
    let users = db.users().map_err(|e| e.to_string())?;
    let mut user = find_user(&users, name)
        .ok_or_else(|| format!("no account named `{name}` (see `admin users`)"))?;
    let roles = db.roles().map_err(|e| e.to_string())?;
    let Some(wanted) = roles.get(role) else {
        let known: Vec<&str> = roles.0.keys().map(String::as_str).collect();
        return Err(format!(
            "no role named `{role}`; roles are: {}",
            known.join(", ")
        ));
    };
    let had = user.roles.iter().any(|r| r == role);
    if grant == had {
        let state = if grant {
            "already has"
        } else {
            "does not have"
        };
        return Ok(format!(
            "{} {state} the role {role}; nothing changed\n",
            user.username
        ));
    }
    if grant {
        // Keep roles in rank order, so the highest one gives the color.
        let rank = |r: &str| {
            roles
                .get(r)
                .and_then(|d| d.get("position"))
                .and_then(|p| p.as_i64())
                .unwrap_or(i64::MAX)
        };
        let mine = wanted
            .get("position")
            .and_then(|p| p.as_i64())
            .unwrap_or(i64::MAX);
        let at = user
            .roles
            .iter()
            .position(|r| r != "banned" && rank(r) > mine)
            .unwrap_or(user.roles.len());
        user.roles.insert(at, role.to_string());
    } else {
        user.roles.retain(|r| r != role);
    }
    save_user(db, &user)?;
    let verb = if grant { "now has" } else { "no longer has" };
    Ok(format!(
        "{} {verb} the role {role} (roles: {})\n",
        user.username,
        user.roles.join(", ")
    ))
}
