//! Server-rendered web pages (maud templates; no JavaScript build step): public verification,
//! and dashboards for organizations, volunteers and the operator. No page needs a script; the
//! verify page has one, `/verify.js`, that hands a scanned link's `#VH1:…` to its form.
//!
//! - Language: `?lang=kk|ru|en` switches and is remembered in the `sagat_lang` cookie; without
//!   either, the first of kk/ru/en in `Accept-Language` wins, then Kazakh.
//! - Sign-in: one form takes a volunteer access code or an operator/organization token and
//!   opens a session cookie (HttpOnly, SameSite=Strict; `Secure` when served over HTTPS).
//! - Cross-site request forgery: every `POST` must come from this server's own origin, and
//!   every signed-in form carries a token bound to its session ([`csrf`]).
//! - Every form post is handled by the same use cases as the JSON API (`crate::ops`), so the
//!   web pages cannot drift from the API's rules.
//! - Mobile: one column, large controls, `viewport` meta; tables scroll horizontally.

pub mod csrf;
pub mod forms;
pub mod i18n;
mod me;
mod operator;
mod org;
mod verify_site;

pub use verify_site::verify_site;

use std::collections::HashMap;
use std::future::Future;

use axum::extract::{Multipart, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::datadir::tokens::Role;
use crate::http::auth;
use crate::http::headers::{accepts_gzip, gzip};
use crate::http::AppState;
use crate::ops;
use i18n::{t, Lang};

type Fields = HashMap<String, String>;

tokio::task_local! {
    /// The query of the request being answered, without `lang`: the language links of the
    /// page keep it, so switching language keeps what the page shows (`?done=` with a one-time
    /// access code, the list's filters and page).
    static KEPT_QUERY: String;
}

/// Runs a page's handler with [`KEPT_QUERY`] set from its request.
async fn keep_query(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let kept: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                .filter(|(k, _)| k != "lang"),
        )
        .finish();
    KEPT_QUERY.scope(kept, next.run(req)).await
}

/// The link that shows this page in `lang`, keeping the rest of its query.
fn lang_link(lang: Lang) -> String {
    let kept = KEPT_QUERY.try_with(String::clone).unwrap_or_default();
    if kept.is_empty() {
        format!("?lang={}", lang.code())
    } else {
        format!("?{kept}&lang={}", lang.code())
    }
}

/// Routes with small bodies.
pub fn routes() -> Router<AppState> {
    routes_without_query().layer(axum::middleware::from_fn(keep_query))
}

fn routes_without_query() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/verify", get(verify_page).post(verify_text))
        .route("/verify.js", get(verify_script))
        .route("/verify/sagat-verify.wasm", get(verify_wasm))
        .route("/verify/operator.vkey", get(operator_vkey))
        .route("/verify/sw.js", get(verify_worker))
        .route("/verify/manifest.webmanifest", get(verify_manifest))
        .route("/signin", get(signin_page).post(signin))
        .route("/signout", post(signout))
        .route("/org", get(org::org_page))
        .route("/org-upload.js", get(org::upload_script))
        .route("/org/volunteers", get(org::org_volunteers_page))
        .route("/org/attestations", get(org::org_attestations_page))
        .route("/org/hours.csv", get(org::org_hours_csv))
        .route("/org/attest", post(org::org_attest))
        .route("/org/enroll", post(org::org_enroll))
        .route("/org/activity", post(org::org_activity))
        .route("/org/code", post(org::org_reissue_code))
        .route("/org/attestations/{id}/retract", post(org::org_retract))
        .route("/org/attestations/{id}/correct", post(org::org_correct))
        .route("/me", get(me::me_page))
        .route("/me/certificate", post(me::me_certificate))
        .route("/me/certificates/{cid}/pdf", get(me::me_certificate_pdf))
        .route("/operator", get(operator::operator_page))
        .route("/operator/org", post(operator::op_register))
        .route("/operator/token", post(operator::op_token))
        .route("/operator/status", post(operator::op_status))
        .route("/operator/rename", post(operator::op_rename))
        .route("/operator/revoke", post(operator::op_revoke))
}

/// Routes that accept uploads (CSV, photos): the larger body limit applies.
pub fn upload_routes() -> Router<AppState> {
    Router::new()
        .route("/verify/photo", post(verify_photo))
        .route("/org/csv", post(org::org_csv))
}

// ---------------------------------------------------------------------------------------------
// Language and layout.

#[derive(Debug, serde::Deserialize, Default)]
struct LangQuery {
    lang: Option<String>,
    /// After a form post: the nonce whose outcome the page shows (see [`forms`]).
    done: Option<String>,
    /// On the sign-in page: the session had ended.
    expired: Option<String>,
}

