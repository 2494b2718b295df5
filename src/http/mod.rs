//! `sagat serve`: the HTTP API (`/api/v1`), the C2SP tlog-tiles read API (`/log/`), the
//! server-rendered web pages, and operations endpoints (`/healthz`, `/metrics`).
//!
//! Design decisions:
//! - **Group-committing ledger, async server.** Single appends go through
//!   `Ledger::append_checked_then`: the entry is decoded on the reactor, and the ledger's syncer
//!   answers a oneshot channel once the group commit is durable, so many concurrent requests
//!   share one fsync without a thread parked per request. Slower ledger work (signing with a
//!   held key, batches, PDFs) runs through [`tokio::task::spawn_blocking`].
//! - **Graceful shutdown.** On SIGINT/SIGTERM the listener stops accepting, in-flight requests
//!   (and so in-flight appends) run to completion and get their answer, then the ledger is
//!   dropped, which flushes and closes it. Nothing acknowledged is lost: an acknowledgement is
//!   only ever sent after the append is durable.
//! - **One error shape.** Every refusal is the use cases' [`crate::ops::Error`], turned into an
//!   RFC 9457 problem document naming the field and the rule in one place ([`problem`]).
//! - **Roles** ([`auth::Caller`]): operator and organization bearer tokens, volunteer sessions
//!   (cookie, from a personal access code); see [`crate::datadir::tokens`] for how secrets are stored.
//! - **Server-held organization keys** live in `DATA/orgkeys/<org>.key` (PKCS#8, mode 0600) and
//!   are only ever read to sign that organization's web-form events; no endpoint returns them.

pub mod api;
pub mod auth;
pub mod demo;
pub mod headers;
pub mod logtiles;
pub mod metrics;
pub mod once;
pub mod problem;
pub mod ratelimit;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::extract::DefaultBodyLimit;
use axum::Router;
use tower_http::trace::TraceLayer;

use crate::datadir::tokens::{Kind, Role};
use crate::datadir::App;
use crate::ops;

/// Options of `sagat serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Listen address (`--addr`, default 127.0.0.1:8080).
    pub addr: SocketAddr,
    /// Seed the demo data set on start (`--demo`).
    pub demo: bool,
    /// Requests per minute allowed per credential (token or session); 0 = unlimited.
    /// Default 600, or `SAGAT_RATE_LIMIT` from the environment.
    pub rate_limit_per_minute: u32,
    /// Sign-in attempts per minute allowed per client IP address (web form and
    /// `POST /api/v1/session`, whether the code is right or not); 0 = unlimited. Default 30, or
    /// `SAGAT_SIGN_IN_RATE_LIMIT` from the environment.
    pub sign_in_per_ip_per_minute: u32,
    /// Take the client address from the last `X-Forwarded-For` entry instead of the TCP peer.
    /// Only for a server behind a reverse proxy that sets that header; default off, or
    /// `SAGAT_TRUST_FORWARDED_FOR=1` from the environment.
    pub trust_forwarded_for: bool,
    /// Mark every cookie `Secure` (the service is reached over HTTPS through a proxy). Default
    /// off, or `SAGAT_SECURE_COOKIES=1`; with `trust_forwarded_for`, `X-Forwarded-Proto: https`
    /// also marks them per request.
    pub secure_cookies: bool,
    /// This server's public origin (`https://sagat.example`) for the web forms' same-origin
    /// check, when a proxy rewrites `Host`. Default: compare with the request's `Host`, or
    /// `SAGAT_PUBLIC_ORIGIN`.
    pub public_origin: Option<String>,
    /// Largest accepted request body, bytes (JSON, COSE, form posts). Default 64 KiB.
    pub max_body_bytes: usize,
    /// Largest accepted CSV upload or QR photo, bytes. Default 4 MiB.
    pub max_upload_bytes: usize,
    /// Photos decoded at once (`POST /verify/photo`); more wait briefly, then get 503. Default 2,
    /// or `SAGAT_IMAGE_DECODES` from the environment (at least 1).
    pub max_image_decodes: usize,
    /// CSV uploads parsed, signed and appended at once (`SAGAT_CSV_UPLOADS`, default 2); more
    /// wait their turn. Each costs up to about 75 times its size in memory at its peak
    /// (docs/benchmarks.md, "CSV uploads"), so this bounds what uploads can take together.
    pub max_csv_uploads: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        let rate = std::env::var("SAGAT_RATE_LIMIT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(600);
        let sign_in = std::env::var("SAGAT_SIGN_IN_RATE_LIMIT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(30);
        let trust_forwarded_for = std::env::var("SAGAT_TRUST_FORWARDED_FOR")
            .map(|v| matches!(v.as_str(), "1" | "true" | "yes"))
            .unwrap_or(false);
        let secure_cookies = std::env::var("SAGAT_SECURE_COOKIES")
            .map(|v| matches!(v.as_str(), "1" | "true" | "yes"))
            .unwrap_or(false);
        let public_origin = std::env::var("SAGAT_PUBLIC_ORIGIN")
            .ok()
            .filter(|v| !v.trim().is_empty());
        let image_decodes = std::env::var("SAGAT_IMAGE_DECODES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2);
        let csv_uploads = std::env::var("SAGAT_CSV_UPLOADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2);
        ServeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            demo: false,
            rate_limit_per_minute: rate,
            sign_in_per_ip_per_minute: sign_in,
            trust_forwarded_for,
            secure_cookies,
            public_origin,
            max_body_bytes: 64 * 1024,
            max_upload_bytes: 4 * 1024 * 1024,
            max_image_decodes: image_decodes,
            max_csv_uploads: csv_uploads,
        }
    }
}

/// Shared state of every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Shared>,
}

