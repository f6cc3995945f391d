//! What one address, and one account, may try before authenticating
//! (docs/protocol.md#451-abuse-limits). Sans-IO: the caller passes the time, in monotonic
//! seconds.
//!
//! - Every attempt (`auth`, `login`, `register`, `token_login`) takes a token of its
//!   address's bucket (`abuse.auth_attempts_per_minute`), every registration one of a
//!   second bucket (`abuse.registrations_per_hour`).
//! - Wrong passwords are counted per account *and* address: after
//!   `abuse.failed_logins_before_delay` of them, each further try from that address must
//!   wait 1 s, 2 s, 4 s, … up to `abuse.max_login_delay_seconds` after the last failure.
//!   Counting per address too is what lets the account's owner log in from their own
//!   device while someone guesses from another.
//! - Wrong passwords of one account from all addresses together take tokens of the
//!   account's bucket (`abuse.account_failures_per_hour`); while it is empty, only an
//!   address that has not failed on the account may try, so guessing from many addresses
//!   is slowed too and the owner still gets in.
//!
//! Every map holds at most [`MAX_TRACKED`] keys; when one is full, its stalest key goes.
//! Addresses are keyed by the IPv4 address, or the IPv6 /64 (one host has a whole /64).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;

use crate::config::Abuse;

/// Keys per map at most: a few hundred KiB in all, whatever a flood sends.
pub const MAX_TRACKED: usize = 4096;

/// How long to wait before trying again, in whole seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

/// Why an attempt is refused before it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The address made too many attempts.
    Attempts(RetryAfter),
    /// The address registered too many accounts.
    Registrations(RetryAfter),
    /// Too many wrong passwords for this account.
    Failures(RetryAfter),
}

impl Refused {
    /// The `auth_error` text: what happened and when to retry.
    pub fn text(self) -> String {
        match self {
            Refused::Attempts(RetryAfter(s)) => {
                format!("Too many authentication attempts: try again in {s} s")
            }
            Refused::Registrations(RetryAfter(s)) => {
                format!("Too many accounts registered from your address: try again in {s} s")
            }
            Refused::Failures(RetryAfter(s)) => {
                format!("Too many wrong passwords for this account: try again in {s} s")
            }
        }
    }
}

/// The address part that identifies one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Host(u128);

impl Host {
    pub fn of(addr: IpAddr) -> Host {
        match addr {
            IpAddr::V4(v4) => Host(u128::from(u32::from(v4))),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Host(u128::from(u32::from(v4))),
                // The /64, marked so that it cannot equal an IPv4 key.
                None => Host((u128::from(v6) & !u128::from(u64::MAX)) | 1),
            },
        }
    }
}

/// Limits on authentication attempts (see the module docs).
#[derive(Debug)]
pub struct AuthAttempts {
    limits: Abuse,
    attempts: Buckets<Host>,
    registrations: Buckets<Host>,
    account_failures: Buckets<String>,
    failures: Bounded<(String, Host), Failures>,
}

/// Wrong passwords for one account from one address.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: f64,
}

impl AuthAttempts {
    pub fn new(limits: Abuse) -> AuthAttempts {
        AuthAttempts {
            attempts: Buckets::new(limits.auth_attempts_per_minute, 60.0),
            registrations: Buckets::new(limits.registrations_per_hour, 3600.0),
            account_failures: Buckets::new(limits.account_failures_per_hour, 3600.0),
            failures: Bounded::default(),
            limits,
        }
    }

    /// Whether the limits apply to `addr` at all.
    pub fn exempt(&self, addr: IpAddr) -> bool {
        self.limits.exempt_addresses.contains(&addr)
            || matches!(addr, IpAddr::V6(v6) if v6.to_ipv4_mapped()
                .is_some_and(|v4| self.limits.exempt_addresses.contains(&IpAddr::V4(v4))))
    }

    /// Counts an authentication attempt of any kind from `addr`.
    pub fn attempt(&mut self, addr: IpAddr, now: f64) -> Result<(), Refused> {
        if self.exempt(addr) {
            return Ok(());
        }
        self.attempts
            .take(Host::of(addr), now)
            .map_err(Refused::Attempts)
    }

    /// Counts a registration from `addr` (after [`AuthAttempts::attempt`]).
    pub fn registration(&mut self, addr: IpAddr, now: f64) -> Result<(), Refused> {
        if self.exempt(addr) {
            return Ok(());
        }
        self.registrations
            .take(Host::of(addr), now)
            .map_err(Refused::Registrations)
    }

