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
