//! Certificates: a volunteer's list, issuing and downloading (the volunteer); registering
//! issuer keys and revoking credentials (operator). The use cases are
//! [`crate::ops::certificates`].

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, ApiJson};
use crate::http::auth::{Caller, OperatorCaller, VolunteerCaller};
use crate::http::AppState;
use crate::ops::certificates::{self, CredentialView, IssueCertificate, Issued, RegisterIssuer};
use crate::ops::error::Problem;
use crate::ops::fields::Reason;
use crate::ops::{self, Landed};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_issuer))
        .routes(routes!(revoke_credential))
        .routes(routes!(list_certificates, issue_certificate))
        .routes(routes!(certificate_pdf))
        .routes(routes!(certificate_qr_png))
        .routes(routes!(certificate_qr_svg))
}

/// Registers a credential issuer key (operator).
#[utoipa::path(post, path = "/api/v1/issuers", tag = "operator", security(("bearer" = [])),
    request_body = RegisterIssuer,
    responses((status = 201, body = Landed), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn register_issuer(
    State(state): State<AppState>,
    _: OperatorCaller,
    ApiJson(req): ApiJson<RegisterIssuer>,
) -> ops::Result<Response> {
    let landed: Landed = certificates::register_issuer(&state.ops, req).await?;
    Ok(created(landed))
}

/// Revokes a credential (operator). Appends `CredentialRevoked`, signed by the issuer key.
#[utoipa::path(post, path = "/api/v1/credentials/{id}/revoke", tag = "operator", security(("bearer" = [])),
    params(("id" = String, Path, description = "Credential id")), request_body = Reason,
    responses((status = 200, body = Landed), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn revoke_credential(
    State(state): State<AppState>,
    _: OperatorCaller,
    Path(id): Path<String>,
    ApiJson(reason): ApiJson<Reason>,
) -> ops::Result<Json<Landed>> {
    certificates::revoke_credential(&state.ops, &id, &reason, "id")
        .await
        .map(Json)
}

/// Lists the volunteer's credentials.
#[utoipa::path(get, path = "/api/v1/volunteers/{id}/certificates", tag = "volunteer", security(("session" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<CredentialView>), (status = 403, body = Problem)))]
pub async fn list_certificates(
    State(state): State<AppState>,
    _: VolunteerCaller,
    Path(id): Path<String>,
) -> ops::Result<Json<Vec<CredentialView>>> {
    Ok(Json(certificates::of_volunteer(&state.ops, &id)))
}

/// Issues a certificate (the volunteer themself, with `Authorization: Bearer <session>`: a
/// write never takes the cookie).
#[utoipa::path(post, path = "/api/v1/volunteers/{id}/certificates", tag = "volunteer", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = IssueCertificate,
    responses((status = 201, body = Issued), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn issue_certificate(
    State(state): State<AppState>,
    _: VolunteerCaller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<IssueCertificate>,
) -> ops::Result<Response> {
    let issued: Issued = certificates::issue_for(&state.ops, &id, req).await?;
    Ok(created(issued))
}

/// The stored certificate `cid` of volunteer `id`, for that volunteer only.
async fn stored(
    state: &AppState,
    caller: &Caller,
    id: &str,
    cid: &str,
) -> ops::Result<crate::datadir::certstore::StoredCert> {
    caller.require_volunteer(id)?;
    certificates::stored(&state.ops, id, cid).await
}

/// Downloads an issued certificate's PDF.
#[utoipa::path(get, path = "/api/v1/volunteers/{id}/certificates/{cid}/pdf", tag = "volunteer", security(("session" = [])),
    params(("id" = String, Path), ("cid" = String, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn certificate_pdf(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, cid)): Path<(String, String)>,
) -> ops::Result<Response> {
    let c = stored(&state, &caller, &id, &cid).await?;
    Ok(crate::http::headers::pdf_attachment(c))
}

/// The certificate's QR code as PNG.
#[utoipa::path(get, path = "/api/v1/volunteers/{id}/certificates/{cid}/qr.png", tag = "volunteer", security(("session" = [])),
    params(("id" = String, Path), ("cid" = String, Path)),
    responses((status = 200, content_type = "image/png", body = Vec<u8>), (status = 404, body = Problem)))]
pub async fn certificate_qr_png(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, cid)): Path<(String, String)>,
) -> ops::Result<Response> {
    let c = stored(&state, &caller, &id, &cid).await?;
    let png = ops::qr_png(&certificates::printed_qr_text(&state.app, &c))?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

/// The certificate's QR code as SVG.
#[utoipa::path(get, path = "/api/v1/volunteers/{id}/certificates/{cid}/qr.svg", tag = "volunteer", security(("session" = [])),
    params(("id" = String, Path), ("cid" = String, Path)),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 404, body = Problem)))]
pub async fn certificate_qr_svg(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, cid)): Path<(String, String)>,
) -> ops::Result<Response> {
    let c = stored(&state, &caller, &id, &cid).await?;
    let svg = ops::qr_svg(&certificates::printed_qr_text(&state.app, &c))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}
