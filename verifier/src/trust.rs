//! The trust list: which issuer keys a verifier accepts, signed by the operator.
//!
//! Wire form (docs/formats.md, "Trust list"): a JSON object (RFC 8259)
//!
//! ```json
//! { "format": "sagat-trust-list/1",
//!   "issued_at": 1767225600,
//!   "issuers": [ { "issuer": "kz-volunteer-office", "kid": "9f86d081884c7d65",
//!                  "public_key": "<base64 of 32 bytes>", "name": "…",
//!                  "valid_from": 1767225600, "valid_until": 1798761600 } ],
//!   "organizations": [ { "log_index": 2, "id": "astana-youth", "name": "Astana Youth Centre" } ],
//!   "signature": { "signer": "sagat.example/log", "sig": "<base64(key id ‖ Ed25519 signature)>" } }
//! ```
//!
//! Signing method, and why: the signed bytes are the RFC 8785 (JCS) canonical form of the object
//! without its `signature` member, followed by one newline; that text is a C2SP signed note
//! (`signed-note` v1) signed by the operator's note key. So the key a user pins with `--root`
//! (the note verifier key `name+hexid+base64` that also checks the log's checkpoints) is the key
//! that checks the trust list, and any C2SP note verifier can check it: rebuild the note as
//! `JCS + "\n" + "\n" + "— " + signer + " " + sig + "\n"`. JCS makes the signature independent of
//! whitespace and member order; the note framing gives domain separation from checkpoints (a
//! JCS text is one line starting with `{`, never a checkpoint) and from COSE signatures.
//!
//! Numbers must be integers of magnitude below 2^53 (RFC 8785 §3.2.2.3 serializes numbers as
//! IEEE-754 doubles; keeping to exact integers makes every implementation agree).

use std::collections::BTreeSet;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::VerifyingKey;
use serde_json::{Map, Value};

use crate::{key_id, open_note, parse_public_key, public_key_base64, sign_note, Error, OrgLine};
use crate::{NoteSigner, NoteVerifier};

/// The `format` member of every trust list this crate writes and reads.
pub const TRUST_LIST_FORMAT: &str = "sagat-trust-list/1";
/// Largest trust-list document accepted, in bytes.
pub const MAX_TRUST_LIST_BYTES: usize = 1 << 20;

/// The list of trusted issuer keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustList {
    /// When the operator exported the list, seconds since the Unix epoch.
    pub issued_at: i64,
    /// The trusted issuer keys.
    pub issuers: Vec<TrustedIssuer>,
    /// The organizations registered in the log, by the log index of their
    /// `OrganizationRegistered` entry: the directory a verifier uses to name the organization of
    /// a credential line that carries no name (docs/formats.md §2). Ascending `log_index`.
    pub organizations: Vec<DirectoryOrganization>,
}

/// One entry of the trust list's organization directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryOrganization {
    /// Log index of the organization's `OrganizationRegistered` entry.
    pub log_index: u64,
    /// Organization id.
    pub id: String,
    /// Its English display name, in force when the list was signed (`OrganizationUpdated`
    /// replaces the registered one).
    pub name: String,
}

/// One trusted issuer key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedIssuer {
    /// Issuer id (the credentials' `iss`).
    pub issuer: String,
    /// Display name.
    pub name: String,
    /// The issuer's Ed25519 public key. Its [`key_id`] is the `kid` of its credentials.
    pub public_key: VerifyingKey,
    /// Credentials issued (`iat`) before this time are not accepted, seconds since the epoch.
    pub valid_from: i64,
    /// Credentials issued at or after this time are not accepted; `None` = open-ended.
    pub valid_until: Option<i64>,
}

impl TrustedIssuer {
    /// The key id, the COSE `kid` of the issuer's signatures.
    pub fn kid(&self) -> [u8; 8] {
        key_id(&self.public_key)
    }

    /// Whether the key was valid at `time` (seconds since the epoch).
    pub fn valid_at(&self, time: i64) -> bool {
        time >= self.valid_from && self.valid_until.is_none_or(|until| time < until)
    }
}

impl TrustList {
    /// The issuer whose key has this `kid`, if trusted.
    pub fn find_kid(&self, kid: &[u8]) -> Option<&TrustedIssuer> {
        self.issuers.iter().find(|i| i.kid().as_slice() == kid)
    }

