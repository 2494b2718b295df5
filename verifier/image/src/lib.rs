//! # sagat-verify-image: finding and reading the credential QR code in a scan or photo
//!
//! The one QR-image reader: `sagat-verify --image`, the service's `/verify/photo` and the
//! browser build all call [`read_qr_from_image_bytes`] (or [`decode_image_limited`] then
//! [`read_qr`]). It reads pixels and returns text; it knows nothing of the credential
//! format, which the kernel (`sagat-verifier`) checks.
//!
//!
//! Decoder: rxing (a Rust port of ZXing) with its hybrid (local-block) binarizer and the
//! try-harder finder-pattern search, restricted to QR codes. Its binarizer copes with uneven
//! lighting, JPEG noise and anti-aliased module edges, and its finder search is
//! rotation-invariant, so one pass over the page usually suffices. The views, cheapest first;
//! the first that yields a `VH1:` text wins:
//!
//! 1. the grayscale image as is (downscaled only above [`MAX_SIDE`] pixels on the long side,
//!    far beyond an A4 page at 300 dpi);
//! 2. for small images only (long side ≤ [`MAX_UPSCALE_SIDE`]): upscaled 2× with bicubic
//!    (Catmull-Rom) interpolation, which keeps module edges sharper than bilinear. Modules of
//!    about 1.4 px (2 px per module rotated by 45°) then span enough pixels for the finder
//!    patterns' 1:1:3:1:1 runs. On a whole page this view would cost
//!    seconds and reads nothing more on the measured set, so it is not tried there.
//!
//! A page may carry other QR codes (a web link, a publisher's code): when a view decodes a QR
//! that is not a credential, its area is painted white and the view is searched again, at most
//! [`MAX_CODES_PER_VIEW`] times.
//!
//! rqrr (quirc's port) was the decoder before; on the benchmark set it reads a subset of what
//! rxing reads even with binarized, upscaled and blurred views, at several times the cost
//! (docs/benchmarks.md, "Verifier").

#![forbid(unsafe_code)]

use std::sync::mpsc;
use std::time::Duration;

use image::{imageops, GrayImage};
use rxing::common::{BitMatrix, DetectorRXingResult, HybridBinarizer};
use rxing::{BinaryBitmap, DecodeHints, Luma8LuminanceSource, PointF};

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
    /// The search took longer than [`SEARCH_TIME_LIMIT`] (no image on the benchmark set comes
    /// near it; this bounds a pathological input).
    TooSlow,
}

/// Which view found the QR (for the benchmark's statistics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// The grayscale image (downscaled if huge).
    Plain,
    /// A small image upscaled 2×.
    Upscaled,
}

/// Larger images are downscaled to this long side before decoding: rxing's time grows with the
/// area, and at this size an A4 page still has more than 14 px per mm.
pub const MAX_SIDE: u32 = 4200;
/// Images up to this long side get the 2× upscaled view when the plain one fails.
pub const MAX_UPSCALE_SIDE: u32 = 1200;
/// How many non-credential QR codes a view skips before giving up.
pub const MAX_CODES_PER_VIEW: usize = 4;

/// The longest the QR search may take before [`read_qr_from_image_bytes`] gives up.
pub const SEARCH_TIME_LIMIT: Duration = Duration::from_secs(30);

/// Decodes image bytes (PNG or JPEG) and reads the credential QR text in it, giving up after
/// [`SEARCH_TIME_LIMIT`]: the search runs on its own thread, which is left behind on time-out
/// (the caller, a command-line tool, then exits).
pub fn read_qr_from_image_bytes(data: &[u8]) -> Result<(String, View), ImageError> {
    let img = decode_image(data)?;
    let gray = img.into_luma8();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // The receiver may be gone after a time-out; nothing to do then.
        let _ = tx.send(read_qr(&gray));
    });
    match rx.recv_timeout(SEARCH_TIME_LIMIT) {
        Ok(result) => result,
        Err(_) => Err(ImageError::TooSlow),
    }
}

/// The largest image side accepted, in pixels: a 48-megapixel phone photo is 8000 × 6000.
pub const MAX_IMAGE_SIDE: u32 = 12_000;
/// The most memory the image decoder may allocate: a 48-megapixel RGB photo needs 144 MiB.
pub const MAX_IMAGE_ALLOC: u64 = 256 * 1024 * 1024;

