//! The use cases' one error: a typed refusal ([`Kind`], `rule`, `field`) that every adapter
//! maps once — `http::problem` to an RFC 9457 problem document (`application/problem+json`),
//! the web pages to a message in the page's language, the CLI to a line of text.
//!
//! Every refusal names what is wrong: `field` (the request field or CSV column at fault) and
//! `rule` (a stable, documented slug such as `minutes-range` or `org-scope`), so a client can
//! act on it without parsing prose. CSV bulk uploads add `errors`: one entry per bad row.
//! The `type` URI is `https://sagat.example/problems/<slug>` (RFC 9457 §3.1.1: an identifier,
//! documented in docs/api.md, not necessarily dereferenceable).

use serde::Serialize;
use utoipa::ToSchema;

/// Base of the problem `type` URIs.
pub const PROBLEM_BASE: &str = "https://sagat.example/problems/";

/// One bad row of a CSV upload.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line number in the uploaded file (the header is line 1).
    pub line: usize,
    /// The column at fault.
    pub field: String,
    /// Rule slug.
    pub rule: String,
    /// What is wrong, in English.
    pub detail: String,
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Problem type URI.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence.
    pub detail: String,
    /// The request field at fault, if one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The rule violated (stable slug).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// For ledger rule violations: the event type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// For ledger rule violations: the event id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Row-level errors of a CSV upload.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<RowError>,
}

/// What kind of refusal an [`Error`] is: its problem type (`type` slug, title, HTTP status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// 400: the request cannot be parsed at all.
    BadRequest,
    /// 401: no or unknown credentials.
    Unauthorized,
    /// 403: this caller may not do this.
    Forbidden,
    /// 404: no such thing.
    NotFound,
    /// 409: conflicts with what is already recorded.
    Conflict,
    /// 413: too large.
    TooLarge,
    /// 415: the body's media type is not one accepted here (a JSON endpoint).
    ContentType,
    /// 415: the uploaded file is not of a format read here (an image).
    UnsupportedMediaType,
    /// 422: a field is malformed or breaks a rule of the request.
    InvalidField,
    /// 422 (403, 409, 500 by whose fault): a ledger rule is broken.
    RuleViolation,
    /// 422: rows of a CSV upload are refused.
    CsvRows,
    /// 429: too many requests.
    RateLimited,
    /// 503: every worker for this kind of job is busy.
    Busy,
    /// 503: the log's storage failed.
    Storage,
    /// 500: a file stored outside the log is damaged.
    StoredFileDamaged,
    /// 500: something broke on our side.
    Internal,
}

impl Kind {
    /// The problem type's slug (`https://sagat.example/problems/<slug>`, docs/api.md).
    pub fn slug(self) -> &'static str {
        match self {
            Kind::BadRequest => "bad-request",
            Kind::Unauthorized => "unauthorized",
            Kind::Forbidden => "forbidden",
            Kind::NotFound => "not-found",
            Kind::Conflict => "conflict",
            Kind::TooLarge => "too-large",
            Kind::ContentType => "content-type",
            Kind::UnsupportedMediaType => "unsupported-media-type",
            Kind::InvalidField => "invalid-field",
            Kind::RuleViolation => "rule-violation",
            Kind::CsvRows => "csv-rows",
            Kind::RateLimited => "rate-limited",
            Kind::Busy => "busy",
            Kind::Storage => "storage",
            Kind::StoredFileDamaged => "stored-file-damaged",
            Kind::Internal => "internal",
        }
    }

    /// The problem type's title (RFC 9457 §3.1.3: the same for every occurrence).
    pub fn title(self) -> &'static str {
        match self {
            Kind::BadRequest => "Malformed request",
            Kind::Unauthorized => "Authentication required",
            Kind::Forbidden => "Not allowed",
            Kind::NotFound => "Not found",
            Kind::Conflict => "Conflict",
            Kind::TooLarge => "Too large",
            Kind::ContentType => "Unsupported content type",
            Kind::UnsupportedMediaType => "Unsupported image format",
            Kind::InvalidField => "Invalid field",
            Kind::RuleViolation => "Ledger rule violated",
            Kind::CsvRows => "CSV rows rejected",
            Kind::RateLimited => "Too many requests",
            Kind::Busy => "Busy",
            Kind::Storage => "Storage failure",
            Kind::StoredFileDamaged => "Stored file damaged",
            Kind::Internal => "Internal error",
        }
    }

    /// The HTTP status of the problem type (a rule violation's may differ: [`Error::status`]).
    pub fn status(self) -> u16 {
        match self {
            Kind::BadRequest => 400,
            Kind::Unauthorized => 401,
            Kind::Forbidden => 403,
            Kind::NotFound => 404,
            Kind::Conflict => 409,
            Kind::TooLarge => 413,
            Kind::ContentType | Kind::UnsupportedMediaType => 415,
            Kind::InvalidField | Kind::RuleViolation | Kind::CsvRows => 422,
            Kind::RateLimited => 429,
            Kind::Busy | Kind::Storage => 503,
            Kind::StoredFileDamaged | Kind::Internal => 500,
        }
    }
}

