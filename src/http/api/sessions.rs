//! Sessions: signing in with an access code or token, signing out. How a session is opened
//! (rate limits, the cookie) is [`crate::http::auth::open_session`], shared with the sign-in page.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiJson;
use crate::datadir::tokens::Role;
use crate::http::auth::{self, clear_cookie, open_session, session_of};
use crate::http::AppState;
use crate::ops;
use crate::ops::error::Problem;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sign_in, sign_out))
}

/// Body of `POST /api/v1/session`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// A volunteer's access code, or an operator/organization token (for the web pages).
    pub code: String,
}

/// Who a session is for.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// `operator`, `org` or `volunteer`.
    pub role: String,
    /// Organization or volunteer id.
    pub id: Option<String>,
    /// The session secret (the cookie's value): send it as `Authorization: Bearer` on the API's
    /// writes, which never accept the cookie.
    pub session: String,
}

/// Signs in: access code (volunteer) or token → `sagat_session` cookie (HttpOnly,
/// SameSite=Strict, 12 h).
#[utoipa::path(post, path = "/api/v1/session", tag = "volunteer", request_body = SignIn,
    responses((status = 200, body = SessionInfo, headers(("set-cookie" = String))), (status = 401, body = Problem),
        (status = 429, description = "Too many sign-in attempts from this client address (rule `sign-in-rate`) or with this credential (`rate-limit`)", body = Problem, headers(("retry-after" = u64)))))]
pub async fn sign_in(
    State(state): State<AppState>,
    client: auth::ClientIp,
    ApiJson(req): ApiJson<SignIn>,
) -> ops::Result<Response> {
    let (role, cookie) = open_session(&state, client, &req.code).await?;
    let session = session_of(&cookie);
    let (role, id) = match role {
        Role::Operator => ("operator", None),
        Role::Org(o) => ("org", Some(o)),
        Role::Volunteer(v) => ("volunteer", Some(v)),
    };
    let info = SessionInfo {
        role: role.into(),
        id,
        session,
    };
    let mut resp = Json(info).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(resp)
}

/// Signs out: forgets the session named by the cookie, or by `Authorization: Bearer <session>`.
/// (It only ever ends the session it is sent with, so it takes the cookie; `DELETE` cannot be
/// sent cross-site without a CORS preflight, which this server never grants.)
#[utoipa::path(delete, path = "/api/v1/session", tag = "volunteer",
    responses((status = 204)))]
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    auth::end_session(&state, &headers);
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, clear_cookie());
    resp
}