/// Why [`decode_image_limited`] refused an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRefusal {
    /// No PNG or JPEG signature: not an image this reader decodes.
    NotImage(String),
    /// The header declares more than [`MAX_IMAGE_SIDE`] pixels on a side or more than
    /// [`MAX_IMAGE_ALLOC`] bytes of decoded pixels; nothing was decoded.
    TooLarge {
        /// Declared width, pixels.
        width: u32,
        /// Declared height, pixels.
        height: u32,
        /// Decoded size the header implies, bytes.
        bytes: u64,
    },
    /// A PNG or JPEG that cannot be decoded (truncated, corrupt, or over a decoder limit).
    Broken(String),
}

impl std::fmt::Display for ImageRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageRefusal::NotImage(m) | ImageRefusal::Broken(m) => f.write_str(m),
            ImageRefusal::TooLarge {
                width,
                height,
                bytes,
            } => write!(
                f,
                "the image is too large to search (at most {MAX_IMAGE_SIDE} pixels per side and \
                 {} MiB decoded): its header declares {width} × {height} pixels, {} MiB",
                MAX_IMAGE_ALLOC / (1024 * 1024),
                bytes.div_ceil(1024 * 1024)
            ),
        }
    }
}

/// Decodes PNG or JPEG bytes within [`MAX_IMAGE_SIDE`] and [`MAX_IMAGE_ALLOC`]: a small file
/// can declare a huge image (a "decompression bomb"), which must be refused before any pixel
/// buffer is allocated, not after it has exhausted memory. The dimensions and pixel format are
/// read from the header first and checked against both limits; only then are pixels decoded,
/// with the decoder's own allocations (PNG text chunks, ICC profiles) capped by
/// [`MAX_IMAGE_ALLOC`] as well. The one size check of `sagat-verify --image` and of the
/// service's photo upload.
pub fn decode_image_limited(data: &[u8]) -> Result<image::DynamicImage, ImageRefusal> {
    let not_image =
        || ImageRefusal::NotImage("not a PNG or JPEG image (no PNG or JPEG signature)".to_string());
    let mut reader = image::ImageReader::new(std::io::Cursor::new(data))
        .with_guessed_format()
        .map_err(|e| ImageRefusal::Broken(e.to_string()))?;
    match reader.format() {
        Some(image::ImageFormat::Png | image::ImageFormat::Jpeg) => {}
        _ => return Err(not_image()),
    }
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_IMAGE_ALLOC);
    reader.limits(limits);
    let broken = |e: image::ImageError| match e {
        image::ImageError::Unsupported(_) => not_image(),
        e => ImageRefusal::Broken(e.to_string()),
    };
    // Reads the header only (PNG: up to the first image data chunk; JPEG: the frame header).
    let decoder = reader.into_decoder().map_err(broken)?;
    let (width, height) = image::ImageDecoder::dimensions(&decoder);
    let bytes = image::ImageDecoder::total_bytes(&decoder);
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || bytes > MAX_IMAGE_ALLOC {
        return Err(ImageRefusal::TooLarge {
            width,
            height,
            bytes,
        });
    }
    image::DynamicImage::from_decoder(decoder).map_err(broken)
}

fn decode_image(data: &[u8]) -> Result<image::DynamicImage, ImageError> {
    decode_image_limited(data).map_err(|e| ImageError::Unreadable(e.to_string()))
}

/// Reads the credential QR text in a grayscale image.
pub fn read_qr(gray: &GrayImage) -> Result<(String, View), ImageError> {
    let mut others = Vec::new();
    let long_side = gray.width().max(gray.height());
    let base = if long_side > MAX_SIDE {
        let scale = f64::from(MAX_SIDE) / f64::from(long_side);
        imageops::resize(
            gray,
            ((f64::from(gray.width()) * scale) as u32).max(1),
            ((f64::from(gray.height()) * scale) as u32).max(1),
            imageops::FilterType::Triangle,
        )
    } else {
        gray.clone()
    };
    if let Some(t) = decode_credential(base, &mut others) {
        return Ok((t, View::Plain));
    }
    if long_side <= MAX_UPSCALE_SIDE {
        let up = imageops::resize(
            gray,
            gray.width() * 2,
            gray.height() * 2,
            imageops::FilterType::CatmullRom,
        );
        if let Some(t) = decode_credential(up, &mut others) {
            return Ok((t, View::Upscaled));
        }
    }
    others.sort();
    others.dedup();
    Err(ImageError::NoQr {
        other_texts: others,
    })
}

