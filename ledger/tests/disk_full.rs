//! Disk full: the ledger on a small tmpfs (mounted by the test; needs root, as `scripts/test`
//! runs). A write that fails with `ENOSPC` is undone at once — its partial records cut, its
//! rules reverted — so the callers get `WriteFailed` ("not recorded"), nothing of it appears
//! then or after a reopen, the health says so, and once space is back the same ledger takes
//! appends again without a restart.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use sagat_ledger::{verify_log, Error, Health, Ledger, LedgerOptions};

/// A tmpfs of `kib` KiB mounted on a fresh directory; unmounted on drop.
struct Tmpfs {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(kib: u64) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mnt");
        std::fs::create_dir(&path).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(&path)
            .output()
            .expect("the disk-full tests run `mount`: it must be installed");
        assert!(
            out.status.success(),
            "the disk-full tests mount a small tmpfs and need root for it (scripts/test runs as root in CI): mount said {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs { path, _dir: dir }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

/// Fills the file system holding `dir` with a new filler file until `ENOSPC`.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let n = std::fs::read_dir(dir).unwrap().count();
    let path = dir.join(format!("filler-{n}"));
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 4096];
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    let _ = f.sync_all();
    path
}

fn open(dir: &Path) -> Ledger {
    Ledger::open(dir, operator(), LedgerOptions::default()).unwrap()
}

#[test]
fn a_failed_write_is_undone_reported_and_retried_once_space_is_back() {
    let fs = Tmpfs::mount(16 * 1024);
    let dir = fs.path.join("log");
    let l = open(&dir);
    l.append(register_org()).unwrap();
    l.append_batch((0..5).map(enroll).collect()).unwrap();
    let size = l.size();
    assert_eq!(l.health(), Health::Ok);
    let log_len = || std::fs::metadata(dir.join("entries")).unwrap().len();
    let len = log_len();

    let mut fillers = vec![fill(&fs.path)];
    // A batch: refused as not recorded.
    let batch: Vec<Vec<u8>> = (100..400).map(enroll).collect();
    match l.append_batch(batch.clone()) {
        Err(Error::WriteFailed { reason }) => assert!(reason.contains("No space"), "{reason}"),
        other => panic!("a batch on a full disk: {other:?}"),
    }
    assert_eq!(log_len(), len, "the partial write was cut off");
    // Cutting it freed its pages: fill them too. Single appends then go into the slack of the
    // log file's last page until one does not fit; that one is refused as not recorded.
    fillers.push(fill(&fs.path));
    let mut fitted = 0;
    let single = loop {
        let e = enroll(50 + fitted);
        match l.append(e.clone()) {
            Ok(_) => fitted += 1,
            Err(Error::WriteFailed { .. }) => break e,
            Err(other) => panic!("an append on a full disk: {other}"),
        }
        assert!(fitted < 40, "40 appends fitted on a full disk");
    };
    let size = size + fitted;
    let len = log_len();
    let msg = Error::WriteFailed { reason: "x".into() }.to_string();
    assert!(msg.contains("not recorded"), "{msg}");
    assert!(matches!(l.health(), Health::WriteFailing { .. }));
    assert!(matches!(l.probe_storage(), Health::WriteFailing { .. }));
    // Nothing of them is anywhere: not in the size, the rules, the ids, the file.
    assert_eq!(l.size(), size);
    assert_eq!(l.read(|s| s.len()), size);
    assert_eq!(l.event_index(&event_id(&batch[0])), None);
    assert_eq!(l.event_index(&event_id(&single)), None);
    assert_eq!(log_len(), len, "the partial write was cut off");

    // Space is back: the probe clears the failure, and the same batch goes through.
    for f in fillers {
        std::fs::remove_file(f).unwrap();
    }
    assert_eq!(l.probe_storage(), Health::Ok);
    let landed = l.append_batch(batch.clone()).unwrap();
    assert_eq!(landed[0].index, size, "no gap where the failed write was");
    assert!(landed.iter().all(|a| !a.duplicate));
    let size = l.size();
    l.close();

    // After a restart: no ghost of the failed appends, and the log verifies.
    let l = open(&dir);
    assert_eq!(l.recovery(), sagat_ledger::Recovery::default());
    assert_eq!(l.size(), size);
    assert_eq!(l.event_index(&event_id(&single)), None);
    l.close();
    assert_eq!(
        verify_log(&dir, &operator().verifying_key(), None)
            .unwrap()
            .entries,
        size
    );
}
