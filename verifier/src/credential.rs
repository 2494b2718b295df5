//! The hours credential: a CWT (RFC 8392) in a COSE_Sign1 (RFC 9052 §4.2) signed by an issuer key.
//!
//! Wire form (docs/formats.md, "Credential"): the COSE payload is a CWT claims map in
//! deterministic CBOR (RFC 8949 §4.2.1) with `iss` (1), optional `exp` (4), `nbf` (5), `iat` (6),
//! `cti` (7, 16 bytes) and one private claim, [`HOURS_CLAIM_KEY`] (-65537), holding the hours:
//!
//! | key | field | CBOR |
//! |---|---|---|
//! | 1 | holder name as written | tstr |
//! | 2 | total minutes | uint |
//! | 3 | organization lines | array of `[org, category, minutes, first, span, ? name]` |
//! | 4 | grouped remainder (optional) | `[organizations, minutes]` |
//! | 5 | period covered | `[from day, to day]` |
//! | 6 | checkpoint issued against | `[tree size, root hash (32 bytes)]` |
//! | 7 | counted attestations, inline | array of uint: first log index, then differences |
//! | 8 | counted attestations, committed | `[count, SHA-256 (32 bytes)]` |
//! | 9 | revocation status-list index | uint |
//!
//! A *day* is an integer: days since 1970-01-01 (proleptic Gregorian, years 0001-9999); the API
//! shows days as `YYYY-MM-DD`. In an organization line, `org` is the log index of the
//! organization's `OrganizationRegistered` entry (unique, and checkable against the evidence
//! bundle and the log), `first` is the number of days from the period's first day to the first
//! day worked, `span` the number of days from that to the last day worked, and the name is
//! optional (left out to fit the QR code). Exactly one of 7 and 8 is present. Why arrays and integer keys: the credential must fit a
//! printed QR code (version ≤ 20 at error-correction level Q for ten organizations), and map keys
//! spelled out would cost more than the data. Why delta encoding: the attestation indices of one
//! volunteer are increasing and close together, so the differences take one or two bytes each.
//! When even that is too long ([`AttestationRefs::compact`]), the credential carries a SHA-256
//! commitment to the list instead; the full list travels in the PDF's evidence bundle.
//!
//! Decoding is strict: unknown keys, keys out of order, non-deterministic encoding and malformed
//! dates are rejected. A future incompatible version gets a new QR prefix instead of new keys.

use ciborium::Value;
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

use std::fmt::Display;

use crate::cbor_strict::{bytes, encode, int, int_map, text, uint};
use crate::cbor_view::{self as view, Item};
use crate::{format_date, parse_date, sign1, Category, Error, Sign1};

/// CWT claim key of the hours claim (private use range, RFC 8392 §9.1: keys < -65536).
pub const HOURS_CLAIM_KEY: i64 = -65537;

/// CWT `iss` (RFC 8392 §3.1.1).
const CWT_ISS: i64 = 1;
/// CWT `exp` (RFC 8392 §3.1.4).
const CWT_EXP: i64 = 4;
/// CWT `nbf` (RFC 8392 §3.1.5).
const CWT_NBF: i64 = 5;
/// CWT `iat` (RFC 8392 §3.1.6).
const CWT_IAT: i64 = 6;
/// CWT `cti` (RFC 8392 §3.1.7).
const CWT_CTI: i64 = 7;

/// Largest delta-encoded index list (in CBOR bytes) [`AttestationRefs::compact`] keeps inline.
pub const MAX_INLINE_INDEX_BYTES: usize = 40;

/// The claims of an hours credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialClaims {
    /// `iss`: the issuer id (as in `IssuerKeyRegistered.issuer`).
    pub issuer: String,
    /// `iat`: issue time, seconds since the Unix epoch.
    pub issued_at: i64,
    /// `nbf`: not valid before, seconds since the Unix epoch.
    pub not_before: i64,
    /// `exp`: not valid from this time on, seconds since the Unix epoch; `None` = no expiry.
    pub expires: Option<i64>,
    /// `cti`: the credential id, 16 random bytes.
    pub id: [u8; 16],
    /// The private hours claim.
    pub hours: HoursClaim,
}

