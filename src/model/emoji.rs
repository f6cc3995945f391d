//! A custom emoji: a name and an image in `emojis/<file>` (see `crate::media`).

use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub struct Emoji {
    /// Never reused: clients cache `/emojis/<id>` for an hour.
    pub id: i64,
    pub name: String,
    /// The image's name on disk (made by us), what clients call `fileName`.
    pub file: String,
    /// Sniffed from the image's bytes.
    pub mime_type: String,
    pub size: u64,
    pub created_by: String,
    pub created_at: f64,
}

/// The rules for an emoji's name: 1 to 64 ASCII letters, digits or `_` (the original
/// server's; names also fit the official client's `:name:` tokens).
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Emoji {
    /// An entry of `emoji_get_all`'s `emojis` object (keyed by the id as a string).
    pub fn listing(&self) -> Value {
        json!({"name": self.name, "fileName": self.file})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["a", "party_parrot", "A1", &"x".repeat(64)] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "a b", "a-b", ":a:", "é", "../x", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
