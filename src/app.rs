//! The state shared by every connection on the executor thread: configuration, the
//! directory (accounts, roles, channels), the hub, the store handle, the rate limiter and
//! voice. What several layers do with it (write-through changes, bans, voice, pushing
//! channel lists) is in [`crate::ops`], as methods on [`App`].

use std::cell::{Cell, Ref, RefCell, RefMut};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use smol::lock::Semaphore;

use std::time::Instant;

use crate::config::{Abuse, Config};
use crate::hub::{Hub, Target};
use crate::media::files::MediaDir;
use crate::model::Directory;
use crate::protocol::Encoded;
use crate::ratelimit::auth_attempts::{AuthAttempts, Host};
use crate::ratelimit::{Buckets, Limiter};
use crate::store::{Db, Store, StoreError};
use crate::voice::Voice;

/// The settings key under which `server_update` changes are stored.
pub const SERVER_OVERRIDES: &str = "server_overrides";

/// How many messages one webhook may post per minute (a burst of as many, then one every
/// two seconds): enough for CI and alerting, not enough to flood a channel.
pub const WEBHOOK_POSTS_PER_MINUTE: u32 = 30;

/// Everything a command handler may need. Lives on the executor thread (`Rc`, `RefCell`).
pub struct App {
    pub config: Config,
    /// The `server` object of the handshake, `/info` and `server_info`.
    pub server_info: RefCell<Map<String, Value>>,
    /// The part of `server_info` set with `server_update` (persisted).
    server_overrides: RefCell<Map<String, Value>>,
    /// Accounts, roles and channels (a write-through cache of the store). Private: every
    /// change goes through [`App::dir_mut`], which bumps `dir_version`.
    dir: RefCell<Directory>,
    /// Bumped on every (possible) change of the directory; cached broadcast audiences
    /// compare it, so a role change can never leave a stale audience behind.
    dir_version: Cell<u64>,
    pub hub: Hub,
    pub store: Store,
    pub auth: AuthLimits,
    pub limiter: RefCell<Limiter>,
    /// `POST /webhooks`: posts per webhook ([`WEBHOOK_POSTS_PER_MINUTE`]).
    pub webhook_posts: RefCell<Buckets>,
    /// Who is in which voice channel (memory only).
    pub voice: RefCell<Voice>,
    /// For the limiter's clock (monotonic seconds).
    started: Instant,
    /// The port the listener is bound to (known once bound; names the session cookie).
    pub listen_port: Cell<u16>,
    /// User files on disk.
    pub media: Media,
    /// Bytes of large inbound messages (above `connections.max_message_bytes`) being
    /// received or handled right now, over all connections; at most
    /// `connections.large_messages_budget_bytes` (`server::message_gate` keeps it).
    pub large_messages_reserved: Cell<usize>,
}

/// User files: where they are, and what attachments take of the disk budget.
#[derive(Debug)]
pub struct Media {
    pub dir: MediaDir,
    /// Bytes of all attachments (kept in step with the store; recounted by the janitor).
    pub used_bytes: Cell<u64>,
    /// Uploads being received at once; more wait (each costs a temporary file and a
    /// little memory, and the disk is slow on a small board).
    pub uploads: Semaphore,
}

/// Uploads received at once.
pub const UPLOADS_AT_ONCE: usize = 4;

impl App {
    /// `overrides`: server settings changed with `server_update` (stored in the database).
    pub fn new(
        config: Config,
        dir: Directory,
        store: Store,
        overrides: Map<String, Value>,
        media: MediaDir,
    ) -> Rc<App> {
        let hub = Hub::new(
            config.connections.send_queue_packets,
            config.connections.send_queue_bytes,
        );
        Rc::new(App {
            server_info: RefCell::new({
                let mut info = config.server.clone();
                info.extend(overrides.clone());
                info
            }),
            server_overrides: RefCell::new(overrides),
            auth: AuthLimits::new(&config.abuse),
            limiter: RefCell::new(Limiter::new(config.rate_limiting.clone())),
            webhook_posts: RefCell::new(Buckets::per_minute(WEBHOOK_POSTS_PER_MINUTE)),
            voice: RefCell::new(Voice::default()),
            started: Instant::now(),
            config,
            dir: RefCell::new(dir),
            dir_version: Cell::new(0),
            hub,
            store,
            listen_port: Cell::new(0),
            media: Media {
                dir: media,
                used_bytes: Cell::new(0),
                uploads: Semaphore::new(UPLOADS_AT_ONCE),
            },
            large_messages_reserved: Cell::new(0),
        })
    }

