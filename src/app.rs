//! The state shared by every connection on the executor thread.

use std::cell::{Cell, Ref, RefCell, RefMut};
use std::rc::Rc;

use serde_json::{Map, Value, json};

use std::time::Instant;

use crate::auth::Limits as AuthLimits;
use crate::config::{AuthMode, Config};
use crate::hub::{Hub, Session, Target};
use crate::model::Directory;
use crate::protocol::{Encoded, encode};
use crate::ratelimit::Limiter;
use crate::store::{Db, Store, StoreError};
use crate::voice::Voice;

/// The settings key under which `server_update` changes are stored.
pub const SERVER_OVERRIDES: &str = "server_overrides";

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
    /// Who is in which voice channel (memory only).
    pub voice: RefCell<Voice>,
    /// For the limiter's clock (monotonic seconds).
    started: Instant,
    /// Store writes started and not yet answered (see [`App::write`]).
    writes_in_flight: Cell<u32>,
    /// Store writes started so far.
    write_generation: Cell<u64>,
    /// The port the listener is bound to (known once bound; names the session cookie).
    pub listen_port: Cell<u16>,
}

impl App {
    /// `overrides`: server settings changed with `server_update` (stored in the database).
    pub fn new(
        config: Config,
        dir: Directory,
        store: Store,
        overrides: Map<String, Value>,
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
            auth: AuthLimits::new(),
            limiter: RefCell::new(Limiter::new(config.rate_limiting.clone())),
            voice: RefCell::new(Voice::default()),
            started: Instant::now(),
            config,
            dir: RefCell::new(dir),
            dir_version: Cell::new(0),
            hub,
            store,
            writes_in_flight: Cell::new(0),
            write_generation: Cell::new(0),
            listen_port: Cell::new(0),
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

    /// Runs a store job and waits until it is committed.
    pub async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Db) -> Result<R, StoreError> + Send + 'static,
    {
        self.writes_in_flight.set(self.writes_in_flight.get() + 1);
        self.write_generation.set(self.write_generation.get() + 1);
        let result = self.store.call(f).await;
        self.writes_in_flight.set(self.writes_in_flight.get() - 1);
        result
    }

    /// Whether a write of ours is on its way to the store (a reload must wait for it).
    pub fn writes_in_flight(&self) -> bool {
        self.writes_in_flight.get() > 0
    }

    /// Counts the writes started so far, to tell whether one happened meanwhile.
    pub fn write_generation(&self) -> u64 {
        self.write_generation.get()
    }

    /// Sends a side packet.
    pub fn broadcast(&self, target: Target<'_>, packet: &Encoded) {
        self.hub
            .broadcast(&self.dir(), self.dir_version(), target, packet);
    }

    /// The command names this server answers after authentication, sorted, plus the
    /// authentication commands the configured mode allows: the handshake's `capabilities`.
    pub fn capabilities(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = crate::commands::COMMANDS.to_vec();
        match self.config.auth_mode() {
            AuthMode::Rotur => names.push("auth"),
            AuthMode::Cracked => names.extend(["auth", "login", "register"]),
            AuthMode::CrackedOnly => names.extend(["login", "register"]),
        }
        // Session tokens work in every mode; the account's kind is checked at login.
        names.push("token_login");
        names.sort_unstable();
        names
    }

    /// The first packet of every connection (§3.1).
    pub fn handshake(&self, session: &Session) -> Encoded {
        let a = &self.config.attachments;
        encode(&json!({
            "cmd": "handshake",
            "val": {
                "server": *self.server_info.borrow(),
                "limits": self.config.limits.raw,
                "attachments": {
                    "enabled": a.enabled,
                    "max_size": a.max_size,
                    "allowed_types": a.allowed_types,
                    "max_attachments_per_user": a.max_attachments_per_user,
                    "permanent_tiers": a.permanent_tiers,
                },
                "version": "1.1.0",
                "validator_key": session.validator_key.as_str(),
                "capabilities": self.capabilities(),
                "permissions": crate::model::role::SERVER_PERMISSIONS,
                "auth_mode": self.config.auth_mode,
            }
        }))
    }

    /// `GET /info` (§10).
    pub fn info(&self) -> String {
        let server = self.server_info.borrow();
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
                "total_roles": dir.roles.0.len(),
            }
        });
        serde_json::to_string_pretty(&body).unwrap_or_default()
    }
}
