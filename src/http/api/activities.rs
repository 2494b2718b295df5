//! Activities: an organization's list (public) and publishing one (organization). The use
//! cases are [`crate::ops::activities`].

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created_or_replayed, idempotency_key, ApiJson, IdempotencyKeyHeader};
use crate::http::auth::OrgCaller;
use crate::http::AppState;
use crate::ops::activities::{self, ActivityView, PublishActivity};
use crate::ops::error::Problem;
use crate::ops::{self, Created};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_activities, publish_activity))
}

/// `GET /api/v1/orgs/{org}/activities`
#[utoipa::path(get, path = "/api/v1/orgs/{org}/activities", tag = "public",
    params(("org" = String, Path)),
    responses((status = 200, body = Vec<ActivityView>), (status = 404, body = Problem)))]
pub async fn list_activities(
    State(state): State<AppState>,
    Path(org): Path<String>,
) -> ops::Result<Json<Vec<ActivityView>>> {
    activities::list(&state.app, &org).map(Json)
}

/// Publishes an activity (organization; server-held key).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/activities", tag = "organization", security(("bearer" = [])),
    params(("org" = String, Path), IdempotencyKeyHeader), request_body = PublishActivity,
    responses((status = 201, body = Created), (status = 200, description = "Replay of an earlier request with the same Idempotency-Key: its result", body = Created), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, description = "Storage failure: `rule` says whether it was recorded", body = Problem, content_type = "application/problem+json")))]
pub async fn publish_activity(
    State(state): State<AppState>,
    _: OrgCaller,
    Path(org): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<PublishActivity>,
) -> ops::Result<Response> {
    let key = idempotency_key(&headers)?;
    let done: Created = activities::publish(&state.ops, &org, req, key.as_ref()).await?;
    Ok(created_or_replayed(done))
}
