//! The session token a connection holds (see `crate::auth::session_token`): kept with the
//! session, so the hub below authentication owns it.

use std::fmt;

/// What a connection knows of session tokens.
#[derive(Default, PartialEq, Eq)]
pub enum Held {
    #[default]
    Nothing,
    /// The token from the cookie of a same-origin WebSocket upgrade, until `token_login`
    /// uses it or the connection authenticates otherwise.
    Cookie(String),
    /// The connection logged in with the token of this SHA-256 (`store::session_tokens::
    /// TokenHash`; `session_token_revoke` without a token revokes it).
    LoggedInWith([u8; 32]),
}

impl Held {
    /// Drops a cookie token that was not used: it is not kept after authentication.
    pub fn forget_cookie(&mut self) {
        self.take_cookie();
    }

    /// The cookie's token, which this connection no longer holds afterwards.
    pub fn take_cookie(&mut self) -> Option<String> {
        match std::mem::take(self) {
            Held::Cookie(token) => Some(token),
            other => {
                *self = other;
                None
            }
        }
    }
}

/// Never shows the token itself (a session may end up in a debug print).
impl fmt::Debug for Held {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Held::Nothing => "Nothing",
            Held::Cookie(_) => "Cookie(<redacted>)",
            Held::LoggedInWith(_) => "LoggedInWith(<hash>)",
        })
    }
}
