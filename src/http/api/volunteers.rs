//! Volunteers: enrollment and access codes (organization), their hours (the volunteer). The
//! use cases are [`crate::ops::volunteers`].

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, ApiJson};
use crate::http::auth::{OrgCaller, OrgOrOperatorCaller, VolunteerCaller};
use crate::http::AppState;
use crate::ops;
use crate::ops::error::Problem;
use crate::ops::volunteers::{self, AccessCode, Enrolled};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(enroll_volunteer))
        .routes(routes!(reissue_access_code))
        .routes(routes!(volunteer_hours))
}

/// Body of `POST /api/v1/orgs/{org}/volunteers`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollVolunteer {
    /// The volunteer's name as they write it (kept outside the log, erasable).
    pub name: String,
    /// Optional contact (kept outside the log, erasable).
    pub contact: Option<String>,
}

/// Enrolls a volunteer (organization).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/volunteers", tag = "organization", security(("bearer" = [])),
    params(("org" = String, Path)), request_body = EnrollVolunteer,
    responses((status = 201, body = Enrolled), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn enroll_volunteer(
    State(state): State<AppState>,
    _: OrgCaller,
    Path(org): Path<String>,
    ApiJson(req): ApiJson<EnrollVolunteer>,
) -> ops::Result<Response> {
    let enrolled: Enrolled = volunteers::enroll(&state.ops, &org, &req.name, req.contact).await?;
    Ok(created(enrolled))
}

/// Re-issues a volunteer's access code (the enrolling organization, or the operator). The old
/// code stops working and every session of the volunteer ends. A suspended organization may
/// not (403 `org-suspended`).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/volunteers/{id}/access-code", tag = "organization", security(("bearer" = [])),
    params(("org" = String, Path), ("id" = String, Path)),
    responses((status = 201, body = AccessCode), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn reissue_access_code(
    State(state): State<AppState>,
    OrgOrOperatorCaller(caller): OrgOrOperatorCaller,
    Path((org, id)): Path<(String, String)>,
) -> ops::Result<Response> {
    let operator = caller.require_operator().is_ok();
    let code: AccessCode = volunteers::reissue_access_code(&state.ops, &org, &id, operator, "id")?;
    Ok(created(code))
}

/// A volunteer's hours: total and breakdowns by organization, category and year (live
/// attestations only; corrections applied).
#[utoipa::path(get, path = "/api/v1/volunteers/{id}/hours", tag = "volunteer", security(("session" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "Hours projection", body = Object), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn volunteer_hours(
    State(state): State<AppState>,
    _: VolunteerCaller,
    Path(id): Path<String>,
) -> ops::Result<Json<serde_json::Value>> {
    let hours = volunteers::hours(&state.app, &id)?;
    Ok(Json(
        serde_json::to_value(&hours).map_err(ops::Error::internal)?,
    ))
}
