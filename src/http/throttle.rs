//! Limits on failed client authentications at `/oauth2/token`, per client id and per
//! address. governor's keyed limiters count the failures; once a key has used up its
//! quota it is refused (`429`) until the quota allows another failure, whatever
//! secret it sends, so no guess is checked beyond the quota.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Keys refused at one time, per kind of key: a bound on the map an attacker
/// spraying client ids could grow. Past it, a key over its quota is still refused
/// by its failure count, one checked guess later.
const MAX_REFUSED_KEYS: usize = 65_536;

/// Every this many failures, counts that have run out are dropped: a key is
/// forgotten a minute after its last failure, so the counts held stay within the
/// failures of the last minute, which the per-address quota bounds in turn.
const SWEEP_EVERY: u64 = 1_024;

/// Longest client id that gets a count of its own; longer ones are no client's and
/// count against their address only.
pub const MAX_COUNTED_CLIENT_ID: usize = 128;

/// Failed authentications allowed per minute before a key is refused.
#[derive(Debug, Clone, Copy)]
pub struct AuthFailureQuotas {
    pub per_client_id: NonZeroU32,
    pub per_address: NonZeroU32,
}

impl Default for AuthFailureQuotas {
    fn default() -> Self {
        AuthFailureQuotas {
            per_client_id: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
            per_address: NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// The failure counts of one server.
pub struct AuthFailureLimits {
    per_client_id: FailureCounter<String>,
    per_address: FailureCounter<IpAddr>,
}

impl AuthFailureLimits {
    pub fn new(quotas: AuthFailureQuotas) -> Self {
        AuthFailureLimits {
            per_client_id: FailureCounter::new(quotas.per_client_id),
            per_address: FailureCounter::new(quotas.per_address),
        }
    }

    /// How long an attempt with this client id from this address must wait, if the
    /// one or the other has failed too often.
    pub fn refused_for(
        &self,
        client_id: Option<&str>,
        address: Option<IpAddr>,
    ) -> Option<Duration> {
        let now = Instant::now();
        let by_client = client_id
            .filter(|id| id.len() <= MAX_COUNTED_CLIENT_ID)
            .and_then(|id| self.per_client_id.refused_for(id, now));
        let by_address = address.and_then(|a| self.per_address.refused_for(&address_key(a), now));
        by_client.max(by_address)
    }

    /// Counts a failed attempt; returns how long to wait when it went past a quota
    /// (attempts racing each other past the last allowed failure).
    pub fn record_failure(
        &self,
        client_id: Option<&str>,
        address: Option<IpAddr>,
    ) -> Option<Duration> {
        let now = Instant::now();
        let by_client = client_id
            .filter(|id| id.len() <= MAX_COUNTED_CLIENT_ID)
            .and_then(|id| self.per_client_id.record_failure(id.to_owned(), now));
        let by_address = address.and_then(|a| self.per_address.record_failure(address_key(a), now));
        by_client.max(by_address)
    }
}

/// The key an address counts under: IPv6 clients by their /64, which one holder
/// usually has whole.
fn address_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        v4 => v4,
    }
}

/// The failures of one kind of key, and the keys refused until a time.
struct FailureCounter<K: Hash + Eq + Clone> {
    failures: DefaultKeyedRateLimiter<K, StateInformationMiddleware>,
    replenish_interval: Duration,
    refused_until: Mutex<HashMap<K, Instant>>,
    recorded: AtomicU64,
}

impl<K: Hash + Eq + Clone> FailureCounter<K> {
    fn new(per_minute: NonZeroU32) -> Self {
        let quota = Quota::per_minute(per_minute);
        FailureCounter {
            failures: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            replenish_interval: quota.replenish_interval(),
            refused_until: Mutex::new(HashMap::new()),
            recorded: AtomicU64::new(0),
        }
    }

