//! Builds the browser verifier (`verifier/wasm`, the kernel for `wasm32-unknown-unknown`) with a
//! nested cargo, as substrate-wasm-builder does, so that `cargo run --release -- serve` serves
//! the verify page's `.wasm` on a fresh machine. Installs the wasm32 target with rustup when it
//! is missing, and fails with a message saying what to do when it cannot.
//!
//! The nested build has a target directory of its own (`target/browser-verifier`, shared by
//! every profile of the outer build, so `cargo test`, `clippy` and `doc` build it once), the
//! workspace's lock file (`--locked`), and a release profile for size (no debug info, stripped,
//! `opt-level = 3`: `"s"` is 1.27× slower for 10% fewer gzip bytes, docs/benchmarks.md; LTO, abort on panic). The result is copied to `OUT_DIR/sagat_verify.wasm`.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    for watched in [
        "verifier/src",
        "verifier/Cargo.toml",
        "verifier/wasm/src",
        "verifier/wasm/Cargo.toml",
        "verifier/image/src",
        "verifier/image/Cargo.toml",
        "verifier/pdf/src",
        "verifier/pdf/Cargo.toml",
        ".cargo/config.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={watched}");
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    ensure_target();
    let target_dir = root.join("target").join("browser-verifier");
    let mut build = Command::new(&cargo);
    build
        .current_dir(&root)
        .args(["build", "--release", "--locked", "-p", "sagat-verify-wasm"])
        .args(["--target", TARGET])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "3")
        .env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_PANIC", "abort");
    // The outer build's settings are for the host, not for this target.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        build.env_remove(var);
    }
    let status = build.status().unwrap_or_else(|e| {
        panic!("cannot run {cargo} to build the browser verifier (verifier/wasm): {e}")
    });
    if !status.success() {
        panic!("building the browser verifier (cargo build -p sagat-verify-wasm --target {TARGET}) failed: see the errors above");
    }
    let wasm = target_dir
        .join(TARGET)
        .join("release")
        .join("sagat_verify_wasm.wasm");
    std::fs::copy(&wasm, out.join("sagat_verify.wasm"))
        .unwrap_or_else(|e| panic!("cannot copy {}: {e}", wasm.display()));
}

/// Installs the wasm32 standard library with rustup if this toolchain lacks it.
fn ensure_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if libdir.as_deref().is_some_and(has_std) {
        return;
    }
    println!("cargo:warning=installing the {TARGET} target with rustup (the browser verifier)");
    let added = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .is_ok_and(|s| s.success());
    if !added {
        panic!(
            "the browser verifier needs the {TARGET} target and `rustup target add {TARGET}` failed: \
             install it (rustup target add {TARGET}, or your distribution's rust-std for {TARGET}) and build again"
        );
    }
}

fn has_std(libdir: &Path) -> bool {
    std::fs::read_dir(libdir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
    })
}
