//! The media part of `import`: attachments (`attachments.json` with the files in
//! `attachments/`), custom emojis (`serverEmojis.json`, files in `serverEmojis/`) and the
//! server's icon and banner (`serverAssets/`).
//!
//! A file name from the source is only used after it is checked to be a plain name, and
//! the file it names to be a regular file inside the source folder (a link may lead
//! anywhere). Files are stream-copied into our media directories through `tmp/` (so a file
//! appears only complete), under names we make, and typed by sniffing the copy, never by
//! the source's claims. They are copied before the rows are committed; [`Copied`]
//! remembers them so that a failed import removes them again.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::{Map, Value, json};

use super::{ImportError, Tally, io_error, shown};
use crate::media::files::{FileName, Kind, MediaDir, TempFile};
use crate::media::sniff;
use crate::model::emoji::valid_name;
use crate::model::{Attachment, Emoji};
use crate::ops::attachments::UNPOSTED_GRACE;
use crate::ops::emojis::image_type;
use crate::store::Db;
use crate::store::emojis::ServerAsset;

/// How much of a copied file is sniffed (a JPEG's size may come after its metadata).
const HEAD: usize = 64 * 1024;
/// The lifetime of an attachment whose `expires_at` is missing.
const DEFAULT_LIFETIME: f64 = 7.0 * 86400.0;
/// The image types an emoji, icon or banner may have.
const IMAGE_TYPES: [&str; 5] = ["gif", "jpg", "png", "webp", "svg"];
/// The server assets, by the key they have in the `server` config and the overrides.
const ASSETS: [&str; 2] = ["icon", "banner"];

/// The files this import put into the media directories.
pub(super) struct Copied {
    dir: MediaDir,
    /// Where temporary files are written (named in errors).
    tmp: PathBuf,
    files: Vec<(Kind, FileName)>,
}

/// A source file copied into `tmp/`, not yet under its final name.
struct Staged {
    temp: TempFile,
    head: Vec<u8>,
    size: u64,
}

impl Copied {
    pub(super) fn new(dir: MediaDir, data_dir: &Path) -> Copied {
        Copied {
            dir,
            tmp: data_dir.join("tmp"),
            files: Vec::new(),
        }
    }

    /// Copies `source` into a temporary file, keeping its first bytes for sniffing.
    fn stage(&self, source: &Path) -> Result<Staged, ImportError> {
        let mut from = File::open(source).map_err(io_error(source))?;
        let mut temp = self.dir.temp().map_err(self.write_error())?;
        let size = copy(&mut from, &mut temp).map_err(|e| match e {
            Copy::Read(e) => io_error(source)(e),
            Copy::Write(e) => self.write_error()(e),
        })?;
        let mut head = vec![0u8; HEAD];
        let n = temp.read_head(&mut head).map_err(self.write_error())?;
        head.truncate(n);
        Ok(Staged { temp, head, size })
    }

    /// Moves a staged file to its final name and remembers it.
    fn commit(&mut self, staged: Staged, kind: Kind, name: &FileName) -> Result<(), ImportError> {
        self.dir
            .commit(staged.temp, kind, name)
            .map_err(|error| ImportError::Write {
                path: self.dir.path(kind, name),
                error,
            })?;
        self.files.push((kind, name.clone()));
        Ok(())
    }

    /// Deletes the file committed last (its row could not be stored).
    fn remove_last(&mut self) {
        if let Some((kind, name)) = self.files.pop() {
            self.remove(kind, &name);
        }
    }

    /// Deletes every file this import copied (it failed: no row points at them).
    pub(super) fn remove_all(&mut self) {
        for (kind, name) in std::mem::take(&mut self.files) {
            self.remove(kind, &name);
        }
    }

    fn remove(&self, kind: Kind, name: &FileName) {
        if let Err(e) = self.dir.remove(kind, name) {
            // The janitor deletes it later; say so rather than fail the cleanup.
            eprintln!("cannot delete {}: {e}", self.dir.path(kind, name).display());
        }
    }

