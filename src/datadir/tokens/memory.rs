//! The store's records in memory, with the indexes every operation needs, so that none of them
//! scans all records: by hash prefix (lookups), bearer tokens (listings), by role (a
//! volunteer's code and sessions), by parent (a token's sessions), and by enrolling organization
//! (its roster).

use std::collections::{BTreeSet, HashMap, HashSet};

use subtle::ConstantTimeEq;

use super::format::Change;
use super::{Hash, Kind, Record, Role};

/// First 8 bytes of a hash: the key lookups find candidates by.
fn prefix(hash: &Hash) -> [u8; 8] {
    hash[..8].try_into().expect("8 of 32 bytes")
}

#[derive(Debug, Default)]
pub(super) struct Records {
    /// Every record, grouped by the first 8 bytes of its hash (almost always one per group).
    by_prefix: HashMap<[u8; 8], Vec<(Hash, Record)>>,
    len: usize,
    /// The bearer tokens (operator and organizations): few, listed by the operator.
    tokens: BTreeSet<Hash>,
    /// Access codes and sessions, by the role they speak for.
    by_role: HashMap<Role, HashSet<Hash>>,
    /// Token or access code → the sessions opened with it.
    sessions_of: HashMap<Hash, HashSet<Hash>>,
    /// Organization → the volunteers it enrolled through the service.
    enrolled: HashMap<String, BTreeSet<String>>,
}

impl Records {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The record a presented secret's hash `want` names: candidates by prefix, each whole
    /// hash compared in constant time (the time depends on `want`'s prefix, not on what is
    /// stored).
    pub(super) fn find(&self, want: &Hash) -> Option<&Record> {
        let mut found = None;
        for (hash, record) in self.by_prefix.get(&prefix(want))? {
            if bool::from(hash.ct_eq(want)) {
                found = Some(record);
            }
        }
        found
    }

    pub(super) fn apply(&mut self, change: Change) {
        match change {
            Change::Put(hash, record) => self.insert(hash, record),
            Change::Del(hash) => {
                self.take(&hash);
            }
        }
    }

    fn insert(&mut self, hash: Hash, record: Record) {
        self.take(&hash);
        if record.kind == Kind::Token {
            self.tokens.insert(hash);
        } else {
            self.by_role
                .entry(record.role.clone())
                .or_default()
                .insert(hash);
        }
        if let Some(parent) = record.parent.as_deref().and_then(super::format::hash_of) {
            self.sessions_of.entry(parent).or_default().insert(hash);
        }
        if let (Kind::AccessCode, Some(org), Role::Volunteer(v)) =
            (record.kind, &record.enrolled_by, &record.role)
        {
            self.enrolled
                .entry(org.clone())
                .or_default()
                .insert(v.clone());
        }
        self.by_prefix
            .entry(prefix(&hash))
            .or_default()
            .push((hash, record));
        self.len += 1;
    }

    /// Removes the record with this hash (and it from every index).
    fn take(&mut self, hash: &Hash) -> Option<Record> {
        let group = self.by_prefix.get_mut(&prefix(hash))?;
        let at = group.iter().position(|(h, _)| h == hash)?;
        let (_, record) = group.swap_remove(at);
        if group.is_empty() {
            self.by_prefix.remove(&prefix(hash));
        }
        self.len -= 1;
        if record.kind == Kind::Token {
            self.tokens.remove(hash);
        } else {
            remove_from(&mut self.by_role, &record.role, hash);
        }
        if let Some(parent) = record.parent.as_deref().and_then(super::format::hash_of) {
            remove_from(&mut self.sessions_of, &parent, hash);
        }
        if let (Kind::AccessCode, Some(org), Role::Volunteer(v)) =
            (record.kind, &record.enrolled_by, &record.role)
        {
            if let Some(set) = self.enrolled.get_mut(org) {
                set.remove(v);
                if set.is_empty() {
                    self.enrolled.remove(org);
                }
            }
        }
        Some(record)
    }

    /// The record stored under `hash` (a hash already known to be stored: no secret involved).
    pub(super) fn get(&self, hash: &Hash) -> Option<&Record> {
        let group = self.by_prefix.get(&prefix(hash))?;
        group.iter().find(|(h, _)| h == hash).map(|(_, r)| r)
    }

    /// Every bearer token, with its hash.
    pub(super) fn tokens(&self) -> impl Iterator<Item = (&Hash, &Record)> {
        self.tokens
            .iter()
            .filter_map(|h| self.get(h).map(|r| (h, r)))
    }

    /// The access codes and sessions of `role`, with their hashes.
    pub(super) fn of_role(&self, role: &Role) -> Vec<(Hash, &Record)> {
        self.by_role
            .get(role)
            .into_iter()
            .flatten()
            .filter_map(|h| self.get(h).map(|r| (*h, r)))
            .collect()
    }

    /// The sessions opened with the token or code whose hash is `parent`.
    pub(super) fn sessions_of(&self, parent: &Hash) -> Vec<Hash> {
        self.sessions_of
            .get(parent)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The volunteers `org` enrolled, in id order.
    pub(super) fn enrolled_by(&self, org: &str) -> Vec<String> {
        self.enrolled
            .get(org)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Every record, oldest first (ties by hash): the order `tokens.json` is written in.
    pub(super) fn all_in_order(&self) -> Vec<&Record> {
        let mut all: Vec<(&Hash, &Record)> = self
            .by_prefix
            .values()
            .flatten()
            .map(|(h, r)| (h, r))
            .collect();
        all.sort_by(|a, b| (a.1.created, a.0).cmp(&(b.1.created, b.0)));
        all.into_iter().map(|(_, r)| r).collect()
    }
}

fn remove_from<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, HashSet<Hash>>,
    key: &K,
    hash: &Hash,
) {
    if let Some(set) = map.get_mut(key) {
        set.remove(hash);
        if set.is_empty() {
            map.remove(key);
        }
    }
}
