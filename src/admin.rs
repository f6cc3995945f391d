//! The admin command line, for the person at the server's terminal. It opens the same
//! database as the server (SQLite serialises the writers) and each change is one
//! transaction; a running server notices it within seconds (see `server::watch_store`).

use std::io::BufRead;
use std::path::Path;

use serde_json::{Value, json};

use crate::auth::password;
use crate::config::Config;
use crate::model::user::local_id;
use crate::model::{AuditEntry, Channel, ChannelKind, User};
use crate::store::{Db, StoreError, backup};

pub const HELP: &str = "\
originchats-server admin — manage the server from its own machine

Works on the data directory whether the server is running or not; a running server
picks the change up within a few seconds.

USAGE:
    originchats-server [--config PATH] [--data-dir DIR] admin COMMAND [ARGS]

COMMANDS:
    users                             list accounts with their roles
    grant-role USER ROLE              give USER the role ROLE (e.g. `grant-role alice owner`)
    revoke-role USER ROLE             take ROLE away from USER
    ban USER                          ban USER (their open connections are closed)
    unban USER                        lift the ban
    set-password USER                 set a local account's password (read from standard input)
    create-channel NAME [--type T] [--private]
                                      create a channel (T: text (default), voice, separator)
    delete-channel NAME --yes         delete a channel and its whole history
    tls-info                          the TLS certificate's fingerprint and how to trust it
    backup PATH                       copy the database to PATH (also while the server runs)
    restore PATH                      put the backup PATH back (the server must be stopped)

USER is a local name (alice), a username (USR:local_alice) or an account id.
`admin COMMAND --help` explains one command.
";

/// Per-command help: (command, usage and explanation).
const COMMAND_HELP: [(&str, &str); 11] = [
    (
        "users",
        "admin users\n    Lists every account: username, kind (local or rotur) and roles.\n",
    ),
    (
        "grant-role",
        "admin grant-role USER ROLE\n    Gives USER the role ROLE. Roles are kept in rank order, so the highest gives\n    the color. This is how the first owner is made: `admin grant-role alice owner`.\n",
    ),
    (
        "revoke-role",
        "admin revoke-role USER ROLE\n    Takes ROLE away from USER.\n",
    ),
    (
        "ban",
        "admin ban USER\n    Bans USER: they cannot log in, and a running server closes their connections.\n",
    ),
    ("unban", "admin unban USER\n    Lifts a ban.\n"),
    (
        "set-password",
        "admin set-password USER\n    Sets the password of a local account to the first line of standard input\n    (4 to 72 characters), e.g. `printf '%s\\n' 'new secret' | originchats-server admin set-password alice`.\n",
    ),
    (
        "create-channel",
        "admin create-channel NAME [--type text|voice|separator] [--private]\n    Creates a channel at the end of the list. Everyone with the `user` role can see\n    and use it, unless --private: then only owners can, until its permissions are\n    changed from the web client (channel_update).\n",
    ),
    (
        "delete-channel",
        "admin delete-channel NAME --yes\n    Deletes a channel with its whole history and read markers. --yes confirms.\n",
    ),
    (
        "backup",
        "admin backup PATH\n    Copies the database to PATH, a new file: a consistent snapshot, also while the\n    server runs and writes (SQLite's VACUUM INTO), checked before it is kept.\n    Attachments and emojis are files in the data directory: copy those as files.\n",
    ),
    (
        "restore",
        "admin restore PATH\n    Puts the backup PATH in place of the database. Stop the server first. The\n    replaced database is kept beside it as originchats.sqlite3.replaced-<time>.\n",
    ),
    (
        "tls-info",
        "admin tls-info\n    Prints the SHA-256 fingerprint of the certificate served on wss:// and https://\n    (tls.mode), and the address to open once on a device to trust it.\n",
    ),
];