    fn write_error(&self) -> impl Fn(io::Error) -> ImportError + '_ {
        move |error| ImportError::Write {
            path: self.tmp.clone(),
            error,
        }
    }
}

enum Copy {
    Read(io::Error),
    Write(io::Error),
}

/// Streams `from` into `to` in 64 KiB pieces; returns the bytes copied.
fn copy(from: &mut File, to: &mut TempFile) -> Result<u64, Copy> {
    use std::io::Read;
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Copy::Read(e)),
        };
        to.write_all(&buf[..n]).map_err(Copy::Write)?;
        total += n as u64;
    }
}

/// Whether `name` names a file directly in a folder: no separator, no `..`, not hidden,
/// nothing a path could be made of.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && !name.contains("..")
        && !name.chars().any(char::is_control)
        && Path::new(name).file_name() == Some(OsStr::new(name))
}

/// `root/folder/name`, canonical, if `name` is plain and names a regular file inside
/// `root`; else why not.
fn source_file(
    root: &Path,
    folder: &str,
    name: &str,
) -> Result<Result<PathBuf, &'static str>, ImportError> {
    if !plain_name(name) {
        return Ok(Err("file name is not a plain name"));
    }
    let path = root.join(folder).join(name);
    let real = match path.canonicalize() {
        Ok(p) => p,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Err("file missing")),
        Err(e) => return Err(io_error(&path)(e)),
    };
    if !real.starts_with(root) {
        return Ok(Err("file leads outside the source folder"));
    }
    if !real.is_file() {
        return Ok(Err("not a regular file"));
    }
    Ok(Ok(real))
}

/// Collects, for every attachment a stored message carries, the message's id (attachment
/// objects have an `id`; very old messages may list bare ids).
pub(super) fn note_posted(
    posted: &mut HashMap<String, String>,
    message_id: &str,
    extra: &Map<String, Value>,
) {
    let Some(Value::Array(items)) = extra.get("attachments") else {
        return;
    };
    for item in items {
        let id = match item {
            Value::Object(a) => a.get("id").and_then(Value::as_str),
            Value::String(id) => Some(id.as_str()),
            _ => None,
        };
        if let Some(id) = id.filter(|id| !id.is_empty()) {
            posted
                .entry(id.to_string())
                .or_insert_with(|| message_id.to_string());
        }
    }
}

