//! The browser build reads camera frames and photos as the page hands them over (RGBA pixels
//! from a canvas) exactly as `sagat-verify --image` reads the image files: every image of the
//! verifier's image set, the same text or the same refusal.

#[path = "../../image/tests/image_set/mod.rs"]
mod image_set;

use sagat_verify_wasm::read_qr_in_pixels;

/// A test vector's credential in the link form, as printed (the reader returns it as read).
fn link() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/credentials");
    let case: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("valid.json")).unwrap()).unwrap();
    let qr = case["qr"].as_str().unwrap();
    sagat_verifier::qr_code_text(qr, Some("https://verify.example.kz/v"))
}

#[test]
fn every_image_the_command_reads_is_read_from_its_pixels() {
    let mut read = 0;
    for sample in image_set::samples(&link()) {
        let by_file = sagat_verify_image::read_qr_from_image_bytes(&sample.file)
            .ok()
            .map(|(text, _)| text);
        let rgba = image::load_from_memory(&sample.file).unwrap().into_rgba8();
        let (w, h) = rgba.dimensions();
        let by_pixels = read_qr_in_pixels(rgba.as_raw(), w, h);
        assert_eq!(by_pixels, by_file, "{}", sample.name);
        read += usize::from(by_pixels.is_some());
    }
    // The set is made to be read: a reader that finds nothing would pass the equality above.
    assert!(read >= 45, "only {read} images read");
}

#[test]
fn pixels_of_the_wrong_size_or_without_a_credential_give_nothing() {
    let page = image_set::qr_matrix("https://example.org/not-a-credential", 4);
    let rgba = image::DynamicImage::ImageLuma8(page).into_rgba8();
    let (w, h) = rgba.dimensions();
    assert_eq!(read_qr_in_pixels(rgba.as_raw(), w, h), None);
    let link = link();
    let code = image::DynamicImage::ImageLuma8(image_set::qr_matrix(&link, 4)).into_rgba8();
    let (w, h) = code.dimensions();
    assert_eq!(read_qr_in_pixels(code.as_raw(), w, h), Some(link));
    assert_eq!(read_qr_in_pixels(code.as_raw(), w + 1, h), None);
}