/// What [`AppState`] holds: the use cases' [`ops::Ops`] (reached through `Deref`) and what
/// only the HTTP service needs.
#[derive(Debug)]
pub struct Shared {
    /// The use cases and the data directory they work on.
    pub ops: Arc<ops::Ops>,
    /// Per-credential rate limiter.
    pub limiter: ratelimit::RateLimiter,
    /// Per-client-IP limiter of sign-in attempts.
    pub sign_in_limiter: ratelimit::RateLimiter,
    /// Whether the client address comes from `X-Forwarded-For` ([`ServeOptions`]).
    pub trust_forwarded_for: bool,
    /// Whether every cookie is `Secure` ([`ServeOptions::secure_cookies`]).
    pub secure_cookies: bool,
    /// The public origin for the web forms' same-origin check ([`ServeOptions::public_origin`]).
    pub public_origin: Option<String>,
    /// Outcomes of web form posts (Post/Redirect/Get and idempotent resubmits).
    pub forms: once::FormResults,
    /// Body size limits.
    pub max_body_bytes: usize,
    /// CSV/photo size limit.
    pub max_upload_bytes: usize,
}

impl std::ops::Deref for Shared {
    type Target = ops::Ops;
    fn deref(&self) -> &ops::Ops {
        &self.ops
    }
}

impl AppState {
    /// Wraps an opened data directory for serving.
    pub fn new(app: App, opts: &ServeOptions) -> Result<AppState> {
        for damage in app.directory.damaged() {
            // The service starts anyway; only the volunteers of that file fail (`sagat check`).
            tracing::error!(%damage, "volunteer directory file damaged");
        }
        Ok(AppState {
            inner: Arc::new(Shared {
                ops: Arc::new(ops::Ops::new(
                    app,
                    opts.max_image_decodes,
                    opts.max_csv_uploads,
                )?),
                forms: once::FormResults::default(),
                limiter: ratelimit::RateLimiter::new(opts.rate_limit_per_minute),
                sign_in_limiter: ratelimit::RateLimiter::new(opts.sign_in_per_ip_per_minute),
                trust_forwarded_for: opts.trust_forwarded_for,
                secure_cookies: opts.secure_cookies,
                public_origin: opts.public_origin.clone(),
                max_body_bytes: opts.max_body_bytes,
                max_upload_bytes: opts.max_upload_bytes,
            }),
        })
    }

    /// Mints an operator token (expiring after the default token lifetime) if no live one
    /// exists; returns it (shown once).
    pub fn ensure_operator_token(&self) -> Result<Option<String>> {
        if self.tokens.has_operator_token() {
            return Ok(None);
        }
        self.tokens
            .mint(
                Role::Operator,
                Kind::Token,
                Some(crate::datadir::tokens::DEFAULT_TOKEN_TTL_SECS),
                crate::datadir::now(),
            )
            .map(Some)
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.inner
    }
}

