//! QR codes for credential texts: module matrix, version, PNG and SVG.
//!
//! The text is `VH1:` + base45 (RFC 9285), and base45's alphabet is exactly the QR alphanumeric
//! character set (ISO/IEC 18004:2015 §7.4.4, 45 characters, 11 bits per two characters). Encoding
//! the whole text with the `qrcode` crate's segment optimizer therefore yields alphanumeric mode
//! (with numeric runs where those are shorter) at error-correction level Q (25 % of codewords
//! recoverable: a printed, folded or stamped certificate still scans).

use std::fmt::Write as _;

use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::{Color, EcLevel, Version};

use crate::Error;

/// Largest QR version a printed credential may use (97 × 97 modules): at 50 mm a module is
/// 0.5 mm, which phone cameras and 150 dpi scans still resolve.
pub const MAX_QR_VERSION: u8 = 20;

/// Light modules around the symbol, as ISO/IEC 18004 §5.3.8 requires.
pub const QR_QUIET_ZONE: usize = 4;

/// The QR symbol for `text` as `qrcode` builds it alone: error correction Q, smallest version
/// that holds it (the reference [`QrMatrix::new`] is tested against).
#[cfg(test)]
fn encode(text: &str) -> Result<qrcode::QrCode, Error> {
    qrcode::QrCode::with_error_correction_level(text.as_bytes(), EcLevel::Q)
        .map_err(|e| Error::Qr(format!("{e} ({} characters)", text.len())))
}

#[cfg(test)]
fn version_number(code: &qrcode::QrCode) -> u8 {
    match code.version() {
        Version::Normal(v) | Version::Micro(v) => v as u8,
    }
}

/// The eight QR mask patterns in `qrcode`'s order (ISO/IEC 18004 Table 10, 000..111).
const MASK_PATTERNS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// The mask penalty of a symbol (row-major, `true` = dark), scored as `qrcode` 0.14 scores it
/// (ISO/IEC 18004 §7.8.3.1): N1 runs of five or more same-colour modules (3 + run − 5 each),
/// N2 2×2 blocks of one colour (3 each), N3 finder-like `1011101` runs without four light
/// modules on one side (40 each, less the 360 the three finder patterns always score), N4 the
/// dark-module balance.
fn penalty(m: &[bool], w: usize) -> u32 {
    // Columns are scored as the rows of the transposed symbol: both passes then walk contiguous
    // slices, which is what makes this scoring cheap (it runs for all eight masks).
    let mut transposed = vec![false; m.len()];
    for (y, row) in m.chunks_exact(w).enumerate() {
        for (x, &dark) in row.iter().enumerate() {
            transposed[x * w + y] = dark;
        }
    }
    let mut score: i64 = 0;
    for grid in [m, &transposed[..]] {
        score += grid.chunks_exact(w).map(line_penalty).sum::<i64>();
        score -= 360;
    }
    // N2
    for (upper, lower) in m.chunks_exact(w).zip(m.chunks_exact(w).skip(1)) {
        for x in 0..w - 1 {
            let c = upper[x];
            if upper[x + 1] == c && lower[x] == c && lower[x + 1] == c {
                score += 3;
            }
        }
    }
    // N4
    let dark = m.iter().filter(|&&d| d).count();
    let ratio = (dark * 200 / m.len()) as i64;
    score += (ratio - 100).abs();
    score.max(0) as u32
}

/// N1 and N3 of [`penalty`] for one row (or column) of modules, in one pass: the last seven
/// modules are kept as bits, so a finder-like `1011101` is one comparison.
fn line_penalty(line: &[bool]) -> i64 {
    const FINDER: u32 = 0b101_1101;
    let w = line.len();
    let mut score = 0;
    let mut run = 0;
    let mut last = None;
    let mut bits: u32 = 0;
    for (k, &dark) in line.iter().enumerate() {
        // N1
        if last == Some(dark) {
            run += 1;
        } else {
            if run >= 5 {
                score += run - 2;
            }
            run = 1;
            last = Some(dark);
        }
        // N3
        bits = ((bits << 1) | u32::from(dark)) & 0x7f;
        if k >= 6 && bits == FINDER {
            let j = k - 6;
            let dark_before = line[j.saturating_sub(4)..j].contains(&true);
            let dark_after = line[k + 1..(k + 5).min(w)].contains(&true);
            if !dark_before || !dark_after {
                score += 40;
            }
        }
    }
    if run >= 5 {
        score += run - 2;
    }
    score
}

