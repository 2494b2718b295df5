//! Projections: what the log says about volunteers, organizations, activities and credentials,
//! computed from the compact [`State`] indexes.
//!
//! Hours count **live** attestations only: retracted ones are excluded and a corrected one counts
//! with its latest date and minutes. Because the state is built by the same `apply` on append and
//! on replay, these views are identical after a rebuild from an empty state.
//!
//! Cost: a volunteer's views walk that volunteer's live attestations (kept sorted by day); the
//! per-organization views ([`State::org_hours`], [`State::attestations_by_org`]) walk that
//! organization's own attestations (their positions, kept sorted by day then log order: 4 bytes
//! each), not every attestation of the log. A listing page ([`State::org_attestations`]) costs
//! O(page + log n) without a volunteer or activity filter (dates are a binary search, the live
//! total is kept), and O(attestations in the date range) with one.
//!
//! Roles and notes are not kept in memory (they would dominate its size); every view carries the
//! log index of its `HoursAttested` entry, where they can be read. `role` is therefore `None` here.

use std::collections::{BTreeMap, BTreeSet};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::VerifyingKey;
use sagat_verifier::{format_date, key_id, year_of, Category, Names};
use serde::{Serialize, Serializer};

use crate::state::{parse_id, Att, State, NONE};

/// Category name used for hours attested without an activity.
pub const UNCATEGORIZED: &str = "uncategorized";

/// A volunteer's hours, from live attestations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VolunteerHours {
    /// Volunteer id.
    pub volunteer: String,
    /// Total minutes.
    pub total_minutes: u64,
    /// Minutes per attesting organization id.
    pub by_org: BTreeMap<String, u64>,
    /// Minutes per activity category (wire name, [`UNCATEGORIZED`] without an activity).
    pub by_category: BTreeMap<String, u64>,
    /// Minutes per calendar year of the day worked.
    pub by_year: BTreeMap<i32, u64>,
    /// Number of live attestations.
    pub attestations: u64,
}

/// An organization's attested hours, from live attestations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrgHours {
    /// Organization id.
    pub org: String,
    /// Total minutes it attested.
    pub total_minutes: u64,
    /// Number of live attestations it made.
    pub attestations: u64,
    /// Number of distinct volunteers in them.
    pub volunteers: u64,
}

/// One attestation as currently in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiveAttestation {
    /// Attestation id.
    pub attestation: String,
    /// Log index of the `HoursAttested` entry.
    pub index: u64,
    /// Log index of the latest correction, if any.
    pub corrected_at: Option<u64>,
    /// Attesting organization.
    pub org: String,
    /// Volunteer id.
    pub volunteer: String,
    /// Activity id, if any.
    pub activity: Option<String>,
    /// The activity's category, if any.
    pub category: Option<Category>,
    /// Day worked (latest correction), `YYYY-MM-DD`.
    pub date: String,
    /// Minutes (latest correction).
    pub minutes: u32,
    /// Always `None` from the in-memory state: read it from log entry `index`.
    pub role: Option<String>,
}

/// An attestation with its status (live or retracted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AttestationInfo {
    /// The attestation's last date and minutes.
    #[serde(flatten)]
    pub attestation: LiveAttestation,
    /// Log index of the retraction, if retracted.
    pub retracted_at: Option<u64>,
}

impl AttestationInfo {
    /// Whether the attestation still counts.
    pub fn is_live(&self) -> bool {
        self.retracted_at.is_none()
    }
}

/// A key an organization had.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyHistoryEntry {
    /// Log index of the event that set it (registration or rotation).
    pub index: u64,
    /// The public key (standard base64).
    #[serde(serialize_with = "key_base64")]
    pub public_key: VerifyingKey,
}

/// An organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrgInfo {
    /// Organization id.
    pub org: String,
    /// Display names.
    pub names: Names,
    /// Region.
    pub region: Option<String>,
    /// Current public key (standard base64).
    #[serde(serialize_with = "key_base64")]
    pub public_key: VerifyingKey,
    /// Its key id (COSE `kid`), hex.
    pub key_id: String,
    /// Whether it is suspended.
    pub suspended: bool,
    /// Log index of the suspension in force.
    pub suspended_at: Option<u64>,
    /// Log index of its registration.
    pub registered_index: u64,
    /// Log index of the `OrganizationUpdated` whose names and region are in force, if any.
    pub updated_index: Option<u64>,
    /// Every key it had, oldest first; the last is the current one.
    pub key_history: Vec<KeyHistoryEntry>,
}

