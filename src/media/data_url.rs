//! `data:<type>;base64,<data>` URLs, as the official client sends emoji images inside a
//! WebSocket message (the message is in memory already, so it is decoded at once).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataUrlError {
    /// Not `data:image/…;base64,…`.
    NotADataUrl,
    /// The part after the comma is not standard base64.
    InvalidBase64,
    /// Larger than allowed once decoded.
    TooLarge { max: usize },
}

impl std::fmt::Display for DataUrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataUrlError::NotADataUrl => f.write_str("Invalid image data URI"),
            DataUrlError::InvalidBase64 => f.write_str("Invalid base64 image data"),
            DataUrlError::TooLarge { max } => write!(f, "Image too large (max {max} bytes)"),
        }
    }
}

/// Decodes an image data URL: its bytes, at most `max` of them. The declared type is
/// ignored (the bytes say what they are).
pub fn decode_image(text: &str, max: usize) -> Result<Vec<u8>, DataUrlError> {
    let (header, data) = text
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(','))
        .ok_or(DataUrlError::NotADataUrl)?;
    let is_image_base64 =
        header.starts_with("image/") && header.len() <= 100 && header.ends_with(";base64");
    if !is_image_base64 {
        return Err(DataUrlError::NotADataUrl);
    }
    // Refused before decoding: 4 characters make 3 bytes.
    if data.len() / 4 * 3 > max + 2 {
        return Err(DataUrlError::TooLarge { max });
    }
    let bytes = STANDARD
        .decode(data)
        .map_err(|_| DataUrlError::InvalidBase64)?;
    if bytes.len() > max {
        return Err(DataUrlError::TooLarge { max });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_refuses() {
        let url = format!("data:image/gif;base64,{}", STANDARD.encode(b"GIF89a..."));
        assert_eq!(decode_image(&url, 100).unwrap(), b"GIF89a...");
        assert_eq!(
            decode_image(&url, 3),
            Err(DataUrlError::TooLarge { max: 3 })
        );
        for bad in [
            "GIF89a",
            "data:image/gif,abc",
            "data:text/html;base64,PGI+",
            "data:image/gif;base64",
        ] {
            assert_eq!(
                decode_image(bad, 100),
                Err(DataUrlError::NotADataUrl),
                "{bad}"
            );
        }
        assert_eq!(
            decode_image("data:image/gif;base64,***", 100),
            Err(DataUrlError::InvalidBase64)
        );
        let exact = format!("data:image/png;base64,{}", STANDARD.encode([7u8; 1000]));
        assert_eq!(decode_image(&exact, 1000).unwrap().len(), 1000);
        assert!(decode_image(&exact, 999).is_err());
    }
}
