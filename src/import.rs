//! `import PATH`: copies the data of the original (Python) server — its `db/` folder,
//! laid out as docs/protocol.md#76-storage-and-import describes — into our store, so that people moving over keep their
//! accounts (password hashes included), roles, channels, history, read markers, uploads,
//! emojis and the server's icon.
//!
//! Everything is insert-if-missing (users by id, roles and channels by name, messages by
//! id, read markers by user and channel), so a second run changes nothing, and one run is
//! one transaction: any error leaves the store as it was. The source is only read, and only
//! the files it names that pass validation. The structural files (`users.json`,
//! `roles.json`, `channels.json`, `unreads.json`) must be valid JSON or nothing is imported;
//! history files are JSON Lines, and, as the original server does, lines that do not parse
//! are skipped (and reported).
//!
//! Attachments, custom emojis and the server's icon and banner come too (see [`media`]):
//! their files are copied into the data directory before the transaction commits, and
//! deleted again if it does not.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value};

use crate::config::SyncMode;
use crate::media::files::MediaDir;
use crate::model::{Channel, ChannelKind, Message, Roles, Status, User};
use crate::store::{Db, StoreError};

mod media;
mod modlog;
mod polls;
mod webhooks;

/// Examples listed per skip reason in the summary; the rest are only counted.
const EXAMPLES: usize = 5;
/// Longest channel name accepted: it becomes a file name in the source folder.
const MAX_CHANNEL_NAME: usize = 100;
/// How often the progress bar is redrawn at most.
const REDRAW: Duration = Duration::from_millis(100);
/// Files of features this server does not have; named in the summary when present.
const NOT_IMPORTED: [&str; 1] = ["push_subscriptions.json"];

/// Why an import stopped. Nothing was written when one of these is returned.
#[derive(Debug)]
pub enum ImportError {
    /// The source folder is missing, or is not the original server's data.
    Source(String),
    /// A structural file is not valid JSON, or not of the expected shape.
    Json { file: PathBuf, detail: String },
    /// Reading the source failed.
    Io { path: PathBuf, error: io::Error },
    /// Writing a copied file into the data directory failed.
    Write { path: PathBuf, error: io::Error },
    /// Our database refused.
    Store(StoreError),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Source(why) => f.write_str(why),
            ImportError::Json { file, detail } => {
                write!(f, "{}: {detail}; nothing was imported", file.display())
            }
            ImportError::Io { path, error } => {
                write!(
                    f,
                    "cannot read {}: {error}; nothing was imported",
                    path.display()
                )
            }
            ImportError::Write { path, error } => {
                write!(
                    f,
                    "cannot write {}: {error}; nothing was imported",
                    path.display()
                )
            }
            ImportError::Store(e) => write!(f, "database error: {e}; nothing was imported"),
        }
    }
}

impl std::error::Error for ImportError {}

impl From<StoreError> for ImportError {
    fn from(e: StoreError) -> Self {
        ImportError::Store(e)
    }
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        ImportError::Store(e.into())
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ImportError + '_ {
    move |error| ImportError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Imports the original server's data folder `source` (its `db` folder, or the folder
/// holding `db`) into the store in `data_dir`. Returns the summary to print.
pub fn run(source: &Path, data_dir: &Path, sync: SyncMode) -> Result<Report, ImportError> {
    let root = find_source(source)?;
    // Parse the structural files before touching the store: a bad one stops everything.
    let src = Source::read(&root)?;
    let db = Db::open(data_dir, sync)?;
    let dir = MediaDir::open(data_dir, sync).map_err(|error| ImportError::Write {
        path: data_dir.to_path_buf(),
        error,
    })?;
    let mut copied = media::Copied::new(dir, data_dir);
    let mut report = Report {
        source: root,
        data_dir: data_dir.to_path_buf(),
        ..Report::default()
    };
    let mut progress = Progress::new(io::stderr().is_terminal());
    db.begin()?;
    let done =
        import(&db, &src, &mut copied, &mut report, &mut progress).and_then(|()| Ok(db.commit()?));
    if let Err(e) = done {
        db.rollback();
        // No row points at the copied files any more.
        copied.remove_all();
        return Err(e);
    }
    Ok(report)
}

/// The folder holding `users.json`/`channels.json`: `path` itself or `path/db`, canonical
/// (so that files can be checked to lie inside it).
fn find_source(path: &Path) -> Result<PathBuf, ImportError> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(ImportError::Source(format!(
                "{} does not exist (give the original server's `db` folder)",
                path.display()
            )));
        }
        Err(e) => return Err(io_error(path)(e)),
    };
    if !meta.is_dir() {
        return Err(ImportError::Source(format!(
            "{} is not a folder (give the original server's `db` folder)",
            path.display()
        )));
    }
    for dir in [path.to_path_buf(), path.join("db")] {
        if ["users.json", "channels.json"]
            .iter()
            .any(|f| dir.join(f).is_file())
        {
            return dir.canonicalize().map_err(io_error(&dir));
        }
    }
    Err(ImportError::Source(format!(
        "{} has no users.json or channels.json: it is not the original server's data \
         (give its `db` folder)",
        path.display()
    )))
}

