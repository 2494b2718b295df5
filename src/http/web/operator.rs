//! The operator's page (`/operator`): organizations with their status and actions, the
//! certificate search with revoke on each row, registration and renaming. Suspending and
//! revoking ask to confirm; each result says what happened.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{html, Markup};

use super::{
    csrf, date_text, flash_of, forms, hours_text, opt, page, post_as, t, to_signin, Kept, Lang,
    LangQuery, PageRole,
};
use crate::http::AppState;
use crate::ops;

/// Most certificates the search shows.
const CERTS_SHOWN: usize = 50;

/// The certificate search (`/operator?cert=`).
#[derive(Debug, serde::Deserialize, Default)]
pub(super) struct CertQuery {
    cert: Option<String>,
}

fn day_of(lang: Lang, unix: i64) -> String {
    date_text(
        lang,
        &sagat_verifier::format_date(unix.div_euclid(86_400) as i32),
    )
}

fn orgs_section(state: &AppState, lang: Lang, csrf: &str) -> Markup {
    let orgs = state.app.ledger.read(|s| s.organizations());
    html! {
        section {
            h2 { (t(lang, "orgs")) " (" (orgs.len()) ")" }
            table.cards id="orgs" {
                thead { tr { th { (t(lang, "org_name")) } th { (t(lang, "org_id")) } th { (t(lang, "status")) } th { span.visually-hidden { (t(lang, "actions")) } } } }
                tbody {
                    @for o in &orgs {
                        @let suspension = o.suspended.then(|| ops::organizations::suspension(&state.app, &o.org)).flatten();
                        tr data-org=(o.org) {
                            td data-label=(t(lang, "org_name")) { strong { (o.names.get(lang.code())) } @if let Some(r) = &o.region { br; span.muted { (r) } } }
                            td data-label=(t(lang, "org_id")) { code.mono { (o.org) } }
                            td data-label=(t(lang, "status")) {
                                @if o.suspended {
                                    span.badge.bad { (t(lang, "suspended")) }
                                    @if let Some(s) = &suspension { br; span.muted { (day_of(lang, s.since)) @if let Some(r) = &s.reason { " · " (r) } } }
                                } @else { span.badge.good { (t(lang, "active")) } }
                            }
                            td {
                                form method="post" action="/operator/token" {
                                    (forms::hidden_fields(csrf)) input type="hidden" name="org" value=(o.org);
                                    button type="submit" class="secondary" { (t(lang, "mint_token")) }
                                }
                                details {
                                    summary { @if o.suspended { (t(lang, "reinstate")) } @else { (t(lang, "suspend")) } }
                                    form method="post" action="/operator/status" {
                                        (forms::hidden_fields(csrf)) input type="hidden" name="org" value=(o.org);
                                        label { (t(lang, "reason")) input name="reason" required; }
                                        @if o.suspended {
                                            button type="submit" name="action" value="reinstate" { (t(lang, "reinstate")) }
                                        } @else {
                                            label.confirm { input type="checkbox" name="confirm" value="yes" required; " " (t(lang, "confirm_suspend")) }
                                            button type="submit" name="action" value="suspend" class="danger" { (t(lang, "suspend")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn certificates_section(state: &AppState, lang: Lang, csrf: &str, query: &str) -> Markup {
    let rows = ops::certificates::search(&state.ops, query, CERTS_SHOWN);
    html! {
        section id="certificates" {
            h2 { (t(lang, "certificates")) }
            form method="get" action="/operator" class="inline" role="search" {
                label for="cert-q" class="visually-hidden" { (t(lang, "search_cert")) }
                input id="cert-q" name="cert" type="search" value=(query) placeholder=(t(lang, "search_cert"));
                button type="submit" class="secondary" { (t(lang, "search")) }
            }
            @if rows.is_empty() { p.muted id="certs-empty" { (t(lang, "no_certificates")) } }
            table.cards id="certs" {
                thead { tr { th { (t(lang, "holder")) } th { (t(lang, "issued_on")) } th { (t(lang, "total")) } th { (t(lang, "status")) } th { span.visually-hidden { (t(lang, "actions")) } } } }
                tbody {
                    @for c in &rows {
                        @let name = state.app.directory.get(&c.volunteer).ok().flatten().map(|r| r.name);
                        tr data-credential=(c.credential_id) {
                            td data-label=(t(lang, "holder")) { (name.as_deref().unwrap_or(t(lang, "name_erased"))) br; code.mono.muted { (c.credential_id) } }
                            td data-label=(t(lang, "issued_on")) { (c.issued_at.map(|at| day_of(lang, at)).unwrap_or_else(|| format!("#{}", c.index))) }
                            td data-label=(t(lang, "total")) { (c.total_minutes.map(|m| hours_text(lang, m)).unwrap_or_default()) }
                            td data-label=(t(lang, "status")) {
                                @if let Some(r) = &c.revoked {
                                    span.badge.bad { (t(lang, "revoked")) } br; span.muted { (day_of(lang, r.at)) @if let Some(why) = &r.reason { " · " (why) } }
                                } @else { span.badge.good { (t(lang, "valid")) } }
                            }
                            td {
                                @if c.revoked.is_none() {
                                    details {
                                        summary { (t(lang, "revoke")) }
                                        form method="post" action="/operator/revoke" {
                                            (forms::hidden_fields(csrf)) input type="hidden" name="credential" value=(c.credential_id);
                                            label { (t(lang, "reason")) input name="reason" required; }
                                            label.confirm { input type="checkbox" name="confirm" value="yes" required; " " (t(lang, "confirm_revoke")) }
                                            button type="submit" class="danger" { (t(lang, "revoke")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn operator_dashboard(
    state: &AppState,
    lang: Lang,
    csrf: &str,
    flash: Option<Markup>,
    kept: &Kept,
    cert_query: &str,
) -> Response {
    let orgs: Vec<(String, String)> = state.app.ledger.read(|s| {
        s.organizations()
            .into_iter()
            .map(|o| (o.org.clone(), o.names.get(lang.code()).to_string()))
            .collect()
    });
    let body = html! {
        @if let Some(f) = flash { (f) }
        section { h1 { (t(lang, "operator")) } }
        (orgs_section(state, lang, csrf))
        (certificates_section(state, lang, csrf, cert_query))
        section {
            h2 { (t(lang, "register_org")) }
            form method="post" action="/operator/org" id="register-form" {
                (forms::hidden_fields(csrf))
                label for="reg-id" { (t(lang, "org_id")) } input id="reg-id" name="id" required pattern="[a-z0-9-]{2,64}" value=(kept.get("id"));
                label for="reg-name-en" { (t(lang, "org_name")) " (en)" } input id="reg-name-en" name="name_en" required value=(kept.get("name_en"));
                div.row {
                    div { label for="reg-name-kk" { (t(lang, "org_name")) " (kk)" } input id="reg-name-kk" name="name_kk" value=(kept.get("name_kk")); }
                    div { label for="reg-name-ru" { (t(lang, "org_name")) " (ru)" } input id="reg-name-ru" name="name_ru" value=(kept.get("name_ru")); }
                }
                label for="reg-region" { (t(lang, "region")) } input id="reg-region" name="region" value=(kept.get("region"));
                label for="reg-key" { (t(lang, "public_key_opt")) } input id="reg-key" name="public_key" autocomplete="off" value=(kept.get("public_key"));
                button type="submit" id="register-submit" { (t(lang, "register_org")) }
            }
        }
        section {
            h2 { (t(lang, "rename_org")) }
            p.muted { (t(lang, "rename_hint")) }
            form method="post" action="/operator/rename" id="rename-form" {
                (forms::hidden_fields(csrf))
                label for="rename-org" { (t(lang, "org_id")) } select id="rename-org" name="org" { @for (id, name) in &orgs { option value=(id) selected[id == kept.get("org")] { (name) } } }
                label for="rename-en" { (t(lang, "org_name")) " (en)" } input id="rename-en" name="name_en" value=(kept.get("name_en"));
                div.row {
                    div { label for="rename-kk" { (t(lang, "org_name")) " (kk)" } input id="rename-kk" name="name_kk" value=(kept.get("name_kk")); }
                    div { label for="rename-ru" { (t(lang, "org_name")) " (ru)" } input id="rename-ru" name="name_ru" value=(kept.get("name_ru")); }
                }
                label for="rename-region" { (t(lang, "region")) } input id="rename-region" name="region" value=(kept.get("region"));
                button type="submit" { (t(lang, "rename_org")) }
            }
        }
    };
    page(lang, t(lang, "operator"), true, body)
}

fn is_operator(state: &AppState, headers: &HeaderMap) -> bool {
    super::caller_as(state, headers, PageRole::Operator).is_some()
}

pub(super) async fn operator_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    Query(c): Query<CertQuery>,
) -> Response {
    let lang = super::lang_of(&headers, &q);
    if !is_operator(&state, &headers) {
        return to_signin(lang, &headers);
    }
    let (flash, kept) = flash_of(&state, &headers, &q);
    let csrf = csrf::request_token(&state, &headers);
    operator_dashboard(
        &state,
        lang,
        &csrf,
        flash,
        &kept,
        &c.cert.unwrap_or_default(),
    )
}

pub(super) async fn op_register(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    csrf::CsrfForm(f): csrf::CsrfForm,
) -> Response {
    let req = ops::organizations::RegisterOrg {
        id: f.get("id").cloned().unwrap_or_default().trim().to_string(),
        name_en: f.get("name_en").cloned().unwrap_or_default(),
        name_kk: opt(&f, "name_kk"),
        name_ru: opt(&f, "name_ru"),
        region: opt(&f, "region"),
        public_key: opt(&f, "public_key"),
    };
    let (state, f) = (&state, &f);
    post_as(
        state,
        &headers,
        &q,
        f,
        PageRole::Operator,
        "/operator",
        move |_operator, lang| async move {
            let ok = ops::organizations::register(&state.ops, req).await?;
            Ok(html! {
                (t(lang, "done")) " " span.mono { (ok.org) } " · #" (ok.index)
            })
        },
    )
    .await
}

pub(super) async fn op_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    csrf::CsrfForm(f): csrf::CsrfForm,
) -> Response {
    let org = f.get("org").cloned().unwrap_or_default();
    let (state, f) = (&state, &f);
    post_as(state, &headers, &q, f, PageRole::Operator, "/operator", move |_operator, lang| async move {
        let tok = ops::tokens::mint_org_token(&state.ops, &org, None)?.token;
        Ok(
            html! { (t(lang, "token_once")) " " span.mono { (org) } br; code id="minted-token" { (tok) } },
        )
    })
    .await
}

pub(super) async fn op_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    csrf::CsrfForm(f): csrf::CsrfForm,
) -> Response {
    let org = f.get("org").cloned().unwrap_or_default();
    let suspend = f.get("action").map(String::as_str) == Some("suspend");
    let reason = ops::fields::Reason::new(f.get("reason").cloned().unwrap_or_default());
    let (state, f) = (&state, &f);
    post_as(
        state,
        &headers,
        &q,
        f,
        PageRole::Operator,
        "/operator",
        move |_operator, lang| async move {
            if suspend {
                super::confirmed(f, "the suspension")?;
            }
            let l = ops::organizations::change_status(&state.ops, &org, &reason, suspend).await?;
            let said = if suspend {
                "org_suspended_done"
            } else {
                "org_reinstated_done"
            };
            Ok(html! { (t(lang, said)) " " span.mono { (org) } " · #" (l.index) })
        },
    )
    .await
}

/// The operator's rename form: blank fields keep their value (the API's `PATCH` can also
/// remove an optional name or the region).
pub(super) async fn op_rename(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    csrf::CsrfForm(f): csrf::CsrfForm,
) -> Response {
    let org = f.get("org").cloned().unwrap_or_default();
    let changes = ops::organizations::OrgChanges {
        name_en: opt(&f, "name_en"),
        name_kk: opt(&f, "name_kk"),
        name_ru: opt(&f, "name_ru"),
        region: opt(&f, "region"),
    };
    let (state, f) = (&state, &f);
    post_as(
        state,
        &headers,
        &q,
        f,
        PageRole::Operator,
        "/operator",
        move |_operator, lang| async move {
            let l = ops::organizations::update(&state.ops, &org, &changes).await?;
            Ok(html! { (t(lang, "done")) " " span.mono { (org) } " · #" (l.index) })
        },
    )
    .await
}

pub(super) async fn op_revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    csrf::CsrfForm(f): csrf::CsrfForm,
) -> Response {
    let id = f
        .get("credential")
        .cloned()
        .unwrap_or_default()
        .trim()
        .to_string();
    let reason = ops::fields::Reason::new(f.get("reason").cloned().unwrap_or_default());
    let (state, f) = (&state, &f);
    post_as(state, &headers, &q, f, PageRole::Operator, "/operator", move |_operator, lang| async move {
        super::confirmed(f, "the revocation")?;
        let landed =
            ops::certificates::revoke_credential(&state.ops, &id, &reason, "credential").await?;
        Ok(html! { (t(lang, "cert_revoked_done")) " " span.mono { (id) } " · #" (landed.index) })
    })
    .await
}
