//! Attesting hours: the one way a stated attestation becomes a `HoursAttested` body, for the
//! CLI (`sagat attest`), the JSON API (`POST /api/v1/orgs/{org}/attestations`), the CSV upload
//! (CLI and API) and the web form. Each adapter only turns what it was given into an
//! [`AttestInput`]; the trimming, the checks, their field and rule names and the id convention
//! live here.
//!
//! - **Trimming:** every text is trimmed; an optional text that is empty after trimming is
//!   absent.
//! - **Ids:** the attestation id is the event id (one id names both): fresh random ids for the
//!   CLI, derived from the request's idempotency key for the API and the web forms
//!   ([`super::event_ids`]).
//! - **Checks** before anything is signed, in the order of the fields, every one reported:
//!   `volunteer` and `activity` `id-format`, `date` `date-format`, `hours`/`minutes` `minutes`
//!   (or `required` when neither or both are given). The ledger checks the rest on append.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use sagat_ledger::AttestationFilter;
use sagat_verifier::{AttestationCorrected, AttestationRetracted, EventBody, HoursAttested};

use super::fields::{check_date, check_id128, Reason};
use super::{append_one, event_ids, Created, IdempotencyKey, Ops};
use crate::datadir::App;

/// The hours of an attestation as stated: whole minutes (JSON `minutes`, the web form) or
/// hours as text (`1.5`, `1:30`: the CLI, the CSV `hours` column, JSON `hours`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoursInput {
    /// Whole minutes.
    Minutes(u32),
    /// Decimal hours or `H:MM`, as text.
    Hours(String),
    /// Neither given, or both (a request the caller must fix).
    Unclear,
}

/// One attestation as an adapter was given it, before any check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestInput {
    /// Volunteer id (32 hex digits).
    pub volunteer: String,
    /// Day worked, `YYYY-MM-DD`.
    pub date: String,
    /// How long.
    pub hours: HoursInput,
    /// Activity id, if any.
    pub activity: Option<String>,
    /// Role, if any.
    pub role: Option<String>,
    /// Note, if any.
    pub note: Option<String>,
}

/// One refused field of an attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRefusal {
    /// The field (`volunteer`, `date`, `hours`, `minutes`, `activity`).
    pub field: &'static str,
    /// The rule (`id-format`, `date-format`, `minutes`, `required`).
    pub rule: &'static str,
    /// What is wrong.
    pub reason: String,
}

use super::fields::optional_text as trimmed;

impl HoursInput {
    /// The hours of a JSON request: exactly one of `minutes` and `hours`.
    pub fn of_json(minutes: Option<u32>, hours: Option<f64>) -> HoursInput {
        match (minutes, hours) {
            (Some(m), None) => HoursInput::Minutes(m),
            (None, Some(h)) => HoursInput::Hours(h.to_string()),
            _ => HoursInput::Unclear,
        }
    }
}

/// Parses decimal hours (`3.5`, `2`, `0.25`, or `H:MM`) into whole minutes.
pub fn parse_hours(text: &str) -> Result<u32, String> {
    let t = text.trim();
    let minutes = if let Some((h, m)) = t.split_once(':') {
        let h: u32 = h.parse().map_err(|_| format!("hours {t:?} is not H:MM"))?;
        let m: u32 = m.parse().map_err(|_| format!("hours {t:?} is not H:MM"))?;
        if m >= 60 {
            return Err(format!("hours {t:?}: minutes must be below 60"));
        }
        h.saturating_mul(60).saturating_add(m) as f64
    } else {
        let h: f64 = t
            .replace(',', ".")
            .parse()
            .map_err(|_| format!("hours {t:?} is not a number"))?;
        if !h.is_finite() {
            return Err(format!("hours {t:?} is not a number"));
        }
        (h * 60.0).round()
    };
    if !(1.0..=1440.0).contains(&minutes) {
        return Err(format!(
            "hours {t:?} is {minutes} minutes; it must be between 1 minute and 24 hours"
        ));
    }
    Ok(minutes as u32)
}

