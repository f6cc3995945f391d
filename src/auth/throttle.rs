//! The abuse limits of authentication (docs/protocol.md#451-abuse-limits), applied to a
//! connection's address: the attempt counters of [`crate::ratelimit::auth_attempts`], and a
//! fair share of the bcrypt threads.
//!
//! bcrypt is what makes a password check slow, and there are few threads for it (one per
//! core but one). Each address gets one turn at a time ([`bcrypt`]): a flood of attempts
//! from one address waits behind itself, and an attempt from anyone else waits for at most
//! one hash per other address that is busy, not for the whole flood.

use std::sync::Arc;

use smol::lock::{Semaphore, SemaphoreGuardArc};

use super::Failure;
use crate::app::App;
use crate::hub::Session;
use crate::ratelimit::auth_attempts::Host;

/// Marks the connection's authentication attempt as under way until the guard is dropped
/// (at the end of the attempt, however it ends).
pub fn under_way(session: &Session) -> UnderWay<'_> {
    session.attempting_auth.set(true);
    UnderWay(session)
}

/// See [`under_way`].
pub struct UnderWay<'s>(&'s Session);

impl Drop for UnderWay<'_> {
    fn drop(&mut self) {
        self.0.attempting_auth.set(false);
        // The reader read nothing meanwhile: the idle clock starts again from here.
        self.0.last_seen.set(std::time::Instant::now());
    }
}

/// Counts an authentication attempt of the connection's address; refused once it made too many.
pub fn attempt(app: &App, session: &Session) -> Result<(), Failure> {
    let now = app.now();
    app.auth
        .attempts
        .borrow_mut()
        .attempt(session.peer.ip(), now)
        .map_err(|refused| refusal(session, refused.text()))
}

/// Counts a registration of the connection's address.
pub fn registration(app: &App, session: &Session) -> Result<(), Failure> {
    let now = app.now();
    app.auth
        .attempts
        .borrow_mut()
        .registration(session.peer.ip(), now)
        .map_err(|refused| refusal(session, refused.text()))
}

/// Whether the connection's address may try a password for `account` now.
pub fn may_try_password(app: &App, session: &Session, account: &str) -> Result<(), Failure> {
    app.auth
        .attempts
        .borrow()
        .may_try_password(account, session.peer.ip(), app.now())
        .map_err(|refused| refusal(session, refused.text()))
}

/// Records the outcome of a password check for `account`.
pub fn password_checked(app: &App, session: &Session, account: &str, right: bool) {
    let mut attempts = app.auth.attempts.borrow_mut();
    if right {
        attempts.password_accepted(account, session.peer.ip());
    } else {
        attempts.password_failed(account, session.peer.ip(), app.now());
    }
}

fn refusal(session: &Session, text: String) -> Failure {
    log::info!("connection {} ({}): {text}", session.id, session.peer.ip());
    Failure::from(text)
}

/// Waits for the connection's address's bcrypt turn (see the module docs). Checks that
/// depend on earlier attempts of the same address go after this, since those attempts
/// have finished by then: 32 connections that ask at once cannot all pass a check that
/// only their outcomes would fail.
pub async fn bcrypt_turn<'a>(app: &'a App, session: &Session) -> BcryptTurn<'a> {
    let host = Host::of(session.peer.ip());
    let gate = app
        .auth
        .bcrypt_turns
        .borrow_mut()
        .entry(host)
        .or_insert_with(|| Arc::new(Semaphore::new(1)))
        .clone();
    let claim = Claim { app, host, gate };
    let held = claim.gate.acquire_arc().await;
    BcryptTurn { _held: held, claim }
}

/// An address's turn: [`BcryptTurn::run`] the work in it.
pub struct BcryptTurn<'a> {
    /// Dropped before `claim` (fields drop in order), which then sees whether anybody else
    /// wants the gate.
    _held: SemaphoreGuardArc,
    claim: Claim<'a>,
}

impl BcryptTurn<'_> {
    /// Runs `work` (a bcrypt hash or check) on a blocking thread, once one is free.
    pub async fn run<T: Send + 'static>(self, work: impl FnOnce() -> T + Send + 'static) -> T {
        let _thread = self.claim.app.auth.bcrypt.acquire().await;
        smol::unblock(work).await
    }
}

/// An address's claim on its gate; the gate is forgotten when nobody holds or waits for it.
struct Claim<'a> {
    app: &'a App,
    host: Host,
    gate: Arc<Semaphore>,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let mut turns = self.app.auth.bcrypt_turns.borrow_mut();
        // The map's reference and ours: nobody else holds or waits for this gate.
        if Arc::strong_count(&self.gate) == 2 {
            turns.remove(&self.host);
        }
    }
}