/// The structural files of the source, parsed. `None` = the file is not present.
struct Source {
    root: PathBuf,
    users: Option<Map<String, Value>>,
    roles: Option<Map<String, Value>>,
    channels: Option<Vec<Value>>,
    unreads: Option<Map<String, Value>>,
    attachments: Option<Map<String, Value>>,
    emojis: Option<Map<String, Value>>,
    webhooks: Option<Map<String, Value>>,
    polls: Option<Map<String, Value>>,
    poll_votes: Option<Map<String, Value>>,
    modlog: Option<Vec<Value>>,
}

impl Source {
    fn read(root: &Path) -> Result<Source, ImportError> {
        let object = |name: &str| -> Result<Option<Map<String, Value>>, ImportError> {
            match read_json(root, name)? {
                None => Ok(None),
                Some(Value::Object(map)) => Ok(Some(map)),
                Some(other) => Err(shape_error(root, name, "an object", &other)),
            }
        };
        let modlog = match read_json(root, "modlog.json")? {
            None => None,
            Some(Value::Array(list)) => Some(list),
            Some(other) => return Err(shape_error(root, "modlog.json", "an array", &other)),
        };
        let channels = match read_json(root, "channels.json")? {
            None => None,
            Some(Value::Array(list)) => Some(list),
            Some(other) => return Err(shape_error(root, "channels.json", "an array", &other)),
        };
        Ok(Source {
            root: root.to_path_buf(),
            users: object("users.json")?,
            roles: object("roles.json")?,
            channels,
            unreads: object("unreads.json")?,
            attachments: object("attachments.json")?,
            emojis: object("serverEmojis.json")?,
            webhooks: object("webhooks.json")?,
            polls: object("polls.json")?,
            poll_votes: object("poll_votes.json")?,
            modlog,
        })
    }
}

/// Reads and parses `root/name`; `None` if it does not exist.
fn read_json(root: &Path, name: &str) -> Result<Option<Value>, ImportError> {
    let path = root.join(name);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(&path)(e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| ImportError::Json {
            file: path,
            detail: format!(
                "not valid JSON at line {}, column {}: {}",
                e.line(),
                e.column(),
                without_location(&e)
            ),
        })
}

