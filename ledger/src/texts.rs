//! The erasable text directory: the free text people type (roles, notes, reasons), kept OUTSIDE
//! the log.
//!
//! A log entry is public forever (anyone can read `/log/tile/entries`), and a note such as a phone
//! number or "helper at the HIV clinic" must stay erasable. So an event carries only a salted
//! commitment, [`sagat_verifier::text_commitment`] = SHA-256(`"sagat text v1"` ‖ 0x00 ‖ salt ‖
//! text) with 32 random bytes of salt, and the text with its salt is stored here
//! (docs/log-format.md §1.1). Given the text and salt, anyone can check that they are what the
//! signed entry committed to; without the salt the commitment tells nothing, not even to someone
//! guessing short texts.
//!
//! Each text belongs to an **owner**, a 128-bit id: the volunteer the text is about (a role or
//! note of their attestation, the reason for correcting, retracting or revoking it), or, for a
//! text about no volunteer (why an organization was suspended), the event's own id. The texts of
//! one owner form one record, sealed exactly like a volunteer record (same on-disk design: see
//! [`crate::VolunteerDirectory`], ChaCha20-Poly1305 under a per-owner key, key shards, atomic
//! replacement). Erasing an owner destroys its key: every text about that volunteer is gone, while
//! the log keeps verifying (the commitments stay, and now commit to nothing anyone can recover).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use rand::rngs::OsRng;
use rand::RngCore;
use sagat_verifier::{text_commitment, Event, EventBody, FreeText, TEXT_SALT_LEN};
use serde::{Deserialize, Serialize};

use crate::{Error, Ledger, Rule, Violation, VolunteerDirectory};

/// One stored text: the commitment, its salt and the text (hex for bytes).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredText {
    /// SHA-256 commitment, hex.
    c: String,
    /// Salt, hex.
    s: String,
    /// The text.
    t: String,
}

/// All texts of one owner (one sealed record).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct TextList {
    texts: Vec<StoredText>,
}

/// A typed text refused by [`PendingTexts::seal`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextRefused {
    /// The field (`role`, `note`, `reason`).
    pub field: &'static str,
    /// What is wrong, in words ([`sagat_verifier::check_human_text`]).
    pub message: String,
}

/// Texts whose drafts were replaced by commitments, not stored yet ([`TextDirectory::store`]).
#[derive(Debug, Default)]
pub struct PendingTexts {
    by_owner: Vec<(String, Vec<StoredText>)>,
    /// Position of each owner in `by_owner`.
    positions: HashMap<String, usize>,
    /// Attestations of this request → volunteer: a correction in the same request names one
    /// the ledger does not know yet.
    attested: HashMap<String, String>,
}

impl PendingTexts {
    /// Replaces every [`FreeText::Draft`] of `event` by its commitment under a fresh random salt
    /// and keeps the text for [`TextDirectory::store`], under its owner ([`text_owner`]). A text
    /// that breaks [`sagat_verifier::check_human_text`] (roles up to
    /// [`sagat_verifier::MAX_ROLE_CHARS`], notes and reasons up to
    /// [`sagat_verifier::MAX_NOTE_CHARS`] characters) is refused, and nothing of the event is
    /// sealed.
    pub fn seal(&mut self, ledger: &Ledger, event: &mut Event) -> Result<(), TextRefused> {
        let named = match &event.body {
            EventBody::HoursAttested(a) => {
                self.attested
                    .insert(a.attestation.clone(), a.volunteer.clone());
                None
            }
            EventBody::AttestationCorrected(c) => Some(&c.attestation),
            EventBody::AttestationRetracted(r) => Some(&r.attestation),
            _ => None,
        };
        let owner = named
            .and_then(|a| self.attested.get(a))
            .cloned()
            .unwrap_or_else(|| text_owner(ledger, &event.id, &event.body));
        self.seal_for(&owner, event)
    }

