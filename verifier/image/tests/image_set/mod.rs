//! The verifier's image set, shared by the verifier benchmark
//! (`verifier/cli/examples/verifier_bench.rs`, docs/benchmarks.md "Verifier") and the service
//! test that the web photo check reads every image `sagat-verify --image` reads
//! (`tests/service_api.rs`): the QR code of a text rendered at 2-4 px per module, rotated,
//! blurred, JPEG-compressed (the set of 45), and harder whole-page renders (A4 at 72 and 300
//! dpi, phone-photo-like views, a page with a second QR code).
#![allow(dead_code)]

use image::{GrayImage, Luma};

/// One image of the set, encoded as a file would be.
pub struct Sample {
    /// A file name stem, unique in the set.
    pub name: String,
    /// The classes it is counted in (the benchmark's table rows).
    pub classes: Vec<String>,
    /// Whether `file` is a JPEG (else a PNG).
    pub jpeg: bool,
    /// The encoded image.
    pub file: Vec<u8>,
}

/// The whole set for `text`: the set of 45, then the pages.
pub fn samples(text: &str) -> Vec<Sample> {
    let mut set = set_of_45(text);
    set.extend(pages(text));
    set
}

/// The set of 45: module sizes 2, 3, 4 px × rotations 0°, 7°, 30°, 45°, 90° × sharp, blurred
/// (σ 0.8) or JPEG (quality 60).
pub fn set_of_45(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for px in [2u32, 3, 4] {
        for deg in [0.0f32, 7.0, 30.0, 45.0, 90.0] {
            for variant in ["sharp", "blur", "jpeg"] {
                let img = rotated_qr(text, px, deg, variant == "blur");
                let jpeg = variant == "jpeg";
                out.push(Sample {
                    name: format!("qr-{px}-{deg}-{variant}"),
                    classes: vec![
                        "set of 45: all".into(),
                        format!("set of 45: {px} px/module"),
                        format!("set of 45: {deg}°"),
                        format!("set of 45: {variant}"),
                    ],
                    jpeg,
                    file: encode(&img, jpeg, 60),
                });
            }
        }
    }
    out
}

/// Harder, real-world-like pages (not in the set of 45): whole A4 renders at 72 and 300 dpi,
/// phone-photo-like views (perspective, 4° tilt, light gradient, blur) at three resolutions,
/// each as PNG and JPEG (quality 75), and a page with a second, non-credential QR code above
/// the credential's.
pub fn pages(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for (dpi, photo) in [
        (72.0f32, false),
        (300.0, false),
        (150.0, true),
        (200.0, true),
        (300.0, true),
    ] {
        let mut page = a4_page(text, dpi);
        if photo {
            page = photo_like(&page);
        }
        for jpeg in [false, true] {
            let class = format!(
                "A4 {} {dpi} dpi{}",
                if photo { "photo-like" } else { "page" },
                if jpeg { " JPEG q75" } else { " PNG" }
            );
            out.push(Sample {
                name: format!("page-{dpi}-{photo}-{}", if jpeg { "jpg" } else { "png" }),
                classes: vec![class],
                jpeg,
                file: encode(&page, jpeg, 75),
            });
        }
    }
    let mut two = a4_page(text, 150.0);
    image::imageops::overlay(
        &mut two,
        &qr_matrix("https://example.org/sagat", 3),
        900,
        1100,
    );
    out.push(Sample {
        name: "two-codes".into(),
        classes: vec!["A4 page 150 dpi, second QR (a URL) above".into()],
        jpeg: false,
        file: encode(&two, false, 0),
    });
    out
}

/// `img` as a PNG, or as a JPEG at `quality`.
pub fn encode(img: &GrayImage, jpeg: bool, quality: u8) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    if jpeg {
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(img)
            .unwrap();
    } else {
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    }
    out.into_inner()
}

/// The QR code of `text` (error correction Q, as certificates print it) at `px` per module.
pub fn qr_matrix(text: &str, px: u32) -> GrayImage {
    let code =
        qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::Q).unwrap();
    code.render::<Luma<u8>>()
        .module_dimensions(px, px)
        .quiet_zone(true)
        .build()
}