/// Attachments by id. `posted`: attachment id → the imported message it was posted with.
pub(super) fn import_attachments(
    db: &Db,
    root: &Path,
    list: Option<&Map<String, Value>>,
    posted: &HashMap<String, String>,
    copied: &mut Copied,
    now: f64,
    t: &mut Tally,
) -> Result<(), ImportError> {
    let Some(list) = list else {
        t.absent = Some("attachments.json");
        return Ok(());
    };
    // Paranoia: never replace a file another row points at.
    let mut taken: HashSet<String> = db.attachment_files()?.into_iter().collect();
    for (id, entry) in list {
        let label = || Some(shown(id));
        let Value::Object(a) = entry else {
            t.skip("not a JSON object", label());
            continue;
        };
        if id.is_empty() {
            t.skip("empty id", None);
            continue;
        }
        if db.attachment(id)?.is_some() {
            t.skip("already present", label());
            continue;
        }
        let text = |key: &str| a.get(key).and_then(Value::as_str);
        let Some(created_at) = a.get("created_at").and_then(Value::as_f64) else {
            t.skip("no created_at", label());
            continue;
        };
        let expires_at = a
            .get("expires_at")
            .and_then(Value::as_f64)
            .unwrap_or(created_at + DEFAULT_LIFETIME);
        if now > expires_at {
            t.skip("expired", label());
            continue;
        }
        let message_id = posted.get(id).cloned();
        if message_id.is_none() && created_at <= now - UNPOSTED_GRACE.as_secs_f64() {
            // The janitor deletes such an upload at the server's next start.
            t.skip(
                "not in any imported message and uploaded over a day ago",
                label(),
            );
            continue;
        }
        let Some(filename) = text("filename") else {
            t.skip("no filename", label());
            continue;
        };
        if FileName::new(filename).is_none() {
            t.skip("file name is not a plain name", label());
            continue;
        }
        let source = match source_file(root, "attachments", filename)? {
            Ok(path) => path,
            Err(why) => {
                t.skip(why, label());
                continue;
            }
        };
        let staged = copied.stage(&source)?;
        let mime = sniff::sniff(&staged.head);
        let Some(file) = FileName::for_id(id, mime) else {
            t.skip("id not usable as a file name", label());
            continue;
        };
        if taken.contains(file.as_str()) {
            t.skip("a stored attachment has this file name", label());
            continue;
        }
        let (width, height) = match mime
            .starts_with("image/")
            .then(|| sniff::dimensions(&staged.head))
            .flatten()
        {
            Some((w, h)) => (Some(w), Some(h)),
            None => (None, None),
        };
        let size = staged.size;
        copied.commit(staged, Kind::Attachment, &file)?;
        db.insert_attachment(&Attachment {
            id: id.clone(),
            file: file.to_string(),
            name: text("original_name").unwrap_or(filename).to_string(),
            mime_type: mime.to_string(),
            size,
            uploader_id: text("uploader_id").unwrap_or_default().to_string(),
            uploader_name: text("uploader_name").unwrap_or_default().to_string(),
            channel: text("channel").unwrap_or_default().to_string(),
            created_at,
            expires_at,
            permanent: a.get("permanent").and_then(Value::as_bool).unwrap_or(false),
            // The original server's public URL is not known here.
            url: format!("/attachments/{id}"),
            width,
            height,
            message_id,
        })?;
        taken.insert(file.to_string());
        t.imported += 1;
    }
    if t.imported > 0 {
        t.notes.push(
            "their URL here is /attachments/<id>; imported messages keep the attachment \
             objects (and URLs) the original server gave them"
                .into(),
        );
    }
    Ok(())
}

/// Custom emojis, keeping their ids (clients cache `/emojis/<id>`).
pub(super) fn import_emojis(
    db: &Db,
    root: &Path,
    list: Option<&Map<String, Value>>,
    copied: &mut Copied,
    now: f64,
    t: &mut Tally,
) -> Result<(), ImportError> {
    let Some(list) = list else {
        t.absent = Some("serverEmojis.json");
        return Ok(());
    };
    let allowed = IMAGE_TYPES.map(String::from);
    for (key, entry) in list {
        let Value::Object(e) = entry else {
            t.skip("not a JSON object", Some(shown(key)));
            continue;
        };
        let name = e.get("name").and_then(Value::as_str).unwrap_or_default();
        let label = || Some(format!("{} ({})", shown(name), shown(key)));
        let Ok(id) = key.parse::<i64>() else {
            t.skip("id is not a number", label());
            continue;
        };
        if db.emoji(id)?.is_some() {
            t.skip("already present", label());
            continue;
        }
        if !valid_name(name) {
            t.skip("invalid name", label());
            continue;
        }
        if db.emoji_named(name)?.is_some() {
            t.skip("name taken (in any case)", label());
            continue;
        }
        let Some(file_name) = e.get("fileName").and_then(Value::as_str) else {
            t.skip("no fileName", label());
            continue;
        };
        let source = match source_file(root, "serverEmojis", file_name)? {
            Ok(path) => path,
            Err(why) => {
                t.skip(why, label());
                continue;
            }
        };
        let staged = copied.stage(&source)?;
        let Ok(mime) = image_type(&staged.head, &allowed) else {
            t.skip("not a GIF, JPEG, PNG, WebP or SVG image", label());
            continue;
        };
        let Some(file) = fresh_name("emoji", mime) else {
            t.skip("no file name for its type", label());
            continue;
        };
        let size = staged.size;
        copied.commit(staged, Kind::Emoji, &file)?;
        let emoji = Emoji {
            id,
            name: name.to_string(),
            file: file.to_string(),
            mime_type: mime.to_string(),
            size,
            created_by: "import".into(),
            created_at: now,
        };
        if db.insert_emoji(&emoji, true)?.is_some() {
            t.imported += 1;
        } else {
            copied.remove_last();
            t.skip("name taken (in any case)", label());
        }
    }
    Ok(())
}