/// Why an admin command did nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminError {
    /// Not one of the admin commands (the general help follows).
    UnknownCommand(String),
    /// The command's arguments do not fit; holds its usage text.
    Usage(&'static str),
    /// The command ran and refused or failed, for the reason given.
    Failed(String),
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::UnknownCommand(c) => write!(f, "unknown admin command `{c}`\n\n{HELP}"),
            AdminError::Usage(usage) => write!(
                f,
                "wrong arguments\nusage: originchats-server [--data-dir DIR] {usage}"
            ),
            AdminError::Failed(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for AdminError {}

impl From<String> for AdminError {
    fn from(why: String) -> Self {
        AdminError::Failed(why)
    }
}

/// The usage text of one command.
fn usage_of(command: &str) -> &'static str {
    COMMAND_HELP
        .iter()
        .find(|(c, _)| *c == command)
        .map_or("", |(_, usage)| usage)
}

/// Runs `admin ARGS…`; returns the text to print, or an error to report.
pub fn run(data_dir: &Path, config: &Config, args: &[String]) -> Result<String, AdminError> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let Some((&command, rest)) = words.split_first() else {
        return Ok(HELP.to_string());
    };
    if matches!(command, "--help" | "-h" | "help") {
        return Ok(HELP.to_string());
    }
    let Some((_, usage)) = COMMAND_HELP.iter().find(|(c, _)| *c == command) else {
        return Err(AdminError::UnknownCommand(command.to_string()));
    };
    if rest.contains(&"--help") || rest.contains(&"-h") {
        return Ok(format!(
            "usage: originchats-server [--data-dir DIR] {usage}"
        ));
    }
    if command == "tls-info" {
        // Only reads the certificate files: the database is not needed.
        return match rest {
            [] => crate::tls::info_text(config, data_dir).map_err(AdminError::Failed),
            _ => Err(AdminError::Usage(usage)),
        };
    }
    match (command, rest) {
        // Both work on the database file itself, not through an open store.
        ("backup", [path]) => {
            let size = backup::backup(data_dir, Path::new(path)).map_err(|e| e.to_string())?;
            return Ok(format!("backup written to {path} ({size} bytes)\n"));
        }
        ("restore", [path]) => {
            let kept = backup::restore(data_dir, Path::new(path)).map_err(|e| e.to_string())?;
            let kept = kept.map_or(String::new(), |k| {
                format!("; the replaced database is {}", k.display())
            });
            return Ok(format!("restored {path}{kept}\n"));
        }
        ("backup" | "restore", _) => return Err(AdminError::Usage(usage)),
        _ => {}
    }
    let db = Db::open(data_dir, config.storage.sync)
        .map_err(|e| format!("cannot open the data directory {}: {e}", data_dir.display()))?;
    Ok(match (command, rest) {
        ("users", []) => list_users(&db)?,
        ("grant-role", [user, role]) => change_roles(&db, user, role, true)?,
        ("revoke-role", [user, role]) => change_roles(&db, user, role, false)?,
        ("ban", [user]) => set_banned(&db, user, true)?,
        ("unban", [user]) => set_banned(&db, user, false)?,
        ("set-password", [user]) => set_password(&db, user, config.cracked.bcrypt_cost)?,
        ("create-channel", [name, options @ ..]) => create_channel(&db, name, options)?,
        ("delete-channel", [name, "--yes"]) => delete_channel(&db, name)?,
        ("delete-channel", [name]) => {
            return Err(AdminError::Failed(format!(
                "this deletes channel `{name}` and all of its messages; add --yes to confirm"
            )));
        }
        _ => return Err(AdminError::Usage(usage)),
    })
}

