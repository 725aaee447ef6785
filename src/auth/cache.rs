use std::collections::HashMap;
use std::sync::Arc;
use std::sync::RwLock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use crate::store::Scope;

/// A token's SHA-256 digest ([`super::token_digest`]).
pub type TokenDigest = [u8; 32];

/// How long an instance believes a verified token without asking the store: a
/// token revoked elsewhere stops working on every instance within it.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(30);

/// Least time between two recorded uses of one token, in seconds: a token's
/// `last used` costs at most one database write a minute per instance, not one a
/// request.
pub const TOKEN_USE_RECORD_INTERVAL_SECS: i64 = 60;

/// A token as verified against the store.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub scope: Scope,
    /// The token's row id.
    pub id: Arc<str>,
    /// Whether its uses are recorded (long-lived tokens), and when the last one was,
    /// in Unix seconds.
    pub records_use: bool,
    pub last_used: Option<i64>,
}

/// What authenticating by a cached token yields: the scope, and the token's id
/// when a use of it is due to be recorded (only one caller is told so).
pub type CachedUse = (Scope, Option<Arc<str>>);

struct Entry {
    scope: Scope,
    id: Arc<str>,
    until: Instant,
    /// Unix seconds of the last recorded use (`i64::MIN`: never); `None` when uses
    /// are not recorded.
    last_used: Option<AtomicI64>,
}

impl Entry {
    /// The token's id if its last recorded use is a minute old or more, claimed so
    /// that concurrent requests do not all write it.
    fn claim_use(&self, now: i64) -> Option<Arc<str>> {
        let last_used = self.last_used.as_ref()?;
        let previous = last_used.load(Ordering::Relaxed);
        let due =
            previous == i64::MIN || now.saturating_sub(previous) >= TOKEN_USE_RECORD_INTERVAL_SECS;
        (due && last_used
            .compare_exchange(previous, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok())
        .then(|| self.id.clone())
    }
}

/// Recently verified bearer tokens, by digest, so a request costs no token query.
/// Entries live at most `ttl`: a token revoked on another instance, or deleted
/// with its application there, stops working here within it.
pub struct TokenCache {
    entries: RwLock<HashMap<TokenDigest, Entry>>,
    ttl: Duration,
    capacity: usize,
    hits: metrics::Counter,
    misses: metrics::Counter,
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl TokenCache {
    /// A cache counting its hits and misses with the metrics recorder installed
    /// at this point, if any.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        TokenCache {
            entries: RwLock::new(HashMap::new()),
            ttl,
            capacity,
            hits: metrics::counter!("roster_token_cache_hits_total"),
            misses: metrics::counter!("roster_token_cache_misses_total"),
        }
    }

    /// The scope of a token verified less than `ttl` ago.
    pub fn get(&self, digest: &TokenDigest) -> Option<CachedUse> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = entries
            .get(digest)
            .filter(|entry| entry.until > Instant::now())
        else {
            self.misses.increment(1);
            return None;
        };
        self.hits.increment(1);
        Some((entry.scope.clone(), entry.claim_use(unix_now())))
    }

    /// Remembers a verified token until `ttl` from now, or its own expiry if sooner;
    /// returns its id when a use of it is due to be recorded.
    pub fn put(
        &self,
        digest: TokenDigest,
        token: VerifiedToken,
        expires_in: Option<Duration>,
    ) -> Option<Arc<str>> {
        let lifetime = expires_in.map_or(self.ttl, |left| left.min(self.ttl));
        let entry = Entry {
            scope: token.scope,
            id: token.id,
            until: Instant::now() + lifetime,
            last_used: token
                .records_use
                .then(|| AtomicI64::new(token.last_used.unwrap_or(i64::MIN))),
        };
        let due = entry.claim_use(unix_now());
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            let now = Instant::now();
            entries.retain(|_, entry| entry.until > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(digest, entry);
        due
    }

    /// Drops a revoked token.
    pub fn forget_token(&self, id: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, entry| &*entry.id != id);
    }

    /// Drops every cached token of an application, as its deletion does.
    pub fn forget_application(&self, tenant_id: &str, app_id: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, entry| {
            !(&*entry.scope.tenant_id == tenant_id && &*entry.scope.app_id == app_id)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope::new("t".into(), "a".into(), true)
    }

    fn token(id: &str, scope: Scope) -> VerifiedToken {
        VerifiedToken {
            scope,
            id: id.into(),
            records_use: true,
            last_used: None,
        }
    }

    #[test]
    fn a_cached_token_is_found_until_it_expires() {
        let cache = TokenCache::new(Duration::from_secs(60), 10);
        cache.put([1; 32], token("1", scope()), None);
        assert_eq!(cache.get(&[1; 32]).map(|(s, _)| s), Some(scope()));
        cache.put([2; 32], token("2", scope()), Some(Duration::ZERO));
        assert!(cache.get(&[2; 32]).is_none());
        assert!(cache.get(&[3; 32]).is_none());
    }

    #[test]
    fn forgetting_an_application_drops_only_its_tokens() {
        let cache = TokenCache::new(Duration::from_secs(60), 10);
        let other = Scope::new("t".into(), "b".into(), true);
        cache.put([1; 32], token("1", scope()), None);
        cache.put([2; 32], token("2", other.clone()), None);
        cache.forget_application("t", "a");
        assert!(cache.get(&[1; 32]).is_none());
        assert_eq!(cache.get(&[2; 32]).map(|(s, _)| s), Some(other));
    }

    #[test]
    fn forgetting_a_token_drops_only_it() {
        let cache = TokenCache::new(Duration::from_secs(60), 10);
        cache.put([1; 32], token("1", scope()), None);
        cache.put([2; 32], token("2", scope()), None);
        cache.forget_token("1");
        assert!(cache.get(&[1; 32]).is_none());
        assert!(cache.get(&[2; 32]).is_some());
    }

    #[test]
    fn a_use_is_due_once_a_minute_and_only_for_recorded_tokens() {
        let cache = TokenCache::new(Duration::from_secs(60), 10);
        let due = cache.put([1; 32], token("1", scope()), None);
        assert_eq!(due.as_deref(), Some("1"), "never used: due at once");
        assert_eq!(cache.get(&[1; 32]).and_then(|(_, due)| due), None);
        let recent = VerifiedToken {
            last_used: Some(unix_now() - 5),
            ..token("2", scope())
        };
        assert_eq!(cache.put([2; 32], recent, None), None);
        let stale = VerifiedToken {
            last_used: Some(unix_now() - TOKEN_USE_RECORD_INTERVAL_SECS),
            ..token("3", scope())
        };
        assert_eq!(cache.put([3; 32], stale, None).as_deref(), Some("3"));
        let unrecorded = VerifiedToken {
            records_use: false,
            ..token("4", scope())
        };
        assert_eq!(cache.put([4; 32], unrecorded, None), None);
        assert_eq!(cache.get(&[4; 32]).and_then(|(_, due)| due), None);
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = TokenCache::new(Duration::from_secs(60), 2);
        for i in 0..5 {
            cache.put([i; 32], token(&i.to_string(), scope()), None);
        }
        assert!(cache.entries.read().unwrap().len() <= 2);
    }
}
