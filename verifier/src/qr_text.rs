//! The QR text: `VH1:` + base45 (RFC 9285) of zlib (RFC 1950) of the credential's COSE_Sign1.
//!
//! Why this shape (the EU Digital COVID Certificate's, with our own prefix): base45 uses only
//! characters of the QR alphanumeric mode (ISO/IEC 18004 §7.4.4), which packs 5.5 bits per
//! character against 8 in byte mode, so 1.5 characters per byte cost about 8.25 bits per byte;
//! zlib removes the repetition in the CBOR (dates, category names). `VH1` names the format and its
//! version: an incompatible change gets a new prefix, never a silent reinterpretation.
//!
//! Limits, so no input can exhaust memory or time: text longer than [`MAX_QR_TEXT_CHARS`] is
//! rejected before decoding, and inflating stops at [`MAX_COSE_BYTES`] (a zip bomb is rejected,
//! not expanded).
//!
//! **The URL form** (docs/formats.md §1.4). A printed QR code may carry the QR text behind the
//! operator's verify address, `<verify URL>#<QR text>`, so that any phone camera opens the check
//! ([`qr_code_text`]); a browser never sends the part after `#` to a server. In that fragment
//! the two base45 characters a URL cannot carry as they are, space and `%`, are written `%20`
//! and `%25` (still QR alphanumeric characters). Only the QR text is signed: the URL is never
//! trusted for anything, and [`decode_qr_text`] accepts both forms ([`qr_text_of`]).

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::Compression;
use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

use crate::Error;

/// The prefix of every Sagat credential QR text (format version 1).
pub const QR_PREFIX: &str = "VH1:";
/// Longest QR text accepted, in characters (a version-40 QR code holds 4296 alphanumerics).
pub const MAX_QR_TEXT_CHARS: usize = 4096;
/// Largest inflated credential accepted, in bytes.
pub const MAX_COSE_BYTES: usize = 16 * 1024;

/// Longest verify URL (the part before `#` in the URL form), in bytes.
pub const MAX_VERIFY_URL_BYTES: usize = 200;

/// Checks a verify URL for the URL form: `https://` or `http://` (lowercase), then 1 to
/// [`MAX_VERIFY_URL_BYTES`] bytes in all of visible ASCII (`!` to `~`) other than `#`.
pub fn check_verify_url(url: &str) -> Result<(), Error> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let why = match rest {
        None => Some("does not start with https:// or http://".to_string()),
        Some("") => Some("names no host".to_string()),
        Some(_) if url.len() > MAX_VERIFY_URL_BYTES => Some(format!(
            "is {} bytes; at most {MAX_VERIFY_URL_BYTES} are accepted",
            url.len()
        )),
        Some(r) => r
            .bytes()
            .find(|&b| b == b'#' || !b.is_ascii_graphic())
            .map(|b| format!("contains {:?}, which a verify URL may not", char::from(b))),
    };
    match why {
        None => Ok(()),
        Some(why) => Err(Error::QrLink(format!("the verify URL {why}"))),
    }
}

