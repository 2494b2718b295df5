//! Volunteers: enrollment (the name to the erasable directory, a random id to the log, a
//! personal access code to the volunteer), re-issuing the access code, and their hours. The
//! CLI (`sagat volunteer enroll`), the JSON API and the organization's page enroll here.

use serde::Serialize;
use utoipa::ToSchema;

use sagat_verifier::{EventBody, VolunteerEnrolled};

use super::fields::{check_id128, optional_text, required_text};
use super::organizations::refuse_if_suspended;
use super::{append, org_key, sign, Error, Ops, Result};
use crate::datadir::{new_volunteer_id, now, App};

/// Answer of an enrollment.
#[derive(Debug, Serialize, ToSchema)]
pub struct Enrolled {
    /// Volunteer id (random 128 bits).
    pub volunteer: String,
    /// Log index of `VolunteerEnrolled`.
    pub index: u64,
    /// Personal access code: shown once, only its hash is stored.
    pub access_code: String,
}

/// A volunteer's new access code.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessCode {
    /// Volunteer id.
    pub volunteer: String,
    /// The new code (earlier codes stop working).
    pub access_code: String,
}

/// Stores `name` (trimmed, required) and `contact` under a new volunteer id in the erasable
/// directory and returns the `VolunteerEnrolled` body for it (by `org`, or the operator when
/// `None`). The name is stored first: a crash after it leaves an unreferenced encrypted record,
/// never a log entry whose volunteer has no name. [`forget`] undoes it when the append fails.
pub fn enrollment(
    app: &App,
    org: Option<&str>,
    name: &str,
    contact: Option<String>,
) -> Result<(String, EventBody)> {
    let name = required_text("name", name)?;
    let id = new_volunteer_id(&app.directory);
    app.directory
        .put(
            &id,
            &sagat_ledger::VolunteerRecord {
                name,
                contact: optional_text(contact),
            },
        )
        .map_err(Error::internal)?;
    let body = EventBody::VolunteerEnrolled(VolunteerEnrolled {
        volunteer: id.clone(),
        org: org.map(str::to_string),
    });
    Ok((id, body))
}

/// Erases the name stored by [`enrollment`] for an enrollment that was not appended.
pub fn forget(app: &App, id: &str) {
    let _ = app.directory.erase(id);
}

/// Enrolls a volunteer for `org` (its server-held key signs) and issues their access code.
pub async fn enroll(ops: &Ops, org: &str, name: &str, contact: Option<String>) -> Result<Enrolled> {
    let key = org_key(&ops.app, org)?;
    let (id, body) = enrollment(&ops.app, Some(org), name, contact)?;
    let landed = match sign(&ops.app, body, &key) {
        Ok((_, bytes)) => append(ops, bytes).await,
        Err(e) => Err(e),
    };
    let landed = landed.inspect_err(|_| forget(&ops.app, &id))?;
    let access_code = ops
        .tokens
        .issue_access_code(&id, Some(org), now())
        .map_err(Error::internal)?;
    Ok(Enrolled {
        volunteer: id,
        index: landed.index,
        access_code,
    })
}

/// Re-issues `volunteer`'s access code, asked by `org` (or by the operator, with `operator`
/// true). Only the enrolling organization may, and not while suspended (403 `org-suspended`,
/// `enrolling-org`); the old code stops working and every session of the volunteer ends.
/// `id_field` is the request field that carried the volunteer id (a 404 and a 403 name it).
pub fn reissue_access_code(
    ops: &Ops,
    org: &str,
    volunteer: &str,
    operator: bool,
    id_field: &str,
) -> Result<AccessCode> {
    check_id128(id_field, volunteer)?;
    if !operator {
        refuse_if_suspended(&ops.app, org)?;
    }
    if !ops.app.ledger.read(|s| s.volunteer_exists(volunteer)) {
        return Err(Error::not_found(
            id_field,
            format!("no volunteer {volunteer}"),
        ));
    }
    let by = ops.tokens.enrolled_by(volunteer);
    if !operator && by.as_deref() != Some(org) {
        return Err(Error::forbidden(
            "enrolling-org",
            format!("volunteer {volunteer} was not enrolled by {org:?}"),
        )
        .field(id_field));
    }
    let access_code = ops
        .tokens
        .issue_access_code(volunteer, None, now())
        .map_err(Error::internal)?;
    Ok(AccessCode {
        volunteer: volunteer.to_string(),
        access_code,
    })
}