/// A published activity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActivityInfo {
    /// Activity id.
    pub activity: String,
    /// Publishing organization.
    pub org: String,
    /// Titles.
    pub titles: Names,
    /// Category.
    pub category: Category,
    /// Place.
    pub place: Option<String>,
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// Log index of `ActivityPublished`.
    pub index: u64,
}

/// A registered credential issuer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IssuerInfo {
    /// Issuer id.
    pub issuer: String,
    /// Display name.
    pub name: String,
    /// Public key (standard base64).
    #[serde(serialize_with = "key_base64")]
    pub public_key: VerifyingKey,
    /// Its key id (COSE `kid`), hex.
    pub key_id: String,
    /// Start of validity, Unix seconds.
    pub valid_from: i64,
    /// End of validity, Unix seconds.
    pub valid_until: Option<i64>,
    /// Log index of `IssuerKeyRegistered`.
    pub index: u64,
}

/// A revocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Revocation {
    /// Log index of `CredentialRevoked`.
    pub index: u64,
    /// Why: a commitment; the text is in the text directory (`TextDirectory`).
    #[serde(skip)]
    pub reason: sagat_verifier::FreeText,
}

/// An issued credential (the log holds only its hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CredentialInfo {
    /// Credential id.
    pub credential: String,
    /// Issuer id.
    pub issuer: String,
    /// Volunteer id.
    pub volunteer: String,
    /// SHA-256 of the credential's COSE bytes, hex.
    pub credential_sha256: String,
    /// Index in the revocation status list.
    pub status_index: u64,
    /// Log index of `CredentialIssued`.
    pub issued_index: u64,
    /// The revocation, if revoked.
    pub revoked: Option<Revocation>,
}

fn key_base64<S: Serializer>(key: &VerifyingKey, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&STANDARD.encode(key.as_bytes()))
}

fn opt_index(i: u32) -> Option<u64> {
    (i != NONE).then_some(u64::from(i))
}

impl State {
    fn att_info(&self, pos: u32) -> AttestationInfo {
        let a: &Att = &self.atts[pos as usize];
        let changes = self.att_changes.get(&pos);
        let activity = (a.activity != NONE).then(|| &self.activities[a.activity as usize]);
        AttestationInfo {
            attestation: LiveAttestation {
                attestation: hex::encode(a.id),
                index: u64::from(a.index),
                corrected_at: changes.and_then(|c| opt_index(c.corrected_at)),
                org: self.orgs[a.org as usize].id.clone(),
                volunteer: hex::encode(self.volunteers[a.volunteer as usize].id),
                activity: activity.map(|x| hex::encode(x.id)),
                category: activity.map(|x| x.category),
                date: format_date(a.date()),
                minutes: a.minutes(),
                role: None,
            },
            retracted_at: changes.and_then(|c| opt_index(c.retracted_at)),
        }
    }

