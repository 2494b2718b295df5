//! Security headers on every response (a middleware around the whole router).
//!
//! - `X-Content-Type-Options: nosniff` and `Referrer-Policy: same-origin` everywhere.
//!   (`same-origin` rather than `no-referrer`: other sites learn nothing, and browsers still
//!   send our own forms' real `Origin`, which `web::csrf` checks — under `no-referrer` a
//!   browser sends `Origin: null` on every `POST`.)
//! - `Cache-Control: no-store` on every answer to a request that carries a credential (bearer
//!   token or session cookie) and on every answer that sets the session cookie — the pages and
//!   responses that show access codes, tokens or personal data — unless the handler chose its
//!   own caching (the public log's tiles, say).
//! - `Secure` on every cookie when the service is reached over HTTPS: always with
//!   `--secure-cookies` (`SAGAT_SECURE_COOKIES=1`), or per request from `X-Forwarded-Proto:
//!   https` when the proxy is trusted (`SAGAT_TRUST_FORWARDED_FOR=1`). The server itself speaks
//!   plain HTTP, so HTTPS always means a proxy in front.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use super::auth::{bearer, cookie, SESSION_COOKIE};
use super::AppState;

/// Is this request reaching us over HTTPS (as far as the configuration lets us know)?
fn over_https(state: &AppState, req: &Request) -> bool {
    state.secure_cookies
        || (state.trust_forwarded_for
            && req
                .headers()
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https")))
}

/// The middleware.
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let credentialed =
        bearer(req.headers()).is_some() || cookie(req.headers(), SESSION_COOKIE).is_some();
    let https = over_https(&state, &req);
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    let prefix = format!("{SESSION_COOKIE}=");
    let sets_session = h
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(prefix.as_bytes()));
    if (credentialed || sets_session) && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https {
        let cookies: Vec<HeaderValue> = h.get_all(header::SET_COOKIE).iter().cloned().collect();
        if !cookies.is_empty() {
            h.remove(header::SET_COOKIE);
            for c in cookies {
                let secure = c
                    .to_str()
                    .map(|s| s.to_ascii_lowercase().contains("; secure"))
                    .unwrap_or(true);
                let v = if secure {
                    c
                } else {
                    let mut bytes = c.as_bytes().to_vec();
                    bytes.extend_from_slice(b"; Secure");
                    HeaderValue::from_bytes(&bytes).unwrap_or(c)
                };
                h.append(header::SET_COOKIE, v);
            }
        }
    }
    resp
}

/// Whether an `Accept-Encoding` header allows gzip (RFC 9110 §12.5.3: `gzip` or `*`, q > 0).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// `bytes` gzip-compressed at `level`.
pub fn gzip(bytes: &[u8], level: flate2::Compression) -> std::io::Result<Vec<u8>> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), level);
    enc.write_all(bytes)?;
    enc.finish()
}

/// A CSV answer the browser saves as `filename` (the API's and the organization page's hours
/// export).
pub fn csv_attachment(filename: &str, csv: Vec<u8>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let disposition = format!("attachment; filename=\"{filename}\"");
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        csv,
    )
        .into_response()
}

/// A stored certificate's PDF as a download named after its credential id and language(s)
/// (the API's and the volunteer page's link), never cached by anyone between.
pub fn pdf_attachment(cert: crate::datadir::certstore::StoredCert) -> axum::response::Response {
    use axum::response::IntoResponse;
    let disposition = format!(
        "attachment; filename=\"sagat-certificate-{}-{}.pdf\"",
        cert.credential_id, cert.lang
    );
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/pdf".to_string(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
            (
                axum::http::header::CACHE_CONTROL,
                "private, no-store".to_string(),
            ),
        ],
        cert.pdf,
    )
        .into_response()
}
