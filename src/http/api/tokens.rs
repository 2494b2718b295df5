//! Bearer tokens (operator): minting an organization's, listing and revoking. The use cases
//! are [`crate::ops::tokens`].

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::created;
use crate::http::auth::OperatorCaller;
use crate::http::AppState;
use crate::ops;
use crate::ops::error::Problem;
use crate::ops::tokens::{self, MintedToken, TokenView};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(mint_org_token))
        .routes(routes!(list_tokens))
        .routes(routes!(revoke_token))
}

/// Optional body of `POST /api/v1/orgs/{org}/tokens`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MintToken {
    /// Lifetime in days (1..=3650); 0: never expires; absent: 365.
    pub expires_days: Option<u32>,
}

/// Mints a bearer token for an organization (operator). The body is optional: an empty body
/// mints a token that expires in 365 days.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/tokens", tag = "operator", security(("bearer" = [])),
    params(("org" = String, Path)), request_body(content = Option<MintToken>, content_type = "application/json", description = "Optional; `{}` or an empty body takes the defaults"),
    responses((status = 201, body = MintedToken), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn mint_org_token(
    State(state): State<AppState>,
    _: OperatorCaller,
    Path(org): Path<String>,
    body: Bytes,
) -> ops::Result<Response> {
    let req: MintToken = if body.iter().all(u8::is_ascii_whitespace) {
        MintToken::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            let text = e.to_string();
            let field = text.split('`').nth(1).unwrap_or("body").to_string();
            ops::Error::bad_request(text).field(&field)
        })?
    };
    let minted: MintedToken = tokens::mint_org_token(&state.ops, &org, req.expires_days)?;
    Ok(created(minted))
}

/// Lists the live operator and organization tokens (operator), oldest first.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "operator", security(("bearer" = [])),
    responses((status = 200, body = Vec<TokenView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    _: OperatorCaller,
) -> ops::Result<Json<Vec<TokenView>>> {
    Ok(Json(tokens::list(&state.ops)))
}

/// Revokes a token by id (operator): it stops working at once, and so does every web session
/// opened with it.
#[utoipa::path(post, path = "/api/v1/tokens/{id}/revoke", tag = "operator", security(("bearer" = [])),
    params(("id" = String, Path, description = "Token id (16 hex digits) from `GET /api/v1/tokens`")),
    responses((status = 200, description = "The revoked token", body = TokenView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    _: OperatorCaller,
    Path(id): Path<String>,
) -> ops::Result<Json<TokenView>> {
    tokens::revoke(&state.ops, &id).map(Json)
}
