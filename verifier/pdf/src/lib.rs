//! # sagat-verify-pdf: reading a Sagat certificate PDF
//!
//! The one certificate-PDF reader: `sagat-verify --pdf` and the browser build (a PDF dropped
//! on the verify page) call [`read_pdf`]. It finds the QR text in the info dictionary
//! (`/SagatQR`, or a `VH1:` text in `/Keywords`) and the evidence bundle in the embedded file
//! `sagat-evidence.cbor` (ISO 32000-1 §7.11.4 embedded file streams), and returns bytes; the
//! kernel (`sagat-verifier`) checks them (docs/formats.md). It does not render, and it checks
//! nothing of what the page shows.

#![forbid(unsafe_code)]

use lopdf::{Document, Object};

/// File name of the evidence attachment.
pub const EVIDENCE_FILE_NAME: &str = "sagat-evidence.cbor";
/// Largest inflated attachment accepted.
const MAX_ATTACHMENT: usize = 16 * 1024 * 1024;

/// What a certificate PDF carries.
#[derive(Debug, Default)]
pub struct PdfContents {
    /// The QR text, if the info dictionary has it.
    pub qr_text: Option<String>,
    /// The evidence bundle bytes, if attached.
    pub evidence: Option<Vec<u8>>,
    /// A file specification named `sagat-evidence.cbor` exists but its bytes cannot be reached
    /// (no `/EF`, no stream): why. Reported as "evidence not checked", never silently skipped.
    pub evidence_unreadable: Option<String>,
}

fn text_of(obj: &Object) -> Option<String> {
    match obj {
        Object::String(bytes, _) => {
            // PDF text strings are PDFDocEncoding or UTF-16BE with a BOM (ISO 32000-1 §7.9.2.2).
            if bytes.starts_with(&[0xFE, 0xFF]) {
                let units: Vec<u16> = bytes[2..]
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16(&units).ok()
            } else {
                Some(String::from_utf8_lossy(bytes).into_owned())
            }
        }
        _ => None,
    }
}

/// Largest number accepted in a `/W` array. In a cross-reference stream (ISO 32000-1 §7.5.8.2)
/// `/W` gives each field's width in bytes (real files: 1 to 8); in a CIDFont (§9.7.4.3) it holds
/// CIDs (at most 65,535) and glyph widths (in 1/1000 em). lopdf allocates a buffer of each
/// cross-reference field width before reading anything, so a crafted width of 2^61 would abort
/// the process (found by the `certificate_pdf` fuzz target): such a file is refused first.
const MAX_W_NUMBER: u64 = 1_000_000;

/// PDF white-space and delimiter bytes (ISO 32000-1 §7.2.2): where a name ends.
fn ends_name(b: u8) -> bool {
    matches!(
        b,
        b'\0'
            | b'\t'
            | b'\n'
            | b'\x0c'
            | b'\r'
            | b' '
            | b'('
            | b')'
            | b'<'
            | b'>'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'/'
            | b'%'
    )
}

/// Refuses a file with a `/W` array (the name written plainly or with `#` escapes) holding a
/// number over [`MAX_W_NUMBER`].
fn check_w_arrays(data: &[u8]) -> Result<(), String> {
    let mut at = 0;
    while let Some(slash) = data[at..].iter().position(|&b| b == b'/') {
        let start = at + slash + 1;
        let len = data[start..]
            .iter()
            .position(|&b| ends_name(b))
            .unwrap_or(data.len() - start);
        at = start + len;
        let name = &data[start..at];
        if name != b"W" && !name.eq_ignore_ascii_case(b"#57") {
            continue;
        }
        let rest = &data[at..];
        let open = rest.iter().position(|b| !b.is_ascii_whitespace());
        if open.map(|i| rest[i]) != Some(b'[') {
            continue;
        }
        let array = &rest[open.unwrap_or(0)..];
        let array = &array[..array.iter().position(|&b| b == b']').unwrap_or(array.len())];
        for digits in array
            .split(|b| !b.is_ascii_digit())
            .filter(|d| !d.is_empty())
        {
            let value = std::str::from_utf8(digits)
                .ok()
                .and_then(|d| d.parse::<u64>().ok());
            if value.is_none_or(|v| v > MAX_W_NUMBER) {
                return Err(format!(
                    "not a readable PDF: a /W array holds the number {}, over {MAX_W_NUMBER}",
                    String::from_utf8_lossy(digits)
                ));
            }
        }
    }
    Ok(())
}

