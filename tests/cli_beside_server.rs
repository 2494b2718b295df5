//! The CLI beside a running `sagat serve`: every read-only command of the README works and
//! gives the server API's answer; a command that changes data refuses and says how to do it
//! through the server; once the server is gone (stopped, or killed), the commands read the
//! directory themselves again.

mod common;
use common::{ok_bytes, sagat, serve};

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

/// `sagat` with `SAGAT_STORE` set: every command of a data directory whose log is on PostgreSQL.
fn sagat_pg(data: &std::path::Path, store: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sagat"))
        .args(args)
        .env("SAGAT_DATA", data)
        .env("SAGAT_STORE", store)
        .output()
        .expect("run sagat")
}

/// A new database on the test cluster (`SAGAT_TEST_POSTGRES`, started by scripts/test).
fn new_database() -> (String, String) {
    let admin = std::env::var("SAGAT_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "SAGAT_TEST_POSTGRES is not set: this test needs a PostgreSQL server. Run \
             scripts/test, which starts a private cluster, or set SAGAT_TEST_POSTGRES to a \
             libpq connection string of a role that may create databases"
        )
    });
    let name = format!("sagat_cli_{}", hex::encode(rand::random::<[u8; 6]>()));
    postgres::Client::connect(&admin, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to SAGAT_TEST_POSTGRES ({admin}): {e}"))
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    (format!("{admin} dbname={name}"), name)
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
    // The second front-end: a copy of the configuration and keys (README, "Running on
    // PostgreSQL").
    std::fs::create_dir_all(&b).unwrap();
    for f in ["sagat.json", "operator.key", "issuer.key"] {
        std::fs::copy(a.join(f), b.join(f)).unwrap();
    }
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
    for name in ["Aigerim", "Daniyar", "Madina"] {
        ok_bytes(sagat(&data, &["volunteer", "enroll", "--name", name]));
    }
    let before = ok_bytes(sagat(&data, &["log", "checkpoint"]));

    let moved = String::from_utf8(ok_bytes(sagat(
        &data,
        &["migrate", "--from", d, "--to", &store],
    )))
    .unwrap();
    assert_eq!(moved.lines().last(), Some("4"), "{moved}");
    assert!(data.join("log/entries.before-migration").exists());
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
    assert_eq!(ok_bytes(sagat(&data, &["log", "checkpoint"])), on_postgres);
    ok_bytes(sagat(&data, &["volunteer", "enroll", "--name", "Aruzhan"]));
    let verified = String::from_utf8(ok_bytes(sagat(&data, &["log", "verify"]))).unwrap();
    assert_eq!(verified.lines().last(), Some("6"), "{verified}");
}