/// Searches `img` for a QR code with a credential: a `VH1:` text, bare or in the URL form
/// `<verify URL>#VH1:…` (docs/formats.md §1.4, returned as read); codes with other texts are
/// recorded in `others` and painted over so that the next search finds the next code.
fn decode_credential(mut img: GrayImage, others: &mut Vec<String>) -> Option<String> {
    for _ in 0..MAX_CODES_PER_VIEW {
        let (text, points) = decode_one(&img)?;
        if is_credential_text(&text) {
            return Some(text);
        }
        others.push(text);
        if !paint_over(&mut img, &points) {
            return None;
        }
    }
    None
}

/// Whether a QR code's text is a credential's: `VH1:…`, or a link whose fragment is.
fn is_credential_text(text: &str) -> bool {
    sagat_verifier::qr_text_of(text).is_ok_and(|t| t.starts_with(sagat_verifier::QR_PREFIX))
}

/// One QR code's text and its finder-pattern centres, or `None`.
///
/// These are the steps of rxing's `MultiFormatReader` for a QR code with `TryHarder` (its port
/// of zxing-cpp's reader, then ZXing's classic detector), called one by one: the reader itself
/// stamps each result with `chrono::Utc::now()`, which traps on `wasm32-unknown-unknown`
/// (no clock there), and this function must run the same in the browser as in `sagat-verify`.
fn decode_one(img: &GrayImage) -> Option<(String, Vec<PointF>)> {
    if img.width() == 0 || img.height() == 0 {
        return None;
    }
    // A decoder bug must not take the verifier down: a panic inside rxing counts as "not found"
    // (natively; the browser build aborts, and its script starts a fresh module).
    std::panic::catch_unwind(|| {
        // The binarizer keeps its source ('static): a copy of the pixels.
        let source =
            Luma8LuminanceSource::new(img.as_raw().clone(), img.width(), img.height()).ok()?;
        let bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
        let bits = bitmap.get_black_matrix();
        read_with_cpp_port(bits).or_else(|| read_with_classic_detector(bits))
    })
    .ok()
    .flatten()
}

/// zxing-cpp's QR reader as ported by rxing: every set of three finder patterns, sampled and
/// decoded; the first valid one.
fn read_with_cpp_port(bits: &BitMatrix) -> Option<(String, Vec<PointF>)> {
    use rxing::qrcode::cpp_port::{decoder::Decode, detector};
    let mut patterns = detector::FindFinderPatterns(bits, true, 0);
    for set in detector::GenerateFinderPatternSets(&mut patterns) {
        let Ok(sampled) = detector::SampleQR(bits, &set) else {
            continue;
        };
        match Decode(sampled.getBits()) {
            Ok(d) if d.isValid() => return Some((d.text(), sampled.getPoints().to_vec())),
            _ => {}
        }
    }
    None
}

/// ZXing's classic QR detector and decoder, which rxing tries when the port finds nothing.
fn read_with_classic_detector(bits: &BitMatrix) -> Option<(String, Vec<PointF>)> {
    let hints = DecodeHints {
        TryHarder: Some(true),
        ..DecodeHints::default()
    };
    let detected = rxing::qrcode::detector::Detector::new(bits)
        .detect_with_hints(&hints)
        .ok()?;
    let decoded = rxing::qrcode::decoder::qrcode_decoder::decode_bitmatrix_with_hints(
        detected.getBits(),
        &hints,
    )
    .ok()?;
    Some((decoded.getText().to_string(), detected.getPoints().to_vec()))
}

/// Paints white the box around a decoded code's finder-pattern centres, with a margin of a
/// quarter of the box's size (the finder centres lie 3.5 modules inside the symbol's corners).
/// Returns false when there is nothing to paint.
fn paint_over(img: &mut GrayImage, points: &[PointF]) -> bool {
    let finite = points.iter().filter(|p| p.x.is_finite() && p.y.is_finite());
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in finite {
        x0 = x0.min(p.x);
        y0 = y0.min(p.y);
        x1 = x1.max(p.x);
        y1 = y1.max(p.y);
    }
    if x0 > x1 || y0 > y1 {
        return false;
    }
    let margin = 0.25 * (x1 - x0).max(y1 - y0) + 4.0;
    let clamp = |v: f32, max: u32| v.max(0.0).min(max as f32) as u32;
    let (x0, x1) = (
        clamp(x0 - margin, img.width()),
        clamp(x1 + margin, img.width()),
    );
    let (y0, y1) = (
        clamp(y0 - margin, img.height()),
        clamp(y1 + margin, img.height()),
    );
    for y in y0..y1 {
        for x in x0..x1 {
            img.put_pixel(x, y, image::Luma([255]));
        }
    }
    x1 > x0 && y1 > y0
}
