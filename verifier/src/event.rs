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
//! - free text a person types (roles, notes, reasons) never enters the log either: an event
//!   carries a salted SHA-256 commitment to it ([`FreeText`]), and the text itself lives in the
//!   erasable text directory beside the volunteer directory (docs/log-format.md §1.1);
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

    /// Every free-text field of the event, with its wire name.
    pub fn free_texts(&self) -> Vec<(&'static str, &FreeText)> {
        let mut out = Vec::new();
        match self {
            EventBody::OrganizationSuspended(e) | EventBody::OrganizationReinstated(e) => {
                out.push(("reason", &e.reason))
            }
            EventBody::HoursAttested(e) => {
                out.extend(e.role.as_ref().map(|t| ("role", t)));
                out.extend(e.note.as_ref().map(|t| ("note", t)));
            }
            EventBody::AttestationCorrected(e) => out.push(("reason", &e.reason)),
            EventBody::AttestationRetracted(e) => out.push(("reason", &e.reason)),
            EventBody::CredentialRevoked(e) => out.push(("reason", &e.reason)),
            _ => {}
        }
        out
    }

    /// Every free-text field of the event, mutable (to replace drafts by commitments).
    pub fn free_texts_mut(&mut self) -> Vec<(&'static str, &mut FreeText)> {
        let mut out = Vec::new();
        match self {
            EventBody::OrganizationSuspended(e) | EventBody::OrganizationReinstated(e) => {
                out.push(("reason", &mut e.reason))
            }
            EventBody::HoursAttested(e) => {
                out.extend(e.role.as_mut().map(|t| ("role", t)));
                out.extend(e.note.as_mut().map(|t| ("note", t)));
            }
            EventBody::AttestationCorrected(e) => out.push(("reason", &mut e.reason)),
            EventBody::AttestationRetracted(e) => out.push(("reason", &mut e.reason)),
            EventBody::CredentialRevoked(e) => out.push(("reason", &mut e.reason)),
            _ => {}
        }
        out
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

/// Domain separator of [`text_commitment`].
pub const TEXT_COMMITMENT_DOMAIN: &[u8] = b"sagat text v1\0";

/// Length of a text commitment's salt, in bytes.
pub const TEXT_SALT_LEN: usize = 32;

/// The commitment to a free text: SHA-256(`"sagat text v1"` ‖ 0x00 ‖ salt ‖ UTF-8 text), with a
/// 32-byte random salt (docs/log-format.md §1.1). The salt makes the commitment useless for
/// guessing short texts ("steward", a phone number): without the salt, which is stored only
/// beside the text and erased with it, nobody can test a guess against the log.
pub fn text_commitment(salt: &[u8; TEXT_SALT_LEN], text: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(TEXT_COMMITMENT_DOMAIN);
    h.update(salt);
    h.update(text.as_bytes());
    h.finalize().into()
}

/// A free-text field (a role, a note, a reason).
///
/// On the wire only [`FreeText::Committed`] exists: a CBOR byte string of 32 bytes, the
/// [`text_commitment`]. [`FreeText::Draft`] is the text a person typed, on its way to being
/// committed: the application replaces every draft with its commitment (storing the text and
/// salt off the log) before it signs. A draft still serializes (as a text string) so that the
/// mistake is visible, but no decoder of this crate accepts a text string here: such an entry
/// is refused on append and fails `log verify`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FreeText {
    /// SHA-256 commitment to the text ([`text_commitment`]).
    Committed([u8; 32]),
    /// Text as typed, not yet committed (never valid in a signed event).
    Draft(String),
}

impl FreeText {
    /// The commitment to `text` under `salt` (a client that signs its own events makes its
    /// texts' commitments this way, with 32 random bytes of salt it keeps with the text).
    pub fn commit(salt: &[u8; TEXT_SALT_LEN], text: &str) -> FreeText {
        FreeText::Committed(text_commitment(salt, text))
    }

    /// The commitment, if this is one.
    pub fn commitment(&self) -> Option<&[u8; 32]> {
        match self {
            FreeText::Committed(c) => Some(c),
            FreeText::Draft(_) => None,
        }
    }

    /// The typed text, if this is still a draft.
    pub fn draft(&self) -> Option<&str> {
        match self {
            FreeText::Committed(_) => None,
            FreeText::Draft(t) => Some(t),
        }
    }
}

impl From<&str> for FreeText {
    fn from(text: &str) -> Self {
        FreeText::Draft(text.to_string())
    }
}

impl From<String> for FreeText {
    fn from(text: String) -> Self {
        FreeText::Draft(text)
    }
}

impl Serialize for FreeText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FreeText::Committed(c) => s.serialize_bytes(c),
            FreeText::Draft(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for FreeText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Commitment;
        impl serde::de::Visitor<'_> for Commitment {
            type Value = FreeText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a 32-byte text commitment (byte string)")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<FreeText, E> {
                let c: [u8; 32] = v.try_into().map_err(|_| {
                    E::custom(format!(
                        "a text commitment is 32 bytes, got {} (docs/log-format.md §1.1)",
                        v.len()
                    ))
                })?;
                Ok(FreeText::Committed(c))
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<FreeText, E> {
                Err(E::custom(
                    "free text is not allowed in the log: a role, note or reason is a 32-byte \
                     commitment, its text is kept off the log (docs/log-format.md §1.1)",
                ))
            }
        }
        d.deserialize_bytes(Commitment)
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
    /// Why, committed: the text is off the log.
    pub reason: FreeText,
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
    /// Role (e.g. "steward"), committed: the text is off the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<FreeText>,
    /// Note, committed: the text is off the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<FreeText>,
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
    /// Why, committed: the text is off the log.
    pub reason: FreeText,
}

/// Body of `AttestationRetracted`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationRetracted {
    /// The attestation withdrawn.
    pub attestation: String,
    /// The attesting organization (only it may retract).
    pub org: String,
    /// Why, committed: the text is off the log.
    pub reason: FreeText,
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
    /// Why, committed: the text is off the log.
    pub reason: FreeText,
}

/// Checks that `id` is 32 lowercase hex digits (a random 128-bit id).
pub fn is_valid_id128(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