/// The private claim [`HOURS_CLAIM_KEY`]: what the credential says about the holder's hours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoursClaim {
    /// The holder's name as the volunteer wrote it. The only personal data in the credential.
    pub holder: String,
    /// Total minutes: the sum of the organization lines and the grouped remainder.
    pub total_minutes: u64,
    /// One line per organization.
    pub orgs: Vec<OrgLine>,
    /// Organizations grouped into one line to keep the QR code small, if any.
    pub more: Option<MoreOrgs>,
    /// First day of the period covered, `YYYY-MM-DD`.
    pub period_from: String,
    /// Last day of the period covered, `YYYY-MM-DD`.
    pub period_to: String,
    /// Tree size of the signed checkpoint the credential was issued against.
    pub checkpoint_size: u64,
    /// Root hash of that checkpoint.
    pub checkpoint_root: [u8; 32],
    /// The log indices of the counted `HoursAttested` entries.
    pub attestations: AttestationRefs,
    /// The credential's index in the issuer's revocation status list.
    pub status_index: u64,
}

/// One organization's line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgLine {
    /// The organization: the log index of its `OrganizationRegistered` entry.
    pub org_index: u64,
    /// Organization name (in the certificate's language); `None` when the issuer left it out to
    /// fit the QR code (a verifier then shows the name its trust list or the evidence gives).
    pub name: Option<String>,
    /// Main category (wire name, e.g. `"social"`).
    pub category: String,
    /// Minutes counted for this organization.
    pub minutes: u64,
    /// First day worked, `YYYY-MM-DD`.
    pub first: String,
    /// Last day worked, `YYYY-MM-DD`.
    pub last: String,
}

/// The grouped remainder: "+N more organizations: M minutes".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MoreOrgs {
    /// Number of organizations grouped.
    pub organizations: u32,
    /// Their minutes together.
    pub minutes: u64,
}

/// Which log entries the credential counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttestationRefs {
    /// The log indices, strictly increasing.
    Indices(Vec<u64>),
    /// A commitment to the indices: their number and the SHA-256 of [`index_list_cbor`] of them.
    Commitment {
        /// Number of indices.
        count: u64,
        /// SHA-256 of the deterministic CBOR array of the indices, ascending.
        sha256: [u8; 32],
    },
}

impl AttestationRefs {
    /// The inline list if its delta encoding takes at most [`MAX_INLINE_INDEX_BYTES`], otherwise
    /// the commitment. Sorts and deduplicates `indices`.
    pub fn compact(mut indices: Vec<u64>) -> AttestationRefs {
        indices.sort_unstable();
        indices.dedup();
        if encode(&delta_array(&indices)).len() <= MAX_INLINE_INDEX_BYTES {
            AttestationRefs::Indices(indices)
        } else {
            AttestationRefs::commit(&indices)
        }
    }

    /// The commitment form for `indices` (sorted and deduplicated first).
    pub fn commit(indices: &[u64]) -> AttestationRefs {
        let mut sorted = indices.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        AttestationRefs::Commitment {
            count: sorted.len() as u64,
            sha256: Sha256::digest(index_list_cbor(&sorted)).into(),
        }
    }

    /// Number of counted attestations.
    pub fn count(&self) -> u64 {
        match self {
            AttestationRefs::Indices(v) => v.len() as u64,
            AttestationRefs::Commitment { count, .. } => *count,
        }
    }

    /// Whether `indices` (in any order) are exactly the counted ones.
    pub fn matches(&self, indices: &[u64]) -> bool {
        let mut sorted = indices.to_vec();
        sorted.sort_unstable();
        let len = sorted.len();
        sorted.dedup();
        if sorted.len() != len {
            return false;
        }
        match self {
            AttestationRefs::Indices(v) => *v == sorted,
            AttestationRefs::Commitment { count, sha256 } => {
                *count == len as u64
                    && Sha256::digest(index_list_cbor(&sorted)).as_slice() == sha256
            }
        }
    }
}

/// The bytes a [`AttestationRefs::Commitment`] hashes: the deterministic CBOR array of absolute
/// log indices in ascending order (e.g. `[3, 17, 18]` → `83 03 11 12`).
pub fn index_list_cbor(sorted_indices: &[u64]) -> Vec<u8> {
    encode(&Value::Array(
        sorted_indices.iter().map(|&i| uint(i)).collect(),
    ))
}

/// The credential id as 32 lowercase hex digits (as in `CredentialIssued.credential`).
pub fn credential_id_hex(id: &[u8; 16]) -> String {
    hex::encode(id)
}

/// Parses 32 hex digits into a credential id.
pub fn parse_credential_id(text: &str) -> Result<[u8; 16], Error> {
    let raw = hex::decode(text.trim())
        .map_err(|e| Error::Claims(format!("credential id is not hex: {e}")))?;
    raw.as_slice()
        .try_into()
        .map_err(|_| Error::Claims(format!("credential id is 16 bytes, got {}", raw.len())))
}

