//! Attestations (organization): one, pre-signed, a CSV file; corrections and retractions; the
//! organization's list. The use cases are [`crate::ops::attestations`] and
//! [`crate::ops::csv_upload`].

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use sagat_verifier::Signer;

use super::{
    created, created_or_replayed, idempotency_key, read_limited, ApiJson, IdempotencyKeyHeader,
};
use crate::http::auth::OrgCaller;
use crate::http::AppState;
use crate::ops::attestations::{self, Attest, AttestationQuery, AttestationView, Correct};
use crate::ops::csv_upload::{self, CsvAccepted};
use crate::ops::error::Problem;
use crate::ops::fields::Reason;
use crate::ops::{self, Created, Landed};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_attestations, attest))
        .routes(routes!(attest_csv))
        .routes(routes!(hours_csv))
        .routes(routes!(post_signed_event))
        .routes(routes!(correct_attestation))
        .routes(routes!(retract_attestation))
}

/// Attests hours (organization; server-held key).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/attestations", tag = "organization", security(("bearer" = [])),
    params(("org" = String, Path), IdempotencyKeyHeader), request_body = Attest,
    responses((status = 201, body = Created), (status = 200, description = "Replay of an earlier request with the same Idempotency-Key: its result", body = Created), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, description = "Storage failure: `rule` says whether it was recorded", body = Problem, content_type = "application/problem+json")))]
pub async fn attest(
    State(state): State<AppState>,
    _: OrgCaller,
    Path(org): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<Attest>,
) -> ops::Result<Response> {
    let key = idempotency_key(&headers)?;
    let done: Created = attestations::attest(&state.ops, &org, req.into(), key.as_ref()).await?;
    Ok(created_or_replayed(done))
}

/// Lists the organization's attestations (organization), newest day first, filtered by
/// volunteer, activity and dates; `per_page` pages it. `X-Total-Count` says how many match.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/attestations", tag = "organization", security(("bearer" = [])),
    params(("org" = String, Path), AttestationQuery),
    responses((status = 200, body = Vec<AttestationView>, headers(("X-Total-Count" = usize, description = "Attestations matching the filters, on every page"))), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_attestations(
    State(state): State<AppState>,
    _: OrgCaller,
    Path(org): Path<String>,
    Query(q): Query<AttestationQuery>,
) -> ops::Result<Response> {
    let page = attestations::list(&state.app, &org, &q)?;
    Ok(([("x-total-count", page.total.to_string())], Json(page.rows)).into_response())
}

/// The organization's live hours as CSV, one row per month, volunteer and activity
/// (organization): `month,volunteer,name,activity,activity_title,category,attestations,minutes,hours`.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/hours.csv", tag = "organization", security(("bearer" = [])),
    params(("org" = String, Path)),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = Problem)))]
pub async fn hours_csv(
    State(state): State<AppState>,
    _: OrgCaller,
    Path(org): Path<String>,
) -> ops::Result<Response> {
    let csv = attestations::hours_csv(&state.app, &org)?;
    Ok(crate::http::headers::csv_attachment(
        &format!("{org}-hours.csv"),
        csv,
    ))
}

/// CSV bulk attestation (organization): header `volunteer,date,hours[,activity,role,note]`.
/// All rows valid → all appended in one batch; otherwise 422 with `errors`, one per bad row.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/attestations/csv", tag = "organization", security(("bearer" = [])),
    params(("org" = String, Path), IdempotencyKeyHeader), request_body(content = String, content_type = "text/csv"),
    responses((status = 201, body = CsvAccepted), (status = 200, description = "Replay of an earlier upload with the same Idempotency-Key: its result (`duplicate: true`)", body = CsvAccepted), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem), (status = 503, description = "Storage failure: `rule` says whether it was recorded", body = Problem, content_type = "application/problem+json")))]
pub async fn attest_csv(
    State(state): State<AppState>,
    _: OrgCaller,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ops::Result<Response> {
    let key = idempotency_key(&headers)?;
    let bytes = read_limited(body, state.max_upload_bytes).await?;
    let accepted: CsvAccepted = csv_upload::upload(&state.ops, &org, &bytes, key.as_ref()).await?;
    Ok(if accepted.duplicate {
        (StatusCode::OK, Json(accepted)).into_response()
    } else {
        created(accepted)
    })
}

/// Appends a pre-signed event (organization): the COSE_Sign1 bytes exactly as signed by the
/// organization's own key (e.g. made with the CLI). The event must be one its organization
/// signs, and that organization must be the caller.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/events", tag = "organization", security(("bearer" = [])),
    params(("org" = String, Path)), request_body(content = Vec<u8>, content_type = "application/cose"),
    responses((status = 201, body = Landed), (status = 200, description = "Idempotent resend", body = Landed), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn post_signed_event(
    State(state): State<AppState>,
    _: OrgCaller,
    Path(org): Path<String>,
    body: Bytes,
) -> ops::Result<Response> {
    // One decode, off the reactor: the ledger decodes the entry and this check sees the
    // decoded event before anything is appended.
    let landed: Landed = ops::append_checked(&state, body.to_vec(), move |signed| {
        match signed.event.body.signer() {
            Signer::Organization(o) if o == org => Ok(()),
            Signer::Organization(o) => Err(ops::Error::forbidden(
                "org-scope",
                format!("the event is for organization {o:?}; this token acts only for {org:?}"),
            )
            .field("org")),
            _ => Err(ops::Error::forbidden(
                "role-organization",
                format!(
                    "{} events are not signed by an organization",
                    signed.event.body.type_name()
                ),
            )
            .field("body")),
        }
    })
    .await?;
    let status = if landed.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(landed)).into_response())
}

/// Corrects an attestation (the attesting organization).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/attestations/{id}/correct", tag = "organization", security(("bearer" = [])),
    params(("org" = String, Path), ("id" = String, Path), IdempotencyKeyHeader), request_body = Correct,
    responses((status = 201, body = Created), (status = 200, description = "Replay of an earlier request with the same Idempotency-Key: its result", body = Created), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 422, body = Problem), (status = 503, description = "Storage failure: `rule` says whether it was recorded", body = Problem, content_type = "application/problem+json")))]
pub async fn correct_attestation(
    State(state): State<AppState>,
    _: OrgCaller,
    Path((org, id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<Correct>,
) -> ops::Result<Response> {
    let key = idempotency_key(&headers)?;
    let done = attestations::correct(&state.ops, &org, &id, req.into(), key.as_ref()).await?;
    Ok(created_or_replayed(done))
}

/// Retracts an attestation (the attesting organization).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/attestations/{id}/retract", tag = "organization", security(("bearer" = [])),
    params(("org" = String, Path), ("id" = String, Path), IdempotencyKeyHeader), request_body = Reason,
    responses((status = 201, body = Created), (status = 200, description = "Replay of an earlier request with the same Idempotency-Key: its result", body = Created), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 422, body = Problem), (status = 503, description = "Storage failure: `rule` says whether it was recorded", body = Problem, content_type = "application/problem+json")))]
pub async fn retract_attestation(
    State(state): State<AppState>,
    _: OrgCaller,
    Path((org, id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<Reason>,
) -> ops::Result<Response> {
    let key = idempotency_key(&headers)?;
    let done = attestations::retract(&state.ops, &org, &id, &req, key.as_ref()).await?;
    Ok(created_or_replayed(done))
}
