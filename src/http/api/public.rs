//! Public reads: verification of a QR text, the trust and status lists, log entries and
//! Merkle proofs. No credentials.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiJson;
use crate::http::AppState;
use crate::ops;
use crate::ops::error::Problem;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(verify))
        .routes(routes!(trust_list))
        .routes(routes!(status_list))
        .routes(routes!(log_entry))
        .routes(routes!(log_entry_proof))
        .routes(routes!(inclusion_proof))
        .routes(routes!(consistency_proof))
}

/// Body of `POST /api/v1/verify`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The QR text, `VH1:...`.
    pub qr_text: String,
}

/// Verifies a credential's QR text against this server's trust list and status list: the
/// same check `sagat-verify` runs offline.
#[utoipa::path(post, path = "/api/v1/verify", tag = "public", request_body = VerifyRequest,
    responses((status = 200, description = "The verdict (VALID, REVOKED, EXPIRED or INVALID with reasons)", body = ops::verification::VerifyOutcome)))]
pub async fn verify(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<VerifyRequest>,
) -> ops::Result<Json<ops::verification::VerifyOutcome>> {
    let st = state.clone();
    let outcome =
        tokio::task::spawn_blocking(move || ops::verification::verify_qr(&st, &req.qr_text))
            .await
            .map_err(ops::Error::internal)??;
    state
        .metrics
        .count_verdict(&outcome.verdict.to_ascii_lowercase());
    Ok(Json(outcome))
}

/// The operator-signed trust list (issuer keys a verifier should trust).
#[utoipa::path(get, path = "/api/v1/trust-list", tag = "public",
    responses((status = 200, content_type = "application/json", body = Object)))]
pub async fn trust_list(State(state): State<AppState>) -> ops::Result<Response> {
    let lists = exports(&state).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        lists.trust_json.clone(),
    )
        .into_response())
}

/// The issuer-signed revocation status list: a Token Status List CWT (COSE_Sign1).
#[utoipa::path(get, path = "/api/v1/status-list", tag = "public",
    responses((status = 200, content_type = "application/statuslist+cwt", body = Vec<u8>)))]
pub async fn status_list(State(state): State<AppState>) -> ops::Result<Response> {
    let lists = exports(&state).await?;
    Ok((
        [
            (header::CONTENT_TYPE, sagat_verifier::STATUS_LIST_TYP),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        lists.status_bytes.clone(),
    )
        .into_response())
}

/// The cached trust and status lists, made on the blocking pool when stale (signing and
/// opening them reads the whole rule state).
async fn exports(state: &AppState) -> ops::Result<std::sync::Arc<ops::verification::Exports>> {
    let st = state.clone();
    tokio::task::spawn_blocking(move || st.exports.get(&st.app))
        .await
        .map_err(ops::Error::internal)?
}

/// One log entry: its exact stored bytes (a COSE_Sign1).
#[utoipa::path(get, path = "/api/v1/log/entries/{index}", tag = "public",
    params(("index" = u64, Path)),
    responses((status = 200, content_type = "application/cose", body = Vec<u8>), (status = 404, body = Problem)))]
pub async fn log_entry(
    State(state): State<AppState>,
    Path(index): Path<String>,
) -> ops::Result<Response> {
    let index = parse_u64("index", &index)?;
    let bytes = state.app.ledger.entry(index).map_err(ops::ledger_error)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/cose; cose-type=\"cose-sign1\"",
            ),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    )
        .into_response())
}

/// A C2SP `tlog-proof@v1` inclusion proof for an entry against the latest checkpoint.
#[utoipa::path(get, path = "/api/v1/log/entries/{index}/proof", tag = "public",
    params(("index" = u64, Path)),
    responses((status = 200, content_type = "text/plain", body = String), (status = 404, body = Problem)))]
pub async fn log_entry_proof(
    State(state): State<AppState>,
    Path(index): Path<String>,
) -> ops::Result<Response> {
    let index = parse_u64("index", &index)?;
    let text = state
        .app
        .ledger
        .tlog_proof(index)
        .map_err(ops::ledger_error)?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

fn parse_u64(field: &str, s: &str) -> ops::Result<u64> {
    s.parse().map_err(|_| {
        ops::Error::invalid(
            field,
            "integer",
            format!("{field} {s:?} is not a non-negative integer"),
        )
    })
}

/// Query of `GET /api/v1/log/inclusion`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct InclusionQuery {
    /// Entry index.
    pub index: u64,
    /// Tree size (default: the latest checkpoint's).
    pub size: Option<u64>,
}

/// A Merkle proof (RFC 6962 §2.1.1 / §2.1.2 hashes, base64).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProofView {
    /// Leaf index (inclusion) or old size (consistency).
    pub from: u64,
    /// Tree size.
    pub size: u64,
    /// The proof hashes, base64, in RFC 6962 order.
    pub hashes: Vec<String>,
}

fn b64(h: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(h)
}

/// An RFC 6962 inclusion proof.
#[utoipa::path(get, path = "/api/v1/log/inclusion", tag = "public", params(InclusionQuery),
    responses((status = 200, body = ProofView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn inclusion_proof(
    State(state): State<AppState>,
    q: Result<Query<InclusionQuery>, axum::extract::rejection::QueryRejection>,
) -> ops::Result<Json<ProofView>> {
    let Query(q) = q.map_err(|e| ops::Error::invalid("index", "query", e.body_text()))?;
    let size = q.size.unwrap_or_else(|| state.app.ledger.size());
    if q.index >= size || size > state.app.ledger.size() {
        return Err(ops::Error::not_found(
            "index",
            format!(
                "no entry {} in a tree of size {size} (log size {})",
                q.index,
                state.app.ledger.size()
            ),
        ));
    }
    let proof = state
        .app
        .ledger
        .inclusion_proof(q.index, size)
        .map_err(ops::ledger_error)?;
    Ok(Json(ProofView {
        from: q.index,
        size,
        hashes: proof.iter().map(|h| b64(h.as_ref())).collect(),
    }))
}

/// Query of `GET /api/v1/log/consistency`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ConsistencyQuery {
    /// Old tree size.
    pub from: u64,
    /// New tree size (default: the latest).
    pub to: Option<u64>,
}

/// An RFC 6962 consistency proof between two tree sizes.
#[utoipa::path(get, path = "/api/v1/log/consistency", tag = "public", params(ConsistencyQuery),
    responses((status = 200, body = ProofView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn consistency_proof(
    State(state): State<AppState>,
    q: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
) -> ops::Result<Json<ProofView>> {
    let Query(q) = q.map_err(|e| ops::Error::invalid("from", "query", e.body_text()))?;
    let to = q.to.unwrap_or_else(|| state.app.ledger.size());
    if q.from > to || to > state.app.ledger.size() {
        return Err(ops::Error::not_found(
            "to",
            format!(
                "no consistency proof from {} to {to} (log size {})",
                q.from,
                state.app.ledger.size()
            ),
        ));
    }
    let proof = state
        .app
        .ledger
        .consistency_proof(q.from, to)
        .map_err(ops::ledger_error)?;
    Ok(Json(ProofView {
        from: q.from,
        size: to,
        hashes: proof.iter().map(|h| b64(h.as_ref())).collect(),
    }))
}
