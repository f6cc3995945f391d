//! Password hashes of local accounts.
//!
//! bcrypt reads at most 72 bytes of a password and ignores the rest, so on its own it lets a
//! 73-character password into the account whose password is its first 72, and with 2-byte
//! characters only the first 36 count. Hashes made here therefore hash the SHA-256 of the
//! password (as base64: 44 bytes, never a NUL, which bcrypt would also stop at) and are
//! marked with [`PREHASHED`], so every byte of every password counts.
//!
//! Hashes without the mark are *legacy*: imported from the original server, or made by an
//! earlier version of this server, both with plain bcrypt. They keep verifying as their
//! maker checked them, and [`Verified::Legacy`] asks the caller to store a new hash when the
//! password fits in 72 bytes (then it is exactly what the user typed; a longer one that
//! matched a legacy hash may differ from the real one after byte 72, so it is not upgraded).

use base64::Engine;
use ring::digest;

/// The mark of a hash made over the password's SHA-256. Not a bcrypt prefix (`$2a$`, `$2b$`,
/// `$2y$`), so a legacy hash never has it.
const PREHASHED: &str = "$ocs-sha256$";

/// The most bytes of a password plain bcrypt reads.
const BCRYPT_MAX_INPUT: usize = 72;

/// What [`verify`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    /// Not the password.
    No,
    /// The password, against a hash made here.
    Yes,
    /// The password, against a legacy hash that should be replaced by `hash(password)`.
    Legacy,
}

/// A new hash of `password` at bcrypt `cost`.
pub fn hash(password: &str, cost: u32) -> Result<String, bcrypt::BcryptError> {
    Ok(format!(
        "{PREHASHED}{}",
        bcrypt::hash(prehash(password), cost)?
    ))
}

/// Checks `password` against a stored hash (a hash made by [`hash`] or a legacy one). A
/// malformed stored hash matches nothing.
pub fn verify(password: &str, stored: &str) -> Verified {
    let (matched, verified) = match stored.strip_prefix(PREHASHED) {
        Some(bcrypt_hash) => (
            bcrypt::verify(prehash(password), bcrypt_hash),
            Verified::Yes,
        ),
        None if password.len() <= BCRYPT_MAX_INPUT => {
            (bcrypt::verify(password, stored), Verified::Legacy)
        }
        // Checked as its maker did (bcrypt kept the first 72 bytes), but not upgraded.
        None => (bcrypt::verify(password, stored), Verified::Yes),
    };
    match matched {
        Ok(true) => verified,
        _ => Verified::No,
    }
}

fn prehash(password: &str) -> String {
    let digest = digest::digest(&digest::SHA256, password.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    const COST: u32 = 4;

    #[test]
    fn every_byte_counts() {
        let long = "é".repeat(72);
        let stored = hash(&long, COST).unwrap();
        assert_eq!(verify(&long, &stored), Verified::Yes);
        // The same first 72 bytes (36 characters), then something else.
        let same_start = format!("{}{}", "é".repeat(36), "x".repeat(36));
        assert_eq!(verify(&same_start, &stored), Verified::No);
        let short = "a".repeat(72);
        let stored = hash(&short, COST).unwrap();
        assert_eq!(verify(&format!("{short}b"), &stored), Verified::No);
        assert_eq!(verify(&short, &stored), Verified::Yes);
    }

    #[test]
    fn legacy_hashes_verify_and_ask_to_be_replaced() {
        let legacy = bcrypt::hash("secret123", COST).unwrap();
        assert_eq!(verify("secret123", &legacy), Verified::Legacy);
        assert_eq!(verify("secret12", &legacy), Verified::No);
        // A legacy hash of a password over 72 bytes is checked as bcrypt did, not upgraded.
        let long = "é".repeat(40);
        let legacy = bcrypt::hash(&long, COST).unwrap();
        assert_eq!(verify(&long, &legacy), Verified::Yes);
    }

    #[test]
    fn a_malformed_hash_matches_nothing() {
        assert_eq!(verify("secret123", "not a hash"), Verified::No);
        assert_eq!(verify("secret123", "$ocs-sha256$garbage"), Verified::No);
        assert_eq!(verify("", ""), Verified::No);
    }
}
