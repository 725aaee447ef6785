//! Whether the database is reachable and writable, as the last connection attempt,
//! checkout or commit found it. Requests that find it lost answer at once instead of
//! waiting out the checkout timeout, and readiness follows it; the pool's own
//! reconnection attempts (or a successful write, on SQLite) clear it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Shared by a store's pools, its writer and every clone of the store.
#[derive(Debug, Clone, Default)]
pub(super) struct Health {
    lost: Arc<AtomicBool>,
}

impl Health {
    pub(super) fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    pub(super) fn mark_lost(&self, reason: &dyn std::fmt::Display) {
        if !self.lost.swap(true, Ordering::Relaxed) {
            tracing::warn!(%reason, "the database is unreachable or cannot be written");
        }
    }

    pub(super) fn mark_reachable(&self) {
        // A load first: the common case writes nothing to the shared cache line.
        if self.is_lost() && self.lost.swap(false, Ordering::Relaxed) {
            tracing::info!("the database is reachable and writable again");
        }
    }
}

/// Feeds the pool's failures to open a connection into the health. A pooled
/// connection that fails its check at checkout is only dropped: one may die alone
/// (an idle timeout on the way), and when the server is gone, the pool's attempt to
/// replace it fails too.
#[derive(Debug)]
pub(super) struct PoolErrors(pub(super) Health);

impl r2d2::HandleError<diesel::r2d2::Error> for PoolErrors {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        if let diesel::r2d2::Error::ConnectionError(cause) = &error {
            self.0.mark_lost(cause);
        } else {
            tracing::debug!(%error, "a pooled database connection failed its check");
        }
    }
}
