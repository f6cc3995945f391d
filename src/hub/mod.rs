//! Who is connected, and who receives what.
//!
//! The hub is the only place that knows recipients. It keeps every open connection
//! ([`Session`]) with its [`outbox`], counts each user's connections for presence, and
//! applies the routing rules of docs/protocol.md#2-routing-of-replies of `docs/protocol.md`: a broadcast is encoded once by
//! its sender and the same bytes are queued on every recipient's outbox; a recipient that
//! cannot keep up is dropped without delaying anyone else.

pub mod held_token;
pub mod outbox;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use crate::model::{Action, Directory, channel};
use crate::protocol::{Encoded, with_listener};
use outbox::{Outbox, Outgoing, PushError};

/// One open WebSocket connection.
#[derive(Debug)]
pub struct Session {
    pub id: u64,
    pub peer: SocketAddr,
    pub outbox: Outbox,
    /// Sent in the handshake; Rotur tokens are validated against it.
    pub validator_key: heapless::String<44>,
    /// The account, once authenticated.
    user: RefCell<Option<Rc<str>>>,
    /// Last time anything arrived from the peer.
    pub last_seen: Cell<Instant>,
    /// Failed login/register/auth attempts.
    pub failed_auth: Cell<u32>,
    /// An authentication attempt is under way (its password may wait for a bcrypt thread
    /// behind many others after a restart): the authentication deadline waits for it.
    pub attempting_auth: Cell<bool>,
    /// This connection's status is `invisible` (each connection starts visible).
    pub invisible: Cell<bool>,
    /// The session token from the upgrade's cookie, or the one this connection logged in with.
    pub session_token: RefCell<held_token::Held>,
    /// Where the client reached this server (`http(s)://host[:port]`, from the upgrade's
    /// `Host`): the base of the URLs it is given. Empty until known.
    pub base_url: RefCell<Box<str>>,
    /// The SHA-256 of this connection's upload token (handed out in `ready`, good for
    /// HTTP uploads while the connection is open).
    pub upload_token: Cell<Option<[u8; 32]>>,
}

impl Session {
    /// The authenticated user's id.
    pub fn user_id(&self) -> Option<Rc<str>> {
        self.user.borrow().clone()
    }

    pub fn is_authenticated(&self) -> bool {
        self.user.borrow().is_some()
    }

    /// Queues a packet for this connection. A slow consumer is killed by the outbox.
    pub fn send(&self, packet: Encoded) {
        self.push(Outgoing::Text(packet));
    }

    pub fn push(&self, item: Outgoing) {
        if let Err(PushError::SlowConsumer) = self.outbox.push(item) {
            log::warn!(
                "connection {} ({}) dropped: slow consumer",
                self.id,
                self.peer
            );
        }
    }
}

/// Recipients of a side packet (docs/protocol.md#2-routing-of-replies).
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// Every authenticated connection.
    All,
    /// Every authenticated connection that can view the channel.
    Viewers(&'a str),
    /// Every connection of one user.
    User(&'a str),
}

/// How a command's reply is routed (docs/protocol.md#2-routing-of-replies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The sender only.
    Sender,
    /// Everyone authenticated (viewers of the channel when given), the sender last.
    Global(Option<String>),
}

/// The connections that can view a channel, as computed for one directory version and
/// one session version.
#[derive(Debug)]
struct Audience {
    dir_version: u64,
    sessions_version: u64,
    sessions: Rc<[Rc<Session>]>,
}

/// All open connections.
#[derive(Debug)]
pub struct Hub {
    sessions: RefCell<HashMap<u64, Rc<Session>>>,
    /// Bumped when a connection opens, authenticates or closes.
    sessions_version: Cell<u64>,
    /// Viewers per channel, reused by every broadcast until something changes: a busy
    /// channel then costs no permission check per recipient.
    audiences: RefCell<HashMap<String, Audience>>,
    /// Open authenticated connections per user id.
    online: RefCell<HashMap<Rc<str>, u32>>,
    next_id: Cell<u64>,
    max_packets: usize,
    max_bytes: usize,
}

