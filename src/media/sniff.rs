//! What a file is, from its first bytes, and the pixel size of an image.
//!
//! The uploader's `mime_type` and file name are claims; the server serves a file with the
//! type its bytes show (so a script renamed `cat.png` is not served as something a browser
//! runs), checks it against the configured allowed types, and tells clients an image's size
//! so they can reserve its space before it loads. Everything here reads a prefix of the file
//! that may be cut anywhere or made up by an attacker: every read is bounds-checked.

/// The largest width or height believed; a header claiming more is treated as broken.
pub const MAX_SIDE: u32 = 1 << 16;

fn starts(head: &[u8], at: usize, magic: &[u8]) -> bool {
    head.get(at..at + magic.len()) == Some(magic)
}

fn u16_be(head: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(head.get(at..at + 2)?.try_into().ok()?))
}

fn u16_le(head: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(head.get(at..at + 2)?.try_into().ok()?))
}

fn u24_le(head: &[u8], at: usize) -> Option<u32> {
    let b = head.get(at..at + 3)?;
    Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
}

fn u32_be(head: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(head.get(at..at + 4)?.try_into().ok()?))
}

fn u32_le(head: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(head.get(at..at + 4)?.try_into().ok()?))
}

/// The MIME type shown by the first bytes of a file (up to 4 KiB are looked at).
pub fn sniff(head: &[u8]) -> &'static str {
    let head = head.get(..4096).unwrap_or(head);
    if let Some(mime) = binary_type(head) {
        return mime;
    }
    if is_svg(head) {
        return "image/svg+xml";
    }
    if is_text(head) {
        return "text/plain";
    }
    "application/octet-stream"
}

fn binary_type(head: &[u8]) -> Option<&'static str> {
    let riff = |form: &[u8]| starts(head, 0, b"RIFF") && starts(head, 8, form);
    let mime = if starts(head, 0, b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if starts(head, 0, b"\xFF\xD8\xFF") {
        "image/jpeg"
    } else if starts(head, 0, b"GIF87a") || starts(head, 0, b"GIF89a") {
        "image/gif"
    } else if riff(b"WEBP") {
        "image/webp"
    } else if riff(b"WAVE") {
        "audio/wav"
    } else if is_bmp(head) {
        "image/bmp"
    } else if starts(head, 0, b"\0\0\x01\0") && u16_le(head, 4).is_some_and(|n| n > 0) {
        "image/x-icon"
    } else if starts(head, 4, b"ftyp") {
        return ftyp_type(head);
    } else if starts(head, 0, b"\x1A\x45\xDF\xA3") {
        return ebml_type(head);
    } else if starts(head, 0, b"OggS") {
        "audio/ogg"
    } else if starts(head, 0, b"fLaC") {
        "audio/flac"
    } else if starts(head, 0, b"ID3") || is_mpeg_frame(head) {
        "audio/mpeg"
    } else if starts(head, 0, b"%PDF-") {
        "application/pdf"
    } else if starts(head, 0, b"PK\x03\x04") {
        "application/zip"
    } else {
        return None;
    };
    Some(mime)
}

/// "BM" alone is too common in text: the DIB header's size must be one of the known ones.
fn is_bmp(head: &[u8]) -> bool {
    starts(head, 0, b"BM")
        && u32_le(head, 14).is_some_and(|size| matches!(size, 12 | 40 | 52 | 56 | 64 | 108 | 124))
}

/// An MPEG audio frame header: sync bits, a real version, layer, bitrate and sample rate.
fn is_mpeg_frame(head: &[u8]) -> bool {
    let Some(&[a, b, c, _]) = head.get(..4) else {
        return false;
    };
    let version = (b >> 3) & 0b11;
    let layer = (b >> 1) & 0b11;
    let bitrate = c >> 4;
    let rate = (c >> 2) & 0b11;
    a == 0xFF
        && b & 0xE0 == 0xE0
        && version != 0b01
        && layer != 0b00
        && bitrate != 0b1111
        && rate != 0b11
}

