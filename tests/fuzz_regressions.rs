//! Every input the fuzzers ever crashed on (`fuzz/regressions/<target>/`), replayed through
//! the same entry points the fuzz targets call (`originchats_server::fuzzing`), plus the
//! seed corpora (`fuzz/corpus/<target>/seed-*`): none may panic. How they get there:
//! fuzz/README.md.

use std::fs;
use std::path::{Path, PathBuf};

use originchats_server::fuzzing::{front_door, packet, session};

/// The files of `fuzz/<folder>/<target>/` whose name starts with `prefix`, sorted.
fn inputs(folder: &str, target: &str, prefix: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(folder)
        .join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && !n.starts_with('.'))
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

fn regressions_and_seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = inputs("regressions", target, "");
    let seeds = inputs("corpus", target, "seed-");
    assert!(
        !seeds.is_empty(),
        "no seeds for {target}: run fuzz/make_seeds.py"
    );
    all.extend(seeds);
    all
}

/// Runs `f` on each input, naming the file of the first that panics.
fn replay(target: &str, mut f: impl FnMut(&[u8])) {
    for (path, bytes) in regressions_and_seeds(target) {
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&bytes)));
        assert!(caught.is_ok(), "{} panics", path.display());
    }
}

#[test]
fn packet_inputs() {
    replay("packet", packet::packet);
}

#[test]
fn front_door_inputs() {
    replay("front_door", front_door::front_door);
}

#[test]
fn session_inputs() {
    // A fresh state for every regression, as when it was minimised; the seeds share one
    // (a new one when a seed deleted or banned the owner).
    for (path, bytes) in inputs("regressions", "session", "") {
        let dir = tempfile::tempdir().unwrap();
        let rig = session::Rig::new(dir.path()).unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rig.run(&bytes)));
        assert!(caught.is_ok(), "{} panics", path.display());
    }
    let mut dir = tempfile::tempdir().unwrap();
    let mut rig = session::Rig::new(dir.path()).unwrap();
    for (path, bytes) in inputs("corpus", "session", "seed-") {
        if !rig.owner_is_there() {
            dir = tempfile::tempdir().unwrap();
            rig = session::Rig::new(dir.path()).unwrap();
        }
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rig.run(&bytes)));
        assert!(caught.is_ok(), "{} panics", path.display());
    }
}
