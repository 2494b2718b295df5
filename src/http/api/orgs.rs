//! Organizations: the public registry, registration, new names or region, suspension and
//! reinstatement (operator). The use cases are [`crate::ops::organizations`].

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, ApiJson};
use crate::http::auth::OperatorCaller;
use crate::http::AppState;
use crate::ops::error::Problem;
use crate::ops::fields::Reason;
use crate::ops::organizations::{self, OrgChanges, OrgRegistered, OrgView, RegisterOrg};
use crate::ops::{self, Landed};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orgs, register_org))
        .routes(routes!(get_org, update_org))
        .routes(routes!(suspend_org))
        .routes(routes!(reinstate_org))
}

/// `GET /api/v1/orgs`
#[utoipa::path(get, path = "/api/v1/orgs", tag = "public",
    responses((status = 200, description = "Registered organizations", body = Vec<OrgView>)))]
pub async fn list_orgs(State(state): State<AppState>) -> Json<Vec<OrgView>> {
    Json(organizations::list(&state.app))
}

/// `GET /api/v1/orgs/{org}`
#[utoipa::path(get, path = "/api/v1/orgs/{org}", tag = "public",
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = OrgView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_org(
    State(state): State<AppState>,
    Path(org): Path<String>,
) -> ops::Result<Json<OrgView>> {
    organizations::get(&state.app, &org).map(Json)
}

/// Body of `PATCH /api/v1/orgs/{org}`: the fields to change; absent ones keep their value, and
/// an empty text removes an optional one (Kazakh or Russian name, region).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrg {
    /// New English name.
    pub name_en: Option<String>,
    /// New Kazakh name (`""` removes it).
    pub name_kk: Option<String>,
    /// New Russian name (`""` removes it).
    pub name_ru: Option<String>,
    /// New region (`""` removes it).
    pub region: Option<String>,
}

/// Records an organization's new names or region (operator): an `OrganizationUpdated` entry.
/// New certificates, the trust list and the pages use the new names; certificates issued before
/// keep the ones they were issued with.
#[utoipa::path(patch, path = "/api/v1/orgs/{org}", tag = "operator", request_body = UpdateOrg,
    security(("bearer" = [])),
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = Landed), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_org(
    State(state): State<AppState>,
    _: OperatorCaller,
    Path(org): Path<String>,
    ApiJson(req): ApiJson<UpdateOrg>,
) -> ops::Result<Json<Landed>> {
    let changes = OrgChanges {
        name_en: req.name_en,
        name_kk: req.name_kk,
        name_ru: req.name_ru,
        region: req.region,
    };
    organizations::update(&state.ops, &org, &changes)
        .await
        .map(Json)
}

/// Registers an organization (operator).
#[utoipa::path(post, path = "/api/v1/orgs", tag = "operator", request_body = RegisterOrg,
    security(("bearer" = [])),
    responses((status = 201, body = OrgRegistered), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn register_org(
    State(state): State<AppState>,
    _: OperatorCaller,
    ApiJson(req): ApiJson<RegisterOrg>,
) -> ops::Result<Response> {
    let registered: OrgRegistered = organizations::register(&state.ops, req).await?;
    Ok(created(registered))
}

/// Suspends an organization (operator): it can append nothing until reinstated.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/suspend", tag = "operator", security(("bearer" = [])),
    params(("org" = String, Path)), request_body = Reason,
    responses((status = 200, body = Landed), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn suspend_org(
    State(state): State<AppState>,
    _: OperatorCaller,
    Path(org): Path<String>,
    ApiJson(reason): ApiJson<Reason>,
) -> ops::Result<Json<Landed>> {
    organizations::change_status(&state.ops, &org, &reason, true)
        .await
        .map(Json)
}

/// Reinstates a suspended organization (operator).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/reinstate", tag = "operator", security(("bearer" = [])),
    params(("org" = String, Path)), request_body = Reason,
    responses((status = 200, body = Landed), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn reinstate_org(
    State(state): State<AppState>,
    _: OperatorCaller,
    Path(org): Path<String>,
    ApiJson(reason): ApiJson<Reason>,
) -> ops::Result<Json<Landed>> {
    organizations::change_status(&state.ops, &org, &reason, false)
        .await
        .map(Json)
}