/// The QR rotated by `deg` with bilinear sampling (anti-aliased edges) on a white page.
pub fn rotated_qr(text: &str, px: u32, deg: f32, blur: bool) -> GrayImage {
    let img = qr_matrix(text, px);
    let (w, h) = img.dimensions();
    let side = (w.max(h) as f32 * 1.5) as u32 + 120;
    let (cx, cy) = (side as f32 / 2.0, side as f32 / 2.0);
    let (s, c) = deg.to_radians().sin_cos();
    let out = GrayImage::from_fn(side, side, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let (u, v) = (
            c * dx + s * dy + w as f32 / 2.0,
            -s * dx + c * dy + h as f32 / 2.0,
        );
        if u < 0.0 || v < 0.0 || u >= (w - 1) as f32 || v >= (h - 1) as f32 {
            return Luma([255]);
        }
        let (u0, v0) = (u.floor() as u32, v.floor() as u32);
        let (fu, fv) = (u - u0 as f32, v - v0 as f32);
        let p = |xx: u32, yy: u32| img.get_pixel(xx, yy).0[0] as f32;
        let val = p(u0, v0) * (1.0 - fu) * (1.0 - fv)
            + p(u0 + 1, v0) * fu * (1.0 - fv)
            + p(u0, v0 + 1) * (1.0 - fu) * fv
            + p(u0 + 1, v0 + 1) * fu * fv;
        Luma([val as u8])
    });
    if blur {
        image::imageops::blur(&out, 0.8)
    } else {
        out
    }
}

/// An A4 page at `dpi` (1240 x 1754 px at 150 dpi): grey "text" bars and, unless `text` is
/// empty, the QR code at 45 mm near the bottom right (rendered at one pixel per module, then
/// resized bilinearly, as a rasterizer anti-aliases it).
pub fn a4_page(text: &str, dpi: f32) -> GrayImage {
    let s = dpi / 150.0;
    let at = |v: u32| (v as f32 * s) as u32;
    let mut page = GrayImage::from_pixel(at(1240), at(1754), Luma([250]));
    let mut seed = 12345u32;
    for row in 0..40u32 {
        let y = at(150 + row * 28);
        let mut x = at(120);
        while x < at(1100) {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let len = at(20 + (seed >> 16) % 90);
            for yy in y..y + at(14) {
                for xx in x..(x + len).min(at(1120)) {
                    page.put_pixel(xx, yy, Luma([60]));
                }
            }
            x += len + at(14);
        }
    }
    if !text.is_empty() {
        let qr = qr_matrix(text, 1);
        let qr =
            image::imageops::resize(&qr, at(266), at(266), image::imageops::FilterType::Triangle);
        image::imageops::overlay(&mut page, &qr, i64::from(at(900)), i64::from(at(1380)));
    }
    page
}

/// A phone-photo-like view of a page: perspective (the bottom edge farther from the camera),
/// a 4° tilt, the page at 80% of the frame on a dark table, a light gradient, a slight blur.
pub fn photo_like(page: &GrayImage) -> GrayImage {
    let (w, h) = page.dimensions();
    let (wf, hf) = (w as f32, h as f32);
    let (sn, cs) = 4f32.to_radians().sin_cos();
    let g = 0.3 / hf;
    let scale = 0.8;
    let out = GrayImage::from_fn(w, h, |x, y| {
        // Inverse mapping: frame pixel -> page pixel.
        let (xd, yd) = ((x as f32 - wf / 2.0) / scale, (y as f32 - hf / 2.0) / scale);
        let (xr, yr) = (cs * xd + sn * yd, -sn * xd + cs * yd);
        let v = yr / (1.0 - g * yr);
        let u = xr * (1.0 + g * v);
        let (u, v) = (u + wf / 2.0, v + hf / 2.0);
        let light = 0.7 + 0.3 * (x as f32 / wf);
        if u < 0.0 || v < 0.0 || u >= wf - 1.0 || v >= hf - 1.0 {
            return Luma([(90.0 * light) as u8]);
        }
        let (u0, v0) = (u.floor() as u32, v.floor() as u32);
        let (fu, fv) = (u - u0 as f32, v - v0 as f32);
        let p = |xx: u32, yy: u32| page.get_pixel(xx, yy).0[0] as f32;
        let val = p(u0, v0) * (1.0 - fu) * (1.0 - fv)
            + p(u0 + 1, v0) * fu * (1.0 - fv)
            + p(u0, v0 + 1) * (1.0 - fu) * fv
            + p(u0 + 1, v0 + 1) * fu * fv;
        Luma([(val * light) as u8])
    });
    image::imageops::blur(&out, 0.7)
}