/// The whole minutes of `hours` (1..=1440), or the refused field: `hours` for text that is not
/// hours, `minutes` out of range, or `minutes` `required` when neither or both were given.
pub fn minutes_of(hours: HoursInput) -> Result<u32, FieldRefusal> {
    let refuse = |field, rule, reason: String| FieldRefusal {
        field,
        rule,
        reason,
    };
    match hours {
        HoursInput::Hours(text) => parse_hours(&text).map_err(|e| refuse("hours", "minutes", e)),
        HoursInput::Minutes(m) if (1..=1440).contains(&m) => Ok(m),
        HoursInput::Minutes(m) => Err(refuse(
            "minutes",
            "minutes",
            format!("{m} minutes is not in 1..=1440"),
        )),
        HoursInput::Unclear => Err(refuse(
            "minutes",
            "required",
            "give exactly one of minutes (a whole number) or hours (decimal or H:MM)".into(),
        )),
    }
}

impl From<FieldRefusal> for super::Error {
    fn from(r: FieldRefusal) -> super::Error {
        super::Error::invalid(r.field, r.rule, r.reason)
    }
}

/// The `HoursAttested` body of `input` for `org`, with attestation id `id`; or every refused
/// field, in field order (never empty).
pub fn hours_attested(
    org: &str,
    input: AttestInput,
    id: String,
) -> Result<HoursAttested, Vec<FieldRefusal>> {
    let mut refused = Vec::new();
    let mut fail = |field, rule, reason: String| {
        refused.push(FieldRefusal {
            field,
            rule,
            reason,
        })
    };
    let volunteer = input.volunteer.trim().to_string();
    if !sagat_verifier::is_valid_id128(&volunteer) {
        fail(
            "volunteer",
            "id-format",
            format!("volunteer {volunteer:?} is not a volunteer id (32 hex digits)"),
        );
    }
    let date = input.date.trim().to_string();
    if let Err(e) = sagat_verifier::parse_date(&date) {
        fail("date", "date-format", format!("date {date:?}: {e}"));
    }
    let minutes = minutes_of(input.hours).unwrap_or_else(|r| {
        refused.push(r);
        0
    });
    let mut fail = |field, rule, reason: String| {
        refused.push(FieldRefusal {
            field,
            rule,
            reason,
        })
    };
    let activity = trimmed(input.activity);
    if let Some(a) = &activity {
        if !sagat_verifier::is_valid_id128(a) {
            fail(
                "activity",
                "id-format",
                format!("activity {a:?} is not an activity id (32 hex digits)"),
            );
        }
    }
    if !refused.is_empty() {
        return Err(refused);
    }
    Ok(HoursAttested {
        attestation: id,
        org: org.to_string(),
        volunteer,
        activity,
        date,
        minutes,
        role: trimmed(input.role).map(Into::into),
        note: trimmed(input.note).map(Into::into),
    })
}

/// [`hours_attested`] for a single request: its first refused field as the use cases' error
/// (the reasons of all of them in the detail).
pub fn hours_attested_or_error(
    org: &str,
    input: AttestInput,
    id: String,
) -> super::Result<HoursAttested> {
    hours_attested(org, input, id).map_err(|refused| {
        let detail = refused
            .iter()
            .map(|r| r.reason.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        super::Error::invalid(refused[0].field, refused[0].rule, detail)
    })
}

/// Body of `POST /api/v1/orgs/{org}/attestations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attest {
    /// Volunteer id.
    pub volunteer: String,
    /// Day worked, YYYY-MM-DD.
    pub date: String,
    /// Minutes (1..=1440); or give `hours`.
    pub minutes: Option<u32>,
    /// Hours (decimal); or give `minutes`.
    pub hours: Option<f64>,
    /// Activity id.
    pub activity: Option<String>,
    /// Role.
    pub role: Option<String>,
    /// Note (no personal data).
    pub note: Option<String>,
}

impl From<Attest> for AttestInput {
    fn from(req: Attest) -> Self {
        AttestInput {
            volunteer: req.volunteer,
            date: req.date,
            hours: HoursInput::of_json(req.minutes, req.hours),
            activity: req.activity,
            role: req.role,
            note: req.note,
        }
    }
}

