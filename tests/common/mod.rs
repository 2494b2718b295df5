//! What the tests that run the `sagat` binary share: running a command, and starting
//! `sagat serve` on a free loopback port. (Each test file uses a part of it.)
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// Runs `sagat ARGS` with `SAGAT_DATA` set to `data`.
pub fn sagat(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sagat"))
        .args(args)
        .env("SAGAT_DATA", data)
        .output()
        .expect("run sagat")
}

/// The stdout of a command that must have succeeded.
pub fn ok_bytes(out: Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "command failed: {}\nstdout: {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out.stdout
}

/// The same, as text.
pub fn ok(out: Output) -> String {
    String::from_utf8(ok_bytes(out)).expect("utf-8 stdout")
}

/// A running `sagat serve`, killed (SIGKILL) and reaped when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `sagat serve` on `data` on a free loopback port, with `env` added to its environment;
/// returns it and its base URL once it listens.
pub fn serve(data: &Path, env: &[(&str, &str)]) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sagat"))
        .args(["serve", "--data"])
        .arg(data)
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sagat serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("listening on") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("sagat serve did not start listening");
    (Server(child), format!("http://127.0.0.1:{port}"))
}

/// A new database on the test cluster (`SAGAT_TEST_POSTGRES`, started by scripts/test): its
/// connection string and its name.
pub fn new_database() -> (String, String) {
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
