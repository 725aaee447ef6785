//! Reading the audit log (events are appended by [`super::record_event`] inside
//! each change's transaction).

use super::DomainError;
use crate::store::audit::{AuditEventRow, events_for_resource, recent_events};
use crate::store::{Scope, Store};

/// The tenant's events about `resource_id` (oldest first), or its `limit` most
/// recent events (newest first). Only the Management Application reads the log.
pub async fn read_events(
    store: &Store,
    scope: &Scope,
    resource_id: Option<String>,
    limit: i64,
) -> Result<Vec<AuditEventRow>, DomainError> {
    if !scope.is_management() {
        return Err(DomainError::Forbidden(
            "only the Management Application's tokens read the audit log".into(),
        ));
    }
    let scope = scope.clone();
    Ok(store
        .read(move |conn| match resource_id {
            Some(id) => events_for_resource(conn, &scope, &id),
            None => recent_events(conn, &scope, limit),
        })
        .await?)
}
