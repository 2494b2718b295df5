//! The in-memory rule state: every "rule on append" (issue 2) is checked here, against compact
//! indexes of everything the log holds so far, and every accepted event updates them.
//!
//! Design decisions:
//! - **One code path for append and replay.** The writer calls [`State::apply`] for each entry it
//!   is about to commit; `log verify` and start-up replay call the same function on the stored
//!   entries. So a log that was accepted once is accepted again, and projections rebuilt from an
//!   empty state equal the live ones by construction.
//! - **Undo, not copy.** A batch is applied entry by entry; if any entry (or the disk) fails, the
//!   writer calls [`State::revert`] on the [`Applied`] tokens in reverse order. Each token carries
//!   exactly what its apply overwrote, so a failed batch leaves no trace and no clone of the
//!   state is ever made.
//! - **Small memory per event.** Ids are stored as 16 raw bytes, organizations, volunteers and
//!   activities are interned to `u32` positions, log indexes are `u32` (four billion entries),
//!   attestation dates are `u16` days since 2000-01-01 (good until 2179; earlier dates are a rule
//!   violation anyway). Event ids and attestation ids are found through an open-addressing table
//!   of `u32` positions ([`IdTable`]) instead of a map holding a second copy of each key. Role and
//!   note texts are not kept: they are in the log entry whose index every view carries. An
//!   attestation costs 36 bytes plus 16 for its event id, 2 × 5–11 for the two tables and 4 in
//!   its volunteer's day-sorted list; the big vectors grow by half, not double. The test
//!   `state_stays_compact` measures [`State::approx_heap_bytes`]: about 80 bytes per event
//!   (capacity included), i.e. about 80 MB for 1M attestations.
//! - **The daily limit without a (volunteer, day) map.** Each volunteer keeps the positions of
//!   their live attestations sorted by (day, log order); the minutes on a day are a binary search
//!   and a short scan. The same list serves the hours projection and [`State::live_attestations`].

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use crate::rules::Rule;
use std::hash::{BuildHasher, RandomState};

use ed25519_dalek::VerifyingKey;
use sagat_verifier::{
    is_valid_id128, key_id, parse_date, Category, Event, EventBody, Names, SignedEvent, Signer,
    EVENT_VERSION,
};

/// A 128-bit random id in raw form.
pub(crate) type Id = [u8; 16];

/// "No such position / index" in the compact `u32` fields.
pub(crate) const NONE: u32 = u32::MAX;

/// 2000-01-01 as days since 1970-01-01: no date before it is accepted.
pub(crate) const DAY_2000: i32 = 10_957;

/// The most minutes one volunteer may be credited with on one day, across all organizations.
pub const MINUTES_PER_DAY: u32 = 1440;

/// A rule an event broke. Nothing was changed by the refused apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule broken; its stable name is [`Rule::name`], e.g. `daily-limit`.
    pub rule: Rule,
    /// The event field it is about, when more precise than [`Rule::field`] (`names.en`,
    /// `from`); see [`Violation::field`].
    pub field: Option<String>,
    /// Event type, e.g. `HoursAttested`.
    pub event_type: &'static str,
    /// The event's id.
    pub event_id: String,
    /// What exactly is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rule {} violated by {} {}: {}",
            self.rule, self.event_type, self.event_id, self.message
        )
    }
}

impl std::error::Error for Violation {}

impl Violation {
    /// The event field the violation is about: the one it names, else its rule's
    /// ([`Rule::field`]); `None` when it is about no one field (`log-index`).
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref().or(self.rule.field())
    }
}

/// Proof that an entry was applied, and how to undo it ([`State::revert`]).
#[derive(Debug)]
pub struct Applied {
    /// The log index the entry was applied as.
    pub index: u64,
    /// The key that must have signed the entry (whether or not `apply` checked it).
    pub signer_key: VerifyingKey,
    undo: Undo,
}

/// What an apply overwrote. Appends (new org, volunteer, ...) are undone by popping.
#[derive(Debug)]
enum Undo {
    OrgRegistered,
    OrgKeyRotated {
        org: u32,
    },
    OrgSuspended {
        org: u32,
    },
    OrgReinstated {
        org: u32,
        suspended_at: u32,
    },
    OrgUpdated {
        org: u32,
        names: Names,
        region: Option<String>,
        updated_at: u32,
    },
    VolunteerEnrolled,
    ActivityPublished,
    HoursAttested,
    AttestationCorrected {
        att: u32,
        day: u16,
        minutes: u16,
        changes: Option<AttChanges>,
    },
    AttestationRetracted {
        att: u32,
        changes: Option<AttChanges>,
    },
    IssuerRegistered,
    CredentialIssued,
    CredentialRevoked {
        credential: u32,
    },
}

#[derive(Debug)]
pub(crate) struct Org {
    pub(crate) id: String,
    pub(crate) names: Names,
    pub(crate) region: Option<String>,
    pub(crate) key: VerifyingKey,
    pub(crate) registered: u32,
    /// Every key the organization had, with the index of the event that set it (first = register).
    pub(crate) keys: Vec<(u32, VerifyingKey)>,
    /// Index of the suspension in force, or [`NONE`].
    pub(crate) suspended_at: u32,
    /// Index of the `OrganizationUpdated` whose names and region are in force, or [`NONE`].
    pub(crate) updated_at: u32,
    /// Positions (in `atts`) of the attestations it made, live and retracted, sorted by
    /// (day, position) — position order is log order: its listings read a page of these from
    /// the end (newest day first), not every attestation of the log.
    pub(crate) atts: Vec<u32>,
    /// Minutes of its live attestations, kept on every change so a listing's total is O(1).
    pub(crate) live_minutes: u64,
}

#[derive(Debug)]
pub(crate) struct Volunteer {
    pub(crate) id: Id,
    pub(crate) enrolled: u32,
    /// Positions of live attestations, sorted by (day, position); position order is log order.
    pub(crate) live: Vec<u32>,
}

#[derive(Debug)]
pub(crate) struct Activity {
    pub(crate) id: Id,
    pub(crate) org: u32,
    pub(crate) titles: Names,
    pub(crate) category: Category,
    pub(crate) place: Option<String>,
    pub(crate) from: i32,
    pub(crate) to: i32,
    pub(crate) index: u32,
}

/// One attestation: 36 bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Att {
    pub(crate) id: Id,
    pub(crate) index: u32,
    pub(crate) volunteer: u32,
    pub(crate) org: u32,
    /// Activity position or [`NONE`].
    pub(crate) activity: u32,
    /// Days since 2000-01-01 (latest correction).
    pub(crate) day: u16,
    /// Minutes (latest correction), plus the [`CORRECTED`] and [`RETRACTED`] flags.
    pub(crate) minutes: u16,
}

pub(crate) const MINUTES_MASK: u16 = 0x07ff;
pub(crate) const CORRECTED: u16 = 0x4000;
pub(crate) const RETRACTED: u16 = 0x8000;

