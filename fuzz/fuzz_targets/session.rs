//! A sequence of frames through authentication and dispatch against a store in a temporary
//! directory (`originchats_server::fuzzing::session::Rig`).
//!
//! Making a rig (SQLite, its threads, two bcrypt hashes) costs far more than one run, so
//! one rig serves up to `RUNS_PER_RIG` runs; a new one is made sooner when a run deleted
//! or banned the owner. A crash that needs an earlier run's state is still replayed from a
//! fresh rig by the regression test: libFuzzer's minimised input usually does not need it.
#![no_main]

use std::cell::RefCell;

use originchats_server::fuzzing::session::Rig;

const RUNS_PER_RIG: u32 = 200;

struct Current {
    rig: Rig,
    runs: u32,
    // Dropped after the rig: the store's files live here.
    _dir: tempfile::TempDir,
}

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

fn fresh() -> Current {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let rig = Rig::new(dir.path()).expect("a server state");
    Current { rig, runs: 0, _dir: dir }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        let stale = current
            .as_ref()
            .is_none_or(|c| c.runs >= RUNS_PER_RIG || !c.rig.owner_is_there());
        if stale {
            *current = None;
            *current = Some(fresh());
        }
        let Some(c) = current.as_mut() else { return };
        c.runs += 1;
        c.rig.run(data);
    })
});
