//! Finding and reading the credential QR code in a scan or photo.
//!
//! Decoder: rqrr (a Rust port of quirc). Alone it misses many anti-aliased renders at 2-3 pixels
//! per module and large phone photos, so it runs on a few views of the image, cheapest first,
//! and the first view that yields a `VH1:` text wins:
//!
//! 1. the grayscale image as is (downscaled to at most 2400 px on the long side: a QR module
//!    then still spans several pixels on an A4 page at 300 dpi, and rqrr's time grows with area);
//! 2. binarized with Otsu's global threshold (removes anti-aliasing grey that confuses rqrr's
//!    region growing);
//! 3. upscaled 2× (nearest neighbour) and binarized: gives 2-px modules 4 px, which rqrr's
//!    finder-pattern scan needs;
//! 4. slightly blurred (3×3 box) then binarized: closes JPEG noise and scanner speckle;
//! 5. each binarized view again with a local (adaptive, 31×31 mean) threshold for uneven
//!    lighting in photos.
//!
//! Rotation needs nothing: QR finder patterns make decoding rotation-invariant.

use image::{imageops, GrayImage, Luma};

/// Why no credential QR was read.
#[derive(Debug)]
pub enum ImageError {
    /// The file is not a PNG or JPEG image we can decode.
    Unreadable(String),
    /// No QR code with a `VH1:` text was found.
    NoQr {
        /// QR texts found that are not credentials.
        other_texts: Vec<String>,
    },
}

/// Which view found the QR (for the benchmark's statistics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// The grayscale image.
    Plain,
    /// Otsu-binarized.
    Binarized,
    /// Upscaled 2× and binarized.
    Upscaled,
    /// Blurred and binarized.
    Blurred,
    /// Adaptive threshold.
    Adaptive,
}

const MAX_SIDE: u32 = 2400;

/// Decodes image bytes (PNG or JPEG) and reads the credential QR text in it.
pub fn read_qr_from_image_bytes(data: &[u8]) -> Result<(String, View), ImageError> {
    let img = image::load_from_memory(data).map_err(|e| ImageError::Unreadable(e.to_string()))?;
    read_qr(&img.to_luma8())
}

/// Reads the credential QR text in a grayscale image.
pub fn read_qr(gray: &GrayImage) -> Result<(String, View), ImageError> {
    let mut others = Vec::new();
    let base = if gray.width().max(gray.height()) > MAX_SIDE {
        let scale = f64::from(MAX_SIDE) / f64::from(gray.width().max(gray.height()));
        imageops::resize(
            gray,
            ((f64::from(gray.width()) * scale) as u32).max(1),
            ((f64::from(gray.height()) * scale) as u32).max(1),
            imageops::FilterType::Triangle,
        )
    } else {
        gray.clone()
    };
    if let Some(t) = try_decode(&base, &mut others) {
        return Ok((t, View::Plain));
    }
    let bin = otsu_binarize(&base);
    if let Some(t) = try_decode(&bin, &mut others) {
        return Ok((t, View::Binarized));
    }
    if base.width().max(base.height()) <= MAX_SIDE {
        let up = imageops::resize(
            &base,
            base.width() * 2,
            base.height() * 2,
            imageops::FilterType::Triangle,
        );
        if let Some(t) = try_decode(&otsu_binarize(&up), &mut others) {
            return Ok((t, View::Upscaled));
        }
    }
    let blurred = box_blur3(&base);
    if let Some(t) = try_decode(&otsu_binarize(&blurred), &mut others) {
        return Ok((t, View::Blurred));
    }
    if let Some(t) = try_decode(&adaptive_binarize(&base, 15), &mut others) {
        return Ok((t, View::Adaptive));
    }
    others.sort();
    others.dedup();
    Err(ImageError::NoQr {
        other_texts: others,
    })
}

fn try_decode(img: &GrayImage, others: &mut Vec<String>) -> Option<String> {
    let mut prepared = rqrr::PreparedImage::prepare(img.clone());
    for grid in prepared.detect_grids() {
        if let Ok((_, text)) = grid.decode() {
            if text.starts_with("VH1:") {
                return Some(text);
            }
            others.push(text);
        }
    }
    None
}

/// Otsu's method: the threshold maximizing the between-class variance of the histogram.
fn otsu_binarize(img: &GrayImage) -> GrayImage {
    let mut hist = [0u64; 256];
    for p in img.pixels() {
        hist[p.0[0] as usize] += 1;
    }
    let total: u64 = hist.iter().sum();
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * c as f64)
        .sum();
    let (mut w_b, mut sum_b, mut best, mut threshold) = (0f64, 0f64, 0f64, 128u8);
    for (t, &count) in hist.iter().enumerate() {
        w_b += count as f64;
        if w_b == 0.0 {
            continue;
        }
        let w_f = total as f64 - w_b;
        if w_f == 0.0 {
            break;
        }
        sum_b += t as f64 * count as f64;
        let (m_b, m_f) = (sum_b / w_b, (sum_all - sum_b) / w_f);
        let between = w_b * w_f * (m_b - m_f) * (m_b - m_f);
        if between > best {
            best = between;
            threshold = t as u8;
        }
    }
    let mut out = img.clone();
    for p in out.pixels_mut() {
        p.0[0] = if p.0[0] > threshold { 255 } else { 0 };
    }
    out
}

fn box_blur3(img: &GrayImage) -> GrayImage {
    let (w, h) = img.dimensions();
    GrayImage::from_fn(w, h, |x, y| {
        let mut sum = 0u32;
        let mut n = 0u32;
        for dy in -1i64..=1 {
            for dx in -1i64..=1 {
                let (xx, yy) = (i64::from(x) + dx, i64::from(y) + dy);
                if xx >= 0 && yy >= 0 && xx < i64::from(w) && yy < i64::from(h) {
                    sum += u32::from(img.get_pixel(xx as u32, yy as u32).0[0]);
                    n += 1;
                }
            }
        }
        Luma([(sum / n) as u8])
    })
}

/// Local mean threshold over a (2r+1)² window, computed with an integral image.
fn adaptive_binarize(img: &GrayImage, r: u32) -> GrayImage {
    let (w, h) = img.dimensions();
    let (wu, hu) = (w as usize, h as usize);
    let mut integral = vec![0u64; (wu + 1) * (hu + 1)];
    for y in 0..hu {
        let mut row = 0u64;
        for x in 0..wu {
            row += u64::from(img.get_pixel(x as u32, y as u32).0[0]);
            integral[(y + 1) * (wu + 1) + x + 1] = integral[y * (wu + 1) + x + 1] + row;
        }
    }
    GrayImage::from_fn(w, h, |x, y| {
        let (x0, y0) = (x.saturating_sub(r) as usize, y.saturating_sub(r) as usize);
        let (x1, y1) = ((x + r + 1).min(w) as usize, (y + r + 1).min(h) as usize);
        let sum = integral[y1 * (wu + 1) + x1] + integral[y0 * (wu + 1) + x0]
            - integral[y0 * (wu + 1) + x1]
            - integral[y1 * (wu + 1) + x0];
        let n = ((x1 - x0) * (y1 - y0)) as u64;
        let v = u64::from(img.get_pixel(x, y).0[0]);
        // 7 grey levels below the local mean counts as dark: flat regions stay white.
        Luma([if v * n + 7 * n < sum { 0 } else { 255 }])
    })
}