    /// The directory, for reading.
    pub fn dir(&self) -> Ref<'_, Directory> {
        self.dir.borrow()
    }

    /// The directory, for changing (marks every cached audience stale).
    pub fn dir_mut(&self) -> RefMut<'_, Directory> {
        self.dir_version.set(self.dir_version.get() + 1);
        self.dir.borrow_mut()
    }

    pub fn dir_version(&self) -> u64 {
        self.dir_version.get()
    }

    /// The `server` object as a client that reached us at `base_url` gets it: the icon
    /// and banner stored here (`/server-assets/…`) become absolute URLs, because the
    /// official client uses them as they are from its own origin.
    pub fn server_view(&self, base_url: &str) -> Map<String, Value> {
        let mut info = self.server_info.borrow().clone();
        for key in ["icon", "banner"] {
            if let Some(Value::String(path)) = info.get_mut(key) {
                if path.starts_with("/server-assets/") {
                    *path = format!("{base_url}{path}");
                }
            }
        }
        info
    }

    /// Server settings changed with `server_update`.
    pub fn server_overrides(&self) -> Map<String, Value> {
        self.server_overrides.borrow().clone()
    }

    pub fn set_server_overrides(&self, overrides: Map<String, Value>) {
        *self.server_overrides.borrow_mut() = overrides;
    }

    /// Monotonic seconds since the server started (the rate limiter's clock).
    pub fn now(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Runs a store job and waits until it is committed (see [`Store::call`]).
    pub async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Db) -> Result<R, StoreError> + Send + 'static,
    {
        self.store.call(f).await
    }

    /// Sends a side packet.
    pub fn broadcast(&self, target: Target<'_>, packet: &Encoded) {
        self.hub
            .broadcast(&self.dir(), self.dir_version(), target, packet);
    }

    /// `GET /info` (docs/protocol.md#10-http-routes), for a client that reached us at
    /// `base_url`.
    pub fn info(&self, base_url: &str) -> String {
        let server = self.server_view(base_url);
        let text = |k: &str| server.get(k).cloned().unwrap_or_else(|| json!(""));
        let dir = self.dir();
        let body = json!({
            "server": {
                "name": text("name"),
                "icon": text("icon"),
                "banner": text("banner"),
                "owner": server.get("owner").cloned().unwrap_or(Value::Null),
            },
            "stats": {
                "total_users": dir.user_count(),
                "connected_users": self.hub.len(),
                "online_users": self.hub.online_users(),
                "total_channels": dir.channels.len(),
                "total_roles": dir.roles.len(),
            }
        });
        serde_json::to_string_pretty(&body).unwrap_or_default()
    }
}

/// Bounds on what authentication costs: the blocking work it does off the executor thread
/// (so that a login storm cannot take every core or start hundreds of threads), and the
/// attempts one address or account may make (`auth::throttle`).
pub struct AuthLimits {
    /// bcrypt hashes and checks at once: one per core but one (left for the executor).
    pub bcrypt: Semaphore,
    /// One bcrypt turn at a time per address (`auth::throttle::bcrypt`); an entry lives
    /// while someone holds or waits for it.
    pub bcrypt_turns: RefCell<HashMap<Host, Arc<Semaphore>>>,
    /// Rotur validation calls in flight at once.
    pub rotur: Semaphore,
    /// Attempts per address and failures per account (`abuse.*`).
    pub attempts: RefCell<AuthAttempts>,
}

impl AuthLimits {
    pub fn new(abuse: &Abuse) -> AuthLimits {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        AuthLimits {
            bcrypt: Semaphore::new(cores.saturating_sub(1).max(1)),
            bcrypt_turns: RefCell::new(HashMap::new()),
            rotur: Semaphore::new(16),
            attempts: RefCell::new(AuthAttempts::new(abuse.clone())),
        }
    }
}
