//! Tokens survive kill -9 under load: while clients sign in, enroll volunteers and mint
//! organization tokens through a running `sagat serve`, the server is killed with SIGKILL; after
//! a restart every token and access code whose minting was acknowledged (a 201 received) still
//! signs in, and `sagat check` finds the token files intact.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

mod common;
use common::{ok, sagat, serve};

const NO_LIMITS: &[(&str, &str)] = &[("SAGAT_RATE_LIMIT", "0"), ("SAGAT_SIGN_IN_RATE_LIMIT", "0")];

/// POSTs JSON with a bearer token; the answer's JSON when the status is 2xx.
fn post(base: &str, path: &str, bearer: Option<&str>, body: Value) -> Result<Value, String> {
    let mut req = ureq::post(&format!("{base}{path}"));
    if let Some(b) = bearer {
        req = req.header("authorization", &format!("Bearer {b}"));
    }
    let mut resp = req
        .header("content-type", "application/json")
        .send(body.to_string())
        .map_err(|e| e.to_string())?;
    let text = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

fn sign_in(base: &str, code: &str) -> Result<Value, String> {
    post(base, "/api/v1/session", None, json!({ "code": code }))
}

#[test]
fn every_acknowledged_token_and_access_code_survives_kill_9_under_load() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(sagat(&data, &["init", "--data", data.to_str().unwrap()]));
    let operator = ok(sagat(&data, &["token", "--operator"]))
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    let (server, base) = serve(&data, NO_LIMITS);
    post(
        &base,
        "/api/v1/orgs",
        Some(&operator),
        json!({"id": "eco", "name_en": "Eco"}),
    )
    .unwrap();
    let org = post(&base, "/api/v1/orgs/eco/tokens", Some(&operator), json!({})).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();

    let stop = Arc::new(AtomicBool::new(false));
    let tokens = Arc::new(Mutex::new(Vec::<String>::new()));
    let codes = Arc::new(Mutex::new(Vec::<String>::new()));
    let sessions = Arc::new(Mutex::new(0usize));
    let mut clients = Vec::new();
    for n in 0..8 {
        let (stop, tokens, codes, sessions) = (
            stop.clone(),
            tokens.clone(),
            codes.clone(),
            sessions.clone(),
        );
        let (base, operator, org) = (base.clone(), operator.clone(), org.clone());
        clients.push(std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let answer = match n % 4 {
                    0 => post(&base, "/api/v1/orgs/eco/tokens", Some(&operator), json!({})).map(
                        |v| {
                            tokens
                                .lock()
                                .unwrap()
                                .push(v["token"].as_str().unwrap().into())
                        },
                    ),
                    1 => post(
                        &base,
                        "/api/v1/orgs/eco/volunteers",
                        Some(&org),
                        json!({"name": format!("Volunteer {n}-{i}")}),
                    )
                    .map(|v| {
                        let code = v["access_code"].as_str().unwrap().to_string();
                        codes.lock().unwrap().push(code);
                    }),
                    _ => sign_in(&base, &operator).map(|_| *sessions.lock().unwrap() += 1),
                };
                if answer.is_err() {
                    // The server is gone (killed): this client stops.
                    break;
                }
            }
        }));
    }
    // Let the load build up, then SIGKILL (Child::kill) in the middle of it.
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(20)
        && (tokens.lock().unwrap().len() < 200 || codes.lock().unwrap().len() < 200)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server);
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let (tokens, codes) = (
        tokens.lock().unwrap().clone(),
        codes.lock().unwrap().clone(),
    );
    let sessions = *sessions.lock().unwrap();
    eprintln!(
        "killed after {} tokens, {} access codes and {sessions} sign-ins were acknowledged",
        tokens.len(),
        codes.len()
    );
    assert!(
        tokens.len() >= 200 && codes.len() >= 200 && sessions > 0,
        "too little load before the kill: {} tokens, {} codes, {sessions} sign-ins",
        tokens.len(),
        codes.len()
    );
    assert!(
        data.join("tokens.journal").exists(),
        "killed, not stopped: the changes are still in the journal"
    );

    // The files check out (a line cut off by the kill is reported, never as damage).
    let check = sagat(&data, &["check"]);
    let report = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(check.status.success(), "{report}");
    assert!(!report.contains("DAMAGED"), "{report}");

    let (_server, base) = serve(&data, NO_LIMITS);
    let lost_tokens: Vec<&String> = tokens
        .iter()
        .filter(|t| sign_in(&base, t).map(|v| v["role"] == "org").ok() != Some(true))
        .collect();
    let lost_codes: Vec<&String> = codes
        .iter()
        .filter(|c| sign_in(&base, c).map(|v| v["role"] == "volunteer").ok() != Some(true))
        .collect();
    assert!(
        lost_tokens.is_empty() && lost_codes.is_empty(),
        "lost {} of {} acknowledged tokens and {} of {} access codes",
        lost_tokens.len(),
        tokens.len(),
        lost_codes.len(),
        codes.len()
    );
    // The operator's and the organization's own tokens as well.
    assert_eq!(sign_in(&base, &operator).unwrap()["role"], "operator");
    assert_eq!(sign_in(&base, &org).unwrap()["role"], "org");
}
