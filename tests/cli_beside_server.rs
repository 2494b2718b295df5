//! The CLI beside a running `sagat serve`: every read-only command of the README works and
//! gives the server API's answer; a command that changes data refuses and says how to do it
//! through the server; once the server is gone (stopped, or killed), the commands read the
//! directory themselves again.

mod common;
use common::{new_database, ok_bytes, sagat, serve};

fn get(base: &str, path: &str) -> Vec<u8> {
    ureq::get(&format!("{base}{path}"))
        .call()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .body_mut()
        .read_to_vec()
        .unwrap()
}

#[test]
fn read_only_commands_work_beside_a_running_server_and_writes_say_how() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok_bytes(sagat(&data, &["init", "--data", data.to_str().unwrap()]));
    let key = tmp.path().join("eco.key");
    let out = String::from_utf8(ok_bytes(sagat(
        &data,
        &["keygen", "--out", key.to_str().unwrap()],
    )))
    .unwrap();
    let public = out.lines().last().unwrap().trim().to_string();
    ok_bytes(sagat(
        &data,
        &[
            "org",
            "register",
            "--id",
            "eco",
            "--key",
            &public,
            "--name-en",
            "Eco",
        ],
    ));
    let (server, base) = serve(&data, &[]);
    assert_eq!(
        std::fs::read_to_string(data.join("serve.addr"))
            .unwrap()
            .trim(),
        base
    );

    // Each read-only command: the server API's bytes.
    let checkpoint = ok_bytes(sagat(&data, &["log", "checkpoint"]));
    assert_eq!(checkpoint, get(&base, "/log/checkpoint"));
    assert!(String::from_utf8_lossy(&checkpoint).contains("\n— "));
    let entry = ok_bytes(sagat(&data, &["log", "entry", "--index", "0"]));
    assert_eq!(entry, get(&base, "/api/v1/log/entries/0"));
    let proof = ok_bytes(sagat(&data, &["log", "proof", "--index", "0"]));
    assert_eq!(proof, get(&base, "/api/v1/log/entries/0/proof"));
    let trust = tmp.path().join("trust.json");
    let said = ok_bytes(sagat(
        &data,
        &["trust", "export", "--out", trust.to_str().unwrap()],
    ));
    assert_eq!(
        std::fs::read(&trust).unwrap(),
        get(&base, "/api/v1/trust-list")
    );
    let vkey = String::from_utf8(get(&base, "/verify/operator.vkey")).unwrap();
    assert!(
        String::from_utf8_lossy(&said).contains(vkey.trim()),
        "{}",
        String::from_utf8_lossy(&said)
    );
    let status = tmp.path().join("status.cwt");
    ok_bytes(sagat(
        &data,
        &["status", "export", "--out", status.to_str().unwrap()],
    ));
    assert_eq!(
        std::fs::read(&status).unwrap(),
        get(&base, "/api/v1/status-list")
    );
    let site = tmp.path().join("site");
    ok_bytes(sagat(
        &data,
        &["verify-site", "--out", site.to_str().unwrap()],
    ));
    assert_eq!(
        std::fs::read(site.join("trust-list.json")).unwrap(),
        get(&base, "/api/v1/trust-list")
    );
    // `log verify` reads the log file itself, lock or not.
    ok_bytes(sagat(&data, &["log", "verify"]));

    // A command that writes refuses, naming the server and the way through it.
    let refused = sagat(&data, &["token", "--operator"]);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains(&base) && why.contains("through the running server") && why.contains("in use"),
        "{why}"
    );

    // Killed (no clean stop: its address file stays behind): the commands read the directory
    // themselves again, and answer the same.
    let mut server = server;
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    assert!(data.join("serve.addr").exists());
    assert_eq!(ok_bytes(sagat(&data, &["log", "checkpoint"])), checkpoint);
    assert_eq!(
        ok_bytes(sagat(&data, &["log", "proof", "--index", "0"])),
        proof
    );
}