fn delta_array(sorted: &[u64]) -> Value {
    let mut previous = None;
    Value::Array(
        sorted
            .iter()
            .map(|&i| {
                let d = match previous {
                    None => i,
                    Some(p) => i - p,
                };
                previous = Some(i);
                uint(d)
            })
            .collect(),
    )
}

/// The CWT claims map of `claims` in deterministic CBOR: the COSE payload of the credential.
/// Inline attestation indices are written sorted and deduplicated.
pub fn encode_claims(claims: &CredentialClaims) -> Vec<u8> {
    encode(&claims_value(claims))
}

fn claims_value(c: &CredentialClaims) -> Value {
    let h = &c.hours;
    let period_from = day_number(&h.period_from);
    let orgs = Value::Array(
        h.orgs
            .iter()
            .map(|o| {
                let first = day_number(&o.first);
                let mut line = vec![
                    uint(o.org_index),
                    category_value(&o.category),
                    uint(o.minutes),
                    day_offset(period_from, first),
                    day_offset(first, day_number(&o.last)),
                ];
                if let Some(name) = &o.name {
                    line.push(text(name));
                }
                Value::Array(line)
            })
            .collect(),
    );
    let mut hours = vec![
        (1, text(&h.holder)),
        (2, uint(h.total_minutes)),
        (3, orgs),
        (
            5,
            Value::Array(vec![day_value(&h.period_from), day_value(&h.period_to)]),
        ),
        (
            6,
            Value::Array(vec![uint(h.checkpoint_size), bytes(&h.checkpoint_root)]),
        ),
        (9, uint(h.status_index)),
    ];
    if let Some(m) = h.more {
        hours.push((
            4,
            Value::Array(vec![uint(u64::from(m.organizations)), uint(m.minutes)]),
        ));
    }
    match &h.attestations {
        AttestationRefs::Indices(v) => {
            let mut sorted = v.clone();
            sorted.sort_unstable();
            sorted.dedup();
            hours.push((7, delta_array(&sorted)));
        }
        AttestationRefs::Commitment { count, sha256 } => {
            hours.push((8, Value::Array(vec![uint(*count), bytes(sha256)])));
        }
    }
    let mut top = vec![
        (CWT_ISS, text(&c.issuer)),
        (CWT_NBF, int(c.not_before)),
        (CWT_IAT, int(c.issued_at)),
        (CWT_CTI, bytes(&c.id)),
        (HOURS_CLAIM_KEY, int_map(hours)),
    ];
    if let Some(exp) = c.expires {
        top.push((CWT_EXP, int(exp)));
    }
    int_map(top)
}

/// A category on the wire: its position in [`Category::ALL`] (one byte) when it is one of the
/// known wire names, otherwise the text itself.
fn category_value(category: &str) -> Value {
    match Category::ALL.iter().position(|c| c.as_str() == category) {
        Some(i) => uint(i as u64),
        None => text(category),
    }
}

/// A `YYYY-MM-DD` date as days since 1970-01-01. A string that is not a date (which
/// [`sign_credential`]'s callers must not pass) counts as day 0.
fn day_number(date: &str) -> i64 {
    i64::from(parse_date(date).unwrap_or(0))
}

/// A `YYYY-MM-DD` date on the wire: days since 1970-01-01 (3 bytes instead of 11).
fn day_value(date: &str) -> Value {
    int(day_number(date))
}

/// The number of days from `from` to `to` (1 to 3 bytes). Lines whose days are not inside the
/// period (which [`check_claims_consistency`] rejects) would be negative; they are written as a
/// negative integer, which [`decode_claims`] rejects.
fn day_offset(from: i64, to: i64) -> Value {
    int(to - from)
}

/// Parses a credential's COSE payload (strict; see the module docs). Checks shapes and dates,
/// not arithmetic: whether the totals add up is a verification step
/// ([`crate::check_claims_consistency`]).
pub fn decode_claims(payload: &[u8]) -> Result<CredentialClaims, Error> {
    crate::cbor::check_canonical(payload)?;
    // The fields are read straight from the checked bytes (no Value tree).
    let item = view::item(payload).ok_or_else(|| Error::Cbor("not well-formed".into()))?;
    claims_from_item(item).map_err(Error::Claims)
}

fn claims_from_item(item: Item<'_>) -> Result<CredentialClaims, String> {
    let mut top = view::IntMap::new(item, "CWT claims")?;
    let issuer = view::get_text(top.require(CWT_ISS, "iss")?, "iss")?;
    let expires = top
        .take(CWT_EXP)
        .map(|v| view::get_i64(v, "exp"))
        .transpose()?;
    let not_before = view::get_i64(top.require(CWT_NBF, "nbf")?, "nbf")?;
    let issued_at = view::get_i64(top.require(CWT_IAT, "iat")?, "iat")?;
    let id = view::get_fixed::<16>(top.require(CWT_CTI, "cti")?, "cti")?;
    let hours = hours_from_item(top.require(HOURS_CLAIM_KEY, "hours claim")?)?;
    top.finish()?;
    if issuer.is_empty() {
        return Err("iss: empty issuer id".into());
    }
    Ok(CredentialClaims {
        issuer,
        issued_at,
        not_before,
        expires,
        id,
        hours,
    })
}