/// A QR symbol as a square matrix of modules (`true` = dark), without quiet zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrMatrix {
    /// QR version, 1..=40.
    pub version: u8,
    /// Modules per side.
    pub width: usize,
    /// Row-major modules, `width * width` of them.
    pub modules: Vec<bool>,
}

impl QrMatrix {
    /// Encodes `text` (error correction Q, smallest version).
    ///
    /// # Errors
    /// [`Error::Qr`] when the text does not fit version 40.
    ///
    /// The symbol is the one `qrcode` builds (`QrCode::with_error_correction_level`): same
    /// segments, codewords and the same penalty rules (ISO/IEC 18004 §7.8.3) for choosing the
    /// mask; only the penalty is scored here on a plain `bool` grid, because `qrcode`'s own
    /// scoring (a boxed closure per module) was a fifth of a certificate's instructions
    /// (callgrind, docs/benchmarks.md).
    pub fn new(text: &str) -> Result<QrMatrix, Error> {
        let qr_error =
            |e: qrcode::types::QrError| Error::Qr(format!("{e} ({} characters)", text.len()));
        let bits = qrcode::bits::encode_auto(text.as_bytes(), EcLevel::Q).map_err(qr_error)?;
        let version = bits.version();
        let (data, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::Q)
            .map_err(qr_error)?;
        let mut canvas = Canvas::new(version, EcLevel::Q);
        canvas.draw_all_functional_patterns();
        canvas.draw_data(&data, &ec);
        let width = version.width() as usize;
        let mut best: Option<(u32, Vec<bool>)> = None;
        for pattern in MASK_PATTERNS {
            let mut masked = canvas.clone();
            masked.apply_mask(pattern);
            let modules: Vec<bool> = masked
                .into_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect();
            let score = penalty(&modules, width);
            // The first pattern with the lowest score, as `qrcode` picks.
            if best.as_ref().is_none_or(|(b, _)| score < *b) {
                best = Some((score, modules));
            }
        }
        let (_, modules) = best.expect("eight mask patterns");
        Ok(QrMatrix {
            version: match version {
                Version::Normal(v) | Version::Micro(v) => v as u8,
            },
            width,
            modules,
        })
    }

    /// Whether the module at column `x`, row `y` is dark.
    pub fn dark(&self, x: usize, y: usize) -> bool {
        self.modules[y * self.width + x]
    }

    /// Horizontal runs of dark modules as `(row, first column, length)`: drawing one rectangle
    /// per run instead of per module keeps the vector QR in the PDF and SVG several times smaller.
    pub fn dark_runs(&self) -> Vec<(usize, usize, usize)> {
        let mut runs = Vec::new();
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if self.dark(x, y) {
                    let start = x;
                    while x < self.width && self.dark(x, y) {
                        x += 1;
                    }
                    runs.push((y, start, x - start));
                } else {
                    x += 1;
                }
            }
        }
        runs
    }
}

/// The QR version `text` needs at error correction Q.
///
/// # Errors
/// [`Error::Qr`] when the text does not fit version 40.
pub fn qr_version(text: &str) -> Result<u8, Error> {
    // The version follows from the segment encoding alone: skip building and masking the symbol
    // (what makes fitting a credential cheap enough to try several groupings).
    let bits = qrcode::bits::encode_auto(text.as_bytes(), EcLevel::Q)
        .map_err(|e| Error::Qr(format!("{e} ({} characters)", text.len())))?;
    match bits.version() {
        Version::Normal(v) | Version::Micro(v) => Ok(v as u8),
    }
}

