//! Where user files live: `attachments/`, `emojis/` and `server-assets/` under the data
//! directory, plus `tmp/` for uploads in progress.
//!
//! A file's name is always one we made (an id and an extension, checked by [`FileName`]),
//! never a path built from user input. A file appears under its final name only complete:
//! it is written in `tmp/` and renamed (atomic on one file system). With `storage.sync`
//! `full` the file and then the directory are fsynced, so a power loss keeps either the
//! whole file or none. A crash between writing a file and storing its row leaves an
//! orphan, which the janitor deletes; a row whose file is gone answers "not found".
//!
//! Everything here blocks: call it off the executor thread (`smol::unblock`).

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::config::SyncMode;

/// The kinds of user files, each in its own directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Attachment,
    Emoji,
    ServerAsset,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Attachment, Kind::Emoji, Kind::ServerAsset];

    fn dir(self) -> &'static str {
        match self {
            Kind::Attachment => "attachments",
            Kind::Emoji => "emojis",
            Kind::ServerAsset => "server-assets",
        }
    }
}

/// A file name we made: 1 to 100 characters of `[A-Za-z0-9._-]`, not starting with a dot.
/// So it can never leave its directory or name a hidden or special file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileName(String);

impl FileName {
    pub fn new(name: impl Into<String>) -> Option<FileName> {
        let name = name.into();
        let ok = (1..=100).contains(&name.len())
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        ok.then_some(FileName(name))
    }