fn shape_error(root: &Path, name: &str, expected: &str, found: &Value) -> ImportError {
    let kind = match found {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    ImportError::Json {
        file: root.join(name),
        detail: format!("expected a JSON {expected} at the top, found {kind}"),
    }
}

/// serde_json's message without its " at line L column C" tail (we say where ourselves).
fn without_location(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// What was done, per kind; printed at the end.
#[derive(Debug, Default)]
pub struct Report {
    source: PathBuf,
    data_dir: PathBuf,
    pub users: Tally,
    pub roles: Tally,
    pub channels: Tally,
    pub messages: Tally,
    pub read_markers: Tally,
    pub attachments: Tally,
    pub emojis: Tally,
    /// The server's icon and banner.
    pub server_assets: Tally,
    pub webhooks: Tally,
    /// Polls with their votes (`polls.json`, `poll_votes.json`).
    pub polls: Tally,
    /// Audit log entries.
    pub modlog: Tally,
    /// Thread metadata files and thread history files found (threads are not imported).
    threads: (usize, usize),
    /// Feature files present that are not imported.
    other_files: Vec<&'static str>,
}

/// Imported and skipped counts of one kind, with the reasons.
#[derive(Debug, Default)]
pub struct Tally {
    pub imported: usize,
    /// Names of our untouched seed defaults replaced by the source's version.
    pub replaced: Vec<String>,
    skipped: Vec<Skip>,
    /// The source file this kind comes from was not present.
    absent: Option<&'static str>,
    notes: Vec<String>,
}

#[derive(Debug)]
struct Skip {
    reason: &'static str,
    count: usize,
    examples: Vec<String>,
}

impl Tally {
    fn skip(&mut self, reason: &'static str, example: Option<String>) {
        let i = match self.skipped.iter().position(|s| s.reason == reason) {
            Some(i) => i,
            None => {
                self.skipped.push(Skip {
                    reason,
                    count: 0,
                    examples: Vec::new(),
                });
                self.skipped.len() - 1
            }
        };
        let s = &mut self.skipped[i];
        s.count += 1;
        if let Some(example) = example.filter(|_| s.examples.len() < EXAMPLES) {
            s.examples.push(example);
        }
    }

    pub fn skipped(&self) -> usize {
        self.skipped.iter().map(|s| s.count).sum()
    }

    fn write(&self, f: &mut fmt::Formatter<'_>, label: &str) -> fmt::Result {
        if let Some(file) = self.absent {
            return writeln!(f, "  {label}: none ({file} not present)");
        }
        write!(f, "  {label}: {} imported", self.imported)?;
        if !self.replaced.is_empty() {
            write!(f, ", {} replaced", self.replaced.len())?;
        }
        if self.skipped() > 0 {
            write!(f, ", {} skipped", self.skipped())?;
        }
        writeln!(f)?;
        if !self.replaced.is_empty() {
            writeln!(
                f,
                "      replaced (ours were untouched defaults): {}",
                self.replaced.join(", ")
            )?;
        }
        for s in &self.skipped {
            write!(f, "      {} ({})", s.reason, s.count)?;
            let more = s.count - s.examples.len();
            let long = s.examples.iter().map(String::len).sum::<usize>() > 60;
            if long {
                writeln!(f, ":")?;
                for e in &s.examples {
                    writeln!(f, "          {e}")?;
                }
                if more > 0 && !s.examples.is_empty() {
                    writeln!(f, "          … and {more} more")?;
                }
            } else {
                if !s.examples.is_empty() {
                    write!(f, ": {}", s.examples.join(", "))?;
                    if more > 0 {
                        write!(f, ", … and {more} more")?;
                    }
                }
                writeln!(f)?;
            }
        }
        for n in &self.notes {
            writeln!(f, "      {n}")?;
        }
        Ok(())
    }

    fn changed(&self) -> bool {
        self.imported > 0 || !self.replaced.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Imported {} into {}:",
            self.source.display(),
            self.data_dir.display()
        )?;
        self.users.write(f, "users")?;
        self.roles.write(f, "roles")?;
        self.channels.write(f, "channels")?;
        self.messages.write(f, "messages")?;
        self.read_markers.write(f, "read markers")?;
        // Listed only when the source has them (older originals have no media).
        for (t, label) in [
            (&self.attachments, "attachments"),
            (&self.emojis, "emojis"),
            (&self.server_assets, "server icon and banner"),
            (&self.webhooks, "webhooks"),
            (&self.polls, "polls"),
            (&self.modlog, "audit log entries"),
        ] {
            if t.absent.is_none() {
                t.write(f, label)?;
            }
        }
        match self.threads {
            (0, 0) => writeln!(f, "  threads: none present")?,
            (threads, files) => writeln!(
                f,
                "  threads: not imported (this server has no threads yet): {threads} thread(s) in \
                 threads/, {files} history file(s) in threadMessages/"
            )?,
        }
        if !self.other_files.is_empty() {
            writeln!(
                f,
                "  not imported (features this server does not have): {}",
                self.other_files.join(", ")
            )?;
        }
        let changed = [
            &self.users,
            &self.roles,
            &self.channels,
            &self.messages,
            &self.read_markers,
            &self.attachments,
            &self.emojis,
            &self.server_assets,
            &self.webhooks,
            &self.polls,
            &self.modlog,
        ]
        .iter()
        .any(|t| t.changed());
        if changed {
            writeln!(
                f,
                "Done. A server running on this data directory picks the changes up by itself."
            )
        } else {
            writeln!(f, "Nothing new: the data directory already had all of it.")
        }
    }
}

/// Shows a name from the source safely: shortened, and quoted if it holds control
/// characters (it ends up on a terminal).
fn shown(s: &str) -> String {
    let short: String = if s.chars().count() > 40 {
        s.chars().take(40).chain(['…']).collect()
    } else {
        s.to_string()
    };
    if short.chars().any(char::is_control) {
        format!("{short:?}")
    } else {
        short
    }
}

fn import(
    db: &Db,
    src: &Source,
    copied: &mut media::Copied,
    report: &mut Report,
    progress: &mut Progress,
) -> Result<(), ImportError> {
    import_roles(db, src.roles.as_ref(), &mut report.roles)?;
    import_users(db, src.users.as_ref(), &mut report.users)?;
    let history = import_channels(db, src.channels.as_ref(), &mut report.channels)?;
    let mut posted = HashMap::new();
    for name in &history {
        let mut sink = HistorySink {
            db,
            tally: &mut report.messages,
            progress,
            posted: &mut posted,
        };
        import_history(&mut sink, &src.root, name)?;
    }
    if src.channels.is_none() {
        report.messages.absent = Some("channels.json");
    }
    import_unreads(db, src.unreads.as_ref(), &mut report.read_markers)?;
    let now = crate::ops::attachments::unix_now();
    media::import_attachments(
        db,
        &src.root,
        src.attachments.as_ref(),
        &posted,
        copied,
        now,
        &mut report.attachments,
    )?;
    media::import_emojis(
        db,
        &src.root,
        src.emojis.as_ref(),
        copied,
        now,
        &mut report.emojis,
    )?;
    media::import_server_assets(db, &src.root, copied, now, &mut report.server_assets)?;
    webhooks::import_webhooks(db, src.webhooks.as_ref(), now, &mut report.webhooks)?;
    polls::import_polls(
        db,
        src.polls.as_ref(),
        src.poll_votes.as_ref(),
        now,
        &mut report.polls,
    )?;
    modlog::import_modlog(db, src.modlog.as_ref(), now, &mut report.modlog)?;
    report.threads = (
        count_files(&src.root.join("threads"), ".json"),
        count_files(&src.root.join("threadMessages"), ".jsonl"),
    );
    report.other_files = NOT_IMPORTED
        .into_iter()
        .filter(|f| src.root.join(f).exists())
        .collect();
    Ok(())
}

fn count_files(dir: &Path, suffix: &str) -> usize {
    fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(suffix))
            .count()
    })
}

