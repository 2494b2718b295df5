//! The organization's pages: the overview with its forms (`/org`), its roster of volunteers by
//! name (`/org/volunteers`), its attestations with filters and pages (`/org/attestations`),
//! and its hours as CSV (`/org/hours.csv`). Every form posts to the use cases in
//! [`crate::ops`], as the JSON API does.

use std::collections::HashMap;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{html, Markup};

use super::{
    csrf, date_text, flash_of, form_key, forms, hours_text, i18n, nonce_of, opt, page, post_as,
    post_once, t, to_signin, Fields, Lang, LangQuery, PageRole,
};
use crate::http::AppState;
use crate::ops;

/// Rows on one page of the attestation list.
const PER_PAGE: usize = 50;

fn org_of(state: &AppState, headers: &HeaderMap) -> Option<String> {
    super::caller_as(state, headers, PageRole::Org)
}

/// The roster's search (`/org/volunteers?q=`) and the attest form's chosen volunteer
/// (`/org?volunteer=`).
#[derive(Debug, serde::Deserialize, Default)]
pub(super) struct RosterQuery {
    q: Option<String>,
    volunteer: Option<String>,
}

/// The links between the organization's pages; `current` is marked for screen readers.
fn org_nav(lang: Lang, current: &str) -> Markup {
    let link = |href: &'static str, key: &'static str| {
        html! { a href=(href) aria-current=[(href == current).then_some("page")] { (t(lang, key)) } }
    };
    html! {
        nav.tabs aria-label=(t(lang, "org_dash")) {
            (link("/org", "overview")) (link("/org/volunteers", "roster")) (link("/org/attestations", "attestations"))
        }
    }
}

/// The organization's heading: its name, and while suspended since when and why (its forms are
/// then disabled: the ledger would refuse what they send).
fn org_heading(state: &AppState, lang: Lang, org: &str) -> (Markup, bool) {
    let name = state
        .app
        .ledger
        .read(|s| {
            s.organization(org)
                .map(|o| o.names.get(lang.code()).to_string())
        })
        .unwrap_or_else(|| org.to_string());
    let suspension = ops::organizations::suspension(&state.app, org);
    let markup = html! {
        section {
            h1 { (name) }
            p.muted.mono { (org) }
            @if let Some(s) = &suspension {
                div.flash.err id="suspended" role="alert" {
                    strong { (t(lang, "suspended_since")) " " (date_text(lang, &sagat_verifier::format_date((s.since / 86_400) as i32))) }
                    @if let Some(r) = &s.reason { br; (t(lang, "reason")) ": " span id="suspended-reason" { (r) } }
                    br; (t(lang, "suspended_help"))
                }
            }
        }
    };
    (markup, suspension.is_some())
}

