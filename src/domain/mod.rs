//! The domain: tenants, applications, credentials, users and groups, with the rules that hold
//! whatever protocol reaches them (uniqueness, versions, lifecycle status, audit).
//! Functions here take validated input and call the store; they know no HTTP or JSON
//! wire format beyond the attribute documents they keep.

pub mod apps;
pub mod assignments;
pub mod attributes;
pub mod audit;
mod error;
pub mod groups;
pub mod listing;
mod modify;
mod paging;
pub mod seed;
pub mod sessions;
pub mod signins;
pub mod tenants;
pub mod tokens;
pub mod users;

pub use error::DomainError;

use chrono::{NaiveDateTime, Timelike, Utc};

/// Now, as stored: UTC without an offset, to the millisecond — the precision
/// `meta` shows, so a client filtering on a time it was shown finds the resource.
pub(crate) fn now() -> NaiveDateTime {
    let now = Utc::now().naive_utc();
    now.with_nanosecond((now.nanosecond() / 1_000_000) * 1_000_000)
        .unwrap_or(now)
}

/// A new time-ordered id (UUIDv7): rows insert in index order and list in creation order.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Appends an event to the audit log inside the caller's transaction, by the
/// scope's application in the scope's request. `detail` holds identifiers only, never
/// a secret or free-form data; `Value::Null` for none.
pub(crate) fn record_event(
    conn: &mut crate::store::Conn,
    scope: &crate::store::Scope,
    resource_type: &str,
    action: &str,
    resource_id: &str,
    detail: serde_json::Value,
) -> Result<(), DomainError> {
    audit::record(
        conn,
        audit::NewEvent::by(scope, resource_type, action, resource_id).detail(detail),
    )
}
