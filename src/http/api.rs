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

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use sagat_verifier::{
    ActivityPublished, AttestationCorrected, AttestationRetracted, Category, EventBody,
    IssuerKeyRegistered, Names, OrganizationRegistered, OrganizationStatusChanged, Signer,
    VolunteerEnrolled,
};

use super::auth::{
    Caller, OperatorCaller, OrgCaller, OrgOrOperatorCaller, VolunteerCaller, SESSION_COOKIE,
};
use super::AppState;
use crate::datadir::is_safe_id;
use crate::datadir::now;
use crate::datadir::tokens::{Kind, Role, SESSION_TTL_SECS};
use crate::ops::error::{Problem, RowError};
use crate::ops::{self, Landed};

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

/// Every documented route.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(list_orgs, register_org))
        .routes(routes!(get_org, update_org))
        .routes(routes!(mint_org_token))
        .routes(routes!(list_tokens))
        .routes(routes!(revoke_token))
        .routes(routes!(suspend_org))
        .routes(routes!(reinstate_org))
        .routes(routes!(register_issuer))
        .routes(routes!(revoke_credential))
        .routes(routes!(list_activities, publish_activity))
        .routes(routes!(enroll_volunteer))
        .routes(routes!(reissue_access_code))
        .routes(routes!(list_attestations, attest))
        .routes(routes!(attest_csv))
        .routes(routes!(post_signed_event))
        .routes(routes!(correct_attestation))
        .routes(routes!(retract_attestation))
        .routes(routes!(sign_in, sign_out))
        .routes(routes!(volunteer_hours))
        .routes(routes!(list_certificates, issue_certificate))
        .routes(routes!(certificate_pdf))
        .routes(routes!(certificate_qr_png))
        .routes(routes!(certificate_qr_svg))
        .routes(routes!(verify))
        .routes(routes!(trust_list))
        .routes(routes!(status_list))
        .routes(routes!(log_entry))
        .routes(routes!(log_entry_proof))
        .routes(routes!(inclusion_proof))
        .routes(routes!(consistency_proof))
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

fn check_id128(field: &str, value: &str) -> ops::Result<()> {
    if sagat_verifier::is_valid_id128(value) {
        Ok(())
    } else {
        Err(ops::Error::invalid(
            field,
            "id-format",
            format!("{field} {value:?} is not 32 lowercase hex digits"),
        ))
    }
}

fn check_date(field: &str, value: &str) -> ops::Result<()> {
    sagat_verifier::parse_date(value)
        .map(|_| ())
        .map_err(|e| ops::Error::invalid(field, "date-format", format!("{field}: {e}")))
}

fn minutes_of(minutes: Option<u32>, hours: Option<f64>) -> ops::Result<u32> {
    let m = match (minutes, hours) {
        (Some(m), None) => m,
        (None, Some(h)) => crate::ops::attest_csv::parse_hours(&h.to_string())
            .map_err(|e| ops::Error::invalid("hours", "minutes", e))?,
        _ => {
            return Err(ops::Error::invalid(
                "minutes",
                "required",
                "give exactly one of `minutes` (integer) or `hours` (decimal)",
            ))
        }
    };
    if !(1..=1440).contains(&m) {
        return Err(ops::Error::invalid(
            "minutes",
            "minutes",
            format!("{m} minutes is not in 1..=1440"),
        ));
    }
    Ok(m)
}

/// The `Idempotency-Key` header ([`ops::IDEMPOTENCY_HEADER`]), if any.
fn idempotency_key(headers: &HeaderMap) -> ops::Result<Option<ops::IdempotencyKey>> {
    match headers.get(ops::IDEMPOTENCY_HEADER) {
        None => Ok(None),
        Some(v) => ops::IdempotencyKey::parse(v.to_str().unwrap_or("\u{0}")).map(Some),
    }
}

fn created<T: Serialize>(v: T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

// ---------------------------------------------------------------------------------------------
// Organizations (operator writes, public reads).

/// Public facts about an organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgView {
    /// Organization id.
    pub org: String,
    /// Names in kk/ru/en.
    #[schema(value_type = Object)]
    pub names: Names,
    /// Region.
    pub region: Option<String>,
    /// Whether it is suspended.
    pub suspended: bool,
    /// Whether the server holds its signing key (web forms work).
    pub server_holds_key: bool,
}

fn org_view(state: &AppState, org: &str) -> Option<OrgView> {
    let info = state.app.ledger.read(|s| s.organization(org))?;
    Some(OrgView {
        org: org.to_string(),
        names: info.names.clone(),
        region: info.region.clone(),
        suspended: info.suspended,
        server_holds_key: ops::holds_org_key(&state.app, org),
    })
}

/// `GET /api/v1/orgs`
#[utoipa::path(get, path = "/api/v1/orgs", tag = "public",
    responses((status = 200, description = "Registered organizations", body = Vec<OrgView>)))]
pub async fn list_orgs(State(state): State<AppState>) -> Json<Vec<OrgView>> {
    let ids: Vec<String> = state.app.ledger.read(|s| {
        s.organizations()
            .into_iter()
            .map(|o| o.org.clone())
            .collect()
    });
    Json(ids.iter().filter_map(|o| org_view(&state, o)).collect())
}

/// `GET /api/v1/orgs/{org}`
#[utoipa::path(get, path = "/api/v1/orgs/{org}", tag = "public",
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = OrgView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_org(
    State(state): State<AppState>,
    Path(org): Path<String>,
) -> ops::Result<Json<OrgView>> {
    org_view(&state, &org)
        .map(Json)
        .ok_or_else(|| ops::Error::not_found("org", format!("no organization {org:?}")))
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
    let changes = crate::datadir::OrgChanges {
        name_en: req.name_en,
        name_kk: req.name_kk,
        name_ru: req.name_ru,
        region: req.region,
    };
    update_org_inner(&state, &org, &changes).await.map(Json)
}