/// The whole HTTP surface. Tests drive it with `tower::ServiceExt::oneshot`, without a port.
///
/// Body limits: every route gets `max_body_bytes` (axum's `DefaultBodyLimit`, which the JSON,
/// form and bytes extractors obey); the upload pages get `max_upload_bytes`; the CSV API reads
/// its raw body with `max_upload_bytes` itself.
pub fn router(state: AppState) -> Router {
    let (api_router, mut openapi) = api::routes().split_for_parts();
    api::document_errors(&mut openapi);
    let openapi = Arc::new(openapi);
    let same_origin =
        axum::middleware::from_fn_with_state(state.clone(), crate::http::web::csrf::same_origin);
    Router::new()
        .merge(api_router)
        .merge(logtiles::routes())
        .merge(crate::http::web::routes().route_layer(same_origin.clone()))
        .route("/healthz", axum::routing::get(metrics::healthz))
        .route("/metrics", axum::routing::get(metrics::prometheus))
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let doc = openapi.clone();
                async move { axum::Json((*doc).clone()) }
            }),
        )
        .layer(DefaultBodyLimit::max(state.max_body_bytes))
        .merge(
            crate::http::web::upload_routes()
                .route_layer(same_origin)
                .layer(DefaultBodyLimit::max(state.max_upload_bytes)),
        )
        .fallback(crate::http::web::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received: finishing in-flight requests");
}

/// Runs the server until SIGINT/SIGTERM. Prints the first operator token (once), and with
/// `demo` seeds the demo data set and prints where to click first.
pub async fn run(app: App, opts: ServeOptions) -> Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .try_init();
    let listener = tokio::net::TcpListener::bind(opts.addr)
        .await
        .with_context(|| format!("cannot listen on {}", opts.addr))?;
    let local = listener.local_addr()?;
    // Certificates issued here send a phone camera to this server's own verify page unless
    // the operator named one (`sagat init --verify-url`).
    let app = app.with_verify_url(|| {
        let origin = opts
            .public_origin
            .clone()
            .unwrap_or_else(|| format!("http://{local}"));
        format!("{}/verify", origin.trim_end_matches('/'))
    });
    let state = AppState::new(app, &opts)?;
    if let Some(token) = state.ensure_operator_token()? {
        println!("operator token (shown once; only its SHA-256 is stored):");
        println!("{token}");
    }
    if opts.demo {
        let st = state.clone();
        let info = tokio::task::spawn_blocking(move || demo::seed(&st)).await??;
        info.print(local);
    }
    // Where commands beside this server find it (read-only ones ask it; see `sagat log`).
    let reach = if local.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), local.port())
    } else {
        local
    };
    let addr_file = state.app.dir.join(crate::datadir::SERVE_ADDR_FILE);
    if let Err(e) = std::fs::write(&addr_file, format!("http://{reach}\n")) {
        tracing::warn!(error = %e, "cannot write {}", addr_file.display());
    }
    println!("listening on http://{local}/");
    tracing::info!(%local, "sagat serve listening");
    let svc = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, svc)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server error")?;
    // Wait briefly for any blocking append still running (it holds an Arc of the state), so the
    // ledger is dropped — flushed and unlocked — before the process exits.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while Arc::strong_count(&state.inner) > 1 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(state);
    let _ = std::fs::remove_file(&addr_file);
    tracing::info!("stopped");
    Ok(())
}

/// `sagat serve --data DIR --addr ADDR [--demo] [--secure-cookies] [--public-origin URL]`:
/// initializes `DIR` on first start (printing the operator's verifier key like `sagat init`),
/// then runs the server on a multi-threaded tokio runtime until SIGINT/SIGTERM. This is all
/// `main` needs to call.
pub fn serve_command(
    data: &std::path::Path,
    store: Option<&str>,
    addr: SocketAddr,
    demo: bool,
    secure_cookies: bool,
    public_origin: Option<String>,
) -> Result<()> {
    let app = if crate::datadir::is_initialized(data) {
        crate::datadir::open_at(data, store)?
    } else {
        let app = crate::datadir::init_at(
            data,
            crate::datadir::Config::default(),
            crate::datadir::now(),
            store,
        )?;
        println!(
            "initialized {}; log origin {} (generated, unique to this log; `sagat init --origin` names a real one)",
            data.display(),
            app.config.origin
        );
        println!("operator verifier key:");
        println!("{}", app.operator_vkey());
        app
    };
    let defaults = ServeOptions::default();
    let opts = ServeOptions {
        addr,
        demo,
        secure_cookies: secure_cookies || defaults.secure_cookies,
        public_origin: public_origin.or(defaults.public_origin),
        ..defaults
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(run(app, opts))
}