pub(super) async fn org_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    Query(r): Query<RosterQuery>,
) -> Response {
    let lang = super::lang_of(&headers, &q);
    let Some(org) = org_of(&state, &headers) else {
        return to_signin(lang, &headers);
    };
    let (flash, kept) = flash_of(&state, &headers, &q);
    let csrf = csrf::request_token(&state, &headers);
    let roster = ops::volunteers::roster(&state.ops, &org, None);
    let activities = ops::activities::of_org(&state.app, &org);
    let (heading, suspended) = org_heading(&state, lang, &org);
    let today = sagat_verifier::format_date((crate::datadir::now() / 86_400) as i32);
    let chosen = kept.or("volunteer", r.volunteer.as_deref().unwrap_or(""));
    let body = html! {
        (org_nav(lang, "/org"))
        @if let Some(f) = flash { (f) }
        (heading)
        fieldset.plain disabled[suspended] {
        section id="attest" {
            h2 { (t(lang, "attest")) }
            form method="post" action="/org/attest" id="attest-form" {
                (forms::hidden_fields(&csrf))
                label for="attest-volunteer" { (t(lang, "volunteer")) }
                select id="attest-volunteer" name="volunteer" {
                    option value="" { (t(lang, "choose_volunteer")) }
                    @for v in &roster {
                        option value=(v.volunteer) selected[v.volunteer == chosen] {
                            (v.name.as_deref().unwrap_or(t(lang, "name_erased"))) " · " (v.volunteer.get(..8).unwrap_or(&v.volunteer))
                        }
                    }
                }
                label for="attest-volunteer-id" { (t(lang, "or_volunteer_id")) }
                input id="attest-volunteer-id" name="volunteer_id" pattern="[0-9a-fA-F]{32}" autocomplete="off" value=(kept.get("volunteer_id"));
                div.row {
                    div { label for="attest-date" { (t(lang, "date")) } input id="attest-date" name="date" type="date" value=(kept.or("date", &today)) required; }
                    div { label for="attest-hours" { (t(lang, "hours")) } input id="attest-hours" name="hours" inputmode="decimal" required placeholder="3.5" value=(kept.get("hours")); }
                }
                label for="attest-activity" { (t(lang, "activity")) }
                select id="attest-activity" name="activity" {
                    option value="" { (t(lang, "none")) }
                    @for a in &activities { option value=(a.activity) selected[a.activity == kept.get("activity")] { (a.titles.get(lang.code())) " (" (date_text(lang, &a.from)) ")" } }
                }
                div.row {
                    div { label for="attest-role" { (t(lang, "role")) } input id="attest-role" name="role" value=(kept.get("role")); }
                    div { label for="attest-note" { (t(lang, "note")) } input id="attest-note" name="note" value=(kept.get("note")); }
                }
                button id="attest-submit" type="submit" { (t(lang, "save")) }
            }
        }
        section {
            h2 { (t(lang, "csv_upload")) }
            p.muted id="csv-help" { (t(lang, "csv_help")) }
            form method="post" action="/org/csv" enctype="multipart/form-data" id="csv-form"
                data-sending=(t(lang, "csv_sending")) data-checking=(t(lang, "csv_checking")) data-failed=(t(lang, "csv_failed")) {
                (forms::hidden_fields(&csrf))
                label for="csv-file" { (t(lang, "csv_file")) }
                input id="csv-file" type="file" name="csv" accept=".csv,text/csv" required aria-describedby="csv-help";
                progress id="csv-progress" max="100" hidden aria-label=(t(lang, "csv_progress")) {}
                p id="csv-status" role="status" {}
                button id="csv-submit" type="submit" { (t(lang, "upload")) }
            }
        }
        section {
            h2 { (t(lang, "enroll")) }
            form method="post" action="/org/enroll" id="enroll-form" {
                (forms::hidden_fields(&csrf))
                label for="enroll-name" { (t(lang, "name")) }
                input id="enroll-name" name="name" required value=(kept.get("name"));
                label for="enroll-contact" { (t(lang, "contact")) }
                input id="enroll-contact" name="contact" value=(kept.get("contact"));
                button id="enroll-submit" type="submit" { (t(lang, "enroll")) }
            }
        }
        section {
            h2 { (t(lang, "publish")) }
            form method="post" action="/org/activity" id="activity-form" {
                (forms::hidden_fields(&csrf))
                label for="activity-title-en" { (t(lang, "title")) " (en)" } input id="activity-title-en" name="title_en" required value=(kept.get("title_en"));
                div.row {
                    div { label for="activity-title-kk" { (t(lang, "title")) " (kk)" } input id="activity-title-kk" name="title_kk" value=(kept.get("title_kk")); }
                    div { label for="activity-title-ru" { (t(lang, "title")) " (ru)" } input id="activity-title-ru" name="title_ru" value=(kept.get("title_ru")); }
                }
                div.row {
                    div { label for="activity-category" { (t(lang, "category")) } select id="activity-category" name="category" { @for c in sagat_verifier::Category::ALL { option value=(c.as_str()) selected[c.as_str() == kept.get("category")] { (i18n::category(lang, c.as_str())) } } } }
                    div { label for="activity-place" { (t(lang, "place")) } input id="activity-place" name="place" value=(kept.get("place")); }
                }
                div.row {
                    div { label for="activity-from" { (t(lang, "from")) } input id="activity-from" name="from" type="date" value=(kept.or("from", &today)) required; }
                    div { label for="activity-to" { (t(lang, "to")) } input id="activity-to" name="to" type="date" value=(kept.or("to", &today)) required; }
                }
                button id="activity-submit" type="submit" { (t(lang, "publish")) }
            }
        }
        }
    };
    let mut resp = super::page_with_head(
        lang,
        t(lang, "org_dash"),
        true,
        html! { script src="/org-upload.js" defer {} },
        body,
    );
    // This page alone runs a script: its own, for the CSV upload's progress.
    resp.headers_mut().insert(
        axum::http::header::CONTENT_SECURITY_POLICY,
        axum::http::HeaderValue::from_static("default-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; script-src 'self'; form-action 'self'; frame-ancestors 'none'"),
    );
    resp
}