/// Role objects as stored, compared without their random `id`.
fn same_but_id(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() - usize::from(a.contains_key("id"))
                == b.len() - usize::from(b.contains_key("id"))
                && a.iter().all(|(k, v)| k == "id" || b.get(k) == Some(v))
        }
        _ => a == b,
    }
}

/// Roles by name. One of our four seed roles still exactly as created (but for its id) is
/// replaced by the source's version, so customised permissions carry over; any other
/// existing role is kept.
fn import_roles(
    db: &Db,
    roles: Option<&Map<String, Value>>,
    t: &mut Tally,
) -> Result<(), ImportError> {
    let Some(roles) = roles else {
        t.absent = Some("roles.json");
        return Ok(());
    };
    let ours = db.roles()?;
    let defaults = Roles::defaults(String::new);
    for (name, data) in roles {
        if name.is_empty() {
            t.skip("empty name", None);
            continue;
        }
        if !data.is_object() {
            t.skip("not a JSON object", Some(shown(name)));
            continue;
        }
        let new = match ours.get(name).map(|r| Value::Object(r.to_object())) {
            None => true,
            Some(stored) if same_but_id(&stored, data) => {
                t.skip("already present", Some(shown(name)));
                continue;
            }
            Some(stored)
                if defaults
                    .0
                    .get(name)
                    .is_some_and(|d| same_but_id(&stored, d)) =>
            {
                false
            }
            Some(_) => {
                t.skip(
                    "already present with other settings, ours kept",
                    Some(shown(name)),
                );
                continue;
            }
        };
        db.conn().execute(
            "INSERT INTO roles (name, data) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET data = excluded.data",
            params![name, data.to_string()],
        )?;
        if new {
            t.imported += 1;
        } else {
            t.replaced.push(shown(name));
        }
    }
    Ok(())
}

