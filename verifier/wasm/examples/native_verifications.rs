//! The browser verifier's own function, natively: `N` verifications of the credential test
//! vector `valid` (with the vectors' trust list, status list and operator key), the baseline of
//! `verifier/wasm/bench/verify.mjs`, which runs the same requests through the `.wasm` in Node
//! (docs/benchmarks.md, "Browser verifier"). Run:
//! `cargo run --release -p sagat-verify-wasm --example native_verifications -- 2000`

use std::path::PathBuf;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("N is a number"))
        .unwrap_or(2000);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/credentials");
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let case: serde_json::Value = serde_json::from_slice(&read("valid.json")).unwrap();
    use base64::Engine as _;
    let request = serde_json::json!({
        "qr": case["qr"],
        "trust": String::from_utf8(read("trust.json")).unwrap(),
        "status": base64::engine::general_purpose::STANDARD.encode(read("status.cwt")),
        "root": String::from_utf8(read("root.vkey")).unwrap(),
        "now": case["now"],
    })
    .to_string();
    let mut valid = 0;
    for _ in 0..n {
        let answer = sagat_verify_wasm::verify_request(request.as_bytes());
        valid += usize::from(answer.starts_with(br#"{"verdict":"VALID""#));
    }
    assert_eq!(valid, n, "every verification is VALID");
    println!("{n} verifications, all VALID");
}