/// A fresh name for an image file (clients cache images by URL).
fn fresh_name(prefix: &str, mime: &str) -> Option<FileName> {
    FileName::for_id(&format!("{prefix}-{}", crate::random::uuid_v4()), mime)
}

/// The file of `serverAssets/` to take for each asset (`icon`, `banner`); `Err`: why the
/// asset cannot be imported.
type Wanted = Vec<(&'static str, Result<String, &'static str>)>;

/// The original server names its icon and banner in `server.icon`/`server.banner` of the
/// `config.json` beside its `db` folder: a file name in `serverAssets/` (or a URL, which
/// is not a file to import). Without a readable config, `serverAssets/icon.*` and
/// `banner.*` are taken.
fn wanted_assets(root: &Path, t: &mut Tally) -> Result<Wanted, ImportError> {
    let config = root.parent().map(|p| p.join("config.json"));
    let server = match config.as_deref().map(fs::read) {
        Some(Ok(bytes)) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(mut c)) => match c.shift_remove("server") {
                Some(Value::Object(s)) => Some(s),
                _ => Some(Map::new()),
            },
            _ => {
                t.notes
                    .push("config.json beside the db folder is not a JSON object; not used".into());
                None
            }
        },
        Some(Err(e)) if e.kind() != io::ErrorKind::NotFound => {
            let path = config.unwrap_or_default();
            return Err(io_error(&path)(e));
        }
        _ => None,
    };
    let mut wanted = Vec::new();
    if let Some(server) = server {
        for key in ASSETS {
            let Some(value) = server.get(key).and_then(Value::as_str) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            if value.contains("://") {
                t.notes.push(format!(
                    "{key}: the original's config gives a URL ({}); nothing to copy",
                    shown(value)
                ));
                continue;
            }
            let base = Path::new(value)
                .file_name()
                .and_then(OsStr::to_str)
                .map(str::to_string);
            wanted.push((key, base.ok_or("file name is not a plain name")));
        }
        return Ok(wanted);
    }
    let dir = root.join("serverAssets");
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(wanted);
    };
    let mut newest: [Option<(SystemTime, String)>; 2] = [None, None];
    for entry in entries {
        let entry = entry.map_err(io_error(&dir))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Some(i) = ASSETS.iter().position(|k| {
            name.strip_prefix(k)
                .is_some_and(|rest| rest.starts_with('.'))
        }) else {
            continue;
        };
        let modified = entry
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        if newest[i].as_ref().is_none_or(|(t, _)| modified > *t) {
            newest[i] = Some((modified, name));
        }
    }
    for (key, found) in ASSETS.into_iter().zip(newest) {
        if let Some((_, name)) = found {
            wanted.push((key, Ok(name)));
        }
    }
    if !wanted.is_empty() {
        t.notes.push(
            "no config.json beside the db folder: took serverAssets/icon.* and banner.*".into(),
        );
    }
    Ok(wanted)
}

