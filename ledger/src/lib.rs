//! # sagat-ledger: the event log