/// Accounts by id, keeping password hashes so that people log in as before.
fn import_users(
    db: &Db,
    users: Option<&Map<String, Value>>,
    t: &mut Tally,
) -> Result<(), ImportError> {
    let Some(users) = users else {
        t.absent = Some("users.json");
        return Ok(());
    };
    let existing = db.users()?;
    let mut ids: HashSet<String> = existing.iter().map(|u| u.id.clone()).collect();
    // Usernames are unique case-insensitively (the directory looks them up lower-cased).
    let mut names: HashSet<String> = existing.iter().map(|u| u.username.to_lowercase()).collect();
    for (id, record) in users {
        let label = shown(record.get("username").and_then(Value::as_str).unwrap_or(id));
        if ids.contains(id) {
            t.skip("already present", Some(label));
            continue;
        }
        let user = match parse_user(id, record) {
            Ok(u) => u,
            Err(why) => {
                t.skip(why, Some(label));
                continue;
            }
        };
        if !names.insert(user.username.to_lowercase()) {
            t.skip("username taken by another account", Some(label));
            continue;
        }
        db.insert_user(&user)?;
        ids.insert(user.id);
        t.imported += 1;
    }
    Ok(())
}

/// A stored account (docs/protocol.md#71-users) from the source's record; `Err` holds why it is skipped.
fn parse_user(id: &str, record: &Value) -> Result<User, &'static str> {
    if id.is_empty() {
        return Err("empty id");
    }
    let Value::Object(r) = record else {
        return Err("not a JSON object");
    };
    let text = |key: &str| r.get(key).and_then(Value::as_str).map(str::to_string);
    let username = text("username")
        .filter(|u| !u.trim().is_empty())
        .ok_or("no username")?;
    // The original server gives every account `["user"]` when it has no roles.
    let roles = match r.get("roles").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        None => vec!["user".to_string()],
    };
    let status = r.get("status").and_then(Value::as_object);
    let field = |key: &str| status.and_then(|s| s.get(key)).and_then(Value::as_str);
    Ok(User {
        id: id.to_string(),
        username,
        nickname: text("nickname"),
        password_hash: text("password_hash"),
        roles,
        status: Status {
            status: field("status").unwrap_or("online").to_string(),
            text: field("text").unwrap_or("").to_string(),
        },
        pfp_url: text("pfp_url"),
    })
}

/// Why a channel name cannot be used: it names the history file in the source, so it must
/// not be able to point anywhere else.
fn bad_channel_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("empty")
    } else if name.chars().count() > MAX_CHANNEL_NAME {
        Some("longer than 100 characters")
    } else if name.chars().any(char::is_control) {
        Some("control character")
    } else if name.contains(['/', '\\']) {
        Some("path separator")
    } else if name.contains("..") {
        Some("`..`")
    } else {
        None
    }
}