fn lang_of(headers: &HeaderMap, q: &LangQuery) -> Lang {
    if let Some(l) = q.lang.as_deref().and_then(Lang::parse) {
        return l;
    }
    if let Some(l) = auth::cookie(headers, "sagat_lang").and_then(Lang::parse) {
        return l;
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept
        .split(',')
        .filter_map(|p| {
            Lang::parse(
                p.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .get(..2)
                    .unwrap_or(""),
            )
        })
        .next()
        .unwrap_or(Lang::Kk)
}

const STYLE: &str = r#"
*{box-sizing:border-box}body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f5f6f8;color:#1c2430;line-height:1.45}
header{background:#0b5d7a;color:#fff;padding:.7rem 1rem;display:flex;flex-wrap:wrap;gap:.6rem;align-items:center;justify-content:space-between}
header a{color:#fff;text-decoration:none;font-weight:600}header nav{display:flex;flex-wrap:wrap;align-items:center;gap:.3rem .8rem}header nav a{font-weight:400;font-size:.95rem;white-space:nowrap}
main{max-width:52rem;margin:0 auto;padding:1rem}section{background:#fff;border-radius:.6rem;padding:1rem;margin:0 0 1rem;box-shadow:0 1px 2px #0002}
h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:0 0 .7rem}
label{display:block;margin:.5rem 0 .2rem;font-size:.9rem;color:#44505f}
input,select,textarea,button{font:inherit;width:100%;padding:.6rem;border:1px solid #b8c1cc;border-radius:.4rem;background:#fff}
textarea{min-height:6rem;font-family:ui-monospace,monospace;font-size:.85rem}
button{background:#0b5d7a;color:#fff;border:0;margin-top:.8rem;font-weight:600;cursor:pointer}
button.secondary{background:#6b7785}.row{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.6rem}
.flash{padding:.7rem 1rem;border-radius:.4rem;margin:0 0 1rem}.ok{background:#e3f6e8;border:1px solid #3c9a5f}.err{background:#fdeaea;border:1px solid #c0392b}
.verdict{font-size:clamp(1.25rem,6.5vw,2rem);font-weight:800;text-align:center;padding:1rem;border-radius:.6rem;color:#fff;overflow-wrap:anywhere}
.VALID{background:#2e8b57}.REVOKED,.INVALID,.UNTRUSTED{background:#c0392b}.EXPIRED,.NOT_YET_VALID{background:#b9770e}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{border-bottom:1px solid #e1e5ea;padding:.35rem;text-align:left;vertical-align:top}
.checks{list-style:none;padding:0;margin:.3rem 0}.checks li{padding:.15rem 0}[data-outcome=failed]{color:#c0392b;font-weight:600}[data-outcome=not_reached]{color:#6b7785}
.facts td,.facts th{overflow-wrap:anywhere}.facts th{width:38%}.facts td.mono{font-family:ui-monospace,monospace;font-size:.8rem}
#camera-view{width:100%;max-width:28rem;border-radius:8px;background:#000;display:block;margin:.5rem 0}#camera-view[hidden]{display:none}
code,.mono{font-family:ui-monospace,monospace;word-break:break-all}.muted{color:#6b7785;font-size:.85rem}
.inline{display:flex;gap:.4rem;flex-wrap:wrap}.inline input{flex:1 1 7rem;width:auto}.inline button{width:auto;margin-top:0}
input.secret{-webkit-text-security:disc;font-family:ui-monospace,monospace;letter-spacing:.08em}.show-toggle:checked~input.secret{-webkit-text-security:none}
.show-toggle{width:auto;margin:.3rem .3rem 0 0}.show-label{display:inline;font-size:.85rem}
nav.tabs{display:flex;gap:.3rem;flex-wrap:wrap;margin:0 0 1rem}nav.tabs a{padding:.45rem .8rem;border-radius:.4rem;background:#fff;color:#0b5d7a;text-decoration:none;box-shadow:0 1px 2px #0002}nav.tabs a[aria-current]{background:#0b5d7a;color:#fff}
a.button{display:inline-block;padding:.45rem .8rem;border-radius:.4rem;background:#0b5d7a;color:#fff;text-decoration:none;font-weight:600}a.button.secondary,button.secondary{background:#5c6773}button.danger{background:#a93226}
fieldset.plain{border:0;margin:0;padding:0;min-width:0}fieldset.plain[disabled]{opacity:.6}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:.5rem;background:#fff;color:#0b5d7a;padding:.4rem;z-index:9}
nav.pager{display:flex;gap:1rem;justify-content:center;align-items:center;margin-top:.8rem}label.confirm{display:flex;gap:.4rem;align-items:flex-start;color:#1c2430}label.confirm input{width:auto;margin-top:.25rem}
details form{margin-top:.5rem}details label input{margin-top:.2rem}
@media (max-width:40rem){table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}table.cards tr{border:1px solid #e1e5ea;border-radius:.5rem;margin:0 0 .6rem;padding:.4rem .6rem}table.cards td{border:0;padding:.2rem 0}table.cards td[data-label]::before{content:attr(data-label) ": ";color:#5c6773;font-size:.85rem}}
article.cert{border-top:1px solid #e1e5ea;padding-top:.8rem;margin-top:.8rem}article.cert:first-of-type{border-top:0;margin-top:0;padding-top:0}
.access-code{font-size:1.35rem;font-weight:700;letter-spacing:.08em;white-space:nowrap;word-break:keep-all}
"#;

fn page(lang: Lang, title: &str, signed_in: bool, body: Markup) -> Response {
    page_with_head(lang, title, signed_in, html! {}, body)
}

/// [`page`] with more in its `head` (the verify page's web app manifest).
fn page_with_head(
    lang: Lang,
    title: &str,
    signed_in: bool,
    head: Markup,
    body: Markup,
) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Sagat" }
                style { (PreEscaped(STYLE)) }
                (head)
            }
            body {
                a.skip href="#main" { (t(lang, "skip")) }
                header {
                    a href="/" { (t(lang, "app")) }
                    nav {
                        a href="/verify" { (t(lang, "verify")) }
                        @for l in Lang::ALL {
                            @if l != lang { a href=(lang_link(l)) lang=(l.code()) { (l.endonym()) } }
                        }
                        @if signed_in {
                            form method="post" action="/signout" style="display:inline" {
                                button id="signout" class="secondary" style="width:auto;margin:0;padding:.3rem .6rem" { (t(lang, "signout")) }
                            }
                        }
                    }
                }
                main id="main" { (body) }
            }
        }
    };
    let mut resp = Html(markup.into_string()).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "sagat_lang={}; Path=/; SameSite=Strict; Max-Age=31536000",
        lang.code()
    )) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; script-src 'none'; form-action 'self'; frame-ancestors 'none'"),
    );
    resp
}

fn flash_ok(msg: Markup) -> Markup {
    html! { div.flash.ok id="flash" data-ok="1" role="status" { (msg) } }
}

fn flash_err(lang: Lang, e: &ops::Error) -> Markup {
    html! {
        div.flash.err id="flash" data-ok="0" role="alert" {
            strong { (t(lang, "problem")) ": " }
            // A ledger rule in the page's language, then the service's exact reason.
            @if let Some(said) = e.problem.rule.as_deref().and_then(|r| i18n::rule_text(lang, r)) {
                span id="flash-said" { (said) } " " span.muted { (e.problem.detail) }
            } @else {
                (e.problem.detail)
            }
            @if let Some(f) = &e.problem.field { " " span.muted { "(" (f) @if let Some(r) = &e.problem.rule { " · " (r) } ")" } }
            @if !e.problem.errors.is_empty() {
                div.scroll { table id="row-errors" {
                    tr { th { (t(lang, "line")) } th { "field" } th { (t(lang, "problem")) } }
                    @for r in &e.problem.errors {
                        tr { td { (r.line) } td { (r.field) } td {
                            @if let Some(said) = i18n::rule_text(lang, &r.rule) { (said) " " span.muted { (r.detail) } } @else { (r.detail) }
                        } }
                    }
                } }
            }
        }
    }
}

/// Hours as a person says them, `31 h 30 min` (`31 сағ 30 мин`, `31 ч 30 мин`): the
/// certificate's own wording (`sagat_issuer::Lang::duration`), so a page and a PDF never say
/// a duration differently.
fn hours_text(lang: Lang, minutes: u64) -> String {
    lang.issuer().duration(minutes)
}

/// A `YYYY-MM-DD` day as the page's language writes it: `DD.MM.YYYY` in Kazakh and Russian,
/// unchanged in English (ISO 8601 reads the same everywhere). Anything else as it is.
fn date_text(lang: Lang, iso: &str) -> String {
    let parts: Vec<&str> = iso.split('-').collect();
    match (lang, parts.as_slice()) {
        (Lang::Kk | Lang::Ru, [y, m, d]) if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            format!("{d}.{m}.{y}")
        }
        _ => iso.to_string(),
    }
}

fn opt(f: &Fields, k: &str) -> Option<String> {
    f.get(k)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// A page that says what went wrong, in the page's language, with the error's status.
fn error_page(lang: Lang, e: &ops::Error) -> Response {
    let mut resp = page(lang, t(lang, "problem"), false, flash_err(lang, e));
    *resp.status_mut() =
        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp
}

fn who(state: &AppState, headers: &HeaderMap) -> Option<Role> {
    auth::resolve(state, headers).map(|(r, _)| r)
}

/// The outcome of this caller's form post named by `?done=`, if any, and what a refused form
/// said (to fill it in again; empty otherwise).
fn flash_of(state: &AppState, headers: &HeaderMap, q: &LangQuery) -> (Option<Markup>, Kept) {
    let found = q.done.as_deref().and_then(|nonce| {
        let (_, secret) = auth::resolve(state, headers)?;
        state.forms.get(&secret, nonce)
    });
    match found {
        Some(f) => (Some(PreEscaped(f.html)), Kept(f.kept.into_iter().collect())),
        None => (None, Kept::default()),
    }
}

/// What a refused form said, by field name: the page fills the form in with it.
#[derive(Debug, Default)]
struct Kept(HashMap<String, String>);

impl Kept {
    /// The value of `field` as it was sent, or `""`.
    fn get(&self, field: &str) -> &str {
        self.0.get(field).map_or("", String::as_str)
    }

    /// The value of `field` as it was sent, or `default` when nothing was kept.
    fn or<'a>(&'a self, field: &str, default: &'a str) -> &'a str {
        self.0.get(field).map_or(default, String::as_str)
    }
}

/// Post/Redirect/Get: runs a form's `action` at most once per (signed-in credential, `nonce`)
/// and answers `303 See Other` to `back?done=<nonce>`, where the outcome is shown. A resend of
/// the same form (refresh, back button, double click) gets the first outcome and changes
/// nothing.
async fn post_once<Fut>(
    state: &AppState,
    headers: &HeaderMap,
    lang: Lang,
    form: &Fields,
    back: &str,
    action: Fut,
) -> Response
where
    Fut: Future<Output = Result<Markup, ops::Error>>,
{
    let secret = auth::resolve(state, headers)
        .map(|(_, s)| s)
        .unwrap_or_default();
    let nonce = nonce_of(form)
        .filter(|n| forms::is_nonce(n))
        .map(str::to_string)
        .unwrap_or_else(forms::new_nonce);
    state
        .forms
        .run_once(&secret, &nonce, || async move {
            let (flash, retry, kept) = match action.await {
                Ok(m) => (flash_ok(m), false, Vec::new()),
                Err(e) => {
                    let kept = form
                        .iter()
                        .filter(|(k, _)| k.as_str() != "nonce" && k.as_str() != csrf::FIELD)
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    (flash_err(lang, &e), e.status() >= 500, kept)
                }
            };
            forms::Flash {
                html: flash.into_string(),
                retry,
                kept,
            }
        })
        .await;
    Redirect::to(&format!("{back}?lang={}&done={nonce}", lang.code())).into_response()
}

/// Whose page a form belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageRole {
    /// An organization's: the action gets its id.
    Org,
    /// A volunteer's: the action gets their id.
    Volunteer,
    /// The operator's: the action gets `""`.
    Operator,
}

/// The signed-in caller's id if they are `role` (see [`PageRole`]).
fn caller_as(state: &AppState, headers: &HeaderMap, role: PageRole) -> Option<String> {
    match (who(state, headers)?, role) {
        (Role::Org(o), PageRole::Org) => Some(o),
        (Role::Volunteer(v), PageRole::Volunteer) => Some(v),
        (Role::Operator, PageRole::Operator) => Some(String::new()),
        _ => None,
    }
}

/// A signed-in page's form post, the one way every one is handled: anyone who is not `role`
/// goes to sign in; otherwise `action` runs with the caller's id and the page's language, at
/// most once per form ([`post_once`]), and the answer redirects to `back` with its outcome.
async fn post_as<F, Fut>(
    state: &AppState,
    headers: &HeaderMap,
    q: &LangQuery,
    form: &Fields,
    role: PageRole,
    back: &str,
    action: F,
) -> Response
where
    F: FnOnce(String, Lang) -> Fut,
    Fut: Future<Output = Result<Markup, ops::Error>>,
{
    let lang = lang_of(headers, q);
    let Some(id) = caller_as(state, headers, role) else {
        return to_signin(lang, headers);
    };
    post_once(state, headers, lang, form, back, action(id, lang)).await
}

/// The tick a page asks for before an action that cannot be taken back (a retraction, a
/// suspension, a revocation): 422 `confirm` naming what was not confirmed, without it. The API's
/// callers have decided already and are not asked.
fn confirmed(f: &Fields, what: &str) -> Result<(), ops::Error> {
    if f.get("confirm").map(String::as_str) == Some("yes") {
        Ok(())
    } else {
        Err(ops::Error::invalid(
            "confirm",
            "confirm",
            format!("tick the box to confirm {what}"),
        ))
    }
}

fn nonce_of(f: &Fields) -> Option<&str> {
    f.get("nonce").map(String::as_str)
}

/// A form's nonce as the idempotency key of its server-signed append: the event ids derive from
/// it, so submitting the same form again — even after a server restart — finds the first
/// result in the log instead of appending twice.
fn form_key(nonce: Option<&str>) -> Option<ops::IdempotencyKey> {
    nonce
        .filter(|n| forms::is_nonce(n))
        .and_then(|n| ops::IdempotencyKey::parse(n).ok())
}

/// Sends a caller without a session to sign in; one whose session cookie no longer opens
/// anything (it expired after 12 hours, or was ended) is told so there.
fn to_signin(lang: Lang, headers: &HeaderMap) -> Response {
    let expired = auth::cookie(headers, auth::SESSION_COOKIE).is_some();
    let to = format!(
        "/signin?lang={}{}",
        lang.code(),
        if expired { "&expired=1" } else { "" }
    );
    Redirect::to(&to).into_response()
}

/// The fallback for a path no route has: a page in the reader's language for a browser, the
/// API's problem+json for everyone else and under `/api/` and `/log/`.
pub async fn not_found(headers: HeaderMap, uri: axum::http::Uri) -> Response {
    let path = uri.path();
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if !browser || path.starts_with("/api/") || path.starts_with("/log/") {
        return crate::http::api::not_found().await.into_response();
    }
    let q = Query::<LangQuery>::try_from_uri(&uri)
        .map(|Query(q)| q)
        .unwrap_or_default();
    let lang = lang_of(&headers, &q);
    let mut resp = page(
        lang,
        t(lang, "not_found"),
        false,
        html! {
            section {
                h1 { (t(lang, "not_found")) }
                p id="not-found" { (t(lang, "not_found_help")) }
                p { a href="/" { (t(lang, "app")) } " · " a href="/verify" { (t(lang, "verify")) } " · " a href="/signin" { (t(lang, "signin")) } }
            }
        },
    );
    *resp.status_mut() = StatusCode::NOT_FOUND;
    resp
}

// ---------------------------------------------------------------------------------------------
// Public pages.

async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang_of(&headers, &q);
    let role = who(&state, &headers);
    let size = state.app.ledger.size();
    page(
        lang,
        t(lang, "app"),
        role.is_some(),
        html! {
            section {
                h1 { (t(lang, "app")) }
                p { (t(lang, "tagline")) }
                p { a href="/verify" { (t(lang, "verify")) } }
                p { a href="/signin" { (t(lang, "signin_org")) } " · " a href="/signin" { (t(lang, "signin_vol")) } " · " a href="/signin" { (t(lang, "signin_op")) } }
                @match &role {
                    Some(Role::Org(_)) => p { a href="/org" { (t(lang, "org_dash")) } },
                    Some(Role::Volunteer(_)) => p { a href="/me" { (t(lang, "my_hours")) } },
                    Some(Role::Operator) => p { a href="/operator" { (t(lang, "operator")) } },
                    None => {},
                }
                p.muted { (t(lang, "log")) ": " (size) " " (t(lang, "entries")) " · " a href="/log/checkpoint" { "checkpoint" } " · " a href="/api/openapi.json" { "OpenAPI" } }
            }
        },
    )
}

/// The verify forms. `served`: they can go to the server (the no-JavaScript check); in the
/// static folder (`sagat verify-site`) only the script checks, on the device.
fn verify_form(lang: Lang, text: &str, served: bool) -> Markup {
    let never = (!served).then_some("never");
    html! {
        section {
            h1 { (t(lang, "verify")) }
            p.muted { (t(lang, "verify_help")) }
            // The camera scan needs the script (it reads frames on this device): shown by it.
            // Then a photo, then pasted text, for a device without a camera.
            div id="camera" hidden {
                button id="camera-start" type="button" { (t(lang, "camera_start")) }
                button id="camera-stop" type="button" class="secondary" hidden { (t(lang, "camera_stop")) }
                video id="camera-view" hidden playsinline muted {}
            }
            p id="scan-status" role="status" {}
            form method="post" action=[served.then_some("/verify/photo")] enctype="multipart/form-data" id="photo-form" data-server=[never] {
                label for="photo" { (t(lang, "photo")) }
                input id="photo" type="file" name="photo" accept="image/*" capture="environment";
                button id="photo-submit" type="submit" class="secondary" { (t(lang, "upload_check")) }
            }
            form method="post" action=[served.then_some("/verify")] id="verify-form" data-server=[never] {
                label for="qr_text" { (t(lang, "qr_text")) }
                textarea id="qr_text" name="qr_text" required { (text) }
                button id="verify-submit" type="submit" { (t(lang, "check")) }
            }
        }
    }
}

/// What a verdict means for the person reading it, as a key of the translation table (the
/// verifier's exact reason is shown below it, for whoever needs it).
fn verdict_explanation(status: &sagat_verifier::VerdictStatus) -> Option<&'static str> {
    meaning_text(status.meaning())
}

/// The translation key of what a verdict means ([`sagat_verifier::Meaning`]), for the page and
/// for the browser check's texts; `None` for a valid one.
fn meaning_text(m: sagat_verifier::Meaning) -> Option<&'static str> {
    use sagat_verifier::Meaning as M;
    Some(match m {
        M::Valid => return None,
        M::Revoked => "why_revoked",
        M::Expired => "why_expired",
        M::UntrustedIssuer => "why_untrusted",
        M::NotYetValid => "why_not_yet",
        M::Unreadable => "why_unreadable",
        M::Malformed => "why_malformed",
        _ => "why_forged",
    })
}

fn verdict_section(lang: Lang, o: &ops::verification::VerifyOutcome) -> Markup {
    use sagat_verifier::VerdictStatus as S;
    let label = match &o.status {
        S::Valid => "VALID",
        S::Revoked => "REVOKED",
        S::Expired => "EXPIRED",
        S::UntrustedIssuer => "UNTRUSTED",
        S::NotYetValid => "NOT_YET_VALID",
        _ => "INVALID",
    };
    html! {
        section {
            div class={ "verdict " (label) } id="verdict" data-verdict=(label) { (sagat_verify::verdict_word(lang.verifier(), &o.status)) }
            @if let Some(why) = verdict_explanation(&o.status) { p id="verdict-why" { (t(lang, why)) } }
            @if !o.reasons.is_empty() { ul.muted { @for r in &o.reasons { li { (r) } } } }
            table.facts {
                @if let Some(h) = &o.holder { tr { th { (t(lang, "holder")) } td id="verdict-holder" { (h) } } }
                @if let Some(m) = o.total_minutes { tr { th { (t(lang, "total")) } td { (hours_text(lang, m)) } } }
                @if let Some(i) = &o.issuer { tr { th { (t(lang, "issuer")) } td { (i) } } }
                @if let Some(c) = &o.credential_id { tr { th { (t(lang, "credential")) } td.mono { (c) } } }
                @for org in &o.organizations { tr { td { (org.name) } td { (hours_text(lang, org.minutes)) } } }
            }
        }
    }
}

/// The verify page. A phone camera opens it from a certificate's QR code with the credential
/// in the fragment (`/verify#VH1:…`), which only a script can read: `/verify.js` checks it, and
/// pasted text, in the browser with the kernel compiled to WebAssembly, and falls back to
/// sending the form. So this page alone allows a script (its own, nothing inline) and
/// WebAssembly (`'wasm-unsafe-eval'`, which lets a page compile modules, not evaluate text).
async fn verify_page(
    headers: HeaderMap,
    State(state): State<AppState>,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang_of(&headers, &q);
    let mut resp = page_with_head(
        lang,
        t(lang, "verify"),
        who(&state, &headers).is_some(),
        html! { link rel="manifest" href="/verify/manifest.webmanifest"; },
        verify_site::verify_body(lang, &verify_site::SERVED, true),
    );
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; script-src 'self' 'wasm-unsafe-eval'; form-action 'self'; frame-ancestors 'none'"),
    );
    resp
}

/// The words the browser check shows, in the page's language (read by `/verify.js`): the
/// verdict words of `sagat-verify`, what each [`sagat_verifier::Meaning`] means, the labels.
fn browser_texts(lang: Lang) -> String {
    use sagat_verifier::{InvalidReason as R, Meaning, VerdictStatus as S};
    let word = |s: S| sagat_verify::verdict_word(lang.verifier(), &s);
    let why: serde_json::Map<String, serde_json::Value> = Meaning::ALL
        .iter()
        .filter_map(|m| meaning_text(*m).map(|k| (m.code().to_string(), t(lang, k).into())))
        .collect();
    serde_json::json!({
        "verdict": {
            "VALID": word(S::Valid),
            "REVOKED": word(S::Revoked),
            "EXPIRED": word(S::Expired),
            "UNTRUSTED": word(S::UntrustedIssuer),
            "NOT_YET_VALID": word(S::NotYetValid),
            "INVALID": word(S::Invalid(R::BadSignature)),
        },
        "why": why,
        "holder": t(lang, "holder"),
        "total": t(lang, "total"),
        "period": t(lang, "period"),
        "issuer": t(lang, "issuer"),
        "credential": t(lang, "credential"),
        "hours_unit": t(lang, "hours_unit"),
        "issued_on": t(lang, "issued_on"),
        "checks": t(lang, "checks"),
        "check": {
            "readable": t(lang, "check_readable"),
            "issuer": t(lang, "check_issuer"),
            "signature": t(lang, "check_signature"),
            "consistent": t(lang, "check_consistent"),
            "revocation": t(lang, "check_revocation"),
            "validity": t(lang, "check_validity"),
            "evidence": t(lang, "check_evidence"),
        },
        "photo_or_pdf": t(lang, "photo_or_pdf"),
        "evidence_entries": t(lang, "evidence_entries"),
        "evidence_missing": t(lang, "evidence_missing"),
        "evidence_entry": t(lang, "evidence_entry"),
        "age_minutes": t(lang, "age_minutes"),
        "age_hours": t(lang, "age_hours"),
        "age_days": t(lang, "age_days"),
        "not_checked": t(lang, "not_checked"),
        "revocation_as_of": t(lang, "revocation_as_of"),
        "checked_here": t(lang, "checked_here"),
        "camera_looking": t(lang, "camera_looking"),
        "camera_denied": t(lang, "camera_denied"),
        "photo_reading": t(lang, "photo_reading"),
        "photo_no_qr": t(lang, "photo_no_qr"),
        "no_verifier": t(lang, "no_verifier"),
    })
    .to_string()
}

/// `/verify/sw.js`: the service worker ([`verify_site::SERVED`]'s files kept; its cache named after a digest
/// of the script and the verifier, so a new build replaces the old copies). Its scope is the
/// page `/verify`, which is above its own folder: `Service-Worker-Allowed` grants that.
async fn verify_worker() -> Response {
    static WORKER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = WORKER.get_or_init(|| verify_site::worker_script(&verify_site::SERVED));
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (
                header::HeaderName::from_static("service-worker-allowed"),
                "/verify",
            ),
        ],
        body.clone(),
    )
        .into_response()
}

/// `/verify/manifest.webmanifest`: the verify page as an app a phone can keep, in the
/// request's language.
async fn verify_manifest(headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let lang = lang_of(&headers, &q);
    let manifest = verify_site::manifest(lang, &verify_site::SERVED);
    (
        [(header::CONTENT_TYPE, "application/manifest+json")],
        manifest,
    )
        .into_response()
}

/// The verifier kernel for the browser (`verifier/wasm`, built by `build.rs`), gzip-compressed
/// (once, at the best level: 452 KB become 176 KB) when the request allows it.
async fn verify_wasm(headers: HeaderMap) -> Response {
    static ZIPPED: std::sync::OnceLock<Option<Vec<u8>>> = std::sync::OnceLock::new();
    let zipped = accepts_gzip(&headers)
        .then(|| {
            ZIPPED
                .get_or_init(|| gzip(verify_site::VERIFY_WASM, flate2::Compression::best()).ok())
                .as_deref()
        })
        .flatten();
    let mut resp = match zipped {
        Some(z) => ([(header::CONTENT_ENCODING, "gzip")], z).into_response(),
        None => verify_site::VERIFY_WASM.into_response(),
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/wasm"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    resp
}

/// The operator's note verifier key, which the trust list must be signed with (the browser
/// check's root of trust, as `sagat-verify --root`).
async fn operator_vkey(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{}\n", state.app.operator_vkey()),
    )
        .into_response()
}

/// `/verify.js`: see [`verify_page`].
async fn verify_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        verify_site::VERIFY_SCRIPT,
    )
        .into_response()
}

fn verify_and_render(
    state: &AppState,
    lang: Lang,
    signed_in: bool,
    text: Result<String, ops::Error>,
) -> Response {
    let result = text.and_then(|text| {
        let o = ops::verification::verify_qr(state, &text)?;
        state.metrics.count_verdict(&o.verdict.to_ascii_lowercase());
        Ok((text, o))
    });
    match result {
        Ok((text, o)) => page(
            lang,
            t(lang, "verdict"),
            signed_in,
            html! { (verdict_section(lang, &o)) (verify_form(lang, &text, true)) },
        ),
        Err(e) => {
            // The page shows the error; the status says it too (413, 415, 422, 503, ...).
            let mut resp = page(
                lang,
                t(lang, "verify"),
                signed_in,
                html! { (flash_err(lang, &e)) (verify_form(lang, "", true)) },
            );
            *resp.status_mut() =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if let Some(s) = e.retry_after {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(s));
            }
            resp
        }
    }
}