/// A day number inside years 0001-9999.
fn day_in_range(days: i64, what: impl Display) -> Result<i32, String> {
    let days = i32::try_from(days).map_err(|_| format!("{what}: day number out of range"))?;
    // Only days of years 0001-9999 have a YYYY-MM-DD form.
    if !(crate::date::FIRST_DAY..=crate::date::LAST_DAY).contains(&days) {
        let shown = format_date(days);
        return Err(format!(
            "{what}: day {days} ({shown}) is outside years 0001-9999"
        ));
    }
    Ok(days)
}

/// The day `offset` days (an unsigned CBOR integer) after day `from`.
fn day_after(from: i32, offset: Item<'_>, what: impl Display + Copy) -> Result<i32, String> {
    let offset = view::get_u64(offset, what)?;
    let day = i64::from(from)
        .checked_add(i64::try_from(offset).map_err(|_| format!("{what}: out of range"))?)
        .ok_or_else(|| format!("{what}: out of range"))?;
    day_in_range(day, what)
}

fn category_from_item(item: Item<'_>, what: impl Display + Copy) -> Result<String, String> {
    match item {
        Item::Text(_) => view::get_text(item, what),
        other => {
            let i = view::get_u64(other, what)?;
            Category::ALL
                .get(i as usize)
                .map(|c| c.as_str().to_owned())
                .ok_or_else(|| format!("{what}: unknown category number {i}"))
        }
    }
}

/// "organization line N" and a suffix, formatted only when an error message needs it.
#[derive(Clone, Copy)]
struct LineContext {
    line: usize,
    suffix: &'static str,
}

impl Display for LineContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "organization line {}{}", self.line, self.suffix)
    }
}

fn hours_from_item(item: Item<'_>) -> Result<HoursClaim, String> {
    let mut m = view::IntMap::new(item, "hours claim")?;
    let holder = view::get_text(m.require(1, "holder")?, "holder")?;
    let total_minutes = view::get_u64(m.require(2, "total minutes")?, "total minutes")?;
    let lines = view::get_array(m.require(3, "organization lines")?, "organization lines")?;
    let more = match m.take(4) {
        None => None,
        Some(v) => {
            let [n, minutes] = view::get_tuple::<2>(v, "grouped organizations")?;
            let n = view::get_u64(n, "grouped organizations")?;
            Some(MoreOrgs {
                organizations: u32::try_from(n)
                    .map_err(|_| "grouped organizations: count out of range".to_string())?,
                minutes: view::get_u64(minutes, "grouped organizations")?,
            })
        }
    };
    let [from, to] = view::get_tuple::<2>(m.require(5, "period")?, "period")?;
    let period_from = day_in_range(view::get_i64(from, "period from")?, "period from")?;
    let period_to = day_in_range(view::get_i64(to, "period to")?, "period to")?;
    let mut orgs = Vec::with_capacity(usize::try_from(lines.len()).unwrap_or(0).min(64));
    for (i, line) in lines.enumerate() {
        let what = LineContext {
            line: i + 1,
            suffix: "",
        };
        let with = |suffix| LineContext { suffix, ..what };
        let fields = view::get_array(line, what)?;
        let name = match fields.len() {
            5 => None,
            6 => match view::get_text(fields.clone().nth(5).unwrap_or(Item::Other), what)? {
                n if n.is_empty() => {
                    return Err(format!("{what}: empty name (leave the name out instead)"))
                }
                n => Some(n),
            },
            n => return Err(format!("{what}: {n} fields, expected 5 or 6")),
        };
        let mut fields = fields;
        let mut field = || fields.next().unwrap_or(Item::Other);
        let (org, category, minutes, first, span) = (field(), field(), field(), field(), field());
        let first = day_after(period_from, first, with(", first day"))?;
        let last = day_after(first, span, with(", last day"))?;
        orgs.push(OrgLine {
            org_index: view::get_u64(org, with(", organization log index"))?,
            name,
            category: category_from_item(category, what)?,
            minutes: view::get_u64(minutes, what)?,
            first: format_date(first),
            last: format_date(last),
        });
    }
    let [size, root] = view::get_tuple::<2>(m.require(6, "checkpoint")?, "checkpoint")?;
    let checkpoint_size = view::get_u64(size, "checkpoint size")?;
    let checkpoint_root = view::get_fixed::<32>(root, "checkpoint root hash")?;
    let attestations = match (m.take(7), m.take(8)) {
        (Some(deltas), None) => {
            let deltas = view::get_array(deltas, "attestation indices")?;
            let mut indices =
                Vec::with_capacity(usize::try_from(deltas.len()).unwrap_or(0).min(64));
            let mut previous: Option<u64> = None;
            for d in deltas {
                let d = view::get_u64(d, "attestation index")?;
                let next = match previous {
                    None => d,
                    Some(_) if d == 0 => {
                        return Err("attestation indices: repeated index (delta 0)".into())
                    }
                    Some(p) => p
                        .checked_add(d)
                        .ok_or_else(|| "attestation indices: index overflows".to_string())?,
                };
                indices.push(next);
                previous = Some(next);
            }
            AttestationRefs::Indices(indices)
        }
        (None, Some(commitment)) => {
            let [count, hash] = view::get_tuple::<2>(commitment, "attestation commitment")?;
            AttestationRefs::Commitment {
                count: view::get_u64(count, "attestation count")?,
                sha256: view::get_fixed::<32>(hash, "attestation commitment hash")?,
            }
        }
        (Some(_), Some(_)) => {
            return Err("both inline attestation indices (7) and a commitment (8)".into())
        }
        (None, None) => return Err("missing attestation indices (7) or commitment (8)".into()),
    };
    let status_index = view::get_u64(m.require(9, "status index")?, "status index")?;
    m.finish()?;
    Ok(HoursClaim {
        holder,
        total_minutes,
        orgs,
        more,
        period_from: format_date(period_from),
        period_to: format_date(period_to),
        checkpoint_size,
        checkpoint_root,
        attestations,
        status_index,
    })
}