impl Hub {
    pub fn new(max_packets: usize, max_bytes: usize) -> Hub {
        Hub {
            sessions: RefCell::default(),
            sessions_version: Cell::new(0),
            audiences: RefCell::default(),
            online: RefCell::default(),
            next_id: Cell::new(1),
            max_packets,
            max_bytes,
        }
    }

    /// Registers a new connection.
    pub fn open(&self, peer: SocketAddr) -> Rc<Session> {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let session = Rc::new(Session {
            id,
            peer,
            outbox: Outbox::new(self.max_packets, self.max_bytes),
            validator_key: crate::random::validator_key(),
            user: RefCell::new(None),
            last_seen: Cell::new(Instant::now()),
            failed_auth: Cell::new(0),
            attempting_auth: Cell::new(false),
            invisible: Cell::new(false),
            session_token: RefCell::default(),
            base_url: RefCell::default(),
            upload_token: Cell::new(None),
        });
        self.sessions.borrow_mut().insert(id, session.clone());
        self.changed();
        session
    }

    /// Something about the connections changed: cached audiences are stale.
    fn changed(&self) {
        self.sessions_version.set(self.sessions_version.get() + 1);
        self.audiences.borrow_mut().clear();
    }

    /// Number of open WebSocket connections (authenticated or not).
    pub fn len(&self) -> usize {
        self.sessions.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of distinct users with an open connection.
    pub fn online_users(&self) -> usize {
        self.online.borrow().len()
    }

    pub fn is_online(&self, user_id: &str) -> bool {
        self.online.borrow().contains_key(user_id)
    }

    /// A snapshot of the open connections (for the heartbeat and for events).
    pub fn sessions(&self) -> Vec<Rc<Session>> {
        self.sessions.borrow().values().cloned().collect()
    }

    /// The open connection with this id.
    pub fn session(&self, id: u64) -> Option<Rc<Session>> {
        self.sessions.borrow().get(&id).cloned()
    }

    /// The authenticated connection whose upload token has this hash.
    pub fn by_upload_token(&self, hash: &[u8; 32]) -> Option<Rc<Session>> {
        self.sessions
            .borrow()
            .values()
            .find(|s| s.upload_token.get().as_ref() == Some(hash) && s.is_authenticated())
            .cloned()
    }

    /// The open connection that was given this `validator_key` in its handshake.
    pub fn by_validator_key(&self, key: &str) -> Option<Rc<Session>> {
        self.sessions
            .borrow()
            .values()
            .find(|s| s.validator_key.as_str() == key)
            .cloned()
    }

    /// Binds a connection to a user. Returns true if it is the user's first connection.
    pub fn authenticate(&self, session: &Session, user_id: &str) -> bool {
        let key: Rc<str> = Rc::from(user_id);
        *session.user.borrow_mut() = Some(key.clone());
        self.changed();
        let mut online = self.online.borrow_mut();
        let count = online.entry(key).or_insert(0);
        *count += 1;
        *count == 1
    }

    /// Forgets a connection. Returns its user's id if this was the user's last connection.
    pub fn close(&self, session: &Session) -> Option<Rc<str>> {
        self.sessions.borrow_mut().remove(&session.id);
        self.changed();
        let user = session.user.borrow_mut().take()?;
        let mut online = self.online.borrow_mut();
        let count = online.get_mut(&user)?;
        *count -= 1;
        if *count == 0 {
            online.remove(&user);
            return Some(user);
        }
        None
    }

    /// The connections that can view `channel` (current roles), cached per channel until
    /// the directory or the set of connections changes.
    fn audience(&self, dir: &Directory, dir_version: u64, channel: &str) -> Rc<[Rc<Session>]> {
        let sessions_version = self.sessions_version.get();
        if let Some(a) = self.audiences.borrow().get(channel) {
            if a.dir_version == dir_version && a.sessions_version == sessions_version {
                return a.sessions.clone();
            }
        }
        let found = dir.channel(channel);
        let sessions: Rc<[Rc<Session>]> = self
            .sessions
            .borrow()
            .values()
            .filter(|s| {
                s.user
                    .borrow()
                    .as_deref()
                    .and_then(|u| dir.user(u))
                    .is_some_and(|u| channel::allows(found, Action::View, &u.roles))
            })
            .cloned()
            .collect();
        let mut audiences = self.audiences.borrow_mut();
        if audiences.len() > dir.channels.len() + 8 {
            audiences.clear();
        }
        audiences.insert(
            channel.to_string(),
            Audience {
                dir_version,
                sessions_version,
                sessions: sessions.clone(),
            },
        );
        sessions
    }

    /// Sends a side packet to a set of recipients.
    pub fn broadcast(
        &self,
        dir: &Directory,
        dir_version: u64,
        target: Target<'_>,
        packet: &Encoded,
    ) {
        match target {
            Target::Viewers(c) => {
                for s in self.audience(dir, dir_version, c).iter() {
                    s.send(packet.clone());
                }
            }
            Target::All => self.each_authenticated(|s| s.send(packet.clone())),
            Target::User(user) => {
                for s in self.sessions_of(user) {
                    s.send(packet.clone());
                }
            }
        }
    }

    /// Queues a presence announcement (`user_connect`, `user_disconnect`) for every
    /// authenticated connection: it may wait a moment for company ([`Outgoing::Presence`]).
    pub fn announce(&self, packet: &Encoded) {
        self.each_authenticated(|s| s.push(Outgoing::Presence(packet.clone())));
    }

    fn each_authenticated(&self, mut f: impl FnMut(&Session)) {
        for s in self.sessions.borrow().values() {
            if s.is_authenticated() {
                f(s);
            }
        }
    }

    /// Routes a command's reply: to the sender alone, or to the others first and then the
    /// sender. Only the sender's copy carries `listener`.
    pub fn reply(
        &self,
        dir: &Directory,
        dir_version: u64,
        sender: &Session,
        packet: &Encoded,
        route: &Route,
        listener: Option<&str>,
    ) {
        match route {
            Route::Global(Some(c)) => {
                for s in self
                    .audience(dir, dir_version, c)
                    .iter()
                    .filter(|s| s.id != sender.id)
                {
                    s.send(packet.clone());
                }
            }
            Route::Global(None) => {
                for s in self.sessions.borrow().values() {
                    if s.id != sender.id && s.is_authenticated() {
                        s.send(packet.clone());
                    }
                }
            }
            Route::Sender => {}
        }
        match listener {
            Some(l) => sender.send(with_listener(packet, l)),
            None => sender.send(packet.clone()),
        }
    }

    /// VOICE(C) (docs/protocol.md#89-voice): every connection that can view `channel`; the connections of
    /// `participants` get `with_peer`, the others `without_peer`.
    pub fn voice_broadcast(
        &self,
        dir: &Directory,
        dir_version: u64,
        channel: &str,
        participants: &[String],
        with_peer: &Encoded,
        without_peer: &Encoded,
    ) {
        for s in self.audience(dir, dir_version, channel).iter() {
            let inside = s
                .user
                .borrow()
                .as_deref()
                .is_some_and(|u| participants.iter().any(|p| p == u));
            s.send(if inside {
                with_peer.clone()
            } else {
                without_peer.clone()
            });
        }
    }

    /// The open connections of one user.
    pub fn sessions_of(&self, user_id: &str) -> Vec<Rc<Session>> {
        self.sessions
            .borrow()
            .values()
            .filter(|s| s.user.borrow().as_deref() == Some(user_id))
            .cloned()
            .collect()
    }
}