/// Reads the QR text and the evidence attachment.
pub fn read_pdf(data: &[u8]) -> Result<PdfContents, String> {
    check_w_arrays(data)?;
    let doc = Document::load_mem(data).map_err(|e| format!("not a readable PDF: {e}"))?;
    let mut out = PdfContents::default();
    if let Ok(info) = doc
        .trailer
        .get(b"Info")
        .and_then(|o| doc.dereference(o))
        .and_then(|(_, o)| o.as_dict())
    {
        if let Some(t) = info.get(b"SagatQR").ok().and_then(text_of) {
            out.qr_text = Some(t.trim().to_string());
        } else if let Some(k) = info.get(b"Keywords").ok().and_then(text_of) {
            out.qr_text = k
                .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
                .find(|w| w.starts_with("VH1:"))
                .map(str::to_string);
        }
    }
    // Every file specification named sagat-evidence.cbor, wherever it is referenced from.
    for obj in doc.objects.values() {
        let Ok(dict) = obj.as_dict() else { continue };
        let is_spec = dict.get(b"Type").ok().and_then(|t| t.as_name().ok()) == Some(b"Filespec");
        let named = [b"UF".as_slice(), b"F".as_slice()]
            .iter()
            .any(|k| dict.get(k).ok().and_then(text_of).as_deref() == Some(EVIDENCE_FILE_NAME));
        if !(is_spec && named) {
            continue;
        }
        let Ok(ef) = dict
            .get(b"EF")
            .and_then(|o| doc.dereference(o))
            .and_then(|(_, o)| o.as_dict())
        else {
            out.evidence_unreadable = Some(format!(
                "the {EVIDENCE_FILE_NAME} file specification has no /EF dictionary"
            ));
            continue;
        };
        let Some(stream) = [b"UF".as_slice(), b"F".as_slice()].iter().find_map(|k| {
            ef.get(k)
                .and_then(|o| doc.dereference(o))
                .and_then(|(_, o)| o.as_stream())
                .ok()
        }) else {
            out.evidence_unreadable = Some(format!(
                "the {EVIDENCE_FILE_NAME} file specification has no embedded stream"
            ));
            continue;
        };
        let content = if stream.dict.get(b"Filter").is_ok() {
            stream
                .decompressed_content_with_limit(MAX_ATTACHMENT)
                .map_err(|e| format!("the evidence attachment cannot be decompressed: {e}"))?
        } else {
            stream.content.clone()
        };
        out.evidence = Some(content);
        out.evidence_unreadable = None;
        break;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cross_reference_field_width_that_would_exhaust_memory_is_refused_before_parsing() {
        // The fuzz target's crash: `/W[1 2222222222222222222 7 2]` in a cross-reference stream.
        let crash = include_bytes!("../tests/data/xref-stream-field-width-2e18.pdf");
        let err = read_pdf(crash).unwrap_err();
        assert!(
            err.contains("/W array holds the number 2222222222222222222"),
            "{err}"
        );
        // Escaped name, a width just over the limit: refused; CIDFont-like arrays pass.
        assert!(check_w_arrays(b"<</Type/XRef/#57 [1 1000001 2]>>").is_err());
        assert!(
            check_w_arrays(b"<</W [1 4 2]>> <</W[1 [500 600] 3 65535 1000]>> /Width 9999999")
                .is_ok()
        );
    }
}
