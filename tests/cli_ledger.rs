//! End-to-end tests of the `sagat` CLI's ledger commands, run as a real process on a temp data dir.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{ok, sagat};

fn last_line(s: &str) -> String {
    s.lines().last().unwrap_or_default().trim().to_string()
}

struct World {
    _tmp: tempfile::TempDir,
    data: std::path::PathBuf,
    key: std::path::PathBuf,
    vkey: String,
    origin: String,
}

/// The origin `sagat init` printed (`log origin:   <origin>`).
fn origin_line(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("log origin:"))
        .unwrap_or_else(|| panic!("no origin line in {out}"))
        .trim()
        .to_string()
}

fn world() -> World {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = ok(sagat(&data, &["init", "--data", data.to_str().unwrap()]));
    let vkey = last_line(&out);
    let origin = origin_line(&out);
    let key = tmp.path().join("eco.key");
    let out = ok(sagat(&data, &["keygen", "--out", key.to_str().unwrap()]));
    let public = last_line(&out);
    ok(sagat(
        &data,
        &[
            "org",
            "register",
            "--id",
            "eco-almaty",
            "--key",
            &public,
            "--name-en",
            "Eco Almaty",
            "--name-kk",
            "Эко Алматы",
            "--region",
            "Almaty",
        ],
    ));
    World {
        _tmp: tmp,
        data,
        key,
        vkey,
        origin,
    }
}

fn enroll(w: &World, name: &str) -> String {
    last_line(&ok(sagat(
        &w.data,
        &["volunteer", "enroll", "--name", name],
    )))
}

