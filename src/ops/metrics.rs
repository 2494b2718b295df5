//! The service's counters and their Prometheus text (exposition format 0.0.4), served by
//! `http::metrics` at `/metrics`.
//!
//! Hand-rolled atomics rather than a metrics crate: a handful of counters and three histograms
//! are all the issue asks for, and this keeps the exposition exactly as documented in
//! docs/api.md.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use sagat_ledger::Health;

/// A fixed-bucket histogram.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    sum_micro: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: (0..bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micro: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    /// Records one observation.
    pub fn observe(&self, v: f64) {
        for (i, b) in self.bounds.iter().enumerate() {
            if v <= *b {
                self.counts[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.sum_micro
            .fetch_add((v * 1e6) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, b) in self.bounds.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{b}\"}} {}",
                self.counts[i].load(Ordering::Relaxed)
            );
        }
        let n = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {n}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.sum_micro.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {n}");
    }
}

const SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
const SIZES: &[f64] = &[1.0, 2.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 10000.0];

/// The service's counters.
#[derive(Debug)]
pub struct Metrics {
    /// Entries appended (new).
    pub appended: AtomicU64,
    /// Appends answered as idempotent duplicates.
    pub duplicates: AtomicU64,
    /// Appends refused by a rule.
    pub rejected: AtomicU64,
    /// Entries per append call (1 for single, n for CSV/batch).
    pub batch_size: Histogram,
    /// Append latency (seconds, including the durable commit).
    pub append_seconds: Histogram,
    /// HTTP request latency.
    pub http_seconds: Histogram,
    /// HTTP responses by class: 2xx, 3xx, 4xx, 5xx.
    pub http_by_class: [AtomicU64; 4],
    /// Verification verdicts: valid, revoked, expired, invalid.
    pub verify: [AtomicU64; 4],
    /// Appends that failed on storage (disk full, I/O error, stopped ledger).
    pub storage_failures: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            appended: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            batch_size: Histogram::new(SIZES),
            append_seconds: Histogram::new(SECONDS),
            http_seconds: Histogram::new(SECONDS),
            http_by_class: Default::default(),
            verify: Default::default(),
            storage_failures: AtomicU64::new(0),
        }
    }
}

/// Verdict labels of `sagat_verify_total`, index-aligned with [`Metrics::verify`].
pub const VERDICTS: [&str; 4] = ["valid", "revoked", "expired", "invalid"];

impl Metrics {
    /// Counts one verification verdict by label (unknown labels count as `invalid`).
    pub fn count_verdict(&self, label: &str) {
        let i = VERDICTS.iter().position(|v| *v == label).unwrap_or(3);
        self.verify[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Prometheus text.
    pub fn render(&self, log_size: u64, health: &Health) -> String {
        let mut out = String::new();
        let c = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        c(
            &mut out,
            "sagat_appends_total",
            "Log entries appended through the service.",
            self.appended.load(Ordering::Relaxed),
        );
        c(
            &mut out,
            "sagat_append_duplicates_total",
            "Appends answered idempotently with the original index.",
            self.duplicates.load(Ordering::Relaxed),
        );
        c(
            &mut out,
            "sagat_append_rejected_total",
            "Appends refused by a ledger rule.",
            self.rejected.load(Ordering::Relaxed),
        );
        c(
            &mut out,
            "sagat_append_storage_failures_total",
            "Appends that failed on storage (disk full, I/O error, stopped ledger).",
            self.storage_failures.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP sagat_log_size Entries in the log.\n# TYPE sagat_log_size gauge\nsagat_log_size {log_size}"
        );
        let (healthy, state, reason) = match health {
            Health::Ok => (1, "ok", String::new()),
            Health::WriteFailing { reason } => (0, "write_failing", reason.clone()),
            Health::Stopped { reason } => (0, "stopped", reason.clone()),
            _ => (0, "unknown", String::new()),
        };
        let escaped = reason
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = writeln!(
            out,
            "# HELP sagat_ledger_healthy 1 while the log's storage takes appends, 0 after a storage failure (see sagat_ledger_state).\n# TYPE sagat_ledger_healthy gauge\nsagat_ledger_healthy {healthy}\n# HELP sagat_ledger_state The ledger's storage state (ok, write_failing: recovers by itself once storage is back; stopped: needs a restart) and the last failure.\n# TYPE sagat_ledger_state gauge\nsagat_ledger_state{{state=\"{state}\",reason=\"{escaped}\"}} 1"
        );
        self.batch_size.render(
            &mut out,
            "sagat_append_batch_size",
            "Entries per append request.",
        );
        self.append_seconds.render(
            &mut out,
            "sagat_append_duration_seconds",
            "Append latency until durable.",
        );
        self.http_seconds.render(
            &mut out,
            "sagat_http_request_duration_seconds",
            "HTTP request latency.",
        );
        let _ = writeln!(
            out,
            "# HELP sagat_http_responses_total HTTP responses by status class.\n# TYPE sagat_http_responses_total counter"
        );
        for (i, class) in ["2xx", "3xx", "4xx", "5xx"].iter().enumerate() {
            let _ = writeln!(
                out,
                "sagat_http_responses_total{{class=\"{class}\"}} {}",
                self.http_by_class[i].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP sagat_verify_total Credential verifications by verdict.\n# TYPE sagat_verify_total counter"
        );
        for (i, v) in VERDICTS.iter().enumerate() {
            let _ = writeln!(
                out,
                "sagat_verify_total{{verdict=\"{v}\"}} {}",
                self.verify[i].load(Ordering::Relaxed)
            );
        }
        out
    }
}