/// Attests hours signed with `org`'s server-held key (API and page); the attestation id is the
/// event id, derived from `key` when there is one.
pub async fn attest(
    ops: &Ops,
    org: &str,
    input: AttestInput,
    key: Option<&IdempotencyKey>,
) -> super::Result<Created> {
    let id = event_ids(key, org, "attest", 1).remove(0);
    let body = hours_attested_or_error(org, input, id.clone())?;
    append_one(ops, org, id, EventBody::HoursAttested(body)).await
}

/// A correction: the day and hours an attestation should have said, and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Correct {
    /// New day worked.
    pub date: String,
    /// New minutes; or `hours`.
    pub minutes: Option<u32>,
    /// New hours; or `minutes`.
    pub hours: Option<f64>,
    /// Why.
    pub reason: String,
}

/// A correction as an adapter was given it, before any check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectInput {
    /// New day worked.
    pub date: String,
    /// New hours.
    pub hours: HoursInput,
    /// Why.
    pub reason: Reason,
}

impl From<Correct> for CorrectInput {
    fn from(req: Correct) -> Self {
        CorrectInput {
            date: req.date,
            hours: HoursInput::of_json(req.minutes, req.hours),
            reason: Reason::new(req.reason),
        }
    }
}

/// The `AttestationCorrected` body of `org`'s attestation `id` (checked like an attestation:
/// `id`, `date`, `hours`/`minutes`, `reason`).
pub fn correction(org: &str, id: &str, input: CorrectInput) -> super::Result<EventBody> {
    check_id128("id", id)?;
    let date = input.date.trim();
    check_date("date", date)?;
    let minutes = minutes_of(input.hours)?;
    Ok(EventBody::AttestationCorrected(AttestationCorrected {
        attestation: id.to_string(),
        org: org.to_string(),
        date: date.to_string(),
        minutes,
        reason: input.reason.text()?.into(),
    }))
}

/// The `AttestationRetracted` body of `org`'s attestation `id`.
pub fn retraction(org: &str, id: &str, reason: &Reason) -> super::Result<EventBody> {
    check_id128("id", id)?;
    Ok(EventBody::AttestationRetracted(AttestationRetracted {
        attestation: id.to_string(),
        org: org.to_string(),
        reason: reason.text()?.into(),
    }))
}

/// Corrects `org`'s attestation `id` with its server-held key (API and page).
pub async fn correct(
    ops: &Ops,
    org: &str,
    id: &str,
    input: CorrectInput,
    key: Option<&IdempotencyKey>,
) -> super::Result<Created> {
    let body = correction(org, id, input)?;
    let event = event_ids(key, org, "correct", 1).remove(0);
    append_one(ops, org, event, body).await
}

/// Retracts `org`'s attestation `id` with its server-held key (API and page).
pub async fn retract(
    ops: &Ops,
    org: &str,
    id: &str,
    reason: &Reason,
    key: Option<&IdempotencyKey>,
) -> super::Result<Created> {
    let body = retraction(org, id, reason)?;
    let event = event_ids(key, org, "retract", 1).remove(0);
    append_one(ops, org, event, body).await
}

/// One attestation as its organization sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttestationView {
    /// Attestation id.
    pub attestation: String,
    /// Log index of `HoursAttested`.
    pub index: u64,
    /// Volunteer id.
    pub volunteer: String,
    /// Activity id.
    pub activity: Option<String>,
    /// Category of the activity (wire name); absent without an activity.
    pub category: Option<String>,
    /// Day (after corrections).
    pub date: String,
    /// Minutes (after corrections).
    pub minutes: u32,
    /// Whether it was corrected.
    pub corrected: bool,
    /// Whether it was retracted.
    pub retracted: bool,
}

/// Which of an organization's attestations to list, and which page of them. Every filter is
/// optional; dates are inclusive, `YYYY-MM-DD`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttestationQuery {
    /// Only this volunteer's.
    pub volunteer: Option<String>,
    /// Only this activity's.
    pub activity: Option<String>,
    /// Only days on or after this one.
    pub from: Option<String>,
    /// Only days on or before this one.
    pub to: Option<String>,
    /// Page number, from 1 (default 1).
    pub page: Option<usize>,
    /// Rows per page (1..=1000); absent: every row on one page.
    pub per_page: Option<usize>,
}

