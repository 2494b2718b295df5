//! Cross-site request forgery defences of the web forms (the JSON API's writes need none: they
//! never take the session cookie, see [`crate::http::auth`]).
//!
//! Two independent checks, each enough on its own against a page on another site, so a gap in
//! one (an old browser, a sibling sub-domain that SameSite does not stop) is covered by the other:
//!
//! 1. **Same origin** ([`same_origin`], a middleware on every web `POST`): `Sec-Fetch-Site` must
//!    be `same-origin` (or `none`, a user-initiated request); without it, the `Origin` header,
//!    else the `Referer`, must name this server — the configured public origin
//!    (`SAGAT_PUBLIC_ORIGIN`, for a proxy that rewrites `Host`), or else the request's own
//!    `Host`. `Origin: null` is refused. A request with none of the three headers is no
//!    browser's form post (every current browser sends `Origin` on a `POST`), and goes on to
//!    the token check. Pages are served with `Referrer-Policy: same-origin`, so our own forms
//!    send their real `Origin` (with `no-referrer`, browsers send `Origin: null` on a `POST`).
//! 2. **Form token** ([`CsrfForm`], and the CSV upload): every form a signed-in page renders
//!    carries a hidden `csrf` field ([`super::forms::hidden_fields`]) derived from the session's
//!    secret — `SHA-256("sagat-csrf-v1\n" ‖ secret)`, base64url. Another site can neither read
//!    it nor compute it (it would need the session secret, and a copy of `tokens.json` holds
//!    only `SHA-256(secret)`), and it needs no server-side state, so forms keep working across a
//!    restart and end with their session. A post with a credential and without the right token
//!    is refused.
//!
//! Both refusals are a `403` page in the visitor's language (kk / ru / en) that changes nothing.

use std::collections::HashMap;

use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Form;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use maud::html;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::i18n::{t, Lang};
use super::{lang_of, page, LangQuery};
use crate::http::auth;
use crate::http::AppState;

/// Name of the hidden form field that carries the token.
pub const FIELD: &str = "csrf";

/// The form token of a credential's secret (session or bearer token).
pub fn token_for(secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"sagat-csrf-v1\n");
    h.update(secret.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

/// Does `presented` match the token of `secret`? (Compared in constant time.)
pub fn token_matches(secret: &str, presented: Option<&str>) -> bool {
    let Some(p) = presented else {
        return false;
    };
    let want = token_for(secret);
    p.len() == want.len() && bool::from(p.as_bytes().ct_eq(want.as_bytes()))
}

/// The form token for the signed-in caller of a request (empty when not signed in: such a
/// page renders no state-changing form that needs one).
pub fn request_token(state: &AppState, headers: &HeaderMap) -> String {
    auth::resolve(state, headers)
        .map(|(_, s)| token_for(&s))
        .unwrap_or_default()
}

/// Why a post was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It came from another site (`Sec-Fetch-Site`, `Origin` or `Referer`).
    CrossOrigin,
    /// The form's token is missing or is not this session's.
    Token,
}

/// The 403 page of a refused post, in `lang`. `data-refused` names the reason for tests.
pub fn refusal_page(lang: Lang, why: Refusal) -> Response {
    let (key, code) = match why {
        Refusal::CrossOrigin => ("csrf_origin", "cross-origin"),
        Refusal::Token => ("csrf_token", "csrf-token"),
    };
    let mut resp = page(
        lang,
        t(lang, "refused"),
        false,
        html! {
            section {
                h1 { (t(lang, "refused")) }
                div.flash.err id="flash" data-ok="0" data-refused=(code) { (t(lang, key)) }
                p { a href="/" { (t(lang, "app")) } }
            }
        },
    );
    *resp.status_mut() = StatusCode::FORBIDDEN;
    resp
}

fn lang_of_request(headers: &HeaderMap, uri: &Uri) -> Lang {
    let q = Query::<LangQuery>::try_from_uri(uri)
        .map(|Query(q)| q)
        .unwrap_or_default();
    lang_of(headers, &q)
}

/// `scheme://host[:port]` of an `Origin` or `Referer` value, lower-cased.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    if host.is_empty() || host.contains('@') {
        return None;
    }
    Some(format!("{}://{}", scheme, host).to_ascii_lowercase())
}

/// Is a request's `Origin` (or `Referer`) value this server's own origin?
fn is_own_origin(state: &AppState, headers: &HeaderMap, source: &str) -> bool {
    let Some(origin) = origin_of(source) else {
        return false;
    };
    if let Some(public) = &state.public_origin {
        return origin == public.trim_end_matches('/').to_ascii_lowercase();
    }
    let host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
    let header_host = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|h| h.trim().to_ascii_lowercase())
    };
    let mut own = header_host(header::HOST.as_str());
    if state.trust_forwarded_for {
        if let Some(fwd) = header_host("x-forwarded-host") {
            own = Some(fwd);
        }
    }
    own.is_some_and(|h| h == host)
}

/// The same-origin check of a state-changing web request (see the module documentation).
pub fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), Refusal> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.to_str().unwrap_or("") {
            "same-origin" | "none" => Ok(()),
            _ => Err(Refusal::CrossOrigin),
        };
    }
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER));
    match source {
        None => Ok(()),
        Some(v) => match v.to_str() {
            Ok(s) if is_own_origin(state, headers, s) => Ok(()),
            _ => Err(Refusal::CrossOrigin),
        },
    }
}

/// Middleware on the web routes: every method but GET/HEAD must pass [`check_origin`], or gets
/// the 403 page without reaching its handler.
pub async fn same_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    match check_origin(&state, req.headers()) {
        Ok(()) => next.run(req).await,
        Err(why) => refusal_page(lang_of_request(req.headers(), req.uri()), why),
    }
}

/// The token check of a form post: with a credential, `presented` must be its token.
pub fn check_token(
    state: &AppState,
    headers: &HeaderMap,
    presented: Option<&str>,
) -> Result<(), Refusal> {
    match auth::resolve(state, headers) {
        Some((_, secret)) if !token_matches(&secret, presented) => Err(Refusal::Token),
        _ => Ok(()),
    }
}

/// A url-encoded form whose `csrf` field has been checked against the caller's credential
/// ([`check_token`]); posts without a credential pass (their handler sends them to sign in).
#[derive(Debug)]
pub struct CsrfForm(pub HashMap<String, String>);

impl FromRequest<AppState> for CsrfForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let headers = req.headers().clone();
        let lang = lang_of_request(&headers, req.uri());
        let Form(f) = Form::<HashMap<String, String>>::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        check_token(state, &headers, f.get(FIELD).map(String::as_str))
            .map_err(|why| refusal_page(lang, why))?;
        Ok(CsrfForm(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_their_secret() {
        let a = token_for("sgt-s-a");
        assert_eq!(a, token_for("sgt-s-a"));
        assert_ne!(a, token_for("sgt-s-b"));
        assert!(token_matches("sgt-s-a", Some(&a)));
        assert!(!token_matches("sgt-s-b", Some(&a)));
        assert!(!token_matches("sgt-s-a", None));
        assert!(!token_matches("sgt-s-a", Some("")));
    }

    #[test]
    fn origins_are_parsed_strictly() {
        assert_eq!(
            origin_of("https://Sagat.example:8443/org?x=1").as_deref(),
            Some("https://sagat.example:8443")
        );
        assert_eq!(
            origin_of("http://localhost:8080").as_deref(),
            Some("http://localhost:8080")
        );
        assert_eq!(origin_of("null"), None);
        assert_eq!(origin_of("file:///etc"), None);
        assert_eq!(origin_of("https://user@evil.example"), None);
    }
}