async fn verify_text(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    Form(f): Form<Fields>,
) -> Response {
    let lang = lang_of(&headers, &q);
    let text = f.get("qr_text").cloned().unwrap_or_default();
    verify_and_render(&state, lang, who(&state, &headers).is_some(), Ok(text))
}

async fn verify_photo(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    mut mp: Multipart,
) -> Response {
    let lang = lang_of(&headers, &q);
    let mut photo = None;
    // A multipart error: over the upload limit (413) or malformed (400).
    let mut unreadable = None;
    loop {
        match mp.next_field().await {
            Ok(Some(field)) if field.name() == Some("photo") => match field.bytes().await {
                Ok(b) => photo = Some(b),
                Err(e) => unreadable = Some(e),
            },
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                unreadable = Some(e);
                break;
            }
        }
    }
    let text = match (photo, unreadable) {
        (_, Some(e)) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Err(ops::Error::new(ops::Kind::TooLarge, e.body_text())
                .field("photo")
                .rule("body-size"))
        }
        (_, Some(e)) => Err(ops::Error::bad_request(e.body_text()).field("photo")),
        (Some(bytes), None) if !bytes.is_empty() => {
            ops::verification::decode_qr_photo_bounded(&state, bytes).await
        }
        _ => Err(
            ops::Error::invalid("photo", "required", "choose a photo of the QR code")
                .field("photo"),
        ),
    };
    verify_and_render(&state, lang, who(&state, &headers).is_some(), text)
}

