//! The message rate limiter (docs/protocol.md#5-rate-limiting): a per-minute window, a burst limit within 10 s that
//! starts a cooldown, and moderator timeouts. Keyed by user id (all of a user's connections
//! share it). Each user's state has a fixed size, chosen by the configuration: a ring of at
//! most `messages_per_minute` timestamps (a denied request is not recorded, so the window
//! never holds more).

pub mod auth_attempts;

use std::collections::HashMap;

use crate::config::RateLimiting;

const WINDOW: f64 = 60.0;
const BURST_WINDOW: f64 = 10.0;

/// Why a request was refused, and for how long.
#[derive(Debug, Clone, PartialEq)]
pub struct Denied {
    pub reason: String,
    /// Milliseconds to wait (`length` in the `rate_limit` packet).
    pub wait_ms: u64,
}

/// The counters `rate_limit_status` reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Status {
    pub messages_this_minute: usize,
    pub recent_messages: usize,
    pub cooldown_remaining: f64,
}

#[derive(Debug)]
struct UserState {
    /// Timestamps of allowed requests, oldest first, in a ring.
    times: Box<[f64]>,
    head: usize,
    len: usize,
    burst_at: Option<f64>,
    timeout_until: Option<f64>,
}

impl UserState {
    fn new(capacity: usize) -> UserState {
        UserState {
            times: vec![0.0; capacity.max(1)].into_boxed_slice(),
            head: 0,
            len: 0,
            burst_at: None,
            timeout_until: None,
        }
    }

    fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        (0..self.len).map(move |i| self.times[(self.head + i) % self.times.len()])
    }

    fn drop_older_than(&mut self, now: f64) {
        while self.len > 0 && now - self.times[self.head] > WINDOW {
            self.head = (self.head + 1) % self.times.len();
            self.len -= 1;
        }
    }

    fn record(&mut self, now: f64) {
        let cap = self.times.len();
        if self.len == cap {
            // Full: the oldest goes (only reachable if the limit changed).
            self.head = (self.head + 1) % cap;
            self.len -= 1;
        }
        self.times[(self.head + self.len) % cap] = now;
        self.len += 1;
    }

    fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}

/// All users' limiter state.
#[derive(Debug)]
pub struct Limiter {
    config: RateLimiting,
    users: HashMap<String, UserState>,
}