fn attest(w: &World, vol: &str, date: &str, hours: &str) -> Output {
    sagat(
        &w.data,
        &[
            "attest",
            "--org",
            "eco-almaty",
            "--key",
            w.key.to_str().unwrap(),
            "--volunteer",
            vol,
            "--date",
            date,
            "--hours",
            hours,
        ],
    )
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn init_prints_the_operator_verifier_key_and_keys_are_private() {
    let w = world();
    // C2SP verifier key: name+hexkeyid+base64
    let parts: Vec<&str> = w.vkey.splitn(3, '+').collect();
    assert_eq!(parts.len(), 3, "{}", w.vkey);
    assert_eq!(parts[0], w.origin, "the key name is the log's origin");
    assert_eq!(parts[1].len(), 8);
    sagat_verifier::NoteVerifier::parse(&w.vkey).expect("a valid note verifier key");
    #[cfg(unix)]
    {
        assert_eq!(mode(&w.data.join("operator.key")), 0o600);
        assert_eq!(mode(&w.data.join("issuer.key")), 0o600);
        assert_eq!(mode(&w.key), 0o600);
    }
    // The checkpoint is signed by that key.
    let note = ok(sagat(&w.data, &["log", "checkpoint"]));
    let v = sagat_verifier::NoteVerifier::parse(&w.vkey).unwrap();
    let cp = sagat_verifier::open_checkpoint(&note, &v).expect("checkpoint verifies");
    assert!(cp.size >= 2, "issuer key and org registration are logged");
}

/// tlog-checkpoint: the origin identifies the log, so two logs initialized without `--origin`
/// never share one; `--origin` names it.
#[test]
fn init_without_an_origin_gives_each_log_its_own() {
    let w1 = world();
    let w2 = world();
    assert_ne!(w1.origin, w2.origin);
    for w in [&w1, &w2] {
        assert!(w.origin.starts_with("sagat.invalid/log-"), "{}", w.origin);
        let note = ok(sagat(&w.data, &["log", "checkpoint"]));
        assert_eq!(note.lines().next(), Some(w.origin.as_str()), "{note}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("named");
    let out = ok(sagat(
        &data,
        &[
            "init",
            "--data",
            data.to_str().unwrap(),
            "--origin",
            "volunteers.example.kz/log",
        ],
    ));
    assert_eq!(origin_line(&out), "volunteers.example.kz/log");
    assert!(!out.contains("generated"), "{out}");
    let note = ok(sagat(&data, &["log", "checkpoint"]));
    assert_eq!(note.lines().next(), Some("volunteers.example.kz/log"));
}

/// `sagat org update`: the names and region change from that entry on (the listing and the trust
/// list's directory show the new name); a no-op update and an unknown organization are refused.
#[test]
fn org_update_renames_an_organization() {
    let w = world();
    let out = ok(sagat(
        &w.data,
        &[
            "org",
            "update",
            "eco-almaty",
            "--name-en",
            "Green Almaty",
            "--region",
            "",
        ],
    ));
    assert!(
        out.starts_with("updated organization eco-almaty at log index "),
        "{out}"
    );
    let list = ok(sagat(&w.data, &["org", "list"]));
    assert!(list.contains("eco-almaty\tactive\tGreen Almaty"), "{list}");
    let trust = w.data.join("trust.json");
    ok(sagat(
        &w.data,
        &["trust", "export", "--out", trust.to_str().unwrap()],
    ));
    let json = std::fs::read_to_string(&trust).unwrap();
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    let org = list["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "eco-almaty")
        .unwrap_or_else(|| panic!("{json}"));
    assert_eq!(org["name"], "Green Almaty", "{json}");
    assert!(!json.contains("Eco Almaty"), "{json}");
    // The same names again change nothing: refused by rule, nothing appended.
    let again = sagat(
        &w.data,
        &["org", "update", "eco-almaty", "--name-en", "Green Almaty"],
    );
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("org-update-changes"), "{err}");
    let unknown = sagat(&w.data, &["org", "update", "no-such-org", "--name-en", "X"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no-such-org"));
}

#[test]
fn attest_hours_and_read_them_back() {
    let w = world();
    let vol = enroll(&w, "Әлия Сәрсенбаева");
    assert!(sagat_verifier::is_valid_id128(&vol), "{vol}");
    ok(attest(&w, &vol, "2025-05-01", "3.5"));
    ok(attest(&w, &vol, "2024-12-31", "2"));
    let json = ok(sagat(&w.data, &["hours", &vol, "--json"]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["total_minutes"], 330);
    assert_eq!(v["by_org"]["eco-almaty"], 330);
    assert_eq!(v["by_year"]["2025"], 210);
    assert_eq!(v["by_year"]["2024"], 120);
    let verify = ok(sagat(&w.data, &["log", "verify"]));
    assert!(verify.contains("5 entries"), "{verify}");
}

#[test]
fn rule_violations_are_named_and_change_nothing() {
    let w = world();
    let vol = enroll(&w, "Test Volunteer");
    ok(attest(&w, &vol, "2025-05-01", "20"));
    let before = ok(sagat(&w.data, &["log", "checkpoint"]));
    // 20 h + 5 h on one day > 24 h
    let out = attest(&w, &vol, "2025-05-01", "5");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HoursAttested"), "{err}");
    // future date
    let out = attest(&w, &vol, "2999-01-01", "1");
    assert!(!out.status.success());
    // unknown volunteer
    let out = attest(&w, "0123456789abcdef0123456789abcdef", "2025-05-01", "1");
    assert!(!out.status.success());
    assert_eq!(before, ok(sagat(&w.data, &["log", "checkpoint"])));
}

#[test]
fn csv_all_or_nothing_lists_every_bad_row() {
    let w = world();
    let a = enroll(&w, "A");
    let b = enroll(&w, "B");
    let csv = w.data.parent().unwrap().join("concert.csv");
    std::fs::write(
        &csv,
        format!(
            "volunteer,date,hours,activity,role,note\n{a},2025-06-01,4,,steward,\n{b},2025-06-01,30,,,\n{a},2025-06-01,21,,,\nffffffffffffffffffffffffffffffff,2025-06-01,1,,,\n{b},2025-06-02,1,,,ring\u{7}bell\n"
        ),
    )
    .unwrap();
    let before = ok(sagat(&w.data, &["log", "checkpoint"]));
    let out = sagat(
        &w.data,
        &[
            "attest",
            "--org",
            "eco-almaty",
            "--key",
            w.key.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("line 4"), "{err}");
    assert!(err.contains("line 5"), "{err}");
    // A refused text (a control character in the note) is named too, and does not hide the
    // rule violations of the other rows (lines 4 and 5 are found by the dry run).
    assert!(err.contains("line 6") && err.contains("note"), "{err}");
    assert!(!err.contains("line 2:"), "{err}");
    assert_eq!(before, ok(sagat(&w.data, &["log", "checkpoint"])));

    let mut good = String::from("volunteer,date,hours\n");
    for i in 0..140 {
        let v = if i % 2 == 0 { &a } else { &b };
        good.push_str(&format!("{v},2025-06-{:02},1.5\n", 1 + i / 2 % 28));
    }
    std::fs::write(&csv, good).unwrap();
    let out = ok(sagat(
        &w.data,
        &[
            "attest",
            "--org",
            "eco-almaty",
            "--key",
            w.key.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
        ],
    ));
    assert!(out.contains("140 row(s)"), "{out}");
    let json = ok(sagat(&w.data, &["hours", &a, "--json"]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["total_minutes"], 70 * 90);
}

#[test]
fn entry_and_proof_match_the_checkpoint() {
    let w = world();
    let vol = enroll(&w, "Proof Person");
    ok(attest(&w, &vol, "2025-05-01", "1"));
    let entry = sagat(&w.data, &["log", "entry", "--index", "3"]);
    assert!(entry.status.success());
    let bytes = entry.stdout;
    sagat_verifier::decode_signed_event(&bytes).expect("entry 3 is a signed event");
    let proof_text = ok(sagat(&w.data, &["log", "proof", "--index", "3"]));
    let proof = sagat_verifier::parse_tlog_proof(&proof_text).expect("tlog-proof parses");
    assert_eq!(proof.index, 3);
    let v = sagat_verifier::NoteVerifier::parse(&w.vkey).unwrap();
    let cp = sagat_verifier::open_checkpoint(&proof.checkpoint_note, &v).unwrap();
    sagat_verifier::verify_inclusion(
        &sagat_verifier::leaf_hash(&bytes),
        3,
        cp.size,
        &proof.proof,
        &cp.root_hash,
    )
    .expect("inclusion proof verifies");
}

#[test]
fn erase_removes_the_name_from_every_file_and_the_log_still_verifies() {
    let w = world();
    let name = "Гүлнар Әбдірахманова";
    let vol = enroll(&w, name);
    ok(attest(&w, &vol, "2025-05-01", "2"));
    ok(sagat(&w.data, &["volunteer", "erase", &vol]));
    let needle = name.as_bytes();
    let mut stack = vec![w.data.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "name found in {}",
                    p.display()
                );
            }
        }
    }
    ok(sagat(&w.data, &["log", "verify"]));
    let json = ok(sagat(&w.data, &["hours", &vol, "--json"]));
    assert!(json.contains("120"));
}

#[test]
fn log_verify_names_a_tampered_entry() {
    let w = world();
    let vol = enroll(&w, "Tamper Target");
    ok(attest(&w, &vol, "2025-05-01", "2"));
    // Flip one byte inside the last entry's signed payload, wherever the log file keeps it.
    let entry = sagat(&w.data, &["log", "entry", "--index", "3"]).stdout;
    let mut files = vec![];
    let mut stack = vec![w.data.join("log")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else {
                files.push(p)
            }
        }
    }
    let mut tampered = false;
    for f in files {
        let mut bytes = std::fs::read(&f).unwrap();
        if let Some(pos) = bytes
            .windows(entry.len())
            .position(|w| w == entry.as_slice())
        {
            bytes[pos + entry.len() / 2] ^= 0x01;
            std::fs::write(&f, bytes).unwrap();
            tampered = true;
        }
    }
    assert!(
        tampered,
        "the entry's bytes are stored verbatim in the log file"
    );
    let out = sagat(&w.data, &["log", "verify"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains('3'), "names entry 3: {err}");
}

#[test]
fn a_second_process_gets_an_in_use_error() {
    let w = world();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sagat"))
        .args(["volunteer", "enroll", "--name", "Holder"])
        .env("SAGAT_DATA", &w.data)
        .spawn()
        .unwrap();
    // Hold the lock from this process through the library, then try the CLI.
    child.wait().unwrap();
    let app_lock = sagat_ledger_lock(&w.data);
    let out = sagat(&w.data, &["log", "checkpoint"]);
    drop(app_lock);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.to_lowercase().contains("in use"), "{err}");
}

fn sagat_ledger_lock(data: &Path) -> sagat_ledger::Ledger {
    let pem = std::fs::read_to_string(data.join("operator.key")).unwrap();
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    let key = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).unwrap();
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("sagat.json")).unwrap()).unwrap();
    sagat_ledger::Ledger::open(
        &data.join("log"),
        key,
        sagat_ledger::LedgerOptions {
            origin: config["origin"].as_str().unwrap().to_string(),
            ..sagat_ledger::LedgerOptions::default()
        },
    )
    .expect("open ledger")
}
