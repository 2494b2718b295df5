//! Tokens and sessions in the shared token journal on PostgreSQL (docs/ledger.md, "Shared state
//! on PostgreSQL"): the journal is compacted once its lines since the last rewrite reach twice
//! the records, and not again until as many lines have come again; lookups never wait for a
//! change that waits for the database.

mod common;

use std::sync::Arc;

use common::new_database;
use sagat::datadir::tokens::{Kind, Role, TokenStore, COMPACT_AFTER_LINES, SHARED_JOURNAL};
use sagat_ledger::SharedStore;

const NOW: i64 = 1_800_000_000;

/// The journal's generation: bumped by every rewrite.
fn generation(db: &mut postgres::Client) -> i64 {
    db.query_one(
        "SELECT generation FROM sagat_journal_head WHERE journal = $1",
        &[&SHARED_JOURNAL],
    )
    .unwrap()
    .get(0)
}

#[test]
fn the_shared_journal_is_compacted_at_twice_the_records_and_not_on_every_change() {
    let (url, _) = new_database();
    // More live records than the journal's floor of lines: a file store's sessions, copied in
    // one change (as `sagat migrate` does).
    let dir = tempfile::tempdir().unwrap();
    let files = TokenStore::open(dir.path()).unwrap();
    let operator = files.mint(Role::Operator, Kind::Token, None, NOW).unwrap();
    let first_session = files.open_session(&operator, Role::Operator, NOW).unwrap();
    for _ in 0..COMPACT_AFTER_LINES + 1_000 {
        files.open_session(&operator, Role::Operator, NOW).unwrap();
    }
    let store = TokenStore::open_shared(Arc::new(SharedStore::open(&url).unwrap())).unwrap();
    let records = files.copy_into(&store, NOW).unwrap();
    assert!(records > COMPACT_AFTER_LINES, "{records} records copied");
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let before = generation(&mut db);

    // Sign in and out again and again: two lines a round, as many live records.
    let round = |store: &TokenStore| {
        let session = store.open_session(&operator, Role::Operator, NOW).unwrap();
        store.remove(&session, NOW).unwrap();
    };
    let mut compacted_after = None;
    for n in 1..=records {
        round(&store);
        if n % 25 == 0 && generation(&mut db) > before {
            compacted_after = Some(n);
            break;
        }
    }
    let n = compacted_after.expect("the journal was never compacted");
    // The copy left `records` lines; compaction comes once they have doubled.
    assert!(
        2 * n + 25 >= records,
        "compacted after {n} rounds (2 lines each) at {records} records: too early"
    );
    assert_eq!(generation(&mut db), before + 1, "compacted once");
    for _ in 0..200 {
        round(&store);
    }
    assert_eq!(
        generation(&mut db),
        before + 1,
        "compacted again soon after: the rewritten journal's own lines were counted as growth"
    );

    // Nothing was lost in the rewrite: a front-end opening the store now reads every record.
    let other = TokenStore::open_shared(Arc::new(SharedStore::open(&url).unwrap())).unwrap();
    assert_eq!(
        other.lookup(&operator, Kind::Token, NOW),
        Some(Role::Operator)
    );
    assert_eq!(
        other.lookup(&first_session, Kind::Session, NOW),
        Some(Role::Operator)
    );
}

#[test]
fn lookups_go_on_while_a_change_waits_for_the_shared_journal() {
    let (url, _) = new_database();
    let store =
        Arc::new(TokenStore::open_shared(Arc::new(SharedStore::open(&url).unwrap())).unwrap());
    let operator = store.mint(Role::Operator, Kind::Token, None, NOW).unwrap();
    // Another front-end's change, as PostgreSQL sees it: the journal's head locked.
    let mut other = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut change = other.transaction().unwrap();
    change
        .execute(
            "SELECT 1 FROM sagat_journal_head WHERE journal = $1 FOR UPDATE",
            &[&SHARED_JOURNAL],
        )
        .unwrap();
    let minting = store.clone();
    let minted =
        std::thread::spawn(move || minting.mint(Role::Org("eco".into()), Kind::Token, None, NOW));
    // The mint waits for the head ...
    let mut watcher = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let waiting: i64 = watcher
            .query_one("SELECT count(*) FROM pg_locks WHERE NOT granted", &[])
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the mint never waited for the journal's head"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // ... and meanwhile a bearer token is still looked up (past the refresh interval too).
    std::thread::sleep(sagat::datadir::tokens::SHARED_REFRESH);
    let (tx, rx) = std::sync::mpsc::channel();
    let looking = store.clone();
    let token = operator.clone();
    std::thread::spawn(move || {
        let _ = tx.send(looking.lookup(&token, Kind::Token, NOW));
    });
    let found = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("a lookup waited for another front-end's change");
    assert_eq!(found, Some(Role::Operator));
    // Once the other change commits, the mint goes through and its token works here.
    change.commit().unwrap();
    let org = minted.join().unwrap().unwrap();
    assert_eq!(
        store.lookup(&org, Kind::Token, NOW),
        Some(Role::Org("eco".into()))
    );
}