/// Appends the `OrganizationUpdated` of `changes` (the API and the operator's page).
pub async fn update_org_inner(
    state: &AppState,
    org: &str,
    changes: &crate::datadir::OrgChanges,
) -> ops::Result<Landed> {
    let body = state
        .app
        .organization_update(org, changes)
        .ok_or_else(|| ops::Error::not_found("org", format!("no organization {org:?}")))?;
    let (_, landed) = ops::append_as_operator(state, body).await?;
    Ok(landed)
}

/// Body of `POST /api/v1/orgs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterOrg {
    /// Organization id: 2..=64 of a-z, 0-9, '-'.
    pub id: String,
    /// English name (required).
    pub name_en: String,
    /// Kazakh name.
    pub name_kk: Option<String>,
    /// Russian name.
    pub name_ru: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// The organization's own Ed25519 public key (base64 or hex). Omit it to let the server
    /// generate and hold the key (stored 0600, never returned) so the web forms can sign.
    pub public_key: Option<String>,
}

/// Answer of `POST /api/v1/orgs`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgRegistered {
    /// Organization id.
    pub org: String,
    /// Log index of `OrganizationRegistered`.
    pub index: u64,
    /// The organization's public key, base64.
    pub public_key: String,
    /// Whether the server holds the private key.
    pub server_holds_key: bool,
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
    Ok(created(register_org_inner(&state, req).await?))
}

/// Registers an organization (the operator's part of `POST /api/v1/orgs` and the web form).
pub async fn register_org_inner(state: &AppState, req: RegisterOrg) -> ops::Result<OrgRegistered> {
    if !is_safe_id(&req.id) || req.id.len() < 2 || req.id.contains(['.', '_']) {
        return Err(ops::Error::invalid(
            "id",
            "id-format",
            format!(
                "organization id {:?} is not 2 to 64 characters of a-z, 0-9 and '-'",
                req.id
            ),
        ));
    }
    if req.name_en.trim().is_empty() {
        return Err(ops::Error::invalid(
            "name_en",
            "required-text",
            "name_en must not be empty",
        ));
    }
    if ops::org_exists(&state.app, &req.id) {
        return Err(ops::Error::conflict(
            "org-unique",
            format!("organization {:?} is already registered", req.id),
        )
        .field("id"));
    }
    let (public_key, held) = match &req.public_key {
        Some(text) => (
            sagat_verifier::parse_public_key(text)
                .map_err(|e| ops::Error::invalid("public_key", "public-key", e.to_string()))?,
            false,
        ),
        None => (
            ops::create_org_key(&state.app, &req.id)?.verifying_key(),
            true,
        ),
    };
    let body = EventBody::OrganizationRegistered(OrganizationRegistered {
        org: req.id.clone(),
        names: Names {
            kk: req.name_kk.filter(|s| !s.trim().is_empty()),
            ru: req.name_ru.filter(|s| !s.trim().is_empty()),
            en: req.name_en.trim().to_string(),
        },
        region: req.region.filter(|s| !s.trim().is_empty()),
        public_key: public_key.to_bytes().to_vec(),
    });
    match ops::append_as_operator(state, body).await {
        Ok((_, landed)) => Ok(OrgRegistered {
            org: req.id,
            index: landed.index,
            public_key: sagat_verifier::public_key_base64(&public_key),
            server_holds_key: held,
        }),
        Err(e) => {
            if held {
                ops::discard_org_key(&state.app, &req.id);
            }
            Err(e)
        }
    }
}

/// A freshly minted secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct MintedToken {
    /// The token: shown once, only its SHA-256 is stored.
    pub token: String,
    /// Who it speaks for.
    pub org: String,
    /// Its id in listings and for revocation (`GET /api/v1/tokens`): the first 16 hex digits of
    /// its SHA-256.
    pub id: String,
    /// When it stops working (Unix seconds); `null`: never.
    pub expires: Option<i64>,
}

/// Optional body of `POST /api/v1/orgs/{org}/tokens`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MintToken {
    /// Lifetime in days (1..=3650); 0: never expires; absent: 365.
    pub expires_days: Option<u32>,
}

/// The token lifetime of a mint request, or a 422 naming `expires_days`.
pub fn mint_ttl(days: Option<u32>) -> ops::Result<Option<i64>> {
    crate::datadir::tokens::token_ttl(days)
        .map_err(|e| ops::Error::invalid("expires_days", "token-lifetime", e))
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
    let ttl = mint_ttl(req.expires_days)?;
    if !ops::org_exists(&state.app, &org) {
        return Err(ops::Error::not_found(
            "org",
            format!("no organization {org:?}"),
        ));
    }
    let t = now();
    let token = state
        .tokens
        .mint(Role::Org(org.clone()), Kind::Token, ttl, t)
        .map_err(ops::Error::internal)?;
    Ok(created(MintedToken {
        id: crate::datadir::tokens::token_id(&token),
        expires: ttl.map(|d| t + d),
        token,
        org,
    }))
}

/// A bearer token as listed: never the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Id: the first 16 hex digits of the token's SHA-256.
    pub id: String,
    /// `operator` or `org`.
    pub role: String,
    /// The organization, for organization tokens.
    pub org: Option<String>,
    /// Minted at (Unix seconds).
    pub created: i64,
    /// Expires at (Unix seconds); `null`: never (tokens minted before expiry existed, or with
    /// `expires_days: 0`).
    pub expires: Option<i64>,
    /// Last presented at (Unix seconds, recorded at most once a minute); `null`: not used since
    /// recording began.
    pub last_used: Option<i64>,
}

impl From<crate::datadir::tokens::TokenInfo> for TokenView {
    fn from(t: crate::datadir::tokens::TokenInfo) -> TokenView {
        let (role, org) = match t.role {
            Role::Operator => ("operator", None),
            Role::Org(o) => ("org", Some(o)),
            Role::Volunteer(v) => ("volunteer", Some(v)),
        };
        TokenView {
            id: t.id,
            role: role.to_string(),
            org,
            created: t.created,
            expires: t.expires,
            last_used: t.last_used,
        }
    }
}

