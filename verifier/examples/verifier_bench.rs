//! Verifier benchmark (docs/benchmarks.md, section "Verifier"). Run:
//! `cargo run --release -p sagat-verifier --example verifier_bench`
//!
//! 1. verifications per second from QR text, against bare Ed25519 `verify_strict` of the same
//!    signed bytes in the same run (the floor: the signature check every verification needs);
//! 2. milliseconds to find and read the QR code on a 150 dpi A4 page;
//! 3. QR decode success of sagat-verify's pipeline, of rqrr alone, and of zbarimg, on the same
//!    rendered images (module sizes 2-4 px, rotations, blur, JPEG).
use std::process::Command;
use std::time::Instant;

use ed25519_dalek::{Signature, SigningKey};
use image::{GrayImage, Luma};
use sagat_verifier::*;

#[path = "../src/cli/qr_image.rs"]
#[allow(dead_code)]
mod qr_image;

fn claims() -> CredentialClaims {
    CredentialClaims {
        issuer: "kz-volunteer-office".into(),
        issued_at: 1_767_225_600,
        not_before: 1_767_225_600,
        expires: None,
        id: [7; 16],
        hours: HoursClaim {
            holder: "Әлия Қасымова".into(),
            total_minutes: 3000,
            orgs: (0..5)
                .map(|i| OrgLine {
                    org: format!("org-{i}"),
                    name: format!("Ұйым {i}"),
                    category: "social".into(),
                    minutes: 600,
                    first: "2025-02-01".into(),
                    last: "2025-10-01".into(),
                })
                .collect(),
            more: None,
            period_from: "2025-01-01".into(),
            period_to: "2025-12-31".into(),
            checkpoint_size: 123_456,
            checkpoint_root: [5; 32],
            attestations: AttestationRefs::compact((0..40).map(|i| 1000 + i * 311).collect()),
            status_index: 42,
        },
    }
}