/// Most rows a page may ask for.
pub const MAX_PER_PAGE: usize = 1000;

/// One page of an organization's attestations, newest day first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttestationPage {
    /// Attestations that match the filters (all pages).
    pub total: usize,
    /// Minutes of the live ones among them (all pages).
    pub live_minutes: u64,
    /// This page's number, from 1.
    pub page: usize,
    /// Number of pages (at least 1).
    pub pages: usize,
    /// This page's rows.
    pub rows: Vec<AttestationView>,
}

fn optional_filter<'a>(
    field: &'static str,
    value: &'a Option<String>,
    check: fn(&str, &str) -> super::Result<()>,
) -> super::Result<Option<&'a str>> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => check(field, v).map(|()| Some(v)),
        None => Ok(None),
    }
}

/// The attestations `org` made (live, corrected and retracted) that match `q`, newest day
/// first (then newest entry first), one page of them; 422 naming the filter that is not an id
/// or a date, or a page size out of range.
pub fn list(app: &App, org: &str, q: &AttestationQuery) -> super::Result<AttestationPage> {
    let volunteer = optional_filter("volunteer", &q.volunteer, check_id128)?;
    let activity = optional_filter("activity", &q.activity, check_id128)?;
    let from = optional_filter("from", &q.from, check_date)?;
    let to = optional_filter("to", &q.to, check_date)?;
    if let Some(n) = q.per_page.filter(|n| !(1..=MAX_PER_PAGE).contains(n)) {
        return Err(super::Error::invalid(
            "per_page",
            "page-size",
            format!("per_page {n} is not in 1..={MAX_PER_PAGE}"),
        ));
    }
    let filter = AttestationFilter {
        volunteer,
        activity,
        from: from.and_then(|d| sagat_verifier::parse_date(d).ok()),
        to: to.and_then(|d| sagat_verifier::parse_date(d).ok()),
    };
    // One page under the read lock: O(page) without a volunteer or activity filter, so a
    // listing never holds appends up for long (docs/ledger.md, "What the ledger costs").
    let (total, live_minutes, page, pages, infos) = app.ledger.read(|s| {
        let matching = s.org_attestations(org, &filter);
        let total = matching.total();
        let per_page = q.per_page.unwrap_or(total.max(1));
        let pages = total.div_ceil(per_page).max(1);
        let page = q.page.unwrap_or(1).clamp(1, pages);
        let infos = matching.page((page - 1) * per_page, per_page);
        (total, matching.live_minutes(), page, pages, infos)
    });
    let rows = infos
        .into_iter()
        .map(|info| {
            let a = info.attestation;
            AttestationView {
                attestation: a.attestation,
                index: a.index,
                volunteer: a.volunteer,
                activity: a.activity,
                category: a.category.map(|c| c.as_str().to_string()),
                date: a.date,
                minutes: a.minutes,
                corrected: a.corrected_at.is_some(),
                retracted: info.retracted_at.is_some(),
            }
        })
        .collect();
    Ok(AttestationPage {
        total,
        live_minutes,
        page,
        pages,
        rows,
    })
}

