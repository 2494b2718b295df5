//! Organizations: registration (with the organization's own key, or one the server generates
//! and holds), new names or region, suspension and reinstatement, and the registry's public
//! view. The CLI (`sagat org ...`), the JSON API (`/api/v1/orgs`) and the operator's page build
//! their events here.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use sagat_verifier::{EventBody, Names, OrganizationRegistered, OrganizationStatusChanged};

use super::fields::{optional_text, required_text, Reason};
use super::{append_as_operator, org_exists, Error, Landed, Ops, Result};
use crate::datadir::tokens::Role;
use crate::datadir::{is_safe_id, now, orgkeys, App};

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

/// The registry's view of `org`, if registered.
pub fn view(app: &App, org: &str) -> Option<OrgView> {
    let info = app.ledger.read(|s| s.organization(org))?;
    Some(OrgView {
        org: org.to_string(),
        names: info.names.clone(),
        region: info.region.clone(),
        suspended: info.suspended,
        server_holds_key: orgkeys::holds(app, org),
    })
}

/// Every registered organization, in registration order.
pub fn list(app: &App) -> Vec<OrgView> {
    let ids: Vec<String> = app.ledger.read(|s| {
        s.organizations()
            .into_iter()
            .map(|o| o.org.clone())
            .collect()
    });
    ids.iter().filter_map(|o| view(app, o)).collect()
}

/// `org`'s view, or a 404 naming `org`.
pub fn get(app: &App, org: &str) -> Result<OrgView> {
    view(app, org).ok_or_else(|| unknown(org))
}

/// The 404 of an organization id that is not registered.
pub fn unknown(org: &str) -> Error {
    Error::not_found("org", format!("no organization {org:?}"))
}

/// `Ok` if `org` is registered, else its 404.
pub fn require(app: &App, org: &str) -> Result<()> {
    if org_exists(app, org) {
        Ok(())
    } else {
        Err(unknown(org))
    }
}

/// A registration request (`POST /api/v1/orgs`, the operator's form, `sagat org register`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
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

/// Answer of a registration.
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

/// An Ed25519 public key in base64 or hex, or a 422 naming `field`.
pub fn parse_public_key(field: &str, text: &str) -> Result<ed25519_dalek::VerifyingKey> {
    sagat_verifier::parse_public_key(text.trim())
        .map_err(|e| Error::invalid(field, "public-key", e.to_string()))
}

/// Checks a registration's id and names; the trimmed id.
fn checked_id(req: &RegisterOrg) -> Result<String> {
    let id = req.id.trim();
    if !is_safe_id(id) || id.len() < 2 || id.contains(['.', '_']) {
        return Err(Error::invalid(
            "id",
            "id-format",
            format!("organization id {id:?} is not 2 to 64 characters of a-z, 0-9 and '-'"),
        ));
    }
    required_text("name_en", &req.name_en)?;
    Ok(id.to_string())
}

/// The `OrganizationRegistered` body of `req` with `public_key` (checked: id, English name).
pub fn registration(
    req: &RegisterOrg,
    public_key: &ed25519_dalek::VerifyingKey,
) -> Result<EventBody> {
    let id = checked_id(req)?;
    Ok(EventBody::OrganizationRegistered(OrganizationRegistered {
        org: id,
        names: Names {
            kk: optional_text(req.name_kk.clone()),
            ru: optional_text(req.name_ru.clone()),
            en: required_text("name_en", &req.name_en)?,
        },
        region: optional_text(req.region.clone()),
        public_key: public_key.to_bytes().to_vec(),
    }))
}

/// Registers an organization (operator), generating and holding its key when `req` brings none;
/// a key generated for a registration the ledger refuses is discarded.
pub async fn register(ops: &Ops, req: RegisterOrg) -> Result<OrgRegistered> {
    let id = checked_id(&req)?;
    if org_exists(&ops.app, &id) {
        return Err(Error::conflict(
            "org-unique",
            format!("organization {id:?} is already registered"),
        )
        .field("id"));
    }
    let (public_key, held) = match &req.public_key {
        Some(text) => (parse_public_key("public_key", text)?, false),
        None => {
            let key = orgkeys::create(&ops.app, &id).map_err(|e| {
                Error::conflict("server-held-key", format!("cannot store the key: {e:#}"))
                    .field("id")
            })?;
            (key.verifying_key(), true)
        }
    };
    let body = registration(&req, &public_key)?;
    match append_as_operator(ops, body).await {
        Ok((_, landed)) => Ok(OrgRegistered {
            org: id,
            index: landed.index,
            public_key: sagat_verifier::public_key_base64(&public_key),
            server_holds_key: held,
        }),
        Err(e) => {
            if held {
                orgkeys::discard(&ops.app, &id);
            }
            Err(e)
        }
    }
}