/// `/org-upload.js`: the CSV upload's progress on `/org`.
pub(super) async fn upload_script() -> Response {
    use axum::response::IntoResponse;
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("org-upload.js"),
    )
        .into_response()
}

/// `/org/volunteers`: the volunteers this organization enrolled or attested, by name, with a
/// search, their full ids (to copy), hours here, and a new access code for those it enrolled.
pub(super) async fn org_volunteers_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    Query(r): Query<RosterQuery>,
) -> Response {
    let lang = super::lang_of(&headers, &q);
    let Some(org) = org_of(&state, &headers) else {
        return to_signin(lang, &headers);
    };
    let (flash, _) = flash_of(&state, &headers, &q);
    let csrf = csrf::request_token(&state, &headers);
    let search = r.q.unwrap_or_default();
    let roster = ops::volunteers::roster(&state.ops, &org, Some(&search));
    let (heading, suspended) = org_heading(&state, lang, &org);
    let body = html! {
        (org_nav(lang, "/org/volunteers"))
        @if let Some(f) = flash { (f) }
        (heading)
        section {
            h2 { (t(lang, "roster")) " (" (roster.len()) ")" }
            form method="get" action="/org/volunteers" class="inline" role="search" {
                label for="roster-q" class="visually-hidden" { (t(lang, "search_name")) }
                input id="roster-q" name="q" type="search" value=(search) placeholder=(t(lang, "search_name"));
                button type="submit" class="secondary" { (t(lang, "search")) }
            }
            @if roster.is_empty() { p.muted id="roster-empty" { (t(lang, "roster_empty")) } }
            table.cards id="roster" {
                thead { tr { th { (t(lang, "name")) } th { (t(lang, "volunteer_id")) } th { (t(lang, "hours_here")) } th { (t(lang, "last_day")) } th { span.visually-hidden { (t(lang, "actions")) } } } }
                tbody {
                    @for v in &roster {
                        tr data-volunteer=(v.volunteer) {
                            td data-label=(t(lang, "name")) { strong { (v.name.as_deref().unwrap_or(t(lang, "name_erased"))) } }
                            td data-label=(t(lang, "volunteer_id")) { code.mono.select-all { (v.volunteer) } }
                            td data-label=(t(lang, "hours_here")) { (hours_text(lang, v.minutes)) }
                            td data-label=(t(lang, "last_day")) { (v.last_date.as_deref().map(|d| date_text(lang, d)).unwrap_or_default()) }
                            td {
                                div.inline {
                                    a.button href={ "/org?volunteer=" (v.volunteer) "#attest" } { (t(lang, "attest")) }
                                    a.button.secondary href={ "/org/attestations?volunteer=" (v.volunteer) } { (t(lang, "attestations")) }
                                    @if v.enrolled_here && !suspended {
                                        form method="post" action="/org/code" {
                                            (forms::hidden_fields(&csrf))
                                            input type="hidden" name="volunteer" value=(v.volunteer);
                                            button type="submit" class="secondary" { (t(lang, "new_code")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(lang, t(lang, "roster"), true, body)
}

/// `/org/attestations`: newest day first, filtered by volunteer, activity and dates, in pages
/// of [`PER_PAGE`]; each row can be corrected or retracted (a retraction asks to confirm).
pub(super) async fn org_attestations_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    Query(mut filter): Query<ops::attestations::AttestationQuery>,
) -> Response {
    let lang = super::lang_of(&headers, &q);
    let Some(org) = org_of(&state, &headers) else {
        return to_signin(lang, &headers);
    };
    let (mut flash, _) = flash_of(&state, &headers, &q);
    filter.per_page = Some(PER_PAGE);
    let listed = ops::attestations::list(&state.app, &org, &filter);
    let listed = match listed {
        Ok(p) => p,
        Err(e) => {
            flash = Some(super::flash_err(lang, &e));
            let all = ops::attestations::AttestationQuery {
                per_page: Some(PER_PAGE),
                ..Default::default()
            };
            ops::attestations::list(&state.app, &org, &all).unwrap_or(
                ops::attestations::AttestationPage {
                    total: 0,
                    live_minutes: 0,
                    page: 1,
                    pages: 1,
                    rows: Vec::new(),
                },
            )
        }
    };
    let csrf = csrf::request_token(&state, &headers);
    let names: HashMap<String, Option<String>> = ops::volunteers::roster(&state.ops, &org, None)
        .into_iter()
        .map(|v| (v.volunteer, v.name))
        .collect();
    let activities = ops::activities::of_org(&state.app, &org);
    let titles: HashMap<&str, &str> = activities
        .iter()
        .map(|a| (a.activity.as_str(), a.titles.get(lang.code())))
        .collect();
    let (heading, suspended) = org_heading(&state, lang, &org);
    let chosen = |v: &Option<String>| v.clone().unwrap_or_default();
    let page_link = |n: usize| {
        let mut url = format!("/org/attestations?page={n}");
        for (k, v) in [
            ("volunteer", &filter.volunteer),
            ("activity", &filter.activity),
            ("from", &filter.from),
            ("to", &filter.to),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                url.push_str(&format!("&{k}={}", url_escape(v)));
            }
        }
        url
    };
    let body = html! {
        (org_nav(lang, "/org/attestations"))
        @if let Some(f) = flash { (f) }
        (heading)
        section {
            h2 { (t(lang, "attestations")) }
            form method="get" action="/org/attestations" id="filter-form" {
                div.row {
                    div { label for="filter-volunteer" { (t(lang, "volunteer")) }
                        select id="filter-volunteer" name="volunteer" {
                            option value="" { (t(lang, "all")) }
                            @for (id, name) in sorted_names(&names) { option value=(id) selected[Some(id) == filter.volunteer.as_deref()] { (name.unwrap_or(t(lang, "name_erased"))) " · " (id.get(..8).unwrap_or(id)) } }
                        } }
                    div { label for="filter-activity" { (t(lang, "activity")) }
                        select id="filter-activity" name="activity" {
                            option value="" { (t(lang, "all")) }
                            @for a in &activities { option value=(a.activity) selected[Some(a.activity.as_str()) == filter.activity.as_deref()] { (a.titles.get(lang.code())) } }
                        } }
                }
                div.row {
                    div { label for="filter-from" { (t(lang, "from")) } input id="filter-from" name="from" type="date" value=(chosen(&filter.from)); }
                    div { label for="filter-to" { (t(lang, "to")) } input id="filter-to" name="to" type="date" value=(chosen(&filter.to)); }
                }
                button type="submit" class="secondary" id="filter-submit" { (t(lang, "show")) }
            }
            p id="list-summary" data-total=(listed.total) {
                (t(lang, "found")) ": " strong { (listed.total) } " · " (t(lang, "live_hours")) ": " strong { (hours_text(lang, listed.live_minutes)) }
                " · " a href="/org/hours.csv" download id="export-csv" { (t(lang, "export_csv")) }
            }
            table.cards id="attestations" {
                thead { tr { th { (t(lang, "date")) } th { (t(lang, "volunteer")) } th { (t(lang, "activity")) } th { (t(lang, "hours")) } th { span.visually-hidden { (t(lang, "actions")) } } } }
                tbody {
                @for a in &listed.rows {
                    @let name = names.get(&a.volunteer).cloned().flatten();
                    tr data-attestation=(a.attestation) {
                        td data-label=(t(lang, "date")) { (date_text(lang, &a.date)) }
                        td data-label=(t(lang, "volunteer")) { (name.as_deref().unwrap_or(t(lang, "name_erased"))) br; span.muted.mono { (a.volunteer.get(..8).unwrap_or(&a.volunteer)) } }
                        td data-label=(t(lang, "activity")) {
                            (a.activity.as_deref().and_then(|x| titles.get(x).copied()).unwrap_or(t(lang, "none")))
                            @if let Some(c) = &a.category { br; span.muted { (i18n::category(lang, c)) } }
                        }
                        td data-label=(t(lang, "hours")) { (hours_text(lang, a.minutes.into()))
                            @if a.corrected { br; span.muted { (t(lang, "corrected")) } }
                            @if a.retracted { br; span.muted { (t(lang, "retracted")) } } }
                        td {
                            @if !a.retracted && !suspended {
                                details {
                                    summary { (t(lang, "correct")) " / " (t(lang, "retract")) }
                                    form method="post" action={ "/org/attestations/" (a.attestation) "/correct" } {
                                        (forms::hidden_fields(&csrf))
                                        label { (t(lang, "date")) input name="date" type="date" value=(a.date) required; }
                                        label { (t(lang, "hours")) input name="hours" inputmode="decimal" value=(format!("{}:{:02}", a.minutes / 60, a.minutes % 60)) required; }
                                        label { (t(lang, "reason")) input name="reason" required; }
                                        button type="submit" { (t(lang, "correct")) }
                                    }
                                    form method="post" action={ "/org/attestations/" (a.attestation) "/retract" } {
                                        (forms::hidden_fields(&csrf))
                                        label { (t(lang, "reason")) input name="reason" required; }
                                        label.confirm { input type="checkbox" name="confirm" value="yes" required;
                                            " " (t(lang, "confirm_retract")) " " strong { (hours_text(lang, a.minutes.into())) } " — " (name.as_deref().unwrap_or(t(lang, "name_erased"))) }
                                        button type="submit" class="danger" { (t(lang, "retract")) }
                                    }
                                }
                            }
                        }
                    }
                }
                }
            }
            @if listed.pages > 1 {
                nav.pager aria-label=(t(lang, "pages")) {
                    @if listed.page > 1 { a href=(page_link(listed.page - 1)) rel="prev" { "← " (t(lang, "newer")) } }
                    span id="page-of" { (t(lang, "page")) " " (listed.page) " / " (listed.pages) }
                    @if listed.page < listed.pages { a href=(page_link(listed.page + 1)) rel="next" id="next-page" { (t(lang, "older")) " →" } }
                }
            }
        }
    };
    page(lang, t(lang, "attestations"), true, body)
}

fn sorted_names(names: &HashMap<String, Option<String>>) -> Vec<(&str, Option<&str>)> {
    let mut v: Vec<_> = names
        .iter()
        .map(|(id, n)| (id.as_str(), n.as_deref()))
        .collect();
    v.sort_by_cached_key(|(id, n)| (n.is_none(), n.map(str::to_lowercase), id.to_string()));
    v
}

/// A query value for a link (`application/x-www-form-urlencoded`).
fn url_escape(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// `/org/hours.csv`: the same export as `GET /api/v1/orgs/{org}/hours.csv`.
pub(super) async fn org_hours_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = super::lang_of(&headers, &q);
    let Some(org) = org_of(&state, &headers) else {
        return to_signin(lang, &headers);
    };
    match ops::attestations::hours_csv(&state.app, &org) {
        Ok(csv) => crate::http::headers::csv_attachment(&format!("{org}-hours.csv"), csv),
        Err(e) => super::error_page(lang, &e),
    }
}

pub(super) async fn org_attest(
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
        PageRole::Org,
        "/org",
        move |org, lang| async move {
            let input = ops::attestations::AttestInput {
                volunteer: opt(f, "volunteer_id")
                    .map(|v| v.to_ascii_lowercase())
                    .or_else(|| opt(f, "volunteer"))
                    .unwrap_or_default(),
                date: opt(f, "date").unwrap_or_default(),
                hours: ops::attestations::HoursInput::Hours(opt(f, "hours").unwrap_or_default()),
                activity: opt(f, "activity"),
                role: opt(f, "role"),
                note: opt(f, "note"),
            };
            let minutes = ops::attestations::minutes_of(input.hours.clone()).unwrap_or(0);
            let key = form_key(nonce_of(f));
            let done = ops::attestations::attest(&state.ops, &org, input, key.as_ref()).await?;
            Ok(html! {
                (t(lang, "attested")) " " strong { (hours_text(lang, minutes.into())) } " · "
                span.mono id="attested-id" { (done.id) } " · #" (done.index)
            })
        },
    )
    .await
}

pub(super) async fn org_enroll(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    csrf::CsrfForm(f): csrf::CsrfForm,
) -> Response {
    let (state, f) = (&state, &f);
    post_as(state, &headers, &q, f, PageRole::Org, "/org", move |org, lang| async move {
        let e = ops::volunteers::enroll(
            &state.ops,
            &org,
            &f.get("name").cloned().unwrap_or_default(),
            opt(f, "contact"),
        )
        .await?;
        Ok(html! {
            p { (t(lang, "enrolled")) }
            p { (t(lang, "access_code")) ": " code.access-code id="new-access-code" { (e.access_code) } }
            p.muted { (t(lang, "volunteer_id")) ": " code id="new-volunteer-id" { (e.volunteer) } }
        })
    })
    .await
}

pub(super) async fn org_reissue_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    csrf::CsrfForm(f): csrf::CsrfForm,
) -> Response {
    let id = opt(&f, "volunteer").unwrap_or_default();
    let (state, f) = (&state, &f);
    post_as(state, &headers, &q, f, PageRole::Org, "/org/volunteers", move |org, lang| async move {
        let code = ops::volunteers::reissue_access_code(&state.ops, &org, &id, false, "volunteer")?
            .access_code;
        let name = state.app.directory.get(&id).ok().flatten().map(|r| r.name);
        Ok(html! {
            p { (t(lang, "access_code")) @if let Some(n) = &name { " — " (n) } ": " code.access-code id="new-access-code" { (code) } }
            p.muted { (t(lang, "old_code_stopped")) }
        })
    })
    .await
}

pub(super) async fn org_activity(
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
        PageRole::Org,
        "/org",
        move |org, lang| async move {
            let req = ops::activities::PublishActivity {
                title_en: f.get("title_en").cloned().unwrap_or_default(),
                title_kk: opt(f, "title_kk"),
                title_ru: opt(f, "title_ru"),
                category: f.get("category").cloned().unwrap_or_default(),
                place: opt(f, "place"),
                from: f.get("from").cloned().unwrap_or_default(),
                to: f.get("to").cloned().unwrap_or_default(),
            };
            let key = form_key(nonce_of(f));
            let done = ops::activities::publish(&state.ops, &org, req, key.as_ref()).await?;
            Ok(html! { (t(lang, "published")) " " span.mono { (done.id) } })
        },
    )
    .await
}

pub(super) async fn org_retract(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    Path(id): Path<String>,
    csrf::CsrfForm(f): csrf::CsrfForm,
) -> Response {
    let (state, f) = (&state, &f);
    post_as(
        state,
        &headers,
        &q,
        f,
        PageRole::Org,
        "/org/attestations",
        move |org, lang| async move {
            super::confirmed(f, "that these hours are taken off the volunteer's record")?;
            let reason = ops::fields::Reason::new(f.get("reason").cloned().unwrap_or_default());
            let key = form_key(nonce_of(f));
            ops::attestations::retract(&state.ops, &org, &id, &reason, key.as_ref()).await?;
            Ok(html! { (t(lang, "retracted_done")) })
        },
    )
    .await
}

pub(super) async fn org_correct(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    Path(id): Path<String>,
    csrf::CsrfForm(f): csrf::CsrfForm,
) -> Response {
    let (state, f) = (&state, &f);
    post_as(
        state,
        &headers,
        &q,
        f,
        PageRole::Org,
        "/org/attestations",
        move |org, lang| async move {
            let input = ops::attestations::CorrectInput {
                date: f.get("date").cloned().unwrap_or_default(),
                hours: ops::attestations::HoursInput::Hours(opt(f, "hours").unwrap_or_default()),
                reason: ops::fields::Reason::new(f.get("reason").cloned().unwrap_or_default()),
            };
            let key = form_key(nonce_of(f));
            ops::attestations::correct(&state.ops, &org, &id, input, key.as_ref()).await?;
            Ok(html! { (t(lang, "corrected_done")) })
        },
    )
    .await
}

pub(super) async fn org_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    mut mp: Multipart,
) -> Response {
    let lang = super::lang_of(&headers, &q);
    let Some(org) = org_of(&state, &headers) else {
        return to_signin(lang, &headers);
    };
    let mut csv = None;
    let mut form = Fields::new();
    let mut too_large = None;
    loop {
        match mp.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("csv") => match field.bytes().await {
                    Ok(b) => csv = Some(b),
                    Err(e) => too_large = Some(e.body_text()),
                },
                Some(name @ ("nonce" | csrf::FIELD)) => {
                    let name = name.to_string();
                    if let Ok(v) = field.text().await {
                        form.insert(name, v);
                    }
                }
                _ => {}
            },
            Ok(None) => break,
            Err(e) => {
                too_large = Some(e.body_text());
                break;
            }
        }
    }
    if let Err(why) = csrf::check_token(&state, &headers, form.get(csrf::FIELD).map(String::as_str))
    {
        return csrf::refusal_page(lang, why);
    }
    let limit = state.max_upload_bytes;
    let r = async {
        match (csv, too_large) {
            (_, Some(e)) => Err(ops::Error::new(ops::Kind::TooLarge, format!("{e} (the limit is {} MiB)", limit / (1024 * 1024))).field("csv").rule("body-size")),
            (Some(bytes), None) => ops::csv_upload::upload(&state.ops, &org, &bytes, form_key(nonce_of(&form)).as_ref()).await.map(|ok| html! {
                span id="csv-rows" data-rows=(ok.rows) { (t(lang, "csv_added").replace("{n}", &ok.rows.to_string()).replace("{h}", &hours_text(lang, ok.minutes))) }
                " " span.muted { "#" (ok.first_index) "…" (ok.last_index) }
            }),
            (None, None) => Err(ops::Error::invalid("csv", "required", "choose a CSV file")),
        }
    };
    post_once(&state, &headers, lang, &form, "/org", r).await
}
