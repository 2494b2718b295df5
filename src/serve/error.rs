//! Errors as RFC 9457 problem details (`application/problem+json`).
//!
//! Every refusal names what is wrong: `field` (the request field or CSV column at fault) and
//! `rule` (a stable, documented slug such as `minutes-range` or `org-scope`), so a client can
//! act on it without parsing prose. CSV bulk uploads add `errors`: one entry per bad row.
//! The `type` URI is `https://sagat.example/problems/<slug>` (RFC 9457 §3.1.1: an identifier,
//! documented in docs/api.md, not necessarily dereferenceable).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
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

/// The error type of every handler.
#[derive(Debug, Clone)]
pub struct AppError {
    /// HTTP status.
    pub status: StatusCode,
    /// The problem document (boxed: keeps every `Result<_, AppError>` small).
    pub problem: Box<Problem>,
    /// Seconds for `Retry-After` (429).
    pub retry_after: Option<u64>,
}

impl AppError {
    /// A problem with `status`, type slug and title, and detail text.
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        AppError {
            status,
            problem: Box::new(Problem {
                type_uri: format!("{PROBLEM_BASE}{slug}"),
                title: title.to_string(),
                status: status.as_u16(),
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
        AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            "Invalid field",
            detail,
        )
        .field(field)
        .rule(rule)
    }

    /// 400: the body cannot be parsed at all.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Malformed request",
            detail,
        )
        .rule("well-formed-body")
    }

    /// 401: no or unknown credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        AppError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
            detail,
        )
        .field("authorization")
        .rule("valid-credential")
    }

    /// 403: authenticated, but this role may not do this.
    pub fn forbidden(rule: &str, detail: impl Into<String>) -> Self {
        AppError::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed", detail).rule(rule)
    }

    /// 404.
    pub fn not_found(field: &str, detail: impl Into<String>) -> Self {
        AppError::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
            .field(field)
            .rule("exists")
    }

    /// 409: conflicts with what is already recorded.
    pub fn conflict(rule: &str, detail: impl Into<String>) -> Self {
        AppError::new(StatusCode::CONFLICT, "conflict", "Conflict", detail).rule(rule)
    }

    /// 429.
    pub fn rate_limited(retry_after: u64) -> Self {
        let mut e = AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            format!("this credential's request rate is limited; retry in {retry_after} s"),
        )
        .rule("rate-limit");
        e.retry_after = Some(retry_after);
        e
    }

    /// 500: something broke on our side; the detail is logged, not leaked.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the server failed while handling this request; if it was a write, it may or may not have been recorded: send it again with the same Idempotency-Key to find out",
        )
    }

    /// The log's storage failed (`rule`: `not-recorded` when nothing of the request was written
    /// — certain —, `outcome-unknown` when it was written but not confirmed by the disk): a 503
    /// with `Retry-After`, since the service recovers (a write failure on its own once storage
    /// is back; a sync failure after a restart).
    pub fn storage(rule: &str, detail: impl Into<String>) -> Self {
        let mut e = AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage",
            "Storage failure",
            detail,
        )
        .rule(rule);
        e.retry_after = Some(5);
        e
    }

    /// 500: a file this server stored outside the log (a certificate, a volunteer record) does
    /// not match the checksum recorded when it was written; it is not served. The file's path is
    /// logged, not sent; the detail names what is damaged and how.
    pub fn stored_file_damaged(what: &str, reason: &str, path: &std::path::Path) -> Self {
        tracing::error!(path = %path.display(), reason, "stored file damaged");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "stored-file-damaged",
            "Stored file damaged",
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
        let mut e = AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rule-violation",
            "Ledger rule violated",
            detail,
        )
        .rule(rule);
        e.problem.event_type = Some(event_type.to_string());
        e.problem.event_id = Some(event_id.to_string());
        e
    }

    /// 422 for a CSV upload with bad rows (nothing appended).
    pub fn csv_rows(errors: Vec<RowError>) -> Self {
        let mut e = AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "csv-rows",
            "CSV rows rejected",
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

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.problem.title, self.problem.detail)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem).unwrap_or_default();
        let mut resp = (self.status, body).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sagat\""),
            );
        }
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                h.insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, AppError>;
