//! The ledger's event types: the payload of every log entry.
//!
//! Wire form: each event is encoded as deterministic CBOR (RFC 8949 §4.2.1, see
//! [`crate::to_canonical_cbor`]) and wrapped in a tagged COSE_Sign1 (RFC 9052 §4.2, alg EdDSA,
//! `kid` = first 8 bytes of SHA-256 of the signer's 32-byte Ed25519 public key, in the protected
//! header). The log stores those COSE bytes exactly as received.
//!
//! Why these shapes:
//! - every event carries a random 128-bit `id` (32 lowercase hex digits): it is the idempotency
//!   key, so a client may resend an event after a timeout without it ever being counted twice;
//! - the body enum is externally tagged (`{"HoursAttested": {...}}`), which CBOR and JSON both
//!   encode without buffering, so decoding is strict and cheap;
//! - volunteers appear only as random ids: no personal data is ever written to the log;
//! - `v` is the schema version; a decoder rejects versions it does not know instead of guessing.

use serde::{Deserialize, Serialize};

/// The only event schema version this crate reads and writes.
pub const EVENT_VERSION: u32 = 1;

/// One ledger event: the CBOR payload of a COSE_Sign1 log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Schema version, [`EVENT_VERSION`].
    pub v: u32,
    /// Idempotency key: 128 random bits as 32 lowercase hex digits.
    pub id: String,
    /// When the author made the event: seconds since the Unix epoch (UTC).
    pub created: i64,
    /// What happened.
    pub body: EventBody,
}

/// What an event says. Who must sign it is given by [`EventBody::signer`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EventBody {
    /// Operator registers an organization and its first public key.
    OrganizationRegistered(OrganizationRegistered),
    /// Operator replaces an organization's key (lost or compromised key).
    OrganizationKeyRotated(OrganizationKeyRotated),
    /// Operator suspends an organization: it may not append until reinstated.
    OrganizationSuspended(OrganizationStatusChanged),
    /// Operator lifts a suspension.
    OrganizationReinstated(OrganizationStatusChanged),
    /// A volunteer id enters the ledger (operator- or organization-signed).
    VolunteerEnrolled(VolunteerEnrolled),
    /// An organization publishes an activity that attestations may refer to.
    ActivityPublished(ActivityPublished),
    /// An organization attests that a volunteer worked `minutes` on `date`.
    HoursAttested(HoursAttested),
    /// The attesting organization corrects an attestation's date and minutes.
    AttestationCorrected(AttestationCorrected),
    /// The attesting organization withdraws an attestation.
    AttestationRetracted(AttestationRetracted),
    /// Operator registers a credential issuer key (distinct from the operator's log key).
    IssuerKeyRegistered(IssuerKeyRegistered),
    /// Issuer records that it issued a credential.
    CredentialIssued(CredentialIssued),
    /// Issuer revokes a credential.
    CredentialRevoked(CredentialRevoked),
}

/// Whose key must sign an event.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signer {
    /// The operator's log key.
    Operator,
    /// The current key of this organization.
    Organization(String),
    /// The key registered for this issuer id.
    Issuer(String),
}

impl EventBody {
    /// The event's type name, as in the wire form (`"HoursAttested"`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            EventBody::OrganizationRegistered(_) => "OrganizationRegistered",
            EventBody::OrganizationKeyRotated(_) => "OrganizationKeyRotated",
            EventBody::OrganizationSuspended(_) => "OrganizationSuspended",
            EventBody::OrganizationReinstated(_) => "OrganizationReinstated",
            EventBody::VolunteerEnrolled(_) => "VolunteerEnrolled",
            EventBody::ActivityPublished(_) => "ActivityPublished",
            EventBody::HoursAttested(_) => "HoursAttested",
            EventBody::AttestationCorrected(_) => "AttestationCorrected",
            EventBody::AttestationRetracted(_) => "AttestationRetracted",
            EventBody::IssuerKeyRegistered(_) => "IssuerKeyRegistered",
            EventBody::CredentialIssued(_) => "CredentialIssued",
            EventBody::CredentialRevoked(_) => "CredentialRevoked",
        }
    }

    /// Whose key must sign this event.
    pub fn signer(&self) -> Signer {
        match self {
            EventBody::OrganizationRegistered(_)
            | EventBody::OrganizationKeyRotated(_)
            | EventBody::OrganizationSuspended(_)
            | EventBody::OrganizationReinstated(_)
            | EventBody::IssuerKeyRegistered(_) => Signer::Operator,
            EventBody::VolunteerEnrolled(e) => match &e.org {
                Some(org) => Signer::Organization(org.clone()),
                None => Signer::Operator,
            },
            EventBody::ActivityPublished(e) => Signer::Organization(e.org.clone()),
            EventBody::HoursAttested(e) => Signer::Organization(e.org.clone()),
            EventBody::AttestationCorrected(e) => Signer::Organization(e.org.clone()),
            EventBody::AttestationRetracted(e) => Signer::Organization(e.org.clone()),
            EventBody::CredentialIssued(e) => Signer::Issuer(e.issuer.clone()),
            EventBody::CredentialRevoked(e) => Signer::Issuer(e.issuer.clone()),
        }
    }
}

/// A text in the three languages of Kazakhstan's certificates. English is required; Kazakh and
/// Russian fall back to English when absent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Names {
    /// Kazakh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kk: Option<String>,
    /// Russian.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ru: Option<String>,
    /// English.
    pub en: String,
}

