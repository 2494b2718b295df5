//! Bearer tokens of organizations and the operator: minting (shown once), listing (never the
//! secret) and revoking. The JSON API (`/api/v1/tokens`, `/api/v1/orgs/{org}/tokens`) and the
//! operator's page call these; how secrets are stored is [`crate::datadir::tokens`].

use serde::Serialize;
use utoipa::ToSchema;

use super::{organizations, Error, Ops, Result};
use crate::datadir::now;
use crate::datadir::tokens::{token_id, token_ttl, Kind, Role, TokenInfo};

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

impl From<TokenInfo> for TokenView {
    fn from(t: TokenInfo) -> TokenView {
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

/// Mints a bearer token for a registered organization (operator), living `expires_days` days
/// (1..=3650; 0: never expires; `None`: 365), or a 422 naming `expires_days`.
pub fn mint_org_token(ops: &Ops, org: &str, expires_days: Option<u32>) -> Result<MintedToken> {
    let ttl =
        token_ttl(expires_days).map_err(|e| Error::invalid("expires_days", "token-lifetime", e))?;
    organizations::require(&ops.app, org)?;
    let t = now();
    let token = ops
        .tokens
        .mint(Role::Org(org.to_string()), Kind::Token, ttl, t)
        .map_err(Error::internal)?;
    Ok(MintedToken {
        id: token_id(&token),
        expires: ttl.map(|d| t + d),
        token,
        org: org.to_string(),
    })
}

/// The live operator and organization tokens, oldest first.
pub fn list(ops: &Ops) -> Vec<TokenView> {
    ops.tokens
        .list_tokens(now())
        .into_iter()
        .map(TokenView::from)
        .collect()
}

/// Revokes a token by id: it stops working at once, and so does every web session opened
/// with it. A 404 naming `id` when no live token has it.
pub fn revoke(ops: &Ops, id: &str) -> Result<TokenView> {
    match ops
        .tokens
        .revoke_token(id, now())
        .map_err(Error::internal)?
    {
        Some(t) => Ok(t.into()),
        None => Err(Error::not_found("id", format!("no live token {id:?}"))),
    }
}
