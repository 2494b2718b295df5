//! Who is calling: bearer tokens and session cookies, role checks, per-credential rate limits.
//!
//! Sources, in order: `Authorization: Bearer <secret>` (an operator or organization token, or a
//! session secret `sgt-s-…`), then the `sagat_session` cookie (a web session of any role). A
//! present but unknown credential is a 401 just like a missing one; the right credential for the
//! wrong role or the wrong organization is a 403 naming the rule (`role-operator`,
//! `role-organization`, `org-scope`, `own-data-only`). Handlers take the role they need as an
//! extractor ([`OperatorCaller`], [`OrgCaller`], [`OrgOrOperatorCaller`], [`VolunteerCaller`])
//! before the body, so authorization always comes before body validation.
//!
//! CSRF: the JSON API's writes (every method but GET and HEAD) never take the cookie — a
//! browser attaches cookies to cross-site requests, never an `Authorization` header — so they
//! authenticate with `Authorization: Bearer` only (a volunteer sends their session secret
//! there). A write with only a cookie is a 401 saying so. The web forms, which must use the
//! cookie, are guarded by `web::csrf` instead (Origin check and a per-session form token).

use crate::ops;
use std::net::{IpAddr, SocketAddr};

use axum::extract::connect_info::{ConnectInfo, MockConnectInfo};
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};

use super::AppState;
use crate::datadir::tokens::{Kind, Role};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "sagat_session";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who.
    pub role: Role,
}

impl Caller {
    /// Only the operator.
    pub fn require_operator(&self) -> Result<(), ops::Error> {
        match self.role {
            Role::Operator => Ok(()),
            _ => Err(ops::Error::forbidden(
                "role-operator",
                "only the operator may do this",
            )),
        }
    }

    /// Only organization `org` itself.
    pub fn require_org(&self, org: &str) -> Result<(), ops::Error> {
        match &self.role {
            Role::Org(mine) if mine == org => Ok(()),
            Role::Org(mine) => Err(ops::Error::forbidden(
                "org-scope",
                format!("organization {mine:?} may act only for itself, not for {org:?}"),
            )
            .field("org")),
            _ => Err(ops::Error::forbidden(
                "role-organization",
                "only an organization's own token may do this",
            )),
        }
    }

    /// Only volunteer `id` themself.
    pub fn require_volunteer(&self, id: &str) -> Result<(), ops::Error> {
        match &self.role {
            Role::Volunteer(me) if me == id => Ok(()),
            Role::Volunteer(_) => Err(ops::Error::forbidden(
                "own-data-only",
                "a volunteer sees only their own hours and certificates",
            )
            .field("volunteer")),
            _ => Err(ops::Error::forbidden(
                "role-volunteer",
                "only the volunteer themself (signed in with their access code) may do this",
            )),
        }
    }
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// A cookie's value, if present.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The role a bearer secret speaks for: a token (its use is recorded, coarsely) or a session.
fn resolve_bearer(state: &AppState, token: &str, now: i64) -> Option<(Role, String)> {
    if let Some(role) = state.tokens.lookup(token, Kind::Token, now) {
        if let Err(e) = state.tokens.touch(token, now) {
            tracing::warn!("cannot record a token's last use: {e:#}");
        }
        return Some((role, token.to_string()));
    }
    state
        .tokens
        .lookup(token, Kind::Session, now)
        .map(|r| (r, token.to_string()))
}

/// Resolves the caller of a request without failing (web pages use this to decide what to show).
pub fn resolve(state: &AppState, headers: &HeaderMap) -> Option<(Role, String)> {
    let now = crate::datadir::now();
    if let Some(token) = bearer(headers) {
        return resolve_bearer(state, token, now);
    }
    let session = cookie(headers, SESSION_COOKIE)?;
    state
        .tokens
        .lookup(session, Kind::Session, now)
        .map(|r| (r, session.to_string()))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ops::Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ops::Error> {
        let has_any =
            bearer(&parts.headers).is_some() || cookie(&parts.headers, SESSION_COOKIE).is_some();
        let read = matches!(parts.method, Method::GET | Method::HEAD);
        if !read && bearer(&parts.headers).is_none() && has_any {
            return Err(ops::Error::unauthorized(
                "the API's writes take `Authorization: Bearer <token or session>` only; \
                 a session cookie is not accepted here (cross-site request forgery)",
            ));
        }
        let Some((role, secret)) = resolve(state, &parts.headers) else {
            return Err(if has_any {
                ops::Error::unauthorized("the token or session is unknown or expired")
            } else {
                ops::Error::unauthorized(
                    "send `Authorization: Bearer <token>` or sign in for a session cookie",
                )
            });
        };
        state.limiter.check(&secret)?;
        Ok(Caller { role })
    }
}

/// The value of the matched route's path parameter `name` (percent-decoded), if any.
async fn path_param(parts: &mut Parts, state: &AppState, name: &str) -> Option<String> {
    let params = RawPathParams::from_request_parts(parts, state).await.ok()?;
    params
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The operator. As an extractor it authorizes from the request's head alone, so a caller
/// without the right token gets 401/403 before any body is read or validated.
#[derive(Debug, Clone)]
pub struct OperatorCaller(pub Caller);

impl FromRequestParts<AppState> for OperatorCaller {
    type Rejection = ops::Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ops::Error> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require_operator()?;
        Ok(OperatorCaller(caller))
    }
}

/// Organization `{org}` of the route's path itself (its own token), authorized before the body.
#[derive(Debug, Clone)]
pub struct OrgCaller(pub Caller);

impl FromRequestParts<AppState> for OrgCaller {
    type Rejection = ops::Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ops::Error> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let org = path_param(parts, state, "org").await.unwrap_or_default();
        caller.require_org(&org)?;
        Ok(OrgCaller(caller))
    }
}