    fn refused_for<Q>(&self, key: &Q, now: Instant) -> Option<Duration>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let refused = self
            .refused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let until = *refused.get(key)?;
        (until > now).then(|| until - now)
    }

    /// Counts a failure of `key` and refuses the key once its quota is used up;
    /// `Some` when this failure was already past the quota.
    fn record_failure(&self, key: K, now: Instant) -> Option<Duration> {
        if self.recorded.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep(now);
        }
        let (wait, over) = match self.failures.check_key(&key) {
            Ok(state) if state.remaining_burst_capacity() > 0 => return None,
            // The last allowed failure: the next cell frees up within one interval.
            Ok(_) => (self.replenish_interval, false),
            Err(not_until) => (not_until.wait_time_from(self.failures.clock().now()), true),
        };
        let mut refused = self
            .refused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if refused.len() >= MAX_REFUSED_KEYS {
            refused.retain(|_, until| *until > now);
        }
        if refused.len() < MAX_REFUSED_KEYS {
            refused.insert(key, now + wait);
        }
        over.then_some(wait)
    }

    fn sweep(&self, now: Instant) {
        self.failures.retain_recent();
        self.failures.shrink_to_fit();
        let mut refused = self
            .refused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        refused.retain(|_, until| *until > now);
        refused.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_client_id: u32, per_address: u32) -> AuthFailureLimits {
        AuthFailureLimits::new(AuthFailureQuotas {
            per_client_id: NonZeroU32::new(per_client_id).unwrap(),
            per_address: NonZeroU32::new(per_address).unwrap(),
        })
    }

    #[test]
    fn a_client_id_is_refused_after_its_quota_of_failures() {
        let limits = limits(3, 100);
        let address = Some("192.0.2.1".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(limits.refused_for(Some("rcl_a"), address), None);
            limits.record_failure(Some("rcl_a"), address);
        }
        let wait = limits.refused_for(Some("rcl_a"), address).expect("refused");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20));
        assert_eq!(limits.refused_for(Some("rcl_b"), address), None);
        let elsewhere = Some("198.51.100.1".parse().unwrap());
        assert!(limits.refused_for(Some("rcl_a"), elsewhere).is_some());
    }

    #[test]
    fn an_address_is_refused_whatever_client_id_it_tries() {
        let limits = limits(100, 2);
        let address = Some("192.0.2.1".parse().unwrap());
        limits.record_failure(Some("rcl_a"), address);
        limits.record_failure(Some("rcl_b"), address);
        assert!(limits.refused_for(Some("rcl_c"), address).is_some());
        assert!(limits.refused_for(None, address).is_some());
        assert_eq!(
            limits.refused_for(Some("rcl_c"), Some("192.0.2.2".parse().unwrap())),
            None
        );
    }

    #[test]
    fn an_ipv6_network_counts_as_one_address() {
        let limits = limits(100, 1);
        limits.record_failure(None, Some("2001:db8:1:2::1".parse().unwrap()));
        assert!(
            limits
                .refused_for(None, Some("2001:db8:1:2::ffff".parse().unwrap()))
                .is_some()
        );
        assert_eq!(
            limits.refused_for(None, Some("2001:db8:1:3::1".parse().unwrap())),
            None
        );
    }

    #[test]
    fn sprayed_client_ids_leave_bounded_state() {
        let limits = limits(1, u32::MAX);
        for i in 0..(MAX_REFUSED_KEYS + 100) {
            limits.record_failure(Some(&format!("rcl_{i}")), None);
        }
        let refused = limits.per_client_id.refused_until.lock().unwrap().len();
        assert_eq!(refused, MAX_REFUSED_KEYS);
        assert!(limits.refused_for(Some("rcl_0"), None).is_some());
        let overlong = "x".repeat(MAX_COUNTED_CLIENT_ID + 1);
        limits.record_failure(Some(&overlong), None);
        assert_eq!(limits.refused_for(Some(&overlong), None), None);
    }
}