// ---------------------------------------------------------------------------------------------
// Sign-in.

fn signin_form(lang: Lang) -> Markup {
    html! {
        section {
            h1 { (t(lang, "signin")) }
            p.muted { (t(lang, "signin_org")) " · " (t(lang, "signin_vol")) " · " (t(lang, "signin_op")) }
            form method="post" action="/signin" id="signin-form" {
                label for="code" { (t(lang, "code")) }
                // Hidden as typed unless "show" is ticked: CSS only (these pages run no script).
                input id="show-code" type="checkbox" class="show-toggle";
                label for="show-code" class="show-label" { (t(lang, "show_code")) }
                input id="code" name="code" type="text" class="secret" autocomplete="off" autocapitalize="characters" spellcheck="false" required aria-describedby="code-help";
                p.muted id="code-help" { (t(lang, "code_help")) }
                button id="signin-submit" type="submit" { (t(lang, "signin")) }
            }
        }
    }
}

async fn signin_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang_of(&headers, &q);
    let signed_in = who(&state, &headers).is_some();
    page(
        lang,
        t(lang, "signin"),
        signed_in,
        html! {
            @if q.expired.is_some() && !signed_in {
                div.flash.err id="flash" data-ok="0" role="alert" { (t(lang, "session_ended")) }
            }
            (signin_form(lang))
        },
    )
}

async fn signin(
    State(state): State<AppState>,
    client: auth::ClientIp,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    Form(f): Form<Fields>,
) -> Response {
    let lang = lang_of(&headers, &q);
    let code = f.get("code").cloned().unwrap_or_default();
    match auth::open_session(&state, client, &code).await {
        Ok((role, cookie)) => {
            let to = match role {
                Role::Operator => "/operator",
                Role::Org(_) => "/org",
                Role::Volunteer(_) => "/me",
            };
            let mut resp = Redirect::to(to).into_response();
            resp.headers_mut().insert(header::SET_COOKIE, cookie);
            resp
        }
        Err(e) => {
            let mut resp = page(
                lang,
                t(lang, "signin"),
                false,
                html! {
                    div.flash.err id="flash" data-ok="0" {
                        @if e.kind == ops::Kind::RateLimited { (e.problem.detail) } @else { (t(lang, "bad_code")) }
                    }
                    (signin_form(lang))
                },
            );
            *resp.status_mut() =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if let Some(wait) = e.retry_after {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            }
            resp
        }
    }
}

async fn signout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    auth::end_session(&state, &headers);
    let mut resp = Redirect::to("/").into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, auth::clear_cookie());
    resp
}