/// Makes `to` another front-end of the data directory `from` on the same database: a copy of
/// its configuration and keys (README, "Running on PostgreSQL").
fn copy_front_end(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in ["sagat.json", "operator.key", "issuer.key"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
}

/// `sagat` with `SAGAT_STORE` set: every command of a data directory whose log is on PostgreSQL.
fn sagat_pg(data: &std::path::Path, store: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sagat"))
        .args(args)
        .env("SAGAT_DATA", data)
        .env("SAGAT_STORE", store)
        .output()
        .expect("run sagat")
}

#[test]
fn a_data_directory_with_its_log_on_postgres_serves_reads_and_verifies() {
    let (store, name) = new_database();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok_bytes(sagat_pg(&data, &store, &["init"]));
    let config = std::fs::read_to_string(data.join("sagat.json")).unwrap();
    assert!(config.contains("\"log_store\": \"postgres\""), "{config}");
    assert!(
        !config.contains(&name),
        "the connection string stays out of sagat.json"
    );
    assert!(
        !data.join("log/entries").exists(),
        "no log file beside the database"
    );

    // Without the connection string, a command says what is missing instead of starting an
    // empty log of its own.
    let refused = sagat(&data, &["log", "checkpoint"]);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("PostgreSQL") && why.contains("--store"),
        "{why}"
    );

    let volunteer = String::from_utf8(ok_bytes(sagat_pg(
        &data,
        &store,
        &["volunteer", "enroll", "--name", "Aigerim"],
    )))
    .unwrap();
    assert!(!volunteer.trim().is_empty());
    let before = ok_bytes(sagat_pg(&data, &store, &["log", "checkpoint"]));

    let (server, base) = serve(&data, &[("SAGAT_STORE", &store)]);
    assert_eq!(get(&base, "/log/checkpoint"), before);
    // Beside the running server: the same checkpoint and entry, and the log verifies.
    assert_eq!(
        ok_bytes(sagat_pg(&data, &store, &["log", "checkpoint"])),
        before
    );
    assert_eq!(
        ok_bytes(sagat_pg(&data, &store, &["log", "entry", "--index", "1"])),
        get(&base, "/api/v1/log/entries/1")
    );
    let verified =
        String::from_utf8(ok_bytes(sagat_pg(&data, &store, &["log", "verify"]))).unwrap();
    assert_eq!(verified.lines().last(), Some("2"), "{verified}");
    drop(server);
    let checked = String::from_utf8(ok_bytes(sagat_pg(&data, &store, &["check"]))).unwrap();
    assert!(checked.contains("check OK"), "{checked}");

    // The database holds the log: a new data directory cannot be made on it.
    let other = tmp.path().join("other");
    let refused = sagat_pg(&other, &store, &["init"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("holds the log"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// Waits until `GET base/log/checkpoint` names a tree of `size` entries.
fn wait_for_size(base: &str, size: u64) -> Vec<u8> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let note = get(base, "/log/checkpoint");
        let line = String::from_utf8_lossy(&note)
            .lines()
            .nth(1)
            .unwrap_or("")
            .to_string();
        if line == size.to_string() {
            return note;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{base} stayed at {line} entries, waiting for {size}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn two_servers_on_one_database_serve_one_log() {
    let (store, _) = new_database();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    ok_bytes(sagat_pg(&a, &store, &["init"]));
    copy_front_end(&a, &b);
    let token_b = String::from_utf8(ok_bytes(sagat_pg(&b, &store, &["token", "--operator"])))
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();
    let (_server_a, base_a) = serve(&a, &[("SAGAT_STORE", &store)]);
    let (_server_b, base_b) = serve(&b, &[("SAGAT_STORE", &store)]);

    // Registered through B: A serves the same entry and checkpoint.
    let mut resp = ureq::post(&format!("{base_b}/api/v1/orgs"))
        .header("Authorization", &format!("Bearer {token_b}"))
        .header("Content-Type", "application/json")
        .send(r#"{"id": "eco", "name_en": "Eco Club"}"#)
        .unwrap();
    let registered: serde_json::Value =
        serde_json::from_slice(&resp.body_mut().read_to_vec().unwrap()).unwrap();
    let index = registered["index"].as_u64().unwrap();
    assert_eq!(
        index, 1,
        "after the issuer key init registered: {registered}"
    );
    let note = wait_for_size(&base_a, 2);
    assert_eq!(get(&base_b, "/log/checkpoint"), note);
    assert_eq!(
        get(&base_a, "/api/v1/log/entries/1"),
        get(&base_b, "/api/v1/log/entries/1")
    );
    assert_eq!(
        get(&base_a, "/log/tile/entries/000.p/2"),
        get(&base_b, "/log/tile/entries/000.p/2")
    );
    let verified = String::from_utf8(ok_bytes(sagat_pg(&a, &store, &["log", "verify"]))).unwrap();
    assert_eq!(verified.lines().last(), Some("2"), "{verified}");
}

#[test]
fn migrate_moves_the_log_to_postgres_and_back_verified() {
    let (store, _) = new_database();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    ok_bytes(sagat(&data, &["init"]));
    let mut ids = Vec::new();
    for name in ["Aigerim", "Daniyar", "Madina"] {
        let out = String::from_utf8(ok_bytes(sagat(
            &data,
            &["volunteer", "enroll", "--name", name],
        )))
        .unwrap();
        ids.push(out.lines().last().unwrap().to_string());
    }
    let token = String::from_utf8(ok_bytes(sagat(&data, &["token", "--operator"]))).unwrap();
    let token_id = sagat::datadir::tokens::token_id(token.lines().last().unwrap());
    let before = ok_bytes(sagat(&data, &["log", "checkpoint"]));

    let moved = String::from_utf8(ok_bytes(sagat(
        &data,
        &["migrate", "--from", d, "--to", &store],
    )))
    .unwrap();
    assert_eq!(moved.lines().last(), Some("4"), "{moved}");
    assert!(
        moved.contains("beside the log: 3 volunteer records, 0 text records, 1 tokens"),
        "{moved}"
    );
    assert!(data.join("log/entries.before-migration").exists());
    for name in ["volunteers", "tokens.json"] {
        assert!(!data.join(name).exists(), "{name} is still in use");
        assert!(data.join(format!("{name}.before-migration")).exists());
    }
    // The names and the token came along: erasing a name finds it, the token is listed.
    ok_bytes(sagat_pg(&data, &store, &["volunteer", "erase", &ids[0]]));
    let listed = String::from_utf8(ok_bytes(sagat_pg(&data, &store, &["token", "list"]))).unwrap();
    assert!(listed.contains(&token_id), "{listed}");
    // Every copied record opens under its key on PostgreSQL.
    let checked = String::from_utf8(ok_bytes(sagat_pg(&data, &store, &["check"]))).unwrap();
    assert!(checked.contains("check OK"), "{checked}");
    assert!(checked.contains("sagat_sealed/volunteers"), "{checked}");
    assert_eq!(
        ok_bytes(sagat_pg(&data, &store, &["log", "checkpoint"])),
        before
    );
    ok_bytes(sagat_pg(
        &data,
        &store,
        &["volunteer", "enroll", "--name", "Timur"],
    ));
    let on_postgres = ok_bytes(sagat_pg(&data, &store, &["log", "checkpoint"]));

    // A database holding a log takes no second one.
    let other = tmp.path().join("other");
    ok_bytes(sagat(&other, &["init"]));
    let refused = sagat(
        &other,
        &["migrate", "--from", other.to_str().unwrap(), "--to", &store],
    );
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("holds the log") || why.contains("already holds a log"),
        "{why}"
    );

    // And back into a log file: the same checkpoint, and the file store goes on.
    let back = String::from_utf8(ok_bytes(sagat(
        &data,
        &["migrate", "--from", &store, "--to", d],
    )))
    .unwrap();
    assert_eq!(back.lines().last(), Some("5"), "{back}");
    assert!(
        back.contains("beside the log: 3 volunteer records, 0 text records, 1 tokens"),
        "{back}"
    );
    ok_bytes(sagat(&data, &["volunteer", "erase", &ids[1]]));
    let refused = sagat(&data, &["volunteer", "erase", &ids[0]]);
    assert!(
        !refused.status.success(),
        "erased on PostgreSQL, so not copied back"
    );
    let listed = String::from_utf8(ok_bytes(sagat(&data, &["token", "list"]))).unwrap();
    assert!(listed.contains(&token_id), "{listed}");
    let checked = String::from_utf8(ok_bytes(sagat(&data, &["check"]))).unwrap();
    assert!(checked.contains("check OK"), "{checked}");
    assert_eq!(ok_bytes(sagat(&data, &["log", "checkpoint"])), on_postgres);
    ok_bytes(sagat(&data, &["volunteer", "enroll", "--name", "Aruzhan"]));
    let verified = String::from_utf8(ok_bytes(sagat(&data, &["log", "verify"]))).unwrap();
    assert_eq!(verified.lines().last(), Some("6"), "{verified}");
}

/// One HTTP exchange that returns the status instead of failing on 4xx/5xx: (status, body,
/// the first `Set-Cookie`).
fn exchange(
    method: &str,
    url: &str,
    bearer: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, Vec<u8>, Option<String>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    if let Some(token) = bearer {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = match body {
        Some(json) => agent.run(
            request
                .header("Content-Type", "application/json")
                .body(json.to_string())
                .unwrap(),
        ),
        None => agent.run(request.body(()).unwrap()),
    }
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").to_string());
    let bytes = response.body_mut().read_to_vec().unwrap();
    (response.status().as_u16(), bytes, cookie)
}

/// `exchange` that must answer `want`; returns the body as JSON (`null` when it is not JSON).
fn expect(
    want: u16,
    method: &str,
    url: &str,
    bearer: Option<&str>,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let (status, bytes, _) = exchange(method, url, bearer, body);
    assert_eq!(
        status,
        want,
        "{method} {url}: {}",
        String::from_utf8_lossy(&bytes)
    );
    serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)
}

/// Waits until `GET url` with `bearer` answers `want` (another front-end's change arriving).
fn wait_for_status(url: &str, bearer: &str, want: u16) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (status, _, _) = exchange("GET", url, Some(bearer), None);
        if status == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "GET {url} stayed {status}, waiting for {want}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Waits until front-end `to` serves the log as far as front-end `from` does (the log's own
/// reads follow the other front-ends' appends by polling; the state beside it is read at once).
fn same_log(from: &str, to: &str) {
    let note = get(from, "/log/checkpoint");
    let size: u64 = String::from_utf8_lossy(&note)
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .expect("a checkpoint's size line");
    wait_for_size(to, size);
}

/// Issue 16: everything mutable a front-end needs is in the same database, so whichever
/// front-end a request reaches answers the same: a token minted beside A works on B, a key
/// made on B signs on A, a name enrolled on B is on a certificate issued on B and downloaded
/// from A, a session opened on A works on B, a revocation on A stops B, an erasure reaches both.
#[test]
fn two_front_ends_share_tokens_sessions_names_keys_and_certificates() {
    let (store, _) = new_database();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    ok_bytes(sagat_pg(&a, &store, &["init"]));
    copy_front_end(&a, &b);
    let op = String::from_utf8(ok_bytes(sagat_pg(&a, &store, &["token", "--operator"])))
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();
    let (_server_a, base_a) = serve(&a, &[("SAGAT_STORE", &store)]);
    let (_server_b, base_b) = serve(&b, &[("SAGAT_STORE", &store)]);

    // The operator token minted beside A registers on B, with a key B makes and keeps.
    expect(
        201,
        "POST",
        &format!("{base_b}/api/v1/orgs"),
        Some(&op),
        Some(serde_json::json!({"id": "eco", "name_en": "Eco Club"})),
    );
    same_log(&base_b, &base_a);
    let org = expect(
        201,
        "POST",
        &format!("{base_a}/api/v1/orgs/eco/tokens"),
        Some(&op),
        None,
    )["token"]
        .as_str()
        .unwrap()
        .to_string();
    // Enrolled on B with the token made on A; attested on A with the key made on B.
    let enrolled = expect(
        201,
        "POST",
        &format!("{base_b}/api/v1/orgs/eco/volunteers"),
        Some(&org),
        Some(serde_json::json!({"name": "Әсел Нұрланқызы"})),
    );
    let v = enrolled["volunteer"].as_str().unwrap().to_string();
    let code = enrolled["access_code"].as_str().unwrap().to_string();
    same_log(&base_b, &base_a);
    let yesterday = sagat_verifier::format_date(
        (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 86_400) as i32
            - 1,
    );
    expect(
        201,
        "POST",
        &format!("{base_a}/api/v1/orgs/eco/attestations"),
        Some(&org),
        Some(serde_json::json!({"volunteer": v, "date": yesterday, "minutes": 180})),
    );
    same_log(&base_a, &base_b);
    // A session opened on A issues on B; the PDF B stored downloads from A, with B's name.
    let (status, body, cookie) = exchange(
        "POST",
        &format!("{base_a}/api/v1/session"),
        None,
        Some(serde_json::json!({"code": code})),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let session = cookie
        .expect("a session cookie")
        .strip_prefix("sagat_session=")
        .expect("the session cookie")
        .to_string();
    let issued = expect(
        201,
        "POST",
        &format!("{base_b}/api/v1/volunteers/{v}/certificates"),
        Some(&session),
        Some(serde_json::json!({"lang": "en"})),
    );
    let pdf_path = issued["pdf_url"].as_str().unwrap().to_string();
    same_log(&base_b, &base_a);
    let (status, pdf, _) = exchange("GET", &format!("{base_a}{pdf_path}"), Some(&session), None);
    assert_eq!(status, 200);
    assert!(pdf.starts_with(b"%PDF"));
    let hours = format!("/api/v1/volunteers/{v}/hours");
    expect(
        200,
        "GET",
        &format!("{base_b}{hours}"),
        Some(&session),
        None,
    );

    // Revoked on A: B refuses the organization's token too (within its refresh interval).
    let attestations = "/api/v1/orgs/eco/attestations";
    expect(
        200,
        "GET",
        &format!("{base_b}{attestations}"),
        Some(&org),
        None,
    );
    let id = sagat::datadir::tokens::token_id(&org);
    expect(
        200,
        "POST",
        &format!("{base_a}/api/v1/tokens/{id}/revoke"),
        Some(&op),
        None,
    );
    wait_for_status(&format!("{base_b}{attestations}"), &org, 401);

    // Erased from the command line of a third copy of the configuration (the servers hold
    // their own directories): neither server serves the name's certificate again.
    let c = tmp.path().join("c");
    copy_front_end(&a, &c);
    ok_bytes(sagat_pg(&c, &store, &["volunteer", "erase", &v]));
    for base in [&base_a, &base_b] {
        let (status, body, _) = exchange("GET", &format!("{base}{pdf_path}"), Some(&session), None);
        assert!(
            !body.starts_with(b"%PDF"),
            "{base} still serves the erased volunteer's certificate ({status})"
        );
    }
    let checked = String::from_utf8(ok_bytes(sagat_pg(&c, &store, &["check"]))).unwrap();
    assert!(checked.contains("check OK"), "{checked}");
    assert!(checked.contains("org_keys (1 key(s))"), "{checked}");
    // Nothing mutable was written beside the configuration of any front-end.
    for dir in [&a, &b, &c] {
        for name in [
            "tokens.json",
            "tokens.journal",
            "volunteers",
            "texts",
            "certificates",
            "orgkeys",
        ] {
            assert!(
                !dir.join(name).exists(),
                "{} was written",
                dir.join(name).display()
            );
        }
    }
}
