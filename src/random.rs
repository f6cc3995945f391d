//! Random identifiers and tokens from the operating system's generator.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // getrandom only fails when the OS has no entropy source at all; then nothing safe
    // can be made and the server must not go on.
    if let Err(e) = getrandom::fill(&mut buf) {
        panic!("the operating system's random number generator failed: {e}");
    }
    buf
}

/// A random (version 4) UUID, e.g. `656e5a5d-d7e1-47dd-b6a2-59adea1bc5dd`.
pub fn uuid_v4() -> String {
    let mut b: [u8; 16] = bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out
}

/// The handshake's `validator_key`: `originChats-` + 24 random bytes, unpadded base64url.
pub fn validator_key() -> heapless::String<44> {
    let mut key = heapless::String::new();
    let encoded = URL_SAFE_NO_PAD.encode(bytes::<24>());
    // 12 + 32 characters: always fits.
    let _ = key.push_str("originChats-");
    let _ = key.push_str(&encoded);
    key
}

/// The `ready` packet's `validator`: 32 random bytes, unpadded base64url (43 characters).
pub fn validator() -> String {
    URL_SAFE_NO_PAD.encode(bytes::<32>())
}

/// A session token: 32 random bytes, unpadded base64url (43 characters).
pub fn session_token() -> String {
    URL_SAFE_NO_PAD.encode(bytes::<32>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        let k = validator_key();
        assert_eq!(k.len(), 44);
        assert!(k.starts_with("originChats-"));
        assert_eq!(validator().len(), 43);
        assert_ne!(validator(), validator());
        assert_eq!(session_token().len(), 43);
    }
}
