//! The store's records in memory, with the indexes every operation needs, so that none of them
//! scans all records: by hash prefix (lookups), bearer tokens (listings), by role (a
//! volunteer's code and sessions), by parent (a token's sessions), and by enrolling organization
//! (its roster).

use std::collections::{BTreeSet, HashMap};

use subtle::ConstantTimeEq;

use super::format::Change;
use super::{Hash, Kind, Record, Role};

/// First 8 bytes of a hash: the key lookups find candidates by.
fn prefix(hash: &Hash) -> [u8; 8] {
    hash[..8].try_into().expect("8 of 32 bytes")
}

#[derive(Debug, Default, Clone)]
pub(super) struct Records {
    /// Every record by the first 8 bytes of its hash, but for the few whose prefix another
    /// record already has (64 bits: practically never), which are in `shared_prefix`. One
    /// allocation less per record than a list per prefix.
    by_prefix: HashMap<[u8; 8], (Hash, Record)>,
    shared_prefix: Vec<(Hash, Record)>,
    len: usize,
    /// The bearer tokens (operator and organizations): few, listed by the operator.
    tokens: BTreeSet<Hash>,
    /// Access codes and sessions, by the role they speak for.
    by_role: HashMap<Role, Vec<Hash>>,
    /// Token or access code → the sessions opened with it.
    sessions_of: HashMap<Hash, Vec<Hash>>,
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
        let (hash, record) = self.by_prefix.get(&prefix(want))?;
        let mut found = bool::from(hash.ct_eq(want)).then_some(record);
        for (hash, record) in self
            .shared_prefix
            .iter()
            .filter(|(h, _)| prefix(h) == prefix(want))
        {
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
                .push(hash);
        }
        if let Some(parent) = record.parent.as_deref().and_then(super::format::hash_of) {
            self.sessions_of.entry(parent).or_default().push(hash);
        }
        if let (Kind::AccessCode, Some(org), Role::Volunteer(v)) =
            (record.kind, &record.enrolled_by, &record.role)
        {
            self.enrolled
                .entry(org.clone())
                .or_default()
                .insert(v.clone());
        }
        match self.by_prefix.entry(prefix(&hash)) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert((hash, record));
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.shared_prefix.push((hash, record))
            }
        }
        self.len += 1;
    }

    /// Removes the record with this hash (and it from every index).
    fn take(&mut self, hash: &Hash) -> Option<Record> {
        let record = if self
            .by_prefix
            .get(&prefix(hash))
            .is_some_and(|(h, _)| h == hash)
        {
            let (_, record) = self.by_prefix.remove(&prefix(hash))?;
            // One of the same prefix takes its place, so lookups still find it first.
            if let Some(at) = self
                .shared_prefix
                .iter()
                .position(|(h, _)| prefix(h) == prefix(hash))
            {
                let moved = self.shared_prefix.swap_remove(at);
                self.by_prefix.insert(prefix(hash), moved);
            }
            record
        } else {
            let at = self.shared_prefix.iter().position(|(h, _)| h == hash)?;
            self.shared_prefix.swap_remove(at).1
        };
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
        match self.by_prefix.get(&prefix(hash)) {
            Some((h, r)) if h == hash => Some(r),
            _ => self
                .shared_prefix
                .iter()
                .find(|(h, _)| h == hash)
                .map(|(_, r)| r),
        }
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
        self.sessions_of.get(parent).cloned().unwrap_or_default()
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
            .chain(&self.shared_prefix)
            .map(|(h, r)| (h, r))
            .collect();
        all.sort_by(|a, b| (a.1.created, a.0).cmp(&(b.1.created, b.0)));
        all.into_iter().map(|(_, r)| r).collect()
    }
}

fn remove_from<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, Vec<Hash>>,
    key: &K,
    hash: &Hash,
) {
    if let Some(set) = map.get_mut(key) {
        set.retain(|h| h != hash);
        if set.is_empty() {
            map.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(hash: &Hash, role: Role) -> Record {
        Record {
            sha256: hex::encode(hash),
            kind: Kind::Session,
            role,
            created: 1,
            expires: None,
            enrolled_by: None,
            parent: None,
            last_used: None,
        }
    }

    #[test]
    fn records_sharing_a_hash_prefix_are_each_found_and_removed() {
        let (mut a, mut b, mut c) = ([7u8; 32], [7u8; 32], [7u8; 32]);
        a[31] = 1;
        b[31] = 2;
        c[31] = 3;
        let mut records = Records::default();
        for (h, v) in [(a, "a"), (b, "b"), (c, "c")] {
            let r = record(&h, Role::Volunteer(v.into()));
            records.apply(Change::Put(h, r));
        }
        assert_eq!(records.len(), 3);
        let role = |records: &Records, h: &Hash| records.find(h).map(|r| r.role.clone());
        assert_eq!(role(&records, &b), Some(Role::Volunteer("b".into())));
        records.apply(Change::Del(a));
        assert_eq!(role(&records, &a), None);
        assert_eq!(role(&records, &b), Some(Role::Volunteer("b".into())));
        assert_eq!(role(&records, &c), Some(Role::Volunteer("c".into())));
        records.apply(Change::Del(c));
        assert_eq!(role(&records, &b), Some(Role::Volunteer("b".into())));
        assert_eq!((records.len(), records.all_in_order().len()), (1, 1));
        assert!(records.of_role(&Role::Volunteer("c".into())).is_empty());
    }
}