/// What a printed QR code carries for `qr_text`: the QR text itself, or with a verify URL the
/// URL form `<verify URL>#<qr_text>` with every space written `%20` and every `%` written `%25`.
/// `verify_url` must pass [`check_verify_url`] (the issuer checks it when it is configured).
pub fn qr_code_text(qr_text: &str, verify_url: Option<&str>) -> String {
    let Some(url) = verify_url else {
        return qr_text.to_string();
    };
    let mut out = String::with_capacity(url.len() + 1 + qr_text.len() + 64);
    out.push_str(url);
    out.push('#');
    for c in qr_text.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

/// The QR text in what a QR code or a link held (leading and trailing ASCII whitespace ignored):
/// the text itself when it starts with `VH1:`; for the URL form ([`qr_code_text`]) the part after
/// the first `#`, with `%20` read as a space and `%25` as `%` (a plain space is a space too:
/// an address bar may show it so), after checking the URL part with [`check_verify_url`]. Any
/// other `%` is an error, so no two fragments stand for the same QR text.
pub fn qr_text_of(scanned: &str) -> Result<Cow<'_, str>, Error> {
    let text = scanned.trim_ascii();
    if text.starts_with(QR_PREFIX) || !(text.starts_with("https://") || text.starts_with("http://"))
    {
        return Ok(Cow::Borrowed(text));
    }
    let Some((url, fragment)) = text.split_once('#') else {
        return Err(Error::QrLink(
            "is a link without a QR text after `#` (the URL form is <verify URL>#VH1:...)".into(),
        ));
    };
    check_verify_url(url)?;
    if !fragment.contains('%') {
        return Ok(Cow::Borrowed(fragment));
    }
    let mut out = String::with_capacity(fragment.len());
    let mut rest = fragment;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        match rest.get(at..at + 3) {
            Some("%20") => out.push(' '),
            Some("%25") => out.push('%'),
            other => {
                return Err(Error::QrLink(format!(
                    "the link's QR text has the escape {:?}; only %20 (space) and %25 (%) are used",
                    other.unwrap_or(&rest[at..])
                )))
            }
        }
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// The QR text of a credential's COSE_Sign1 bytes: `VH1:` + base45(zlib(cose)).
/// zlib at the best compression level; any RFC 1950 stream is accepted on input.
pub fn encode_qr_text(cose: &[u8]) -> String {
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    z.write_all(cose)
        .expect("compressing into a Vec cannot fail");
    let compressed = z.finish().expect("compressing into a Vec cannot fail");
    format!("{QR_PREFIX}{}", base45::encode(compressed))
}

/// The COSE_Sign1 bytes in a QR text, bare or in the URL form ([`qr_text_of`]). Leading and
/// trailing ASCII whitespace (a scanner's newline) is ignored, nothing else: a BOM, U+200B or a
/// no-break space before `VH1:` is a wrong prefix. Errors, in this order: longer than
/// [`MAX_QR_TEXT_CHARS`] bytes after trimming, URL and all (the accepted alphabet is ASCII, so
/// bytes are characters; the message says "at most"), a bad verify URL or escape, wrong prefix
/// ("does not start"), bad base45 ([`Error::QrText`]); broken or oversized zlib stream, or bytes
/// after its end ([`Error::Zlib`]).
pub fn decode_qr_text(text: &str) -> Result<Vec<u8>, Error> {
    let text = text.trim_ascii();
    if text.len() > MAX_QR_TEXT_CHARS {
        return Err(Error::QrText(format!(
            "{} bytes; at most {MAX_QR_TEXT_CHARS} characters are accepted",
            text.len()
        )));
    }
    let text = qr_text_of(text)?;
    let text = text.as_ref();
    let Some(body) = text.strip_prefix(QR_PREFIX) else {
        let shown: String = text.chars().take(8).collect();
        return Err(Error::QrText(format!(
            "does not start with {QR_PREFIX:?} (starts with {shown:?})"
        )));
    };
    let compressed = base45_decode(body.as_bytes()).ok_or_else(|| {
        Error::QrText("not valid base45 (RFC 9285): Invalid base45 string".into())
    })?;
    inflate_limited(&compressed, MAX_COSE_BYTES)
}

/// The base45 alphabet (RFC 9285 §4).
const BASE45_ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
/// Not a base45 character, in [`BASE45_VALUES`].
const NOT_BASE45: u8 = 0xff;
/// Each byte's value in the base45 alphabet, or [`NOT_BASE45`].
const BASE45_VALUES: [u8; 256] = {
    let mut table = [NOT_BASE45; 256];
    let mut i = 0;
    while i < BASE45_ALPHABET.len() {
        table[BASE45_ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Decodes base45 (RFC 9285) with one table look-up per character: the `base45` crate's decoder
/// it replaced (still the encoder, and the test oracle) cost a tenth of a verification's
/// overhead. Strict: three characters to a 16-bit value at most 65535, and a final pair to one
/// byte at most 255. (The crate takes a final pair above 255 modulo 256; no encoder writes such a
/// pair, so accepting it would only let several texts stand for the same bytes.)
fn base45_decode(text: &[u8]) -> Option<Vec<u8>> {
    let (triples, rest) = text.as_chunks::<3>();
    let mut out = Vec::with_capacity(triples.len() * 2 + 1);
    let value = |c: u8| match BASE45_VALUES[usize::from(c)] {
        NOT_BASE45 => None,
        v => Some(u32::from(v)),
    };
    for &[c, d, e] in triples {
        let n = value(c)? + value(d)? * 45 + value(e)? * 45 * 45;
        let pair = u16::try_from(n).ok()?;
        out.extend_from_slice(&pair.to_be_bytes());
    }
    match *rest {
        [] => {}
        [c, d] => out.push(u8::try_from(value(c)? + value(d)? * 45).ok()?),
        _ => return None,
    }
    Some(out)
}

/// Inflates a zlib (RFC 1950) stream, refusing output beyond `limit` bytes and trailing bytes.
///
/// One decompressor per thread is reused (its state is ~11 KB of Huffman tables; allocating and
/// zeroing it per QR code cost more than inflating the code), and the output buffer starts at a
/// few times the input and doubles up to `limit + 1` bytes, so a bomb stops at the limit.
pub(crate) fn inflate_limited(compressed: &[u8], limit: usize) -> Result<Vec<u8>, Error> {
    thread_local! {
        static DECOMPRESSOR: RefCell<Box<DecompressorOxide>> = RefCell::default();
    }
    DECOMPRESSOR.with(|cell| {
        let mut decompressor = cell.borrow_mut();
        decompressor.init();
        inflate_with(&mut decompressor, compressed, limit)
    })
}

fn inflate_with(
    decompressor: &mut DecompressorOxide,
    compressed: &[u8],
    limit: usize,
) -> Result<Vec<u8>, Error> {
    // Checks the Adler-32 checksum in the zlib trailer; the whole output is one buffer.
    let flags = inflate_flags::TINFL_FLAG_PARSE_ZLIB_HEADER
        | inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let cap = limit.saturating_add(1);
    let mut out = vec![0; compressed.len().saturating_mul(4).max(64).min(cap)];
    let (mut in_pos, mut out_pos) = (0, 0);
    loop {
        let (status, consumed, written) = decompress(
            decompressor,
            &compressed[in_pos..],
            &mut out,
            out_pos,
            flags,
        );
        in_pos += consumed;
        out_pos += written;
        match status {
            TINFLStatus::Done => break,
            TINFLStatus::HasMoreOutput if out.len() < cap => {
                out.resize(out.len().saturating_mul(2).min(cap), 0);
            }
            TINFLStatus::HasMoreOutput => {
                return Err(Error::Zlib(format!("inflates to more than {limit} bytes")))
            }
            TINFLStatus::Adler32Mismatch => {
                return Err(Error::Zlib(
                    "broken zlib stream: Adler-32 checksum mismatch".into(),
                ))
            }
            TINFLStatus::FailedCannotMakeProgress | TINFLStatus::NeedsMoreInput => {
                return Err(Error::Zlib("broken zlib stream: truncated".into()))
            }
            _ => {
                return Err(Error::Zlib(
                    "broken zlib stream: corrupt deflate data".into(),
                ))
            }
        }
    }
    if out_pos > limit {
        return Err(Error::Zlib(format!("inflates to more than {limit} bytes")));
    }
    if in_pos != compressed.len() {
        return Err(Error::Zlib(format!(
            "{} bytes after the end of the zlib stream",
            compressed.len() - in_pos
        )));
    }
    out.truncate(out_pos);
    Ok(out)
}

/// zlib-compresses at the best level (used for the status list's `lst`).
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    z.write_all(data)
        .expect("compressing into a Vec cannot fail");
    z.finish().expect("compressing into a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_alphabet() {
        let data: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        let text = encode_qr_text(&data);
        assert!(text.starts_with("VH1:"));
        // Only QR alphanumeric-mode characters.
        assert!(text
            .bytes()
            .all(|b| b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(&b)));
        assert_eq!(decode_qr_text(&format!("{text}\n")).unwrap(), data);
    }

    /// The URL form carries the same QR text (spaces and `%` escaped, every character still
    /// QR alphanumeric after the `#`), and every verifier reads it back to the same bytes.
    #[test]
    fn url_form_round_trips_to_the_same_credential() {
        let data: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        let text = encode_qr_text(&data);
        assert!(
            text.contains(' ') && text.contains('%'),
            "the case worth testing"
        );
        let url = "https://verify.example.kz/v";
        let code = qr_code_text(&text, Some(url));
        let (head, fragment) = code.split_once('#').unwrap();
        assert_eq!(head, url);
        assert!(fragment
            .bytes()
            .all(|b| b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ$%*+-./:".contains(&b)));
        assert_eq!(qr_text_of(&code).unwrap(), text);
        assert_eq!(decode_qr_text(&format!("{code}\n")).unwrap(), data);
        // An address bar may show the spaces unescaped.
        let shown = code.replace("%20", " ");
        assert_eq!(decode_qr_text(&shown).unwrap(), data);
        assert_eq!(qr_code_text(&text, None), text);
    }

    #[test]
    fn url_form_refusals_name_what_is_wrong() {
        let text = encode_qr_text(b"abc");
        let refused = |t: &str| match decode_qr_text(t) {
            Err(Error::QrLink(m) | Error::QrText(m)) => m,
            other => panic!("{t}: {other:?}"),
        };
        assert!(refused("https://verify.example.kz/v").contains("without a QR text"));
        assert!(refused(&format!("https://#{text}")).contains("names no host"));
        assert!(refused(&format!("https://a b/#{text}")).contains("' '"));
        let long = format!("https://{}#{text}", "a".repeat(MAX_VERIFY_URL_BYTES));
        assert!(refused(&long).contains("at most 200"));
        assert!(refused(&format!("https://v.kz/#{text}%41")).contains("%41"));
        assert!(refused(&format!("https://v.kz/#{text}%2")).contains("\"%2\""));
        assert!(refused("https://v.kz/#hello").contains("does not start"));
        assert!(matches!(
            decode_qr_text(&format!("https://v.kz/#{text}%41")),
            Err(Error::QrLink(_))
        ));
        assert!(check_verify_url("ftp://v.kz/").is_err());
        assert!(check_verify_url("http://127.0.0.1:8080/verify").is_ok());
    }

    /// The flate2 reader [`inflate_limited`] replaced, as its test oracle.
    fn inflate_with_flate2(compressed: &[u8], limit: usize) -> Result<Vec<u8>, ()> {
        use std::io::Read;
        let mut decoder = flate2::read::ZlibDecoder::new(compressed);
        let mut out = Vec::new();
        (&mut decoder)
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
            .map_err(drop)?;
        if out.len() > limit || decoder.total_in() != compressed.len() as u64 {
            return Err(());
        }
        Ok(out)
    }

    proptest::proptest! {
        #[test]
        fn inflate_agrees_with_flate2(
            data in proptest::collection::vec(0u8..4, 0..3000),
            limit in 0usize..4000,
            flips in proptest::collection::vec((proptest::prelude::any::<usize>(), 0u8..8), 0..3),
            cut in proptest::prelude::any::<usize>(),
            trailing in proptest::prelude::any::<bool>(),
        ) {
            let mut z = deflate(&data);
            for (at, bit) in flips {
                let at = at % z.len();
                z[at] ^= 1 << bit;
            }
            if cut % 4 == 0 {
                z.truncate(cut % (z.len() + 1));
            }
            if trailing {
                z.push(0);
            }
            // flate2's reader returns what it has when the input ends before the stream does
            // (an empty input reads as empty); the new code rejects a truncated stream. flate2
            // also inflates into a wrapping 32 KiB window, so a flipped bit that turns a
            // distance into one before the start of the output (RFC 1951, 3.2.5: invalid) reads
            // the window's zeros, and when those equal the lost bytes the checksum matches; the
            // new code refuses such a stream, as miniz_oxide's own one-shot inflater (a
            // non-wrapping buffer) does. Otherwise it decides exactly as the old one did.
            match (inflate_limited(&z, limit), inflate_with_flate2(&z, limit)) {
                (Err(Error::Zlib(m)), Ok(_)) if m.ends_with("corrupt deflate data") => {
                    let strict = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&z, limit);
                    proptest::prop_assert!(strict.is_err(), "{m}, but a strict inflater accepts it");
                }
                (Err(Error::Zlib(m)), Ok(_)) => proptest::prop_assert!(m.ends_with("truncated"), "{m}"),
                (new, old) => proptest::prop_assert_eq!(new.map_err(drop), old),
            }
        }
    }

    #[test]
    fn base45_rfc_9285_vectors() {
        // RFC 9285 §4.3 and §4.4.
        for (bytes, text) in [
            (&b"AB"[..], "BB8"),
            (b"Hello!!", "%69 VD92EX0"),
            (b"base-45", "UJCLQE7W581"),
            (b"ietf!", "QED8WEX0"),
            (b"", ""),
        ] {
            assert_eq!(base45_decode(text.as_bytes()).as_deref(), Some(bytes));
        }
        // Not base45: a lowercase letter, a lone last character, a triple above 65535 (":::"),
        // a final pair above 255 ("::" is 2024, "Z5" is 260).
        for text in ["ab", "BB8B", ":::", "GGW", "::", "Z5", "BB8::"] {
            assert_eq!(base45_decode(text.as_bytes()), None, "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn base45_decoder_agrees_with_the_crate_and_is_strict(
            text in "[0-9A-Z $%*+./:a-]{0,40}",
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
        ) {
            // The crate, except that a final pair above 255 is refused rather than wrapped.
            let pair_overflows = text.len() % 3 == 2 && {
                let v = |c: u8| BASE45_ALPHABET.iter().position(|&a| a == c);
                let t = text.as_bytes();
                matches!((v(t[t.len() - 2]), v(t[t.len() - 1])), (Some(c), Some(d)) if c + 45 * d > 255)
            };
            let expected = base45::decode(&text).ok().filter(|_| !pair_overflows);
            proptest::prop_assert_eq!(base45_decode(text.as_bytes()), expected);
            let encoded = base45::encode(&data);
            proptest::prop_assert_eq!(base45_decode(encoded.as_bytes()), Some(data));
        }
    }

    #[test]
    fn rejects_bombs_prefix_and_trailing_bytes() {
        let bomb = deflate(&vec![0u8; 1 << 20]);
        let text = format!("VH1:{}", base45::encode(&bomb));
        assert!(matches!(decode_qr_text(&text), Err(Error::Zlib(m)) if m.contains("more than")));
        assert!(matches!(decode_qr_text("HC1:ABC"), Err(Error::QrText(_))));
        assert_eq!(inflate_limited(&deflate(b""), 0).unwrap(), b"");
        assert!(inflate_limited(&deflate(b"x"), 0).is_err());
        assert!(inflate_limited(b"", 10).is_err());
        let mut z = deflate(b"hello");
        z.push(0);
        let text = format!("VH1:{}", base45::encode(&z));
        assert!(
            matches!(decode_qr_text(&text), Err(Error::Zlib(m)) if m.contains("after the end"))
        );
        assert!(matches!(
            decode_qr_text(&"VH1:".repeat(2000)),
            Err(Error::QrText(m)) if m.contains("at most")
        ));
    }
}