impl Att {
    pub(crate) fn minutes(&self) -> u32 {
        u32::from(self.minutes & MINUTES_MASK)
    }
    pub(crate) fn is_live(&self) -> bool {
        self.minutes & RETRACTED == 0
    }
    pub(crate) fn date(&self) -> i32 {
        DAY_2000 + i32::from(self.day)
    }
}

/// When an attestation was last corrected / retracted; kept aside because few have any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AttChanges {
    pub(crate) corrected_at: u32,
    pub(crate) retracted_at: u32,
}

#[derive(Debug)]
pub(crate) struct Issuer {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) key: VerifyingKey,
    pub(crate) valid_from: i64,
    pub(crate) valid_until: Option<i64>,
    pub(crate) index: u32,
}

#[derive(Debug)]
pub(crate) struct Credential {
    pub(crate) id: Id,
    pub(crate) issuer: u32,
    pub(crate) volunteer: u32,
    pub(crate) sha256: [u8; 32],
    pub(crate) status_index: u64,
    pub(crate) index: u32,
    pub(crate) revoked: Option<(u32, sagat_verifier::FreeText)>,
}

/// The rule state and projections of a log prefix. See the module docs.
#[derive(Debug)]
pub struct State {
    pub(crate) operator_key: VerifyingKey,
    /// Event id of every applied entry; position = log index.
    pub(crate) event_ids: Vec<Id>,
    event_table: IdTable,
    pub(crate) orgs: Vec<Org>,
    pub(crate) org_index: HashMap<String, u32>,
    pub(crate) volunteers: Vec<Volunteer>,
    pub(crate) volunteer_index: HashMap<Id, u32>,
    pub(crate) activities: Vec<Activity>,
    pub(crate) activity_index: HashMap<Id, u32>,
    pub(crate) atts: Vec<Att>,
    att_table: IdTable,
    pub(crate) att_changes: HashMap<u32, AttChanges>,
    pub(crate) issuers: Vec<Issuer>,
    pub(crate) issuer_index: HashMap<String, u32>,
    pub(crate) credentials: Vec<Credential>,
    pub(crate) credential_index: HashMap<Id, u32>,
    pub(crate) status_indices: BTreeSet<u64>,
}

/// Builds violations for one event.
struct Check<'a> {
    event: &'a Event,
}

impl Check<'_> {
    fn fail(&self, rule: Rule, message: impl Into<String>) -> Violation {
        Violation {
            rule,
            field: None,
            event_type: self.event.body.type_name(),
            event_id: self.event.id.clone(),
            message: message.into(),
        }
    }

    /// A violation about the event field `field` (the rule's own field is not precise enough).
    fn fail_at(&self, rule: Rule, field: &str, message: impl Into<String>) -> Violation {
        Violation {
            field: Some(field.to_string()),
            ..self.fail(rule, message)
        }
    }

    fn id128(&self, field: &str, value: &str) -> Result<Id, Violation> {
        parse_id(value).ok_or_else(|| {
            self.fail_at(
                Rule::IdFormat,
                field,
                format!("{field} {value:?} is not 32 lowercase hex digits"),
            )
        })
    }

    fn name_id(&self, field: &str, value: &str) -> Result<(), Violation> {
        if is_valid_name_id(value) {
            Ok(())
        } else {
            Err(self.fail_at(
                Rule::IdFormat,
                field,
                format!("{field} {value:?} is not 2 to 64 characters of a-z, 0-9 and '-'"),
            ))
        }
    }

    fn public_key(&self, bytes: &[u8]) -> Result<VerifyingKey, Violation> {
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
            self.fail(
                Rule::PublicKey,
                format!("an Ed25519 public key is 32 bytes, got {}", bytes.len()),
            )
        })?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| self.fail(Rule::PublicKey, "32 bytes that are not an Ed25519 point"))?;
        if key.is_weak() {
            return Err(self.fail(Rule::PublicKey, "small-order (weak) Ed25519 public key"));
        }
        Ok(key)
    }

    fn text(&self, field: &str, value: &str) -> Result<(), Violation> {
        if value.trim().is_empty() {
            Err(self.fail_at(
                Rule::RequiredText,
                field,
                format!("{field} must not be empty"),
            ))
        } else {
            Ok(())
        }
    }

    /// A human text that enters the log ([`sagat_verifier::check_human_text`]).
    fn human(&self, field: &str, value: &str, max_chars: usize) -> Result<(), Violation> {
        sagat_verifier::check_human_text(value, max_chars)
            .map_err(|what| self.fail_at(Rule::TextFormat, field, format!("{field} {what}")))
    }

    /// Names in three languages: each a human text, English required.
    fn names(&self, field: &str, names: &Names) -> Result<(), Violation> {
        self.text(&format!("{field}.en"), &names.en)?;
        for (lang, value) in [
            ("kk", &names.kk),
            ("ru", &names.ru),
            ("en", &Some(names.en.clone())),
        ] {
            if let Some(v) = value {
                self.human(
                    &format!("{field}.{lang}"),
                    v,
                    sagat_verifier::MAX_NAME_CHARS,
                )?;
            }
        }
        Ok(())
    }

    fn date(&self, field: &str, value: &str) -> Result<i32, Violation> {
        parse_date(value)
            .map_err(|e| self.fail_at(Rule::DateFormat, field, format!("{field}: {e}")))
    }

    /// A day worked: a real date, not before 2000-01-01 and not after `today`.
    fn work_day(&self, value: &str, today: i32) -> Result<u16, Violation> {
        let date = self.date("date", value)?;
        if date < DAY_2000 {
            return Err(self.fail(
                Rule::DateRange,
                format!("date {value} is before 2000-01-01"),
            ));
        }
        if date > today {
            return Err(self.fail(
                Rule::DateRange,
                format!(
                    "date {value} is in the future (today is {})",
                    sagat_verifier::format_date(today)
                ),
            ));
        }
        u16::try_from(date - DAY_2000)
            .map_err(|_| self.fail(Rule::DateRange, format!("date {value} is after 2179-06-06")))
    }

    fn minutes(&self, minutes: u32) -> Result<u16, Violation> {
        if (1..=MINUTES_PER_DAY).contains(&minutes) {
            Ok(minutes as u16)
        } else {
            Err(self.fail(
                Rule::Minutes,
                format!("{minutes} minutes is not in 1..=1440"),
            ))
        }
    }
}

impl State {
    /// An empty state for a log whose operator key is `operator_key`.
    pub fn new(operator_key: VerifyingKey) -> State {
        State {
            operator_key,
            event_ids: Vec::new(),
            event_table: IdTable::default(),
            orgs: Vec::new(),
            org_index: HashMap::new(),
            volunteers: Vec::new(),
            volunteer_index: HashMap::new(),
            activities: Vec::new(),
            activity_index: HashMap::new(),
            atts: Vec::new(),
            att_table: IdTable::default(),
            att_changes: HashMap::new(),
            issuers: Vec::new(),
            issuer_index: HashMap::new(),
            credentials: Vec::new(),
            credential_index: HashMap::new(),
            status_indices: BTreeSet::new(),
        }
    }

