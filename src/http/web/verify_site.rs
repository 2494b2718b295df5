//! The verify page's parts, in the two places it lives: served by `sagat serve` (absolute paths
//! under `/verify`, with the server-rendered check as the no-JavaScript fallback), and written
//! by `sagat verify-site --out DIR` as a static folder any web server, CDN or university can
//! host (relative paths; the check runs only in the browser). Both are made here, from the
//! same markup, script, verifier and worker.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::i18n::{t, Lang};
use super::{browser_texts, verify_form, STYLE};

/// The verifier kernel for the browser's bytes (`verifier/wasm`, built by `build.rs`).
pub(super) const VERIFY_WASM: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/sagat_verify.wasm"));

/// The verify page's script (hand-written, no build step).
pub(super) const VERIFY_SCRIPT: &str = include_str!("verify.js");

/// Where the page finds its parts, and what its service worker keeps for offline use.
pub(super) struct VerifyPaths {
    /// The pages (one per language where they are files), then the script, the verifier, the
    /// trust list, the status list, the operator key, the manifest: what the worker keeps.
    pub files: &'static [&'static str],
    /// The script.
    pub script: &'static str,
    /// The verifier (`.wasm`).
    pub wasm: &'static str,
    /// The operator-signed trust list (JSON).
    pub trust: &'static str,
    /// The issuer-signed status list (COSE bytes).
    pub status: &'static str,
    /// The operator's note verifier key.
    pub root: &'static str,
    /// The web app manifest.
    pub manifest: &'static str,
    /// The service worker script, and the scope it keeps.
    pub worker: &'static str,
    /// The worker's scope, which is also the manifest's start page.
    pub scope: &'static str,
}

/// As `sagat serve` serves them (the lists are the API's).
pub(super) const SERVED: VerifyPaths = VerifyPaths {
    files: &[
        "/verify",
        "/verify.js",
        "/verify/sagat-verify.wasm",
        "/api/v1/trust-list",
        "/api/v1/status-list",
        "/verify/operator.vkey",
        "/verify/manifest.webmanifest",
    ],
    script: "/verify.js",
    wasm: "/verify/sagat-verify.wasm",
    trust: "/api/v1/trust-list",
    status: "/api/v1/status-list",
    root: "/verify/operator.vkey",
    manifest: "/verify/manifest.webmanifest",
    worker: "/verify/sw.js",
    scope: "/verify",
};

/// As `sagat verify-site` writes them: one folder, every path relative to it.
pub(super) const FOLDER: VerifyPaths = VerifyPaths {
    files: &[
        "./",
        "index.html",
        "kk.html",
        "ru.html",
        "verify.js",
        "sagat-verify.wasm",
        "trust-list.json",
        "status-list.cwt",
        "operator.vkey",
        "manifest.webmanifest",
    ],
    script: "verify.js",
    wasm: "sagat-verify.wasm",
    trust: "trust-list.json",
    status: "status-list.cwt",
    root: "operator.vkey",
    manifest: "manifest.webmanifest",
    worker: "sw.js",
    scope: "./",
};

/// The folder's page file for a language: English is `index.html` (the script opens the
/// Kazakh or Russian one when the browser prefers it).
fn folder_page_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Kk => "kk.html",
        Lang::Ru => "ru.html",
        Lang::En => "index.html",
    }
}

/// The page's main part: the browser check's result area (its texts and the parts' paths as
/// data-* attributes), the forms, the script. `served`: the forms can also go to the server.
pub(super) fn verify_body(lang: Lang, p: &VerifyPaths, served: bool) -> Markup {
    html! {
        section id="browser-check" hidden data-texts=(browser_texts(lang))
            data-wasm=(p.wasm) data-trust=(p.trust) data-status=(p.status) data-root=(p.root)
            data-worker=(p.worker) data-scope=(p.scope)
            data-pick-lang=[(!served && lang == Lang::En).then_some("kk.html ru.html")] {}
        (verify_form(lang, "", served))
        @if !served { noscript { p.flash.err { (t(lang, "needs_script")) } } }
        script src=(p.script) {}
    }
}

/// The service worker for `p`: its files, and a cache named after a digest of the script and
/// the verifier, so that a new build replaces the old copies.
pub(super) fn worker_script(p: &VerifyPaths) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(VERIFY_SCRIPT)
        .chain_update(VERIFY_WASM)
        .finalize();
    include_str!("verify-sw.js")
        .replace("__FILES__", &serde_json::to_string(&p.files).expect("JSON"))
        .replace(
            "__VERSION__",
            &serde_json::to_string(&hex::encode(&digest[..8])).expect("JSON"),
        )
}

/// The web app manifest: the verify page as an app a phone can keep.
pub(super) fn manifest(lang: Lang, p: &VerifyPaths) -> String {
    serde_json::json!({
        "name": format!("Sagat — {}", t(lang, "verify")),
        "short_name": "Sagat",
        "lang": lang.code(),
        "start_url": p.scope,
        "scope": p.scope,
        "display": "standalone",
        "background_color": "#f5f6f8",
        "theme_color": "#0b5d7a",
    })
    .to_string()
}

/// The policy of the folder's pages, as a `meta` element (a static host sets no headers of
/// ours): their own script and WebAssembly, nothing else, no form sent anywhere.
const FOLDER_CSP: &str = "default-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; script-src 'self' 'wasm-unsafe-eval'; form-action 'none'";

/// One page of the folder.
fn folder_page(lang: Lang) -> String {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="Content-Security-Policy" content=(FOLDER_CSP);
                title { (t(lang, "verify")) " · Sagat" }
                style { (PreEscaped(STYLE)) }
                link rel="manifest" href=(FOLDER.manifest);
            }
            body {
                header {
                    span { (t(lang, "app")) }
                    nav {
                        @for l in Lang::ALL {
                            @if l != lang { a href={ (folder_page_name(l)) "?lang=" (l.code()) } lang=(l.code()) { (l.endonym()) } }
                        }
                    }
                }
                main { (verify_body(lang, &FOLDER, false)) }
            }
        }
    }
    .into_string()
}

/// The static verify site: each file's name in the folder and its bytes. The lists are the
/// ones given (as signed now); the folder's host refreshes them by writing the site again.
pub fn verify_site(
    trust_json: &str,
    status_bytes: &[u8],
    operator_vkey: &str,
) -> Vec<(&'static str, Vec<u8>)> {
    let mut files: Vec<(&'static str, Vec<u8>)> = Lang::ALL
        .iter()
        .map(|&l| (folder_page_name(l), folder_page(l).into_bytes()))
        .collect();
    files.extend([
        (FOLDER.script, VERIFY_SCRIPT.as_bytes().to_vec()),
        (FOLDER.wasm, VERIFY_WASM.to_vec()),
        (FOLDER.trust, trust_json.as_bytes().to_vec()),
        (FOLDER.status, status_bytes.to_vec()),
        (FOLDER.root, format!("{operator_vkey}\n").into_bytes()),
        (FOLDER.manifest, manifest(Lang::En, &FOLDER).into_bytes()),
        (FOLDER.worker, worker_script(&FOLDER).into_bytes()),
    ]);
    files
}