/// Lists the live operator and organization tokens (operator), oldest first.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "operator", security(("bearer" = [])),
    responses((status = 200, body = Vec<TokenView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    _: OperatorCaller,
) -> ops::Result<Json<Vec<TokenView>>> {
    Ok(Json(
        state
            .tokens
            .list_tokens(now())
            .into_iter()
            .map(TokenView::from)
            .collect(),
    ))
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
    match state
        .tokens
        .revoke_token(&id, now())
        .map_err(ops::Error::internal)?
    {
        Some(t) => Ok(Json(t.into())),
        None => Err(ops::Error::not_found("id", format!("no live token {id:?}"))),
    }
}

/// A reason, for suspensions, retractions and revocations.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Why (free text, no personal data).
    pub reason: String,
}

fn reason_text(r: &Reason) -> ops::Result<String> {
    let t = r.reason.trim();
    if t.is_empty() {
        return Err(ops::Error::invalid(
            "reason",
            "required-text",
            "reason must not be empty",
        ));
    }
    Ok(t.to_string())
}

pub async fn change_org_status(
    state: &AppState,
    caller: &Caller,
    org: String,
    reason: &Reason,
    suspend: bool,
) -> ops::Result<Json<Landed>> {
    caller.require_operator()?;
    if !ops::org_exists(&state.app, &org) {
        return Err(ops::Error::not_found(
            "org",
            format!("no organization {org:?}"),
        ));
    }
    let change = OrganizationStatusChanged {
        org: org.clone(),
        reason: reason_text(reason)?.into(),
    };
    let body = if suspend {
        EventBody::OrganizationSuspended(change)
    } else {
        EventBody::OrganizationReinstated(change)
    };
    let (_, landed) = ops::append_as_operator(state, body).await?;
    if suspend {
        // A suspended organization's sessions end now; its tokens stay (they are refused by
        // the ledger while suspended and work again after reinstatement).
        let _ = state.tokens.revoke_sessions(&Role::Org(org), now());
    }
    Ok(Json(landed))
}

/// Suspends an organization (operator): it can append nothing until reinstated.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/suspend", tag = "operator", security(("bearer" = [])),
    params(("org" = String, Path)), request_body = Reason,
    responses((status = 200, body = Landed), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn suspend_org(
    State(state): State<AppState>,
    OperatorCaller(caller): OperatorCaller,
    Path(org): Path<String>,
    ApiJson(reason): ApiJson<Reason>,
) -> ops::Result<Json<Landed>> {
    change_org_status(&state, &caller, org, &reason, true).await
}

/// Reinstates a suspended organization (operator).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/reinstate", tag = "operator", security(("bearer" = [])),
    params(("org" = String, Path)), request_body = Reason,
    responses((status = 200, body = Landed), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn reinstate_org(
    State(state): State<AppState>,
    OperatorCaller(caller): OperatorCaller,
    Path(org): Path<String>,
    ApiJson(reason): ApiJson<Reason>,
) -> ops::Result<Json<Landed>> {
    change_org_status(&state, &caller, org, &reason, false).await
}

/// Body of `POST /api/v1/issuers`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterIssuer {
    /// Issuer id.
    pub issuer: String,
    /// Display name.
    pub name: String,
    /// Ed25519 public key, base64 or hex.
    pub public_key: String,
    /// Start of validity (Unix seconds); default now.
    pub valid_from: Option<i64>,
    /// End of validity (Unix seconds).
    pub valid_until: Option<i64>,
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
    let key = sagat_verifier::parse_public_key(&req.public_key)
        .map_err(|e| ops::Error::invalid("public_key", "public-key", e.to_string()))?;
    if req.name.trim().is_empty() {
        return Err(ops::Error::invalid(
            "name",
            "required-text",
            "name must not be empty",
        ));
    }
    let body = EventBody::IssuerKeyRegistered(IssuerKeyRegistered {
        issuer: req.issuer,
        name: req.name,
        public_key: key.to_bytes().to_vec(),
        valid_from: req.valid_from.unwrap_or_else(now),
        valid_until: req.valid_until,
    });
    let (_, landed) = ops::append_as_operator(&state, body).await?;
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
    check_id128("id", &id)?;
    let reason = reason_text(&reason)?;
    if !state.app.ledger.read(|s| s.credential(&id).is_some()) {
        return Err(ops::Error::not_found("id", format!("no credential {id}")));
    }
    let st = state.clone();
    let landed = tokio::task::spawn_blocking(move || ops::revoke(&st.app, &id, &reason))
        .await
        .map_err(ops::Error::internal)??;
    Ok(Json(landed))
}

// ---------------------------------------------------------------------------------------------
// Activities.

/// An activity.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityView {
    /// Activity id.
    pub activity: String,
    /// Organization.
    pub org: String,
    /// Titles kk/ru/en.
    #[schema(value_type = Object)]
    pub titles: Names,
    /// Category (wire name).
    pub category: String,
    /// Place.
    pub place: Option<String>,
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
}

/// Activities of an organization.
pub fn activities_of(state: &AppState, org: &str) -> Vec<ActivityView> {
    state.app.ledger.read(|s| {
        s.activities_of(org)
            .into_iter()
            .map(|a| ActivityView {
                activity: a.activity.clone(),
                org: org.to_string(),
                titles: a.titles.clone(),
                category: a.category.as_str().to_string(),
                place: a.place.clone(),
                from: a.from.clone(),
                to: a.to.clone(),
            })
            .collect()
    })
}

/// `GET /api/v1/orgs/{org}/activities`
#[utoipa::path(get, path = "/api/v1/orgs/{org}/activities", tag = "public",
    params(("org" = String, Path)),
    responses((status = 200, body = Vec<ActivityView>), (status = 404, body = Problem)))]
pub async fn list_activities(
    State(state): State<AppState>,
    Path(org): Path<String>,
) -> ops::Result<Json<Vec<ActivityView>>> {
    if !ops::org_exists(&state.app, &org) {
        return Err(ops::Error::not_found(
            "org",
            format!("no organization {org:?}"),
        ));
    }
    Ok(Json(activities_of(&state, &org)))
}