    /// The organization registered at log index `log_index`, if the directory lists it.
    pub fn organization(&self, log_index: u64) -> Option<&DirectoryOrganization> {
        self.organizations
            .binary_search_by_key(&log_index, |o| o.log_index)
            .ok()
            .map(|i| &self.organizations[i])
    }
}

/// How a verifier names the organization of a credential line (docs/formats.md §2): the line's
/// own name, else the directory's name; then the organization id in parentheses when `known`
/// (the directory entry, or the evidence's registration, at the line's log index) gives it; a line
/// with neither is `org #<log index>`.
pub fn org_line_label(line: &OrgLine, known: Option<&DirectoryOrganization>) -> String {
    let name = line
        .name
        .as_deref()
        .or(known.map(|k| k.name.as_str()))
        .filter(|n| !n.is_empty());
    match (name, known) {
        (Some(name), Some(k)) => format!("{name} ({})", k.id),
        (Some(name), None) => format!("{name} (org #{})", line.org_index),
        (None, Some(k)) => k.id.clone(),
        (None, None) => format!("org #{}", line.org_index),
    }
}

/// RFC 8785 JSON Canonicalization Scheme: object members sorted by the UTF-16 code units of their
/// names, no whitespace, strings escaped as ECMAScript `JSON.stringify` does. Numbers must be
/// integers with magnitude below 2^53 (see the module docs); anything else is an error.
pub fn jcs(value: &Value) -> Result<String, Error> {
    let mut out = String::new();
    write_jcs(value, &mut out)?;
    Ok(out)
}

const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

fn write_jcs(value: &Value, out: &mut String) -> Result<(), Error> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let ok = n.as_u64().is_some_and(|u| u <= MAX_SAFE_INTEGER)
                || n.as_i64()
                    .is_some_and(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER);
            if !ok {
                return Err(Error::TrustList(format!(
                    "number {n} is not an integer of magnitude below 2^53"
                )));
            }
            out.push_str(&n.to_string());
        }
        Value::String(s) => out.push_str(&json_string(s)),
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_jcs(v, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&json_string(k));
                out.push(':');
                write_jcs(v, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// serde_json escapes exactly as RFC 8785 §3.2.2.2 requires: `"` `\` and the short forms
/// `\b \t \n \f \r`, other controls as `\u00xx` with lowercase hex, everything else as is.
fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("serializing a string cannot fail")
}

/// The JSON object of `list` without its signature.
fn unsigned_object(list: &TrustList) -> Map<String, Value> {
    let issuers = list
        .issuers
        .iter()
        .map(|i| {
            let mut m = Map::new();
            m.insert("issuer".into(), Value::from(i.issuer.clone()));
            m.insert("kid".into(), Value::from(hex::encode(i.kid())));
            m.insert(
                "public_key".into(),
                Value::from(public_key_base64(&i.public_key)),
            );
            m.insert("name".into(), Value::from(i.name.clone()));
            m.insert("valid_from".into(), Value::from(i.valid_from));
            if let Some(until) = i.valid_until {
                m.insert("valid_until".into(), Value::from(until));
            }
            Value::Object(m)
        })
        .collect();
    let mut doc = Map::new();
    doc.insert("format".into(), Value::from(TRUST_LIST_FORMAT));
    doc.insert("issued_at".into(), Value::from(list.issued_at));
    doc.insert("issuers".into(), Value::Array(issuers));
    if !list.organizations.is_empty() {
        let organizations = list
            .organizations
            .iter()
            .map(|o| {
                let mut m = Map::new();
                m.insert("log_index".into(), Value::from(o.log_index));
                m.insert("id".into(), Value::from(o.id.clone()));
                m.insert("name".into(), Value::from(o.name.clone()));
                Value::Object(m)
            })
            .collect();
        doc.insert("organizations".into(), Value::Array(organizations));
    }
    doc
}