/// The server's icon and banner, where ours has none (stored asset or `server_update`
/// override). Each becomes a server asset and the override `/server-assets/<key>`.
pub(super) fn import_server_assets(
    db: &Db,
    root: &Path,
    copied: &mut Copied,
    now: f64,
    t: &mut Tally,
) -> Result<(), ImportError> {
    let wanted = wanted_assets(root, t)?;
    if wanted.is_empty() && t.notes.is_empty() {
        t.absent = Some("serverAssets/");
        return Ok(());
    }
    let mut overrides = match db.setting(crate::app::SERVER_OVERRIDES)? {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let allowed = IMAGE_TYPES.map(String::from);
    let mut changed = false;
    for (key, file) in wanted {
        let label = |f: &str| Some(format!("{key} (serverAssets/{})", shown(f)));
        let file = match file {
            Ok(f) => f,
            Err(why) => {
                t.skip(why, Some(key.to_string()));
                continue;
            }
        };
        let ours = overrides
            .get(key)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty());
        if ours || db.server_asset(key)?.is_some() {
            t.skip("already set, ours kept", label(&file));
            continue;
        }
        let source = match source_file(root, "serverAssets", &file)? {
            Ok(path) => path,
            Err(why) => {
                t.skip(why, label(&file));
                continue;
            }
        };
        let staged = copied.stage(&source)?;
        let Ok(mime) = image_type(&staged.head, &allowed) else {
            t.skip("not a GIF, JPEG, PNG, WebP or SVG image", label(&file));
            continue;
        };
        let Some(name) = fresh_name(key, mime) else {
            t.skip("no file name for its type", label(&file));
            continue;
        };
        let size = staged.size;
        copied.commit(staged, Kind::ServerAsset, &name)?;
        let asset = ServerAsset {
            file: name.to_string(),
            mime_type: mime.to_string(),
            updated_at: now,
        };
        db.put_server_asset(key, &asset, size)?;
        overrides.insert(key.into(), json!(format!("/server-assets/{key}")));
        changed = true;
        t.imported += 1;
    }
    if changed {
        db.set_setting(crate::app::SERVER_OVERRIDES, &Value::Object(overrides))?;
        t.notes
            .push("a running server shows them after a restart".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_are_used() {
        for bad in [
            "",
            ".",
            "..",
            "../../etc/passwd",
            "a/b",
            "a\\b",
            ".hidden",
            "a..b",
            "a\nb",
            "/abs",
        ] {
            assert!(!plain_name(bad), "{bad:?}");
        }
        for good in ["a.png", "My Logo.png", "0.svg", "emoji_1.gif"] {
            assert!(plain_name(good), "{good:?}");
        }
    }

    #[test]
    fn posted_attachments_are_found_in_objects_and_bare_ids() {
        let mut posted = HashMap::new();
        let extra = json!({"attachments": [{"id": "a1", "url": "x"}, "a2", 3, {"name": "n"}]});
        note_posted(&mut posted, "m1", extra.as_object().unwrap());
        note_posted(&mut posted, "m2", extra.as_object().unwrap());
        assert_eq!(posted.len(), 2);
        assert_eq!(posted["a1"], "m1");
        assert_eq!(posted["a2"], "m1");
    }

    #[test]
    fn without_a_config_the_newest_icon_and_banner_files_are_taken() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("db");
        let assets = root.join("serverAssets");
        fs::create_dir_all(&assets).unwrap();
        for name in [
            "icon.png",
            "icon.jpg",
            "banner.svg",
            "iconic.png",
            "other.png",
        ] {
            fs::write(assets.join(name), b"x").unwrap();
        }
        let old = SystemTime::now() - std::time::Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(assets.join("icon.jpg"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        let mut t = Tally::default();
        let wanted = wanted_assets(&root, &mut t).unwrap();
        assert_eq!(
            wanted,
            [
                ("icon", Ok("icon.png".into())),
                ("banner", Ok("banner.svg".into()))
            ]
        );
        assert_eq!(t.notes.len(), 1, "{:?}", t.notes);

        // A config names the files (by a path whose base name counts) or a URL.
        fs::write(
            dir.path().join("config.json"),
            r#"{"server": {"icon": "pics/other.png", "banner": "http://x/b.png"}}"#,
        )
        .unwrap();
        let mut t = Tally::default();
        let wanted = wanted_assets(&root, &mut t).unwrap();
        assert_eq!(wanted, [("icon", Ok("other.png".into()))]);
        assert!(t.notes[0].contains("http://x/b.png"), "{:?}", t.notes);
    }
}
