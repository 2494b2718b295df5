//! # sagat-ledger: the event log
//!
//! Typed signed events are checked against every rule on append, stored in an append-only,
//! checksummed log file with group commit (one `fdatasync` per batch of concurrent appends), and
//! committed to an RFC 6962 Merkle tree whose every batch gets a C2SP tlog-checkpoint signed by
//! the operator key. Projections (hours per volunteer and organization) are rebuilt from the log
//! by replay. sled holds only indexes derived from the log. The record of truth can instead be
//! a PostgreSQL database ([`Ledger::open_postgres`]: the same records in three tables, a round
//! per transaction). See `docs/ledger.md` for the file format, the tables, the recovery steps
//! and the failure model.

mod error;
mod index;
mod ledger;
mod migrate;
mod postgres;
mod projection;
mod rules;
mod shared;
mod snapshot;
mod state;
mod store;
mod texts;
mod tree;
mod volunteers;

pub use error::Error;
pub use ledger::{
    latest_checkpoint, latest_checkpoint_postgres, verify_log, verify_postgres, Appended,
    EnvelopeViolation, Health, Ledger, LedgerOptions, Recovery, Startup, VerifyFailure,
    VerifyReport, BATCH_VERIFY_CHUNK, DEFAULT_ORIGIN, SNAPSHOT_EVERY,
};
pub use migrate::{migrate_from_postgres, migrate_to_postgres};
pub use postgres::ADVISORY_LOCK_KEY;
pub use projection::{
    ActivityInfo, AttestationFilter, AttestationInfo, CredentialInfo, IssuerInfo, KeyHistoryEntry,
    LiveAttestation, OrgAttestations, OrgHours, OrgInfo, OrgVolunteerHours, Revocation,
    VolunteerHours, UNCATEGORIZED,
};
pub use rules::{Fault, Rule};
pub use shared::{JournalCursor, JournalLines, SharedStore};
pub use state::{is_valid_name_id, Applied, State, Violation, MINUTES_PER_DAY};
pub use texts::{text_owner, PendingTexts, TextDirectory, TextRefused};
pub use volunteers::{check_directory, Damage, SealedRecord, VolunteerDirectory, VolunteerRecord};