/// Channels by name, appended after ours in the source's order. Returns the text channels
/// whose history is to be read. Our seed `general`, if still untouched, takes the source's
/// version (description, permissions).
fn import_channels(
    db: &Db,
    channels: Option<&Vec<Value>>,
    t: &mut Tally,
) -> Result<Vec<String>, ImportError> {
    let Some(channels) = channels else {
        t.absent = Some("channels.json");
        return Ok(Vec::new());
    };
    let mut ours: HashMap<String, Channel> = db
        .channels()?
        .into_iter()
        .map(|c| (c.name().to_string(), c))
        .collect();
    let seed = Channel::general();
    let mut history = Vec::new();
    for (i, entry) in channels.iter().enumerate() {
        let Value::Object(map) = entry else {
            t.skip("not a JSON object", Some(format!("entry {}", i + 1)));
            continue;
        };
        let channel = Channel(map.clone());
        let Some(name) = map.get("name").and_then(Value::as_str) else {
            t.skip(
                "no name (e.g. an old separator)",
                Some(format!("entry {} ({})", i + 1, shown(channel.type_name()))),
            );
            continue;
        };
        if let Some(why) = bad_channel_name(name) {
            t.skip("invalid name", Some(format!("{:?} ({why})", shown(name))));
            continue;
        }
        match ours.get(name) {
            None => {
                db.conn().execute(
                    "INSERT INTO channels (name, position, data)
                     VALUES (?1, (SELECT coalesce(max(position), -1) + 1 FROM channels), ?2)",
                    params![name, entry.to_string()],
                )?;
                t.imported += 1;
                ours.insert(name.to_string(), channel.clone());
            }
            Some(stored) if stored.0 == channel.0 => t.skip("already present", Some(shown(name))),
            Some(stored) if stored.0 == seed.0 => {
                db.conn().execute(
                    "UPDATE channels SET data = ?2 WHERE name = ?1",
                    params![name, entry.to_string()],
                )?;
                t.replaced.push(shown(name));
                ours.insert(name.to_string(), channel.clone());
            }
            Some(_) => t.skip(
                "already present with other settings, ours kept",
                Some(shown(name)),
            ),
        }
        let text = |c: &Channel| c.kind() == ChannelKind::Text;
        if text(&channel) && ours.get(name).is_some_and(text) && !history.iter().any(|h| h == name)
        {
            history.push(name.to_string());
        }
    }
    Ok(history)
}

/// Where a channel's history goes.
struct HistorySink<'a> {
    db: &'a Db,
    tally: &'a mut Tally,
    progress: &'a mut Progress,
    /// Attachment id → the id of the message it was posted with.
    posted: &'a mut HashMap<String, String>,
}

/// Reads `channels/<name>.json`: JSON Lines (padded, see docs/protocol.md#76-storage-and-import) or a legacy JSON array.
fn import_history(sink: &mut HistorySink<'_>, root: &Path, name: &str) -> Result<(), ImportError> {
    let t = &mut *sink.tally;
    let rel = format!("channels/{name}.json");
    let path = root.join("channels").join(format!("{name}.json"));
    let real = match path.canonicalize() {
        Ok(p) => p,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            t.notes.push(format!("#{name}: no history file ({rel})"));
            return Ok(());
        }
        Err(e) => return Err(io_error(&path)(e)),
    };
    // A link may lead anywhere; only files inside the source folder are read.
    if !real.starts_with(root) {
        t.notes.push(format!(
            "#{name}: {rel} leads outside the source folder; not read"
        ));
        return Ok(());
    }
    if !real.is_file() {
        t.notes
            .push(format!("#{name}: {rel} is not a regular file; not read"));
        return Ok(());
    }
    let (first, lines) = prescan(&real)?;
    match first {
        None => {}
        Some(b'[') => read_legacy(sink, name, &real, &rel)?,
        Some(_) => read_lines(sink, name, &real, &rel, lines)?,
    }
    Ok(())
}

/// The first non-whitespace byte and the number of non-blank lines (for the progress bar).
fn prescan(path: &Path) -> Result<(Option<u8>, usize), ImportError> {
    let mut file = File::open(path).map_err(io_error(path))?;
    let mut buf = vec![0u8; 64 * 1024];
    let (mut first, mut lines, mut filled) = (None, 0, false);
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_error(path)(e)),
        };
        for &b in &buf[..n] {
            if b == b'\n' {
                lines += usize::from(filled);
                filled = false;
            } else if !b.is_ascii_whitespace() {
                filled = true;
                first.get_or_insert(b);
            }
        }
    }
    Ok((first, lines + usize::from(filled)))
}