    fn category_name(&self, a: &Att) -> &'static str {
        if a.activity == NONE {
            UNCATEGORIZED
        } else {
            self.activities[a.activity as usize].category.as_str()
        }
    }

    fn volunteer_position(&self, volunteer: &str) -> Option<u32> {
        self.volunteer_index.get(&parse_id(volunteer)?).copied()
    }

    /// Hours of an enrolled volunteer (`None` if not enrolled).
    pub fn volunteer_hours(&self, volunteer: &str) -> Option<VolunteerHours> {
        let v = &self.volunteers[self.volunteer_position(volunteer)? as usize];
        let mut hours = VolunteerHours {
            volunteer: hex::encode(v.id),
            total_minutes: 0,
            by_org: BTreeMap::new(),
            by_category: BTreeMap::new(),
            by_year: BTreeMap::new(),
            attestations: 0,
        };
        // Aggregate by interned org first: one string per org, not per attestation.
        let mut by_org: BTreeMap<u32, u64> = BTreeMap::new();
        for &p in &v.live {
            let a = &self.atts[p as usize];
            let m = u64::from(a.minutes());
            hours.total_minutes += m;
            hours.attestations += 1;
            *by_org.entry(a.org).or_default() += m;
            *hours
                .by_category
                .entry(self.category_name(a).to_string())
                .or_default() += m;
            *hours.by_year.entry(year_of(a.date())).or_default() += m;
        }
        hours.by_org = by_org
            .into_iter()
            .map(|(o, m)| (self.orgs[o as usize].id.clone(), m))
            .collect();
        Some(hours)
    }

    /// Hours attested by an organization (`None` if not registered).
    pub fn org_hours(&self, org: &str) -> Option<OrgHours> {
        let &o = self.org_index.get(org)?;
        let mut hours = OrgHours {
            org: org.to_string(),
            total_minutes: 0,
            attestations: 0,
            volunteers: 0,
        };
        let mut volunteers = BTreeSet::new();
        let mine = self.orgs[o as usize]
            .atts
            .iter()
            .map(|&p| &self.atts[p as usize]);
        for a in mine.filter(|a| a.is_live()) {
            hours.total_minutes += u64::from(a.minutes());
            hours.attestations += 1;
            volunteers.insert(a.volunteer);
        }
        hours.volunteers = volunteers.len() as u64;
        Some(hours)
    }

    /// A volunteer's live attestations, sorted by date then log index (empty if not enrolled).
    pub fn live_attestations(&self, volunteer: &str) -> Vec<LiveAttestation> {
        let Some(v) = self.volunteer_position(volunteer) else {
            return Vec::new();
        };
        self.volunteers[v as usize]
            .live
            .iter()
            .map(|&p| self.att_info(p).attestation)
            .collect()
    }

    /// An attestation, live or retracted.
    pub fn attestation(&self, id: &str) -> Option<AttestationInfo> {
        self.att_position(&parse_id(id)?).map(|p| self.att_info(p))
    }

    /// The organization's attestations (live and retracted) that pass `filter`, to be read a
    /// page at a time, newest day first (then newest log entry first).
    pub fn org_attestations(
        &self,
        org: &str,
        filter: &AttestationFilter<'_>,
    ) -> OrgAttestations<'_> {
        let none = OrgAttestations {
            state: self,
            matching: Matching::Positions(Vec::new()),
            live_minutes: 0,
        };
        let Some(&o) = self.org_index.get(org) else {
            return none;
        };
        let org = &self.orgs[o as usize];
        let list = &org.atts[..];
        let date = |p: u32| self.atts[p as usize].date();
        let lo = filter
            .from
            .map_or(0, |d| list.partition_point(|&p| date(p) < d));
        let hi = filter
            .to
            .map_or(list.len(), |d| list.partition_point(|&p| date(p) <= d));
        let range = &list[lo..hi.max(lo)];
        let live = |ps: &mut dyn Iterator<Item = &u32>| -> u64 {
            ps.map(|&p| &self.atts[p as usize])
                .filter(|a| a.is_live())
                .map(|a| u64::from(a.minutes()))
                .sum()
        };
        if filter.volunteer.is_none() && filter.activity.is_none() {
            let live_minutes = if range.len() == list.len() {
                org.live_minutes
            } else {
                live(&mut range.iter())
            };
            return OrgAttestations {
                state: self,
                matching: Matching::Range(range),
                live_minutes,
            };
        }
        let volunteer = match filter.volunteer {
            None => None,
            Some(v) => match self.volunteer_position(v) {
                Some(p) => Some(p),
                None => return none,
            },
        };
        let activity = match filter.activity {
            None => None,
            Some(a) => match parse_id(a).and_then(|id| self.activity_index.get(&id)) {
                Some(&p) => Some(p),
                None => return none,
            },
        };
        let positions: Vec<u32> = range
            .iter()
            .copied()
            .filter(|&p| {
                let a = &self.atts[p as usize];
                volunteer.is_none_or(|v| a.volunteer == v)
                    && activity.is_none_or(|x| a.activity == x)
            })
            .collect();
        let live_minutes = live(&mut positions.iter());
        OrgAttestations {
            state: self,
            matching: Matching::Positions(positions),
            live_minutes,
        }
    }

    /// For each volunteer an organization attested for (live or retracted), the minutes and
    /// number of its live attestations and their latest date, sorted by volunteer id. Sums over
    /// positions, formatting one line per volunteer rather than per attestation, so the read
    /// lock is held for O(the organization's attestations) of integer work.
    pub fn org_volunteer_hours(&self, org: &str) -> Vec<OrgVolunteerHours> {
        let Some(&o) = self.org_index.get(org) else {
            return Vec::new();
        };
        // volunteer position → (live minutes, live attestations, latest live day)
        let mut by_volunteer: std::collections::HashMap<u32, (u64, u64, Option<i32>)> =
            std::collections::HashMap::new();
        for &p in &self.orgs[o as usize].atts {
            let a = &self.atts[p as usize];
            let e = by_volunteer.entry(a.volunteer).or_default();
            if a.is_live() {
                e.0 += u64::from(a.minutes());
                e.1 += 1;
                e.2 = e.2.max(Some(a.date()));
            }
        }
        let mut out: Vec<OrgVolunteerHours> = by_volunteer
            .into_iter()
            .map(|(v, (minutes, attestations, last))| OrgVolunteerHours {
                volunteer: hex::encode(self.volunteers[v as usize].id),
                minutes,
                attestations,
                last_date: last.map(format_date),
            })
            .collect();
        out.sort_unstable_by(|a, b| a.volunteer.cmp(&b.volunteer));
        out
    }

    /// Every attestation an organization made (live and retracted), by day, then log order.
    pub fn attestations_by_org(&self, org: &str) -> Vec<AttestationInfo> {
        let Some(&o) = self.org_index.get(org) else {
            return Vec::new();
        };
        self.orgs[o as usize]
            .atts
            .iter()
            .map(|&p| self.att_info(p))
            .collect()
    }

    fn org_info(&self, o: usize) -> OrgInfo {
        let org = &self.orgs[o];
        OrgInfo {
            org: org.id.clone(),
            names: org.names.clone(),
            region: org.region.clone(),
            public_key: org.key,
            key_id: hex::encode(key_id(&org.key)),
            suspended: org.suspended_at != NONE,
            suspended_at: opt_index(org.suspended_at),
            updated_index: opt_index(org.updated_at),
            registered_index: u64::from(org.registered),
            key_history: org
                .keys
                .iter()
                .map(|&(index, public_key)| KeyHistoryEntry {
                    index: u64::from(index),
                    public_key,
                })
                .collect(),
        }
    }

    /// An organization.
    pub fn organization(&self, org: &str) -> Option<OrgInfo> {
        self.org_index.get(org).map(|&o| self.org_info(o as usize))
    }

    /// Every organization, in registration order.
    pub fn organizations(&self) -> Vec<OrgInfo> {
        (0..self.orgs.len()).map(|o| self.org_info(o)).collect()
    }

    fn activity_info(&self, p: usize) -> ActivityInfo {
        let a = &self.activities[p];
        ActivityInfo {
            activity: hex::encode(a.id),
            org: self.orgs[a.org as usize].id.clone(),
            titles: a.titles.clone(),
            category: a.category,
            place: a.place.clone(),
            from: format_date(a.from),
            to: format_date(a.to),
            index: u64::from(a.index),
        }
    }

    /// A published activity.
    pub fn activity(&self, id: &str) -> Option<ActivityInfo> {
        self.activity_index
            .get(&parse_id(id)?)
            .map(|&p| self.activity_info(p as usize))
    }

    /// An organization's activities, in publication order.
    pub fn activities_of(&self, org: &str) -> Vec<ActivityInfo> {
        let Some(&o) = self.org_index.get(org) else {
            return Vec::new();
        };
        (0..self.activities.len())
            .filter(|&p| self.activities[p].org == o)
            .map(|p| self.activity_info(p))
            .collect()
    }

    fn issuer_info(&self, p: usize) -> IssuerInfo {
        let i = &self.issuers[p];
        IssuerInfo {
            issuer: i.id.clone(),
            name: i.name.clone(),
            public_key: i.key,
            key_id: hex::encode(key_id(&i.key)),
            valid_from: i.valid_from,
            valid_until: i.valid_until,
            index: u64::from(i.index),
        }
    }

    /// A registered issuer.
    pub fn issuer(&self, id: &str) -> Option<IssuerInfo> {
        self.issuer_index
            .get(id)
            .map(|&p| self.issuer_info(p as usize))
    }

    /// Every issuer, in registration order.
    pub fn issuers(&self) -> Vec<IssuerInfo> {
        (0..self.issuers.len())
            .map(|p| self.issuer_info(p))
            .collect()
    }

    fn credential_info(&self, p: usize) -> CredentialInfo {
        let c = &self.credentials[p];
        CredentialInfo {
            credential: hex::encode(c.id),
            issuer: self.issuers[c.issuer as usize].id.clone(),
            volunteer: hex::encode(self.volunteers[c.volunteer as usize].id),
            credential_sha256: hex::encode(c.sha256),
            status_index: c.status_index,
            issued_index: u64::from(c.index),
            revoked: c.revoked.as_ref().map(|(i, r)| Revocation {
                index: u64::from(*i),
                reason: r.clone(),
            }),
        }
    }

    /// An issued credential.
    pub fn credential(&self, id: &str) -> Option<CredentialInfo> {
        self.credential_index
            .get(&parse_id(id)?)
            .map(|&p| self.credential_info(p as usize))
    }

    /// A volunteer's credentials, in issue order.
    pub fn credentials_of(&self, volunteer: &str) -> Vec<CredentialInfo> {
        let Some(v) = self.volunteer_position(volunteer) else {
            return Vec::new();
        };
        (0..self.credentials.len())
            .filter(|&p| self.credentials[p].volunteer == v)
            .map(|p| self.credential_info(p))
            .collect()
    }

    /// Every issued credential, in issue order.
    pub fn credentials(&self) -> Vec<CredentialInfo> {
        (0..self.credentials.len())
            .map(|p| self.credential_info(p))
            .collect()
    }

    /// The lowest status-list index above every one taken (0 when none is).
    pub fn next_status_index(&self) -> u64 {
        self.status_indices
            .last()
            .map_or(0, |m| m.saturating_add(1))
    }

    /// Status-list indexes of revoked credentials, ascending.
    pub fn revoked_status_indices(&self) -> Vec<u64> {
        let mut out: Vec<u64> = self
            .credentials
            .iter()
            .filter(|c| c.revoked.is_some())
            .map(|c| c.status_index)
            .collect();
        out.sort_unstable();
        out
    }

    /// Whether `id` is an enrolled volunteer.
    pub fn volunteer_exists(&self, id: &str) -> bool {
        self.volunteer_position(id).is_some()
    }

    /// Every enrolled volunteer id, in enrollment order.
    pub fn volunteers(&self) -> Vec<String> {
        self.volunteers.iter().map(|v| hex::encode(v.id)).collect()
    }
}

