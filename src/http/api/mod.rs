//! The JSON API under `/api/v1`. Every handler is annotated for the OpenAPI document served at
//! `/api/openapi.json` (utoipa), so the document is generated from the code it describes.
//!
//! Role rules (each has a router test in tests/service_api.rs):
//! - operator token: register organizations and issuer keys, mint organization tokens,
//!   suspend/reinstate organizations, revoke credentials;
//! - organization token: its own organization only (`org-scope`) — activities, volunteers,
//!   attestations (single, pre-signed, CSV), corrections, retractions;
//! - volunteer session: its own hours and certificates only (`own-data-only`);
//! - public: organization registry, activities, verification, trust and status lists, the log.
//!
//! Writes (any method but GET/HEAD) authenticate with `Authorization: Bearer` only, never the
//! session cookie (see [`super::auth`]): a volunteer sends the session secret returned by
//! `POST /api/v1/session` as a bearer token.

mod activities;
mod attestations;
mod certificates;
mod orgs;
mod public;
mod sessions;
mod tokens;
mod volunteers;

use axum::body::Body;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use super::auth::SESSION_COOKIE;
use super::AppState;
use crate::ops::error::{Problem, RowError};
use crate::ops::{self, Created};

/// The OpenAPI document's root.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sagat API",
        version = "1",
        description = "Signed, auditable volunteer hours. Errors are RFC 9457 problem+json with `field` and `rule`. See docs/api.md."
    ),
    components(schemas(Problem, RowError)),
    modifiers(&BearerAuth),
    tags(
        (name = "operator", description = "Operator token"),
        (name = "organization", description = "Organization token, own organization only"),
        (name = "volunteer", description = "Volunteer session, own data only: the cookie for reads, `Authorization: Bearer <session>` for writes"),
        (name = "public", description = "No credentials")
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))),
        );
    }
}

/// Makes the generated document say what every route really answers on error, in one place
/// instead of on each handler: every 4xx/5xx answer is `application/problem+json` (the
/// [`Problem`] schema), and every operation that takes a request body also declares 400
/// (malformed), 413 (too large) and 415 (wrong content type), which the extractors and body
/// limits answer for every such route.
pub fn document_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};
    let problem = || Content::new(Some(Ref::from_schema_name("Problem")));
    for item in doc.paths.paths.values_mut() {
        let ops = [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
            item.patch.as_mut(),
        ];
        for op in ops.into_iter().flatten() {
            if op.request_body.is_some() {
                for (code, what) in [
                    ("400", "Malformed request (body, header or parameter)"),
                    ("413", "Request body too large"),
                    ("415", "Unsupported content type"),
                ] {
                    op.responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| {
                            RefOr::T(ResponseBuilder::new().description(what).build())
                        });
                }
            }
            for (code, response) in op.responses.responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                if code.starts_with('4') || code.starts_with('5') {
                    response.content.shift_remove("application/json");
                    response
                        .content
                        .insert("application/problem+json".to_string(), RefOr::T(problem()));
                }
            }
        }
    }
}

/// Every documented route, one module per resource.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(orgs::routes())
        .merge(tokens::routes())
        .merge(activities::routes())
        .merge(volunteers::routes())
        .merge(attestations::routes())
        .merge(sessions::routes())
        .merge(certificates::routes())
        .merge(public::routes())
}

/// Fallback: a problem document for unknown paths.
pub async fn not_found() -> ops::Error {
    ops::Error::not_found("path", "no such resource")
}

// ---------------------------------------------------------------------------------------------
// JSON extraction with problem+json rejections.

/// `Json<T>` whose rejections are problem documents naming the field serde complained about.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ops::Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, ops::Error> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rej) => {
                let status = rej.status();
                let text = rej.body_text();
                let mut e = match status {
                    StatusCode::PAYLOAD_TOO_LARGE => {
                        ops::Error::new(ops::Kind::TooLarge, text.clone())
                            .field("body")
                            .rule("body-size")
                    }
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => ops::Error::new(
                        ops::Kind::ContentType,
                        "send Content-Type: application/json",
                    )
                    .field("content-type")
                    .rule("json-body"),
                    StatusCode::UNPROCESSABLE_ENTITY => {
                        ops::Error::invalid("body", "schema", text.clone())
                    }
                    _ => ops::Error::bad_request(text.clone()).field("body"),
                };
                // serde names the field in backticks: "missing field `date`", "unknown field `x`".
                if status == StatusCode::PAYLOAD_TOO_LARGE
                    || status == StatusCode::UNSUPPORTED_MEDIA_TYPE
                {
                    // field already set
                } else if let Some(field) = text.split('`').nth(1) {
                    e.problem.field = Some(field.to_string());
                } else if let Some(path) = text.split(": ").nth(1).filter(|p| !p.contains(' ')) {
                    e.problem.field = Some(path.to_string());
                }
                Err(e)
            }
        }
    }
}

/// The `Idempotency-Key` header ([`ops::IDEMPOTENCY_HEADER`]), if any.
pub(super) fn idempotency_key(headers: &HeaderMap) -> ops::Result<Option<ops::IdempotencyKey>> {
    match headers.get(ops::IDEMPOTENCY_HEADER) {
        None => Ok(None),
        Some(v) => ops::IdempotencyKey::parse(v.to_str().unwrap_or("\u{0}")).map(Some),
    }
}

pub(super) fn created<T: Serialize>(v: T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

/// 201 with what was created, or 200 with the first result when this answers a retry with
/// the same `Idempotency-Key` ([`Created::duplicate`]).
pub(super) fn created_or_replayed(done: Created) -> Response {
    if done.duplicate {
        (StatusCode::OK, Json(done)).into_response()
    } else {
        created(done)
    }
}

/// The optional `Idempotency-Key` request header of server-signed appends.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// 1 to 255 visible ASCII characters, e.g. a random UUID, new for each new request. A retry
    /// with the same key (after a timeout, a 5xx or a crash) returns the first request's result
    /// (200, `duplicate: true`) instead of appending again; the key is remembered by the log
    /// itself (the event ids derive from it), so forever.
    #[param(rename = "Idempotency-Key")]
    #[allow(dead_code)]
    idempotency_key: Option<String>,
}

/// Reads a body up to `limit` bytes, or a 413 problem.
pub(super) async fn read_limited(body: Body, limit: usize) -> ops::Result<Bytes> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        ops::Error::new(
            ops::Kind::TooLarge,
            format!("the body exceeds the {limit}-byte limit"),
        )
        .field("body")
        .rule("body-size")
    })
}