    /// Whether `addr` may try a password for `account` now.
    pub fn may_try_password(&self, account: &str, addr: IpAddr, now: f64) -> Result<(), Refused> {
        if self.exempt(addr) {
            return Ok(());
        }
        let Some(f) = self.failures.get(&(account.to_string(), Host::of(addr))) else {
            return Ok(());
        };
        if let Some(wait) = self.account_failures.empty_for(account, now) {
            return Err(Refused::Failures(wait));
        }
        let free = self.limits.failed_logins_before_delay;
        if f.count < free {
            return Ok(());
        }
        let delay = 2f64
            .powi((f.count - free).min(30) as i32)
            .min(self.limits.max_login_delay_seconds as f64);
        let left = f.last + delay - now;
        if left > 0.0 {
            return Err(Refused::Failures(RetryAfter(left.ceil().max(1.0) as u64)));
        }
        Ok(())
    }

    /// Records a wrong password for `account` from `addr`.
    pub fn password_failed(&mut self, account: &str, addr: IpAddr, now: f64) {
        if self.exempt(addr) {
            return;
        }
        let _ = self.account_failures.take(account.to_string(), now);
        let key = (account.to_string(), Host::of(addr));
        let count = self.failures.get(&key).map_or(0, |f| f.count);
        self.failures.insert(
            key,
            Failures {
                count: count.saturating_add(1),
                last: now,
            },
            now,
        );
    }

    /// Forgets the wrong passwords of `addr` for `account` (it knew the password).
    pub fn password_accepted(&mut self, account: &str, addr: IpAddr) {
        self.failures.remove(&(account.to_string(), Host::of(addr)));
    }

    /// Keys held, over all maps (for tests and the bound).
    pub fn tracked(&self) -> usize {
        self.attempts.state.len()
            + self.registrations.state.len()
            + self.account_failures.state.len()
            + self.failures.len()
    }
}

/// Token buckets: `capacity` tokens, refilled at `capacity` per `period` seconds.
#[derive(Debug)]
struct Buckets<K> {
    capacity: f64,
    per_second: f64,
    state: Bounded<K, (f64, f64)>,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    fn new(capacity: u32, period: f64) -> Buckets<K> {
        let capacity = f64::from(capacity.max(1));
        Buckets {
            capacity,
            per_second: capacity / period,
            state: Bounded::default(),
        }
    }

    fn tokens(&self, key: &K, now: f64) -> f64 {
        self.state.get(key).map_or(self.capacity, |(tokens, at)| {
            (tokens + (now - at).max(0.0) * self.per_second).min(self.capacity)
        })
    }

    fn wait(&self, tokens: f64) -> RetryAfter {
        RetryAfter(((1.0 - tokens) / self.per_second).ceil().max(1.0) as u64)
    }

    fn take(&mut self, key: K, now: f64) -> Result<(), RetryAfter> {
        let tokens = self.tokens(&key, now);
        if tokens < 1.0 {
            return Err(self.wait(tokens));
        }
        self.state.insert(key, (tokens - 1.0, now), now);
        Ok(())
    }

    /// How long until `key`'s bucket has a token, if it has none now.
    fn empty_for<Q>(&self, key: &Q, now: f64) -> Option<RetryAfter>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (tokens, at) = self.state.map.get(key)?.0;
        let tokens = (tokens + (now - at).max(0.0) * self.per_second).min(self.capacity);
        (tokens < 1.0).then(|| self.wait(tokens))
    }
}

/// A map of at most [`MAX_TRACKED`] keys that drops the one touched longest ago to make room.
#[derive(Debug)]
struct Bounded<K, V> {
    /// Key → (value, when it was last written).
    map: HashMap<K, (V, f64)>,
}