    /// `<id>.<extension of mime>` (or `<id>` for a type without a usual extension).
    pub fn for_id(id: &str, mime: &str) -> Option<FileName> {
        match extension(mime) {
            Some(ext) => FileName::new(format!("{id}.{ext}")),
            None => FileName::new(id),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The usual extension of the types we sniff (files are served by their stored type;
/// the extension only helps a person looking at the directory).
fn extension(mime: &str) -> Option<&'static str> {
    Some(match mime {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/bmp" => "bmp",
        "image/x-icon" => "ico",
        "image/avif" => "avif",
        "image/svg+xml" => "svg",
        "video/mp4" => "mp4",
        "video/quicktime" => "mov",
        "video/webm" => "webm",
        "video/x-matroska" => "mkv",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/wav" => "wav",
        "audio/flac" => "flac",
        "audio/mp4" => "m4a",
        "application/pdf" => "pdf",
        "application/zip" => "zip",
        "text/plain" => "txt",
        _ => return None,
    })
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The user-file directories of one data directory.
#[derive(Debug, Clone)]
pub struct MediaDir {
    root: PathBuf,
    sync: SyncMode,
}

/// Temporary files older than this are left over from a crash (an upload takes minutes
/// at most) and are deleted by [`MediaDir::remove_stale_temps`].
pub const STALE_TEMP: Duration = Duration::from_secs(3600);

impl MediaDir {
    /// Creates the directories if needed.
    pub fn open(data_dir: &Path, sync: SyncMode) -> io::Result<MediaDir> {
        let dir = MediaDir {
            root: data_dir.to_path_buf(),
            sync,
        };
        for kind in Kind::ALL {
            fs::create_dir_all(dir.root.join(kind.dir()))?;
        }
        fs::create_dir_all(dir.tmp_dir())?;
        Ok(dir)
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// The path of a stored file.
    pub fn path(&self, kind: Kind, name: &FileName) -> PathBuf {
        self.root.join(kind.dir()).join(name.as_str())
    }

    /// A new, empty temporary file (deleted again unless [`MediaDir::commit`]ted).
    pub fn temp(&self) -> io::Result<TempFile> {
        let path = self
            .tmp_dir()
            .join(format!("{}.part", crate::random::uuid_v4()));
        let file = OpenOptions::new()
            .write(true)
            .read(true)
            .create_new(true)
            .open(&path)?;
        Ok(TempFile {
            file: Some(file),
            path,
        })
    }

    /// Moves a complete temporary file to its final name (replacing a file of that name).
    pub fn commit(&self, mut temp: TempFile, kind: Kind, name: &FileName) -> io::Result<()> {
        let Some(mut file) = temp.file.take() else {
            return Err(io::Error::other("temporary file already committed"));
        };
        file.flush()?;
        if self.sync == SyncMode::Full {
            file.sync_all()?;
        }
        drop(file);
        let target = self.path(kind, name);
        fs::rename(&temp.path, &target)?;
        // Renamed: nothing left for the guard to delete.
        temp.path = PathBuf::new();
        if self.sync == SyncMode::Full {
            File::open(self.root.join(kind.dir()))?.sync_all()?;
        }
        Ok(())
    }

    /// Writes a small file at once (emojis, server assets arrive whole in a message).
    pub fn write(&self, kind: Kind, name: &FileName, bytes: &[u8]) -> io::Result<()> {
        let mut temp = self.temp()?;
        temp.write_all(bytes)?;
        self.commit(temp, kind, name)
    }

    /// Deletes a stored file; a file that is already gone is not an error.
    pub fn remove(&self, kind: Kind, name: &FileName) -> io::Result<()> {
        match fs::remove_file(self.path(kind, name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The names of the files of a kind (for finding orphans). Names we would never make
    /// are skipped: they are not ours to delete.
    pub fn list(&self, kind: Kind) -> io::Result<Vec<FileName>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(self.root.join(kind.dir()))? {
            let entry = entry?;
            if !entry.file_type()?.is_file() {
                continue;
            }
            if let Some(name) = entry.file_name().to_str().and_then(FileName::new) {
                names.push(name);
            }
        }
        Ok(names)
    }

    /// Whether a stored file was last changed at least `age` ago (false if it is gone).
    pub fn older_than(&self, kind: Kind, name: &FileName, age: Duration) -> bool {
        fs::metadata(self.path(kind, name))
            .and_then(|m| m.modified())
            .is_ok_and(|t| SystemTime::now().duration_since(t).unwrap_or_default() >= age)
    }

    /// Deletes temporary files older than `age` (left by a crash mid-upload). Returns how
    /// many.
    pub fn remove_stale_temps(&self, age: Duration) -> io::Result<usize> {
        let mut removed = 0;
        let now = SystemTime::now();
        for entry in fs::read_dir(self.tmp_dir())? {
            let entry = entry?;
            let modified = entry.metadata()?.modified()?;
            if now.duration_since(modified).unwrap_or_default() >= age
                && fs::remove_file(entry.path()).is_ok()
            {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// A file being written in `tmp/`; deleted when dropped before it is committed.
#[derive(Debug)]
pub struct TempFile {
    file: Option<File>,
    path: PathBuf,
}

impl TempFile {
    /// The first bytes written (for sniffing the type), up to `buf.len()`.
    pub fn read_head(&self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let Some(file) = &self.file else {
            return Ok(0);
        };
        let mut filled = 0;
        while filled < buf.len() {
            match file.read_at(&mut buf[filled..], filled as u64)? {
                0 => break,
                n => filled += n,
            }
        }
        Ok(filled)
    }
}

impl Write for TempFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(file) => file.write(buf),
            None => Err(io::Error::other("temporary file already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_cannot_leave_their_directory() {
        for bad in [
            "", ".", "..", "../x", "a/b", "a\\b", ".hidden", "a b", "é", "a\0b", "x:y",
        ] {
            assert!(FileName::new(bad).is_none(), "{bad:?}");
        }
        assert!(FileName::new("x".repeat(101)).is_none());
        for good in ["a", "0f3c-uuid.png", "icon.svg", "a_b-c.d"] {
            assert!(FileName::new(good).is_some(), "{good:?}");
        }
    }

    #[test]
    fn commit_renames_and_a_dropped_temp_is_deleted() {
        let data = tempfile::tempdir().unwrap();
        for sync in [SyncMode::Normal, SyncMode::Full] {
            let dir = MediaDir::open(data.path(), sync).unwrap();
            let name = FileName::new("a.png").unwrap();
            let mut temp = dir.temp().unwrap();
            temp.write_all(b"\x89PNG rest").unwrap();
            let mut head = [0u8; 4];
            assert_eq!(temp.read_head(&mut head).unwrap(), 4);
            assert_eq!(&head, b"\x89PNG");
            dir.commit(temp, Kind::Attachment, &name).unwrap();
            assert_eq!(
                fs::read(dir.path(Kind::Attachment, &name)).unwrap(),
                b"\x89PNG rest"
            );
            let abandoned = dir.temp().unwrap();
            drop(abandoned);
            assert_eq!(fs::read_dir(data.path().join("tmp")).unwrap().count(), 0);
            assert_eq!(dir.list(Kind::Attachment).unwrap(), vec![name.clone()]);
            dir.remove(Kind::Attachment, &name).unwrap();
            dir.remove(Kind::Attachment, &name).unwrap();
            assert!(dir.list(Kind::Attachment).unwrap().is_empty());
        }
    }

    #[test]
    fn stale_temps_are_removed_fresh_ones_kept() {
        let data = tempfile::tempdir().unwrap();
        let dir = MediaDir::open(data.path(), SyncMode::Normal).unwrap();
        let temp = dir.temp().unwrap();
        assert_eq!(dir.remove_stale_temps(STALE_TEMP).unwrap(), 0);
        // Forget the guard, as a crash would.
        std::mem::forget(temp);
        assert_eq!(dir.remove_stale_temps(Duration::ZERO).unwrap(), 1);
    }
}
