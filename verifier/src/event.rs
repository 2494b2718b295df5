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
    /// Operator records an organization's new names and region (they replace the old ones
    /// from this entry on; certificates issued before keep the names they were issued with).
    OrganizationUpdated(OrganizationUpdated),
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
            EventBody::OrganizationUpdated(_) => "OrganizationUpdated",
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
            | EventBody::OrganizationUpdated(_)
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

/// Longest name, title, place or region, in characters (Unicode scalar values).
pub const MAX_NAME_CHARS: usize = 200;
/// Longest role, in characters.
pub const MAX_ROLE_CHARS: usize = 100;
/// Longest note or reason, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;

/// The one rule for every human text that enters the log or is committed in it (names, titles,
/// places, regions, roles, notes, reasons), so that every later export and rendering can use it
/// (a signed-note trust list, a PDF, an HTML page, a CSV line): at most `max_chars` characters,
/// in Unicode Normalization Form C, no control characters (Unicode category Cc: line breaks,
/// tabs, DEL, C1 controls), no bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E,
/// U+2066–U+2069), no byte-order mark or zero-width space (U+FEFF, U+200B), and no leading or
/// trailing white space. Returns what is wrong, in words, for the error a person reads.
pub fn check_human_text(value: &str, max_chars: usize) -> Result<(), String> {
    let chars = value.chars().count();
    if chars > max_chars {
        return Err(format!(
            "is {chars} characters long; at most {max_chars} are allowed"
        ));
    }
    if let Some(c) = value.chars().find(|&c| {
        c.is_control()
            || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{200B}')
    }) {
        return Err(format!(
            "holds the invisible control character U+{:04X}; remove it",
            c as u32
        ));
    }
    if value.trim() != value {
        return Err("starts or ends with white space".into());
    }
    if !unicode_normalization::is_nfc(value) {
        return Err("is not in Unicode Normalization Form C (NFC); normalize it".into());
    }
    Ok(())
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
        // `deserialize_any`: a text string must reach `visit_str` to get the clear refusal.
        d.deserialize_any(Commitment)
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

/// Body of `OrganizationUpdated`: the organization's names and region from this entry on, in
/// full (an absent `region` means it has none any more), replacing those of its registration or
/// its previous update.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationUpdated {
    /// Organization id (unchanged: the id is the organization's identity in the log).
    pub org: String,
    /// Display names.
    pub names: Names,
    /// Region (oblast or city of republican significance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_commitment_matches_the_documented_formula() {
        // docs/log-format.md §1.1: SHA-256("sagat text v1" 0x00 ‖ salt ‖ text).
        assert_eq!(
            hex::encode(text_commitment(&[7; 32], "steward")),
            "545b416a23acf592e6c9847399c8cc4080bd25bec6a6e16e376532a691a993c8"
        );
        assert_ne!(
            text_commitment(&[8; 32], "steward"),
            text_commitment(&[7; 32], "steward"),
            "the salt changes the commitment"
        );
    }

    fn attested(role: FreeText) -> Event {
        Event {
            v: EVENT_VERSION,
            id: "0".repeat(32),
            created: 1_700_000_000,
            body: EventBody::HoursAttested(HoursAttested {
                attestation: "1".repeat(32),
                org: "eco".into(),
                volunteer: "2".repeat(32),
                activity: None,
                date: "2025-01-01".into(),
                minutes: 60,
                role: Some(role),
                note: None,
            }),
        }
    }

    #[test]
    fn a_typed_text_in_a_signed_event_is_refused_and_a_commitment_accepted() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
        let plain = crate::sign_event(&attested("steward".into()), &key);
        let err = crate::decode_signed_event(&plain).unwrap_err().to_string();
        assert!(err.contains("free text is not allowed in the log"), "{err}");
        let committed = attested(FreeText::commit(&[7; 32], "steward"));
        let decoded = crate::decode_signed_event(&crate::sign_event(&committed, &key)).unwrap();
        assert_eq!(decoded.event, committed);
    }

    #[test]
    fn a_commitment_of_another_length_is_refused() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
        let event = attested(FreeText::commit(&[7; 32], "x"));
        // Re-encode with a 31-byte string where the 32-byte commitment was.
        let mut value = ciborium::Value::serialized(&event).unwrap();
        fn shorten(v: &mut ciborium::Value) {
            match v {
                ciborium::Value::Bytes(b) if b.len() == 32 => b.truncate(31),
                ciborium::Value::Map(m) => m.iter_mut().for_each(|(_, v)| shorten(v)),
                _ => {}
            }
        }
        shorten(&mut value);
        let bytes = crate::cose::sign1(&crate::to_canonical_cbor(&value), &key);
        let err = crate::decode_signed_event(&bytes).unwrap_err().to_string();
        assert!(err.contains("32 bytes, got 31"), "{err}");
    }
}

#[cfg(test)]
mod human_text_tests {
    use super::*;

    #[test]
    fn the_human_text_rule_names_what_is_wrong() {
        let bad = |v: &str| check_human_text(v, 10).unwrap_err();
        assert!(bad("Org\u{7f}X").contains("U+007F"));
        assert!(bad("a\nb").contains("U+000A"));
        assert!(bad("\u{feff}Org").contains("U+FEFF"));
        assert!(bad("a\u{200b}b").contains("U+200B"));
        assert!(bad("a\u{2066}b").contains("U+2066"));
        assert!(bad("e\u{301}").contains("NFC"));
        assert!(bad("Org ").contains("white space"));
        assert!(bad("abcdefghijk").contains("11 characters"));
        assert_eq!(check_human_text("Ұлжан ё", 10), Ok(()));
        assert_eq!(check_human_text("é", 1), Ok(()), "NFC é is one character");
    }
}
