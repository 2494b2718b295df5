//! The checks every request field shares, whoever sent it (CLI flag, JSON field, form input,
//! CSV column): one wording, one rule name per check.
//!
//! - **Trimming:** texts are trimmed; an optional text empty after trimming is absent.
//! - **Ids** are 32 lowercase hex digits (`id-format`), days `YYYY-MM-DD` (`date-format`),
//!   required texts non-empty (`required-text`).

use serde::Deserialize;
use utoipa::ToSchema;

use super::{Error, Result};

/// A 128-bit id (32 lowercase hex digits), or a 422 naming `field`.
pub fn check_id128(field: &str, value: &str) -> Result<()> {
    if sagat_verifier::is_valid_id128(value) {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            "id-format",
            format!("{field} {value:?} is not 32 lowercase hex digits"),
        ))
    }
}

/// A day, `YYYY-MM-DD`, or a 422 naming `field`.
pub fn check_date(field: &str, value: &str) -> Result<()> {
    sagat_verifier::parse_date(value)
        .map(|_| ())
        .map_err(|e| Error::invalid(field, "date-format", format!("{field}: {e}")))
}

/// `value` trimmed, or a 422 naming `field` when nothing is left.
pub fn required_text(field: &str, value: &str) -> Result<String> {
    let t = value.trim();
    if t.is_empty() {
        return Err(Error::invalid(
            field,
            "required-text",
            format!("{field} must not be empty"),
        ));
    }
    Ok(t.to_string())
}

/// `value` trimmed; absent when nothing is left.
pub fn optional_text(value: Option<String>) -> Option<String> {
    value
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// A reason, for suspensions, retractions and revocations.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Why (free text, no personal data).
    pub reason: String,
}

impl Reason {
    /// A reason from its text.
    pub fn new(text: impl Into<String>) -> Reason {
        Reason {
            reason: text.into(),
        }
    }

    /// The reason trimmed, or a 422 naming `reason` when it is empty.
    pub fn text(&self) -> Result<String> {
        required_text("reason", &self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_check_names_its_field_and_rule() {
        let e = check_id128("volunteer", "ABC").unwrap_err();
        assert_eq!(
            (e.problem.field.as_deref(), e.problem.rule.as_deref()),
            (Some("volunteer"), Some("id-format"))
        );
        assert!(check_id128("id", &"0a".repeat(16)).is_ok());
        let e = check_date("from", "02.01.2026").unwrap_err();
        assert_eq!(e.problem.rule.as_deref(), Some("date-format"));
        assert!(check_date("from", "2026-01-02").is_ok());
        let e = Reason::new("  ").text().unwrap_err();
        assert_eq!(
            (e.problem.field.as_deref(), e.problem.rule.as_deref()),
            (Some("reason"), Some("required-text"))
        );
        assert_eq!(Reason::new(" late ").text().unwrap(), "late");
        assert_eq!(optional_text(Some(" \t".into())), None);
        assert_eq!(optional_text(Some(" a ".into())), Some("a".into()));
    }
}
