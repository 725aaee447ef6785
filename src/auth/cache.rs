use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use super::Principal;

/// A token's SHA-256 digest ([`super::token_digest`]).
pub type TokenDigest = [u8; 32];

/// Recently verified bearer tokens, by digest, so a request costs no token query.
/// Entries live at most `ttl`: a revoked or expired token stops working within it.
pub struct TokenCache {
    entries: RwLock<HashMap<TokenDigest, (Principal, Instant)>>,
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

    /// The principal of a token verified less than `ttl` ago.
    pub fn get(&self, digest: &TokenDigest) -> Option<Principal> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(digest)
            .filter(|(_, until)| *until > Instant::now())
            .map(|(principal, _)| principal.clone())
    }

    /// Remembers a verified token until `ttl` from now, or its own expiry if sooner.
    pub fn put(&self, digest: TokenDigest, principal: Principal, expires_in: Option<Duration>) {
        let lifetime = expires_in.map_or(self.ttl, |left| left.min(self.ttl));
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            let now = Instant::now();
            entries.retain(|_, (_, until)| *until > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(digest, (principal, Instant::now() + lifetime));
    }

    /// Drops every cached token of an application, as its deletion does.
    pub fn forget_application(&self, tenant_id: &str, app_id: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, (principal, _)| {
            !(&*principal.tenant_id == tenant_id && &*principal.app_id == app_id)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal() -> Principal {
        Principal {
            tenant_id: "t".into(),
            app_id: "a".into(),
            is_management: true,
        }
    }

    #[test]
    fn a_cached_token_is_found_until_it_expires() {
        let cache = TokenCache::new(Duration::from_secs(60), 10);
        cache.put([1; 32], principal(), None);
        assert_eq!(cache.get(&[1; 32]), Some(principal()));
        cache.put([2; 32], principal(), Some(Duration::ZERO));
        assert_eq!(cache.get(&[2; 32]), None);
        assert_eq!(cache.get(&[3; 32]), None);
    }

    #[test]
    fn forgetting_an_application_drops_only_its_tokens() {
        let cache = TokenCache::new(Duration::from_secs(60), 10);
        let other = Principal {
            app_id: "b".into(),
            ..principal()
        };
        cache.put([1; 32], principal(), None);
        cache.put([2; 32], other.clone(), None);
        cache.forget_application("t", "a");
        assert_eq!(cache.get(&[1; 32]), None);
        assert_eq!(cache.get(&[2; 32]), Some(other));
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = TokenCache::new(Duration::from_secs(60), 2);
        for i in 0..5 {
            cache.put([i; 32], principal(), None);
        }
        assert!(cache.entries.read().unwrap().len() <= 2);
    }
}