/// Signs `list` with the operator's note key and returns the trust-list JSON (pretty-printed;
/// the signature covers the JCS form, so layout does not matter).
///
/// # Errors
/// [`Error::TrustList`] if a time is beyond ±2^53 seconds or a name holds a control character.
pub fn sign_trust_list(list: &TrustList, operator: &NoteSigner) -> Result<String, Error> {
    let mut doc = unsigned_object(list);
    let text = format!("{}\n", jcs(&Value::Object(doc.clone()))?);
    let note = sign_note(&text, operator).map_err(|e| Error::TrustList(e.to_string()))?;
    let sig_line = note
        .rsplit_once("\n\u{2014} ")
        .map(|(_, line)| line.trim_end())
        .ok_or_else(|| Error::TrustList("signed note without a signature line".into()))?;
    let (signer, sig) = sig_line
        .split_once(' ')
        .ok_or_else(|| Error::TrustList("malformed note signature line".into()))?;
    let mut signature = Map::new();
    signature.insert("signer".into(), Value::from(signer));
    signature.insert("sig".into(), Value::from(sig));
    doc.insert("signature".into(), Value::Object(signature));
    Ok(
        serde_json::to_string_pretty(&Value::Object(doc)).expect("JSON of a Value cannot fail")
            + "\n",
    )
}

/// Checks the trust list's signature against the pinned operator key `root` and parses it.
///
/// Checks, in order: size; I-JSON (no member name twice in an object); `format`; the
/// `signature` object (exactly `signer` and `sig`); the signature (as a C2SP note over the JCS form, by
/// `root`); then every member: known members only, `kid` = [`key_id`] of `public_key`, a valid
/// non-weak Ed25519 key, no key listed twice, `valid_from` < `valid_until`; the optional
/// `organizations` directory in strictly ascending `log_index` order with non-empty ids.
pub fn open_trust_list(json: &str, root: &NoteVerifier) -> Result<TrustList, Error> {
    if json.len() > MAX_TRUST_LIST_BYTES {
        return Err(Error::TrustList(format!(
            "{} bytes, more than the {MAX_TRUST_LIST_BYTES} accepted",
            json.len()
        )));
    }
    let value = parse_json_strict(json)?;
    let Value::Object(mut doc) = value else {
        return Err(Error::TrustList("not a JSON object".into()));
    };
    if doc.get("format").and_then(Value::as_str) != Some(TRUST_LIST_FORMAT) {
        return Err(Error::TrustList(format!(
            "\"format\" is not {TRUST_LIST_FORMAT:?}"
        )));
    }
    let signature = doc
        .remove("signature")
        .ok_or_else(|| Error::TrustList("no \"signature\" member".into()))?;
    if let Some(k) = signature
        .as_object()
        .and_then(|m| m.keys().find(|k| !matches!(k.as_str(), "signer" | "sig")))
    {
        return Err(Error::TrustList(format!("signature: unknown member {k:?}")));
    }
    let signer = signature.get("signer").and_then(Value::as_str);
    let sig = signature.get("sig").and_then(Value::as_str);
    let (Some(signer), Some(sig)) = (signer, sig) else {
        return Err(Error::TrustList(
            "\"signature\" needs string members \"signer\" and \"sig\"".into(),
        ));
    };
    if signer.contains(char::is_whitespace) || sig.contains(char::is_whitespace) {
        return Err(Error::TrustList("whitespace in the signature".into()));
    }
    let text = format!("{}\n", jcs(&Value::Object(doc.clone()))?);
    let note = format!("{text}\n\u{2014} {signer} {sig}\n");
    open_note(&note, std::slice::from_ref(root)).map_err(|e| {
        Error::TrustList(format!(
            "signature does not verify with the pinned operator key {}: {e}",
            root.name()
        ))
    })?;
    parse_members(doc)
}

/// Parses JSON as I-JSON (RFC 7493 §2.3, which RFC 8785 §3.1 requires): an object member name
/// twice is an error, where serde_json would keep the last one silently (then the signed JCS text
/// and what a reader sees could differ between implementations). Strings must be valid Unicode
/// (serde_json already refuses lone surrogates).
fn parse_json_strict(json: &str) -> Result<Value, Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    let value = serde::Deserialize::deserialize(&mut de)
        .map(|NoDuplicates(v)| v)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| Error::TrustList(format!("not I-JSON: {e}")))?;
    Ok(value)
}

/// A JSON value whose objects have no duplicate member names.
struct NoDuplicates(Value);

impl<'de> serde::Deserialize<'de> for NoDuplicates {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicatesVisitor).map(NoDuplicates)
    }
}

struct NoDuplicatesVisitor;

