use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::store::Scope;

/// A token's SHA-256 digest ([`super::token_digest`]).
pub type TokenDigest = [u8; 32];

/// Recently verified bearer tokens, by digest, so a request costs no token query.
/// Entries live at most `ttl`: a revoked or expired token stops working within it.
pub struct TokenCache {
    entries: RwLock<HashMap<TokenDigest, (Scope, Instant)>>,
    ttl: Duration,
    capacity: usize,
}

impl TokenCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        TokenCache {
            entries: RwLock::new(HashMap::new()),
            ttl,
            capacity,
        }
    }

    /// The scope of a token verified less than `ttl` ago.
    pub fn get(&self, digest: &TokenDigest) -> Option<Scope> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(digest)
            .filter(|(_, until)| *until > Instant::now())
            .map(|(scope, _)| scope.clone())
    }

    /// Remembers a verified token until `ttl` from now, or its own expiry if sooner.
    pub fn put(&self, digest: TokenDigest, scope: Scope, expires_in: Option<Duration>) {
        let lifetime = expires_in.map_or(self.ttl, |left| left.min(self.ttl));
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            let now = Instant::now();
            entries.retain(|_, (_, until)| *until > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(digest, (scope, Instant::now() + lifetime));
    }

    /// Drops every cached token of an application, as its deletion does.
    pub fn forget_application(&self, tenant_id: &str, app_id: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries
            .retain(|_, (scope, _)| !(&*scope.tenant_id == tenant_id && &*scope.app_id == app_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope::new("t".into(), "a".into(), true)
    }

    #[test]
    fn a_cached_token_is_found_until_it_expires() {
        let cache = TokenCache::new(Duration::from_secs(60), 10);
        cache.put([1; 32], scope(), None);
        assert_eq!(cache.get(&[1; 32]), Some(scope()));
        cache.put([2; 32], scope(), Some(Duration::ZERO));
        assert_eq!(cache.get(&[2; 32]), None);
        assert_eq!(cache.get(&[3; 32]), None);
    }

    #[test]
    fn forgetting_an_application_drops_only_its_tokens() {
        let cache = TokenCache::new(Duration::from_secs(60), 10);
        let other = Scope::new("t".into(), "b".into(), true);
        cache.put([1; 32], scope(), None);
        cache.put([2; 32], other.clone(), None);
        cache.forget_application("t", "a");
        assert_eq!(cache.get(&[1; 32]), None);
        assert_eq!(cache.get(&[2; 32]), Some(other));
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = TokenCache::new(Duration::from_secs(60), 2);
        for i in 0..5 {
            cache.put([i; 32], scope(), None);
        }
        assert!(cache.entries.read().unwrap().len() <= 2);
    }
}
