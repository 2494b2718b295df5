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