impl<K, V> Default for Bounded<K, V> {
    fn default() -> Self {
        Bounded {
            map: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq + Clone, V> Bounded<K, V> {
    fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|(v, _)| v)
    }

    fn insert(&mut self, key: K, value: V, now: f64) {
        if self.map.len() >= MAX_TRACKED && !self.map.contains_key(&key) {
            // Rare (only under a flood of distinct keys) and bounded: one pass.
            let stalest = self
                .map
                .iter()
                .min_by(|a, b| a.1.1.total_cmp(&b.1.1))
                .map(|(k, _)| k.clone());
            if let Some(k) = stalest {
                self.map.remove(&k);
            }
        }
        self.map.insert(key, (value, now));
    }

    fn remove(&mut self, key: &K) {
        self.map.remove(key);
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Abuse {
        Abuse {
            auth_attempts_per_minute: 6,
            registrations_per_hour: 2,
            failed_logins_before_delay: 3,
            max_login_delay_seconds: 60,
            account_failures_per_hour: 100,
            connections_per_address: 4,
            auth_timeout_seconds: 60,
            exempt_addresses: vec!["10.0.0.9".parse().unwrap()],
        }
    }

    const A: &str = "10.0.0.1";
    const B: &str = "10.0.0.2";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn attempts_per_address_empty_then_refill() {
        let mut t = AuthAttempts::new(limits());
        for _ in 0..6 {
            assert_eq!(t.attempt(ip(A), 0.0), Ok(()));
        }
        assert_eq!(
            t.attempt(ip(A), 0.0),
            Err(Refused::Attempts(RetryAfter(10)))
        );
        assert_eq!(t.attempt(ip(B), 0.0), Ok(()));
        assert_eq!(t.attempt(ip(A), 10.0), Ok(()));
        // The exempt address is never counted.
        for _ in 0..100 {
            assert_eq!(t.attempt(ip("10.0.0.9"), 0.0), Ok(()));
        }
        assert_eq!(t.attempt(ip("::ffff:10.0.0.9"), 0.0), Ok(()));
    }

    #[test]
    fn registrations_per_address_per_hour() {
        let mut t = AuthAttempts::new(limits());
        assert_eq!(t.registration(ip(A), 0.0), Ok(()));
        assert_eq!(t.registration(ip(A), 0.0), Ok(()));
        assert_eq!(
            t.registration(ip(A), 0.0),
            Err(Refused::Registrations(RetryAfter(1800)))
        );
        assert_eq!(t.registration(ip(A), 1800.0), Ok(()));
    }

    #[test]
    fn failures_slow_down_one_address_exponentially_but_not_another() {
        let mut t = AuthAttempts::new(limits());
        for _ in 0..3 {
            assert_eq!(t.may_try_password("alice", ip(A), 0.0), Ok(()));
            t.password_failed("alice", ip(A), 0.0);
        }
        // 3 free, then 1 s, 2 s, 4 s … after the last failure.
        assert_eq!(
            t.may_try_password("alice", ip(A), 0.5),
            Err(Refused::Failures(RetryAfter(1)))
        );
        assert_eq!(t.may_try_password("alice", ip(A), 1.0), Ok(()));
        t.password_failed("alice", ip(A), 1.0);
        assert_eq!(
            t.may_try_password("alice", ip(A), 1.0),
            Err(Refused::Failures(RetryAfter(2)))
        );
        t.password_failed("alice", ip(A), 3.0);
        assert_eq!(
            t.may_try_password("alice", ip(A), 3.0),
            Err(Refused::Failures(RetryAfter(4)))
        );
        // The owner on another device, and another account, are not slowed.
        assert_eq!(t.may_try_password("alice", ip(B), 3.0), Ok(()));
        assert_eq!(t.may_try_password("bob", ip(A), 3.0), Ok(()));
        // Capped.
        for _ in 0..20 {
            t.password_failed("alice", ip(A), 3.0);
        }
        assert_eq!(
            t.may_try_password("alice", ip(A), 3.0),
            Err(Refused::Failures(RetryAfter(60)))
        );
        t.password_accepted("alice", ip(A));
        assert_eq!(t.may_try_password("alice", ip(A), 3.0), Ok(()));
    }

    #[test]
    fn guessing_from_many_addresses_stops_them_all_but_not_a_fresh_one() {
        let mut t = AuthAttempts::new(limits());
        for i in 0..100 {
            t.password_failed("alice", ip(&format!("10.0.1.{i}")), 0.0);
        }
        assert_eq!(
            t.may_try_password("alice", ip("10.0.1.0"), 0.0),
            Err(Refused::Failures(RetryAfter(36)))
        );
        assert_eq!(t.may_try_password("alice", ip("10.0.2.1"), 0.0), Ok(()));
    }

    #[test]
    fn an_ipv6_host_is_its_64() {
        assert_eq!(
            Host::of(ip("2001:db8:1:2::1")),
            Host::of(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            Host::of(ip("2001:db8:1:2::1")),
            Host::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(Host::of(ip("::ffff:10.0.0.1")), Host::of(ip(A)));
    }

    #[test]
    fn state_stays_bounded() {
        let mut t = AuthAttempts::new(limits());
        for i in 0..(MAX_TRACKED as u32 + 100) {
            let addr = IpAddr::V4(std::net::Ipv4Addr::from(i));
            let _ = t.attempt(addr, f64::from(i));
            t.password_failed(&format!("u{i}"), addr, f64::from(i));
        }
        assert!(t.tracked() <= 4 * MAX_TRACKED, "{}", t.tracked());
    }
}