/// Which of an organization's attestations [`State::org_attestations`] lists: each `Some` must
/// match (dates inclusive, as days since 1970-01-01; ids as 32 lowercase hex digits).
#[derive(Debug, Clone, Copy, Default)]
pub struct AttestationFilter<'a> {
    pub volunteer: Option<&'a str>,
    pub activity: Option<&'a str>,
    pub from: Option<i32>,
    pub to: Option<i32>,
}

/// An organization's matching attestations, oldest first inside; read newest first.
#[derive(Debug)]
pub struct OrgAttestations<'s> {
    state: &'s State,
    matching: Matching<'s>,
    live_minutes: u64,
}

#[derive(Debug)]
enum Matching<'s> {
    /// A slice of the organization's sorted list: no filter but dates.
    Range(&'s [u32]),
    Positions(Vec<u32>),
}

impl OrgAttestations<'_> {
    /// How many attestations match (live and retracted).
    pub fn total(&self) -> usize {
        self.positions().len()
    }

    /// Minutes of the matching live attestations.
    pub fn live_minutes(&self) -> u64 {
        self.live_minutes
    }

    /// `take` attestations after skipping `skip`, newest day first, then newest log entry.
    pub fn page(&self, skip: usize, take: usize) -> Vec<AttestationInfo> {
        self.positions()
            .iter()
            .rev()
            .skip(skip)
            .take(take)
            .map(|&p| self.state.att_info(p))
            .collect()
    }

    fn positions(&self) -> &[u32] {
        match &self.matching {
            Matching::Range(r) => r,
            Matching::Positions(p) => p,
        }
    }
}

/// One volunteer's live hours with one organization ([`State::org_volunteer_hours`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OrgVolunteerHours {
    /// Volunteer id, 32 lowercase hex digits.
    pub volunteer: String,
    pub minutes: u64,
    pub attestations: u64,
    /// Date of the latest live attestation, `YYYY-MM-DD`.
    pub last_date: Option<String>,
}