/// ISO base media files (MP4, QuickTime, AVIF): the `ftyp` box's major and compatible brands.
fn ftyp_type(head: &[u8]) -> Option<&'static str> {
    let brand_type = |brand: &[u8]| match brand {
        b"avif" | b"avis" => Some("image/avif"),
        b"isom" | b"iso2" | b"iso4" | b"iso5" | b"iso6" | b"mp41" | b"mp42" | b"avc1" | b"dash"
        | b"M4V " => Some("video/mp4"),
        b"qt  " => Some("video/quicktime"),
        b"M4A " => Some("audio/mp4"),
        _ => None,
    };
    let size = usize::try_from(u32_be(head, 0)?).ok()?;
    let major = head.get(8..12)?;
    if let Some(mime) = brand_type(major) {
        return Some(mime);
    }
    // A generic major brand (`mif1` of HEIF, `3gp4`…): the compatible brands after the
    // minor version say more. AVIF first: its files also list `mif1`/`miaf`.
    let end = size.min(head.len());
    let compatible: Vec<&[u8]> = head
        .get(16..end)
        .unwrap_or_default()
        .chunks_exact(4)
        .collect();
    compatible
        .iter()
        .find(|b| matches!(**b, b"avif" | b"avis"))
        .or_else(|| compatible.iter().find(|b| brand_type(b).is_some()))
        .and_then(|b| brand_type(b))
}

/// An EBML variable-size integer at `at`: its value (the length marker removed unless
/// `keep_marker`, as for element ids) and its length in bytes.
fn ebml_vint(head: &[u8], at: usize, keep_marker: bool) -> Option<(u64, usize)> {
    let first = *head.get(at)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let mut value = if keep_marker {
        u64::from(first)
    } else {
        u64::from(first) & (0xFF >> len)
    };
    for i in 1..len {
        value = (value << 8) | u64::from(*head.get(at + i)?);
    }
    Some((value, len))
}

/// Matroska or WebM: the DocType element inside the EBML header.
fn ebml_type(head: &[u8]) -> Option<&'static str> {
    const DOC_TYPE: u64 = 0x4282;
    let (header_size, size_len) = ebml_vint(head, 4, false)?;
    let start = 4 + size_len;
    let end = start
        .saturating_add(usize::try_from(header_size).ok()?)
        .min(head.len());
    let mut at = start;
    while at < end {
        let (id, id_len) = ebml_vint(head, at, true)?;
        let (size, size_len) = ebml_vint(head, at + id_len, false)?;
        let data = at + id_len + size_len;
        let next = data.checked_add(usize::try_from(size).ok()?)?;
        if id == DOC_TYPE {
            return match head.get(data..next)? {
                b"webm" => Some("video/webm"),
                b"matroska" => Some("video/x-matroska"),
                _ => None,
            };
        }
        at = next;
    }
    None
}

