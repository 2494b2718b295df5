//! Router tests of `sagat serve` without a port (tower `oneshot`): every role rule, including
//! the refusals, problem+json shapes, CSV row errors, the tlog-tiles read paths, proofs, the
//! OpenAPI document, limits and metrics.

use sagat::datadir::{self, tokens};
use sagat::{http, ops};

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt as _;

use http::{router, AppState, ServeOptions};

/// With `SAGAT_TEST_SERVICE_ON_POSTGRES` set, every data directory of this suite keeps its log
/// on PostgreSQL: in a database of its own on the test cluster (`SAGAT_TEST_POSTGRES`), named
/// after the directory. scripts/test runs the suite both ways.
fn test_store(data: &std::path::Path) -> Option<String> {
    use sha2::Digest as _;
    std::env::var_os("SAGAT_TEST_SERVICE_ON_POSTGRES")?;
    let admin = std::env::var("SAGAT_TEST_POSTGRES").expect(
        "SAGAT_TEST_SERVICE_ON_POSTGRES needs a PostgreSQL server in SAGAT_TEST_POSTGRES (scripts/test starts one)",
    );
    let digest = sha2::Sha256::digest(data.as_os_str().as_encoded_bytes());
    let name = format!("sagat_svc_{}", hex::encode(&digest[..8]));
    // On a thread of its own: the tests run on async threads, where the blocking client panics.
    let create = format!("CREATE DATABASE {name}");
    let admin_url = admin.clone();
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&admin_url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to SAGAT_TEST_POSTGRES ({admin_url}): {e}"));
        match c.batch_execute(&create) {
            Ok(()) => {}
            Err(e) if e.code() == Some(&postgres::error::SqlState::DUPLICATE_DATABASE) => {}
            Err(e) => panic!("{create}: {e}"),
        }
    })
    .join()
    .unwrap();
    Some(format!("{admin} dbname={name}"))
}

/// Is this run's store PostgreSQL (everything mutable in the database, not in files)?
fn on_postgres() -> bool {
    std::env::var_os("SAGAT_TEST_SERVICE_ON_POSTGRES").is_some()
}

/// `org`'s server-held key as PKCS#8 PEM, read where this run's store keeps it (on files, it
/// must be a private file of the data directory; on PostgreSQL, no file is written).
fn server_key_pem(app: &datadir::App, org: &str) -> String {
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    let path = app.dir.join("orgkeys").join(format!("{org}.key"));
    if on_postgres() {
        assert!(!path.exists(), "{} was written", path.display());
        let key = datadir::orgkeys::read(app, org)
            .unwrap()
            .expect("a server-held key");
        return key.to_pkcs8_pem(Default::default()).unwrap().to_string();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    std::fs::read_to_string(&path).unwrap()
}

/// `datadir::init` on this run's store.
fn init_test(data: &std::path::Path, config: datadir::Config) -> datadir::App {
    datadir::init_at(data, config, datadir::now(), test_store(data).as_deref()).unwrap()
}

/// `datadir::open` on this run's store.
fn open_test(data: &std::path::Path) -> anyhow::Result<datadir::App> {
    datadir::open_at(data, test_store(data).as_deref())
}

struct Env {
    _dir: tempfile::TempDir,
    state: AppState,
    op: String,
}

fn env_with(opts: ServeOptions) -> Env {
    env_in(&std::env::temp_dir(), opts)
}

/// An initialized service whose data directory is a fresh directory under `parent`.
fn env_in(parent: &std::path::Path, opts: ServeOptions) -> Env {
    let dir = tempfile::tempdir_in(parent).unwrap();
    let data = dir.path().join("data");
    let a = init_test(&data, datadir::Config::default());
    let state = AppState::new(a, &opts).unwrap();
    let op = state
        .ensure_operator_token()
        .unwrap()
        .expect("first start mints a token");
    assert!(
        state.ensure_operator_token().unwrap().is_none(),
        "minted only once"
    );
    Env {
        _dir: dir,
        state,
        op,
    }
}

fn env() -> Env {
    env_with(ServeOptions {
        rate_limit_per_minute: 0,
        ..ServeOptions::default()
    })
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// Asserts a problem document with this status, field and rule.
    fn problem(&self, status: u16, field: Option<&str>, rule: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        assert_eq!(
            self.headers.get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json",
            "{}",
            self.text()
        );
        let p = self.json();
        assert_eq!(p["status"], status);
        assert!(p["type"]
            .as_str()
            .unwrap()
            .starts_with("https://sagat.example/problems/"));
        assert!(!p["title"].as_str().unwrap().is_empty());
        assert!(!p["detail"].as_str().unwrap().is_empty());
        assert_eq!(p["rule"].as_str(), Some(rule), "{p}");
        if let Some(f) = field {
            assert_eq!(p["field"].as_str(), Some(f), "{p}");
        }
        p
    }
}

async fn send(state: &AppState, req: Request<Body>) -> Resp {
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

enum Auth<'a> {
    None,
    Bearer(&'a str),
    Cookie(&'a str),
}

async fn call(
    state: &AppState,
    method: Method,
    uri: &str,
    auth: Auth<'_>,
    body: Option<Value>,
) -> Resp {
    let mut b = Request::builder().method(method).uri(uri);
    match auth {
        Auth::None => {}
        Auth::Bearer(t) => b = b.header(header::AUTHORIZATION, format!("Bearer {t}")),
        Auth::Cookie(c) => b = b.header(header::COOKIE, c),
    }
    let req = match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(&v).unwrap()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    send(state, req).await
}

async fn raw(state: &AppState, uri: &str, token: &str, content_type: &str, body: Vec<u8>) -> Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    send(state, req).await
}

/// Registers an organization with a server-held key; returns its token.
async fn org(e: &Env, id: &str) -> String {
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs",
        Auth::Bearer(&e.op),
        Some(json!({"id": id, "name_en": format!("{id} org"), "name_kk": "Ұйым"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["server_holds_key"], true);
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/orgs/{id}/tokens"),
        Auth::Bearer(&e.op),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["token"].as_str().unwrap().to_string()
}

/// Enrolls a volunteer for `org`; returns (id, access code).
async fn volunteer(e: &Env, org: &str, token: &str, name: &str) -> (String, String) {
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/orgs/{org}/volunteers"),
        Auth::Bearer(token),
        Some(json!({"name": name})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let j = r.json();
    (
        j["volunteer"].as_str().unwrap().to_string(),
        j["access_code"].as_str().unwrap().to_string(),
    )
}

/// Exchanges an access code for a session; returns the `Cookie` header value.
async fn session(e: &Env, code: &str) -> String {
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/session",
        Auth::None,
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let set = r
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    set.split(';').next().unwrap().to_string()
}

/// The session secret of a `sagat_session=…` cookie, for `Authorization: Bearer` (the API's
/// writes never take the cookie).
fn bearer_of(cookie: &str) -> &str {
    cookie.strip_prefix("sagat_session=").unwrap_or(cookie)
}

fn yesterday() -> String {
    sagat_verifier::format_date((datadir::now() / 86_400) as i32 - 1)
}

async fn attest(e: &Env, org: &str, token: &str, vol: &str, minutes: u32) -> Resp {
    call(
        &e.state,
        Method::POST,
        &format!("/api/v1/orgs/{org}/attestations"),
        Auth::Bearer(token),
        Some(json!({"volunteer": vol, "date": yesterday(), "minutes": minutes})),
    )
    .await
}

/// Issues a certificate as the signed-in volunteer and returns the `Issued` answer.
async fn issue_certificate(e: &Env, v: &str, s: &str, body: Value) -> Value {
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/volunteers/{v}/certificates"),
        Auth::Bearer(bearer_of(s)),
        Some(body),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()
}

/// The signed-in volunteer's certificate list.
async fn certificates(e: &Env, v: &str, s: &str) -> Value {
    call(
        &e.state,
        Method::GET,
        &format!("/api/v1/volunteers/{v}/certificates"),
        Auth::Cookie(s),
        None,
    )
    .await
    .json()
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn missing_or_unknown_credentials_are_401_problems() {
    let e = env();
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs",
        Auth::None,
        Some(json!({"id": "x1", "name_en": "X"})),
    )
    .await;
    r.problem(401, Some("authorization"), "valid-credential");
    assert!(r.headers.get(header::WWW_AUTHENTICATE).is_some());
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs",
        Auth::Bearer("sgt-op-forged"),
        Some(json!({"id": "x1", "name_en": "X"})),
    )
    .await;
    r.problem(401, Some("authorization"), "valid-credential");
    let r = call(
        &e.state,
        Method::GET,
        "/api/v1/volunteers/00000000000000000000000000000000/hours",
        Auth::Cookie("sagat_session=sgt-s-forged"),
        None,
    )
    .await;
    r.problem(401, Some("authorization"), "valid-credential");
    // A token is not a session and a session is not a bearer token.
    let cookie = format!("sagat_session={}", e.op);
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs",
        Auth::Cookie(&cookie),
        Some(json!({"id": "x1", "name_en": "X"})),
    )
    .await;
    r.problem(401, None, "valid-credential");
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/session",
        Auth::None,
        Some(json!({"code": "sgt-vol-nope"})),
    )
    .await;
    r.problem(401, Some("code"), "valid-credential");
}

/// Authorization comes before the body on every write route of the OpenAPI document: with an
/// empty or malformed body, no credential is 401 and the wrong one is 403 (never 400/422).
#[tokio::test]
async fn every_write_route_authorizes_before_it_reads_the_body() {
    let e = env();
    let token_a = org(&e, "org-a").await;
    let token_b = org(&e, "org-b").await;
    let (_, code_a) = volunteer(&e, "org-a", &token_a, "Aru").await;
    let (vol_b, _) = volunteer(&e, "org-b", &token_b, "Bolat").await;
    let session_a = session(&e, &code_a).await;
    let doc = call(&e.state, Method::GET, "/api/openapi.json", Auth::None, None)
        .await
        .json();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let write = ["post", "put", "patch", "delete"].contains(&method.as_str());
            // Signing in and out are for callers without (or with any) credential.
            if !write || op.get("security").is_none() || path == "/api/v1/session" {
                continue;
            }
            let uri = path
                .replace("{org}", "org-b")
                .replace(
                    "{id}",
                    if path.starts_with("/api/v1/volunteers/") {
                        &vol_b
                    } else {
                        "x1"
                    },
                )
                .replace("{cid}", "x1");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            for body in [json!({}), json!({"unexpected": [1, 2]})] {
                let r = call(
                    &e.state,
                    method.clone(),
                    &uri,
                    Auth::None,
                    Some(body.clone()),
                )
                .await;
                assert_eq!(
                    r.status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {uri} without a token: {}",
                    r.text()
                );
                for (who, secret) in [
                    ("org-a's token", token_a.as_str()),
                    ("volunteer a's session", bearer_of(&session_a)),
                ] {
                    let r = call(
                        &e.state,
                        method.clone(),
                        &uri,
                        Auth::Bearer(secret),
                        Some(body.clone()),
                    )
                    .await;
                    assert!(
                        r.status == StatusCode::FORBIDDEN || r.status == StatusCode::NOT_FOUND,
                        "{method} {uri} with {who}: {} {}",
                        r.status,
                        r.text()
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 15,
        "only {checked} write routes in the OpenAPI document"
    );
}

#[tokio::test]
async fn operator_only_actions_refuse_organizations_and_volunteers() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (_, code) = volunteer(&e, "org-a", &a, "Әлия Сәрсенбаева").await;
    let cookie = session(&e, &code).await;
    for auth in [Auth::Bearer(&a), Auth::Bearer(bearer_of(&cookie))] {
        let r = call(
            &e.state,
            Method::POST,
            "/api/v1/orgs",
            auth,
            Some(json!({"id": "org-c", "name_en": "C"})),
        )
        .await;
        r.problem(403, None, "role-operator");
    }
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/tokens",
        Auth::Bearer(&a),
        None,
    )
    .await;
    r.problem(403, None, "role-operator");
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/suspend",
        Auth::Bearer(&a),
        Some(json!({"reason": "x"})),
    )
    .await;
    r.problem(403, None, "role-operator");
    let r = call(&e.state, Method::POST, "/api/v1/issuers", Auth::Bearer(&a),
        Some(json!({"issuer": "x", "name": "X", "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}))).await;
    r.problem(403, None, "role-operator");
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/credentials/00000000000000000000000000000000/revoke",
        Auth::Bearer(bearer_of(&cookie)),
        Some(json!({"reason": "x"})),
    )
    .await;
    r.problem(403, None, "role-operator");
    // The operator cannot act as an organization either.
    let r = attest(&e, "org-a", &e.op, &"0".repeat(32), 60).await;
    r.problem(403, None, "role-organization");
}

#[tokio::test]
async fn organization_a_can_never_act_for_organization_b() {
    let e = env();
    let a = org(&e, "org-a").await;
    let b = org(&e, "org-b").await;
    let (vol, _) = volunteer(&e, "org-b", &b, "Нұрлан Қасымов").await;
    let r = attest(&e, "org-b", &a, &vol, 60).await;
    r.problem(403, Some("org"), "org-scope");
    let r = call(
        &e.state,
        Method::GET,
        "/api/v1/orgs/org-b/attestations",
        Auth::Bearer(&a),
        None,
    )
    .await;
    r.problem(403, Some("org"), "org-scope");
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-b/volunteers",
        Auth::Bearer(&a),
        Some(json!({"name": "X"})),
    )
    .await;
    r.problem(403, Some("org"), "org-scope");
    let r = call(&e.state, Method::POST, "/api/v1/orgs/org-b/activities", Auth::Bearer(&a),
        Some(json!({"title_en": "T", "category": "social", "from": "2025-01-01", "to": "2025-01-02"}))).await;
    r.problem(403, Some("org"), "org-scope");
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/orgs/org-b/volunteers/{vol}/access-code"),
        Auth::Bearer(&a),
        None,
    )
    .await;
    r.problem(403, Some("org"), "org-scope");
    // Org A may not re-issue codes of a volunteer org B enrolled, even on its own path.
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/orgs/org-a/volunteers/{vol}/access-code"),
        Auth::Bearer(&a),
        None,
    )
    .await;
    r.problem(403, Some("id"), "enrolling-org");
    // B attests; A cannot retract or correct it through its own path either: the ledger's
    // attesting-organization rule refuses, and nothing changes.
    let r = attest(&e, "org-b", &b, &vol, 90).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let att = r.json()["id"].as_str().unwrap().to_string();
    let size = e.state.app.ledger.size();
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/orgs/org-a/attestations/{att}/retract"),
        Auth::Bearer(&a),
        Some(json!({"reason": "mine now"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.json()["rule"].is_string());
    assert_eq!(r.json()["event_type"], "AttestationRetracted");
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/orgs/org-a/attestations/{att}/correct"),
        Auth::Bearer(&a),
        Some(json!({"date": yesterday(), "minutes": 10, "reason": "x"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(e.state.app.ledger.size(), size, "refusals append nothing");
    // B's own retraction works, once.
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/orgs/org-b/attestations/{att}/retract"),
        Auth::Bearer(&b),
        Some(json!({"reason": "duplicate"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/orgs/org-b/attestations/{att}/retract"),
        Auth::Bearer(&b),
        Some(json!({"reason": "again"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    // B's listing shows it retracted; A's listing does not show it at all.
    let r = call(
        &e.state,
        Method::GET,
        "/api/v1/orgs/org-b/attestations",
        Auth::Bearer(&b),
        None,
    )
    .await;
    let list = r.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["retracted"], true);
    let r = call(
        &e.state,
        Method::GET,
        "/api/v1/orgs/org-a/attestations",
        Auth::Bearer(&a),
        None,
    )
    .await;
    assert_eq!(r.json().as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_volunteer_never_sees_another_volunteer() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v1, c1) = volunteer(&e, "org-a", &a, "Айгерім Жұмабекова").await;
    let (v2, _c2) = volunteer(&e, "org-a", &a, "Дәулет Оспанов").await;
    assert_eq!(
        attest(&e, "org-a", &a, &v1, 120).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        attest(&e, "org-a", &a, &v2, 45).await.status,
        StatusCode::CREATED
    );
    let s1 = session(&e, &c1).await;
    let r = call(
        &e.state,
        Method::GET,
        &format!("/api/v1/volunteers/{v1}/hours"),
        Auth::Cookie(&s1),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["total_minutes"], 120);
    for path in ["hours", "certificates"] {
        let r = call(
            &e.state,
            Method::GET,
            &format!("/api/v1/volunteers/{v2}/{path}"),
            Auth::Cookie(&s1),
            None,
        )
        .await;
        r.problem(403, Some("volunteer"), "own-data-only");
    }
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/volunteers/{v2}/certificates"),
        Auth::Bearer(bearer_of(&s1)),
        Some(json!({"lang": "en"})),
    )
    .await;
    r.problem(403, Some("volunteer"), "own-data-only");
    // Organizations and the operator do not read a volunteer's hours through this endpoint.
    let r = call(
        &e.state,
        Method::GET,
        &format!("/api/v1/volunteers/{v1}/hours"),
        Auth::Bearer(&a),
        None,
    )
    .await;
    r.problem(403, None, "role-volunteer");
    // Volunteers cannot act as organizations.
    let r = attest(&e, "org-a", "", &v1, 60).await;
    r.problem(401, None, "valid-credential");
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/attestations",
        Auth::Bearer(bearer_of(&s1)),
        Some(json!({"volunteer": v1, "date": yesterday(), "minutes": 600})),
    )
    .await;
    r.problem(403, None, "role-organization");
    // A re-issued code replaces the old one.
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/orgs/org-a/volunteers/{v1}/access-code"),
        Auth::Bearer(&a),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let fresh = r.json()["access_code"].as_str().unwrap().to_string();
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/session",
        Auth::None,
        Some(json!({"code": c1})),
    )
    .await;
    r.problem(401, Some("code"), "valid-credential");
    // (The re-issue also ended s1; the sign-out below uses a session of the new code.)
    // The code is short and grouped, and is read as a person types it: lower case, spaces
    // for hyphens, the letter O for the digit 0.
    assert_eq!(fresh.len(), 19, "{fresh}");
    assert!(!fresh.contains(['I', 'L', 'O', 'U']), "{fresh}");
    let typed = fresh.replace('-', " ").replace('0', "O").to_lowercase();
    let _typed_session = session(&e, &typed).await;
    let s_fresh = session(&e, &fresh).await;
    // Signing out ends the session.
    let r = call(
        &e.state,
        Method::DELETE,
        "/api/v1/session",
        Auth::Cookie(&s_fresh),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = call(
        &e.state,
        Method::GET,
        &format!("/api/v1/volunteers/{v1}/hours"),
        Auth::Cookie(&s_fresh),
        None,
    )
    .await;
    r.problem(401, None, "valid-credential");
}

#[tokio::test]
async fn bad_fields_are_named_with_their_rule() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v, _) = volunteer(&e, "org-a", &a, "Аружан").await;
    let size = e.state.app.ledger.size();
    let r = attest(&e, "org-a", &a, &v, 0).await;
    r.problem(422, Some("minutes"), "minutes");
    let r = attest(&e, "org-a", &a, &v, 1441).await;
    r.problem(422, Some("minutes"), "minutes");
    let r = attest(&e, "org-a", &a, "not-an-id", 60).await;
    r.problem(422, Some("volunteer"), "id-format");
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/attestations",
        Auth::Bearer(&a),
        Some(json!({"volunteer": v, "date": "2025-02-30", "minutes": 60})),
    )
    .await;
    r.problem(422, Some("date"), "date-format");
    // Missing and unknown fields are named too.
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/attestations",
        Auth::Bearer(&a),
        Some(json!({"volunteer": v, "minutes": 60})),
    )
    .await;
    let p = r.problem(422, Some("date"), "schema");
    assert!(p["detail"].as_str().unwrap().contains("date"));
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/attestations",
        Auth::Bearer(&a),
        Some(json!({"volunteer": v, "date": yesterday(), "minutes": 60, "colour": "red"})),
    )
    .await;
    r.problem(422, Some("colour"), "schema");
    // Rules only the ledger knows: a future date, an unknown volunteer, the daily limit.
    let tomorrow = sagat_verifier::format_date((datadir::now() / 86_400) as i32 + 2);
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/attestations",
        Auth::Bearer(&a),
        Some(json!({"volunteer": v, "date": tomorrow, "minutes": 60})),
    )
    .await;
    let p = r.problem(422, Some("date"), r.json()["rule"].as_str().unwrap());
    assert_eq!(p["event_type"], "HoursAttested");
    let r = attest(&e, "org-a", &a, &"ab".repeat(16), 60).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["field"], "volunteer", "{}", r.text());
    assert_eq!(
        attest(&e, "org-a", &a, &v, 1000).await.status,
        StatusCode::CREATED
    );
    let r = attest(&e, "org-a", &a, &v, 500).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["field"], "minutes", "{}", r.text());
    assert_eq!(
        e.state.app.ledger.size(),
        size + 1,
        "only the valid attestation was appended"
    );
    // Malformed JSON and the wrong content type.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/orgs/org-a/attestations")
        .header(header::AUTHORIZATION, format!("Bearer {a}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    send(&e.state, req)
        .await
        .problem(400, None, "well-formed-body");
    let r = raw(
        &e.state,
        "/api/v1/orgs/org-a/attestations",
        &a,
        "text/plain",
        b"{}".to_vec(),
    )
    .await;
    r.problem(415, Some("content-type"), "json-body");
    // Unknown paths are problems too.
    call(
        &e.state,
        Method::GET,
        "/api/v1/nothing-here",
        Auth::None,
        None,
    )
    .await
    .problem(404, Some("path"), "exists");
}

fn signed(body: sagat_verifier::EventBody, key: &ed25519_dalek::SigningKey) -> Vec<u8> {
    let ev = sagat_verifier::Event {
        v: sagat_verifier::EVENT_VERSION,
        id: datadir::new_id(),
        created: datadir::now(),
        body,
    };
    sagat_verifier::sign_event(&ev, key)
}

#[tokio::test]
async fn pre_signed_events_from_an_organization_that_keeps_its_key() {
    let e = env();
    let key = datadir::generate_key();
    let pk = sagat_verifier::public_key_base64(&key.verifying_key());
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs",
        Auth::Bearer(&e.op),
        Some(json!({"id": "own-key", "name_en": "Own key", "public_key": pk})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["server_holds_key"], false);
    assert!(!e.state.app.dir.join("orgkeys/own-key.key").exists());
    let tok = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/own-key/tokens",
        Auth::Bearer(&e.op),
        None,
    )
    .await
    .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let other = org(&e, "org-b").await;
    // Convenience endpoints need a server-held key.
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/own-key/volunteers",
        Auth::Bearer(&tok),
        Some(json!({"name": "X"})),
    )
    .await;
    r.problem(409, Some("org"), "server-held-key");
    let vol = datadir::new_id();
    let enroll = signed(
        sagat_verifier::EventBody::VolunteerEnrolled(sagat_verifier::VolunteerEnrolled {
            volunteer: vol.clone(),
            org: Some("own-key".into()),
        }),
        &key,
    );
    let r = raw(
        &e.state,
        "/api/v1/orgs/own-key/events",
        &tok,
        "application/cose",
        enroll.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let first = r.json()["index"].as_u64().unwrap();
    // Resending the identical bytes is idempotent: same index, nothing new.
    let r = raw(
        &e.state,
        "/api/v1/orgs/own-key/events",
        &tok,
        "application/cose",
        enroll,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["index"].as_u64().unwrap(), first);
    assert_eq!(r.json()["duplicate"], true);
    let att = signed(
        sagat_verifier::EventBody::HoursAttested(sagat_verifier::HoursAttested {
            attestation: datadir::new_id(),
            org: "own-key".into(),
            volunteer: vol.clone(),
            activity: None,
            date: yesterday(),
            minutes: 150,
            role: None,
            note: None,
        }),
        &key,
    );
    // Org B's token cannot post own-key's events, even to its own path.
    let r = raw(
        &e.state,
        "/api/v1/orgs/org-b/events",
        &other,
        "application/cose",
        att.clone(),
    )
    .await;
    r.problem(403, Some("org"), "org-scope");
    let r = raw(
        &e.state,
        "/api/v1/orgs/own-key/events",
        &tok,
        "application/cose",
        att,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // An event signed with a key that is not the organization's is refused by the ledger.
    let forged = signed(
        sagat_verifier::EventBody::HoursAttested(sagat_verifier::HoursAttested {
            attestation: datadir::new_id(),
            org: "own-key".into(),
            volunteer: vol,
            activity: None,
            date: yesterday(),
            minutes: 10,
            role: None,
            note: None,
        }),
        &datadir::generate_key(),
    );
    let r = raw(
        &e.state,
        "/api/v1/orgs/own-key/events",
        &tok,
        "application/cose",
        forged,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["event_type"], "HoursAttested");
    // Operator events cannot be posted by organizations; garbage is named.
    let op_event = signed(
        sagat_verifier::EventBody::OrganizationSuspended(
            sagat_verifier::OrganizationStatusChanged {
                org: "org-b".into(),
                reason: sagat_verifier::FreeText::commit(&[7; 32], "x"),
            },
        ),
        &e.state.app.operator_key,
    );
    raw(
        &e.state,
        "/api/v1/orgs/own-key/events",
        &tok,
        "application/cose",
        op_event.clone(),
    )
    .await
    .problem(403, Some("body"), "role-organization");
    // The same event untagged, and with an unprotected parameter: the envelope rule, named.
    let at = 3 + usize::from(op_event[2] - 0x40);
    for bad in [
        op_event[1..].to_vec(),
        [&op_event[..at], &[0xA1, 0x05, 0x40], &op_event[at + 1..]].concat(),
    ] {
        let r = raw(
            &e.state,
            "/api/v1/orgs/own-key/events",
            &tok,
            "application/cose",
            bad,
        )
        .await;
        r.problem(422, Some("body"), "cose-envelope");
    }
    raw(
        &e.state,
        "/api/v1/orgs/own-key/events",
        &tok,
        "application/cose",
        b"garbage".to_vec(),
    )
    .await
    .problem(422, Some("body"), "cose-envelope");
}

/// CSV uploads take a permit (`max_csv_uploads`): while every permit is taken, an upload waits
/// and appends nothing; once one is free it goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_uploads_wait_for_a_free_permit() {
    let e = env_with(ServeOptions {
        rate_limit_per_minute: 0,
        max_csv_uploads: 1,
        ..ServeOptions::default()
    });
    let a = org(&e, "org-a").await;
    let (v, _) = volunteer(&e, "org-a", &a, "Ерлан").await;
    let size = e.state.app.ledger.size();
    let held = e.state.csv_uploads.clone().acquire_owned().await.unwrap();
    let (state, token) = (e.state.clone(), a.clone());
    let csv = format!("volunteer,date,hours\n{v},{},2\n", yesterday());
    let upload = tokio::spawn(async move {
        raw(
            &state,
            "/api/v1/orgs/org-a/attestations/csv",
            &token,
            "text/csv",
            csv.into_bytes(),
        )
        .await
    });
    // A one-row upload takes milliseconds; this one waits for the permit however long it is held.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!upload.is_finished(), "the upload ran without a permit");
    assert_eq!(e.state.app.ledger.size(), size);
    drop(held);
    let r = upload.await.unwrap();
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(e.state.app.ledger.size(), size + 1);
}

#[tokio::test]
async fn csv_upload_lists_every_bad_row_and_appends_nothing_or_everything() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v1, _) = volunteer(&e, "org-a", &a, "Ерлан").await;
    let (v2, _) = volunteer(&e, "org-a", &a, "Мадина").await;
    let d = yesterday();
    let size = e.state.app.ledger.size();
    let bad = format!(
        "volunteer,date,hours,activity,role,note\n{v1},{d},2,,steward,\nnot-an-id,{d},1,,,\n{v2},{d},1.5,,,\n{v2},2025-13-01,1,,,\n{v1},{d},25,,,\n{},{d},1,,,\n",
        "cd".repeat(16)
    );
    let r = raw(
        &e.state,
        "/api/v1/orgs/org-a/attestations/csv",
        &a,
        "text/csv",
        bad.into_bytes(),
    )
    .await;
    let p = r.problem(422, None, "csv-all-rows-valid");
    let errors = p["errors"].as_array().unwrap();
    let lines: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    // The rows that parse are dry-run too: line 7's unknown volunteer comes in the same answer.
    assert_eq!(lines, vec![3, 5, 6, 7], "{p}");
    assert_eq!(errors[0]["field"], "volunteer");
    assert_eq!(errors[1]["field"], "date");
    assert_eq!(errors[2]["field"], "hours");
    assert_eq!(errors[3]["rule"], "volunteer-exists");
    assert_eq!(e.state.app.ledger.size(), size, "nothing appended");
    // Syntactically fine, but the ledger refuses lines 3 and 5: unknown volunteers. The append
    // stops at the first; the dry run after it names both.
    let ledger_bad = format!(
        "volunteer,date,hours\n{v1},{d},2\n{},{d},1\n{v2},{d},1\n{},{d},1\n",
        "cd".repeat(16),
        "ce".repeat(16)
    );
    let r = raw(
        &e.state,
        "/api/v1/orgs/org-a/attestations/csv",
        &a,
        "text/csv",
        ledger_bad.into_bytes(),
    )
    .await;
    let p = r.problem(422, None, "csv-all-rows-valid");
    let lines: Vec<u64> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![3, 5], "{p}");
    assert_eq!(e.state.app.ledger.size(), size);
    let good = format!("volunteer,date,hours\n{v1},{d},2\n{v2},{d},1.5\n");
    let r = raw(
        &e.state,
        "/api/v1/orgs/org-a/attestations/csv",
        &a,
        "text/csv",
        good.into_bytes(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["rows"], 2);
    assert_eq!(r.json()["minutes"], 210);
    assert_eq!(e.state.app.ledger.size(), size + 2);
    // Another organization cannot upload for org-a.
    let b = org(&e, "org-b").await;
    raw(
        &e.state,
        "/api/v1/orgs/org-a/attestations/csv",
        &b,
        "text/csv",
        b"volunteer,date,hours\n".to_vec(),
    )
    .await
    .problem(403, Some("org"), "org-scope");
}