impl Names {
    /// The text in `lang` (`"kk"`, `"ru"` or `"en"`), falling back to English.
    pub fn get(&self, lang: &str) -> &str {
        let pick = match lang {
            "kk" => self.kk.as_deref(),
            "ru" => self.ru.as_deref(),
            _ => None,
        };
        pick.unwrap_or(&self.en)
    }
}

/// Kinds of volunteer activity, as used by Kazakhstan's volunteer platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Social help.
    Social,
    /// Ecology and environment.
    Ecological,
    /// Medical help.
    Medical,
    /// Animal welfare.
    AnimalWelfare,
    /// Education and mentoring.
    Education,
    /// Media and communication.
    Media,
    /// Emergency relief.
    EmergencyRelief,
    /// Events (concerts, sports, forums).
    Events,
    /// Anything else.
    Other,
}

impl Category {
    /// Every category, in display order.
    pub const ALL: [Category; 9] = [
        Category::Social,
        Category::Ecological,
        Category::Medical,
        Category::AnimalWelfare,
        Category::Education,
        Category::Media,
        Category::EmergencyRelief,
        Category::Events,
        Category::Other,
    ];

    /// The wire name (`"animal_welfare"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Social => "social",
            Category::Ecological => "ecological",
            Category::Medical => "medical",
            Category::AnimalWelfare => "animal_welfare",
            Category::Education => "education",
            Category::Media => "media",
            Category::EmergencyRelief => "emergency_relief",
            Category::Events => "events",
            Category::Other => "other",
        }
    }

    /// Parses a wire name; also accepts `-` or a space for `_`.
    pub fn parse(s: &str) -> Option<Category> {
        let norm = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Category::ALL.into_iter().find(|c| c.as_str() == norm)
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Body of `OrganizationRegistered`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationRegistered {
    /// Organization id chosen by the operator, e.g. `astana-youth-centre`.
    pub org: String,
    /// Display names.
    pub names: Names,
    /// Region (oblast or city of republican significance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The organization's Ed25519 public key (32 bytes).
    #[serde(with = "serde_bytes")]
    pub public_key: Vec<u8>,
}

/// Body of `OrganizationKeyRotated`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationKeyRotated {
    /// Organization id.
    pub org: String,
    /// The new Ed25519 public key (32 bytes); the old one stops being valid at this entry.
    #[serde(with = "serde_bytes")]
    pub public_key: Vec<u8>,
}

/// Body of `OrganizationSuspended` and `OrganizationReinstated`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationStatusChanged {
    /// Organization id.
    pub org: String,
    /// Why.
    pub reason: String,
}

/// Body of `VolunteerEnrolled`. Only a random id: names live outside the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolunteerEnrolled {
    /// Volunteer id: 128 random bits as 32 lowercase hex digits.
    pub volunteer: String,
    /// The enrolling organization; `None` when the operator enrolled the volunteer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
}

/// Body of `ActivityPublished`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityPublished {
    /// Activity id: 128 random bits as 32 lowercase hex digits.
    pub activity: String,
    /// Publishing organization.
    pub org: String,
    /// Titles.
    pub titles: Names,
    /// Category.
    pub category: Category,
    /// Where (free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD`.
    pub to: String,
}

/// Body of `HoursAttested`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoursAttested {
    /// Attestation id: 128 random bits as 32 lowercase hex digits.
    pub attestation: String,
    /// Attesting organization.
    pub org: String,
    /// Volunteer id.
    pub volunteer: String,
    /// Activity the hours belong to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    /// Day worked, `YYYY-MM-DD`.
    pub date: String,
    /// Minutes worked that day, 1..=1440.
    pub minutes: u32,
    /// Role (free text, e.g. "steward").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Note (free text; must not hold personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Body of `AttestationCorrected`: replaces the date and minutes of a live attestation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationCorrected {
    /// The attestation corrected.
    pub attestation: String,
    /// The attesting organization (only it may correct).
    pub org: String,
    /// New day worked, `YYYY-MM-DD`.
    pub date: String,
    /// New minutes, 1..=1440.
    pub minutes: u32,
    /// Why.
    pub reason: String,
}

/// Body of `AttestationRetracted`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationRetracted {
    /// The attestation withdrawn.
    pub attestation: String,
    /// The attesting organization (only it may retract).
    pub org: String,
    /// Why.
    pub reason: String,
}

/// Body of `IssuerKeyRegistered`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerKeyRegistered {
    /// Issuer id, e.g. `kz-volunteer-front-office`.
    pub issuer: String,
    /// Display name.
    pub name: String,
    /// The issuer's Ed25519 public key (32 bytes).
    #[serde(with = "serde_bytes")]
    pub public_key: Vec<u8>,
    /// Start of validity, seconds since the Unix epoch.
    pub valid_from: i64,
    /// End of validity, seconds since the Unix epoch, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<i64>,
}

/// Body of `CredentialIssued`. Holds a hash of the credential, never its (personal) content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialIssued {
    /// Credential id (the CWT `cti`), 32 lowercase hex digits.
    pub credential: String,
    /// Issuer id.
    pub issuer: String,
    /// Volunteer id the credential was issued to.
    pub volunteer: String,
    /// SHA-256 of the credential's COSE_Sign1 bytes.
    #[serde(with = "serde_bytes")]
    pub credential_sha256: Vec<u8>,
    /// Index of the credential in the revocation status list.
    pub status_index: u64,
}

/// Body of `CredentialRevoked`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRevoked {
    /// Credential id.
    pub credential: String,
    /// Issuer id (must be the issuer of the credential).
    pub issuer: String,
    /// Why.
    pub reason: String,
}

/// Checks that `id` is 32 lowercase hex digits (a random 128-bit id).
pub fn is_valid_id128(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