/// Signs `claims` with the issuer `key`: a tagged COSE_Sign1 (alg EdDSA, `kid` =
/// [`crate::key_id`] of the issuer key) over [`encode_claims`].
pub fn sign_credential(claims: &CredentialClaims, key: &SigningKey) -> Vec<u8> {
    sign1(&encode_claims(claims), key)
}

/// A parsed credential whose signature has **not** been checked yet.
#[derive(Clone, Debug)]
pub struct UnverifiedCredential {
    /// The COSE_Sign1.
    pub sign1: Sign1,
    /// The claims, as the (unverified) payload says.
    pub claims: CredentialClaims,
}

/// Parses a credential's COSE_Sign1 bytes ([`Sign1::parse_strict`]: the one accepted envelope
/// encoding) and claims without checking the signature.
pub fn parse_credential(cose: &[u8]) -> Result<UnverifiedCredential, Error> {
    let sign1 = Sign1::parse_strict(cose, None)?;
    let claims = decode_claims(sign1.payload())?;
    Ok(UnverifiedCredential { sign1, claims })
}

/// The internal arithmetic and date checks a credential's claims must pass: the total equals the
/// sum of the organization lines plus the grouped remainder; every line's first day ≤ last day and
/// inside the period; period from ≤ to; `nbf` ≤ `exp`. Returns a description of the first failure.
pub fn check_claims_consistency(claims: &CredentialClaims) -> Result<(), String> {
    let h = &claims.hours;
    let mut sum: u64 = 0;
    for o in &h.orgs {
        sum = sum
            .checked_add(o.minutes)
            .ok_or_else(|| "organization minutes overflow".to_string())?;
    }
    if let Some(m) = h.more {
        sum = sum
            .checked_add(m.minutes)
            .ok_or_else(|| "organization minutes overflow".to_string())?;
    }
    if sum != h.total_minutes {
        return Err(format!(
            "total minutes {} differ from the sum of the organization lines {}",
            h.total_minutes, sum
        ));
    }
    let day = |s: &str| parse_date(s).map_err(|e| e.to_string());
    let (from, to) = (day(&h.period_from)?, day(&h.period_to)?);
    if from > to {
        return Err(format!(
            "period {} .. {} ends before it starts",
            h.period_from, h.period_to
        ));
    }
    for o in &h.orgs {
        let (first, last) = (day(&o.first)?, day(&o.last)?);
        if first > last || first < from || last > to {
            return Err(format!(
                "organization #{}: days {} .. {} are not inside the period {} .. {}",
                o.org_index, o.first, o.last, h.period_from, h.period_to
            ));
        }
    }
    if let Some(exp) = claims.expires {
        if exp <= claims.not_before {
            return Err("exp is not after nbf".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod oracle {
    use super::*;
    use crate::cbor_strict::{get_array, get_fixed, get_i64, get_text, get_tuple, get_u64, IntMap};

    /// The Value-tree decoder [`decode_claims`] replaced, as its test oracle.
    pub(super) fn decode_claims_via_value(payload: &[u8]) -> Result<CredentialClaims, Error> {
        let value = crate::cbor::canonical_value(payload)?;
        claims_from_value(value).map_err(Error::Claims)
    }

    fn claims_from_value(value: Value) -> Result<CredentialClaims, String> {
        let mut top = IntMap::new(value, "CWT claims")?;
        let issuer = get_text(top.require(CWT_ISS, "iss")?, "iss")?;
        let expires = top.take(CWT_EXP).map(|v| get_i64(v, "exp")).transpose()?;
        let not_before = get_i64(top.require(CWT_NBF, "nbf")?, "nbf")?;
        let issued_at = get_i64(top.require(CWT_IAT, "iat")?, "iat")?;
        let id = get_fixed::<16>(top.require(CWT_CTI, "cti")?, "cti")?;
        let hours = hours_from_value(top.require(HOURS_CLAIM_KEY, "hours claim")?)?;
        top.finish()?;
        if issuer.is_empty() {
            return Err("iss: empty issuer id".into());
        }
        Ok(CredentialClaims {
            issuer,
            issued_at,
            not_before,
            expires,
            id,
            hours,
        })
    }

    fn date(v: Value, what: &str) -> Result<String, String> {
        let days = get_i64(v, what)?;
        let days = i32::try_from(days).map_err(|_| format!("{what}: day number out of range"))?;
        // Only days of years 0001-9999 have a YYYY-MM-DD form.
        if !(crate::date::FIRST_DAY..=crate::date::LAST_DAY).contains(&days) {
            let shown = format_date(days);
            return Err(format!(
                "{what}: day {days} ({shown}) is outside years 0001-9999"
            ));
        }
        Ok(format_date(days))
    }

    fn category_from(v: Value, what: &str) -> Result<String, String> {
        match v {
            Value::Text(s) => Ok(s),
            other => {
                let i = get_u64(other, what)?;
                Category::ALL
                    .get(i as usize)
                    .map(|c| c.as_str().to_owned())
                    .ok_or_else(|| format!("{what}: unknown category number {i}"))
            }
        }
    }

    /// The date `offset` days (an unsigned CBOR integer) after day `from`.
    fn date_after(from: &str, offset: Value, what: &str) -> Result<String, String> {
        let offset = get_u64(offset, what)?;
        let day = i64::from(parse_date(from).map_err(|e| format!("{what}: {e}"))?)
            .checked_add(i64::try_from(offset).map_err(|_| format!("{what}: out of range"))?)
            .ok_or_else(|| format!("{what}: out of range"))?;
        date(int(day), what)
    }

    fn hours_from_value(value: Value) -> Result<HoursClaim, String> {
        let mut m = IntMap::new(value, "hours claim")?;
        let holder = get_text(m.require(1, "holder")?, "holder")?;
        let total_minutes = get_u64(m.require(2, "total minutes")?, "total minutes")?;
        let lines = get_array(m.require(3, "organization lines")?, "organization lines")?;
        let more = match m.take(4) {
            None => None,
            Some(v) => {
                let [n, minutes] = get_tuple::<2>(v, "grouped organizations")?;
                let n = get_u64(n, "grouped organizations")?;
                Some(MoreOrgs {
                    organizations: u32::try_from(n)
                        .map_err(|_| "grouped organizations: count out of range".to_string())?,
                    minutes: get_u64(minutes, "grouped organizations")?,
                })
            }
        };
        let [from, to] = get_tuple::<2>(m.require(5, "period")?, "period")?;
        let (period_from, period_to) = (date(from, "period from")?, date(to, "period to")?);
        let mut orgs = Vec::with_capacity(lines.len());
        for (i, line) in lines.into_iter().enumerate() {
            let what = format!("organization line {}", i + 1);
            let mut fields = get_array(line, &what)?;
            let name = match fields.len() {
                5 => None,
                6 => match fields.pop().map(|n| get_text(n, &what)).transpose()? {
                    Some(n) if n.is_empty() => {
                        return Err(format!("{what}: empty name (leave the name out instead)"))
                    }
                    n => n,
                },
                n => return Err(format!("{what}: {n} fields, expected 5 or 6")),
            };
            let [org, category, minutes, first, span] =
                <[Value; 5]>::try_from(fields).map_err(|_| format!("{what}: expected 5 fields"))?;
            let first = date_after(&period_from, first, &format!("{what}, first day"))?;
            let last = date_after(&first, span, &format!("{what}, last day"))?;
            orgs.push(OrgLine {
                org_index: get_u64(org, &format!("{what}, organization log index"))?,
                name,
                category: category_from(category, &what)?,
                minutes: get_u64(minutes, &what)?,
                first,
                last,
            });
        }
        let [size, root] = get_tuple::<2>(m.require(6, "checkpoint")?, "checkpoint")?;
        let checkpoint_size = get_u64(size, "checkpoint size")?;
        let checkpoint_root = get_fixed::<32>(root, "checkpoint root hash")?;
        let attestations = match (m.take(7), m.take(8)) {
            (Some(deltas), None) => {
                let mut indices = Vec::new();
                let mut previous: Option<u64> = None;
                for d in get_array(deltas, "attestation indices")? {
                    let d = get_u64(d, "attestation index")?;
                    let next = match previous {
                        None => d,
                        Some(_) if d == 0 => {
                            return Err("attestation indices: repeated index (delta 0)".into())
                        }
                        Some(p) => p
                            .checked_add(d)
                            .ok_or_else(|| "attestation indices: index overflows".to_string())?,
                    };
                    indices.push(next);
                    previous = Some(next);
                }
                AttestationRefs::Indices(indices)
            }
            (None, Some(commitment)) => {
                let [count, hash] = get_tuple::<2>(commitment, "attestation commitment")?;
                AttestationRefs::Commitment {
                    count: get_u64(count, "attestation count")?,
                    sha256: get_fixed::<32>(hash, "attestation commitment hash")?,
                }
            }
            (Some(_), Some(_)) => {
                return Err("both inline attestation indices (7) and a commitment (8)".into())
            }
            (None, None) => return Err("missing attestation indices (7) or commitment (8)".into()),
        };
        let status_index = get_u64(m.require(9, "status index")?, "status index")?;
        m.finish()?;
        Ok(HoursClaim {
            holder,
            total_minutes,
            orgs,
            more,
            period_from,
            period_to,
            checkpoint_size,
            checkpoint_root,
            attestations,
            status_index,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oracle::decode_claims_via_value;

    fn sample() -> CredentialClaims {
        CredentialClaims {
            issuer: "kz-volunteer-office".into(),
            issued_at: 1_767_225_600,
            not_before: 1_767_225_600,
            expires: None,
            id: [7; 16],
            hours: HoursClaim {
                holder: "Әлия Қасымова".into(),
                total_minutes: 600,
                orgs: vec![OrgLine {
                    org_index: 12,
                    name: Some("Astana Youth Centre".into()),
                    category: "social".into(),
                    minutes: 600,
                    first: "2025-03-01".into(),
                    last: "2025-06-01".into(),
                }],
                more: None,
                period_from: "2025-01-01".into(),
                period_to: "2025-12-31".into(),
                checkpoint_size: 1000,
                checkpoint_root: [9; 32],
                attestations: AttestationRefs::Indices(vec![3, 17, 18, 400]),
                status_index: 5,
            },
        }
    }

    #[test]
    fn claims_round_trip_and_key_order() {
        let c = sample();
        let bytes = encode_claims(&c);
        assert_eq!(decode_claims(&bytes).unwrap(), c);
        // iss (1) comes first, the private claim (-65537 = 0x3a 00010000) last.
        assert_eq!(bytes[1], 0x01);
        let mut with_exp = c.clone();
        with_exp.expires = Some(1_800_000_000);
        assert_eq!(decode_claims(&encode_claims(&with_exp)).unwrap(), with_exp);
    }

    #[test]
    fn commitment_matches_exactly_its_indices() {
        let refs = AttestationRefs::commit(&[18, 3, 17]);
        assert!(refs.matches(&[3, 17, 18]));
        assert!(!refs.matches(&[3, 17]));
        assert!(!refs.matches(&[3, 17, 17, 18]));
        assert_eq!(index_list_cbor(&[3, 17, 18]), vec![0x83, 0x03, 0x11, 0x12]);
        let long: Vec<u64> = (0..200).map(|i| i * 1000).collect();
        assert!(matches!(
            AttestationRefs::compact(long),
            AttestationRefs::Commitment { count: 200, .. }
        ));
        assert_eq!(
            AttestationRefs::compact(vec![5, 1, 5]),
            AttestationRefs::Indices(vec![1, 5])
        );
    }

    #[test]
    fn consistency_names_the_broken_sum() {
        let mut c = sample();
        assert!(check_claims_consistency(&c).is_ok());
        c.hours.total_minutes = 601;
        assert!(check_claims_consistency(&c)
            .unwrap_err()
            .contains("total minutes 601"));
    }

    /// Replaces the `target`-th node (depth-first) of `v` with `with`, or (`with` = None)
    /// removes it from its array or map.
    fn mutate(v: &mut Value, target: &mut usize, with: &Option<Value>) -> bool {
        if *target == 0 {
            if let Some(w) = with {
                *v = w.clone();
            }
            return true;
        }
        *target -= 1;
        match v {
            Value::Array(items) => {
                for i in 0..items.len() {
                    if *target == 0 && with.is_none() {
                        items.remove(i);
                        return true;
                    }
                    if mutate(&mut items[i], target, with) {
                        return true;
                    }
                }
            }
            Value::Map(entries) => {
                for i in 0..entries.len() {
                    if *target == 0 && with.is_none() {
                        entries.remove(i);
                        return true;
                    }
                    if mutate(&mut entries[i].0, target, with)
                        || mutate(&mut entries[i].1, target, with)
                    {
                        return true;
                    }
                }
            }
            _ => {}
        }
        false
    }

    fn replacement() -> impl proptest::strategy::Strategy<Value = Option<Value>> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            any::<u64>().prop_map(|n| Value::Integer(n.into())),
            any::<i64>().prop_map(|n| Value::Integer(n.into())),
            (0u64..3).prop_map(|n| Value::Integer(n.into())),
            Just(Value::Integer(
                (-1 - i128::from(u64::MAX)).try_into().unwrap()
            )),
            (-800_000i64..3_000_000).prop_map(|n| Value::Integer(n.into())),
            "[a-z]{0,3}".prop_map(Value::Text),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
            Just(Value::Null),
            Just(Value::Bool(true)),
            Just(Value::Float(1.5)),
            Just(Value::Tag(2, Box::new(Value::Bytes(vec![1; 12])))),
        ];
        prop_oneof![
            1 => Just(None),
            6 => leaf.clone().prop_map(Some),
            2 => proptest::collection::vec(leaf.clone(), 0..7).prop_map(|a| Some(Value::Array(a))),
            1 => proptest::collection::vec((-3i64..12, leaf), 0..4)
                .prop_map(|e| Some(int_map(e))),
        ]
    }

    proptest::proptest! {
        /// The byte reader decides exactly as the Value-tree decoder it replaced, errors
        /// included, on credentials with one node replaced or removed anywhere.
        #[test]
        fn byte_reader_agrees_with_value_decoder(
            target in 0usize..120,
            with in replacement(),
            more in proptest::prelude::any::<bool>(),
            commit in proptest::prelude::any::<bool>(),
            named in proptest::prelude::any::<bool>(),
        ) {
            let mut c = sample();
            c.expires = more.then_some(1_800_000_000);
            if more {
                c.hours.more = Some(MoreOrgs { organizations: 3, minutes: 60 });
                c.hours.orgs.push(OrgLine { name: None, org_index: 99, ..c.hours.orgs[0].clone() });
            }
            if commit {
                c.hours.attestations = AttestationRefs::commit(&[1, 2, 3]);
            }
            if !named {
                c.hours.orgs[0].name = None;
            }
            let mut value = claims_value(&c);
            let mut at = target;
            mutate(&mut value, &mut at, &with);
            let bytes = encode(&value);
            proptest::prop_assert_eq!(decode_claims(&bytes), decode_claims_via_value(&bytes));
        }
    }

    #[test]
    fn byte_reader_reports_what_the_value_decoder_did() {
        // A few of the messages, spelled out (the proptest compares the rest).
        let mut c = sample();
        c.hours.orgs[0].name = Some(String::new());
        let bytes = encode_claims(&c);
        let expected = Err(Error::Claims(
            "organization line 1: empty name (leave the name out instead)".into(),
        ));
        assert_eq!(decode_claims(&bytes), expected);
        assert_eq!(decode_claims_via_value(&bytes), expected);
        let mut v = claims_value(&sample());
        // The first org line's "first day" offset made negative.
        let Value::Map(top) = &mut v else {
            unreachable!()
        };
        let Value::Map(hours) = &mut top.last_mut().unwrap().1 else {
            unreachable!()
        };
        let Value::Array(lines) = &mut hours[2].1 else {
            unreachable!()
        };
        let Value::Array(line) = &mut lines[0] else {
            unreachable!()
        };
        line[3] = int(-1);
        let bytes = encode(&v);
        let expected = Err(Error::Claims(
            "organization line 1, first day: not an unsigned integer".into(),
        ));
        assert_eq!(decode_claims(&bytes), expected);
        assert_eq!(decode_claims_via_value(&bytes), expected);
    }
}
