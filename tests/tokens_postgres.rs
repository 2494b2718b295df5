//! Tokens and sessions in the shared token journal on PostgreSQL (docs/ledger.md, "Shared state
//! on PostgreSQL"): the journal is compacted once its lines since the last rewrite reach twice
//! the records, and not again until as many lines have come again.

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