    /// [`PendingTexts::seal`] with the owner given (e.g. the volunteer of an attestation, when
    /// no ledger is at hand).
    pub fn seal_for(&mut self, owner: &str, event: &mut Event) -> Result<(), TextRefused> {
        for (field, text) in event.body.free_texts() {
            if let Some(t) = text.draft() {
                let max = if field == "role" {
                    sagat_verifier::MAX_ROLE_CHARS
                } else {
                    sagat_verifier::MAX_NOTE_CHARS
                };
                sagat_verifier::check_human_text(t, max)
                    .map_err(|message| TextRefused { field, message })?;
            }
        }
        let owner = owner.to_string();
        for (_, field) in event.body.free_texts_mut() {
            let FreeText::Draft(text) = field else {
                continue;
            };
            let mut salt = [0u8; TEXT_SALT_LEN];
            OsRng.fill_bytes(&mut salt);
            let commitment = text_commitment(&salt, text);
            let stored = StoredText {
                c: hex::encode(commitment),
                s: hex::encode(salt),
                t: std::mem::take(text),
            };
            *field = FreeText::Committed(commitment);
            match self.positions.get(&owner) {
                Some(&p) => self.by_owner[p].1.push(stored),
                None => {
                    self.positions.insert(owner.clone(), self.by_owner.len());
                    self.by_owner.push((owner.clone(), vec![stored]));
                }
            }
        }
        Ok(())
    }

    /// The text behind a commitment made by this `PendingTexts` (a retried upload compares
    /// its texts with the stored ones).
    pub fn text_of(&self, commitment: &[u8; 32]) -> Option<&str> {
        let wanted = hex::encode(commitment);
        self.by_owner
            .iter()
            .flat_map(|(_, list)| list.iter())
            .find(|t| t.c == wanted)
            .map(|t| t.t.as_str())
    }

    /// Whether no text is waiting.
    pub fn is_empty(&self) -> bool {
        self.by_owner.is_empty()
    }
}

/// The store of free texts; see the module docs.
#[derive(Debug)]
pub struct TextDirectory {
    store: VolunteerDirectory,
    /// Serialises read-modify-write of one owner's list.
    writing: Mutex<()>,
}