/// A volunteer's hours (total; by organization, category and year), or a 404 naming `id`.
pub fn hours(app: &App, id: &str) -> Result<sagat_ledger::VolunteerHours> {
    app.ledger
        .read(|s| s.volunteer_hours(id))
        .ok_or_else(|| Error::not_found("id", format!("no volunteer {id}")))
}

/// One volunteer of an organization's roster.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RosterEntry {
    /// Volunteer id.
    pub volunteer: String,
    /// Name from the erasable directory; `None` once erased.
    pub name: Option<String>,
    /// Whether this organization enrolled the volunteer (it may then re-issue the code).
    pub enrolled_here: bool,
    /// Minutes this organization attested (live attestations).
    pub minutes: u64,
    /// Live attestations by this organization.
    pub attestations: u64,
    /// Day of the latest live attestation by this organization.
    pub last_date: Option<String>,
}

/// `org`'s roster: the volunteers it enrolled or attested, by name (case-insensitive; erased
/// names last), each with the hours it attested. `search` keeps those whose name contains it
/// (case-insensitive) or whose id starts with it. Names stay outside the log: they come from the
/// erasable directory, one read per volunteer.
pub fn roster(ops: &Ops, org: &str, search: Option<&str>) -> Vec<RosterEntry> {
    use std::collections::BTreeMap;
    let mut by_id: BTreeMap<String, RosterEntry> = BTreeMap::new();
    let blank = |volunteer: &str| RosterEntry {
        volunteer: volunteer.to_string(),
        name: None,
        enrolled_here: false,
        minutes: 0,
        attestations: 0,
        last_date: None,
    };
    for v in ops.tokens.enrolled_by_org(org) {
        by_id
            .entry(v.clone())
            .or_insert_with(|| blank(&v))
            .enrolled_here = true;
    }
    for h in ops.app.ledger.read(|s| s.org_volunteer_hours(org)) {
        let e = by_id
            .entry(h.volunteer.clone())
            .or_insert_with(|| blank(&h.volunteer));
        e.minutes = h.minutes;
        e.attestations = h.attestations;
        e.last_date = h.last_date;
    }
    let needle = search
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty());
    let mut out: Vec<RosterEntry> = by_id
        .into_values()
        .map(|mut e| {
            e.name = ops
                .app
                .directory
                .get(&e.volunteer)
                .ok()
                .flatten()
                .map(|r| r.name);
            e
        })
        .filter(|e| match &needle {
            None => true,
            Some(n) => {
                e.volunteer.starts_with(n.as_str())
                    || e.name
                        .as_deref()
                        .is_some_and(|name| name.to_lowercase().contains(n.as_str()))
            }
        })
        .collect();
    out.sort_by_cached_key(|e| (e.name.is_none(), e.name.as_deref().map(str::to_lowercase)));
    out
}

/// One of a volunteer's own attestations, as they read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EntryView {
    /// Attestation id (to quote when reporting a wrong one).
    pub attestation: String,
    /// Log index of `HoursAttested`.
    pub index: u64,
    /// Day worked (after corrections).
    pub date: String,
    /// Organization id.
    pub org: String,
    /// Activity id, if any.
    pub activity: Option<String>,
    /// Category (wire name) of the activity; absent without one.
    pub category: Option<String>,
    /// Minutes (after corrections).
    pub minutes: u32,
    /// Whether the organization corrected it.
    pub corrected: bool,
}

/// Volunteer `id`'s live attestations, newest day first (a 404 naming `id` when not enrolled).
pub fn entries(app: &App, id: &str) -> Result<Vec<EntryView>> {
    let (exists, live) = app
        .ledger
        .read(|s| (s.volunteer_exists(id), s.live_attestations(id)));
    if !exists {
        return Err(Error::not_found("id", format!("no volunteer {id}")));
    }
    let mut out: Vec<EntryView> = live
        .into_iter()
        .map(|a| EntryView {
            attestation: a.attestation,
            index: a.index,
            date: a.date,
            org: a.org,
            activity: a.activity,
            category: a.category.map(|c| c.as_str().to_string()),
            minutes: a.minutes,
            corrected: a.corrected_at.is_some(),
        })
        .collect();
    out.sort_by(|a, b| b.date.cmp(&a.date).then(b.index.cmp(&a.index)));
    Ok(out)
}