/// JSON Lines, streamed: one line in memory at a time.
fn read_lines(
    sink: &mut HistorySink<'_>,
    channel: &str,
    path: &Path,
    rel: &str,
    total: usize,
) -> Result<(), ImportError> {
    let file = File::open(path).map_err(io_error(path))?;
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut line = Vec::new();
    let mut number = 0;
    sink.progress.start(channel, total);
    loop {
        line.clear();
        if reader
            .read_until(b'\n', &mut line)
            .map_err(io_error(path))?
            == 0
        {
            break;
        }
        number += 1;
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        sink.progress.tick();
        match serde_json::from_slice::<Value>(text) {
            Ok(v) => store_message(sink, channel, v, || format!("{rel} line {number}"))?,
            Err(e) => sink.tally.skip(
                "unreadable line",
                Some(format!(
                    "{rel} line {number}, column {}: {}",
                    e.column(),
                    without_location(&e)
                )),
            ),
        }
    }
    sink.progress.finish();
    Ok(())
}

/// A legacy history file: one JSON array of messages.
fn read_legacy(
    sink: &mut HistorySink<'_>,
    channel: &str,
    path: &Path,
    rel: &str,
) -> Result<(), ImportError> {
    let t = &mut *sink.tally;
    let file = File::open(path).map_err(io_error(path))?;
    let items = match serde_json::from_reader(BufReader::new(file)) {
        Ok(Value::Array(items)) => items,
        Ok(_) => {
            t.notes
                .push(format!("#{channel}: {rel} is not a JSON array; not read"));
            return Ok(());
        }
        Err(e) if e.is_io() => {
            return Err(io_error(path)(io::Error::other(e.to_string())));
        }
        Err(e) => {
            t.notes.push(format!(
                "#{channel}: {rel} is not valid JSON at line {}, column {}: {}; not read",
                e.line(),
                e.column(),
                without_location(&e)
            ));
            return Ok(());
        }
    };
    sink.progress.start(channel, items.len());
    for (i, v) in items.into_iter().enumerate() {
        sink.progress.tick();
        store_message(sink, channel, v, || format!("{rel} item {}", i + 1))?;
    }
    sink.progress.finish();
    Ok(())
}

/// One stored message (docs/protocol.md#75-messages): `user`, `content`, `timestamp`, `id` become columns, every
/// other key stays in `extra` in its order.
fn store_message(
    sink: &mut HistorySink<'_>,
    channel: &str,
    v: Value,
    at: impl Fn() -> String,
) -> Result<(), ImportError> {
    let t = &mut *sink.tally;
    let Value::Object(mut map) = v else {
        t.skip("not a message object", Some(at()));
        return Ok(());
    };
    let id = match map.shift_remove("id") {
        Some(Value::String(id)) if !id.is_empty() => id,
        _ => {
            t.skip("no message id", Some(at()));
            return Ok(());
        }
    };
    let Some(Value::String(content)) = map.shift_remove("content") else {
        t.skip("no content", Some(at()));
        return Ok(());
    };
    let Some(timestamp) = map
        .shift_remove("timestamp")
        .as_ref()
        .and_then(Value::as_f64)
    else {
        t.skip("no timestamp", Some(at()));
        return Ok(());
    };
    let user_id = match map.shift_remove("user") {
        Some(Value::String(u)) if !u.is_empty() => u,
        _ => {
            t.skip("no author (`user`)", Some(at()));
            return Ok(());
        }
    };
    let m = Message {
        id,
        channel: channel.to_string(),
        user_id,
        content,
        timestamp,
        extra: map,
    };
    // Also when already present: the message with this id is in the store.
    media::note_posted(sink.posted, &m.id, &m.extra);
    if sink.db.insert_message(&m)? {
        t.imported += 1;
    } else {
        t.skip("already present", None);
    }
    Ok(())
}