/// Changes to an organization's names or region: `None` keeps a value; for the optional ones
/// (Kazakh and Russian names, region) an empty text removes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgChanges {
    /// New English name.
    pub name_en: Option<String>,
    /// New Kazakh name (`""` removes it).
    pub name_kk: Option<String>,
    /// New Russian name (`""` removes it).
    pub name_ru: Option<String>,
    /// New region (`""` removes it).
    pub region: Option<String>,
}

/// The `OrganizationUpdated` body that applies `changes` to the names and region of `org` in
/// force now (the event carries them in full), or a 404. The ledger's rules judge it on append.
pub fn update_body(app: &App, org: &str, changes: &OrgChanges) -> Result<EventBody> {
    let info = app
        .ledger
        .read(|s| s.organization(org))
        .ok_or_else(|| unknown(org))?;
    let optional = |change: &Option<String>, now: Option<String>| match change {
        None => now,
        Some(t) if t.trim().is_empty() => None,
        Some(t) => Some(t.trim().to_string()),
    };
    let en = match &changes.name_en {
        Some(t) => required_text("name_en", t)?,
        None => info.names.en,
    };
    Ok(EventBody::OrganizationUpdated(
        sagat_verifier::OrganizationUpdated {
            org: info.org,
            names: Names {
                en,
                kk: optional(&changes.name_kk, info.names.kk),
                ru: optional(&changes.name_ru, info.names.ru),
            },
            region: optional(&changes.region, info.region),
        },
    ))
}

/// Records an organization's new names or region (operator).
pub async fn update(ops: &Ops, org: &str, changes: &OrgChanges) -> Result<Landed> {
    let body = update_body(&ops.app, org, changes)?;
    Ok(append_as_operator(ops, body).await?.1)
}

/// The `OrganizationSuspended` (or, with `suspend` false, `OrganizationReinstated`) body.
pub fn status_change(org: &str, reason: &Reason, suspend: bool) -> Result<EventBody> {
    let change = OrganizationStatusChanged {
        org: org.to_string(),
        reason: reason.text()?.into(),
    };
    Ok(if suspend {
        EventBody::OrganizationSuspended(change)
    } else {
        EventBody::OrganizationReinstated(change)
    })
}

/// Suspends or reinstates `org` (operator). A suspended organization's sessions end at once;
/// its tokens stay (the ledger refuses its appends while suspended, and they work again after
/// reinstatement).
pub async fn change_status(ops: &Ops, org: &str, reason: &Reason, suspend: bool) -> Result<Landed> {
    require(&ops.app, org)?;
    let body = status_change(org, reason, suspend)?;
    let (_, landed) = append_as_operator(ops, body).await?;
    if suspend {
        let _ = ops
            .tokens
            .revoke_sessions(&Role::Org(org.to_string()), now());
    }
    Ok(landed)
}

/// A suspended organization may not act for its volunteers (re-issuing an access code would
/// let it sign in as them): 403 `org-suspended`.
pub fn refuse_if_suspended(app: &App, org: &str) -> Result<()> {
    let suspended = app
        .ledger
        .read(|s| s.organization(org).map(|o| o.suspended))
        .unwrap_or(false);
    if suspended {
        return Err(Error::forbidden(
            "org-suspended",
            format!("organization {org:?} is suspended and may not re-issue access codes"),
        )
        .field("org"));
    }
    Ok(())
}

/// Why and since when an organization is suspended.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Suspension {
    /// Log index of the `OrganizationSuspended` entry.
    pub index: u64,
    /// When the operator suspended it (Unix seconds, the event's `created`).
    pub since: i64,
    /// The operator's reason; `None` when its text is not stored here.
    pub reason: Option<String>,
}

/// `org`'s current suspension, read from the log entry that made it; `None` when active.
pub fn suspension(app: &App, org: &str) -> Option<Suspension> {
    let index = app.ledger.read(|s| s.organization(org)?.suspended_at)?;
    let event = super::logged_event(app, index)?;
    let reason = match &event.body {
        EventBody::OrganizationSuspended(e) => super::free_text(app, &event, &e.reason),
        _ => None,
    };
    Some(Suspension {
        index,
        since: event.created,
        reason,
    })
}