impl Limiter {
    pub fn new(config: RateLimiting) -> Limiter {
        Limiter {
            config,
            users: HashMap::new(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    pub fn config(&self) -> &RateLimiting {
        &self.config
    }

    fn state(&mut self, user: &str) -> &mut UserState {
        let cap = self.config.messages_per_minute as usize;
        self.users
            .entry(user.to_string())
            .or_insert_with(|| UserState::new(cap))
    }

    /// Checks (and, if allowed, records) one limited request at time `now` (seconds).
    pub fn check(&mut self, user: &str, now: f64) -> Result<(), Denied> {
        if !self.config.enabled {
            return Ok(());
        }
        let cfg = self.config.clone();
        let s = self.state(user);
        if let Some(until) = s.timeout_until.filter(|u| *u > now) {
            let left = until - now;
            return Err(denied(
                format!("You are in timeout for {left:.1} more seconds"),
                left,
            ));
        }
        s.drop_older_than(now);
        if let Some(at) = s
            .burst_at
            .filter(|at| now - at < f64::from(cfg.cooldown_seconds))
        {
            let left = f64::from(cfg.cooldown_seconds) - (now - at);
            return Err(denied(
                format!("You are in cooldown for {left:.1} more seconds"),
                left,
            ));
        }
        if s.len >= cfg.messages_per_minute as usize {
            let oldest = s.iter().next().unwrap_or(now);
            let wait = WINDOW - (now - oldest);
            return Err(denied(
                format!("Rate limit exceeded. Wait {wait:.1} seconds"),
                wait,
            ));
        }
        if s.iter().filter(|t| now - t <= BURST_WINDOW).count() >= cfg.burst_limit as usize {
            s.burst_at = Some(now);
            return Err(denied(
                format!(
                    "Burst limit exceeded. You're in cooldown for {} seconds",
                    cfg.cooldown_seconds
                ),
                f64::from(cfg.cooldown_seconds),
            ));
        }
        s.record(now);
        Ok(())
    }

    /// `user_timeout`: refuse everything for `seconds`, and forget the recorded requests.
    pub fn timeout(&mut self, user: &str, seconds: f64, now: f64) {
        let s = self.state(user);
        s.timeout_until = Some(now + seconds);
        s.clear();
    }

    /// `rate_limit_reset`: forget requests, cooldown and timeout.
    pub fn reset(&mut self, user: &str) {
        self.users.remove(user);
    }

    pub fn status(&self, user: &str, now: f64) -> Status {
        let Some(s) = self.users.get(user) else {
            return Status {
                messages_this_minute: 0,
                recent_messages: 0,
                cooldown_remaining: 0.0,
            };
        };
        let cooldown = f64::from(self.config.cooldown_seconds);
        Status {
            messages_this_minute: s.iter().filter(|t| now - t <= WINDOW).count(),
            recent_messages: s.iter().filter(|t| now - t <= BURST_WINDOW).count(),
            cooldown_remaining: s
                .burst_at
                .map_or(0.0, |at| (cooldown - (now - at)).max(0.0)),
        }
    }

    /// Frees the state of users for whom `keep` is false, unless a cooldown or timeout is
    /// still running for them.
    pub fn release_idle(&mut self, now: f64, keep: impl Fn(&str) -> bool) {
        let cooldown = f64::from(self.config.cooldown_seconds);
        self.users.retain(|user, s| {
            keep(user)
                || s.timeout_until.is_some_and(|u| u > now)
                || s.burst_at.is_some_and(|at| now - at < cooldown)
        });
    }

    /// Users with state (for tests and the memory budget).
    pub fn tracked(&self) -> usize {
        self.users.len()
    }
}

fn denied(reason: String, wait_seconds: f64) -> Denied {
    Denied {
        reason,
        wait_ms: (wait_seconds.max(0.0) * 1000.0) as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> Limiter {
        Limiter::new(RateLimiting {
            enabled: true,
            messages_per_minute: 60,
            burst_limit: 10,
            cooldown_seconds: 30,
        })
    }

    #[test]
    fn ten_pass_the_eleventh_starts_a_cooldown() {
        let mut l = limiter();
        for i in 0..10 {
            assert!(l.check("u", 100.0 + f64::from(i) * 0.1).is_ok());
        }
        let d = l.check("u", 101.0).unwrap_err();
        assert_eq!(
            d.reason,
            "Burst limit exceeded. You're in cooldown for 30 seconds"
        );
        assert_eq!(d.wait_ms, 30000);
        let d = l.check("u", 101.2).unwrap_err();
        assert_eq!(d.reason, "You are in cooldown for 29.8 more seconds");
        assert_eq!(d.wait_ms, 29799, "truncated, as the reference does");
        assert!(l.check("u", 131.5).is_ok());
        assert!(l.check("other", 101.0).is_ok(), "per user");
    }

    #[test]
    fn per_minute_window() {
        let mut l = Limiter::new(RateLimiting {
            enabled: true,
            messages_per_minute: 5,
            burst_limit: 100,
            cooldown_seconds: 30,
        });
        for i in 0..5 {
            assert!(l.check("u", f64::from(i) * 5.0).is_ok());
        }
        let d = l.check("u", 30.0).unwrap_err();
        assert_eq!(d.reason, "Rate limit exceeded. Wait 30.0 seconds");
        assert!(l.check("u", 60.5).is_ok(), "the first one left the window");
        let s = l.status("u", 60.5);
        assert_eq!(s.messages_this_minute, 5);
    }

    #[test]
    fn timeout_and_reset() {
        let mut l = limiter();
        l.timeout("u", 3.0, 10.0);
        let d = l.check("u", 11.0).unwrap_err();
        assert_eq!(
            (d.reason.as_str(), d.wait_ms),
            ("You are in timeout for 2.0 more seconds", 2000)
        );
        assert!(l.check("u", 13.5).is_ok());
        l.reset("u");
        assert_eq!(l.tracked(), 0);
    }

    #[test]
    fn disabled_allows_everything() {
        let mut l = Limiter::new(RateLimiting {
            enabled: false,
            ..limiter().config
        });
        for i in 0..1000 {
            assert!(l.check("u", f64::from(i) * 0.001).is_ok());
        }
    }

    #[test]
    fn idle_state_is_released_but_running_cooldowns_are_kept() {
        let mut l = limiter();
        l.check("a", 0.0).unwrap();
        for i in 0..11 {
            let _ = l.check("b", f64::from(i) * 0.1);
        }
        l.release_idle(2.0, |_| false);
        assert_eq!(l.tracked(), 1, "b is in cooldown");
        l.release_idle(40.0, |_| false);
        assert_eq!(l.tracked(), 0);
    }
}

/// Token buckets keyed by name (`POST /webhooks`, per webhook): `capacity` posts at once,
/// refilled at `capacity` per minute. Only webhooks that exist get a bucket (the token is
/// checked first), and full buckets are dropped when the map grows, so it stays small.
#[derive(Debug)]
pub struct Buckets {
    capacity: f64,
    per_second: f64,
    /// Name → (tokens, when they were counted).
    state: HashMap<String, (f64, f64)>,
}

impl Buckets {
    pub fn per_minute(capacity: u32) -> Buckets {
        let capacity = f64::from(capacity.max(1));
        Buckets {
            capacity,
            per_second: capacity / WINDOW,
            state: HashMap::new(),
        }
    }

    /// Takes one token of `name`'s bucket at `now` (monotonic seconds), or says how many
    /// whole seconds until one is there.
    pub fn take(&mut self, name: &str, now: f64) -> Result<(), u64> {
        if self.state.len() >= 1024 && !self.state.contains_key(name) {
            let (capacity, per_second) = (self.capacity, self.per_second);
            self.state
                .retain(|_, (tokens, at)| *tokens + (now - *at) * per_second < capacity);
        }
        let (capacity, per_second) = (self.capacity, self.per_second);
        let (tokens, at) = self
            .state
            .entry(name.to_string())
            .or_insert((capacity, now));
        *tokens = (*tokens + (now - *at).max(0.0) * per_second).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / per_second).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod bucket_tests {
    use super::Buckets;

    #[test]
    fn a_bucket_empties_then_refills() {
        let mut b = Buckets::per_minute(30);
        for _ in 0..30 {
            assert_eq!(b.take("w", 0.0), Ok(()));
        }
        assert_eq!(b.take("w", 0.0), Err(2));
        assert_eq!(b.take("other", 0.0), Ok(()));
        assert_eq!(b.take("w", 2.0), Ok(()));
        assert_eq!(b.take("w", 2.0), Err(2));
    }
}