impl TextDirectory {
    /// Opens (creating if needed) the text directory at `dir`.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        Ok(TextDirectory {
            store: VolunteerDirectory::open(dir)?,
            writing: Mutex::new(()),
        })
    }

    /// The text directory in the shared PostgreSQL state (space `texts` of `sagat_sealed`).
    pub fn open_shared(store: std::sync::Arc<crate::SharedStore>) -> Self {
        TextDirectory {
            store: VolunteerDirectory::open_shared(store, "texts"),
            writing: Mutex::new(()),
        }
    }

    /// The sealed store underneath (for `sagat migrate` and `sagat check`).
    pub fn sealed(&self) -> &VolunteerDirectory {
        &self.store
    }

    /// Replaces every [`FreeText::Draft`] in `events` by its commitment ([`PendingTexts::seal`])
    /// and stores the texts ([`TextDirectory::store`]). Durable on return, before the caller
    /// signs and appends.
    /// A typed text that breaks [`sagat_verifier::check_human_text`] is refused as
    /// [`Error::Rule`] with rule `text-format`, and nothing is stored.
    pub fn commit(&self, ledger: &Ledger, events: &mut [Event]) -> Result<(), Error> {
        let mut pending = PendingTexts::default();
        let batch = events.len() > 1;
        for (position, event) in events.iter_mut().enumerate() {
            pending.seal(ledger, event).map_err(|refused| Error::Rule {
                position: batch.then_some(position),
                violation: Violation {
                    rule: Rule::TextFormat,
                    field: Some(refused.field.to_string()),
                    event_type: event.body.type_name(),
                    event_id: event.id.clone(),
                    message: format!("{} {}", refused.field, refused.message),
                },
            })?;
        }
        self.store(pending)
    }

    /// Stores sealed texts, each under its owner: one record rewrite per owner. Durable on
    /// return: call it before signing and appending, so that an acknowledged entry never commits
    /// to a text that is not stored. Texts stored for an append that then fails stay with their
    /// owner, unused, and are erased with it.
    pub fn store(&self, pending: PendingTexts) -> Result<(), Error> {
        let _guard = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        for (owner, texts) in pending.by_owner {
            self.store.update_value(&owner, |list: Option<TextList>| {
                let mut list = list.unwrap_or_default();
                list.texts.extend(texts);
                Ok(Some(list))
            })?;
        }
        Ok(())
    }

    /// The text behind `commitment`, stored under `owner`; `None` when it is not here (erased,
    /// or committed by a client that kept the text). A stored text whose salt does not give the
    /// commitment is damage, not an answer.
    pub fn text(&self, owner: &str, commitment: &[u8; 32]) -> Result<Option<String>, Error> {
        let Some(list) = self.store.get_value::<TextList>(owner)? else {
            return Ok(None);
        };
        let wanted = hex::encode(commitment);
        let Some(stored) = list.texts.into_iter().find(|t| t.c == wanted) else {
            return Ok(None);
        };
        let mut salt = [0u8; TEXT_SALT_LEN];
        if hex::decode_to_slice(&stored.s, &mut salt).is_err()
            || text_commitment(&salt, &stored.t) != *commitment
        {
            return Err(Error::Damaged {
                path: Path::new("texts").join(owner),
                reason: format!("the stored text for commitment {wanted} does not match it"),
            });
        }
        Ok(Some(stored.t))
    }

    /// The text of one free-text field of a stored event: `None` for an erased text (or one
    /// whose client kept it). Looks under the owner [`text_owner`] names, then under the event
    /// id (where a text goes when its volunteer was not known yet).
    pub fn resolve(
        &self,
        ledger: &Ledger,
        event_id: &str,
        body: &EventBody,
        field: &FreeText,
    ) -> Result<Option<String>, Error> {
        let c = match field {
            FreeText::Draft(t) => return Ok(Some(t.clone())),
            FreeText::Committed(c) => c,
        };
        let owner = text_owner(ledger, event_id, body);
        match self.text(&owner, c)? {
            Some(t) => Ok(Some(t)),
            None if owner != event_id && sagat_verifier::is_valid_id128(event_id) => {
                self.text(event_id, c)
            }
            None => Ok(None),
        }
    }

    /// Whether the stored `committed` field commits to the text of `draft` (an idempotent retry
    /// sends the text again; its stored commitment used a salt only this directory knows).
    /// Compares a stored event's body with a request's draft body: equal when every field is
    /// equal and every committed text is the draft's text.
    pub fn same_body(
        &self,
        ledger: &Ledger,
        event_id: &str,
        stored: &EventBody,
        draft: &EventBody,
    ) -> bool {
        let mut resolved = stored.clone();
        for (_, field) in resolved.free_texts_mut() {
            if let Ok(Some(text)) = self.resolve(ledger, event_id, stored, field) {
                *field = FreeText::Draft(text);
            }
        }
        resolved == *draft
    }

    /// Erases every text of `owner` (a volunteer id, or an event id): destroys its key.
    /// Returns whether there was anything to erase.
    pub fn erase(&self, owner: &str) -> Result<bool, Error> {
        let _guard = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        self.store.erase(owner)
    }
}