/// The use cases' one error type (and so every handler's).
#[derive(Debug, Clone)]
pub struct Error {
    /// What kind of refusal.
    pub kind: Kind,
    /// The problem document (boxed: keeps every `Result<_, Error>` small).
    pub problem: Box<Problem>,
    /// Seconds for `Retry-After` (429, 503).
    pub retry_after: Option<u64>,
}

impl Error {
    /// A refusal of `kind` with its detail text.
    pub fn new(kind: Kind, detail: impl Into<String>) -> Self {
        Error {
            kind,
            problem: Box::new(Problem {
                type_uri: format!("{PROBLEM_BASE}{}", kind.slug()),
                title: kind.title().to_string(),
                status: kind.status(),
                detail: detail.into(),
                field: None,
                rule: None,
                event_type: None,
                event_id: None,
                errors: Vec::new(),
            }),
            retry_after: None,
        }
    }

    /// The HTTP status: the kind's, or for a rule violation the one of whose fault it is.
    pub fn status(&self) -> u16 {
        self.problem.status
    }

    /// Sets the status (a rule violation that is not about the data).
    pub fn with_status(mut self, status: u16) -> Self {
        self.problem.status = status;
        self
    }

    /// Sets the field at fault.
    pub fn field(mut self, field: &str) -> Self {
        self.problem.field = Some(field.to_string());
        self
    }

    /// Sets the rule violated.
    pub fn rule(mut self, rule: &str) -> Self {
        self.problem.rule = Some(rule.to_string());
        self
    }

    /// 422: a field is malformed or breaks a rule.
    pub fn invalid(field: &str, rule: &str, detail: impl Into<String>) -> Self {
        Error::new(Kind::InvalidField, detail)
            .field(field)
            .rule(rule)
    }

    /// 400: the body cannot be parsed at all.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Error::new(Kind::BadRequest, detail).rule("well-formed-body")
    }

    /// 401: no or unknown credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Error::new(Kind::Unauthorized, detail)
            .field("authorization")
            .rule("valid-credential")
    }

    /// 403: authenticated, but this role may not do this.
    pub fn forbidden(rule: &str, detail: impl Into<String>) -> Self {
        Error::new(Kind::Forbidden, detail).rule(rule)
    }

    /// 404.
    pub fn not_found(field: &str, detail: impl Into<String>) -> Self {
        Error::new(Kind::NotFound, detail)
            .field(field)
            .rule("exists")
    }

    /// 409: conflicts with what is already recorded.
    pub fn conflict(rule: &str, detail: impl Into<String>) -> Self {
        Error::new(Kind::Conflict, detail).rule(rule)
    }

    /// 429.
    pub fn rate_limited(retry_after: u64) -> Self {
        let mut e = Error::new(
            Kind::RateLimited,
            format!("this credential's request rate is limited; retry in {retry_after} s"),
        )
        .rule("rate-limit");
        e.retry_after = Some(retry_after);
        e
    }

    /// 500: something broke on our side; the detail is logged, not leaked.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Error::new(
            Kind::Internal,
            "the server failed while handling this request; if it was a write, it may or may not have been recorded: send it again with the same Idempotency-Key to find out",
        )
    }

    /// The log's storage failed (`rule`: `not-recorded` when nothing of the request was written
    /// — certain —, `outcome-unknown` when it was written but not confirmed by the disk): a 503
    /// with `Retry-After`, since the service recovers (a write failure on its own once storage
    /// is back; a sync failure after a restart).
    pub fn storage(rule: &str, detail: impl Into<String>) -> Self {
        let mut e = Error::new(Kind::Storage, detail).rule(rule);
        e.retry_after = Some(5);
        e
    }

    /// 500: a file this server stored outside the log (a certificate, a volunteer record) does
    /// not match the checksum recorded when it was written; it is not served. The file's path is
    /// logged, not sent; the detail names what is damaged and how.
    pub fn stored_file_damaged(what: &str, reason: &str, path: &std::path::Path) -> Self {
        tracing::error!(path = %path.display(), reason, "stored file damaged");
        Error::new(
            Kind::StoredFileDamaged,
            format!(
                "{what} stored on this server is damaged ({reason}) and is not served; the operator can list damaged files with `sagat check`"
            ),
        )
        .rule("stored-file-integrity")
    }

    /// 422 for a ledger rule violation on an event.
    pub fn violation(
        rule: &str,
        event_type: &str,
        event_id: &str,
        detail: impl Into<String>,
    ) -> Self {
        let mut e = Error::new(Kind::RuleViolation, detail).rule(rule);
        e.problem.event_type = Some(event_type.to_string());
        e.problem.event_id = Some(event_id.to_string());
        e
    }

    /// 422 for a CSV upload with bad rows (nothing appended).
    pub fn csv_rows(errors: Vec<RowError>) -> Self {
        let mut e = Error::new(
            Kind::CsvRows,
            format!(
                "{} row(s) are invalid; nothing was appended",
                errors
                    .iter()
                    .map(|r| r.line)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len()
            ),
        )
        .rule("csv-all-rows-valid");
        e.problem.errors = errors;
        e
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.problem.title, self.problem.detail)
    }
}

/// The use cases' result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