impl<'de> serde::de::Visitor<'de> for NoDuplicatesVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(NoDuplicates(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            let NoDuplicates(v) = map.next_value()?;
            if members.contains_key(&name) {
                return Err(serde::de::Error::custom(format!(
                    "member {name:?} appears twice in one object"
                )));
            }
            members.insert(name, v);
        }
        Ok(Value::Object(members))
    }
}

fn parse_members(mut doc: Map<String, Value>) -> Result<TrustList, Error> {
    let err = |m: String| Error::TrustList(m);
    doc.remove("format");
    let issued_at = take_i64(&mut doc, "issued_at", "trust list")?
        .ok_or_else(|| err("missing \"issued_at\"".into()))?;
    let Some(Value::Array(raw)) = doc.remove("issuers") else {
        return Err(err("\"issuers\" must be an array".into()));
    };
    let organizations = match doc.remove("organizations") {
        None => Vec::new(),
        Some(Value::Array(raw)) => parse_organizations(raw)?,
        Some(_) => return Err(err("\"organizations\" must be an array".into())),
    };
    if let Some(k) = doc.keys().next() {
        return Err(err(format!("unknown member {k:?}")));
    }
    let mut issuers = Vec::with_capacity(raw.len());
    let mut seen = BTreeSet::new();
    for (n, item) in raw.into_iter().enumerate() {
        let what = format!("issuers[{n}]");
        let Value::Object(mut m) = item else {
            return Err(err(format!("{what} is not an object")));
        };
        let issuer = take_string(&mut m, "issuer", &what)?;
        let kid = take_string(&mut m, "kid", &what)?;
        let public_key = take_string(&mut m, "public_key", &what)?;
        let name = take_string(&mut m, "name", &what)?;
        let valid_from = take_i64(&mut m, "valid_from", &what)?
            .ok_or_else(|| err(format!("{what}: missing \"valid_from\"")))?;
        let valid_until = take_i64(&mut m, "valid_until", &what)?;
        if let Some(k) = m.keys().next() {
            return Err(err(format!("{what}: unknown member {k:?}")));
        }
        let raw_key = STANDARD
            .decode(&public_key)
            .map_err(|e| err(format!("{what}: public_key is not base64: {e}")))?;
        if raw_key.len() != 32 {
            return Err(err(format!(
                "{what}: public_key is {} bytes, not 32",
                raw_key.len()
            )));
        }
        let public_key = parse_public_key(&public_key).map_err(|e| err(format!("{what}: {e}")))?;
        if kid != hex::encode(key_id(&public_key)) {
            return Err(err(format!(
                "{what}: kid {kid} is not the key id of its public_key ({})",
                hex::encode(key_id(&public_key))
            )));
        }
        if !seen.insert(kid.clone()) {
            return Err(err(format!("{what}: key {kid} listed twice")));
        }
        if issuer.is_empty() {
            return Err(err(format!("{what}: empty issuer id")));
        }
        if valid_until.is_some_and(|u| u <= valid_from) {
            return Err(err(format!("{what}: valid_until is not after valid_from")));
        }
        issuers.push(TrustedIssuer {
            issuer,
            name,
            public_key,
            valid_from,
            valid_until,
        });
    }
    Ok(TrustList {
        issued_at,
        issuers,
        organizations,
    })
}

fn parse_organizations(raw: Vec<Value>) -> Result<Vec<DirectoryOrganization>, Error> {
    let mut organizations: Vec<DirectoryOrganization> = Vec::with_capacity(raw.len());
    for (n, item) in raw.into_iter().enumerate() {
        let what = format!("organizations[{n}]");
        let Value::Object(mut m) = item else {
            return Err(Error::TrustList(format!("{what} is not an object")));
        };
        let log_index = take_i64(&mut m, "log_index", &what)?
            .ok_or_else(|| Error::TrustList(format!("{what}: missing \"log_index\"")))?;
        let log_index = u64::try_from(log_index)
            .map_err(|_| Error::TrustList(format!("{what}: negative \"log_index\"")))?;
        let id = take_string(&mut m, "id", &what)?;
        let name = take_string(&mut m, "name", &what)?;
        if let Some(k) = m.keys().next() {
            return Err(Error::TrustList(format!("{what}: unknown member {k:?}")));
        }
        if id.is_empty() {
            return Err(Error::TrustList(format!("{what}: empty organization id")));
        }
        if organizations
            .last()
            .is_some_and(|o| o.log_index >= log_index)
        {
            return Err(Error::TrustList(format!(
                "{what}: log_index {log_index} is not above the previous entry's (the list is in \
                 ascending log_index order, each index once)"
            )));
        }
        organizations.push(DirectoryOrganization {
            log_index,
            id,
            name,
        });
    }
    Ok(organizations)
}