    /// A state rebuilt from its stored vectors (a snapshot, see `snapshot.rs`): the lookup
    /// tables and maps are derived from them here, so a snapshot stores each fact once.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        operator_key: VerifyingKey,
        event_ids: Vec<Id>,
        orgs: Vec<Org>,
        volunteers: Vec<Volunteer>,
        activities: Vec<Activity>,
        atts: Vec<Att>,
        att_changes: HashMap<u32, AttChanges>,
        issuers: Vec<Issuer>,
        credentials: Vec<Credential>,
    ) -> State {
        let mut orgs = orgs;
        for org in &mut orgs {
            // Any order is accepted from a snapshot; the state keeps them sorted.
            org.atts
                .sort_unstable_by_key(|&p| (atts[p as usize].day, p));
            org.live_minutes = org
                .atts
                .iter()
                .map(|&p| &atts[p as usize])
                .filter(|a| a.is_live())
                .map(|a| u64::from(a.minutes()))
                .sum();
        }
        let event_table = IdTable::with_keys(&event_ids);
        let att_ids: Vec<Id> = atts.iter().map(|a| a.id).collect();
        let att_table = IdTable::with_keys(&att_ids);
        drop(att_ids);
        let position = |i: usize| u32::try_from(i).expect("positions fit u32");
        State {
            operator_key,
            event_ids,
            event_table,
            org_index: orgs
                .iter()
                .enumerate()
                .map(|(i, o)| (o.id.clone(), position(i)))
                .collect(),
            orgs,
            volunteer_index: volunteers
                .iter()
                .enumerate()
                .map(|(i, v)| (v.id, position(i)))
                .collect(),
            volunteers,
            activity_index: activities
                .iter()
                .enumerate()
                .map(|(i, a)| (a.id, position(i)))
                .collect(),
            activities,
            atts,
            att_table,
            att_changes,
            issuer_index: issuers
                .iter()
                .enumerate()
                .map(|(i, x)| (x.id.clone(), position(i)))
                .collect(),
            issuers,
            credential_index: credentials
                .iter()
                .enumerate()
                .map(|(i, c)| (c.id, position(i)))
                .collect(),
            status_indices: credentials.iter().map(|c| c.status_index).collect(),
            credentials,
        }
    }

    /// How many entries have been applied: the index the next entry must have.
    pub fn len(&self) -> u64 {
        self.event_ids.len() as u64
    }

    /// Whether no entry has been applied.
    pub fn is_empty(&self) -> bool {
        self.event_ids.is_empty()
    }

    /// The operator's log key.
    pub fn operator_key(&self) -> &VerifyingKey {
        &self.operator_key
    }

    /// An estimate of the heap memory the state holds, in bytes: container capacities times
    /// element sizes (hash maps counted with one control byte per bucket), plus owned strings of
    /// organizations, activities and issuers. For tests and benchmarks of the memory budget.
    pub fn approx_heap_bytes(&self) -> usize {
        use std::mem::size_of;
        fn vec<T>(v: &Vec<T>) -> usize {
            v.capacity() * size_of::<T>()
        }
        fn map<K, V>(m: &HashMap<K, V>) -> usize {
            // hashbrown keeps capacity at 7/8 of the bucket count.
            m.capacity() * 8 / 7 * (size_of::<(K, V)>() + 1)
        }
        fn names(n: &Names) -> usize {
            n.en.capacity()
                + n.kk.as_ref().map_or(0, String::capacity)
                + n.ru.as_ref().map_or(0, String::capacity)
        }
        let orgs: usize = self
            .orgs
            .iter()
            .map(|o| {
                o.id.capacity()
                    + names(&o.names)
                    + o.region.as_ref().map_or(0, String::capacity)
                    + vec(&o.keys)
                    + vec(&o.atts)
            })
            .sum();
        let activities: usize = self
            .activities
            .iter()
            .map(|a| names(&a.titles) + a.place.as_ref().map_or(0, String::capacity))
            .sum();
        let volunteers: usize = self.volunteers.iter().map(|v| vec(&v.live)).sum();
        let issuers: usize = self
            .issuers
            .iter()
            .map(|i| i.id.capacity() + i.name.capacity())
            .sum();
        let credentials: usize = self
            .credentials
            .iter()
            .map(|c| {
                c.revoked
                    .as_ref()
                    .map_or(0, |(_, r)| r.draft().map_or(0, str::len))
            })
            .sum();
        vec(&self.event_ids)
            + vec(&self.event_table.slots)
            + vec(&self.orgs)
            + orgs
            + map(&self.org_index)
            + vec(&self.volunteers)
            + volunteers
            + map(&self.volunteer_index)
            + vec(&self.activities)
            + activities
            + map(&self.activity_index)
            + vec(&self.atts)
            + vec(&self.att_table.slots)
            + map(&self.att_changes)
            + vec(&self.issuers)
            + issuers
            + map(&self.issuer_index)
            + vec(&self.credentials)
            + credentials
            + map(&self.credential_index)
            + self.status_indices.len() * 2 * size_of::<u64>()
    }

    /// The log index of the event with id `id`, if applied (the idempotency lookup).
    pub fn event_index(&self, id: &str) -> Option<u64> {
        let id = parse_id(id)?;
        let ids = &self.event_ids;
        self.event_table
            .find(&id, |p| &ids[p as usize])
            .map(u64::from)
    }

    /// Checks every rule for the signed event about to become log entry `index` (which must be
    /// [`State::len`]) and applies it. `today` is the current UTC day (days since 1970-01-01).
    ///
    /// With `check_signature` the COSE signature is verified here against the key the rules
    /// require; without it the caller must verify [`Applied::signer_key`] over
    /// `entry.sign1.to_be_signed()` itself (e.g. in a batch). The `kid` is checked either way.
    /// On `Err` nothing changed.
    ///
    /// `entry` must come from [`sagat_verifier::decode_signed_event`], which guarantees that
    /// `entry.event` is exactly the signed payload; a hand-assembled [`SignedEvent`] could pair
    /// one event with another's signature.
    ///
    /// Rules, by their [`Violation::rule`] name:
    /// - every event: `log-index` (index = [`State::len`]), `version`, `id-format` (event id and
    ///   every 128-bit id: 32 lowercase hex; organization and issuer ids: 2–64 of `a-z0-9-`),
    ///   `duplicate-id`, `kid` (COSE kid = key id of the expected signer's current key),
    ///   `signature`, `org-exists` / `org-suspended` (organization-signed events),
    ///   `issuer-exists` (issuer-signed events);
    /// - organizations: `org-unique`, `public-key` (32 bytes, a curve point, not small-order;
    ///   a rotation must change the key), `required-text` (English name), `text-format` (every
    ///   name, title, place, region and issuer name: [`sagat_verifier::check_human_text`]), `org-status`
    ///   (suspend only an active organization, reinstate only a suspended one),
    ///   `org-update-changes` (an `OrganizationUpdated` must change the names or the region);
    /// - volunteers and activities: `volunteer-unique`, `activity-unique`, `date-format`,
    ///   `date-range` (not before 2000-01-01; days worked not after `today`), `activity-dates`
    ///   (from ≤ to);
    /// - attestations: `attestation-unique`, `volunteer-exists`, `activity-exists`,
    ///   `activity-org` (the activity is the attesting organization's), `activity-period` (the
    ///   day worked lies in the activity's dates), `minutes` (1..=1440), `daily-limit` (one
    ///   volunteer's live minutes on one day, across all organizations, ≤ 1440 — a correction is
    ///   checked on its new day), `attestation-exists`, `attesting-org`, `attestation-live`;
    /// - credentials: `issuer-unique`, `issuer-period` (valid_until after valid_from),
    ///   `issuer-validity` (the event's `created` lies in the issuer's validity),
    ///   `credential-unique`, `credential-hash` (32 bytes), `status-index` (not taken),
    ///   `credential-exists`, `credential-issuer`, `credential-live` (not yet revoked);
    /// - `event-type` for an event type this version does not know.
    pub fn apply(
        &mut self,
        index: u64,
        entry: &SignedEvent,
        today: i32,
        check_signature: bool,
    ) -> Result<Applied, Violation> {
        let event = &entry.event;
        let check = Check { event };
        if index != self.len() {
            return Err(check.fail(
                Rule::LogIndex,
                format!(
                    "applied as index {index} but the next log index is {}",
                    self.len()
                ),
            ));
        }
        if index >= u64::from(NONE) {
            return Err(check.fail(Rule::LogIndex, "the log is full (2^32 - 1 entries)"));
        }
        let index32 = index as u32;
        if event.v != EVENT_VERSION {
            return Err(check.fail(
                Rule::Version,
                format!("unknown event schema version {}", event.v),
            ));
        }
        let event_id = check.id128("event id", &event.id)?;
        if let Some(first) = self.event_index(&event.id) {
            return Err(check.fail(
                Rule::DuplicateId,
                format!("event id already used by log entry {first}"),
            ));
        }
        let signer_key = self.signer_key(&check)?;
        if entry.sign1.kid() != key_id(&signer_key) {
            return Err(check.fail(
                Rule::Kid,
                format!(
                    "COSE kid {} is not the key id {} of the {} key",
                    hex::encode(entry.sign1.kid()),
                    hex::encode(key_id(&signer_key)),
                    signer_name(&event.body)
                ),
            ));
        }
        if check_signature {
            if let Err(e) = entry.sign1.verify(&signer_key) {
                return Err(check.fail(
                    Rule::Signature,
                    format!(
                        "not signed by the current {} key: {e}",
                        signer_name(&event.body)
                    ),
                ));
            }
        }
        let undo = self.apply_body(&check, index32, today)?;
        let ids = &self.event_ids;
        let pos = self.event_ids.len() as u32;
        self.event_table
            .insert(&event_id, pos, |p| &ids[p as usize]);
        push_compact(&mut self.event_ids, event_id);
        Ok(Applied {
            index,
            signer_key,
            undo,
        })
    }

    /// Undoes the most recent [`State::apply`] exactly. Tokens must be reverted newest first.
    ///
    /// # Panics
    /// If `applied` is not the most recently applied entry (a caller bug: the state would be
    /// corrupted otherwise).
    pub fn revert(&mut self, applied: Applied) {
        assert_eq!(
            applied.index + 1,
            self.len(),
            "State::revert must undo the most recent apply first"
        );
        let event_id = self.event_ids.pop().expect("len checked");
        let pos = self.event_ids.len() as u32;
        self.event_table.remove(&event_id, pos);
        match applied.undo {
            Undo::OrgRegistered => {
                let org = self.orgs.pop().expect("registered org");
                self.org_index.remove(&org.id);
            }
            Undo::OrgKeyRotated { org } => {
                let org = &mut self.orgs[org as usize];
                org.keys.pop();
                org.key = org.keys.last().expect("registration key").1;
            }
            Undo::OrgSuspended { org } => self.orgs[org as usize].suspended_at = NONE,
            Undo::OrgReinstated { org, suspended_at } => {
                self.orgs[org as usize].suspended_at = suspended_at
            }
            Undo::OrgUpdated {
                org,
                names,
                region,
                updated_at,
            } => {
                let o = &mut self.orgs[org as usize];
                o.names = names;
                o.region = region;
                o.updated_at = updated_at;
            }
            Undo::VolunteerEnrolled => {
                let v = self.volunteers.pop().expect("enrolled volunteer");
                self.volunteer_index.remove(&v.id);
            }
            Undo::ActivityPublished => {
                let a = self.activities.pop().expect("published activity");
                self.activity_index.remove(&a.id);
            }
            Undo::HoursAttested => {
                let pos = (self.atts.len() - 1) as u32;
                self.unlink_live(pos);
                self.unlink_org(pos);
                let att = self.atts.pop().expect("attestation");
                self.att_table.remove(&att.id, pos);
            }
            Undo::AttestationCorrected {
                att,
                day,
                minutes,
                changes,
            } => {
                self.unlink_live(att);
                self.unlink_org(att);
                let a = &mut self.atts[att as usize];
                a.day = day;
                a.minutes = minutes;
                self.restore_changes(att, changes);
                self.link_live(att);
                self.link_org(att);
            }
            Undo::AttestationRetracted { att, changes } => {
                self.count_org_minutes(att, false);
                self.atts[att as usize].minutes &= !RETRACTED;
                self.count_org_minutes(att, true);
                self.restore_changes(att, changes);
                self.link_live(att);
            }
            Undo::IssuerRegistered => {
                let i = self.issuers.pop().expect("issuer");
                self.issuer_index.remove(&i.id);
            }
            Undo::CredentialIssued => {
                let c = self.credentials.pop().expect("credential");
                self.credential_index.remove(&c.id);
                self.status_indices.remove(&c.status_index);
            }
            Undo::CredentialRevoked { credential } => {
                self.credentials[credential as usize].revoked = None;
            }
        }
    }

    fn restore_changes(&mut self, att: u32, changes: Option<AttChanges>) {
        match changes {
            Some(c) => self.att_changes.insert(att, c),
            None => self.att_changes.remove(&att),
        };
    }

    /// The key that must sign `event` now, if its signer exists and may append (else `None`):
    /// what [`State::apply`] would check the signature against. Read-only, so a caller can
    /// verify a batch's signatures under a read lock, before the batch's round (see
    /// `Ledger::append_batch`).
    pub(crate) fn current_signer_key(&self, event: &Event) -> Option<VerifyingKey> {
        self.signer_key(&Check { event }).ok()
    }

    /// The key that must sign `check.event`, after checking its signer exists and may append.
    fn signer_key(&self, check: &Check<'_>) -> Result<VerifyingKey, Violation> {
        match check.event.body.signer() {
            Signer::Operator => Ok(self.operator_key),
            Signer::Organization(org) => {
                let o = self.org(check, &org)?;
                if o.suspended_at != NONE {
                    return Err(check.fail(
                        Rule::OrgSuspended,
                        format!(
                            "organization {org} is suspended (log entry {}) and may not append",
                            o.suspended_at
                        ),
                    ));
                }
                Ok(o.key)
            }
            Signer::Issuer(issuer) => {
                let &i = self.issuer_index.get(&issuer).ok_or_else(|| {
                    check.fail(
                        Rule::IssuerExists,
                        format!("no registered issuer {issuer:?}"),
                    )
                })?;
                Ok(self.issuers[i as usize].key)
            }
            other => Err(check.fail(Rule::EventType, format!("unknown signer kind {other:?}"))),
        }
    }

    fn org(&self, check: &Check<'_>, org: &str) -> Result<&Org, Violation> {
        self.org_index
            .get(org)
            .map(|&o| &self.orgs[o as usize])
            .ok_or_else(|| {
                check.fail(
                    Rule::OrgExists,
                    format!("no registered organization {org:?}"),
                )
            })
    }

    fn org_pos(&self, org: &str) -> u32 {
        self.org_index[org]
    }

    fn volunteer_pos(&self, check: &Check<'_>, volunteer: &str) -> Result<u32, Violation> {
        let id = check.id128("volunteer id", volunteer)?;
        self.volunteer_index.get(&id).copied().ok_or_else(|| {
            check.fail(
                Rule::VolunteerExists,
                format!("no enrolled volunteer {volunteer}"),
            )
        })
    }

    pub(crate) fn att_position(&self, id: &Id) -> Option<u32> {
        let atts = &self.atts;
        self.att_table.find(id, |p| &atts[p as usize].id)
    }

    fn att_pos(&self, check: &Check<'_>, attestation: &str, org: &str) -> Result<u32, Violation> {
        let id = check.id128("attestation id", attestation)?;
        let atts = &self.atts;
        let pos = self
            .att_table
            .find(&id, |p| &atts[p as usize].id)
            .ok_or_else(|| {
                check.fail(
                    Rule::AttestationExists,
                    format!("no attestation {attestation}"),
                )
            })?;
        let att = &self.atts[pos as usize];
        let attesting = &self.orgs[att.org as usize].id;
        if attesting != org {
            return Err(check.fail(
                Rule::AttestingOrg,
                format!("attestation {attestation} was made by {attesting}, not {org}"),
            ));
        }
        if !att.is_live() {
            let at = self.att_changes.get(&pos).map_or(NONE, |c| c.retracted_at);
            return Err(check.fail(
                Rule::AttestationLive,
                format!("attestation {attestation} was retracted at log entry {at}"),
            ));
        }
        Ok(pos)
    }

    /// Minutes credited to `volunteer` on `day` by live attestations other than `except`.
    pub(crate) fn minutes_on(&self, volunteer: u32, day: u16, except: u32) -> u32 {
        let live = &self.volunteers[volunteer as usize].live;
        let start = live.partition_point(|&p| self.atts[p as usize].day < day);
        live[start..]
            .iter()
            .take_while(|&&p| self.atts[p as usize].day == day)
            .filter(|&&p| p != except)
            .map(|&p| self.atts[p as usize].minutes())
            .sum()
    }

    fn daily_limit(
        &self,
        check: &Check<'_>,
        volunteer: u32,
        day: u16,
        minutes: u16,
        except: u32,
    ) -> Result<(), Violation> {
        let already = self.minutes_on(volunteer, day, except);
        let total = already + u32::from(minutes);
        if total > MINUTES_PER_DAY {
            return Err(check.fail(
                Rule::DailyLimit,
                format!(
                    "volunteer {} would have {total} minutes on {} (limit {MINUTES_PER_DAY}; {already} already attested)",
                    hex::encode(self.volunteers[volunteer as usize].id),
                    sagat_verifier::format_date(DAY_2000 + i32::from(day)),
                ),
            ));
        }
        Ok(())
    }

    fn activity_period(&self, check: &Check<'_>, activity: u32, day: u16) -> Result<(), Violation> {
        if activity == NONE {
            return Ok(());
        }
        let a = &self.activities[activity as usize];
        let date = DAY_2000 + i32::from(day);
        if date < a.from || date > a.to {
            return Err(check.fail(
                Rule::ActivityPeriod,
                format!(
                    "date {} is outside activity {}'s period {}..{}",
                    sagat_verifier::format_date(date),
                    hex::encode(a.id),
                    sagat_verifier::format_date(a.from),
                    sagat_verifier::format_date(a.to)
                ),
            ));
        }
        Ok(())
    }

    fn sort_key(&self, pos: u32) -> (u16, u32) {
        (self.atts[pos as usize].day, pos)
    }

    /// Where `key` goes in `list` (positions sorted by [`State::sort_key`]). The end is tried
    /// first: a new attestation is usually the newest, and the binary search would read up to
    /// log2(n) attestations scattered through memory.
    fn insert_position(&self, list: &[u32], key: (u16, u32)) -> usize {
        match list.last() {
            Some(&last) if self.sort_key(last) < key => list.len(),
            _ => list.partition_point(|&p| self.sort_key(p) < key),
        }
    }

    fn link_live(&mut self, pos: u32) {
        let key = self.sort_key(pos);
        let v = self.atts[pos as usize].volunteer as usize;
        let at = self.insert_position(&self.volunteers[v].live, key);
        let live = &mut self.volunteers[v].live;
        if live.len() == live.capacity() {
            live.reserve_exact((live.capacity() / 2).max(4));
        }
        live.insert(at, pos);
    }

    /// Adds (or with `add` false, removes) attestation `pos`'s live minutes to its
    /// organization's total; called around every change to its minutes or liveness.
    fn count_org_minutes(&mut self, pos: u32, add: bool) {
        let a = &self.atts[pos as usize];
        let m = if a.is_live() {
            u64::from(a.minutes())
        } else {
            0
        };
        let total = &mut self.orgs[a.org as usize].live_minutes;
        *total = if add { *total + m } else { *total - m };
    }

    /// Puts attestation `pos` in its organization's (day, position)-sorted list and counts its
    /// minutes; a new attestation usually goes at the end (the newest day).
    fn link_org(&mut self, pos: u32) {
        let key = self.sort_key(pos);
        let o = self.atts[pos as usize].org as usize;
        let at = self.insert_position(&self.orgs[o].atts, key);
        let list = &mut self.orgs[o].atts;
        if list.len() == list.capacity() {
            list.reserve_exact((list.capacity() / 2).max(16));
        }
        list.insert(at, pos);
        self.count_org_minutes(pos, true);
    }

    fn unlink_org(&mut self, pos: u32) {
        self.count_org_minutes(pos, false);
        let key = self.sort_key(pos);
        let o = self.atts[pos as usize].org as usize;
        let list = &self.orgs[o].atts;
        let at = list.partition_point(|&p| self.sort_key(p) < key);
        assert_eq!(list.get(at), Some(&pos), "organization list out of sync");
        self.orgs[o].atts.remove(at);
    }

    fn unlink_live(&mut self, pos: u32) {
        let key = self.sort_key(pos);
        let v = self.atts[pos as usize].volunteer as usize;
        let live = &self.volunteers[v].live;
        let at = live.partition_point(|&p| self.sort_key(p) < key);
        assert_eq!(live.get(at), Some(&pos), "live list out of sync");
        self.volunteers[v].live.remove(at);
    }

    /// Checks the body-specific rules, then (only if all pass) mutates.
    fn apply_body(&mut self, check: &Check<'_>, index: u32, today: i32) -> Result<Undo, Violation> {
        match &check.event.body {
            EventBody::OrganizationRegistered(r) => {
                check.name_id("organization id", &r.org)?;
                check.names("names", &r.names)?;
                if let Some(region) = &r.region {
                    check.human("region", region, sagat_verifier::MAX_NAME_CHARS)?;
                }
                let key = check.public_key(&r.public_key)?;
                if let Some(&o) = self.org_index.get(&r.org) {
                    return Err(check.fail(
                        Rule::OrgUnique,
                        format!(
                            "organization {} is already registered (log entry {})",
                            r.org, self.orgs[o as usize].registered
                        ),
                    ));
                }
                let pos = self.orgs.len() as u32;
                self.orgs.push(Org {
                    id: r.org.clone(),
                    names: r.names.clone(),
                    region: r.region.clone(),
                    key,
                    registered: index,
                    keys: vec![(index, key)],
                    atts: Vec::new(),
                    live_minutes: 0,
                    suspended_at: NONE,
                    updated_at: NONE,
                });
                self.org_index.insert(r.org.clone(), pos);
                Ok(Undo::OrgRegistered)
            }
            EventBody::OrganizationKeyRotated(r) => {
                let key = check.public_key(&r.public_key)?;
                let current = self.org(check, &r.org)?.key;
                if current == key {
                    return Err(check.fail(
                        Rule::PublicKey,
                        format!("the new key of {} is its current key", r.org),
                    ));
                }
                let org = self.org_pos(&r.org);
                let o = &mut self.orgs[org as usize];
                o.key = key;
                o.keys.push((index, key));
                Ok(Undo::OrgKeyRotated { org })
            }
            EventBody::OrganizationUpdated(u) => {
                check.names("names", &u.names)?;
                if let Some(region) = &u.region {
                    check.human("region", region, sagat_verifier::MAX_NAME_CHARS)?;
                }
                let o = self.org(check, &u.org)?;
                if o.names == u.names && o.region == u.region {
                    return Err(check.fail(
                        Rule::OrgUpdateChanges,
                        format!(
                            "the update changes nothing: {} already has these names and region",
                            u.org
                        ),
                    ));
                }
                let org = self.org_pos(&u.org);
                let o = &mut self.orgs[org as usize];
                Ok(Undo::OrgUpdated {
                    org,
                    names: std::mem::replace(&mut o.names, u.names.clone()),
                    region: std::mem::replace(&mut o.region, u.region.clone()),
                    updated_at: std::mem::replace(&mut o.updated_at, index),
                })
            }
            EventBody::OrganizationSuspended(r) => {
                let o = self.org(check, &r.org)?;
                if o.suspended_at != NONE {
                    return Err(check.fail(
                        Rule::OrgStatus,
                        format!(
                            "organization {} is already suspended (log entry {})",
                            r.org, o.suspended_at
                        ),
                    ));
                }
                let org = self.org_pos(&r.org);
                self.orgs[org as usize].suspended_at = index;
                Ok(Undo::OrgSuspended { org })
            }
            EventBody::OrganizationReinstated(r) => {
                let o = self.org(check, &r.org)?;
                if o.suspended_at == NONE {
                    return Err(check.fail(
                        Rule::OrgStatus,
                        format!("organization {} is not suspended", r.org),
                    ));
                }
                let org = self.org_pos(&r.org);
                let suspended_at =
                    std::mem::replace(&mut self.orgs[org as usize].suspended_at, NONE);
                Ok(Undo::OrgReinstated { org, suspended_at })
            }
            EventBody::VolunteerEnrolled(r) => {
                let id = check.id128("volunteer id", &r.volunteer)?;
                if let Some(&v) = self.volunteer_index.get(&id) {
                    return Err(check.fail(
                        Rule::VolunteerUnique,
                        format!(
                            "volunteer {} is already enrolled (log entry {})",
                            r.volunteer, self.volunteers[v as usize].enrolled
                        ),
                    ));
                }
                // An enrolling organization was checked (exists, not suspended) as the signer.
                let pos = self.volunteers.len() as u32;
                self.volunteers.push(Volunteer {
                    id,
                    enrolled: index,
                    live: Vec::new(),
                });
                self.volunteer_index.insert(id, pos);
                Ok(Undo::VolunteerEnrolled)
            }
            EventBody::ActivityPublished(a) => {
                let id = check.id128("activity id", &a.activity)?;
                check.names("titles", &a.titles)?;
                if let Some(place) = &a.place {
                    check.human("place", place, sagat_verifier::MAX_NAME_CHARS)?;
                }
                let from = check.date("from", &a.from)?;
                let to = check.date("to", &a.to)?;
                if from < DAY_2000 {
                    return Err(check.fail_at(
                        Rule::DateRange,
                        "from",
                        format!("from {} is before 2000-01-01", a.from),
                    ));
                }
                if from > to {
                    return Err(check.fail(
                        Rule::ActivityDates,
                        format!("from {} is after to {}", a.from, a.to),
                    ));
                }
                if let Some(&p) = self.activity_index.get(&id) {
                    return Err(check.fail(
                        Rule::ActivityUnique,
                        format!(
                            "activity {} is already published (log entry {})",
                            a.activity, self.activities[p as usize].index
                        ),
                    ));
                }
                let org = self.org_pos(&a.org);
                let pos = self.activities.len() as u32;
                self.activities.push(Activity {
                    id,
                    org,
                    titles: a.titles.clone(),
                    category: a.category,
                    place: a.place.clone(),
                    from,
                    to,
                    index,
                });
                self.activity_index.insert(id, pos);
                Ok(Undo::ActivityPublished)
            }
            EventBody::HoursAttested(h) => {
                let id = check.id128("attestation id", &h.attestation)?;
                let atts = &self.atts;
                if let Some(p) = self.att_table.find(&id, |p| &atts[p as usize].id) {
                    return Err(check.fail(
                        Rule::AttestationUnique,
                        format!(
                            "attestation {} already exists (log entry {})",
                            h.attestation, self.atts[p as usize].index
                        ),
                    ));
                }
                let volunteer = self.volunteer_pos(check, &h.volunteer)?;
                let org = self.org_pos(&h.org);
                let activity = match &h.activity {
                    None => NONE,
                    Some(a) => {
                        let aid = check.id128("activity id", a)?;
                        let &p = self.activity_index.get(&aid).ok_or_else(|| {
                            check.fail(Rule::ActivityExists, format!("no published activity {a}"))
                        })?;
                        let owner = self.activities[p as usize].org;
                        if owner != org {
                            return Err(check.fail(
                                Rule::ActivityOrg,
                                format!(
                                    "activity {a} belongs to {}, not {}",
                                    self.orgs[owner as usize].id, h.org
                                ),
                            ));
                        }
                        p
                    }
                };
                let minutes = check.minutes(h.minutes)?;
                let day = check.work_day(&h.date, today)?;
                self.activity_period(check, activity, day)?;
                self.daily_limit(check, volunteer, day, minutes, NONE)?;
                let pos = self.atts.len() as u32;
                push_compact(
                    &mut self.atts,
                    Att {
                        id,
                        index,
                        volunteer,
                        org,
                        activity,
                        day,
                        minutes,
                    },
                );
                let atts = &self.atts;
                self.att_table.insert(&id, pos, |p| &atts[p as usize].id);
                self.link_live(pos);
                self.link_org(pos);
                Ok(Undo::HoursAttested)
            }
            EventBody::AttestationCorrected(c) => {
                let att = self.att_pos(check, &c.attestation, &c.org)?;
                let minutes = check.minutes(c.minutes)?;
                let day = check.work_day(&c.date, today)?;
                let a = self.atts[att as usize];
                self.activity_period(check, a.activity, day)?;
                self.daily_limit(check, a.volunteer, day, minutes, att)?;
                self.unlink_live(att);
                self.unlink_org(att);
                let flags = a.minutes & !MINUTES_MASK;
                let entry = &mut self.atts[att as usize];
                entry.day = day;
                entry.minutes = minutes | flags | CORRECTED;
                let changes = self.att_changes.get(&att).copied();
                let mut new = changes.unwrap_or(AttChanges {
                    corrected_at: NONE,
                    retracted_at: NONE,
                });
                new.corrected_at = index;
                self.att_changes.insert(att, new);
                self.link_live(att);
                self.link_org(att);
                Ok(Undo::AttestationCorrected {
                    att,
                    day: a.day,
                    minutes: a.minutes,
                    changes,
                })
            }
            EventBody::AttestationRetracted(r) => {
                let att = self.att_pos(check, &r.attestation, &r.org)?;
                self.unlink_live(att);
                self.count_org_minutes(att, false);
                self.atts[att as usize].minutes |= RETRACTED;
                self.count_org_minutes(att, true);
                let changes = self.att_changes.get(&att).copied();
                let mut new = changes.unwrap_or(AttChanges {
                    corrected_at: NONE,
                    retracted_at: NONE,
                });
                new.retracted_at = index;
                self.att_changes.insert(att, new);
                Ok(Undo::AttestationRetracted { att, changes })
            }
            EventBody::IssuerKeyRegistered(i) => {
                check.name_id("issuer id", &i.issuer)?;
                check.text("name", &i.name)?;
                check.human("name", &i.name, sagat_verifier::MAX_NAME_CHARS)?;
                let key = check.public_key(&i.public_key)?;
                if let Some(until) = i.valid_until {
                    if until <= i.valid_from {
                        return Err(check.fail(
                            Rule::IssuerPeriod,
                            format!(
                                "valid_until {until} is not after valid_from {}",
                                i.valid_from
                            ),
                        ));
                    }
                }
                if let Some(&p) = self.issuer_index.get(&i.issuer) {
                    return Err(check.fail(
                        Rule::IssuerUnique,
                        format!(
                            "issuer {} is already registered (log entry {}); register a new issuer id for a new key",
                            i.issuer, self.issuers[p as usize].index
                        ),
                    ));
                }
                let pos = self.issuers.len() as u32;
                self.issuers.push(Issuer {
                    id: i.issuer.clone(),
                    name: i.name.clone(),
                    key,
                    valid_from: i.valid_from,
                    valid_until: i.valid_until,
                    index,
                });
                self.issuer_index.insert(i.issuer.clone(), pos);
                Ok(Undo::IssuerRegistered)
            }
            EventBody::CredentialIssued(c) => {
                let id = check.id128("credential id", &c.credential)?;
                let issuer = self.issuer_index[&c.issuer];
                let iss = &self.issuers[issuer as usize];
                let created = check.event.created;
                if created < iss.valid_from || iss.valid_until.is_some_and(|u| created >= u) {
                    return Err(check.fail(
                        Rule::IssuerValidity,
                        format!(
                            "created {created} is outside issuer {}'s validity [{}, {})",
                            c.issuer,
                            iss.valid_from,
                            iss.valid_until.map_or("∞".to_string(), |u| u.to_string())
                        ),
                    ));
                }
                if let Some(&p) = self.credential_index.get(&id) {
                    return Err(check.fail(
                        Rule::CredentialUnique,
                        format!(
                            "credential {} was already issued (log entry {})",
                            c.credential, self.credentials[p as usize].index
                        ),
                    ));
                }
                let volunteer = self.volunteer_pos(check, &c.volunteer)?;
                let sha256: [u8; 32] = c.credential_sha256.as_slice().try_into().map_err(|_| {
                    check.fail(
                        Rule::CredentialHash,
                        format!(
                            "credential_sha256 is {} bytes, not 32",
                            c.credential_sha256.len()
                        ),
                    )
                })?;
                if self.status_indices.contains(&c.status_index) {
                    return Err(check.fail(
                        Rule::StatusIndex,
                        format!("status index {} is already taken", c.status_index),
                    ));
                }
                let pos = self.credentials.len() as u32;
                self.credentials.push(Credential {
                    id,
                    issuer,
                    volunteer,
                    sha256,
                    status_index: c.status_index,
                    index,
                    revoked: None,
                });
                self.credential_index.insert(id, pos);
                self.status_indices.insert(c.status_index);
                Ok(Undo::CredentialIssued)
            }
            EventBody::CredentialRevoked(r) => {
                let id = check.id128("credential id", &r.credential)?;
                let &p = self.credential_index.get(&id).ok_or_else(|| {
                    check.fail(
                        Rule::CredentialExists,
                        format!("no issued credential {}", r.credential),
                    )
                })?;
                let cred = &self.credentials[p as usize];
                let by = &self.issuers[cred.issuer as usize].id;
                if *by != r.issuer {
                    return Err(check.fail(
                        Rule::CredentialIssuer,
                        format!(
                            "credential {} was issued by {by}, not {}",
                            r.credential, r.issuer
                        ),
                    ));
                }
                if let Some((at, _)) = &cred.revoked {
                    return Err(check.fail(
                        Rule::CredentialLive,
                        format!(
                            "credential {} was already revoked (log entry {at})",
                            r.credential
                        ),
                    ));
                }
                self.credentials[p as usize].revoked = Some((index, r.reason.clone()));
                Ok(Undo::CredentialRevoked { credential: p })
            }
            other => Err(check.fail(
                Rule::EventType,
                format!("this ledger does not know event type {}", other.type_name()),
            )),
        }
    }
}

