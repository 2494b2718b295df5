//! The volunteer's page (`/me`): their hours, each of their attestations, and their
//! certificates (newest first; a revoked one is marked and not offered), with the form that
//! issues a new one.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{html, Markup};

use super::{
    csrf, date_text, flash_of, forms, hours_text, i18n, opt, page, post_as, t, to_signin, Kept,
    Lang, LangQuery, PageRole,
};
use crate::http::AppState;
use crate::ops;

fn volunteer_of(state: &AppState, headers: &HeaderMap) -> Option<String> {
    super::caller_as(state, headers, PageRole::Volunteer)
}

/// A day from Unix seconds, in the page's language.
fn day_of(lang: Lang, unix: i64) -> String {
    date_text(
        lang,
        &sagat_verifier::format_date(unix.div_euclid(86_400) as i32),
    )
}

fn breakdown(lang: Lang, title: &'static str, id: &str, rows: &[(String, u64)]) -> Markup {
    html! {
        h2 { (t(lang, title)) }
        table id=(id) {
            @for (k, m) in rows { tr { td { (k) } td { (hours_text(lang, *m)) } } }
        }
    }
}

fn hours_section(
    state: &AppState,
    lang: Lang,
    volunteer: &str,
    org_names: &BTreeMap<String, String>,
) -> Markup {
    let hours = ops::volunteers::hours(&state.app, volunteer).ok();
    let name = state
        .app
        .directory
        .get(volunteer)
        .ok()
        .flatten()
        .map(|r| r.name);
    let total = hours.as_ref().map_or(0, |h| h.total_minutes);
    let (by_org, by_category, by_year): (Vec<_>, Vec<_>, Vec<_>) = match &hours {
        Some(h) => (
            h.by_org
                .iter()
                .map(|(o, m)| (org_names.get(o).cloned().unwrap_or_else(|| o.clone()), *m))
                .collect(),
            h.by_category
                .iter()
                .map(|(c, m)| (i18n::category(lang, c).to_string(), *m))
                .collect(),
            h.by_year.iter().map(|(y, m)| (y.to_string(), *m)).collect(),
        ),
        None => Default::default(),
    };
    html! {
        section {
            h1 { (t(lang, "my_hours")) }
            @if let Some(n) = &name { p { strong id="volunteer-name" { (n) } } }
            p { (t(lang, "total")) ": " strong id="total-hours" data-minutes=(total) { (hours_text(lang, total)) } }
            @if total == 0 { p.muted { (t(lang, "no_hours")) } }
            div.scroll {
                (breakdown(lang, "by_org", "by-org", &by_org))
                (breakdown(lang, "by_category", "by-category", &by_category))
                (breakdown(lang, "by_year", "by-year", &by_year))
            }
        }
    }
}