fn take_string(m: &mut Map<String, Value>, key: &str, what: &str) -> Result<String, Error> {
    match m.remove(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(Error::TrustList(format!(
            "{what}: \"{key}\" must be a string"
        ))),
        None => Err(Error::TrustList(format!("{what}: missing \"{key}\""))),
    }
}

fn take_i64(m: &mut Map<String, Value>, key: &str, what: &str) -> Result<Option<i64>, Error> {
    match m.remove(key) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
            Error::TrustList(format!("{what}: \"{key}\" must be an integer (seconds)"))
        }),
        Some(_) => Err(Error::TrustList(format!(
            "{what}: \"{key}\" must be an integer"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn signer(seed: u8) -> NoteSigner {
        NoteSigner::new("sagat.test/log", SigningKey::from_bytes(&[seed; 32])).unwrap()
    }

    fn list() -> TrustList {
        TrustList {
            issued_at: 1_767_225_600,
            issuers: vec![TrustedIssuer {
                issuer: "kz-office".into(),
                name: "Қазақстан волонтерлері".into(),
                public_key: SigningKey::from_bytes(&[3; 32]).verifying_key(),
                valid_from: 1_700_000_000,
                valid_until: Some(1_900_000_000),
            }],
            organizations: vec![
                DirectoryOrganization {
                    log_index: 2,
                    id: "astana-youth".into(),
                    name: "Astana Youth Centre".into(),
                },
                DirectoryOrganization {
                    log_index: 40_117,
                    id: "eco-almaty".into(),
                    name: "Eco Almaty".into(),
                },
            ],
        }
    }

    #[test]
    fn round_trip_and_forgeries() {
        let op = signer(1);
        let json = sign_trust_list(&list(), &op).unwrap();
        assert_eq!(open_trust_list(&json, &op.verifier()).unwrap(), list());
        // Layout does not matter: re-serialize compactly.
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            open_trust_list(&v.to_string(), &op.verifier()).unwrap(),
            list()
        );
        // Another key's signature is rejected.
        assert!(open_trust_list(&json, &signer(2).verifier()).is_err());
        // An added issuer breaks the signature.
        let forged = json.replace("\"kz-office\"", "\"kz-0ffice\"");
        let e = open_trust_list(&forged, &op.verifier()).unwrap_err();
        assert!(e.to_string().contains("signature"), "{e}");
        // So does a renamed organization in the directory.
        let forged = json.replace("\"eco-almaty\"", "\"eco-a1maty\"");
        let e = open_trust_list(&forged, &op.verifier()).unwrap_err();
        assert!(e.to_string().contains("signature"), "{e}");
        let l = open_trust_list(&json, &op.verifier()).unwrap();
        assert_eq!(
            l.organization(40_117).map(|o| o.id.as_str()),
            Some("eco-almaty")
        );
        assert_eq!(l.organization(3), None);
    }

    #[test]
    fn directory_out_of_order_is_rejected_and_absent_is_empty() {
        let op = signer(1);
        let mut unordered = list();
        unordered.organizations.reverse();
        let json = sign_trust_list(&unordered, &op).unwrap();
        let e = open_trust_list(&json, &op.verifier()).unwrap_err();
        assert!(e.to_string().contains("ascending log_index"), "{e}");
        let mut none = list();
        none.organizations.clear();
        let json = sign_trust_list(&none, &op).unwrap();
        assert!(!json.contains("organizations"));
        assert_eq!(open_trust_list(&json, &op.verifier()).unwrap(), none);
    }

    #[test]
    fn jcs_sorts_by_utf16_and_escapes() {
        let v: Value = serde_json::from_str(
            r#"{"b":[1,"\u000f\n"],"a":{"\ufb01":1,"\ud83d\ude00":2},"":null}"#,
        )
        .unwrap();
        assert_eq!(
            jcs(&v).unwrap(),
            "{\"\":null,\"a\":{\"\u{1F600}\":2,\"\u{FB01}\":1},\"b\":[1,\"\\u000f\\n\"]}"
        );
        assert!(jcs(&serde_json::json!(1.5)).is_err());
    }
}