/// Body of `POST /api/v1/orgs/{org}/activities`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishActivity {
    /// English title.
    pub title_en: String,
    /// Kazakh title.
    pub title_kk: Option<String>,
    /// Russian title.
    pub title_ru: Option<String>,
    /// social, ecological, medical, animal_welfare, education, media, emergency_relief, events, other.
    pub category: String,
    /// Place.
    pub place: Option<String>,
    /// First day, YYYY-MM-DD.
    pub from: String,
    /// Last day, YYYY-MM-DD.
    pub to: String,
}

/// Answer of event-creating endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    /// Id of the created thing (activity, attestation, volunteer).
    pub id: String,
    /// Log index.
    pub index: u64,
    /// Whether an identical event was already logged.
    pub duplicate: bool,
}

/// Builds an `ActivityPublished` body from a form, checking fields. `id` is both the event id
/// and the activity id ([`ops::event_ids`]).
pub fn activity_body(
    org: &str,
    req: PublishActivity,
    id: String,
) -> ops::Result<(String, EventBody)> {
    if req.title_en.trim().is_empty() {
        return Err(ops::Error::invalid(
            "title_en",
            "required-text",
            "title_en must not be empty",
        ));
    }
    let category = Category::parse(&req.category).ok_or_else(|| {
        ops::Error::invalid(
            "category",
            "category",
            format!(
                "{:?} is not one of {}",
                req.category,
                Category::ALL.map(|c| c.as_str()).join(", ")
            ),
        )
    })?;
    check_date("from", &req.from)?;
    check_date("to", &req.to)?;
    if req.to < req.from {
        return Err(ops::Error::invalid(
            "to",
            "date-range",
            "`to` is before `from`",
        ));
    }
    let opt = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    Ok((
        id.clone(),
        EventBody::ActivityPublished(ActivityPublished {
            activity: id,
            org: org.to_string(),
            titles: Names {
                kk: opt(req.title_kk),
                ru: opt(req.title_ru),
                en: req.title_en.trim().to_string(),
            },
            category,
            place: opt(req.place),
            from: req.from,
            to: req.to,
        }),
    ))
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
    let id = ops::event_ids(key.as_ref(), &org, "activity", 1).remove(0);
    let (id, body) = activity_body(&org, req, id)?;
    append_one(&state, &org, id, body).await
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

/// Appends one event signed with `org`'s server-held key under event id `id`: 201 with its
/// index, or 200 with the first result when the id came from an `Idempotency-Key` whose request
/// is already in the log.
async fn append_one(
    state: &AppState,
    org: &str,
    id: String,
    body: EventBody,
) -> ops::Result<Response> {
    let landed = ops::append_events_as_org(state, org, vec![(id.clone(), body)]).await?;
    let l = landed[0];
    let answer = Created {
        id,
        index: l.index,
        duplicate: l.duplicate,
    };
    Ok(if l.duplicate {
        (StatusCode::OK, Json(answer)).into_response()
    } else {
        created(answer)
    })
}

// ---------------------------------------------------------------------------------------------
// Volunteers.

/// Body of `POST /api/v1/orgs/{org}/volunteers`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollVolunteer {
    /// The volunteer's name as they write it (kept outside the log, erasable).
    pub name: String,
    /// Optional contact (kept outside the log, erasable).
    pub contact: Option<String>,
}

/// Answer of an enrollment.
#[derive(Debug, Serialize, ToSchema)]
pub struct Enrolled {
    /// Volunteer id (random 128 bits).
    pub volunteer: String,
    /// Log index of `VolunteerEnrolled`.
    pub index: u64,
    /// Personal access code: shown once, only its hash is stored.
    pub access_code: String,
}

/// Enrolls a volunteer: the name goes to the erasable directory, the random id to the log.
pub async fn enroll(
    state: &AppState,
    org: &str,
    name: &str,
    contact: Option<String>,
) -> ops::Result<Enrolled> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ops::Error::invalid(
            "name",
            "required-text",
            "name must not be empty",
        ));
    }
    let key = ops::org_key(&state.app, org)?;
    let id = crate::datadir::new_volunteer_id(&state.app.directory);
    state
        .app
        .directory
        .put(
            &id,
            &sagat_ledger::VolunteerRecord {
                name: name.to_string(),
                contact: contact.filter(|c| !c.trim().is_empty()),
            },
        )
        .map_err(ops::Error::internal)?;
    let body = EventBody::VolunteerEnrolled(VolunteerEnrolled {
        volunteer: id.clone(),
        org: Some(org.to_string()),
    });
    let (_, bytes) = ops::sign(&state.app, body, &key)?;
    let landed = match ops::append(state, bytes).await {
        Ok(l) => l,
        Err(e) => {
            let _ = state.app.directory.erase(&id);
            return Err(e);
        }
    };
    let access_code = state
        .tokens
        .issue_access_code(&id, Some(org), now())
        .map_err(ops::Error::internal)?;
    Ok(Enrolled {
        volunteer: id,
        index: landed.index,
        access_code,
    })
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
    Ok(created(enroll(&state, &org, &req.name, req.contact).await?))
}

/// New access code.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessCode {
    /// Volunteer id.
    pub volunteer: String,
    /// The new code (earlier codes stop working).
    pub access_code: String,
}

/// Who enrolled `volunteer` through this server: `None` if no such volunteer is enrolled,
/// `Some(None)` if enrolled elsewhere (CLI, operator), `Some(Some(org))` otherwise. Only the
/// enrolling organization may re-issue the volunteer's access code.
pub fn enrolled_by(state: &AppState, volunteer: &str) -> Option<Option<String>> {
    if !state.app.ledger.read(|s| s.volunteer_exists(volunteer)) {
        return None;
    }
    Some(state.tokens.enrolled_by(volunteer))
}

