//! `sagat check`: every damaged file of a data directory is listed, one line each, with a
//! non-zero exit; the undamaged ones keep working (issue 10 part 5).

use std::path::Path;

use sagat::datadir::certstore;

mod common;
use common::{ok, sagat};

fn last_line(s: &str) -> String {
    s.lines().last().unwrap_or_default().trim().to_string()
}

fn enroll(data: &Path, name: &str) -> String {
    last_line(&ok(sagat(data, &["volunteer", "enroll", "--name", name])))
}

fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 1;
    std::fs::write(path, bytes).unwrap();
}

fn cert(volunteer: &str, credential: &str) -> certstore::StoredCert {
    certstore::StoredCert {
        credential_id: credential.into(),
        volunteer: volunteer.into(),
        qr_text: "VH1:TEST".into(),
        pdf: b"%PDF-1.7 a stored certificate".to_vec(),
        lang: "en".into(),
        issued_at: 1,
    }
}

/// Lines of `sagat check` output that start with `DAMAGED`.
fn damaged_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.starts_with("DAMAGED"))
        .collect()
}

#[test]
fn check_lists_every_damaged_file_and_exits_non_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(sagat(&data, &["init", "--data", data.to_str().unwrap()]));
    ok(sagat(&data, &["token", "--operator"]));
    ok(sagat(&data, &["token", "--operator"]));
    // Three volunteers, two of them in different key shards from the first.
    let a = enroll(&data, "Әлия");
    let b = loop {
        let b = enroll(&data, "Данияр");
        if b[..2] != a[..2] {
            break b;
        }
    };
    let c = loop {
        let c = enroll(&data, "Ерлан");
        if c[..2] != a[..2] && c[..2] != b[..2] {
            break c;
        }
    };
    let store = certstore::CertStore::new(&data);
    let (c1, c2, c3) = (
        "11111111111111111111111111111111",
        "22222222222222222222222222222222",
        "33333333333333333333333333333333",
    );
    for id in [c1, c2, c3] {
        store.put(&cert(&c, id)).unwrap();
    }

    let out = sagat(&data, &["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    assert!(damaged_lines(&stdout).is_empty(), "{stdout}");
    assert!(last_line(&stdout).starts_with("check OK"), "{stdout}");
    assert!(stdout.contains("(3 verified)"), "{stdout}");

    // One flipped byte in each kind of file.
    let shard = data.join("volunteers/keys").join(&a[..2]);
    let record = data.join("volunteers/records").join(&b);
    let pdf = data.join(format!("certificates/{c}/{c1}.pdf"));
    let meta = data.join(format!("certificates/{c}/{c2}.json"));
    let tokens = data.join("tokens.json");
    flip(&shard, 9);
    let len = std::fs::metadata(&record).unwrap().len() as usize;
    flip(&record, len - 3);
    flip(&pdf, 3);
    let text = std::fs::read_to_string(&meta).unwrap();
    flip(&meta, text.find("VH1:TEST").unwrap() + 4);
    let text = std::fs::read_to_string(&tokens).unwrap();
    flip(&tokens, text.find(r#""created""#).unwrap() + 14);

    let out = sagat(&data, &["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let damaged = damaged_lines(&stdout);
    for path in [&shard, &record, &pdf, &meta, &tokens] {
        let prefix = format!("DAMAGED  {}: ", path.display());
        assert_eq!(
            damaged.iter().filter(|l| l.starts_with(&prefix)).count(),
            1,
            "{} not listed once:\n{stdout}",
            path.display()
        );
    }
    assert_eq!(damaged.len(), 5, "{stdout}");
    assert!(
        stdout.contains(&format!(
            "names of volunteers whose id starts with {}",
            &a[..2]
        )),
        "{stdout}"
    );
    assert!(stdout.contains("1 damaged record(s)"), "{stdout}");
    assert!(
        last_line(&stdout).starts_with("check FAILED: 5 damaged file(s)"),
        "{stdout}"
    );
    // The log itself is fine, and still verified by `sagat check` and `sagat log verify`.
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("ok       ")
                && l.contains(&data.join("log").display().to_string()))
    );
    ok(sagat(&data, &["log", "verify"]));

    // Everything else keeps working: the data directory opens (a new volunteer's id avoids the
    // damaged shard), the other records read.
    let other = enroll(&data, "Жаңа");
    assert_eq!(other.len(), 32);
    assert!(store.get(&c, c3).unwrap().is_some());
    assert!(store.get(&c, c1).is_err() && store.get(&c, c2).is_err());
}

#[test]
fn check_names_a_damaged_key_or_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(sagat(&data, &["init", "--data", data.to_str().unwrap()]));
    let config = data.join("sagat.json");
    let text = std::fs::read_to_string(&config).unwrap();
    // A letter of the issuer's name: still valid JSON, no longer what the log registers.
    flip(&config, text.find("Front Office").unwrap() + 1);
    let issuer = data.join("issuer.key");
    let pem = std::fs::read_to_string(&issuer).unwrap();
    // A character of the base64 body: parses or not, either way not the registered key.
    flip(&issuer, pem.find('\n').unwrap() + 30);
    let out = sagat(&data, &["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let damaged = damaged_lines(&stdout);
    for path in [&config, &issuer] {
        let prefix = format!("DAMAGED  {}: ", path.display());
        assert!(
            damaged.iter().any(|l| l.starts_with(&prefix)),
            "{} not listed:\n{stdout}",
            path.display()
        );
    }
    assert_eq!(damaged.len(), 2, "{stdout}");
}