/// Whose texts an event's free text belongs to: the volunteer it is about, else the event id.
/// A correction, retraction or revocation is about the volunteer of the attestation or
/// credential it names (looked up in the ledger).
pub fn text_owner(ledger: &Ledger, event_id: &str, body: &EventBody) -> String {
    let volunteer = match body {
        EventBody::HoursAttested(a) => Some(a.volunteer.clone()),
        EventBody::AttestationCorrected(c) => ledger.read(|s| {
            s.attestation(&c.attestation)
                .map(|a| a.attestation.volunteer)
        }),
        EventBody::AttestationRetracted(r) => ledger.read(|s| {
            s.attestation(&r.attestation)
                .map(|a| a.attestation.volunteer)
        }),
        EventBody::CredentialRevoked(r) => {
            ledger.read(|s| s.credential(&r.credential).map(|c| c.volunteer))
        }
        _ => None,
    };
    volunteer
        .filter(|v| sagat_verifier::is_valid_id128(v))
        .unwrap_or_else(|| event_id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sagat_verifier::{HoursAttested, EVENT_VERSION};

    const VOLUNTEER: &str = "0123456789abcdef0123456789abcdef";

    fn attested(id: &str, role: &str, note: &str) -> Event {
        Event {
            v: EVENT_VERSION,
            id: id.into(),
            created: 1_700_000_000,
            body: EventBody::HoursAttested(HoursAttested {
                attestation: id.into(),
                org: "eco".into(),
                volunteer: VOLUNTEER.into(),
                activity: None,
                date: "2025-01-01".into(),
                minutes: 60,
                role: Some(role.into()),
                note: Some(note.into()),
            }),
        }
    }

    fn commitments(e: &Event) -> Vec<[u8; 32]> {
        e.body
            .free_texts()
            .into_iter()
            .map(|(_, t)| *t.commitment().expect("committed"))
            .collect()
    }

    #[test]
    fn sealed_texts_come_back_by_commitment_and_go_with_their_owner() {
        let dir = tempfile::tempdir().unwrap();
        let texts = TextDirectory::open(dir.path()).unwrap();
        let mut pending = PendingTexts::default();
        let mut one = attested(&"a".repeat(32), "steward", "+7 701 000 0000");
        let mut two = attested(&"b".repeat(32), "steward", "second");
        pending.seal_for(VOLUNTEER, &mut one).unwrap();
        pending.seal_for(VOLUNTEER, &mut two).unwrap();
        let (c1, c2) = (commitments(&one), commitments(&two));
        assert_ne!(c1[0], c2[0], "the same text gets a fresh salt each time");
        assert_eq!(pending.text_of(&c1[1]), Some("+7 701 000 0000"));
        texts.store(pending).unwrap();
        assert_eq!(
            texts.text(VOLUNTEER, &c1[0]).unwrap().as_deref(),
            Some("steward")
        );
        assert_eq!(
            texts.text(VOLUNTEER, &c2[1]).unwrap().as_deref(),
            Some("second")
        );
        assert_eq!(texts.text(VOLUNTEER, &[0; 32]).unwrap(), None);
        // Survives a reopen; no file holds the plaintext.
        drop(texts);
        let texts = TextDirectory::open(dir.path()).unwrap();
        assert_eq!(
            texts.text(VOLUNTEER, &c1[1]).unwrap().as_deref(),
            Some("+7 701 000 0000")
        );
        for entry in walk(dir.path()) {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(
                !bytes.windows(7).any(|w| w == b"steward"),
                "{}",
                entry.display()
            );
        }
        assert!(texts.erase(VOLUNTEER).unwrap());
        assert_eq!(texts.text(VOLUNTEER, &c1[0]).unwrap(), None);
        assert!(!texts.erase(VOLUNTEER).unwrap());
    }

    #[test]
    fn a_stored_text_that_does_not_give_its_commitment_is_damage() {
        let dir = tempfile::tempdir().unwrap();
        let texts = TextDirectory::open(dir.path()).unwrap();
        let mut pending = PendingTexts::default();
        let mut one = attested(&"a".repeat(32), "steward", "note");
        pending.seal_for(VOLUNTEER, &mut one).unwrap();
        pending.by_owner[0].1[0].t = "changed".into();
        texts.store(pending).unwrap();
        let c = commitments(&one);
        assert!(matches!(
            texts.text(VOLUNTEER, &c[0]),
            Err(Error::Damaged { .. })
        ));
        assert_eq!(
            texts.text(VOLUNTEER, &c[1]).unwrap().as_deref(),
            Some("note")
        );
    }

    fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }
}