/// A suspended organization may not re-issue access codes (that would let it sign in as its
/// volunteers): 403 `org-suspended`.
pub fn refuse_if_suspended(state: &AppState, org: &str) -> ops::Result<()> {
    let suspended = state
        .app
        .ledger
        .read(|s| s.organization(org).map(|o| o.suspended))
        .unwrap_or(false);
    if suspended {
        return Err(ops::Error::forbidden(
            "org-suspended",
            format!("organization {org:?} is suspended and may not re-issue access codes"),
        )
        .field("org"));
    }
    Ok(())
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
    check_id128("id", &id)?;
    let operator = caller.require_operator().is_ok();
    if !operator {
        refuse_if_suspended(&state, &org)?;
    }
    match enrolled_by(&state, &id) {
        None => return Err(ops::Error::not_found("id", format!("no volunteer {id}"))),
        Some(by) if !operator && by.as_deref() != Some(org.as_str()) => {
            return Err(ops::Error::forbidden(
                "enrolling-org",
                format!("volunteer {id} was not enrolled by {org:?}"),
            )
            .field("id"))
        }
        Some(_) => {}
    }
    let code = state
        .tokens
        .issue_access_code(&id, None, now())
        .map_err(ops::Error::internal)?;
    Ok(created(AccessCode {
        volunteer: id,
        access_code: code,
    }))
}

// ---------------------------------------------------------------------------------------------
// Attestations.

/// Body of `POST /api/v1/orgs/{org}/attestations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attest {
    /// Volunteer id.
    pub volunteer: String,
    /// Day worked, YYYY-MM-DD.
    pub date: String,
    /// Minutes (1..=1440); or give `hours`.
    pub minutes: Option<u32>,
    /// Hours (decimal); or give `minutes`.
    pub hours: Option<f64>,
    /// Activity id.
    pub activity: Option<String>,
    /// Role.
    pub role: Option<String>,
    /// Note (no personal data).
    pub note: Option<String>,
}

impl From<Attest> for crate::ops::attestations::AttestInput {
    fn from(req: Attest) -> Self {
        use crate::ops::attestations::HoursInput;
        crate::ops::attestations::AttestInput {
            volunteer: req.volunteer,
            date: req.date,
            hours: match (req.minutes, req.hours) {
                (Some(m), None) => HoursInput::Minutes(m),
                (None, Some(h)) => HoursInput::Hours(h.to_string()),
                _ => HoursInput::Unclear,
            },
            activity: req.activity,
            role: req.role,
            note: req.note,
        }
    }
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
    let id = ops::event_ids(key.as_ref(), &org, "attest", 1).remove(0);
    let body = ops::attestations::hours_attested_or_error(&org, req.into(), id.clone())?;
    append_one(&state, &org, id, EventBody::HoursAttested(body)).await
}

/// One attestation as its organization sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttestationView {
    /// Attestation id.
    pub attestation: String,
    /// Log index of `HoursAttested`.
    pub index: u64,
    /// Volunteer id.
    pub volunteer: String,
    /// Activity id.
    pub activity: Option<String>,
    /// Day (after corrections).
    pub date: String,
    /// Minutes (after corrections).
    pub minutes: u32,
    /// Whether it was corrected.
    pub corrected: bool,
    /// Whether it was retracted.
    pub retracted: bool,
}

/// The attestations an organization made, newest first.
pub fn attestations_of(state: &AppState, org: &str) -> Vec<AttestationView> {
    let mut v: Vec<AttestationView> = state.app.ledger.read(|s| {
        s.attestations_by_org(org)
            .into_iter()
            .map(|info| {
                let a = &info.attestation;
                AttestationView {
                    attestation: a.attestation.clone(),
                    index: a.index,
                    volunteer: a.volunteer.clone(),
                    activity: a.activity.clone(),
                    date: a.date.clone(),
                    minutes: a.minutes,
                    corrected: a.corrected_at.is_some(),
                    retracted: info.retracted_at.is_some(),
                }
            })
            .collect()
    });
    v.sort_by_key(|a| std::cmp::Reverse(a.index));
    v
}

/// Lists the organization's attestations (organization).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/attestations", tag = "organization", security(("bearer" = [])),
    params(("org" = String, Path)),
    responses((status = 200, body = Vec<AttestationView>), (status = 403, body = Problem)))]
pub async fn list_attestations(
    State(state): State<AppState>,
    _: OrgCaller,
    Path(org): Path<String>,
) -> ops::Result<Json<Vec<AttestationView>>> {
    Ok(Json(attestations_of(&state, &org)))
}

/// Answer of a CSV upload.
#[derive(Debug, Serialize, ToSchema)]
pub struct CsvAccepted {
    /// Rows appended.
    pub rows: usize,
    /// Total minutes.
    pub minutes: u64,
    /// First log index.
    pub first_index: u64,
    /// Last log index.
    pub last_index: u64,
    /// True when this answers a retry: the rows were appended by an earlier request with the
    /// same `Idempotency-Key` (or web form nonce), and nothing new was appended.
    pub duplicate: bool,
}