/// Runs `f` in one transaction.
fn write(db: &Db, f: impl FnOnce() -> Result<(), StoreError>) -> Result<(), String> {
    db.begin()
        .map_err(|e| format!("could not save the change: {e}"))?;
    match f() {
        Ok(()) => db
            .commit()
            .map_err(|e| format!("could not save the change: {e}")),
        Err(e) => {
            db.rollback();
            Err(format!("could not save the change: {e}"))
        }
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
fn find_user(db: &Db, name: &str) -> Result<User, String> {
    let users = db.users().map_err(|e| e.to_string())?;
    let lower = name.to_lowercase();
    let local = local_id(&lower);
    users
        .iter()
        .find(|u| u.username.to_lowercase() == lower || u.id == name)
        .or_else(|| users.iter().find(|u| u.id == local))
        .cloned()
        .ok_or_else(|| format!("no account named `{name}` (see `admin users`)"))
}

fn set_banned(db: &Db, name: &str, ban: bool) -> Result<String, String> {
    let mut user = find_user(db, name)?;
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
    let action = if ban { "user_ban" } else { "user_unban" };
    let entry = AuditEntry::by_cli(action).target(&user.id, Some(user.username.clone()));
    write(db, || {
        db.update_user(&user)?;
        db.insert_audit(&entry)
    })?;
    let verb = if ban {
        "is now banned (disconnected if online)"
    } else {
        "is no longer banned"
    };
    Ok(format!("{} {verb}\n", user.username))
}

fn change_roles(db: &Db, name: &str, role: &str, grant: bool) -> Result<String, String> {
    let mut user = find_user(db, name)?;
    let roles = db.roles().map_err(|e| e.to_string())?;
    let Some(wanted) = roles.get(role) else {
        let known: Vec<&str> = roles.names().collect();
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
        let rank = |r: &str| roles.get(r).and_then(|d| d.position).unwrap_or(i64::MAX);
        let mine = wanted.position.unwrap_or(i64::MAX);
        let at = user
            .roles
            .iter()
            .position(|r| r != "banned" && rank(r) > mine)
            .unwrap_or(user.roles.len());
        user.roles.insert(at, role.to_string());
    } else {
        user.roles.retain(|r| r != role);
    }
    let entry = AuditEntry::by_cli("user_roles_set")
        .target(&user.id, Some(user.username.clone()))
        .details(json!({"roles": user.roles}));
    write(db, || {
        db.update_user(&user)?;
        db.insert_audit(&entry)
    })?;
    let verb = if grant { "now has" } else { "no longer has" };
    Ok(format!(
        "{} {verb} the role {role} (roles: {})\n",
        user.username,
        user.roles.join(", ")
    ))
}

fn set_password(db: &Db, name: &str, cost: u32) -> Result<String, String> {
    let mut user = find_user(db, name)?;
    if !user.is_local() {
        return Err(format!(
            "{} is a Rotur account: its password is managed by Rotur",
            user.username
        ));
    }
    eprintln!(
        "new password for {} (one line on standard input):",
        user.username
    );
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']);
    if !(4..=72).contains(&password.chars().count()) {
        return Err("the password must be 4-72 characters; nothing changed".into());
    }
    user.password_hash =
        Some(password::hash(password, cost).map_err(|e| format!("cannot hash the password: {e}"))?);
    // The entry says that the password changed, never what it is.
    let entry = AuditEntry::by_cli("user_update")
        .target(&user.id, Some(user.username.clone()))
        .details(json!({"password": "changed"}));
    // Whoever stays logged in with a session token must log in with the new password.
    write(db, || {
        db.update_user(&user)?;
        db.revoke_session_tokens_of(&user.id)?;
        db.insert_audit(&entry)
    })?;
    Ok(format!("password of {} changed\n", user.username))
}

fn create_channel(db: &Db, name: &str, options: &[&str]) -> Result<String, AdminError> {
    let wrong_arguments = || AdminError::Usage(usage_of("create-channel"));
    let mut kind = "text";
    let mut private = false;
    let mut rest = options.iter();
    while let Some(option) = rest.next() {
        match *option {
            "--type" => kind = rest.next().copied().ok_or_else(wrong_arguments)?,
            "--private" => private = true,
            _ => return Err(wrong_arguments()),
        }
    }
    if ChannelKind::parse(kind).is_none() {
        return Err(AdminError::Failed(format!(
            "unknown channel type `{kind}`: use text, voice or separator"
        )));
    }
    crate::model::channel::validate_name(name).map_err(|e| e.to_lowercase())?;
    if db
        .channels()
        .map_err(|e| e.to_string())?
        .iter()
        .any(|c| c.name() == name)
    {
        return Err(AdminError::Failed(format!(
            "a channel named `{name}` already exists"
        )));
    }
    let permissions = if private {
        json!({"view": ["owner"], "send": ["owner"], "delete": ["owner"], "create_thread": ["owner"],
               "delete_own": ["user"], "edit_own": ["user"], "react": ["user"], "pin": ["owner"]})
    } else {
        json!({"view": ["user"], "send": ["user"], "delete": ["admin", "moderator"], "create_thread": ["user"]})
    };
    let channel = json!({"type": kind, "name": name, "permissions": permissions});
    let Value::Object(map) = channel else {
        unreachable!("a JSON object literal")
    };
    let entry = AuditEntry::by_cli("channel_create")
        .target(name, Some(name.to_string()))
        .details(json!({"type": kind}));
    write(db, || {
        db.insert_audit(&entry)?;
        db.insert_channel(&Channel(map))?;
        // The web client shows no live message in a channel with an empty history.
        if kind == "text" {
            db.insert_message(&crate::model::Message::first_in_channel(name))?;
        }
        Ok(())
    })?;
    let who = if private {
        "owners only"
    } else {
        "everyone with the user role"
    };
    Ok(format!("created {kind} channel {name} ({who})\n"))
}

fn delete_channel(db: &Db, name: &str) -> Result<String, String> {
    let mut channels = db.channels().map_err(|e| e.to_string())?;
    let Some(at) = channels.iter().position(|c| c.name() == name) else {
        return Err(format!("no channel named `{name}`"));
    };
    let messages = db.message_count(name).map_err(|e| e.to_string())?;
    channels.remove(at);
    let entry = AuditEntry::by_cli("channel_delete").target(name, Some(name.to_string()));
    write(db, || {
        db.delete_channel_data(name)?;
        db.replace_channels(&channels)?;
        db.insert_audit(&entry)
    })?;
    Ok(format!(
        "deleted channel {name} and its {messages} message(s)\n"
    ))
}