/// The QR code for `text` as a grayscale PNG: `scale` pixels per module, 4-module quiet zone.
///
/// # Errors
/// [`Error::Qr`] when the text does not fit version 40 or `scale` is 0 or absurdly large;
/// [`Error::Png`] if encoding fails.
pub fn qr_png(text: &str, scale: u32) -> Result<Vec<u8>, Error> {
    let m = QrMatrix::new(text)?;
    if !(1..=64).contains(&scale) {
        return Err(Error::Qr(format!("PNG scale {scale} is outside 1..=64")));
    }
    let scale = scale as usize;
    let side = (m.width + 2 * QR_QUIET_ZONE) * scale;
    let mut pixels = vec![255u8; side * side];
    for (y, x0, len) in m.dark_runs() {
        let top = (y + QR_QUIET_ZONE) * scale;
        let left = (x0 + QR_QUIET_ZONE) * scale;
        for row in top..top + scale {
            pixels[row * side + left..row * side + left + len * scale].fill(0);
        }
    }
    let img = image::GrayImage::from_raw(side as u32, side as u32, pixels)
        .ok_or_else(|| Error::Png("pixel buffer size mismatch".into()))?;
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| Error::Png(e.to_string()))?;
    Ok(out.into_inner())
}

/// The QR code for `text` as a standalone SVG document: one path, one unit per module,
/// 4-module quiet zone, scalable to any size (`width`/`height` attributes left to the page).
///
/// # Errors
/// [`Error::Qr`] when the text does not fit version 40.
pub fn qr_svg(text: &str) -> Result<String, Error> {
    let m = QrMatrix::new(text)?;
    let side = m.width + 2 * QR_QUIET_ZONE;
    let mut path = String::with_capacity(m.width * m.width);
    for (y, x0, len) in m.dark_runs() {
        let _ = write!(
            path,
            "M{} {}h{len}v1h-{len}z",
            x0 + QR_QUIET_ZONE,
            y + QR_QUIET_ZONE
        );
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" \
         shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_is_the_symbol_qrcode_builds_with_the_same_mask() {
        // Texts of several versions, including a full-size credential (version 20).
        let long: String = (0..700)
            .map(|i| {
                char::from(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"[(i * 7 + i / 3) % 45])
            })
            .collect();
        for text in [
            "VH1:6BFOXN*TS0BI$ZD-PHQ7I9AD66",
            "VH1:A",
            &long[..150],
            &long[..420],
            &long,
        ] {
            let ours = QrMatrix::new(text).unwrap();
            let theirs = encode(text).unwrap();
            assert_eq!(ours.version, version_number(&theirs), "{}", text.len());
            let modules: Vec<bool> = theirs
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect();
            assert_eq!(ours.modules, modules, "{} characters", text.len());
        }
    }

    #[test]
    fn runs_cover_exactly_the_dark_modules() {
        let m = QrMatrix::new("VH1:6BFOXN*TS0BI$ZD-PHQ7I9AD66").unwrap();
        let mut covered = vec![false; m.width * m.width];
        for (y, x0, len) in m.dark_runs() {
            for x in x0..x0 + len {
                assert!(!covered[y * m.width + x]);
                covered[y * m.width + x] = true;
            }
        }
        assert_eq!(covered, m.modules);
    }

    #[test]
    fn png_and_svg_have_the_symbol_size() {
        let text = "VH1:6BFOXN*TS0BI$ZD-PHQ7I9AD66";
        let m = QrMatrix::new(text).unwrap();
        let png = qr_png(text, 3).unwrap();
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!(img.width() as usize, (m.width + 8) * 3);
        let svg = qr_svg(text).unwrap();
        assert!(svg.contains(&format!("viewBox=\"0 0 {0} {0}\"", m.width + 8)));
        assert!(qr_png(text, 0).is_err());
    }

    #[test]
    fn version_without_masking_equals_the_built_symbols() {
        for n in [1usize, 50, 300, 700, 1200] {
            let text = format!("VH1:{}", "6BFOXN*TS0BI$ZD-PHQ7I9AD66%".repeat(n / 27 + 1));
            assert_eq!(
                qr_version(&text).unwrap(),
                QrMatrix::new(&text).unwrap().version
            );
        }
    }

    #[test]
    fn too_long_text_is_an_error_naming_its_length() {
        let text = "A".repeat(5000);
        let err = qr_version(&text).unwrap_err();
        assert!(err.to_string().contains("5000 characters"), "{err}");
    }
}