/// Parses, checks and appends a CSV document for `org`: all rows or none, every bad row named.
/// With an idempotency key the rows' attestation (and event) ids derive from it, so a retry of
/// the same upload returns the first result instead of appending the rows twice.
///
/// Parsing, signing, the ledger's signature checks and (for a refused file) its dry run are CPU
/// work proportional to the file, so they run on the blocking pool, not on the reactor that
/// serves everyone else. Rows are signed as they are read and only the signed entries are kept
/// ([`crate::ops::attest_csv::parse_signed`]). The batch is appended at once: the ledger checks
/// every rule and refuses it whole at the first bad row; only then is the file parsed again
/// and dry-run (`dry_run`) to name every bad row. So an accepted file costs one rule pass
/// under the ledger's state lock, not two, and its entries are held once.
pub async fn attest_csv_bytes(
    state: &AppState,
    org: &str,
    bytes: &[u8],
    idempotency: Option<&ops::IdempotencyKey>,
) -> ops::Result<CsvAccepted> {
    let key = ops::org_key(&state.app, org)?;
    // At most `max_csv_uploads` at once: the memory of an upload in flight is what this bounds.
    let _permit = state
        .csv_uploads
        .clone()
        .acquire_owned()
        .await
        .map_err(ops::Error::internal)?;
    let (org_id, body, idem) = (
        org.to_string(),
        Bytes::copy_from_slice(bytes),
        idempotency.cloned(),
    );
    let parse = {
        let body = body.clone();
        move || parse_csv(&org_id, &body, &key, idem.as_ref())
    };
    let (rows, entries, texts) = tokio::task::spawn_blocking(parse.clone())
        .await
        .map_err(ops::Error::internal)??;
    let (count, minutes) = (rows.len(), rows.iter().map(|r| u64::from(r.minutes)).sum());
    let accepted = |landed: &[Landed]| CsvAccepted {
        rows: count,
        minutes,
        first_index: landed.first().map(|l| l.index).unwrap_or(0),
        last_index: landed.last().map(|l| l.index).unwrap_or(0),
        duplicate: !landed.is_empty() && landed.iter().all(|l| l.duplicate),
    };
    // A retry of a keyed upload: its rows are in the log already, answer with them.
    let events = match idempotency {
        Some(_) => Some(csv_events(&entries, &texts)?),
        None => None,
    };
    if let Some(events) = &events {
        if let Some(first) = ops::replay(state, events).await? {
            return Ok(accepted(&first));
        }
    }
    // The texts are stored before the entries that commit to them are appended (a refused
    // upload leaves them with their volunteers, unused).
    if !texts.is_empty() {
        let st = state.clone();
        tokio::task::spawn_blocking(move || st.app.texts.store(texts).map_err(ops::texts_error))
            .await
            .map_err(ops::Error::internal)??;
    }
    let landed = match ops::append_batch(state, entries).await {
        Ok(l) => l,
        // A concurrent retry with the same key got there first: its result.
        Err((_, e))
            if events.as_ref().is_some_and(|ev| {
                e.problem.rule.as_deref() == Some("idempotency")
                    && e.problem.event_id.as_deref() == Some(ev[0].0.as_str())
            }) =>
        {
            ops::replay(state, events.as_deref().unwrap_or_default())
                .await?
                .ok_or(e)?
        }
        Err((Some(pos), e)) if pos < rows.len() => {
            // Refused whole, nothing appended: the dry run names every bad row, not only the
            // first (the file is parsed again; an upload without a key gets fresh ids, which
            // no rule depends on).
            let st = state.clone();
            tokio::task::spawn_blocking(move || {
                let (rows, entries, _texts) = parse()?;
                dry_run(&st, &rows, &entries)
            })
            .await
            .map_err(ops::Error::internal)??;
            drop(body);
            // The dry run found nothing: the state changed since the append (a concurrent
            // request). Name the row the append refused.
            return Err(ops::Error::csv_rows(vec![RowError {
                line: rows[pos].line as usize,
                field: crate::ops::attest_csv::column_of(e.problem.field.as_deref()).into(),
                rule: e.problem.rule.clone().unwrap_or_default(),
                detail: e.problem.detail,
            }]));
        }
        Err((_, e)) => return Err(e),
    };
    Ok(accepted(&landed))
}

/// The (event id, body) of each signed row, for [`ops::replay`].
fn csv_events(
    entries: &[Vec<u8>],
    texts: &sagat_ledger::PendingTexts,
) -> ops::Result<Vec<(String, EventBody)>> {
    entries
        .iter()
        .map(|e| {
            let mut signed =
                sagat_verifier::decode_signed_event(e).map_err(ops::Error::internal)?;
            // Back to the typed texts: a replay compares them with the stored ones.
            for (_, field) in signed.event.body.free_texts_mut() {
                if let Some(text) = field.commitment().and_then(|c| texts.text_of(c)) {
                    *field = sagat_verifier::FreeText::Draft(text.to_string());
                }
            }
            Ok((signed.event.id, signed.event.body))
        })
        .collect()
}

/// The blocking parsing part of [`attest_csv_bytes`]: parses and signs every row; the rows
/// and their entries, or every bad row.
fn parse_csv(
    org: &str,
    bytes: &[u8],
    key: &ed25519_dalek::SigningKey,
    idempotency: Option<&ops::IdempotencyKey>,
) -> ops::Result<CsvParsed> {
    let id_of = |n: usize| match idempotency {
        Some(k) => k.event_id(org, "csv", n),
        None => crate::datadir::new_id(),
    };
    let mut texts = sagat_ledger::PendingTexts::default();
    let (rows, entries, errors) =
        crate::ops::attest_csv::parse_signed(org, bytes, key, now(), id_of, &mut texts);
    if !errors.is_empty() || rows.is_empty() {
        let mut errors: Vec<RowError> = errors
            .into_iter()
            .map(|e| RowError {
                line: e.line as usize,
                field: e.field.to_string(),
                rule: e.rule.to_string(),
                detail: e.reason,
            })
            .collect();
        if errors.is_empty() {
            errors.push(RowError {
                line: 2,
                field: "row".into(),
                rule: "csv-nonempty".into(),
                detail: "the file has no rows".into(),
            });
        }
        return Err(ops::Error::csv_rows(errors));
    }
    Ok((rows, entries, texts))
}

/// A parsed upload: its rows, their signed entries and the texts their entries commit to.
type CsvParsed = (
    Vec<crate::ops::attest_csv::SignedRow>,
    Vec<Vec<u8>>,
    sagat_ledger::PendingTexts,
);

