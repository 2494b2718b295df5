//! `/metrics` (Prometheus text exposition format 0.0.4, [`crate::ops::metrics`]) and `/healthz`.

use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sagat_ledger::Health;

use super::AppState;

/// Middleware: request latency and status class.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let resp = next.run(req).await;
    state
        .metrics
        .http_seconds
        .observe(start.elapsed().as_secs_f64());
    let class = (resp.status().as_u16() / 100).clamp(2, 5) as usize - 2;
    state.metrics.http_by_class[class].fetch_add(1, Ordering::Relaxed);
    resp
}

/// The ledger's health; while a write failure is pending, probes the disk first (off the async
/// threads), so the service reports healthy again as soon as storage is back, without traffic.
pub async fn ledger_health(state: &AppState) -> Health {
    match state.app.ledger.health() {
        Health::WriteFailing { .. } => {
            let ledger = state.app.ledger.clone();
            tokio::task::spawn_blocking(move || ledger.probe_storage())
                .await
                .unwrap_or_else(|e| Health::Stopped {
                    reason: format!("the storage probe failed: {e}"),
                })
        }
        other => other,
    }
}

/// `GET /healthz`: 200 `ok <log size>` while the log's storage takes appends; 503 `unhealthy: …`
/// naming the failure after a failed write (recovers by itself once storage is back) or a
/// failed sync (needs a restart). `/metrics` says the same in `sagat_ledger_state`.
pub async fn healthz(State(state): State<AppState>) -> Response {
    let text = |status: StatusCode, body: String| {
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body,
        )
            .into_response()
    };
    match ledger_health(&state).await {
        Health::Ok => text(StatusCode::OK, format!("ok {}\n", state.app.ledger.size())),
        Health::WriteFailing { reason } => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unhealthy: writing the log fails ({reason}); appends are refused and not recorded until storage is back; the service recovers by itself\n"),
        ),
        Health::Stopped { reason } => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unhealthy: the ledger stopped after a storage failure ({reason}); restart the service to recover\n"),
        ),
        _ => text(StatusCode::SERVICE_UNAVAILABLE, "unhealthy\n".into()),
    }
}

/// `GET /metrics`.
pub async fn prometheus(State(state): State<AppState>) -> impl IntoResponse {
    let size = state.app.ledger.size();
    let health = ledger_health(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(size, &health),
    )
}
