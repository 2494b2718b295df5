//! Camera frame to verdict, natively: `N` times, the credential QR code read from a photo-like
//! 1280 × 720 RGBA camera frame ([`sagat_verify_wasm::read_qr_in_pixels`], the one QR-image
//! reader) and the text verified with the test vectors' lists and key
//! ([`sagat_verify_wasm::verify_request`]): the baseline of `verifier/wasm/bench/frames.mjs`,
//! which does the same through the `.wasm` in Node (docs/benchmarks.md, "Browser verifier").
//! `--write FILE` writes the frame's RGBA bytes for the Node side instead. Run:
//! `cargo run --release -p sagat-verify-wasm --example native_frames -- 20`

#[path = "../../image/tests/image_set/mod.rs"]
mod image_set;

use std::path::PathBuf;

/// Frame size, as a phone's camera preview delivers it.
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/credentials");
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let case: serde_json::Value = serde_json::from_slice(&read("valid.json")).unwrap();
    let link = sagat_verifier::qr_code_text(
        case["qr"].as_str().unwrap(),
        Some("https://verify.example.kz/v"),
    );
    let frame = camera_frame(&link);
    if args.first().map(String::as_str) == Some("--write") {
        std::fs::write(&args[1], frame.as_raw()).unwrap();
        println!("{WIDTH} {HEIGHT}");
        return;
    }
    let n: usize = args
        .first()
        .map_or(20, |a| a.parse().expect("N is a number"));
    let mut valid = 0;
    for _ in 0..n {
        let qr = sagat_verify_wasm::read_qr_in_pixels(frame.as_raw(), WIDTH, HEIGHT)
            .expect("the frame's QR code is read");
        use base64::Engine as _;
        let request = serde_json::json!({
            "qr": qr,
            "trust": String::from_utf8(read("trust.json")).unwrap(),
            "status": base64::engine::general_purpose::STANDARD.encode(read("status.cwt")),
            "root": String::from_utf8(read("root.vkey")).unwrap(),
            "now": case["now"],
        })
        .to_string();
        let answer = sagat_verify_wasm::verify_request(request.as_bytes());
        valid += usize::from(answer.starts_with(br#"{"verdict":"VALID""#));
    }
    assert_eq!(valid, n, "every frame is VALID");
    println!("{n} frames, all VALID");
}

/// The QR code (4 px per module) on a white sheet in a 1280 × 720 frame, seen as a phone
/// sees paper on a table (the image set's `photo_like`: perspective, tilt, uneven light, dark
/// surround, blur), as RGBA.
fn camera_frame(link: &str) -> image::RgbaImage {
    let code = image_set::qr_matrix(link, 4);
    let mut sheet = image::GrayImage::from_pixel(WIDTH, HEIGHT, image::Luma([250]));
    let x = i64::from((WIDTH - code.width()) / 2);
    let y = i64::from((HEIGHT - code.height()) / 2);
    image::imageops::overlay(&mut sheet, &code, x, y);
    image::DynamicImage::ImageLuma8(image_set::photo_like(&sheet)).into_rgba8()
}