/// Read markers where the user has none for that channel yet (ours are newer).
fn import_unreads(
    db: &Db,
    unreads: Option<&Map<String, Value>>,
    t: &mut Tally,
) -> Result<(), ImportError> {
    let Some(unreads) = unreads else {
        t.absent = Some("unreads.json");
        return Ok(());
    };
    let users: HashSet<String> = db.users()?.into_iter().map(|u| u.id).collect();
    let channels: HashSet<String> = db
        .channels()?
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let conn = db.conn();
    for (user, marks) in unreads {
        let Value::Object(marks) = marks else {
            t.skip("not a JSON object", Some(shown(user)));
            continue;
        };
        for (key, last) in marks {
            let at = || Some(format!("{} in {}", shown(user), shown(key)));
            if key.starts_with("thread/") {
                t.skip("thread marker (threads are not imported)", at());
            } else if !users.contains(user) {
                t.skip("unknown user", at());
            } else if !channels.contains(key) {
                t.skip("unknown channel", at());
            } else if let Some(last) = last.as_str() {
                let exists = conn
                    .prepare_cached("SELECT 1 FROM unreads WHERE user_id = ?1 AND channel = ?2")?
                    .query_row(params![user, key], |_| Ok(()))
                    .optional()?
                    .is_some();
                if exists {
                    t.skip("already set, ours kept", at());
                } else {
                    conn.prepare_cached(
                        "INSERT INTO unreads (user_id, channel, last_read) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![user, key, last])?;
                    t.imported += 1;
                }
            } else {
                t.skip("not a message id", at());
            }
        }
    }
    Ok(())
}

/// Progress on stderr while history is read: a redrawn bar on a terminal, else one line
/// per channel (logs stay readable).
struct Progress {
    tty: bool,
    channel: String,
    total: usize,
    done: usize,
    drawn: Instant,
}

impl Progress {
    fn new(tty: bool) -> Progress {
        Progress {
            tty,
            channel: String::new(),
            total: 0,
            done: 0,
            drawn: Instant::now(),
        }
    }

    fn start(&mut self, channel: &str, total: usize) {
        self.channel = shown(channel);
        self.total = total;
        self.done = 0;
        if self.tty {
            self.draw();
        }
    }

    fn tick(&mut self) {
        self.done += 1;
        if self.tty && self.drawn.elapsed() >= REDRAW {
            self.draw();
        }
    }

    fn finish(&mut self) {
        if self.tty {
            self.draw();
            eprintln!();
        } else {
            eprintln!("#{}: {} messages read", self.channel, self.done);
        }
    }

    fn draw(&mut self) {
        const WIDTH: usize = 30;
        let filled = (self.done * WIDTH)
            .checked_div(self.total)
            .unwrap_or(WIDTH)
            .min(WIDTH);
        let mut err = io::stderr().lock();
        let _ = write!(
            err,
            "\r#{} [{}{}] {}/{} messages",
            self.channel,
            "#".repeat(filled),
            " ".repeat(WIDTH - filled),
            self.done,
            self.total
        );
        let _ = err.flush();
        self.drawn = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_that_could_leave_the_folder_are_refused() {
        for bad in [
            "",
            "../evil",
            "a/b",
            "a\\b",
            "..",
            "a\0b",
            "a\nb",
            &"x".repeat(101),
        ] {
            assert!(bad_channel_name(bad).is_some(), "{bad:?}");
        }
        for good in ["general", "off-topic", "café", "a.b", &"x".repeat(100)] {
            assert_eq!(bad_channel_name(good), None, "{good:?}");
        }
    }

    #[test]
    fn users_keep_their_fields_and_get_defaults() {
        let u = parse_user(
            "USR:local_a",
            &serde_json::json!({"username": "USR:local_a", "password_hash": "$2b$04$x",
                                "status": {"status": "dnd"}}),
        )
        .unwrap();
        assert_eq!(u.roles, ["user"]);
        assert_eq!(u.status.status, "dnd");
        assert_eq!(u.status.text, "");
        assert_eq!(u.password_hash.as_deref(), Some("$2b$04$x"));
        assert_eq!(
            parse_user("x", &serde_json::json!({"roles": []})),
            Err("no username")
        );
    }

    #[test]
    fn roles_compare_without_their_id() {
        let a = serde_json::json!({"id": "1", "color": null});
        assert!(same_but_id(
            &a,
            &serde_json::json!({"color": null, "id": "2"})
        ));
        assert!(!same_but_id(
            &a,
            &serde_json::json!({"id": "1", "color": "#fff"})
        ));
        assert!(!same_but_id(
            &a,
            &serde_json::json!({"id": "1", "color": null, "x": 1})
        ));
    }
}