/// An SVG document: an `<svg` root element after the optional BOM, XML declaration,
/// comments, processing instructions and doctype. A head that is cut before the root
/// element shows is not taken as SVG.
fn is_svg(head: &[u8]) -> bool {
    let mut rest = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    loop {
        rest = rest.trim_ascii_start();
        if let Some(after) = rest.strip_prefix(b"<?") {
            let Some(end) = find(after, b"?>") else {
                return false;
            };
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix(b"<!--") {
            let Some(end) = find(after, b"-->") else {
                return false;
            };
            rest = &after[end + 3..];
        } else if rest
            .get(..9)
            .is_some_and(|d| d.eq_ignore_ascii_case(b"<!DOCTYPE"))
        {
            let Some(end) = doctype_end(&rest[9..]) else {
                return false;
            };
            rest = &rest[9 + end + 1..];
        } else {
            return rest.starts_with(b"<svg")
                && rest
                    .get(4)
                    .is_some_and(|&c| c.is_ascii_whitespace() || c == b'>' || c == b'/');
        }
    }
}

/// The `>` that ends a doctype, past an internal subset in `[…]`.
fn doctype_end(text: &[u8]) -> Option<usize> {
    let mut in_subset = false;
    text.iter().position(|&c| {
        match c {
            b'[' => in_subset = true,
            b']' => in_subset = false,
            _ => {}
        }
        c == b'>' && !in_subset
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Text: UTF-8 (a character cut by the end of the head is fine), no NUL, and at most one
/// control character (other than tab, line breaks, form feed and escape) in a hundred bytes.
fn is_text(head: &[u8]) -> bool {
    if head.is_empty() || head.contains(&0) {
        return false;
    }
    let valid = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    };
    let controls = head
        .iter()
        .filter(|&&c| (c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B)) || c == 0x7F)
        .count();
    valid && controls * 100 <= head.len()
}

/// Width and height of a PNG, GIF, WebP, BMP or JPEG image from its first bytes (a JPEG's
/// size may come after its metadata: up to 64 KiB are looked at).
pub fn dimensions(head: &[u8]) -> Option<(u32, u32)> {
    let head = head.get(..64 * 1024).unwrap_or(head);
    let (width, height) = match sniff(head) {
        "image/png" if starts(head, 12, b"IHDR") => (u32_be(head, 16)?, u32_be(head, 20)?),
        "image/gif" => (u32::from(u16_le(head, 6)?), u32::from(u16_le(head, 8)?)),
        "image/webp" => webp_dimensions(head)?,
        "image/bmp" => bmp_dimensions(head)?,
        "image/jpeg" => jpeg_dimensions(head)?,
        _ => return None,
    };
    let sane = |side: u32| (1..=MAX_SIDE).contains(&side);
    (sane(width) && sane(height)).then_some((width, height))
}

fn webp_dimensions(head: &[u8]) -> Option<(u32, u32)> {
    match head.get(12..16)? {
        // Lossy: a key frame's start code, then 14-bit width and height.
        b"VP8 " if starts(head, 23, b"\x9D\x01\x2A") => Some((
            u32::from(u16_le(head, 26)? & 0x3FFF),
            u32::from(u16_le(head, 28)? & 0x3FFF),
        )),
        // Lossless: a signature byte, then width - 1 and height - 1 in 14 bits each.
        b"VP8L" if head.get(20) == Some(&0x2F) => {
            let bits = u32_le(head, 21)?;
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        // Extended: the canvas size, minus one, in 24 bits each.
        b"VP8X" => Some((u24_le(head, 24)? + 1, u24_le(head, 27)? + 1)),
        _ => None,
    }
}

fn bmp_dimensions(head: &[u8]) -> Option<(u32, u32)> {
    if u32_le(head, 14)? == 12 {
        // BITMAPCOREHEADER (OS/2): unsigned 16-bit sides.
        return Some((u32::from(u16_le(head, 18)?), u32::from(u16_le(head, 20)?)));
    }
    let width = u32_le(head, 18)? as i32;
    // Negative height: the rows are stored top-down.
    let height = u32_le(head, 22)? as i32;
    Some((u32::try_from(width).ok()?, height.unsigned_abs()))
}

/// Walks the JPEG segments to the first start-of-frame, which holds the size.
fn jpeg_dimensions(head: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    loop {
        if *head.get(at)? != 0xFF {
            return None;
        }
        // Any number of 0xFF fill bytes may precede a marker.
        while *head.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *head.get(at)?;
        at += 1;
        match marker {
            // Start of frame (not DHT C4, JPG C8, DAC CC): length, precision, height, width.
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let height = u16_be(head, at + 3)?;
                let width = u16_be(head, at + 5)?;
                return Some((u32::from(width), u32::from(height)));
            }
            // Markers without a segment.
            0x01 | 0xD0..=0xD7 => {}
            // End of image or start of scan before any frame header: no size to find.
            0xD8..=0xDA => return None,
            _ => {
                let len = usize::from(u16_be(head, at)?);
                if len < 2 {
                    return None;
                }
                at += len;
            }
        }
    }
}

/// Whether `mime` matches one of `patterns` (`image/png`, `image/*`, `*/*` or `*`), ignoring
/// case and any `;` parameters of `mime`.
pub fn type_allowed(mime: &str, patterns: &[String]) -> bool {
    let mime = mime.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = mime.split_once('/') else {
        return false;
    };
    patterns.iter().any(|pattern| {
        let pattern = pattern.trim();
        if pattern == "*" || pattern == "*/*" {
            return true;
        }
        match pattern.split_once('/') {
            Some((p_kind, "*")) => p_kind.eq_ignore_ascii_case(kind),
            Some((p_kind, p_subtype)) => {
                p_kind.eq_ignore_ascii_case(kind) && p_subtype.eq_ignore_ascii_case(subtype)
            }
            None => false,
        }
    })
}

/// Whether a browser may show the file in the page (images, audio, video) rather than
/// download it. Not SVG: opened as a document it runs its scripts in the server's origin.
pub fn is_inline(mime: &str) -> bool {
    let mime = mime.trim().to_ascii_lowercase();
    if mime.starts_with("image/svg") {
        return false;
    }
    ["image/", "audio/", "video/"]
        .iter()
        .any(|kind| mime.starts_with(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        v.extend_from_slice(&width.to_be_bytes());
        v.extend_from_slice(&height.to_be_bytes());
        v.extend_from_slice(&[8, 6, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]);
        v
    }

    fn jpeg(sof: u8) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8];
        // APP0 (JFIF), 16 bytes with its length.
        v.extend_from_slice(b"\xFF\xE0\x00\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        // A quantisation table segment of 67 bytes, then fill bytes before the frame.
        v.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43]);
        v.extend_from_slice(&[1; 65]);
        v.extend_from_slice(&[
            0xFF, 0xFF, 0xFF, sof, 0x00, 0x11, 0x08, 0x01, 0xE0, 0x02, 0x80, 0x03,
        ]);
        v.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        v
    }

    fn riff(form: &[u8], chunk: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut v = b"RIFF".to_vec();
        v.extend_from_slice(&((4 + 8 + payload.len()) as u32).to_le_bytes());
        v.extend_from_slice(form);
        v.extend_from_slice(chunk);
        v.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        v.extend_from_slice(payload);
        v
    }

    fn webp_lossy() -> Vec<u8> {
        // Frame tag (key frame), start code, 14-bit sides with 2 scale bits set on the width.
        riff(
            b"WEBP",
            b"VP8 ",
            &[
                0x30, 0x01, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0xC2, 0xE0, 0x01, 0, 0,
            ],
        )
    }

    fn webp_lossless() -> Vec<u8> {
        // width 400 and height 300, minus one, in 14 bits each.
        let bits: u32 = 399 | (299 << 14);
        let mut payload = vec![0x2F];
        payload.extend_from_slice(&bits.to_le_bytes());
        riff(b"WEBP", b"VP8L", &payload)
    }

    fn webp_extended() -> Vec<u8> {
        let mut payload = vec![0x10, 0, 0, 0];
        payload.extend_from_slice(&[0x1F, 0x03, 0x00]); // 799 + 1
        payload.extend_from_slice(&[0x57, 0x02, 0x00]); // 599 + 1
        riff(b"WEBP", b"VP8X", &payload)
    }

    fn bmp(dib: u32, width: i32, height: i32) -> Vec<u8> {
        let mut v = b"BM".to_vec();
        v.extend_from_slice(&[0x46, 0, 0, 0, 0, 0, 0, 0, 0x36, 0, 0, 0]);
        v.extend_from_slice(&dib.to_le_bytes());
        if dib == 12 {
            v.extend_from_slice(&(width as u16).to_le_bytes());
            v.extend_from_slice(&(height as u16).to_le_bytes());
        } else {
            v.extend_from_slice(&width.to_le_bytes());
            v.extend_from_slice(&height.to_le_bytes());
        }
        v.extend_from_slice(&[1, 0, 24, 0]);
        v
    }

    fn ftyp(major: &[u8], compatible: &[&[u8]]) -> Vec<u8> {
        let mut v = ((16 + 4 * compatible.len()) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(b"ftyp");
        v.extend_from_slice(major);
        v.extend_from_slice(&[0, 0, 0, 0]);
        for brand in compatible {
            v.extend_from_slice(brand);
        }
        v.extend_from_slice(b"\0\0\0\x08free");
        v
    }

    fn ebml(doc_type: &[u8]) -> Vec<u8> {
        // EBMLVersion 1, then DocType, in a header whose size is a 1-byte vint.
        let mut body = vec![
            0x42,
            0x86,
            0x81,
            0x01,
            0x42,
            0x82,
            0x80 | doc_type.len() as u8,
        ];
        body.extend_from_slice(doc_type);
        let mut v = vec![0x1A, 0x45, 0xDF, 0xA3, 0x80 | body.len() as u8];
        v.extend_from_slice(&body);
        v.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0x01]);
        v
    }

    /// A file's first bytes, its type and its size if it is an image with one.
    type Sample = (Vec<u8>, &'static str, Option<(u32, u32)>);

    fn samples() -> Vec<Sample> {
        vec![
            (png(640, 480), "image/png", Some((640, 480))),
            (jpeg(0xC0), "image/jpeg", Some((640, 480))),
            (jpeg(0xC2), "image/jpeg", Some((640, 480))),
            (b"GIF89a\x20\x03\x58\x02\xF7\0\0".to_vec(), "image/gif", Some((800, 600))),
            (b"GIF87a\x01\0\x01\0\x80\0\0".to_vec(), "image/gif", Some((1, 1))),
            (webp_lossy(), "image/webp", Some((640, 480))),
            (webp_lossless(), "image/webp", Some((400, 300))),
            (webp_extended(), "image/webp", Some((800, 600))),
            (bmp(40, 32, -16), "image/bmp", Some((32, 16))),
            (bmp(124, 7, 9), "image/bmp", Some((7, 9))),
            (bmp(12, 5, 6), "image/bmp", Some((5, 6))),
            (b"\0\0\x01\0\x01\0\x10\x10\0\0\x01\0\x20\0".to_vec(), "image/x-icon", None),
            (ftyp(b"avif", &[b"mif1", b"miaf"]), "image/avif", None),
            (ftyp(b"mif1", &[b"mif1", b"avif", b"miaf"]), "image/avif", None),
            (ftyp(b"isom", &[b"isom", b"iso2", b"avc1", b"mp41"]), "video/mp4", None),
            (ftyp(b"mp42", &[b"isom"]), "video/mp4", None),
            (ftyp(b"M4V ", &[b"M4V ", b"mp42"]), "video/mp4", None),
            (ftyp(b"dash", &[b"iso6"]), "video/mp4", None),
            (ftyp(b"qt  ", &[b"qt  "]), "video/quicktime", None),
            (ftyp(b"M4A ", &[b"M4A ", b"mp42"]), "audio/mp4", None),
            (ftyp(b"3gp4", &[b"isom"]), "video/mp4", None),
            (ftyp(b"heic", &[b"mif1", b"heic"]), "application/octet-stream", None),
            (ebml(b"webm"), "video/webm", None),
            (ebml(b"matroska"), "video/x-matroska", None),
            (b"OggS\0\x02\0\0\0\0\0\0\0\0".to_vec(), "audio/ogg", None),
            (b"ID3\x04\0\0\0\0\x02\x01".to_vec(), "audio/mpeg", None),
            (vec![0xFF, 0xFB, 0x90, 0x64, 0, 0], "audio/mpeg", None),
            (riff(b"WAVE", b"fmt ", &[1, 0, 2, 0, 0x44, 0xAC, 0, 0]), "audio/wav", None),
            (b"fLaC\0\0\0\x22".to_vec(), "audio/flac", None),
            (b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec(), "application/pdf", None),
            (b"PK\x03\x04\x14\0\0\0\x08\0".to_vec(), "application/zip", None),
            (b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(), "image/svg+xml", None),
            (
                b"\xEF\xBB\xBF\n <?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- made by hand -->\n\
                  <!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\" [ <!ENTITY a \"b\"> ]>\n\
                  <?xml-stylesheet href=\"a.css\"?><svg\n width=\"10\">"
                    .to_vec(),
                "image/svg+xml",
                None,
            ),
            (b"hello, world\n\tsecond line\r\n".to_vec(), "text/plain", None),
            ("caf\u{e9} \u{1F600}\n".as_bytes().to_vec(), "text/plain", None),
        ]
    }

    #[test]
    fn each_sample_is_recognised() {
        for (bytes, mime, size) in samples() {
            assert_eq!(sniff(&bytes), mime, "{:?}", String::from_utf8_lossy(&bytes));
            assert_eq!(dimensions(&bytes), size, "{mime}");
        }
    }

    #[test]
    fn every_prefix_of_every_sample_is_safe() {
        for (bytes, mime, size) in samples() {
            for len in 0..bytes.len() {
                let prefix = &bytes[..len];
                let sniffed = sniff(prefix);
                // A cut file is never taken for another binary type.
                assert!(
                    [mime, "text/plain", "application/octet-stream"].contains(&sniffed),
                    "{mime} cut at {len}: {sniffed}"
                );
                let got = dimensions(prefix);
                assert!(got.is_none() || got == size, "{mime} cut at {len}: {got:?}");
            }
        }
    }

    #[test]
    fn svg_only_with_an_svg_root() {
        for text in [
            "<html><svg></svg></html>",
            "<svgfoo>",
            "<?xml version=\"1.0\"?><note>svg</note>",
            "<?xml version=\"1.0\"",
            "<!-- <svg> -->",
            "<!DOCTYPE svg",
            "hello <svg>",
        ] {
            assert_eq!(sniff(text.as_bytes()), "text/plain", "{text}");
        }
        assert_eq!(sniff(b"<!doctype svg><svg>"), "image/svg+xml");
        assert_eq!(sniff(b"<svg>"), "image/svg+xml");
    }

    #[test]
    fn text_and_binary() {
        assert_eq!(sniff(b""), "application/octet-stream");
        assert_eq!(sniff(b"abc\0def"), "application/octet-stream");
        assert_eq!(sniff(b"abc\xFFdef"), "application/octet-stream");
        assert_eq!(sniff(b"\x01\x02\x03 not text"), "application/octet-stream");
        // A character cut by the end of the head is still text; a broken one is not.
        assert_eq!(
            sniff("text \u{e9}".as_bytes().split_last().unwrap().1),
            "text/plain"
        );
        assert_eq!(sniff(b"text \xC3("), "application/octet-stream");
        let mut long = "a line of text\n".repeat(20).into_bytes();
        long[5] = 0x07;
        assert_eq!(sniff(&long), "text/plain");
        // "BM" text and an MPEG-like header with a bad bitrate are not media.
        assert_eq!(sniff(b"BMW cars are fast, everyone knows"), "text/plain");
        assert_eq!(sniff(&[0xFF, 0xFB, 0xF0, 0x64]), "application/octet-stream");
        // Only the first 4 KiB count.
        let mut late_nul = vec![b'a'; 5000];
        late_nul[4500] = 0;
        assert_eq!(sniff(&late_nul), "text/plain");
    }

    #[test]
    fn dimensions_are_sane_or_none() {
        assert_eq!(dimensions(&png(0, 10)), None);
        assert_eq!(dimensions(&png(10, MAX_SIDE + 1)), None);
        assert_eq!(dimensions(&png(MAX_SIDE, 1)), Some((MAX_SIDE, 1)));
        assert_eq!(dimensions(&bmp(40, -5, 5)), None);
        assert_eq!(dimensions(b"GIF89a\0\0\x01\0"), None);
        assert_eq!(dimensions(b"not an image at all"), None);
        // A scan before any frame header, or a segment length below 2.
        assert_eq!(
            dimensions(&[0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x08, 1, 2, 3, 4, 5, 6]),
            None
        );
        assert_eq!(
            dimensions(&[0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01, 0xFF, 0xC0]),
            None
        );
        assert_eq!(
            dimensions(&[0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x04, 0, 0, 0x12, 0x34]),
            None
        );
        // The frame header after 60 KiB of metadata is still found.
        let mut big = vec![0xFF, 0xD8];
        for _ in 0..2 {
            big.extend_from_slice(&[0xFF, 0xE1, 0x75, 0x30]);
            big.extend_from_slice(&[0; 0x7530 - 2]);
        }
        big.extend_from_slice(&jpeg(0xC0)[2..]);
        assert_eq!(dimensions(&big), Some((640, 480)));
    }

    #[test]
    fn allowed_types() {
        let patterns = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let images = patterns(&["image/*", "application/PDF"]);
        assert!(type_allowed("image/png", &images));
        assert!(type_allowed("IMAGE/Webp", &images));
        assert!(type_allowed("application/pdf", &images));
        assert!(type_allowed(
            "text/plain; charset=utf-8",
            &patterns(&["text/plain"])
        ));
        assert!(!type_allowed("application/zip", &images));
        assert!(!type_allowed("imagefoo/png", &images));
        assert!(!type_allowed("image", &images));
        assert!(!type_allowed("image/png", &[]));
        assert!(type_allowed("video/mp4", &patterns(&["*/*"])));
        assert!(type_allowed("video/mp4", &patterns(&[" * "])));
        assert!(!type_allowed("video/mp4", &patterns(&["video"])));
    }

    #[test]
    fn inline_types() {
        for mime in ["image/png", "Image/JPEG", "audio/ogg", "video/webm"] {
            assert!(is_inline(mime), "{mime}");
        }
        for mime in [
            "image/svg+xml",
            "text/plain",
            "application/pdf",
            "application/octet-stream",
            "text/html",
        ] {
            assert!(!is_inline(mime), "{mime}");
        }
    }
}