fn main() {
    let key = SigningKey::from_bytes(&[2; 32]);
    let trust = TrustList {
        issued_at: 0,
        issuers: vec![TrustedIssuer {
            issuer: "kz-volunteer-office".into(),
            name: "Office".into(),
            public_key: key.verifying_key(),
            valid_from: 0,
            valid_until: None,
        }],
    };
    let mut status = StatusList::new("kz-volunteer-office", 0, 1 << 16);
    status.revoke(7).unwrap();
    let cose = sign_credential(&claims(), &key);
    let text = encode_qr_text(&cose);
    let sign1 = Sign1::parse(&cose).unwrap();
    let tbs = sign1.to_be_signed();
    let sig: Signature = sign1.signature().unwrap();
    let vk = key.verifying_key();
    let now = 1_772_323_200;

    // 1. verifications per second
    let n = 20_000;
    let mut best_full = f64::MAX;
    let mut best_raw = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        for _ in 0..n {
            let v = verify_credential(text.as_bytes(), Some(&trust), Some(&status), now);
            assert!(v.status.is_valid());
        }
        best_full = best_full.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        for _ in 0..n {
            vk.verify_strict(std::hint::black_box(&tbs), &sig).unwrap();
        }
        best_raw = best_raw.min(t.elapsed().as_secs_f64());
    }
    let (full, raw) = (n as f64 / best_full, n as f64 / best_raw);
    println!("QR text: {} characters", text.len());
    println!(
        "verify_credential from QR text: {full:.0}/s; bare Ed25519 verify_strict: {raw:.0}/s; ratio {:.1}%",
        100.0 * full / raw
    );

    // 2. a 150 dpi A4 page (1240 x 1754 px) with the QR at 45 mm (266 px) near the bottom right
    let page = a4_page(&text);
    let dir = std::env::temp_dir().join(format!("sagat-verifier-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page_path = dir.join("a4-150dpi.png");
    page.save(&page_path).unwrap();
    let png = std::fs::read(&page_path).unwrap();
    let runs = 10;
    let t = Instant::now();
    for _ in 0..runs {
        let (got, _) = qr_image::read_qr_from_image_bytes(&png).ok().unwrap();
        assert_eq!(got, text);
    }
    let with_png = t.elapsed().as_secs_f64() * 1000.0 / runs as f64;
    let t = Instant::now();
    for _ in 0..runs {
        qr_image::read_qr(&page).ok().unwrap();
    }
    let decode_only = t.elapsed().as_secs_f64() * 1000.0 / runs as f64;
    let t = Instant::now();
    for _ in 0..runs {
        let out = Command::new("zbarimg")
            .args(["-q", "--raw"])
            .arg(&page_path)
            .output();
        assert!(out.is_ok(), "install zbar-tools for the comparison");
    }
    let zbar_ms = t.elapsed().as_secs_f64() * 1000.0 / runs as f64;
    println!(
        "A4 page at 150 dpi: {with_png:.1} ms per image (PNG decode + QR), {decode_only:.1} ms QR only; zbarimg process {zbar_ms:.1} ms"
    );

    // 3. decode success on an image set
    let mut total = 0;
    let (mut ours, mut rqrr_plain, mut zbar) = (0, 0, 0);
    let mut rows = Vec::new();
    for px in [2u32, 3, 4] {
        for deg in [0.0f32, 7.0, 30.0, 45.0, 90.0] {
            for variant in ["sharp", "blur", "jpeg"] {
                let img = rotated_qr(&text, px, deg, variant == "blur");
                let path = dir.join(format!(
                    "qr-{px}-{deg}-{variant}.{}",
                    if variant == "jpeg" { "jpg" } else { "png" }
                ));
                if variant == "jpeg" {
                    let mut f = std::fs::File::create(&path).unwrap();
                    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut f, 60)
                        .encode_image(&img)
                        .unwrap();
                } else {
                    img.save(&path).unwrap();
                }
                let bytes = std::fs::read(&path).unwrap();
                let decoded = image::load_from_memory(&bytes).unwrap().to_luma8();
                total += 1;
                let a = qr_image::read_qr(&decoded)
                    .map(|(t, _)| t == text)
                    .unwrap_or(false);
                let b = rqrr_alone(&decoded) == Some(text.clone());
                let z = Command::new("zbarimg")
                    .args(["-q", "--raw"])
                    .arg(&path)
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim() == text)
                    .unwrap_or(false);
                ours += usize::from(a);
                rqrr_plain += usize::from(b);
                zbar += usize::from(z);
                rows.push(format!(
                    "{px}px {deg}° {variant}: sagat-verify {a}, rqrr {b}, zbarimg {z}"
                ));
            }
        }
    }
    for r in rows.iter().filter(|r| r.contains("false")) {
        println!("  miss: {r}");
    }
    println!(
        "decode success on {total} images: sagat-verify pipeline {ours}, rqrr alone {rqrr_plain}, zbarimg {zbar}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn rqrr_alone(img: &GrayImage) -> Option<String> {
    let mut p = rqrr::PreparedImage::prepare(img.clone());
    p.detect_grids()
        .into_iter()
        .find_map(|g| g.decode().ok().map(|(_, t)| t))
}

fn qr_matrix(text: &str, px: u32) -> GrayImage {
    let code =
        qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::Q).unwrap();
    code.render::<Luma<u8>>()
        .module_dimensions(px, px)
        .quiet_zone(true)
        .build()
}

/// The QR rotated by `deg` with bilinear sampling (anti-aliased edges) on a white page.
fn rotated_qr(text: &str, px: u32, deg: f32, blur: bool) -> GrayImage {
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

/// A 150 dpi A4 page: grey "text" bars and the QR (45 mm = 266 px) near the bottom right.
fn a4_page(text: &str) -> GrayImage {
    let mut page = GrayImage::from_pixel(1240, 1754, Luma([250]));
    let mut seed = 12345u32;
    for row in 0..40u32 {
        let y = 150 + row * 28;
        let mut x = 120;
        while x < 1100 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let len = 20 + (seed >> 16) % 90;
            for yy in y..y + 14 {
                for xx in x..(x + len).min(1120) {
                    page.put_pixel(xx, yy, Luma([60]));
                }
            }
            x += len + 14;
        }
    }
    let qr = qr_matrix(text, 1);
    let qr = image::imageops::resize(&qr, 266, 266, image::imageops::FilterType::Triangle);
    image::imageops::overlay(&mut page, &qr, 900, 1380);
    page
}
