//! `sagat token`: mint with an expiry, list (ids, never secrets), revoke by id.

use std::path::Path;
use std::process::{Command, Output};

fn sagat(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sagat"))
        .args(args)
        .env("SAGAT_DATA", data)
        .env("HOME", data.parent().unwrap())
        .output()
        .expect("run sagat")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "command failed ({:?}): {}\nstdout: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

fn last_line(s: &str) -> String {
    s.lines().last().unwrap_or_default().trim().to_string()
}

#[test]
fn tokens_are_minted_with_an_expiry_listed_by_id_and_revoked() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(sagat(&data, &["init"]));
    // Minting keeps its output: the token on the last line.
    let out = ok(sagat(&data, &["token", "--operator"]));
    assert!(out.starts_with("token (shown once; only its hash is stored):"));
    let op = last_line(&out);
    assert!(op.starts_with("sgt-op-"), "{out}");
    let forever = last_line(&ok(sagat(
        &data,
        &["token", "--operator", "--expires-days", "0"],
    )));
    let refused = sagat(&data, &["token", "--operator", "--expires-days", "5000"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("3650"));

    let list = ok(sagat(&data, &["token", "list"]));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines[0], "id\trole\tcreated\texpires\tlast_used", "{list}");
    assert_eq!(lines.len(), 3, "{list}");
    assert!(
        !list.contains(&op[7..]) && !list.contains(&forever[7..]),
        "no secrets: {list}"
    );
    let cols: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split('\t').collect()).collect();
    assert!(cols
        .iter()
        .all(|c| c.len() == 5 && c[0].len() == 16 && c[1] == "operator"));
    assert!(cols.iter().all(|c| c[4] == "never"), "unused: {list}");
    assert_eq!(cols.iter().filter(|c| c[3] == "never").count(), 1, "{list}");
    assert!(cols.iter().any(|c| c[3].ends_with('Z')), "{list}");

    let id = cols.iter().find(|c| c[3] == "never").unwrap()[0].to_string();
    let out = ok(sagat(&data, &["token", "revoke", &id]));
    assert_eq!(last_line(&out), format!("revoked token {id}"));
    let list = ok(sagat(&data, &["token", "list"]));
    assert!(!list.contains(&id), "{list}");
    assert_eq!(list.lines().count(), 2);
    let again = sagat(&data, &["token", "revoke", &id]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("no live token"));
}
