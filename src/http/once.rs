//! Post/Redirect/Get and idempotent web forms: each form post runs at most once.
//!
//! Every state-changing form carries a hidden `nonce` (128 random bits, fresh on each page
//! render). A POST runs its action at most once per (signed-in credential, nonce): the outcome
//! (the flash message) is kept under that key, and the answer is always `303 See Other` to the
//! dashboard with `?done=<nonce>`, which shows the flash. So a browser refresh re-requests the
//! page (a GET), never the POST; and a double submit or a resend of the same form (back button,
//! a second click while the first is running) waits for, and shows, the first outcome instead of
//! appending again.
//!
//! Outcomes are kept in memory for [`FormResults::TTL`] (at most [`FormResults::CAPACITY`]),
//! visible only to the credential that posted the form.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::Digest;
use tokio::sync::OnceCell;

/// The outcome of one form post, as rendered on the dashboard.
#[derive(Debug, Clone)]
pub struct Flash {
    /// The rendered flash `div` (HTML).
    pub html: String,
    /// The action failed on the server's side (a storage failure): a new post of the same form
    /// runs it again instead of showing this outcome (the idempotency key derived from the nonce
    /// still keeps it from appending twice).
    pub retry: bool,
    /// After a refusal: what the form said (its fields but the nonce and the CSRF token), so
    /// the page shows the form filled in again; empty after a success. Held in memory only,
    /// as long as the outcome.
    pub kept: Vec<(String, String)>,
}

type Key = ([u8; 16], String);

#[derive(Debug)]
struct Entry {
    outcome: Arc<OnceCell<Flash>>,
    at: Instant,
}

/// Outcomes of recent form posts, keyed by (credential, nonce).
#[derive(Debug, Default)]
pub struct FormResults {
    entries: Mutex<HashMap<Key, Entry>>,
}

/// A fresh form nonce: 128 random bits, hex.
pub fn new_nonce() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Is `s` an acceptable nonce (what [`new_nonce`] makes, or any 16 to 64 characters of
/// `[0-9A-Za-z_-]`)?
pub fn is_nonce(s: &str) -> bool {
    (16..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn owner_key(secret: &str) -> [u8; 16] {
    let d = sha2::Sha256::digest(secret.as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    k
}

impl FormResults {
    /// How long an outcome is kept.
    pub const TTL: Duration = Duration::from_secs(30 * 60);
    /// At most this many outcomes are kept (the oldest are dropped first).
    pub const CAPACITY: usize = 10_000;

    fn cell(&self, owner: [u8; 16], nonce: &str) -> Arc<OnceCell<Flash>> {
        let now = Instant::now();
        let mut entries = self.entries.lock().expect("form results lock");
        if entries.len() >= Self::CAPACITY {
            entries.retain(|_, e| now.duration_since(e.at) < Self::TTL);
            if entries.len() >= Self::CAPACITY {
                if let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, e)| e.at)
                    .map(|(k, _)| k.clone())
                {
                    entries.remove(&oldest);
                }
            }
        }
        let key = (owner, nonce.to_string());
        match entries.get(&key) {
            Some(e)
                if now.duration_since(e.at) < Self::TTL
                    && !e.outcome.get().is_some_and(|f| f.retry) =>
            {
                e.outcome.clone()
            }
            _ => {
                let outcome = Arc::new(OnceCell::new());
                entries.insert(
                    key,
                    Entry {
                        outcome: outcome.clone(),
                        at: now,
                    },
                );
                outcome
            }
        }
    }

    /// Runs `action` unless this credential already posted this nonce; returns the outcome of
    /// the first post. A concurrent second post waits for the first one's outcome.
    pub async fn run_once<F, Fut>(&self, secret: &str, nonce: &str, action: F) -> Flash
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Flash>,
    {
        let cell = self.cell(owner_key(secret), nonce);
        cell.get_or_init(action).await.clone()
    }

    /// The outcome of a finished post of this credential, for the page it redirected to.
    pub fn get(&self, secret: &str, nonce: &str) -> Option<Flash> {
        let entries = self.entries.lock().expect("form results lock");
        let e = entries.get(&(owner_key(secret), nonce.to_string()))?;
        if e.at.elapsed() >= Self::TTL {
            return None;
        }
        e.outcome.get().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_action_runs_once_per_credential_and_nonce() {
        let forms = FormResults::default();
        let runs = std::sync::atomic::AtomicUsize::new(0);
        let act = |text: &'static str| {
            let runs = &runs;
            move || async move {
                runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Flash {
                    html: text.into(),
                    retry: false,
                    kept: Vec::new(),
                }
            }
        };
        let nonce = new_nonce();
        assert!(is_nonce(&nonce));
        assert_eq!(
            forms.run_once("a", &nonce, act("first")).await.html,
            "first"
        );
        assert_eq!(
            forms.run_once("a", &nonce, act("second")).await.html,
            "first"
        );
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Another credential with the same nonce is another form.
        assert_eq!(
            forms.run_once("b", &nonce, act("third")).await.html,
            "third"
        );
        assert_eq!(forms.get("a", &nonce).unwrap().html, "first");
        assert!(forms.get("c", &nonce).is_none());
        assert!(!is_nonce("short"));
        assert!(!is_nonce("0123456789abcdef<"));
    }
}