/// The blocking dry-run part of [`attest_csv_bytes`], for a refused file: every ledger rule
/// over the entries, so every bad row is named, not only the first; `Ok` if none is bad.
fn dry_run(
    state: &AppState,
    rows: &[crate::ops::attest_csv::SignedRow],
    entries: &[Vec<u8>],
) -> ops::Result<()> {
    let violations = state
        .app
        .ledger
        .check_batch(entries)
        .map_err(ops::ledger_error)?;
    if !violations.is_empty() {
        return Err(ops::Error::csv_rows(
            violations
                .into_iter()
                .map(|(pos, v)| RowError {
                    line: rows[pos].line as usize,
                    field: crate::ops::attest_csv::column_of(v.field()).into(),
                    rule: v.rule.to_string(),
                    detail: v.to_string(),
                })
                .collect(),
        ));
    }
    Ok(())
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
    let accepted = attest_csv_bytes(&state, &org, &bytes, key.as_ref()).await?;
    Ok(if accepted.duplicate {
        (StatusCode::OK, Json(accepted)).into_response()
    } else {
        created(accepted)
    })
}

/// Reads a body up to `limit` bytes, or a 413 problem.
pub async fn read_limited(body: Body, limit: usize) -> ops::Result<Bytes> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        ops::Error::new(
            ops::Kind::TooLarge,
            format!("the body exceeds the {limit}-byte limit"),
        )
        .field("body")
        .rule("body-size")
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
    let landed = ops::append_checked(&state, body.to_vec(), move |signed| {
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

/// Body of a correction.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Correct {
    /// New day worked.
    pub date: String,
    /// New minutes; or `hours`.
    pub minutes: Option<u32>,
    /// New hours; or `minutes`.
    pub hours: Option<f64>,
    /// Why.
    pub reason: String,
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
    let body = correct_body(&org, &id, req)?;
    let event = ops::event_ids(key.as_ref(), &org, "correct", 1).remove(0);
    append_one(&state, &org, event, body).await
}

/// Builds an `AttestationCorrected` body.
pub fn correct_body(org: &str, id: &str, req: Correct) -> ops::Result<EventBody> {
    check_id128("id", id)?;
    check_date("date", &req.date)?;
    let minutes = minutes_of(req.minutes, req.hours)?;
    let reason = reason_text(&Reason { reason: req.reason })?;
    Ok(EventBody::AttestationCorrected(AttestationCorrected {
        attestation: id.to_string(),
        org: org.to_string(),
        date: req.date,
        minutes,
        reason: reason.into(),
    }))
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
    let body = retract_body(&org, &id, &req)?;
    let event = ops::event_ids(key.as_ref(), &org, "retract", 1).remove(0);
    append_one(&state, &org, event, body).await
}

/// Builds an `AttestationRetracted` body (API and web form).
pub fn retract_body(org: &str, id: &str, req: &Reason) -> ops::Result<EventBody> {
    check_id128("id", id)?;
    Ok(EventBody::AttestationRetracted(AttestationRetracted {
        attestation: id.to_string(),
        org: org.to_string(),
        reason: reason_text(req)?.into(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Sessions and volunteers' own data.

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

/// Exchanges a code or token for a session; returns the `Set-Cookie` value.
/// First the client address's sign-in limit ([`super::auth::ClientIp::check_sign_in`]), then
/// the credential's own rate limit.
pub fn open_session(
    state: &AppState,
    client: super::auth::ClientIp,
    code: &str,
) -> ops::Result<(Role, HeaderValue)> {
    client.check_sign_in(state)?;
    let code = code.trim();
    let t = now();
    let role = state
        .tokens
        .lookup(code, Kind::AccessCode, t)
        .or_else(|| state.tokens.lookup(code, Kind::Token, t))
        .ok_or_else(|| ops::Error::unauthorized("unknown access code or token").field("code"))?;
    state.limiter.check(code)?;
    let session = state
        .tokens
        .open_session(code, role.clone(), t)
        .map_err(ops::Error::internal)?;
    let cookie = format!(
        "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_TTL_SECS}"
    );
    Ok((
        role,
        HeaderValue::from_str(&cookie).map_err(ops::Error::internal)?,
    ))
}

/// The session secret of a `Set-Cookie` value made by [`open_session`].
fn session_of(cookie: &HeaderValue) -> String {
    cookie
        .to_str()
        .ok()
        .and_then(|c| c.split(';').next())
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

/// A `Set-Cookie` value that deletes the session cookie.
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
    ))
    .expect("static cookie")
}

/// Signs in: access code (volunteer) or token → `sagat_session` cookie (HttpOnly,
/// SameSite=Strict, 12 h).
#[utoipa::path(post, path = "/api/v1/session", tag = "volunteer", request_body = SignIn,
    responses((status = 200, body = SessionInfo, headers(("set-cookie" = String))), (status = 401, body = Problem),
        (status = 429, description = "Too many sign-in attempts from this client address (rule `sign-in-rate`) or with this credential (`rate-limit`)", body = Problem, headers(("retry-after" = u64)))))]
pub async fn sign_in(
    State(state): State<AppState>,
    client: super::auth::ClientIp,
    ApiJson(req): ApiJson<SignIn>,
) -> ops::Result<Response> {
    let (role, cookie) = open_session(&state, client, &req.code)?;
    let session = session_of(&cookie);
    let info = match role {
        Role::Operator => SessionInfo {
            role: "operator".into(),
            id: None,
            session,
        },
        Role::Org(o) => SessionInfo {
            role: "org".into(),
            id: Some(o),
            session,
        },
        Role::Volunteer(v) => SessionInfo {
            role: "volunteer".into(),
            id: Some(v),
            session,
        },
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
    if let Some(s) = super::auth::cookie(&headers, SESSION_COOKIE) {
        let _ = state.tokens.remove(s, now());
    }
    if let Some(s) = super::auth::bearer(&headers).filter(|s| s.starts_with("sgt-s-")) {
        let _ = state.tokens.remove(s, now());
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, clear_cookie());
    resp
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
    let hours = state
        .app
        .ledger
        .read(|s| s.volunteer_hours(&id))
        .ok_or_else(|| ops::Error::not_found("id", format!("no volunteer {id}")))?;
    Ok(Json(
        serde_json::to_value(&hours).map_err(ops::Error::internal)?,
    ))
}

/// One credential issued to a volunteer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialView {
    /// Credential id.
    pub credential_id: String,
    /// Log index of `CredentialIssued`.
    pub index: u64,
    /// Whether it was revoked.
    pub revoked: bool,
    /// Whether this server holds the PDF for download (`DATA/certificates/`).
    pub downloadable: bool,
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
    Ok(Json(credentials_of(&state, &id)))
}

/// The credentials of a volunteer.
pub fn credentials_of(state: &AppState, id: &str) -> Vec<CredentialView> {
    let mut views: Vec<CredentialView> = state.app.ledger.read(|s| {
        s.credentials_of(id)
            .into_iter()
            .map(|c| CredentialView {
                credential_id: c.credential.clone(),
                index: c.issued_index,
                revoked: c.revoked.is_some(),
                downloadable: false,
            })
            .collect()
    });
    for v in &mut views {
        v.downloadable = state.certs.has(id, &v.credential_id);
    }
    views
}

/// Body of a certificate request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCertificate {
    /// kk, ru or en.
    pub lang: String,
    /// Optional second language printed alongside.
    pub lang2: Option<String>,
    /// First day counted.
    pub from: Option<String>,
    /// Last day counted.
    pub to: Option<String>,
    /// Count only this organization.
    pub org: Option<String>,
}

/// An issued certificate.
#[derive(Debug, Serialize, ToSchema)]
pub struct Issued {
    /// Credential id.
    pub credential_id: String,
    /// The QR text (`VH1:...`).
    pub qr_text: String,
    /// Where to download the PDF (kept by the server under `DATA/certificates/`, so the link
    /// survives restarts; needs the volunteer's session).
    pub pdf_url: String,
    /// QR as PNG.
    pub qr_png_url: String,
    /// QR as SVG.
    pub qr_svg_url: String,
}

fn check_lang(field: &str, l: &str) -> ops::Result<()> {
    if ["kk", "ru", "en"].contains(&l) {
        Ok(())
    } else {
        Err(ops::Error::invalid(
            field,
            "language",
            format!("{l:?} is not kk, ru or en"),
        ))
    }
}

/// Issues a certificate for a volunteer (runs the issuer off the reactor) and stores its PDF
/// for download ([`crate::datadir::certstore`]).
pub async fn issue_for(
    state: &AppState,
    volunteer: &str,
    req: IssueCertificate,
) -> ops::Result<Issued> {
    check_lang("lang", &req.lang)?;
    if let Some(l2) = &req.lang2 {
        check_lang("lang2", l2)?;
    }
    for (f, d) in [("from", &req.from), ("to", &req.to)] {
        if let Some(d) = d {
            check_date(f, d)?;
        }
    }
    let parse_lang = |field: &str, l: &str| {
        sagat_issuer::Lang::parse(l)
            .map_err(|e| ops::Error::invalid(field, "language", e.to_string()))
    };
    let request = sagat_issuer::IssueRequest {
        volunteer: volunteer.to_string(),
        lang: parse_lang("lang", &req.lang)?,
        lang2: req
            .lang2
            .as_deref()
            .map(|l| parse_lang("lang2", l))
            .transpose()?,
        from: req.from,
        to: req.to,
        org: req.org,
    };
    let st = state.clone();
    let vol = volunteer.to_string();
    let lang = req.lang.clone();
    let (id, qr_text) = tokio::task::spawn_blocking(move || -> ops::Result<(String, String)> {
        let cert = ops::issue(&st.app, &request)?;
        st.certs
            .put(&crate::datadir::certstore::StoredCert {
                credential_id: cert.credential_id.clone(),
                volunteer: vol,
                qr_text: cert.qr_text.clone(),
                pdf: cert.pdf,
                lang,
                issued_at: u64::try_from(now()).unwrap_or(0),
            })
            .map_err(ops::Error::internal)?;
        Ok((cert.credential_id, cert.qr_text))
    })
    .await
    .map_err(ops::Error::internal)??;
    let base = format!("/api/v1/volunteers/{volunteer}/certificates/{id}");
    Ok(Issued {
        credential_id: id,
        qr_text,
        pdf_url: format!("{base}/pdf"),
        qr_png_url: format!("{base}/qr.png"),
        qr_svg_url: format!("{base}/qr.svg"),
    })
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
    Ok(created(issue_for(&state, &id, req).await?))
}

async fn cached(
    state: &AppState,
    caller: &Caller,
    id: &str,
    cid: &str,
) -> ops::Result<crate::datadir::certstore::StoredCert> {
    caller.require_volunteer(id)?;
    let (store, vol, cred) = (state.certs.clone(), id.to_string(), cid.to_string());
    tokio::task::spawn_blocking(move || store.get(&vol, &cred))
        .await
        .map_err(ops::Error::internal)?
        .map_err(|d| {
            let what = format!("the certificate of credential {cid}");
            ops::Error::stored_file_damaged(&what, &d.reason, &d.path)
        })?
        .ok_or_else(|| {
            ops::Error::not_found(
                "credential",
                "this server holds no certificate PDF with that id for this volunteer",
            )
        })
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
    let c = cached(&state, &caller, &id, &cid).await?;
    let disposition = format!(
        "attachment; filename=\"sagat-certificate-{cid}-{}.pdf\"",
        c.lang
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        c.pdf,
    )
        .into_response())
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
    let c = cached(&state, &caller, &id, &cid).await?;
    let png = ops::qr_png(&c.qr_text)?;
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
    let c = cached(&state, &caller, &id, &cid).await?;
    let svg = ops::qr_svg(&c.qr_text)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

// ---------------------------------------------------------------------------------------------
// Public: verification, trust and status lists, the log.

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
    responses((status = 200, description = "The verdict (VALID, REVOKED, EXPIRED or INVALID with reasons)", body = ops::VerifyOutcome)))]
pub async fn verify(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<VerifyRequest>,
) -> ops::Result<Json<ops::VerifyOutcome>> {
    let st = state.clone();
    let outcome = tokio::task::spawn_blocking(move || ops::verify_qr(&st, &req.qr_text))
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
async fn exports(state: &AppState) -> ops::Result<std::sync::Arc<ops::Exports>> {
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