#[tokio::test]
async fn suspension_stops_an_organization_until_reinstated() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v, _) = volunteer(&e, "org-a", &a, "Бекзат").await;
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/suspend",
        Auth::Bearer(&e.op),
        Some(json!({"reason": "audit"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = call(
        &e.state,
        Method::GET,
        "/api/v1/orgs/org-a",
        Auth::None,
        None,
    )
    .await;
    assert_eq!(r.json()["suspended"], true);
    let r = attest(&e, "org-a", &a, &v, 60).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(
        r.json()["rule"].as_str().unwrap().contains("suspended"),
        "{}",
        r.text()
    );
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/reinstate",
        Auth::Bearer(&e.op),
        Some(json!({"reason": "ok"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        attest(&e, "org-a", &a, &v, 60).await.status,
        StatusCode::CREATED
    );
    call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/nope/suspend",
        Auth::Bearer(&e.op),
        Some(json!({"reason": "x"})),
    )
    .await
    .problem(404, Some("org"), "exists");
    call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/suspend",
        Auth::Bearer(&e.op),
        Some(json!({"reason": " "})),
    )
    .await
    .problem(422, Some("reason"), "required-text");
}

#[tokio::test]
async fn server_held_keys_are_private_files_never_returned() {
    let e = env();
    let _ = org(&e, "org-a").await;
    let pem = server_key_pem(&e.state.app, "org-a");
    let secret_line = pem.lines().nth(1).unwrap().to_string();
    for uri in [
        "/api/v1/orgs",
        "/api/v1/orgs/org-a",
        "/api/openapi.json",
        "/api/v1/trust-list",
    ] {
        let r = call(&e.state, Method::GET, uri, Auth::Bearer(&e.op), None).await;
        assert!(!r.text().contains(&secret_line), "{uri} leaks the key");
    }
    // Duplicate registration is a conflict naming the field.
    call(
        &e.state,
        Method::POST,
        "/api/v1/orgs",
        Auth::Bearer(&e.op),
        Some(json!({"id": "org-a", "name_en": "again"})),
    )
    .await
    .problem(409, Some("id"), "org-unique");
    call(
        &e.state,
        Method::POST,
        "/api/v1/orgs",
        Auth::Bearer(&e.op),
        Some(json!({"id": "Bad Id", "name_en": "x"})),
    )
    .await
    .problem(422, Some("id"), "id-format");
    call(
        &e.state,
        Method::POST,
        "/api/v1/orgs",
        Auth::Bearer(&e.op),
        Some(json!({"id": "org-k", "name_en": "x", "public_key": "AAAA"})),
    )
    .await
    .problem(422, Some("public_key"), "public-key");
}

#[tokio::test]
async fn tlog_tiles_read_paths_and_proofs() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v, _) = volunteer(&e, "org-a", &a, "Асхат").await;
    for m in [30, 40, 50] {
        assert_eq!(
            attest(&e, "org-a", &a, &v, m).await.status,
            StatusCode::CREATED
        );
    }
    let size = e.state.app.ledger.size();
    assert!((6..256).contains(&size));
    let r = call(&e.state, Method::GET, "/log/checkpoint", Auth::None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let note = r.text();
    let verifier = sagat_verifier::NoteSigner::new(
        &e.state.app.config.origin,
        e.state.app.operator_key.clone(),
    )
    .unwrap()
    .verifier();
    let cp = sagat_verifier::open_checkpoint(&note, &verifier).unwrap();
    assert_eq!(cp.size, size);
    // Level-0 partial tile: the leaf hashes; they rebuild the checkpoint's root.
    let r = call(
        &e.state,
        Method::GET,
        &format!("/log/tile/0/000.p/{size}"),
        Auth::None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/octet-stream");
    // A partial tile never changes either: its width is in its name.
    assert_eq!(
        r.headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.body.len() as u64, 32 * size);
    let leaves: Vec<sagat_verifier::Hash> =
        r.body.chunks(32).map(|c| c.try_into().unwrap()).collect();
    assert_eq!(sagat_verifier::root_from_leaf_hashes(&leaves), cp.root_hash);
    // Entry bundle: 2-byte big-endian length + bytes, equal to the stored entries.
    let r = call(
        &e.state,
        Method::GET,
        &format!("/log/tile/entries/000.p/{size}"),
        Auth::None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut rest = &r.body[..];
    for i in 0..size {
        let n = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        let entry = &rest[2..2 + n];
        assert_eq!(sagat_verifier::leaf_hash(entry), leaves[i as usize]);
        let one = call(
            &e.state,
            Method::GET,
            &format!("/api/v1/log/entries/{i}"),
            Auth::None,
            None,
        )
        .await;
        assert_eq!(one.body, entry);
        rest = &rest[2 + n..];
    }
    assert!(rest.is_empty());
    // The same bundle gzip-compressed, for a client that accepts it.
    let zipped = send(
        &e.state,
        Request::builder()
            .uri(format!("/log/tile/entries/000.p/{size}"))
            .header(header::ACCEPT_ENCODING, "br;q=1, gzip;q=0.8")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(zipped.status, StatusCode::OK);
    assert_eq!(zipped.headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(zipped.headers[header::VARY], "accept-encoding");
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&zipped.body[..]),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(unzipped, r.body);
    assert!(r.headers.get(header::CONTENT_ENCODING).is_none());
    // Tiles that do not exist yet, and non-canonical names of tiles that do, are 404 problems.
    for bad in [
        "/log/tile/0/000".to_string(),
        "/log/tile/0/000.p/255".to_string(),
        "/log/tile/1/000.p/1".to_string(),
        "/log/tile/0/0".to_string(),
        "/log/tile/00/000.p/1".to_string(),
        "/log/tile/entries/x000/000".to_string(),
        format!("/log/tile/0/x000/000.p/{size}"),
        format!("/log/tile/entries/x000/000.p/{size}"),
        format!("/log/tile/0/x000/x000/000.p/{size}"),
    ] {
        call(&e.state, Method::GET, &bad, Auth::None, None)
            .await
            .problem(404, Some("path"), "exists");
    }
    // Inclusion proof of entry 2 against the checkpoint.
    let r = call(
        &e.state,
        Method::GET,
        &format!("/api/v1/log/inclusion?index=2&size={size}"),
        Auth::None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    use base64::Engine as _;
    let hashes: Vec<sagat_verifier::Hash> = r.json()["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            base64::engine::general_purpose::STANDARD
                .decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    sagat_verifier::verify_inclusion(&leaves[2], 2, size, &hashes, &cp.root_hash).unwrap();
    // Consistency proof from 3 to size.
    let r = call(
        &e.state,
        Method::GET,
        &format!("/api/v1/log/consistency?from=3&to={size}"),
        Auth::None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let hashes: Vec<sagat_verifier::Hash> = r.json()["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            base64::engine::general_purpose::STANDARD
                .decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    let root3 = sagat_verifier::root_from_leaf_hashes(&leaves[..3]);
    sagat_verifier::verify_consistency(3, size, &root3, &cp.root_hash, &hashes).unwrap();
    call(
        &e.state,
        Method::GET,
        &format!("/api/v1/log/inclusion?index={size}"),
        Auth::None,
        None,
    )
    .await
    .problem(404, Some("index"), "exists");
    call(
        &e.state,
        Method::GET,
        "/api/v1/log/inclusion?index=minus",
        Auth::None,
        None,
    )
    .await
    .problem(422, Some("index"), "query");
    // tlog-proof text for entry 0.
    let r = call(
        &e.state,
        Method::GET,
        "/api/v1/log/entries/0/proof",
        Auth::None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text()
            .starts_with(sagat_verifier::TLOG_PROOF_HEADER.trim_end()),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn openapi_document_lists_the_served_routes() {
    let e = env();
    let r = call(&e.state, Method::GET, "/api/openapi.json", Auth::None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (p, m) in [
        ("/api/v1/orgs", "post"),
        ("/api/v1/orgs/{org}/attestations", "post"),
        ("/api/v1/orgs/{org}/attestations/csv", "post"),
        ("/api/v1/orgs/{org}/events", "post"),
        ("/api/v1/orgs/{org}/attestations/{id}/retract", "post"),
        ("/api/v1/session", "post"),
        ("/api/v1/volunteers/{id}/hours", "get"),
        ("/api/v1/verify", "post"),
        ("/api/v1/trust-list", "get"),
        ("/api/v1/status-list", "get"),
        ("/api/v1/log/inclusion", "get"),
        ("/api/v1/credentials/{id}/revoke", "post"),
        ("/api/v1/tokens", "get"),
        ("/api/v1/tokens/{id}/revoke", "post"),
    ] {
        assert!(
            paths.get(p).and_then(|x| x.get(m)).is_some(),
            "{m} {p} missing from OpenAPI"
        );
    }
    // Every error answer is problem+json, every body-taking operation declares 400/413/415, and
    // every query parameter a handler cannot do without is required.
    for (p, ops) in paths {
        for (m, op) in ops.as_object().unwrap() {
            for (code, resp) in op["responses"].as_object().unwrap() {
                if code.starts_with('4') || code.starts_with('5') {
                    let content = resp["content"].as_object();
                    assert!(
                        content.is_some_and(
                            |c| c.len() == 1 && c.contains_key("application/problem+json")
                        ),
                        "{m} {p} {code}: {resp}"
                    );
                }
            }
            if op.get("requestBody").is_some() {
                for code in ["400", "413", "415"] {
                    assert!(op["responses"].get(code).is_some(), "{m} {p} lacks {code}");
                }
            }
        }
    }
    let inclusion = &paths["/api/v1/log/inclusion"]["get"]["parameters"];
    assert!(
        inclusion
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["name"] == "index" && q["required"] == true),
        "{inclusion}"
    );
    // Every documented path is actually routed: a request never falls through to the 404 fallback.
    for (p, ops) in paths {
        let concrete = p
            .replace("{org}", "org-x")
            .replace("{id}", &"0".repeat(32))
            .replace("{cid}", &"0".repeat(32))
            .replace("{index}", "0");
        for m in ops.as_object().unwrap().keys() {
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            let r = call(&e.state, method, &concrete, Auth::None, None).await;
            if r.status == StatusCode::NOT_FOUND {
                assert_ne!(
                    r.json()["field"],
                    "path",
                    "{m} {p} is documented but not routed"
                );
            }
            assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{m} {p}");
        }
    }
}

#[tokio::test]
async fn body_size_and_rate_limits() {
    let e = env_with(ServeOptions {
        rate_limit_per_minute: 3,
        max_body_bytes: 1024,
        max_upload_bytes: 2048,
        ..ServeOptions::default()
    });
    let big = json!({"id": "org-a", "name_en": "x".repeat(5000)});
    call(
        &e.state,
        Method::POST,
        "/api/v1/orgs",
        Auth::Bearer(&e.op),
        Some(big),
    )
    .await
    .problem(413, Some("body"), "body-size");
    // Three more requests pass (3 per minute, the first used one), the next is throttled.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            call(
                &e.state,
                Method::POST,
                "/api/v1/orgs/none/tokens",
                Auth::Bearer(&e.op),
                None,
            )
            .await
            .status,
        );
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/none/tokens",
        Auth::Bearer(&e.op),
        None,
    )
    .await;
    r.problem(429, None, "rate-limit");
    assert!(r.headers.get(header::RETRY_AFTER).is_some());
    // Public reads are not throttled by someone else's bucket.
    assert_eq!(
        call(&e.state, Method::GET, "/api/v1/orgs", Auth::None, None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn csv_upload_size_limit() {
    let e = env_with(ServeOptions {
        rate_limit_per_minute: 0,
        max_upload_bytes: 2048,
        ..ServeOptions::default()
    });
    let a = org(&e, "org-a").await;
    let big = format!("volunteer,date,hours\n{}", "x".repeat(4096));
    raw(
        &e.state,
        "/api/v1/orgs/org-a/attestations/csv",
        &a,
        "text/csv",
        big.into_bytes(),
    )
    .await
    .problem(413, Some("body"), "body-size");
}

#[tokio::test]
async fn metrics_and_health() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v, _) = volunteer(&e, "org-a", &a, "Дина").await;
    attest(&e, "org-a", &a, &v, 60).await;
    attest(&e, "org-a", &a, &v, 0).await;
    let r = call(&e.state, Method::GET, "/healthz", Auth::None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().starts_with("ok "));
    let m = call(&e.state, Method::GET, "/metrics", Auth::None, None)
        .await
        .text();
    let value = |name: &str| -> f64 {
        m.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .unwrap_or_else(|| panic!("{name} missing:\n{m}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    // org registration, volunteer enrollment, one attestation.
    assert_eq!(value("sagat_appends_total"), 3.0);
    assert_eq!(value("sagat_append_batch_size_count"), 3.0);
    assert_eq!(value("sagat_append_duration_seconds_count"), 3.0);
    assert!(value("sagat_http_responses_total{class=\"4xx\"}") >= 1.0);
    assert_eq!(value("sagat_log_size"), e.state.app.ledger.size() as f64);
    assert!(m.contains("sagat_verify_total{verdict=\"valid\"}"));
}

#[tokio::test]
async fn web_sign_in_sets_a_strict_http_only_cookie_and_pages_respect_roles() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (_, code) = volunteer(&e, "org-a", &a, "Тимур").await;
    for lang in ["kk", "ru", "en"] {
        let r = call(
            &e.state,
            Method::GET,
            &format!("/?lang={lang}"),
            Auth::None,
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.text().contains(&format!("<html lang=\"{lang}\"")));
    }
    let r = call(&e.state, Method::GET, "/org", Auth::None, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/signin"));
    let form = |code: &str| {
        Request::builder()
            .method(Method::POST)
            .uri("/signin")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("code={code}")))
            .unwrap()
    };
    let r = send(&e.state, form(&code)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/me");
    let set = r.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    // The volunteer's session opens /me, not /org or /operator.
    assert_eq!(
        call(&e.state, Method::GET, "/me", Auth::Cookie(&cookie), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        call(&e.state, Method::GET, "/org", Auth::Cookie(&cookie), None)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        call(
            &e.state,
            Method::GET,
            "/operator",
            Auth::Cookie(&cookie),
            None
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    let r = send(&e.state, form(&a)).await;
    assert_eq!(r.headers[header::LOCATION], "/org");
    let org_cookie = r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = call(
        &e.state,
        Method::GET,
        "/org",
        Auth::Cookie(&org_cookie),
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("id=\"attest-form\""));
    let r = send(&e.state, form("sgt-org-wrong")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r
        .headers
        .get(header::SET_COOKIE)
        .map(|v| !v.to_str().unwrap().contains("sagat_session"))
        .unwrap_or(true));
}

#[tokio::test]
async fn volunteer_certificate_issue_download_and_public_verify() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v, code) = volunteer(&e, "org-a", &a, "Ұлжан Есенова").await;
    let (v2, code2) = volunteer(&e, "org-a", &a, "Ғалым").await;
    assert_eq!(
        attest(&e, "org-a", &a, &v, 240).await.status,
        StatusCode::CREATED
    );
    let s = session(&e, &code).await;
    let issued = issue_certificate(&e, &v, &s, json!({"lang": "kk", "lang2": "en"})).await;
    let qr = issued["qr_text"].as_str().unwrap().to_string();
    assert!(qr.starts_with("VH1:"));
    let pdf = call(
        &e.state,
        Method::GET,
        issued["pdf_url"].as_str().unwrap(),
        Auth::Cookie(&s),
        None,
    )
    .await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.headers[header::CONTENT_TYPE], "application/pdf");
    assert!(pdf.body.starts_with(b"%PDF-"));
    let png = call(
        &e.state,
        Method::GET,
        issued["qr_png_url"].as_str().unwrap(),
        Auth::Cookie(&s),
        None,
    )
    .await;
    assert!(png.body.starts_with(b"\x89PNG"));
    // The other volunteer cannot fetch it, even by guessing the URL on their own path.
    let s2 = session(&e, &code2).await;
    call(
        &e.state,
        Method::GET,
        issued["pdf_url"].as_str().unwrap(),
        Auth::Cookie(&s2),
        None,
    )
    .await
    .problem(403, Some("volunteer"), "own-data-only");
    let cid = issued["credential_id"].as_str().unwrap();
    call(
        &e.state,
        Method::GET,
        &format!("/api/v1/volunteers/{v2}/certificates/{cid}/pdf"),
        Auth::Cookie(&s2),
        None,
    )
    .await
    .problem(404, Some("credential"), "exists");
    // Public verification: VALID, then REVOKED after the operator revokes it.
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/verify",
        Auth::None,
        Some(json!({"qr_text": qr})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["verdict"], "VALID", "{}", r.text());
    assert_eq!(r.json()["total_minutes"], 240);
    // The photo path decodes the PNG QR with rqrr and gives the same verdict.
    let text = backend_decode(&png.body);
    assert_eq!(text, qr);
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/credentials/{cid}/revoke"),
        Auth::Bearer(&e.op),
        Some(json!({"reason": "issued in error"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/verify",
        Auth::None,
        Some(json!({"qr_text": qr})),
    )
    .await;
    assert_eq!(r.json()["verdict"], "REVOKED", "{}", r.text());
    let mut tampered = qr.clone();
    tampered.pop();
    tampered.push(if qr.ends_with('A') { 'B' } else { 'A' });
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/verify",
        Auth::None,
        Some(json!({"qr_text": tampered})),
    )
    .await;
    assert_eq!(r.json()["verdict"], "INVALID", "{}", r.text());
    let list = certificates(&e, &v, &s).await;
    assert_eq!(list[0]["revoked"], true);
}

fn backend_decode(png: &[u8]) -> String {
    ops::verification::decode_qr_photo(png).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Web forms: Post/Redirect/Get and idempotent resubmits; sign-in limits per client address;
// certificate downloads across a restart.

fn form_post(uri: &str, cookie: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// Signs in on the web form with `code`; returns the session cookie.
async fn web_session(e: &Env, code: &str) -> String {
    let r = send(&e.state, form_post("/signin", "", &format!("code={code}"))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// The hidden `csrf` field of a rendered page's forms.
fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no csrf field: {page}"));
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

fn location(r: &Resp) -> String {
    r.headers[header::LOCATION].to_str().unwrap().to_string()
}

/// The operator renames an organization on the web page and through the API: one
/// `OrganizationUpdated` each, the new names everywhere the organization is shown; a volunteer
/// or another organization may not.
#[tokio::test]
async fn the_operator_renames_an_organization_on_the_page_and_through_the_api() {
    let e = env();
    let a = org(&e, "org-a").await;
    let cookie = web_session(&e, &e.op).await;
    let page = call(
        &e.state,
        Method::GET,
        "/operator?lang=kk",
        Auth::Cookie(&cookie),
        None,
    )
    .await;
    assert!(
        page.text().contains("id=\"rename-form\""),
        "{}",
        page.text()
    );
    assert!(page.text().contains("Ұйымның атауын өзгерту"));
    let body = format!(
        "org=org-a&name_en=Steppe+Volunteers&name_kk=&name_ru=%D0%A1%D1%82%D0%B5%D0%BF%D1%8C&region=&nonce=0123456789abcdef0123456789abcdef&csrf={}",
        csrf_of(&page.text())
    );
    let r = send(&e.state, form_post("/operator/rename", &cookie, &body)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let shown = call(
        &e.state,
        Method::GET,
        &location(&r),
        Auth::Cookie(&cookie),
        None,
    )
    .await;
    assert!(shown.text().contains("data-ok=\"1\""), "{}", shown.text());
    let got = call(
        &e.state,
        Method::GET,
        "/api/v1/orgs/org-a",
        Auth::None,
        None,
    )
    .await
    .json();
    assert_eq!(got["names"]["en"], "Steppe Volunteers", "{got}");
    assert_eq!(got["names"]["ru"], "Степь", "{got}");
    // The registration's Kazakh name is kept (a blank field changes nothing).
    assert_eq!(got["names"]["kk"], "Ұйым", "{got}");
    // Through the API: "" removes the Kazakh name; the same names again is refused by rule.
    let patch = |token: &str, body: Value| {
        let token = token.to_string();
        let state = e.state.clone();
        async move {
            call(
                &state,
                Method::PATCH,
                "/api/v1/orgs/org-a",
                Auth::Bearer(&token),
                Some(body),
            )
            .await
        }
    };
    let r = patch(&e.op, json!({"name_kk": ""})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let got = call(
        &e.state,
        Method::GET,
        "/api/v1/orgs/org-a",
        Auth::None,
        None,
    )
    .await
    .json();
    assert!(got["names"]["kk"].is_null(), "{got}");
    patch(&e.op, json!({"name_en": "Steppe Volunteers"}))
        .await
        .problem(422, Some("body"), "org-update-changes");
    patch(&a, json!({"name_en": "Mine now"}))
        .await
        .problem(403, None, "role-operator");
    patch(&e.op, json!({"name_en": "x", "colour": "red"}))
        .await
        .problem(422, Some("colour"), "schema");
    let trust = call(
        &e.state,
        Method::GET,
        "/api/v1/trust-list",
        Auth::None,
        None,
    )
    .await
    .text();
    assert!(trust.contains("Steppe Volunteers"), "{trust}");
}

#[tokio::test]
async fn a_web_form_posted_twice_appends_once_and_redirects_to_its_result() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v, _) = volunteer(&e, "org-a", &a, "Айгерім").await;
    let cookie = web_session(&e, &a).await;
    // The dashboard's forms carry a fresh nonce each render.
    let page = call(&e.state, Method::GET, "/org", Auth::Cookie(&cookie), None).await;
    assert!(page.text().contains("name=\"nonce\""), "{}", page.text());
    // ... and the session's CSRF token, which every post must carry.
    let csrf = csrf_of(&page.text());
    let count = |e: &Env| {
        e.state
            .app
            .ledger
            .read(|s| s.attestations_by_org("org-a").len())
    };
    let before = count(&e);
    let nonce = "0123456789abcdef0123456789abcdef";
    let body = format!(
        "volunteer={v}&date={}&hours=2.5&activity=&role=&note=&nonce={nonce}&csrf={csrf}",
        yesterday()
    );
    let first = send(&e.state, form_post("/org/attest", &cookie, &body)).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.text());
    let to = location(&first);
    assert!(
        to.starts_with("/org?") && to.contains(&format!("done={nonce}")),
        "{to}"
    );
    // A refresh of the result page is a GET: it shows the outcome and appends nothing.
    let shown = call(&e.state, Method::GET, &to, Auth::Cookie(&cookie), None).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(
        shown.text().contains("id=\"attested-id\""),
        "{}",
        shown.text()
    );
    assert!(shown.text().contains("data-ok=\"1\""));
    // The same form posted again (back button, double click): same redirect, no new append.
    let second = send(&e.state, form_post("/org/attest", &cookie, &body)).await;
    assert_eq!(second.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&second), to);
    assert_eq!(count(&e), before + 1);
    // Another session does not see this outcome.
    let other = web_session(&e, &a).await;
    let page = call(&e.state, Method::GET, &to, Auth::Cookie(&other), None).await;
    assert!(!page.text().contains("id=\"attested-id\""));
    // A new nonce is a new form: it appends.
    let body2 = body.replace(nonce, "fedcba9876543210fedcba9876543210");
    let third = send(&e.state, form_post("/org/attest", &cookie, &body2)).await;
    assert_eq!(third.status, StatusCode::SEE_OTHER);
    assert_eq!(count(&e), before + 2);
    // Failures redirect too, with the problem shown on the page.
    let bad = body
        .replace(nonce, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
        .replace("hours=2.5", "hours=-1");
    let r = send(&e.state, form_post("/org/attest", &cookie, &bad)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = call(
        &e.state,
        Method::GET,
        &location(&r),
        Auth::Cookie(&cookie),
        None,
    )
    .await;
    assert!(page.text().contains("data-ok=\"0\""), "{}", page.text());
    assert_eq!(count(&e), before + 2);
    // Enrolling twice with one nonce enrolls one volunteer.
    let enrolled = |e: &Env| e.state.app.ledger.read(|s| s.volunteers().len());
    let n = enrolled(&e);
    let enroll = format!("name=Бекзат&contact=&nonce=1111111111111111aaaaaaaaaaaaaaaa&csrf={csrf}");
    let r1 = send(&e.state, form_post("/org/enroll", &cookie, &enroll)).await;
    let r2 = send(&e.state, form_post("/org/enroll", &cookie, &enroll)).await;
    assert_eq!(location(&r1), location(&r2));
    assert_eq!(enrolled(&e), n + 1);
}

fn sign_in_from(ip: [u8; 4], forwarded: Option<&str>, code: &str) -> Request<Body> {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/session")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(f) = forwarded {
        b = b.header("x-forwarded-for", f);
    }
    let mut req = b
        .body(Body::from(json!({ "code": code }).to_string()))
        .unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            ip, 40000,
        ))));
    req
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_client_address() {
    let e = env_with(ServeOptions {
        rate_limit_per_minute: 0,
        sign_in_per_ip_per_minute: 3,
        trust_forwarded_for: false,
        ..ServeOptions::default()
    });
    let a = org(&e, "org-a").await;
    let (_, code) = volunteer(&e, "org-a", &a, "Данияр").await;
    // Three wrong guesses from one address are 401s; the fourth attempt, even with the right
    // code, is a 429 with Retry-After.
    for _ in 0..3 {
        let r = send(&e.state, sign_in_from([10, 0, 0, 1], None, "sgt-vol-wrong")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    }
    let r = send(&e.state, sign_in_from([10, 0, 0, 1], None, &code)).await;
    let p = r.problem(429, None, "sign-in-rate");
    assert!(p["detail"].as_str().unwrap().contains("sign-in"), "{p}");
    let wait: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1);
    // An untrusted X-Forwarded-For does not get around it.
    let r = send(
        &e.state,
        sign_in_from([10, 0, 0, 1], Some("203.0.113.9"), &code),
    )
    .await;
    r.problem(429, None, "sign-in-rate");
    // The org token sign-in on the web form is limited the same way.
    let mut web = form_post("/signin", "", &format!("code={a}"));
    web.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [10, 0, 0, 1],
            40001,
        ))));
    let r = send(&e.state, web).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.get(header::RETRY_AFTER).is_some());
    assert!(r
        .headers
        .get(header::SET_COOKIE)
        .is_none_or(|c| !c.to_str().unwrap().contains("sagat_session")));
    // Another address is not affected.
    let r = send(&e.state, sign_in_from([10, 0, 0, 2], None, &code)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // Behind a trusted proxy the client is the last X-Forwarded-For address.
    let e = env_with(ServeOptions {
        rate_limit_per_minute: 0,
        sign_in_per_ip_per_minute: 1,
        trust_forwarded_for: true,
        ..ServeOptions::default()
    });
    let proxy = [127, 0, 0, 1];
    let r = send(
        &e.state,
        sign_in_from(proxy, Some("198.51.100.7, 203.0.113.1"), "x"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = send(&e.state, sign_in_from(proxy, Some("203.0.113.1"), "x")).await;
    r.problem(429, None, "sign-in-rate");
    let r = send(&e.state, sign_in_from(proxy, Some("203.0.113.2"), "x")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_issued_certificate_downloads_after_a_restart() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v, code) = volunteer(&e, "org-a", &a, "Әсел Нұрланқызы").await;
    assert_eq!(
        attest(&e, "org-a", &a, &v, 180).await.status,
        StatusCode::CREATED
    );
    let s = session(&e, &code).await;
    let issued = issue_certificate(&e, &v, &s, json!({"lang": "ru"})).await;
    let pdf_url = issued["pdf_url"].as_str().unwrap().to_string();
    let before = call(&e.state, Method::GET, &pdf_url, Auth::Cookie(&s), None).await;
    assert_eq!(before.status, StatusCode::OK);
    // Restart: the state is dropped (closing the ledger) and rebuilt from the same data dir.
    let Env { _dir, state, op } = e;
    let data = state.app.dir.clone();
    drop(state);
    let state = AppState::new(
        open_test(&data).unwrap(),
        &ServeOptions {
            rate_limit_per_minute: 0,
            ..ServeOptions::default()
        },
    )
    .unwrap();
    let e = Env { _dir, state, op };
    // Sessions are stored hashed on disk, so the same cookie still works.
    let after = call(&e.state, Method::GET, &pdf_url, Auth::Cookie(&s), None).await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.text());
    assert_eq!(after.body, before.body);
    let svg = call(
        &e.state,
        Method::GET,
        issued["qr_svg_url"].as_str().unwrap(),
        Auth::Cookie(&s),
        None,
    )
    .await;
    assert_eq!(svg.status, StatusCode::OK);
    let list = certificates(&e, &v, &s).await;
    assert_eq!(list[0]["downloadable"], true, "{list}");
    let page = call(&e.state, Method::GET, "/me", Auth::Cookie(&s), None).await;
    let cid = issued["credential_id"].as_str().unwrap();
    let page_link = format!("/me/certificates/{cid}/pdf");
    assert!(page.text().contains(&page_link), "{}", page.text());
    let from_page = call(&e.state, Method::GET, &page_link, Auth::Cookie(&s), None).await;
    assert_eq!(from_page.status, StatusCode::OK);
    assert!(pdf_url.ends_with(&format!("{cid}/pdf")));
    let cid = issued["credential_id"].as_str().unwrap();
    let path = data
        .join("certificates")
        .join(&v)
        .join(format!("{cid}.pdf"));
    if on_postgres() {
        // Kept in the shared store, so every front-end serves it: no file on this machine.
        assert!(!path.exists(), "{} was written", path.display());
        return;
    }
    // The files are private to the server's user.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
}

/// Restart: the state is dropped (closing the ledger) and rebuilt from the same data dir.
fn restart(e: Env) -> Env {
    let Env { _dir, state, op } = e;
    let data = state.app.dir.clone();
    drop(state);
    let state = AppState::new(
        open_test(&data).unwrap(),
        &ServeOptions {
            rate_limit_per_minute: 0,
            ..ServeOptions::default()
        },
    )
    .unwrap();
    Env { _dir, state, op }
}

/// A POST with a JSON or CSV body, a bearer token and an `Idempotency-Key`.
async fn keyed(e: &Env, uri: &str, token: &str, key: &str, ctype: &str, body: Vec<u8>) -> Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, ctype)
        .header("Idempotency-Key", key)
        .body(Body::from(body))
        .unwrap();
    send(&e.state, req).await
}

fn total_minutes(e: &Env, v: &str) -> u64 {
    e.state.app.ledger.read(|s| {
        s.volunteer_hours(v)
            .map(|h| h.total_minutes)
            .unwrap_or_default()
    })
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_returns_the_first_result_and_never_adds_hours() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v, _) = volunteer(&e, "org-a", &a, "Асқар").await;
    let d = yesterday();
    let one = serde_json::to_vec(&json!({"volunteer": v, "date": d, "minutes": 90})).unwrap();
    let uri = "/api/v1/orgs/org-a/attestations";
    let first = keyed(&e, uri, &a, "retry-1", "application/json", one.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let again = keyed(&e, uri, &a, "retry-1", "application/json", one.clone()).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(again.json()["index"], first.json()["index"]);
    assert_eq!(again.json()["duplicate"], true);
    assert_eq!(total_minutes(&e, &v), 90);
    // The same key for another request is refused, naming the key.
    let other = serde_json::to_vec(&json!({"volunteer": v, "date": d, "minutes": 30})).unwrap();
    keyed(&e, uri, &a, "retry-1", "application/json", other)
        .await
        .problem(422, Some("Idempotency-Key"), "idempotency-key-reused");
    // A malformed key is a 400 naming the header.
    keyed(&e, uri, &a, "", "application/json", one.clone())
        .await
        .problem(400, Some("Idempotency-Key"), "idempotency-key-format");
    // Without a key every request is new (the old behaviour).
    let r = call(
        &e.state,
        Method::POST,
        uri,
        Auth::Bearer(&a),
        Some(json!({"volunteer": v, "date": d, "minutes": 10})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(total_minutes(&e, &v), 100);
    // Keys are per organization: org-b's "retry-1" is its own request.
    let b = org(&e, "org-b").await;
    let (vb, _) = volunteer(&e, "org-b", &b, "Бота").await;
    let mine = serde_json::to_vec(&json!({"volunteer": vb, "date": d, "minutes": 90})).unwrap();
    let r = keyed(
        &e,
        "/api/v1/orgs/org-b/attestations",
        &b,
        "retry-1",
        "application/json",
        mine,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());

    // A CSV upload retried with its key: the first result, the rows counted once — also after
    // a restart, when nothing is left in memory.
    let csv = format!("volunteer,date,hours\n{v},{d},1\n{v},{d},0.5\n").into_bytes();
    let csv_uri = "/api/v1/orgs/org-a/attestations/csv";
    let up = keyed(&e, csv_uri, &a, "concert-2025", "text/csv", csv.clone()).await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.text());
    assert_eq!(up.json()["duplicate"], false);
    let e = restart(e);
    let re = keyed(&e, csv_uri, &a, "concert-2025", "text/csv", csv.clone()).await;
    assert_eq!(re.status, StatusCode::OK, "{}", re.text());
    assert_eq!(re.json()["duplicate"], true);
    assert_eq!(re.json()["rows"], 2);
    assert_eq!(re.json()["first_index"], up.json()["first_index"]);
    assert_eq!(re.json()["last_index"], up.json()["last_index"]);
    assert_eq!(total_minutes(&e, &v), 190);
    let again = keyed(&e, uri, &a, "retry-1", "application/json", one).await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "the single attestation's key after a restart"
    );

    // A web form's nonce is its key: the same form sent again after a restart (the in-memory
    // form results are gone) appends nothing.
    let cookie = web_session(&e, &a).await;
    let page = call(&e.state, Method::GET, "/org", Auth::Cookie(&cookie), None).await;
    let nonce = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";
    let body = format!("volunteer={v}&date={d}&hours=2&activity=&role=&note=&nonce={nonce}");
    let with_csrf = |page: &Resp| format!("{body}&csrf={}", csrf_of(&page.text()));
    let r = send(
        &e.state,
        form_post("/org/attest", &cookie, &with_csrf(&page)),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(total_minutes(&e, &v), 310);
    let e = restart(e);
    let cookie = web_session(&e, &a).await;
    let page = call(&e.state, Method::GET, "/org", Auth::Cookie(&cookie), None).await;
    let r = send(
        &e.state,
        form_post("/org/attest", &cookie, &with_csrf(&page)),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(total_minutes(&e, &v), 310, "the resent form added no hours");
}

/// A tmpfs of `kib` KiB mounted on a fresh directory (root only, as in CI); unmounted on drop.
struct Tmpfs {
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(kib: u64) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mnt");
        std::fs::create_dir(&path).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(&path)
            .output()
            .expect("the disk-full test runs `mount`");
        assert!(
            out.status.success(),
            "the disk-full test mounts a small tmpfs and needs root (scripts/test runs as root in CI): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs { path, _dir: dir }
    }

    /// Fills it up with a new filler file; returns the filler's path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let n = std::fs::read_dir(&self.path).unwrap().count();
        let path = self.path.join(format!("filler-{n}"));
        let mut f = std::fs::File::create(&path).unwrap();
        while f.write(&[0u8; 4096]).is_ok_and(|n| n > 0) {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(&self.path)
            .status();
    }
}

#[tokio::test]
async fn on_a_full_disk_appends_are_refused_as_not_recorded_and_the_service_recovers_by_itself() {
    let fs = Tmpfs::mount(48 * 1024);
    let e = env_in(
        &fs.path,
        ServeOptions {
            rate_limit_per_minute: 0,
            ..ServeOptions::default()
        },
    );
    let a = org(&e, "org-a").await;
    let (v, _) = volunteer(&e, "org-a", &a, "Гүлнар").await;
    let d = yesterday();
    assert_eq!(
        attest(&e, "org-a", &a, &v, 60).await.status,
        StatusCode::CREATED
    );
    let size = e.state.app.ledger.size();
    // One hour on each of 1000 earlier days (the daily limit holds).
    let today = (datadir::now() / 86_400) as i32;
    let rows: String = (0..1000)
        .map(|i| format!("{v},{},1\n", sagat_verifier::format_date(today - 2 - i)))
        .collect();
    let csv = format!("volunteer,date,hours\n{rows}").into_bytes();
    let csv_uri = "/api/v1/orgs/org-a/attestations/csv";
    let one = serde_json::to_vec(&json!({"volunteer": v, "date": d, "minutes": 15})).unwrap();
    let uri = "/api/v1/orgs/org-a/attestations";

    let mut fillers = vec![fs.fill()];
    let p = keyed(&e, csv_uri, &a, "big-1", "text/csv", csv.clone())
        .await
        .problem(503, None, "not-recorded");
    assert!(
        p["detail"].as_str().unwrap().contains("not recorded"),
        "{p}"
    );
    // Cutting the partial write freed its pages: fill them too. Small appends then fit in the
    // slack of the log file's last page until one does not (each that fits is recorded).
    fillers.push(fs.fill());
    let mut fitted = 0u64;
    let r = loop {
        let key = format!("one-{fitted}");
        let r = keyed(&e, uri, &a, &key, "application/json", one.clone()).await;
        if r.status != StatusCode::CREATED {
            break r;
        }
        fitted += 1;
        assert!(fitted < 40, "40 appends fitted on a full disk");
    };
    let one_key = format!("one-{fitted}");
    let size = size + fitted;
    r.problem(503, None, "not-recorded");
    assert!(r.headers.get(header::RETRY_AFTER).is_some());
    let h = call(&e.state, Method::GET, "/healthz", Auth::None, None).await;
    assert_eq!(h.status, StatusCode::SERVICE_UNAVAILABLE, "{}", h.text());
    assert!(h.text().contains("No space left"), "{}", h.text());
    let m = call(&e.state, Method::GET, "/metrics", Auth::None, None)
        .await
        .text();
    assert!(m.contains("sagat_ledger_healthy 0"), "{m}");
    assert!(
        m.contains("sagat_ledger_state{state=\"write_failing\""),
        "{m}"
    );
    assert!(m.contains("sagat_append_storage_failures_total 2"), "{m}");
    assert_eq!(e.state.app.ledger.size(), size, "nothing half-appeared");
    let minutes = 60 + 15 * fitted;
    assert_eq!(total_minutes(&e, &v), minutes);

    // Space is back: healthy again without a restart, and the retries append exactly once.
    for f in fillers {
        std::fs::remove_file(f).unwrap();
    }
    let h = call(&e.state, Method::GET, "/healthz", Auth::None, None).await;
    assert_eq!(h.status, StatusCode::OK, "{}", h.text());
    let r = keyed(&e, csv_uri, &a, "big-1", "text/csv", csv.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["rows"], 1000);
    let r = keyed(&e, uri, &a, &one_key, "application/json", one.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(
        keyed(&e, csv_uri, &a, "big-1", "text/csv", csv)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        keyed(&e, uri, &a, &one_key, "application/json", one)
            .await
            .status,
        StatusCode::OK
    );
    let minutes = minutes + 1000 * 60 + 15;
    assert_eq!(total_minutes(&e, &v), minutes);
    // And after a restart: the same, no ghost rows.
    let size = e.state.app.ledger.size();
    let e = restart(e);
    assert_eq!(e.state.app.ledger.size(), size);
    assert_eq!(total_minutes(&e, &v), minutes);
}

// ---------------------------------------------------------------------------------------------
// Issue 10 part 2: cross-site request forgery, credential lifecycle, security headers.

/// A form post with extra request headers (Origin, Sec-Fetch-Site, Referer, Host).
fn form_post_with(uri: &str, cookie: &str, body: &str, extra: &[(&str, &str)]) -> Request<Body> {
    let mut req = form_post(uri, cookie, body);
    for (k, v) in extra {
        req.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    req
}

/// A multipart CSV upload to the web form, with `fields` besides the file.
fn csv_form_post(
    cookie: &str,
    csv: &str,
    fields: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> Request<Body> {
    let boundary = "sagatboundary7MA4YWxkTrZu0gW";
    let mut body = String::new();
    for (k, v) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csv\"; filename=\"h.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    ));
    let mut b = Request::builder()
        .method(Method::POST)
        .uri("/org/csv")
        .header(header::COOKIE, cookie)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        );
    for (k, v) in extra {
        b = b.header(*k, *v);
    }
    b.body(Body::from(body)).unwrap()
}

fn refused(r: &Resp, why: &str) {
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(
        r.text().contains(&format!("data-refused=\"{why}\"")),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn cross_origin_web_posts_are_refused_even_with_a_valid_session() {
    let e = env();
    let a = org(&e, "org-a").await;
    let cookie = web_session(&e, &a).await;
    let page = call(&e.state, Method::GET, "/org", Auth::Cookie(&cookie), None).await;
    let csrf = csrf_of(&page.text());
    let enrolled = |e: &Env| e.state.app.ledger.read(|s| s.volunteers().len());
    let n = enrolled(&e);
    let body = |nonce: &str| format!("name=Мақсат&contact=&nonce={nonce}&csrf={csrf}");
    // Right cookie, right token, but sent by another site's page: refused, nothing enrolled.
    let attacks: [&[(&str, &str)]; 6] = [
        &[("origin", "https://evil.example")],
        &[("origin", "null")],
        // A sibling sub-domain: SameSite=Strict does not stop it, the Origin check does.
        &[
            ("host", "sagat.example"),
            ("origin", "https://evil.sagat.example"),
        ],
        &[
            ("sec-fetch-site", "same-site"),
            ("origin", "https://evil.sagat.example"),
        ],
        &[("sec-fetch-site", "cross-site")],
        &[("referer", "https://evil.example/page.html")],
    ];
    for (i, extra) in attacks.iter().enumerate() {
        let nonce = format!("{i:0>32}");
        let r = send(
            &e.state,
            form_post_with("/org/enroll", &cookie, &body(&nonce), extra),
        )
        .await;
        refused(&r, "cross-origin");
        assert!(r.headers.get(header::LOCATION).is_none());
    }
    assert_eq!(enrolled(&e), n, "a refused post changes nothing");
    // The refusal page is translated.
    let r = send(
        &e.state,
        form_post_with(
            "/org/enroll?lang=ru",
            &cookie,
            &body("ru000000000000000000000000000000"),
            &[("origin", "https://evil.example")],
        ),
    )
    .await;
    refused(&r, "cross-origin");
    assert!(r.text().contains("с другого сайта"), "{}", r.text());
    let r = send(
        &e.state,
        form_post_with(
            "/org/enroll?lang=kk",
            &cookie,
            &body("kk000000000000000000000000000000"),
            &[("origin", "https://evil.example")],
        ),
    )
    .await;
    assert!(r.text().contains("басқа сайттан"), "{}", r.text());
    // The CSV upload, the public photo check and the sign-in form are checked the same way.
    let csv = format!(
        "volunteer,date,hours\n{},{},1\n",
        "0".repeat(32),
        yesterday()
    );
    let r = send(
        &e.state,
        csv_form_post(
            &cookie,
            &csv,
            &[
                ("nonce", "c0000000000000000000000000000000"),
                ("csrf", &csrf),
            ],
            &[("origin", "https://evil.example")],
        ),
    )
    .await;
    refused(&r, "cross-origin");
    let r = send(
        &e.state,
        form_post_with(
            "/signin",
            "",
            &format!("code={a}"),
            &[("sec-fetch-site", "cross-site")],
        ),
    )
    .await;
    refused(&r, "cross-origin");
    assert!(r
        .headers
        .get(header::SET_COOKIE)
        .is_none_or(|c| !c.to_str().unwrap().contains("sagat_session")));
    // Our own origin passes: by Sec-Fetch-Site, by Origin = Host, or by Referer = Host.
    let own: [&[(&str, &str)]; 3] = [
        &[
            ("sec-fetch-site", "same-origin"),
            ("origin", "https://sagat.example"),
        ],
        &[
            ("host", "sagat.example:8443"),
            ("origin", "https://sagat.example:8443"),
        ],
        &[
            ("host", "sagat.example"),
            ("referer", "https://sagat.example/org?lang=en"),
        ],
    ];
    for (i, extra) in own.iter().enumerate() {
        let nonce = format!("{:f>32}", i);
        let r = send(
            &e.state,
            form_post_with("/org/enroll", &cookie, &body(&nonce), extra),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    }
    assert_eq!(enrolled(&e), n + 3);
    // Behind a proxy that rewrites Host, the configured public origin is what counts.
    let p = env_with(ServeOptions {
        rate_limit_per_minute: 0,
        public_origin: Some("https://sagat.example".into()),
        ..ServeOptions::default()
    });
    let pa = org(&p, "org-a").await;
    let pc = web_session(&p, &pa).await;
    let ptok = csrf_of(
        &call(&p.state, Method::GET, "/org", Auth::Cookie(&pc), None)
            .await
            .text(),
    );
    let pbody = format!("name=X&nonce=p0000000000000000000000000000000&csrf={ptok}");
    let r = send(
        &p.state,
        form_post_with(
            "/org/enroll",
            &pc,
            &pbody,
            &[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://127.0.0.1:8080"),
            ],
        ),
    )
    .await;
    refused(&r, "cross-origin");
    let r = send(
        &p.state,
        form_post_with(
            "/org/enroll",
            &pc,
            &pbody,
            &[
                ("host", "127.0.0.1:8080"),
                ("origin", "https://sagat.example"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
}

#[tokio::test]
async fn web_forms_need_the_session_bound_token() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v, _) = volunteer(&e, "org-a", &a, "Алтынай").await;
    let cookie = web_session(&e, &a).await;
    let other = web_session(&e, &a).await;
    let page = call(&e.state, Method::GET, "/org", Auth::Cookie(&cookie), None).await;
    let csrf = csrf_of(&page.text());
    // Every form of the page carries it.
    assert_eq!(
        page.text()
            .matches("<form method=\"post\" action=\"/org")
            .count(),
        page.text().matches("name=\"csrf\"").count(),
        "{}",
        page.text()
    );
    let other_csrf = csrf_of(
        &call(&e.state, Method::GET, "/org", Auth::Cookie(&other), None)
            .await
            .text(),
    );
    assert_ne!(csrf, other_csrf, "the token is bound to the session");
    let count = |e: &Env| {
        e.state
            .app
            .ledger
            .read(|s| s.attestations_by_org("org-a").len())
    };
    let before = count(&e);
    let attest = |nonce: &str, token: Option<&str>| {
        let mut b = format!(
            "volunteer={v}&date={}&hours=1&activity=&role=&note=&nonce={nonce}",
            yesterday()
        );
        if let Some(t) = token {
            b.push_str(&format!("&csrf={t}"));
        }
        b
    };
    for (i, token) in [None, Some(""), Some("forged"), Some(other_csrf.as_str())]
        .into_iter()
        .enumerate()
    {
        let nonce = format!("{i:a>32}");
        let r = send(
            &e.state,
            form_post("/org/attest", &cookie, &attest(&nonce, token)),
        )
        .await;
        refused(&r, "csrf-token");
    }
    let r = send(
        &e.state,
        form_post(
            "/org/attest?lang=en",
            &cookie,
            &attest("e0000000000000000000000000000000", None),
        ),
    )
    .await;
    assert!(r.text().contains("security token"), "{}", r.text());
    assert_eq!(count(&e), before, "refused posts append nothing");
    // The CSV upload too.
    let csv = format!("volunteer,date,hours\n{v},{},1\n", yesterday());
    let r = send(
        &e.state,
        csv_form_post(
            &cookie,
            &csv,
            &[("nonce", "c1000000000000000000000000000000")],
            &[],
        ),
    )
    .await;
    refused(&r, "csrf-token");
    assert_eq!(count(&e), before);
    // With the session's own token both work.
    let r = send(
        &e.state,
        form_post(
            "/org/attest",
            &cookie,
            &attest("f0000000000000000000000000000000", Some(&csrf)),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = send(
        &e.state,
        csv_form_post(
            &cookie,
            &csv.replace(",1\n", ",2\n"),
            &[
                ("nonce", "c2000000000000000000000000000000"),
                ("csrf", &csrf),
            ],
            &[],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let shown = call(
        &e.state,
        Method::GET,
        &location(&r),
        Auth::Cookie(&cookie),
        None,
    )
    .await;
    assert!(shown.text().contains("id=\"csv-rows\""), "{}", shown.text());
    assert_eq!(count(&e), before + 2);
    // The operator's and the volunteer's forms are bound the same way.
    let op = web_session(&e, &e.op).await;
    let r = send(
        &e.state,
        form_post(
            "/operator/token",
            &op,
            "org=org-a&nonce=b0000000000000000000000000000000",
        ),
    )
    .await;
    refused(&r, "csrf-token");
    let (_, code) = volunteer(&e, "org-a", &a, "Ерлан").await;
    let vs = web_session(&e, &code).await;
    let r = send(
        &e.state,
        form_post(
            "/me/certificate",
            &vs,
            "lang=kk&nonce=b1000000000000000000000000000000",
        ),
    )
    .await;
    refused(&r, "csrf-token");
}

#[tokio::test]
async fn api_writes_never_take_the_session_cookie() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v, code) = volunteer(&e, "org-a", &a, "Сәуле").await;
    assert_eq!(
        attest(&e, "org-a", &a, &v, 60).await.status,
        StatusCode::CREATED
    );
    // An organization's web session (a cookie a browser attaches to any same-site request).
    let org_cookie = session(&e, &a).await;
    let size = e.state.app.ledger.size();
    // The CSV API with the cookie and `text/plain` (what a cross-site form can send): refused.
    let csv = format!("volunteer,date,hours\n{v},{},1\n", yesterday());
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/orgs/org-a/attestations/csv")
        .header(header::COOKIE, &org_cookie)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(csv.clone()))
        .unwrap();
    let r = send(&e.state, req).await;
    let p = r.problem(401, Some("authorization"), "valid-credential");
    assert!(p["detail"].as_str().unwrap().contains("cookie"), "{p}");
    // JSON writes with the cookie: refused too.
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/attestations",
        Auth::Cookie(&org_cookie),
        Some(json!({"volunteer": v, "date": yesterday(), "minutes": 30})),
    )
    .await;
    r.problem(401, Some("authorization"), "valid-credential");
    let vol = session(&e, &code).await;
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/volunteers/{v}/certificates"),
        Auth::Cookie(&vol),
        Some(json!({"lang": "en"})),
    )
    .await;
    r.problem(401, Some("authorization"), "valid-credential");
    assert_eq!(e.state.app.ledger.size(), size, "nothing appended");
    // Reads still take the cookie; writes take the same session as a bearer token, and the
    // sign-in answer hands it out for that.
    let r = call(
        &e.state,
        Method::GET,
        &format!("/api/v1/volunteers/{v}/hours"),
        Auth::Cookie(&vol),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/session",
        Auth::None,
        Some(json!({"code": code})),
    )
    .await;
    let secret = r.json()["session"].as_str().unwrap().to_string();
    assert!(secret.starts_with("sgt-s-"));
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/volunteers/{v}/certificates"),
        Auth::Bearer(&secret),
        Some(json!({"lang": "en"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = raw(
        &e.state,
        "/api/v1/orgs/org-a/attestations/csv",
        bearer_of(&org_cookie),
        "text/csv",
        csv.into_bytes(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

#[tokio::test]
async fn reissuing_a_code_ends_the_volunteers_sessions() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v, code) = volunteer(&e, "org-a", &a, "Жанар").await;
    let (v2, code2) = volunteer(&e, "org-a", &a, "Бауыржан").await;
    let api_session = session(&e, &code).await;
    let web = web_session(&e, &code).await;
    let bystander = session(&e, &code2).await;
    let hours = |s: &str, id: &str| {
        let uri = format!("/api/v1/volunteers/{id}/hours");
        let s = s.to_string();
        let state = e.state.clone();
        async move { call(&state, Method::GET, &uri, Auth::Cookie(&s), None).await }
    };
    assert_eq!(hours(&api_session, &v).await.status, StatusCode::OK);
    assert_eq!(
        call(&e.state, Method::GET, "/me", Auth::Cookie(&web), None)
            .await
            .status,
        StatusCode::OK
    );
    reissue(&e, &a, &v).await;
    // Both sessions of that volunteer end at once; another volunteer's stays.
    hours(&api_session, &v)
        .await
        .problem(401, None, "valid-credential");
    let r = call(&e.state, Method::GET, "/me", Auth::Cookie(&web), None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(location(&r).starts_with("/signin"));
    assert_eq!(hours(&bystander, &v2).await.status, StatusCode::OK);
    // The web form's re-issue does the same.
    let fresh = reissue(&e, &a, &v).await;
    let s = session(&e, &fresh).await;
    assert_eq!(hours(&s, &v).await.status, StatusCode::OK);
    let org_web = web_session(&e, &a).await;
    let tok = csrf_of(
        &call(&e.state, Method::GET, "/org", Auth::Cookie(&org_web), None)
            .await
            .text(),
    );
    let r = send(
        &e.state,
        form_post(
            "/org/code",
            &org_web,
            &format!("volunteer={v}&nonce=d0000000000000000000000000000000&csrf={tok}"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let shown = call(
        &e.state,
        Method::GET,
        &location(&r),
        Auth::Cookie(&org_web),
        None,
    )
    .await;
    assert!(
        shown.text().contains("id=\"new-access-code\""),
        "{}",
        shown.text()
    );
    hours(&s, &v).await.problem(401, None, "valid-credential");
}

/// Re-issues `v`'s code through the API as organization org-a (token `a`); returns it.
async fn reissue(e: &Env, a: &str, v: &str) -> String {
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/orgs/org-a/volunteers/{v}/access-code"),
        Auth::Bearer(a),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["access_code"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_suspended_organization_cannot_reissue_codes() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v, code) = volunteer(&e, "org-a", &a, "Гүлнар").await;
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/suspend",
        Auth::Bearer(&e.op),
        Some(json!({"reason": "audit"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/orgs/org-a/volunteers/{v}/access-code"),
        Auth::Bearer(&a),
        None,
    )
    .await;
    let p = r.problem(403, Some("org"), "org-suspended");
    assert!(p["detail"].as_str().unwrap().contains("suspended"), "{p}");
    // Nor through the web form (a new session: suspension ended the old ones).
    let web = web_session(&e, &a).await;
    let tok = csrf_of(
        &call(&e.state, Method::GET, "/org", Auth::Cookie(&web), None)
            .await
            .text(),
    );
    let r = send(
        &e.state,
        form_post(
            "/org/code",
            &web,
            &format!("volunteer={v}&nonce=d1000000000000000000000000000000&csrf={tok}"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let shown = call(
        &e.state,
        Method::GET,
        &location(&r),
        Auth::Cookie(&web),
        None,
    )
    .await;
    assert!(shown.text().contains("org-suspended"), "{}", shown.text());
    assert!(
        !shown.text().contains("id=\"new-access-code\""),
        "{}",
        shown.text()
    );
    // The volunteer's own code still works: nothing was re-issued.
    session(&e, &code).await;
    // After reinstatement the organization may again.
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/reinstate",
        Auth::Bearer(&e.op),
        Some(json!({"reason": "ok"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/orgs/org-a/volunteers/{v}/access-code"),
        Auth::Bearer(&a),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

#[tokio::test]
async fn tokens_expire_are_listed_and_can_be_revoked() {
    let e = env();
    org(&e, "org-a").await;
    let t0 = datadir::now();
    // Mint with a lifetime: the answer says when it expires and under which id it is listed.
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/tokens",
        Auth::Bearer(&e.op),
        Some(json!({"expires_days": 2})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let minted = r.json();
    let token = minted["token"].as_str().unwrap().to_string();
    let id = minted["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 16);
    let exp = minted["expires"].as_i64().unwrap();
    assert!(
        (t0 + 2 * 86_400..=datadir::now() + 2 * 86_400).contains(&exp),
        "{minted}"
    );
    // The default is 365 days; 0 is "never"; over 10 years is refused.
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/tokens",
        Auth::Bearer(&e.op),
        None,
    )
    .await;
    let exp = r.json()["expires"].as_i64().unwrap();
    assert!(exp >= t0 + 365 * 86_400 && exp <= datadir::now() + 365 * 86_400);
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/tokens",
        Auth::Bearer(&e.op),
        Some(json!({"expires_days": 0})),
    )
    .await;
    assert!(r.json()["expires"].is_null(), "{}", r.text());
    let never = r.json()["token"].as_str().unwrap().to_string();
    call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/tokens",
        Auth::Bearer(&e.op),
        Some(json!({"expires_days": 5000})),
    )
    .await
    .problem(422, Some("expires_days"), "token-lifetime");
    // Use it, then list: created, expires, last use; never the secret.
    assert_eq!(
        call(
            &e.state,
            Method::GET,
            "/api/v1/orgs/org-a/attestations",
            Auth::Bearer(&token),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    let list = call(
        &e.state,
        Method::GET,
        "/api/v1/tokens",
        Auth::Bearer(&e.op),
        None,
    )
    .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    assert!(
        !list.text().contains(&token[8..]),
        "a listing shows no secret"
    );
    assert!(!list.text().contains(&e.op[7..]));
    let rows = list.json();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("{rows}"))
        .clone();
    assert_eq!(row["role"], "org");
    assert_eq!(row["org"], "org-a");
    assert!(row["created"].as_i64().unwrap() >= t0);
    assert!(row["last_used"].as_i64().unwrap() >= t0, "{row}");
    assert!(rows
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["role"] == "operator" && !t["last_used"].is_null()));
    // Only the operator lists and revokes.
    call(
        &e.state,
        Method::GET,
        "/api/v1/tokens",
        Auth::Bearer(&token),
        None,
    )
    .await
    .problem(403, None, "role-operator");
    call(
        &e.state,
        Method::POST,
        &format!("/api/v1/tokens/{id}/revoke"),
        Auth::Bearer(&token),
        None,
    )
    .await
    .problem(403, None, "role-operator");
    // A web session opened with the token.
    let web = web_session(&e, &token).await;
    assert_eq!(
        call(&e.state, Method::GET, "/org", Auth::Cookie(&web), None)
            .await
            .status,
        StatusCode::OK
    );
    // Revoke: the token and its session stop at once; a token without expiry keeps working.
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/tokens/{id}/revoke"),
        Auth::Bearer(&e.op),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["id"], id);
    call(
        &e.state,
        Method::GET,
        "/api/v1/orgs/org-a/attestations",
        Auth::Bearer(&token),
        None,
    )
    .await
    .problem(401, Some("authorization"), "valid-credential");
    assert_eq!(
        call(&e.state, Method::GET, "/org", Auth::Cookie(&web), None)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    call(
        &e.state,
        Method::POST,
        &format!("/api/v1/tokens/{id}/revoke"),
        Auth::Bearer(&e.op),
        None,
    )
    .await
    .problem(404, Some("id"), "exists");
    assert_eq!(
        call(
            &e.state,
            Method::GET,
            "/api/v1/orgs/org-a/attestations",
            Auth::Bearer(&never),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    let listed = call(
        &e.state,
        Method::GET,
        "/api/v1/tokens",
        Auth::Bearer(&e.op),
        None,
    )
    .await
    .json();
    assert!(
        !listed.as_array().unwrap().iter().any(|t| t["id"] == id),
        "{listed}"
    );
    // An expired token is a 401 and is not listed: this one was minted 1000 s ago with a
    // 500 s lifetime. (A token without `expires` — `never` above, like every record written
    // before expiry existed — keeps working.)
    let expired = e
        .state
        .tokens
        .mint(
            tokens::Role::Org("org-a".into()),
            tokens::Kind::Token,
            Some(500),
            datadir::now() - 1000,
        )
        .unwrap();
    call(
        &e.state,
        Method::GET,
        "/api/v1/orgs/org-a/attestations",
        Auth::Bearer(&expired),
        None,
    )
    .await
    .problem(401, Some("authorization"), "valid-credential");
    assert_eq!(
        call(
            &e.state,
            Method::GET,
            "/api/v1/orgs/org-a/attestations",
            Auth::Bearer(&never),
            None,
        )
        .await
        .status,
        StatusCode::OK
    );
    let r = send(
        &e.state,
        form_post("/signin", "", &format!("code={expired}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let listed = call(
        &e.state,
        Method::GET,
        "/api/v1/tokens",
        Auth::Bearer(&e.op),
        None,
    )
    .await
    .json();
    assert!(
        !listed.to_string().contains(&tokens::token_id(&expired)),
        "{listed}"
    );
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (_, code) = volunteer(&e, "org-a", &a, "Нұржан").await;
    let check = |r: &Resp| {
        assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(r.headers[header::REFERRER_POLICY], "same-origin");
    };
    let r = call(&e.state, Method::GET, "/", Auth::None, None).await;
    check(&r);
    assert!(
        r.headers.get(header::CACHE_CONTROL).is_none(),
        "public pages may be cached"
    );
    let r = call(&e.state, Method::GET, "/api/v1/nope", Auth::None, None).await;
    check(&r);
    let r = call(&e.state, Method::GET, "/log/checkpoint", Auth::None, None).await;
    check(&r);
    assert_eq!(
        r.headers[header::CACHE_CONTROL],
        "no-cache",
        "handlers keep their own caching"
    );
    // Answers that show codes, tokens or a signed-in page are never stored.
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/volunteers",
        Auth::Bearer(&a),
        Some(json!({"name": "X"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    check(&r);
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/session",
        Auth::None,
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    let set = r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(!set.contains("Secure"), "plain HTTP by default: {set}");
    let cookie = set.split(';').next().unwrap().to_string();
    let r = call(&e.state, Method::GET, "/me", Auth::Cookie(&cookie), None).await;
    assert_eq!(r.status, StatusCode::OK);
    check(&r);
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    // Over HTTPS (configured), every cookie is Secure.
    let s = env_with(ServeOptions {
        rate_limit_per_minute: 0,
        secure_cookies: true,
        ..ServeOptions::default()
    });
    let r = send(
        &s.state,
        form_post("/signin", "", &format!("code={}", s.op)),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let set = r.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set.starts_with("sagat_session=") && set.ends_with("; Secure"),
        "{set}"
    );
    let r = call(&s.state, Method::GET, "/?lang=ru", Auth::None, None).await;
    assert!(r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("; Secure"));
    // Behind a trusted proxy, per request from X-Forwarded-Proto.
    let p = env_with(ServeOptions {
        rate_limit_per_minute: 0,
        trust_forwarded_for: true,
        ..ServeOptions::default()
    });
    let mut req = form_post("/signin", "", &format!("code={}", p.op));
    req.headers_mut()
        .insert("x-forwarded-proto", "https".parse().unwrap());
    let r = send(&p.state, req).await;
    assert!(r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .ends_with("; Secure"));
    let r = send(
        &p.state,
        form_post("/signin", "", &format!("code={}", p.op)),
    )
    .await;
    assert!(!r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Secure"));
}

// ---------------------------------------------------------------------------------------------
// Bounded work for public input: photo uploads (size from the header, at most N decodes at
// once, 4xx answers) and CSV quotes.

/// A `multipart/form-data` post of `photo` to `/verify/photo`.
async fn post_photo(state: &AppState, photo: &[u8]) -> Resp {
    let mut body = b"--XBOUNDARYX\r\nContent-Disposition: form-data; name=\"photo\"; \
filename=\"p.png\"\r\nContent-Type: image/png\r\n\r\n"
        .to_vec();
    body.extend_from_slice(photo);
    body.extend_from_slice(b"\r\n--XBOUNDARYX--\r\n");
    let req = Request::builder()
        .method(Method::POST)
        .uri("/verify/photo")
        .header(
            header::CONTENT_TYPE,
            "multipart/form-data; boundary=XBOUNDARYX",
        )
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .unwrap();
    send(state, req).await
}

/// CRC-32 (ISO-HDLC), as PNG chunks carry it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG that is only a signature, a header (IHDR) declaring `width` × `height` 8-bit pixels
/// of `color_type` (2 = RGB, 6 = RGBA) and an image data chunk with no pixels in it: decoding
/// it would fail, so a refusal for its size can only come from reading the header.
fn png_header_only(width: u32, height: u32, color_type: u8) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = b"IHDR".to_vec();
    chunk.extend_from_slice(&width.to_be_bytes());
    chunk.extend_from_slice(&height.to_be_bytes());
    chunk.extend_from_slice(&[8, color_type, 0, 0, 0]);
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&chunk);
    png.extend_from_slice(&crc32(&chunk).to_be_bytes());
    // One image data chunk holding an empty zlib stream: the header read stops at it.
    let mut idat = b"IDAT".to_vec();
    idat.extend_from_slice(&[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    png.extend_from_slice(&8u32.to_be_bytes());
    png.extend_from_slice(&idat);
    png.extend_from_slice(&crc32(&idat).to_be_bytes());
    png
}

fn white_png(side: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::GrayImage::from_pixel(side, side, image::Luma([255]))
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

#[tokio::test]
async fn photo_bombs_are_refused_from_the_header_with_413() {
    let e = env();
    // 20000 × 20000: over 12000 pixels per side. 11000 × 11000 RGBA: within the side limit,
    // but 462 MiB decoded, over the 256 MiB that `sagat-verify --image` allows.
    for (w, h, ct) in [(20_000, 20_000, 2), (11_000, 11_000, 6)] {
        let bomb = png_header_only(w, h, ct);
        assert!(bomb.len() < 80, "a tiny file");
        let err = ops::verification::decode_qr_photo(&bomb).unwrap_err();
        assert_eq!(err.status(), 413, "{err}");
        assert_eq!(err.problem.rule.as_deref(), Some("image-size"));
        assert!(err.problem.detail.contains(&format!("{w} × {h}")), "{err}");
        let r = post_photo(&e.state, &bomb).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
        assert!(r.text().contains("image-size"), "{}", r.text());
        assert!(r.text().contains("12000 pixels per side"), "{}", r.text());
    }
    // The same header declaring a small image is decoded, and fails for the missing pixels:
    // the refusals above came from the header alone.
    let small = ops::verification::decode_qr_photo(&png_header_only(64, 64, 2)).unwrap_err();
    assert_eq!(small.status(), 422, "{small}");
    assert_eq!(small.problem.rule.as_deref(), Some("image"));
}

#[tokio::test]
async fn photo_errors_are_4xx_pages_never_200() {
    let e = env_with(ServeOptions {
        rate_limit_per_minute: 0,
        max_upload_bytes: 16 * 1024,
        ..ServeOptions::default()
    });
    // Not an image at all: 415.
    let r = post_photo(&e.state, b"hello, I am not a picture").await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text());
    assert!(r.text().contains("image-format"), "{}", r.text());
    // A PNG signature followed by garbage: 422.
    let r = post_photo(&e.state, b"\x89PNG\r\n\x1a\nthis is not a chunk at all").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    // A good image without a QR code: 422 `qr-found`.
    let r = post_photo(&e.state, &white_png(64)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("qr-found"), "{}", r.text());
    // No photo: 422.
    let r = post_photo(&e.state, b"").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    // Over the upload limit: 413 `body-size`, not "choose a photo".
    let r = post_photo(&e.state, &vec![0u8; 32 * 1024]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert!(r.text().contains("body-size"), "{}", r.text());
}

/// Organization `org-a`, one volunteer with 4 hours, and their certificate (`issue` body):
/// the answer of the issue request.
async fn one_certificate(e: &Env, issue: Value) -> Value {
    one_certificate_and_session(e, issue).await.0
}

/// [`one_certificate`], and the volunteer's session.
async fn one_certificate_and_session(e: &Env, issue: Value) -> (Value, String) {
    let a = org(e, "org-a").await;
    let (v, code) = volunteer(e, "org-a", &a, "Ұлжан Есенова").await;
    assert_eq!(
        attest(e, "org-a", &a, &v, 240).await.status,
        StatusCode::CREATED
    );
    let s = session(e, &code).await;
    (issue_certificate(e, &v, &s, issue).await, s)
}

/// With a verify address in the configuration, a certificate's QR images carry the URL form
/// `<verify URL>#VH1:…` (docs/formats.md §1.4), and the JSON check and the verify page accept
/// that link as the certificate; the API still answers the bare QR text.
#[tokio::test]
async fn a_verify_url_puts_the_link_in_the_qr_code_and_every_check_takes_it() {
    const URL: &str = "https://verify.example.kz/v";
    let dir = tempfile::tempdir().unwrap();
    let config = datadir::Config {
        verify_url: Some(URL.into()),
        ..datadir::Config::default()
    };
    let app = init_test(&dir.path().join("data"), config);
    let state = AppState::new(
        app,
        &ServeOptions {
            rate_limit_per_minute: 0,
            ..ServeOptions::default()
        },
    )
    .unwrap();
    let op = state.ensure_operator_token().unwrap().unwrap();
    let e = Env {
        _dir: dir,
        state,
        op,
    };
    let (issued, s) = one_certificate_and_session(&e, json!({"lang": "kk"})).await;
    let qr = issued["qr_text"].as_str().unwrap().to_string();
    assert!(
        qr.starts_with("VH1:"),
        "the API answers the bare text: {qr}"
    );
    let png = call(
        &e.state,
        Method::GET,
        issued["qr_png_url"].as_str().unwrap(),
        Auth::Cookie(&s),
        None,
    )
    .await;
    assert_eq!(png.status, StatusCode::OK);
    let link = ops::verification::decode_qr_photo(&png.body).unwrap();
    assert_eq!(link, sagat_verifier::qr_code_text(&qr, Some(URL)));
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/verify",
        Auth::None,
        Some(json!({"qr_text": link})),
    )
    .await;
    assert_eq!(r.json()["verdict"], "VALID", "{}", r.text());
    let form = format!(
        "qr_text={}",
        link.replace('%', "%25")
            .replace('#', "%23")
            .replace('+', "%2B")
            .replace(' ', "+")
    );
    let page = send(&e.state, form_post("/verify", "", &form)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(page.text().contains("VALID"), "{}", page.text());
    let bad = call(
        &e.state,
        Method::POST,
        "/api/v1/verify",
        Auth::None,
        Some(json!({"qr_text": format!("{link}%41")})),
    )
    .await;
    assert_eq!(bad.json()["code"], "bad_link", "{}", bad.text());
}

/// The browser verifier is served as WebAssembly, gzip-compressed when the request allows it
/// (the same module either way), and its service worker may control the verify page.
#[tokio::test]
async fn the_browser_verifier_is_served_compressed_when_allowed() {
    use std::io::Read as _;
    let e = env();
    let get = |accept: Option<&'static str>| {
        let mut b = Request::builder().uri("/verify/sagat-verify.wasm");
        if let Some(a) = accept {
            b = b.header(header::ACCEPT_ENCODING, a);
        }
        send(&e.state, b.body(Body::empty()).unwrap())
    };
    let plain = get(None).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.headers[header::CONTENT_TYPE], "application/wasm");
    assert!(plain.body.starts_with(b"\0asm"), "a WebAssembly module");
    assert!(plain.headers.get(header::CONTENT_ENCODING).is_none());
    let zipped = get(Some("gzip, br")).await;
    assert_eq!(zipped.headers[header::CONTENT_ENCODING], "gzip");
    assert!(
        zipped.body.len() < plain.body.len() / 2,
        "{}",
        zipped.body.len()
    );
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&zipped.body[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain.body);
    let worker = send(
        &e.state,
        Request::builder()
            .uri("/verify/sw.js")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(worker.headers["service-worker-allowed"], "/verify");
    assert!(
        worker.text().contains("\"/verify/sagat-verify.wasm\""),
        "{}",
        worker.text()
    );
}

/// The verify page reads photos with `sagat-verify --image`'s own search: a small, blurred
/// QR code (2 px per module) of a real certificate is read and VALID; a photo whose only QR
/// code is not a certificate is a 422 that says so.
#[tokio::test]
async fn the_verify_page_reads_photos_as_the_command_line_tool_does() {
    let e = env();
    let issued = one_certificate(&e, json!({"lang": "en"})).await;
    let qr = issued["qr_text"].as_str().unwrap().to_string();
    let png_of = |text: &str, scale: u32| {
        let png = sagat_issuer::qr_png(text, scale).unwrap();
        let gray = image::load_from_memory(&png).unwrap().into_luma8();
        let mut out = std::io::Cursor::new(Vec::new());
        image::imageops::blur(&gray, 0.8)
            .write_to(&mut out, image::ImageFormat::Png)
            .unwrap();
        out.into_inner()
    };
    let photo = png_of(&qr, 2);
    assert_eq!(ops::verification::decode_qr_photo(&photo).unwrap(), qr);
    let r = post_photo(&e.state, &photo).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("VALID"), "{}", r.text());
    let other = post_photo(&e.state, &png_of("https://example.org/menu", 4)).await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.text()
    );
    assert!(other.text().contains("qr-found"), "{}", other.text());
    assert!(
        other.text().contains("not a Sagat certificate"),
        "{}",
        other.text()
    );
}

#[path = "../verifier/image/tests/image_set/mod.rs"]
mod image_set;

/// The web photo check reads every image of the verifier's image set (docs/benchmarks.md,
/// "Verifier") that `sagat verify --image` — the `sagat-verify` command — reads, with the same
/// verdict, and refuses the ones it cannot read: each image goes through the command (its own
/// process, with the trust list, status list and operator key a verifier downloads) and through
/// `POST /verify/photo`.
#[tokio::test]
async fn the_photo_check_reads_every_image_the_command_line_reads() {
    let e = env_with(ServeOptions {
        rate_limit_per_minute: 0,
        max_image_decodes: 4,
        ..ServeOptions::default()
    });
    let issued = one_certificate(&e, json!({"lang": "en"})).await;
    let qr = issued["qr_text"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    for (uri, name) in [
        ("/api/v1/trust-list", "trust.json"),
        ("/api/v1/status-list", "status.cwt"),
    ] {
        let r = call(&e.state, Method::GET, uri, Auth::None, None).await;
        assert_eq!(r.status, StatusCode::OK);
        std::fs::write(dir.path().join(name), &r.body).unwrap();
    }
    let root = e.state.app.operator_vkey();
    let (mut both, mut neither) = (0, Vec::new());
    for sample in image_set::samples(&qr) {
        assert!(
            sample.file.len() <= ServeOptions::default().max_upload_bytes,
            "{} is within the default upload limit",
            sample.name
        );
        let path = dir.path().join(format!(
            "{}.{}",
            sample.name,
            if sample.jpeg { "jpg" } else { "png" }
        ));
        std::fs::write(&path, &sample.file).unwrap();
        let cli = std::process::Command::new(env!("CARGO_BIN_EXE_sagat"))
            .arg("verify")
            .arg("--image")
            .arg(&path)
            .arg("--trust")
            .arg(dir.path().join("trust.json"))
            .arg("--status")
            .arg(dir.path().join("status.cwt"))
            .args(["--root", &root])
            .output()
            .unwrap();
        let cli_valid = cli.status.code() == Some(0);
        let web = post_photo(&e.state, &sample.file).await;
        let web_valid = web.status == StatusCode::OK && web.text().contains("VALID");
        assert_eq!(
            web_valid,
            cli_valid,
            "{}: sagat verify --image says {:?} ({}), the web photo check {} {}",
            sample.name,
            cli.status.code(),
            String::from_utf8_lossy(&cli.stdout),
            web.status,
            web.text()
        );
        if cli_valid {
            both += 1;
        } else {
            // Not read by either: the web page says no certificate QR code was found.
            assert_eq!(cli.status.code(), Some(2), "{}", sample.name);
            assert_eq!(
                web.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{}",
                sample.name
            );
            assert!(web.text().contains("qr-found"), "{}", web.text());
            neither.push(sample.name);
        }
    }
    // The whole set of 45 is read by both, as the benchmark's table says; of the harder pages
    // at most the two phone-photo-like 150 dpi views are read by neither.
    assert!(
        both >= 45 + 9,
        "read by both: {both}; by neither: {neither:?}"
    );
    assert!(
        neither.iter().all(|n| n.starts_with("page-150-true")),
        "{neither:?}"
    );
}

/// The verify page names an untrusted issuer and a credential not valid yet as such, in the
/// page's language (the JSON verdict stays INVALID, with the verifier's code).
#[tokio::test]
async fn the_verify_page_tells_an_untrusted_issuer_and_not_yet_valid_apart() {
    let e = env();
    let issued = one_certificate(&e, json!({"lang": "en"})).await;
    let cose = sagat_verifier::decode_qr_text(issued["qr_text"].as_str().unwrap()).unwrap();
    let claims = sagat_verifier::parse_credential(&cose).unwrap().claims;
    // The same claims signed by a key nobody trusts; and by the issuer, but valid from 2100.
    let stranger = sagat_verifier::encode_qr_text(&sagat_verifier::sign_credential(
        &claims,
        &datadir::generate_key(),
    ));
    let mut later = claims.clone();
    later.not_before = 4_102_444_800;
    let early = sagat_verifier::encode_qr_text(&sagat_verifier::sign_credential(
        &later,
        &e.state.app.issuer.key,
    ));
    // A cut-off text: the page says so in plain words, not in the decoder's message.
    let garbled = "VH1:ABC".to_string();
    for (text, label, kk, json_code) in [
        (
            &garbled,
            "INVALID",
            "бұл Сағат сертификатының коды емес",
            "bad_zlib",
        ),
        (
            &stranger,
            "UNTRUSTED",
            "СЕНІМСІЗ БЕРУШІ",
            "untrusted_issuer",
        ),
        (&early, "NOT_YET_VALID", "ӘЛІ ЖАРАМДЫ ЕМЕС", "not_yet_valid"),
    ] {
        let encoded: String = text
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let body = format!("qr_text={encoded}");
        let mut req = form_post("/verify?lang=kk", "", &body);
        req.headers_mut()
            .insert("sec-fetch-site", "same-origin".parse().unwrap());
        let page = send(&e.state, req).await;
        assert!(
            page.text().contains(&format!("data-verdict=\"{label}\"")) && page.text().contains(kk),
            "{}",
            page.text()
        );
        let api = call(
            &e.state,
            Method::POST,
            "/api/v1/verify",
            Auth::None,
            Some(json!({"qr_text": text})),
        )
        .await;
        let j = api.json();
        assert_eq!(
            (j["verdict"].as_str(), j["code"].as_str()),
            (Some("INVALID"), Some(json_code)),
            "{j}"
        );
    }
}

/// The trust and status lists are signed once per log size, not per request: the same bytes
/// until the log grows, then new ones that include what was appended.
#[tokio::test]
async fn trust_and_status_lists_are_made_once_per_log_size() {
    let e = env();
    let get = |uri: &'static str| {
        let state = e.state.clone();
        async move { call(&state, Method::GET, uri, Auth::None, None).await.body }
    };
    let (t1, s1) = (
        get("/api/v1/trust-list").await,
        get("/api/v1/status-list").await,
    );
    // A second apart, the signed issued-at times would differ if they were made again.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(get("/api/v1/trust-list").await, t1);
    assert_eq!(get("/api/v1/status-list").await, s1);
    org(&e, "org-new").await;
    let t2 = String::from_utf8(get("/api/v1/trust-list").await).unwrap();
    assert!(t2.contains("org-new"), "{t2}");
    assert!(!String::from_utf8(t1).unwrap().contains("org-new"));
}

#[tokio::test]
async fn photo_decodes_are_limited_and_a_full_queue_answers_503() {
    let e = env_with(ServeOptions {
        rate_limit_per_minute: 0,
        max_image_decodes: 1,
        ..ServeOptions::default()
    });
    assert_eq!(e.state.image_decodes.available_permits(), 1);
    // Every decoder busy (the test holds the only permit): the photo waits, then gets 503.
    let held = e.state.image_decodes.clone().acquire_owned().await.unwrap();
    let r = post_photo(&e.state, &white_png(64)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert!(r.headers.get(header::RETRY_AFTER).is_some());
    assert!(r.text().contains("decode-capacity"), "{}", r.text());
    drop(held);
    let r = post_photo(&e.state, &white_png(64)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(
        e.state.image_decodes.available_permits(),
        1,
        "the permit came back"
    );
}

#[tokio::test]
async fn csv_with_an_unbalanced_quote_is_refused_naming_the_line() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v1, _) = volunteer(&e, "org-a", &a, "Ерлан").await;
    let (v2, _) = volunteer(&e, "org-a", &a, "Мадина").await;
    let d = yesterday();
    let size = e.state.app.ledger.size();
    // Line 3's note opens a quote it never closes: the reader takes lines 4 and 5 into it.
    let csv = format!(
        "volunteer,date,hours,note\n{v1},{d},1,fine\n{v2},{d},2,\"gate B\n{v1},{d},3,\n{v2},{d},1,\n"
    );
    let r = raw(
        &e.state,
        "/api/v1/orgs/org-a/attestations/csv",
        &a,
        "text/csv",
        csv.into_bytes(),
    )
    .await;
    let p = r.problem(422, None, "csv-all-rows-valid");
    let errors = p["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{p}");
    assert_eq!(errors[0]["line"], 3, "{p}");
    assert_eq!(errors[0]["rule"], "csv-quote", "{p}");
    assert_eq!(errors[0]["field"], "row", "{p}");
    let detail = errors[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("line 3") && detail.contains("note"),
        "{detail}"
    );
    assert_eq!(e.state.app.ledger.size(), size, "nothing appended");
}

/// Issue 10 part 5: a flipped byte in a stored certificate, volunteer key shard or token record
/// is an error for that record only; the service still starts and everything else works.
#[tokio::test]
async fn damaged_stored_files_fail_alone_and_the_service_still_starts() {
    let e = env();
    let a = org(&e, "org-a").await;
    // Two volunteers whose ids fall in different key shards (first two hex digits).
    let (v, code) = volunteer(&e, "org-a", &a, "Әсел Нұрланқызы").await;
    let (w, code_w) = loop {
        let (w, c) = volunteer(&e, "org-a", &a, "Данияр").await;
        if w[..2] != v[..2] {
            break (w, c);
        }
    };
    for vol in [&v, &w] {
        assert_eq!(
            attest(&e, "org-a", &a, vol, 180).await.status,
            StatusCode::CREATED
        );
    }
    let s = session(&e, &code).await;
    let first = issue_certificate(&e, &v, &s, json!({"lang": "ru"})).await;
    let second = issue_certificate(&e, &v, &s, json!({"lang": "kk"})).await;
    let data = e.state.app.dir.clone();
    let flip = |path: &std::path::Path, at: usize| {
        let mut bytes = std::fs::read(path).unwrap();
        bytes[at] ^= 1;
        std::fs::write(path, bytes).unwrap();
    };
    let cid = first["credential_id"].as_str().unwrap();
    if on_postgres() {
        // The same byte of the same PDF, in its row.
        stored_sql(
            &data,
            &format!(
                "UPDATE sagat_values SET value = set_byte(value, 100, get_byte(value, 100) # 1) \
                 WHERE space = 'certificates' AND key = '{v}/{cid}.pdf'"
            ),
        );
    } else {
        flip(
            &data
                .join("certificates")
                .join(&v)
                .join(format!("{cid}.pdf")),
            100,
        );
    }
    let pdf = |issued: &Value| issued["pdf_url"].as_str().unwrap().to_string();
    let r = call(&e.state, Method::GET, &pdf(&first), Auth::Cookie(&s), None).await;
    let p = r.problem(500, None, "stored-file-integrity");
    assert!(p["type"]
        .as_str()
        .unwrap()
        .ends_with("/stored-file-damaged"));
    assert!(p["detail"].as_str().unwrap().contains(cid), "{p}");
    assert!(
        !r.body.starts_with(b"%PDF"),
        "changed bytes are never served"
    );
    let r = call(&e.state, Method::GET, &pdf(&second), Auth::Cookie(&s), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.body.starts_with(b"%PDF"));

    // A damaged key shard (v's) and a damaged token record (the org's token): restart.
    let Env { _dir, state, op } = e;
    drop(state);
    if on_postgres() {
        // v's record key, and "org-a" → "org,a" in the token journal's lines.
        stored_sql(
            &data,
            &format!(
                "UPDATE sagat_sealed SET key = set_byte(key, 12, get_byte(key, 12) # 1) \
                 WHERE space = 'volunteers' AND id = decode('{v}', 'hex')"
            ),
        );
        stored_sql(
            &data,
            r#"UPDATE sagat_journal SET line = convert_to(replace(convert_from(line, 'UTF8'),
                 '"org":"org-a"', '"org":"org,a"'), 'UTF8') WHERE journal = 'tokens'"#,
        );
    } else {
        flip(&data.join("volunteers").join("keys").join(&v[..2]), 12);
        let tokens = data.join("tokens.json");
        let text = std::fs::read_to_string(&tokens).unwrap();
        let org_line = text.find(r#""org":"org-a""#).unwrap();
        flip(&tokens, org_line + 10); // "org-a" → "org,a"
    }
    let state = AppState::new(
        open_test(&data).expect("a damaged shard must not stop the service"),
        &ServeOptions {
            rate_limit_per_minute: 0,
            ..ServeOptions::default()
        },
    )
    .unwrap();
    let e = Env { _dir, state, op };
    let err = e.state.app.directory.get(&v).unwrap_err().to_string();
    let names = if on_postgres() {
        v.clone()
    } else {
        format!("keys/{}", &v[..2])
    };
    assert!(err.contains(&names), "{err}");
    assert_eq!(
        e.state.app.directory.get(&w).unwrap().unwrap().name,
        "Данияр"
    );
    // Issuing for v needs v's name: a 500 naming the damage, never a name from changed bytes.
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/volunteers/{v}/certificates"),
        Auth::Bearer(bearer_of(&s)),
        Some(json!({"lang": "en"})),
    )
    .await;
    let p = r.problem(500, None, "stored-file-integrity");
    assert!(p["detail"].as_str().unwrap().contains(&v), "{p}");
    // The org token no longer resolves (never as another org); the operator's and the
    // volunteers' sessions still do.
    let attestations = "/api/v1/orgs/org-a/attestations";
    call(&e.state, Method::GET, attestations, Auth::Bearer(&a), None)
        .await
        .problem(401, Some("authorization"), "valid-credential");
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/tokens",
        Auth::Bearer(&e.op),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let fresh = r.json()["token"].as_str().unwrap().to_string();
    let r = call(
        &e.state,
        Method::GET,
        attestations,
        Auth::Bearer(&fresh),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let sw = session(&e, &code_w).await;
    let r = call(
        &e.state,
        Method::GET,
        &format!("/api/v1/volunteers/{w}/hours"),
        Auth::Cookie(&sw),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = call(&e.state, Method::GET, &pdf(&second), Auth::Cookie(&s), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

/// Runs one statement on the PostgreSQL database of data directory `data` (this run's store),
/// on a thread of its own (the blocking client panics on an async thread). Asserts it changed
/// at least one row.
fn stored_sql(data: &std::path::Path, sql: &str) {
    let url = test_store(data).expect("only on PostgreSQL");
    let sql = sql.to_string();
    let changed = std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.execute(sql.as_str(), &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    })
    .join()
    .unwrap();
    assert!(changed > 0, "the statement changed nothing");
}

/// Every file under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The text of the `field` of log entry `index`, as the text directory gives it back.
fn stored_text(e: &Env, index: u64, field: &str) -> Option<String> {
    let app = &e.state.app;
    let entry = sagat_verifier::decode_signed_event(&app.ledger.entry(index).unwrap()).unwrap();
    let body = &entry.event.body;
    let (_, text) = body
        .free_texts()
        .into_iter()
        .find(|(name, _)| *name == field)
        .unwrap_or_else(|| panic!("entry {index} has no {field}"));
    assert!(
        text.commitment().is_some(),
        "entry {index}: {field} is committed"
    );
    app.texts
        .resolve(&app.ledger, &entry.event.id, body, text)
        .unwrap()
}

#[tokio::test]
async fn typed_roles_notes_and_reasons_never_enter_the_log_and_are_erased_with_the_volunteer() {
    let e = env();
    let a = org(&e, "org-a").await;
    let _b = org(&e, "org-b").await;
    let (v, code) = volunteer(&e, "org-a", &a, "Айгерім").await;
    let d = yesterday();
    let secrets = [
        "steward at the HIV clinic",
        "+7 701 555 0101",
        "entered twice by mistake",
        "volunteer asked to withdraw",
        "csv role: night shift",
        "csv note: asthma",
        "audit of org-b",
        "audit passed",
        "certificate sent to wrong school",
    ];
    let uri = "/api/v1/orgs/org-a/attestations";
    let one =
        json!({"volunteer": v, "date": d, "minutes": 90, "role": secrets[0], "note": secrets[1]});
    let one = serde_json::to_vec(&one).unwrap();
    let first = keyed(&e, uri, &a, "texts-1", "application/json", one.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let first_index = first.json()["index"].as_u64().unwrap();
    // A retry sends the same texts: the stored commitments (other salts) still match them.
    let again = keyed(&e, uri, &a, "texts-1", "application/json", one).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.json()["index"], first_index);
    // Other texts under the same key are another request.
    let other =
        json!({"volunteer": v, "date": d, "minutes": 90, "role": secrets[0], "note": "other"});
    keyed(
        &e,
        uri,
        &a,
        "texts-1",
        "application/json",
        serde_json::to_vec(&other).unwrap(),
    )
    .await
    .problem(422, Some("Idempotency-Key"), "idempotency-key-reused");
    let att = first.json()["id"].as_str().unwrap().to_string();
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/orgs/org-a/attestations/{att}/correct"),
        Auth::Bearer(&a),
        Some(json!({"date": d, "minutes": 60, "reason": secrets[2]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let corrected_index = r.json()["index"].as_u64().unwrap();
    let second = attest(&e, "org-a", &a, &v, 30).await;
    let second_id = second.json()["id"].as_str().unwrap().to_string();
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/orgs/org-a/attestations/{second_id}/retract"),
        Auth::Bearer(&a),
        Some(json!({"reason": secrets[3]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let csv = format!(
        "volunteer,date,hours,activity,role,note\n{v},{d},1.5,,{},{}\n",
        secrets[4], secrets[5]
    );
    let csv_uri = "/api/v1/orgs/org-a/attestations/csv";
    let up = keyed(
        &e,
        csv_uri,
        &a,
        "texts-csv",
        "text/csv",
        csv.clone().into_bytes(),
    )
    .await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.text());
    let csv_index = up.json()["first_index"].as_u64().unwrap();
    let up = keyed(&e, csv_uri, &a, "texts-csv", "text/csv", csv.into_bytes()).await;
    assert_eq!(
        up.status,
        StatusCode::OK,
        "a retried upload is its first result: {}",
        up.text()
    );
    for (path, reason) in [("suspend", secrets[6]), ("reinstate", secrets[7])] {
        let r = call(
            &e.state,
            Method::POST,
            &format!("/api/v1/orgs/org-b/{path}"),
            Auth::Bearer(&e.op),
            Some(json!({ "reason": reason })),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let s = session(&e, &code).await;
    let issued = issue_certificate(&e, &v, &s, json!({"lang": "en"})).await;
    let cred = issued["credential_id"].as_str().unwrap();
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/credentials/{cred}/revoke"),
        Auth::Bearer(&e.op),
        Some(json!({"reason": secrets[8]})),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.text());

    // No typed text in any log entry, nor in any file of the data directory (the text
    // directory seals what it keeps).
    let ledger = &e.state.app.ledger;
    for index in 0..ledger.size() {
        let entry = ledger.entry(index).unwrap();
        for secret in secrets {
            assert!(
                !entry.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "log entry {index} holds {secret:?}"
            );
        }
    }
    for file in files_under(&e.state.app.dir) {
        let bytes = std::fs::read(&file).unwrap();
        for secret in secrets {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds {secret:?}",
                file.display()
            );
        }
    }
    // The texts come back from the text directory, checked against the entries' commitments.
    assert_eq!(
        stored_text(&e, first_index, "role").as_deref(),
        Some(secrets[0])
    );
    assert_eq!(
        stored_text(&e, first_index, "note").as_deref(),
        Some(secrets[1])
    );
    assert_eq!(
        stored_text(&e, corrected_index, "reason").as_deref(),
        Some(secrets[2])
    );
    assert_eq!(
        stored_text(&e, csv_index, "note").as_deref(),
        Some(secrets[5])
    );
    // Erasing the volunteer's texts leaves the entries intact and the texts unrecoverable.
    assert!(e.state.app.texts.erase(&v).unwrap());
    assert_eq!(stored_text(&e, first_index, "role"), None);
    assert_eq!(stored_text(&e, csv_index, "note"), None);
    for index in 0..ledger.size() {
        sagat_verifier::decode_signed_event(&ledger.entry(index).unwrap())
            .unwrap_or_else(|err| panic!("entry {index} still decodes: {err}"));
    }
}

#[tokio::test]
async fn a_text_that_would_break_an_export_is_refused_on_the_way_in() {
    let e = env();
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs",
        Auth::Bearer(&e.op),
        Some(json!({"id": "org-x", "name_en": "Org\u{7f}X"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["rule"], "text-format", "{}", r.text());
    assert!(r.text().contains("U+007F"), "{}", r.text());
    let a = org(&e, "org-a").await;
    let (v, _) = volunteer(&e, "org-a", &a, "Дана").await;
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/attestations",
        Auth::Bearer(&a),
        Some(json!({"volunteer": v, "date": yesterday(), "minutes": 60, "role": "a\u{202e}b"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["rule"], "text-format", "{}", r.text());
    assert_eq!(total_minutes(&e, &v), 0, "nothing appended");
    let csv = format!(
        "volunteer,date,hours,activity,role,note\n{v},{},1,,,\"x\u{7f}\"\n",
        yesterday()
    );
    let r = raw(
        &e.state,
        "/api/v1/orgs/org-a/attestations/csv",
        &a,
        "text/csv",
        csv.into_bytes(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["errors"][0]["rule"], "text-format", "{}", r.text());
    assert_eq!(r.json()["errors"][0]["field"], "note", "{}", r.text());
    // The trust list, which a bad name used to break for good, still exports.
    let r = call(
        &e.state,
        Method::GET,
        "/api/v1/trust-list",
        Auth::None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

/// One attestation as a person types it into each adapter: text fields with stray spaces,
/// hours as a decimal.
struct Typed<'a> {
    volunteer: &'a str,
    date: &'a str,
    hours: &'a str,
    activity: &'a str,
    role: &'a str,
    note: &'a str,
}

impl Typed<'_> {
    fn json(&self) -> Value {
        json!({"volunteer": self.volunteer, "date": self.date,
               "hours": self.hours.parse::<f64>().unwrap(), "activity": self.activity,
               "role": self.role, "note": self.note})
    }
    fn form(&self, nonce: &str, csrf: &str) -> String {
        let fields = [
            ("volunteer", self.volunteer),
            ("date", self.date),
            ("hours", self.hours),
            ("activity", self.activity),
            ("role", self.role),
            ("note", self.note),
            ("nonce", nonce),
            ("csrf", csrf),
        ];
        let pairs: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", v.replace(' ', "+")))
            .collect();
        pairs.join("&")
    }
    fn csv(&self) -> Vec<u8> {
        let t = self;
        format!(
            "volunteer,date,hours,activity,role,note\n{},{},{},{},{},{}\n",
            t.volunteer, t.date, t.hours, t.activity, t.role, t.note
        )
        .into_bytes()
    }
    fn cli_args(&self) -> Vec<String> {
        let t = self;
        [
            ("--volunteer", t.volunteer),
            ("--date", t.date),
            ("--hours", t.hours),
            ("--activity", t.activity),
            ("--role", t.role),
            ("--note", t.note),
        ]
        .iter()
        .flat_map(|(k, v)| [k.to_string(), v.to_string()])
        .collect()
    }
}

/// The same attestation typed into the JSON API, the web form, a CSV upload and `sagat attest`
/// (with stray spaces, an empty activity) lands as the same `HoursAttested` body — trimmed, the
/// empty activity absent, the attestation id being the event id each time; and the same bad
/// attestation is refused by each with the same field and rule (`ops::attestations`, the one
/// path).
#[tokio::test]
async fn one_attestation_through_every_adapter_is_one_payload_and_one_refusal() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v, _) = volunteer(&e, "org-a", &a, "Айгерім").await;
    let cookie = web_session(&e, &a).await;
    let page = call(&e.state, Method::GET, "/org", Auth::Cookie(&cookie), None).await;
    let csrf = csrf_of(&page.text());
    let day = yesterday();
    let start = e.state.app.ledger.size();
    let spaced = format!(" {v} ");
    let good = Typed {
        volunteer: &spaced,
        date: &day,
        hours: "1.5",
        activity: " ",
        role: " steward ",
        note: "gate 3",
    };
    let bad = Typed {
        volunteer: "nobody",
        ..good
    };
    let csv_uri = "/api/v1/orgs/org-a/attestations/csv";
    let api_uri = "/api/v1/orgs/org-a/attestations";
    // Each server adapter: the good one lands, the bad one is refused naming the volunteer.
    let api = call(
        &e.state,
        Method::POST,
        api_uri,
        Auth::Bearer(&a),
        Some(good.json()),
    )
    .await;
    assert_eq!(api.status, StatusCode::CREATED, "{}", api.text());
    let api = call(
        &e.state,
        Method::POST,
        api_uri,
        Auth::Bearer(&a),
        Some(bad.json()),
    )
    .await;
    api.problem(422, Some("volunteer"), "id-format");
    for (typed, nonce, refusal) in [
        (&good, "0123456789abcdef0123456789abcdef", false),
        (&bad, "1123456789abcdef0123456789abcdef", true),
    ] {
        let web = send(
            &e.state,
            form_post("/org/attest", &cookie, &typed.form(nonce, &csrf)),
        )
        .await;
        assert_eq!(web.status, StatusCode::SEE_OTHER, "{}", web.text());
        let shown = call(
            &e.state,
            Method::GET,
            &location(&web),
            Auth::Cookie(&cookie),
            None,
        )
        .await;
        let refused = shown.text().contains("(volunteer · id-format)");
        assert_eq!(refused, refusal, "{}", shown.text());
        // The rule in the page's words (its translation table; the page is in Kazakh, the
        // default), above the exact reason.
        let words = http::web::i18n::rule_text(http::web::i18n::Lang::Kk, "id-format").unwrap();
        let said = shown
            .text()
            .contains(&format!(r#"<span id="flash-said">{words}</span>"#));
        assert_eq!(said, refusal, "{}", shown.text());
    }
    let up = raw(&e.state, csv_uri, &a, "text/csv", good.csv()).await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", up.text());
    let up = raw(&e.state, csv_uri, &a, "text/csv", bad.csv()).await;
    let row = &up.problem(422, None, "csv-all-rows-valid")["errors"][0];
    assert_eq!(
        (row["field"].clone(), row["rule"].clone()),
        (json!("volunteer"), json!("id-format"))
    );
    assert_eq!(
        e.state.app.ledger.size(),
        start + 3,
        "nothing refused was appended"
    );

    // The command line, on the same data directory once the service has stopped, with the
    // organization's key file.
    let Env {
        _dir: dir, state, ..
    } = e;
    let key_file = dir.path().join("org-a.key");
    std::fs::write(&key_file, server_key_pem(&state.app, "org-a")).unwrap();
    drop(state);
    let data = dir.path().join("data");
    let attest = |typed: &Typed<'_>| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sagat"))
            .arg("attest")
            .arg("--data")
            .arg(&data)
            .envs(test_store(&data).map(|url| ("SAGAT_STORE", url)))
            .args(["--org", "org-a", "--key"])
            .arg(&key_file)
            .args(typed.cli_args())
            .output()
            .unwrap()
    };
    let cli = attest(&good);
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let cli = attest(&bad);
    assert!(!cli.status.success());
    let err = String::from_utf8_lossy(&cli.stderr);
    assert!(
        err.contains("--volunteer") && err.contains("id-format"),
        "{err}"
    );

    let app = open_test(&data).unwrap();
    let ledger = &app.ledger;
    assert_eq!(
        ledger.size(),
        start + 4,
        "one entry per adapter, none for a refusal"
    );
    for index in start..start + 4 {
        let bytes = ledger.entry(index).unwrap();
        let (stored, _) = sagat_verifier::decode_logged_event(&bytes).unwrap();
        let id = stored.event.id.clone();
        let expected = sagat_verifier::EventBody::HoursAttested(sagat_verifier::HoursAttested {
            attestation: id.clone(),
            org: "org-a".into(),
            volunteer: v.clone(),
            activity: None,
            date: day.clone(),
            minutes: 90,
            role: Some("steward".to_string().into()),
            note: Some("gate 3".to_string().into()),
        });
        assert!(
            app.texts
                .same_body(ledger, &id, &stored.event.body, &expected),
            "entry {index}: {:?}",
            stored.event.body
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Pages people live in: the organization's roster and list, the volunteer's page, errors.

fn days_ago(n: i32) -> String {
    sagat_verifier::format_date((datadir::now() / 86_400) as i32 - n)
}

async fn attest_on(e: &Env, token: &str, vol: &str, date: &str, minutes: u32) {
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/attestations",
        Auth::Bearer(token),
        Some(json!({"volunteer": vol, "date": date, "minutes": minutes})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

async fn page_of(e: &Env, uri: &str, cookie: &str) -> String {
    let r = call(&e.state, Method::GET, uri, Auth::Cookie(cookie), None).await;
    assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
    r.text()
}

/// Posts a form of `page` (its csrf and a fresh nonce added) and returns the page it leads to.
async fn post_form(e: &Env, uri: &str, cookie: &str, page: &str, fields: &str) -> String {
    let nonce = sagat::http::web::forms::new_nonce();
    let body = format!("{fields}&nonce={nonce}&csrf={}", csrf_of(page));
    let r = send(&e.state, form_post(uri, cookie, &body)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    page_of(e, &location(&r), cookie).await
}

#[tokio::test]
async fn the_organization_finds_its_volunteers_by_name_and_pages_filters_and_exports_its_hours() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v1, _) = volunteer(&e, "org-a", &a, "Айгерім Сейітова").await;
    let (v2, _) = volunteer(&e, "org-a", &a, "Бекзат").await;
    let (v3, _) = volunteer(&e, "org-a", &a, "Dana Li").await;
    // 60 days of one hour for v1, one of 90 minutes for v2 three days ago: 61 rows.
    for n in 1..=60 {
        attest_on(&e, &a, &v1, &days_ago(n), 60).await;
    }
    attest_on(&e, &a, &v2, &days_ago(3), 90).await;
    let cookie = web_session(&e, &a).await;

    // The roster, by name; a search by part of a name, in another case, finds only that one.
    let roster = page_of(&e, "/org/volunteers?lang=en", &cookie).await;
    for (id, name) in [(&v1, "Айгерім Сейітова"), (&v2, "Бекзат"), (&v3, "Dana Li")]
    {
        assert!(
            roster.contains(name) && roster.contains(id.as_str()),
            "{name}: {roster}"
        );
    }
    assert!(roster.contains("60 h"), "{roster}");
    let found = page_of(
        &e,
        "/org/volunteers?q=%D0%B0%D0%B9%D0%B3%D0%B5%D1%80",
        &cookie,
    )
    .await;
    assert!(
        found.contains("Айгерім") && !found.contains("Бекзат") && !found.contains("Dana"),
        "{found}"
    );
    let found = page_of(&e, &format!("/org/volunteers?q={}", &v3[..6]), &cookie).await;
    assert!(
        found.contains("Dana Li") && !found.contains("Бекзат"),
        "{found}"
    );
    // The attest form picks a volunteer by name (the chosen one preselected).
    let overview = page_of(&e, &format!("/org?volunteer={v2}"), &cookie).await;
    assert!(
        overview.contains(&format!("<option value=\"{v2}\" selected>Бекзат")),
        "{overview}"
    );

    // Newest first, 50 a page: page 1 of 2 starts with yesterday; page 2 holds the other 11.
    let rows = |page: &str| page.matches("data-attestation=").count();
    let list = page_of(&e, "/org/attestations?lang=ru", &cookie).await;
    assert!(list.contains("data-total=\"61\""), "{list}");
    assert_eq!(rows(&list), 50);
    assert!(list.contains("1 / 2"), "{list}");
    let first_day = list.split("data-attestation=").nth(1).unwrap();
    let yesterday_ru = {
        let y = days_ago(1);
        format!("{}.{}.{}", &y[8..10], &y[5..7], &y[..4])
    };
    assert!(first_day[..400].contains(&yesterday_ru), "{first_day}");
    assert!(
        list.contains("Айгерім Сейітова") && list.contains("1 ч"),
        "{list}"
    );
    let second = page_of(&e, "/org/attestations?page=2", &cookie).await;
    assert_eq!(rows(&second), 11);
    // Filters: a volunteer; a range of days.
    let only_v2 = page_of(
        &e,
        &format!("/org/attestations?volunteer={v2}&lang=en"),
        &cookie,
    )
    .await;
    assert!(
        only_v2.contains("data-total=\"1\"") && only_v2.contains("1 h 30 min"),
        "{only_v2}"
    );
    let range = format!("/org/attestations?from={}&to={}", days_ago(10), days_ago(1));
    assert!(page_of(&e, &range, &cookie)
        .await
        .contains("data-total=\"11\""));
    // A bad filter is said in the page's language, and the page still lists.
    let bad = page_of(&e, "/org/attestations?from=1.2.2026&lang=kk", &cookie).await;
    assert!(
        bad.contains("id=\"flash\"") && bad.contains("data-total=\"61\""),
        "{bad}"
    );
    assert!(bad.contains(
        sagat::http::web::i18n::rule_text(sagat::http::web::i18n::Lang::Kk, "date-format").unwrap()
    ));
    // The API filters and pages the same way.
    let api = call(
        &e.state,
        Method::GET,
        &format!("/api/v1/orgs/org-a/attestations?volunteer={v1}&per_page=7&page=2"),
        Auth::Bearer(&a),
        None,
    )
    .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.text());
    assert_eq!(api.headers["x-total-count"], "60");
    assert_eq!(api.json().as_array().unwrap().len(), 7);
    assert_eq!(api.json()[0]["date"], days_ago(8));
    call(
        &e.state,
        Method::GET,
        "/api/v1/orgs/org-a/attestations?per_page=0",
        Auth::Bearer(&a),
        None,
    )
    .await
    .problem(422, Some("per_page"), "page-size");

    // The export: one row per month, volunteer and activity, adding up to every live minute.
    let csv = call(
        &e.state,
        Method::GET,
        "/org/hours.csv",
        Auth::Cookie(&cookie),
        None,
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let api_csv = call(
        &e.state,
        Method::GET,
        "/api/v1/orgs/org-a/hours.csv",
        Auth::Bearer(&a),
        None,
    )
    .await;
    assert_eq!(csv.body, api_csv.body);
    let text = csv.text();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("month,volunteer,name,activity,activity_title,category,attestations,minutes,hours")
    );
    let (mut minutes, mut months) = (0u64, std::collections::BTreeSet::new());
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        minutes += f[7].parse::<u64>().unwrap();
        if f[1] == v1 {
            assert_eq!(f[2], "Айгерім Сейітова");
            months.insert(f[0].to_string());
        }
        if f[1] == v2 {
            assert_eq!(
                (f[2], f[5], f[6], f[7], f[8]),
                ("Бекзат", "uncategorized", "1", "90", "1:30")
            );
        }
    }
    assert_eq!(minutes, 60 * 60 + 90);
    assert!(months.len() >= 2, "{text}");
    // Another organization's token cannot read this export.
    let b = org(&e, "org-b").await;
    call(
        &e.state,
        Method::GET,
        "/api/v1/orgs/org-a/hours.csv",
        Auth::Bearer(&b),
        None,
    )
    .await
    .problem(403, None, "org-scope");

    // A retraction asks to confirm: without the tick nothing changes, and the page says why
    // in its language; with it, the row is retracted.
    let id = only_v2.split("data-attestation=\"").nth(1).unwrap()[..32].to_string();
    let live = |e: &Env| {
        e.state
            .app
            .ledger
            .read(|s| s.volunteer_hours(&v2).unwrap().total_minutes)
    };
    let refused = post_form(
        &e,
        &format!("/org/attestations/{id}/retract?lang=ru"),
        &cookie,
        &only_v2,
        "reason=ошибка",
    )
    .await;
    assert!(refused.contains("Отметьте флажок"), "{refused}");
    assert_eq!(live(&e), 90);
    let done = post_form(
        &e,
        &format!("/org/attestations/{id}/retract"),
        &cookie,
        &only_v2,
        "reason=wrong&confirm=yes",
    )
    .await;
    assert!(done.contains("data-ok=\"1\""), "{done}");
    assert_eq!(live(&e), 0);
}

#[tokio::test]
async fn pages_say_what_went_wrong_in_the_readers_language_and_keep_what_was_typed() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v, code) = volunteer(&e, "org-a", &a, "Бекзат").await;
    attest_on(&e, &a, &v, &days_ago(2), 150).await;
    let cookie = web_session(&e, &a).await;

    // A refused attest form comes back filled in, with the rule in the page's language.
    let overview = page_of(&e, "/org?lang=kk", &cookie).await;
    let back = post_form(
        &e,
        "/org/attest?lang=kk",
        &cookie,
        &overview,
        &format!(
            "volunteer={v}&date={}&hours=30&note=concert+stage",
            days_ago(1)
        ),
    )
    .await;
    assert!(back.contains("data-ok=\"0\""), "{back}");
    assert!(
        back.contains("value=\"concert stage\"") && back.contains("value=\"30\""),
        "{back}"
    );
    assert!(
        back.contains(&format!("<option value=\"{v}\" selected>")),
        "{back}"
    );
    // A success message in words.
    let ok = post_form(
        &e,
        "/org/attest?lang=en",
        &cookie,
        &overview,
        &format!("volunteer={v}&date={}&hours=1%3A30", days_ago(1)),
    )
    .await;
    assert!(
        ok.contains("Attested:") && ok.contains("1 h 30 min"),
        "{ok}"
    );
    // Switching language keeps the result shown (the one-time outcome's `done`).
    let kk_link = ok.split("lang=\"kk\"").next().unwrap();
    let href = &kk_link[kk_link.rfind("href=\"").unwrap() + 6..];
    assert!(
        href.starts_with("?done=") && href.contains("&amp;lang=kk"),
        "{href}"
    );
    let filtered = page_of(
        &e,
        &format!("/org/attestations?volunteer={v}&lang=en"),
        &cookie,
    )
    .await;
    assert!(
        filtered.contains(&format!("href=\"?volunteer={v}&amp;lang=ru\"")),
        "{filtered}"
    );

    // A path no route has: a page in the reader's language for a browser, JSON for the API.
    let req = Request::builder()
        .uri("/nowhere")
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .header(header::ACCEPT_LANGUAGE, "ru-RU,ru;q=0.9")
        .body(Body::empty())
        .unwrap();
    let r = send(&e.state, req).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text().contains("Страница не найдена"), "{}", r.text());
    call(&e.state, Method::GET, "/api/v1/nowhere", Auth::None, None)
        .await
        .problem(404, Some("path"), "exists");

    // An ended session: the next page is the sign-in page, which says so.
    let r = call(
        &e.state,
        Method::GET,
        "/org",
        Auth::Cookie("sagat_session=sgt-s-ended"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let to = location(&r);
    assert!(
        to.starts_with("/signin?") && to.contains("expired=1"),
        "{to}"
    );
    let signin = call(
        &e.state,
        Method::GET,
        &to.replace("lang=kk", "lang=en"),
        Auth::Cookie("sagat_session=sgt-s-ended"),
        None,
    )
    .await;
    assert!(
        signin.text().contains("Your session has ended"),
        "{}",
        signin.text()
    );

    // The volunteer sees each entry and, after the operator revokes it, the certificate marked.
    let s = session(&e, &code).await;
    let me = page_of(&e, "/me?lang=ru", &s).await;
    assert_eq!(me.matches("data-attestation=").count(), 2, "{me}");
    assert!(me.contains("2 ч 30 мин") && me.contains("Ошибка?"), "{me}");
    let issued = issue_certificate(&e, &v, &s, json!({"lang": "kk", "lang2": "en"})).await;
    let cid = issued["credential_id"].as_str().unwrap().to_string();
    let me = page_of(&e, "/me?lang=en", &s).await;
    assert!(
        me.contains("Қазақша + English") && me.contains("4 h"),
        "{me}"
    );
    assert!(me.contains(&format!("/me/certificates/{cid}/pdf")), "{me}");
    let pdf = call(
        &e.state,
        Method::GET,
        &format!("/me/certificates/{cid}/pdf"),
        Auth::Cookie(&s),
        None,
    )
    .await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert!(pdf.body.starts_with(b"%PDF-"));
    let r = call(
        &e.state,
        Method::POST,
        &format!("/api/v1/credentials/{cid}/revoke"),
        Auth::Bearer(&e.op),
        Some(json!({"reason": "issued by mistake"})),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.text());
    let me = page_of(&e, "/me?lang=en", &s).await;
    assert!(
        me.contains("REVOKED") && me.contains("issued by mistake"),
        "{me}"
    );
    assert!(!me.contains(&format!("/me/certificates/{cid}/pdf")), "{me}");

    // A suspended organization sees since when and why; its forms are disabled.
    let r = call(
        &e.state,
        Method::POST,
        "/api/v1/orgs/org-a/suspend",
        Auth::Bearer(&e.op),
        Some(json!({"reason": "annual audit"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // (Suspension ended its sessions; its token still signs in, to see this.)
    let cookie = web_session(&e, &a).await;
    let overview = page_of(&e, "/org?lang=en", &cookie).await;
    assert!(
        overview.contains("id=\"suspended\"") && overview.contains("annual audit"),
        "{overview}"
    );
    assert!(
        overview.contains("<fieldset class=\"plain\" disabled>"),
        "{overview}"
    );
}

/// A spreadsheet's CSV (`;`, `DD.MM.YYYY`, decimal commas) is read; a file with a bad date on
/// one line and an unknown volunteer on another names both in one answer, and adds nothing.
#[tokio::test]
async fn csv_from_a_spreadsheet_is_read_and_every_kind_of_error_comes_in_one_answer() {
    let e = env();
    let a = org(&e, "org-a").await;
    let (v, _) = volunteer(&e, "org-a", &a, "Бекзат").await;
    let y = days_ago(1);
    let dmy = format!("{}.{}.{}", &y[8..10], &y[5..7], &y[..4]);
    let nobody = "ab".repeat(16);
    let bad = format!("volunteer;date;hours\n{v};{dmy};2,5\n{nobody};{dmy};1\n{v};31.02.2026;1\n");
    let r = raw(
        &e.state,
        "/api/v1/orgs/org-a/attestations/csv",
        &a,
        "text/csv",
        bad.into_bytes(),
    )
    .await;
    let p = r.problem(422, None, "csv-all-rows-valid");
    let named: Vec<(u64, String)> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["line"].as_u64().unwrap(),
                x["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            (3, "volunteer-exists".to_string()),
            (4, "date-format".to_string())
        ],
        "{p}"
    );
    assert_eq!(total_minutes(&e, &v), 0);
    let good = format!("volunteer;date;hours\n{v};{dmy};2,5\n");
    let r = raw(
        &e.state,
        "/api/v1/orgs/org-a/attestations/csv",
        &a,
        "text/csv",
        good.into_bytes(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(total_minutes(&e, &v), 150);
}
