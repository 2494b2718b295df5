//! Token-bucket rate limits, keyed by credential or client address (a SHA-256 prefix, never
//! the secret).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::ops;

/// Token-bucket rate limiter keyed by credential (its SHA-256 prefix, never the secret).
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<[u8; 16], (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_minute` requests per minute with a burst of the same size; 0 disables.
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from the credential's bucket, or a 429 with `Retry-After`.
    pub fn check(&self, secret: &str) -> Result<(), ops::Error> {
        if self.per_minute == 0 {
            return Ok(());
        }
        use sha2::Digest;
        let d = sha2::Sha256::digest(secret.as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&d[..16]);
        let cap = self.per_minute as f64;
        let rate = cap / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() > 100_000 {
            buckets.retain(|_, (_, t)| now.duration_since(*t).as_secs() < 120);
        }
        let (tokens, last) = buckets.entry(key).or_insert((cap, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(cap);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - *tokens) / rate).ceil().max(1.0) as u64;
            Err(ops::Error::rate_limited(wait))
        }
    }
}