/// `org`'s live hours as CSV for its own reports, one row per (month, volunteer, activity):
/// `month,volunteer,name,activity,activity_title,category,attestations,minutes,hours`
/// (`hours` as `H:MM`; the name from the erasable directory, empty once erased; the activity's
/// English title; `uncategorized` without an activity), sorted by month, then name.
pub fn hours_csv(app: &App, org: &str) -> super::Result<Vec<u8>> {
    use std::collections::BTreeMap;
    let (atts, titles): (Vec<_>, BTreeMap<String, String>) = app.ledger.read(|s| {
        let titles = s
            .activities_of(org)
            .into_iter()
            .map(|a| (a.activity, a.titles.get("en").to_string()))
            .collect();
        (s.attestations_by_org(org), titles)
    });
    // (month, volunteer, activity) → (category, attestations, minutes)
    let mut groups: BTreeMap<(String, String, String), (String, u64, u64)> = BTreeMap::new();
    for info in atts.into_iter().filter(|i| i.retracted_at.is_none()) {
        let a = info.attestation;
        let month = a.date.get(..7).unwrap_or(&a.date).to_string();
        let category = a
            .category
            .map_or("uncategorized", |c| c.as_str())
            .to_string();
        let g = groups
            .entry((month, a.volunteer, a.activity.unwrap_or_default()))
            .or_insert((category, 0, 0));
        g.1 += 1;
        g.2 += u64::from(a.minutes);
    }
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut rows: Vec<_> = groups
        .into_iter()
        .map(|((month, volunteer, activity), (category, n, minutes))| {
            let name = names
                .entry(volunteer.clone())
                .or_insert_with(|| {
                    app.directory
                        .get(&volunteer)
                        .ok()
                        .flatten()
                        .map(|r| r.name)
                        .unwrap_or_default()
                })
                .clone();
            (month, name, volunteer, activity, category, n, minutes)
        })
        .collect();
    rows.sort();
    let mut w = csv::Writer::from_writer(Vec::new());
    let write = |w: &mut csv::Writer<Vec<u8>>, r: &[&str]| {
        w.write_record(r).map_err(super::Error::internal)
    };
    write(
        &mut w,
        &[
            "month",
            "volunteer",
            "name",
            "activity",
            "activity_title",
            "category",
            "attestations",
            "minutes",
            "hours",
        ],
    )?;
    for (month, name, volunteer, activity, category, n, minutes) in &rows {
        let title = titles.get(activity).map(String::as_str).unwrap_or("");
        write(
            &mut w,
            &[
                month,
                volunteer,
                name,
                activity,
                title,
                category,
                &n.to_string(),
                &minutes.to_string(),
                &format!("{}:{:02}", minutes / 60, minutes % 60),
            ],
        )?;
    }
    w.into_inner().map_err(super::Error::internal)
}

/// Every attestation `org` made, newest day first (the API's listing without a page).
pub fn of_org(app: &App, org: &str) -> Vec<AttestationView> {
    list(app, org, &AttestationQuery::default())
        .map(|p| p.rows)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_parse_to_minutes() {
        assert_eq!(parse_hours("3.5"), Ok(210));
        assert_eq!(parse_hours("2"), Ok(120));
        assert_eq!(parse_hours("1:15"), Ok(75));
        assert_eq!(parse_hours("0,5"), Ok(30));
        assert!(parse_hours("0").is_err());
        assert!(parse_hours("25").is_err());
        assert!(parse_hours("abc").is_err());
        assert!(parse_hours("1:75").is_err());
    }

    fn input(hours: HoursInput) -> AttestInput {
        AttestInput {
            volunteer: format!(" {} ", "ab".repeat(16)),
            date: "2026-01-02".into(),
            hours,
            activity: Some("  ".into()),
            role: Some(" steward ".into()),
            note: Some("".into()),
        }
    }

    #[test]
    fn texts_are_trimmed_and_empty_ones_absent() {
        let body =
            hours_attested("org-a", input(HoursInput::Hours("1:30".into())), "x".into()).unwrap();
        assert_eq!(body.volunteer, "ab".repeat(16));
        assert_eq!(body.minutes, 90);
        assert_eq!(body.activity, None);
        assert_eq!(body.role, Some("steward".to_string().into()));
        assert_eq!(body.note, None);
        assert_eq!(body.attestation, "x");
        let same = hours_attested("org-a", input(HoursInput::Minutes(90)), "x".into()).unwrap();
        assert_eq!(same, body);
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = AttestInput {
            volunteer: "nobody".into(),
            date: "02.01.2026".into(),
            hours: HoursInput::Minutes(0),
            activity: Some("x".into()),
            role: None,
            note: None,
        };
        let refused = hours_attested("org-a", bad, "x".into()).unwrap_err();
        let named: Vec<_> = refused.iter().map(|r| (r.field, r.rule)).collect();
        assert_eq!(
            named,
            [
                ("volunteer", "id-format"),
                ("date", "date-format"),
                ("minutes", "minutes"),
                ("activity", "id-format")
            ]
        );
        let e =
            hours_attested_or_error("org-a", input(HoursInput::Unclear), "x".into()).unwrap_err();
        assert_eq!(e.problem.field.as_deref(), Some("minutes"));
        assert_eq!(e.problem.rule.as_deref(), Some("required"));
    }
}
