//! Bulk attestation from CSV: `volunteer,date,hours[,activity,role,note]`.
//!
//! All rows or none: every row is parsed and checked against the ledger's rules in a dry run
//! first, and every bad row is reported with its line number and reason. Only a clean file is
//! appended, as one all-or-nothing batch (one durable group commit).

use std::io::Read;

use anyhow::{bail, Result};
use ed25519_dalek::SigningKey;

use sagat_verifier::{Event, EventBody, HoursAttested};

use crate::app::new_id;

/// One bad CSV row: 1-based line number in the file and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Line number (the header is line 1).
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// A parsed row, ready to sign.
#[derive(Debug, Clone)]
pub struct Row {
    /// Line number.
    pub line: u64,
    /// The attestation.
    pub body: HoursAttested,
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

/// Parses a CSV document for `org`: the good rows, and an error for every bad row.
pub fn parse(org: &str, input: impl Read) -> (Vec<Row>, Vec<RowError>) {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(input);
    let mut errors = Vec::new();
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            let error = RowError {
                line: 1,
                reason: format!("cannot read the header: {e}"),
            };
            return (Vec::new(), vec![error]);
        }
    };
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(c_vol), Some(c_date), Some(c_hours)) = (col("volunteer"), col("date"), col("hours"))
    else {
        let error = RowError {
            line: 1,
            reason: format!(
                "the header must start with volunteer,date,hours (optional: activity,role,note); found {:?}",
                headers.iter().collect::<Vec<_>>().join(",")
            ),
        };
        return (Vec::new(), vec![error]);
    };
    let (c_act, c_role, c_note) = (col("activity"), col("role"), col("note"));
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(RowError {
                    line,
                    reason: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let get = |c: Option<usize>| {
            c.and_then(|c| record.get(c))
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let mut reasons = Vec::new();
        let volunteer = get(Some(c_vol)).unwrap_or_default();
        if !sagat_verifier::is_valid_id128(&volunteer) {
            reasons.push(format!(
                "volunteer {volunteer:?} is not a volunteer id (32 hex digits)"
            ));
        }
        let date = get(Some(c_date)).unwrap_or_default();
        if let Err(e) = sagat_verifier::parse_date(&date) {
            reasons.push(format!("date {date:?}: {e}"));
        }
        let minutes = match parse_hours(&get(Some(c_hours)).unwrap_or_default()) {
            Ok(m) => m,
            Err(e) => {
                reasons.push(e);
                0
            }
        };
        let activity = get(c_act);
        if let Some(a) = &activity {
            if !sagat_verifier::is_valid_id128(a) {
                reasons.push(format!(
                    "activity {a:?} is not an activity id (32 hex digits)"
                ));
            }
        }
        if reasons.is_empty() {
            rows.push(Row {
                line,
                body: HoursAttested {
                    attestation: new_id(),
                    org: org.to_string(),
                    volunteer,
                    activity,
                    date,
                    minutes,
                    role: get(c_role),
                    note: get(c_note),
                },
            });
        } else {
            errors.push(RowError {
                line,
                reason: reasons.join("; "),
            });
        }
    }
    if rows.is_empty() && errors.is_empty() {
        errors.push(RowError {
            line: 2,
            reason: "the file has no rows".to_string(),
        });
    }
    (rows, errors)
}

/// Signs every row as a `HoursAttested` event.
pub fn sign_rows(rows: &[Row], key: &SigningKey, now: i64) -> Vec<Vec<u8>> {
    rows.iter()
        .map(|row| {
            let event = Event {
                v: sagat_verifier::EVENT_VERSION,
                id: row.body.attestation.clone(),
                created: now,
                body: EventBody::HoursAttested(row.body.clone()),
            };
            sagat_verifier::sign_event(&event, key)
        })
        .collect()
}

/// Prints row errors to stderr and fails.
pub fn report(errors: &[RowError]) -> Result<()> {
    for e in errors {
        eprintln!("line {}: {}", e.line, e.reason);
    }
    bail!("{} bad row(s); nothing was appended", errors.len())
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

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let vol = "0123456789abcdef0123456789abcdef";
        let csv = format!(
            "volunteer,date,hours\n{vol},2025-05-01,3\nnot-an-id,2025-05-01,3\n{vol},2025-02-30,2\n{vol},2025-05-02,30\n"
        );
        let (rows, errors) = parse("eco", csv.as_bytes());
        assert_eq!(rows.len(), 1);
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5]);
        assert!(errors[0].reason.contains("volunteer"));
        assert!(errors[1].reason.contains("date"));
        assert!(errors[2].reason.contains("minutes"));
    }

    #[test]
    fn good_file_parses_with_optional_columns() {
        let vol = "0123456789abcdef0123456789abcdef";
        let csv = format!(
            "volunteer,date,hours,activity,role,note\n{vol},2025-05-01,1.5,,steward,gate B\n"
        );
        let (rows, errors) = parse("eco", csv.as_bytes());
        assert!(errors.is_empty());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].body.minutes, 90);
        assert_eq!(rows[0].body.activity, None);
        assert_eq!(rows[0].body.role.as_deref(), Some("steward"));
    }
}
