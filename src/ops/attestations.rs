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

use sagat_verifier::HoursAttested;

use super::attest_csv::parse_hours;

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

fn trimmed(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
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
    let minutes = match input.hours {
        HoursInput::Hours(text) => parse_hours(&text).unwrap_or_else(|e| {
            fail("hours", "minutes", e);
            0
        }),
        HoursInput::Minutes(m) if (1..=1440).contains(&m) => m,
        HoursInput::Minutes(m) => {
            fail(
                "minutes",
                "minutes",
                format!("{m} minutes is not in 1..=1440"),
            );
            0
        }
        HoursInput::Unclear => {
            fail(
                "minutes",
                "required",
                "give exactly one of minutes (a whole number) or hours (decimal or H:MM)".into(),
            );
            0
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