/// Organization `{org}` of the path or the operator, authorized before the body.
#[derive(Debug, Clone)]
pub struct OrgOrOperatorCaller(pub Caller);

impl FromRequestParts<AppState> for OrgOrOperatorCaller {
    type Rejection = ops::Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ops::Error> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.require_operator().is_err() {
            let org = path_param(parts, state, "org").await.unwrap_or_default();
            caller.require_org(&org)?;
        }
        Ok(OrgOrOperatorCaller(caller))
    }
}

/// Volunteer `{id}` of the route's path themself (their session), authorized before the body.
#[derive(Debug, Clone)]
pub struct VolunteerCaller(pub Caller);

impl FromRequestParts<AppState> for VolunteerCaller {
    type Rejection = ops::Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ops::Error> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let id = path_param(parts, state, "id").await.unwrap_or_default();
        caller.require_volunteer(&id)?;
        Ok(VolunteerCaller(caller))
    }
}

/// The client's IP address: the TCP peer (axum `ConnectInfo`), or — only when the server is
/// configured to trust a reverse proxy (`SAGAT_TRUST_FORWARDED_FOR=1`) — the last address in
/// the last `X-Forwarded-For` header, the one the proxy itself appended. `None` when neither is
/// known (router tests without a peer address).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

/// The last address of the last `X-Forwarded-For` header.
fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?;
    last.to_str().ok()?.rsplit(',').next()?.trim().parse().ok()
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        if state.trust_forwarded_for {
            if let Some(ip) = forwarded_for(&parts.headers) {
                return Ok(ClientIp(Some(ip)));
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0)
            .or_else(|| {
                parts
                    .extensions
                    .get::<MockConnectInfo<SocketAddr>>()
                    .map(|m| m.0)
            });
        Ok(ClientIp(peer.map(|a| a.ip())))
    }
}

impl ClientIp {
    /// Takes one sign-in attempt from this address's bucket, or a 429 `sign-in-rate` problem
    /// with `Retry-After`. Every attempt counts, known credential or not, so guessing codes
    /// from one address is slowed down. Unknown addresses share one bucket.
    pub fn check_sign_in(&self, state: &AppState) -> Result<(), ops::Error> {
        let key = match self.0 {
            Some(ip) => format!("sign-in {ip}"),
            None => "sign-in unknown-peer".to_string(),
        };
        state.sign_in_limiter.check(&key).map_err(|mut e| {
            let wait = e.retry_after.unwrap_or(60);
            e.problem.detail =
                format!("too many sign-in attempts from this address; retry in {wait} s");
            e.problem.rule = Some("sign-in-rate".into());
            e
        })
    }
}

/// Exchanges a code or token for a session (the sign-in page and `POST /api/v1/session`);
/// returns the role and the `Set-Cookie` value. First the client address's sign-in limit
/// ([`ClientIp::check_sign_in`]), then the credential's own rate limit. The lookup and the new
/// session's durable write (the token file, with fsync) run on the blocking pool, so the async
/// threads keep serving other requests while people sign in.
pub async fn open_session(
    state: &AppState,
    client: ClientIp,
    code: &str,
) -> ops::Result<(Role, axum::http::HeaderValue)> {
    client.check_sign_in(state)?;
    // A typed access code in its canonical form (see `canonical_access_code`); anything else
    // (a token, an access code of the earlier form) as given.
    let code = crate::datadir::tokens::canonical_access_code(code)
        .unwrap_or_else(|| code.trim().to_string());
    let st = state.clone();
    let (role, session) = tokio::task::spawn_blocking(move || -> ops::Result<(Role, String)> {
        let t = crate::datadir::now();
        let role = st
            .tokens
            .lookup(&code, Kind::AccessCode, t)
            .or_else(|| st.tokens.lookup(&code, Kind::Token, t))
            .ok_or_else(|| {
                ops::Error::unauthorized("unknown access code or token").field("code")
            })?;
        st.limiter.check(&code)?;
        let session = st
            .tokens
            .open_session(&code, role.clone(), t)
            .map_err(ops::Error::internal)?;
        Ok((role, session))
    })
    .await
    .map_err(ops::Error::internal)??;
    let ttl = crate::datadir::tokens::SESSION_TTL_SECS;
    let cookie =
        format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={ttl}");
    Ok((
        role,
        axum::http::HeaderValue::from_str(&cookie).map_err(ops::Error::internal)?,
    ))
}

/// The session secret of a `Set-Cookie` value made by [`open_session`].
pub fn session_of(cookie: &axum::http::HeaderValue) -> String {
    cookie
        .to_str()
        .ok()
        .and_then(|c| c.split(';').next())
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

/// A `Set-Cookie` value that deletes the session cookie.
pub fn clear_cookie() -> axum::http::HeaderValue {
    axum::http::HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
    ))
    .expect("static cookie")
}

/// Forgets the session a request names: its cookie, or `Authorization: Bearer <session>` (the
/// sign-out page and `DELETE /api/v1/session`). Only ever the session it is sent with.
pub fn end_session(state: &AppState, headers: &HeaderMap) {
    let t = crate::datadir::now();
    if let Some(s) = cookie(headers, SESSION_COOKIE) {
        let _ = state.tokens.remove(s, t);
    }
    if let Some(s) = bearer(headers).filter(|s| s.starts_with("sgt-s-")) {
        let _ = state.tokens.remove(s, t);
    }
}