fn signer_name(body: &EventBody) -> String {
    match body.signer() {
        Signer::Operator => "operator".into(),
        Signer::Organization(o) => format!("organization {o}"),
        Signer::Issuer(i) => format!("issuer {i}"),
        other => format!("{other:?}"),
    }
}

/// Organization and issuer ids: 2..=64 of lowercase ASCII letters, digits and `-`.
pub fn is_valid_name_id(id: &str) -> bool {
    (2..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `Vec::push` growing by half instead of doubling: the big per-event vectors then carry at most
/// 50% unused capacity instead of 100%.
fn push_compact<T>(v: &mut Vec<T>, item: T) {
    if v.len() == v.capacity() {
        v.reserve_exact((v.capacity() / 2).max(16));
    }
    v.push(item);
}

pub(crate) fn parse_id(text: &str) -> Option<Id> {
    if !is_valid_id128(text) {
        return None;
    }
    let mut id = [0u8; 16];
    hex::decode_to_slice(text, &mut id).ok()?;
    Some(id)
}

/// Open-addressing (linear probing) set of dense positions `0..len`, keyed by the 16-byte id each
/// position has in an external vector. Four bytes per slot, load ≤ 1/2.
///
/// Why not a `HashMap<Id, u32>`: that stores every id a second time (20 bytes per slot instead of
/// 4). Removal only ever undoes the latest insert ([`State::revert`] is LIFO), and then clearing
/// the slot is exact: no key placed after it probed past its slot, and a resize reinserts in
/// position order so the newest key is always last ([`IdTable::with_keys`] places in slot
/// order, but its keys are never removed).
#[derive(Debug, Default)]
struct IdTable {
    /// Position + 1, or 0 for empty.
    slots: Vec<u32>,
    len: usize,
    hasher: RandomState,
}

impl IdTable {
    /// A table holding positions `0..keys.len()`, key `keys[p]` at position `p`.
    fn with_keys(keys: &[Id]) -> IdTable {
        let mut size = 16;
        while keys.len() * 4 > size * 3 {
            size *= 2;
        }
        let mut table = IdTable {
            slots: vec![0; size],
            len: keys.len(),
            hasher: RandomState::new(),
        };
        // Placed in the order of their home slots, not of their positions, so the table is
        // written front to back instead of at random: at 10M keys, the cache misses of random
        // placement were most of opening from a snapshot. Removal stays exact: only keys
        // inserted after this are ever removed (these are committed entries), and each of
        // those is placed after every key here.
        let mut by_home: Vec<u64> = keys
            .iter()
            .enumerate()
            .map(|(p, id)| ((table.home(id) as u64) << 32) | p as u64)
            .collect();
        by_home.sort_unstable();
        for key in by_home {
            table.place_from((key >> 32) as usize, key as u32);
        }
        table
    }

    fn home(&self, id: &Id) -> usize {
        (self.hasher.hash_one(id) as usize) & (self.slots.len() - 1)
    }

    fn find<'k>(&self, id: &Id, key_of: impl Fn(u32) -> &'k Id) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(id);
        loop {
            match self.slots[i] {
                0 => return None,
                s if key_of(s - 1) == id => return Some(s - 1),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Inserts `pos` (which must equal the current length) for `id` (which must be absent).
    fn insert<'k>(&mut self, id: &Id, pos: u32, key_of: impl Fn(u32) -> &'k Id) {
        debug_assert_eq!(pos as usize, self.len);
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            let size = (self.slots.len() * 2).max(16);
            self.slots = vec![0; size];
            for p in 0..self.len as u32 {
                self.place(key_of(p), p);
            }
        }
        self.place(id, pos);
        self.len += 1;
    }

    fn place(&mut self, id: &Id, pos: u32) {
        self.place_from(self.home(id), pos);
    }

    fn place_from(&mut self, home: usize, pos: u32) {
        let mask = self.slots.len() - 1;
        let mut i = home;
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = pos + 1;
    }

    /// Removes the most recently inserted position `pos` (key `id`).
    fn remove(&mut self, id: &Id, pos: u32) {
        debug_assert_eq!(pos as usize + 1, self.len);
        let mask = self.slots.len() - 1;
        let mut i = self.home(id);
        while self.slots[i] != pos + 1 {
            debug_assert_ne!(self.slots[i], 0, "IdTable::remove of an absent position");
            i = (i + 1) & mask;
        }
        self.slots[i] = 0;
        self.len -= 1;
    }
}

#[cfg(test)]
mod id_table_tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn key(n: u32) -> Id {
        Sha256::digest(n.to_le_bytes())[..16]
            .try_into()
            .expect("16 bytes")
    }

    #[test]
    fn a_table_built_in_slot_order_finds_every_key_and_undoes_later_inserts_exactly() {
        // 12,000 keys in a 16,384-slot table (load 0.73): long probe runs, wrapping ones too.
        let mut keys: Vec<Id> = (0..12_000).map(key).collect();
        let mut table = IdTable::with_keys(&keys);
        // Inserts that fill the table past its load limit (a resize) and others that do not,
        // each removed again newest first, as `State::revert` does.
        for extra in [10, 400] {
            let first = keys.len();
            for n in 0..extra {
                let id = key(1_000_000 + n);
                keys.push(id);
                let pos = keys.len() as u32 - 1;
                let snapshot = keys.clone();
                table.insert(&id, pos, |p| &snapshot[p as usize]);
            }
            for p in (first..keys.len()).rev() {
                table.remove(&keys[p], p as u32);
                assert_eq!(table.find(&keys[p], |q| &keys[q as usize]), None);
            }
            keys.truncate(first);
            for (p, id) in keys.iter().enumerate() {
                assert_eq!(table.find(id, |q| &keys[q as usize]), Some(p as u32));
            }
        }
        assert_eq!(table.find(&key(99_999_999), |q| &keys[q as usize]), None);
    }
}
