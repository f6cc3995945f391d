//! A whole session in process: frames through `router::handle_frame` (authentication,
//! the command table, every handler, the store) as the connection's reader would hand
//! them on, with no socket. The outbox is drained after each frame; a close frame ends the
//! session, as it ends the real connection's reading.
//!
//! Input: the first byte says who the session starts as (0: not authenticated, 1: the
//! user `fuzzuser`, 2: the owner `fuzzowner`; both have the password `fuzzpass`), then the
//! frames, one per line (a line that is not UTF-8 is skipped: tungstenite closes such a
//! connection before the router sees it).

use std::net::SocketAddr;
use std::path::Path;
use std::rc::Rc;

use crate::app::App;
use crate::auth::password;
use crate::config::{Config, SyncMode};
use crate::hub::outbox::Outgoing;
use crate::media::files::MediaDir;
use crate::model::User;
use crate::router::handle_frame;
use crate::store::{Db, Store, StoreError};

/// The accounts every rig starts with.
pub const USER: &str = "fuzzuser";
pub const OWNER: &str = "fuzzowner";
pub const PASSWORD: &str = "fuzzpass";

/// At most this many frames of one input run (longer inputs only repeat what shorter
/// ones do, slower).
const MAX_FRAMES: usize = 24;

/// One server state: the store in a directory the caller owns, the App on this thread.
pub struct Rig {
    app: Rc<App>,
}

/// Why a rig could not be made.
#[derive(Debug)]
pub enum RigError {
    Store(StoreError),
    Io(std::io::Error),
    Hash(bcrypt::BcryptError),
}

impl Rig {
    /// A fresh server state in `dir` (empty): the default configuration with the `cracked`
    /// auth mode, the cheapest bcrypt cost, Rotur on 127.0.0.1 and no rate limits (a limiter that says "wait"
    /// would hide the handlers behind it), and the two accounts.
    pub fn new(dir: &Path) -> Result<Rig, RigError> {
        let db = Db::open(dir, SyncMode::Normal).map_err(RigError::Store)?;
        let directory = db.load_directory().map_err(RigError::Store)?;
        let reader = Db::open_reader(dir).map_err(RigError::Store)?;
        let store = Store::start(db, reader).map_err(RigError::Io)?;
        let mut config = Config::defaults();
        config.auth_mode = "cracked".into();
        config.cracked.bcrypt_cost = 4;
        config.rate_limiting.enabled = false;
        // `auth` (Rotur tokens) stays reachable, but never leaves the machine: nothing
        // listens on the discard port, so the check fails at once, without a DNS lookup.
        config.rotur.validate_url = "http://127.0.0.1:9/validate".into();
        config.rotur.profile_url = "http://127.0.0.1:9/profile".into();
        config.rotur.timeout_seconds = 1;
        let media = MediaDir::open(dir, SyncMode::Normal).map_err(RigError::Io)?;
        let app = App::new(config, directory, store, Default::default(), media);
        let hash = password::hash(PASSWORD, 4).map_err(RigError::Hash)?;
        for (name, roles) in [(USER, vec!["user"]), (OWNER, vec!["owner", "user"])] {
            let roles = roles.into_iter().map(String::from).collect();
            let user = User::new_local(name, hash.clone(), roles);
            smol::block_on(app.create_user(user)).map_err(RigError::Store)?;
        }
        Ok(Rig { app })
    }

    /// Whether the owner still has an account (a run may delete or ban it; then a fresh
    /// rig explores more than this one).
    pub fn owner_is_there(&self) -> bool {
        self.app
            .dir()
            .user(&crate::model::user::local_id(OWNER))
            .is_some()
    }

    /// Runs one input as one session; the session is gone afterwards, as after a
    /// disconnect.
    pub fn run(&self, data: &[u8]) {
        let Some((&who, frames)) = data.split_first() else {
            return;
        };
        let peer: SocketAddr = ([127, 0, 0, 1], 40000).into();
        let session = self.app.hub.open(peer);
        match who % 3 {
            1 => self.authenticate(&session, USER),
            2 => self.authenticate(&session, OWNER),
            _ => {}
        }
        for frame in frames.split(|&b| b == b'\n').take(MAX_FRAMES) {
            let Ok(text) = std::str::from_utf8(frame) else {
                continue;
            };
            smol::block_on(handle_frame(&self.app, &session, text));
            if drain_until_close(&session) {
                break;
            }
        }
        crate::auth::disconnected(&self.app, &session);
        drain_until_close(&session);
    }

    fn authenticate(&self, session: &crate::hub::Session, name: &str) {
        self.app
            .hub
            .authenticate(session, &crate::model::user::local_id(name));
    }
}

/// Empties the outbox; true when it held a close frame (or the session was dropped).
fn drain_until_close(session: &crate::hub::Session) -> bool {
    let mut closed = session.outbox.is_killed();
    while let Some(item) = session.outbox.try_next() {
        closed |= matches!(item, Outgoing::Close(..));
    }
    closed
}