/// Each attestation, newest first, with a way to report a wrong one: the organization is named
/// and the attestation's number given to quote (corrections are the organization's to make).
fn entries_section(
    state: &AppState,
    lang: Lang,
    volunteer: &str,
    org_names: &BTreeMap<String, String>,
) -> Markup {
    let entries = ops::volunteers::entries(&state.app, volunteer).unwrap_or_default();
    let titles: BTreeMap<String, String> = state.app.ledger.read(|s| {
        entries
            .iter()
            .filter_map(|e| e.activity.as_deref())
            .filter_map(|a| s.activity(a))
            .map(|a| (a.activity.clone(), a.titles.get(lang.code()).to_string()))
            .collect()
    });
    html! {
        section {
            h2 { (t(lang, "my_entries")) " (" (entries.len()) ")" }
            @if entries.is_empty() { p.muted { (t(lang, "no_hours")) } }
            table.cards id="entries" {
                thead { tr { th { (t(lang, "date")) } th { (t(lang, "org")) } th { (t(lang, "activity")) } th { (t(lang, "hours")) } th { span.visually-hidden { (t(lang, "actions")) } } } }
                tbody {
                    @for e in &entries {
                        @let org = org_names.get(&e.org).cloned().unwrap_or_else(|| e.org.clone());
                        tr data-attestation=(e.attestation) {
                            td data-label=(t(lang, "date")) { (date_text(lang, &e.date)) }
                            td data-label=(t(lang, "org")) { (org) }
                            td data-label=(t(lang, "activity")) {
                                (e.activity.as_ref().and_then(|a| titles.get(a)).map(String::as_str).unwrap_or(t(lang, "none")))
                                @if let Some(c) = &e.category { br; span.muted { (i18n::category(lang, c)) } }
                            }
                            td data-label=(t(lang, "hours")) { (hours_text(lang, e.minutes.into())) @if e.corrected { br; span.muted { (t(lang, "corrected")) } } }
                            td {
                                details {
                                    summary { (t(lang, "report_wrong")) }
                                    p { (t(lang, "report_how").replace("{org}", &org)) }
                                    p { (t(lang, "attestation_no")) ": " code.mono { (e.attestation) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn certificates_section(
    state: &AppState,
    lang: Lang,
    volunteer: &str,
    csrf: &str,
    kept: &Kept,
) -> Markup {
    let certs = ops::certificates::list_of_volunteer(&state.ops, volunteer);
    fn lang_names(codes: &str) -> String {
        codes
            .split('+')
            .map(|c| Lang::parse(c).map(Lang::endonym).unwrap_or(c))
            .collect::<Vec<_>>()
            .join(" + ")
    }
    html! {
        section {
            h2 { (t(lang, "certificate")) }
            form method="post" action="/me/certificate" id="cert-form" {
                (forms::hidden_fields(csrf))
                div.row {
                    div { label for="cert-lang" { (t(lang, "language")) }
                        select id="cert-lang" name="lang" { @for l in Lang::ALL { option value=(l.code()) selected[l.code() == kept.or("lang", lang.code())] { (l.endonym()) } } } }
                    div { label for="cert-lang2" { (t(lang, "second_language")) }
                        select id="cert-lang2" name="lang2" { option value="" { (t(lang, "none")) } @for l in Lang::ALL { option value=(l.code()) selected[l.code() == kept.get("lang2")] { (l.endonym()) } } } }
                }
                div.row {
                    div { label for="cert-from" { (t(lang, "from")) } input id="cert-from" name="from" type="date" value=(kept.get("from")); }
                    div { label for="cert-to" { (t(lang, "to")) } input id="cert-to" name="to" type="date" value=(kept.get("to")); }
                }
                button id="cert-submit" type="submit" { (t(lang, "issue")) }
            }
        }
        section {
            h2 { (t(lang, "my_certificates")) " (" (certs.len()) ")" }
            @for (i, c) in certs.iter().enumerate() {
                @let base = format!("/api/v1/volunteers/{volunteer}/certificates/{}", c.credential_id);
                article.cert id={ "cert-" (c.credential_id) } data-revoked=(c.revoked.is_some()) {
                    @if let Some(r) = &c.revoked {
                        p.verdict.REVOKED { (t(lang, "cert_revoked")) }
                        p { (t(lang, "revoked_on")) " " (day_of(lang, r.at)) @if let Some(why) = &r.reason { ". " (t(lang, "reason")) ": " (why) } }
                    }
                    table.facts {
                        @if let Some(at) = c.issued_at { tr { th { (t(lang, "issued_on")) } td { (day_of(lang, at)) } } }
                        @if let Some(l) = &c.lang { tr { th { (t(lang, "language")) } td { (lang_names(l)) } } }
                        @if let Some(m) = c.total_minutes { tr { th { (t(lang, "total")) } td { (hours_text(lang, m)) } } }
                        @if let Some((from, to)) = &c.period { tr { th { (t(lang, "period")) } td { (date_text(lang, from)) " — " (date_text(lang, to)) } } }
                        tr { th { (t(lang, "credential")) } td.mono { (c.credential_id) } }
                    }
                    @if c.revoked.is_none() && c.downloadable {
                        p { a.button id=[(i == 0).then_some("pdf-link")] href={ "/me/certificates/" (c.credential_id) "/pdf" } download { (t(lang, "download_pdf")) } }
                        img alt=(t(lang, "qr_alt")) width="240" height="240" src={ (base) "/qr.svg" };
                        @if let Some(stored) = state.ops.certs.get(volunteer, &c.credential_id).ok().flatten() {
                            details {
                                summary { (t(lang, "qr_text")) }
                                textarea id={ "qr-text-" (c.credential_id) } aria-label=(t(lang, "qr_text")) readonly { (stored.qr_text) }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub(super) async fn me_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = super::lang_of(&headers, &q);
    let Some(volunteer) = volunteer_of(&state, &headers) else {
        return to_signin(lang, &headers);
    };
    let (flash, kept) = flash_of(&state, &headers, &q);
    let csrf = csrf::request_token(&state, &headers);
    let org_names: BTreeMap<String, String> = state.app.ledger.read(|s| {
        s.organizations()
            .into_iter()
            .map(|o| (o.org.clone(), o.names.get(lang.code()).to_string()))
            .collect()
    });
    let body = html! {
        @if let Some(f) = flash { (f) }
        (hours_section(&state, lang, &volunteer, &org_names))
        (certificates_section(&state, lang, &volunteer, &csrf, &kept))
        (entries_section(&state, lang, &volunteer, &org_names))
    };
    page(lang, t(lang, "my_hours"), true, body)
}

pub(super) async fn me_certificate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    csrf::CsrfForm(f): csrf::CsrfForm,
) -> Response {
    let (state, f) = (&state, &f);
    post_as(
        state,
        &headers,
        &q,
        f,
        PageRole::Volunteer,
        "/me",
        move |v, lang| async move {
            let req = ops::certificates::IssueCertificate {
                lang: f
                    .get("lang")
                    .cloned()
                    .unwrap_or_else(|| lang.code().to_string()),
                lang2: opt(f, "lang2"),
                from: opt(f, "from"),
                to: opt(f, "to"),
                org: None,
            };
            ops::certificates::issue_for(&state.ops, &v, req).await?;
            Ok(html! { (t(lang, "cert_ready")) })
        },
    )
    .await
}

/// `/me/certificates/{cid}/pdf`: the download link of the page. The API's `…/pdf` needs a
/// session too, but answers JSON; here an ended session leads to the sign-in page, and a
/// missing certificate to a page that says so.
pub(super) async fn me_certificate_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    axum::extract::Path(cid): axum::extract::Path<String>,
) -> Response {
    let lang = super::lang_of(&headers, &q);
    let Some(v) = volunteer_of(&state, &headers) else {
        return to_signin(lang, &headers);
    };
    match ops::certificates::stored(&state.ops, &v, &cid).await {
        Ok(c) => crate::http::headers::pdf_attachment(c),
        Err(e) => super::error_page(lang, &e),
    }
}
