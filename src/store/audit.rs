//! The append-only audit log.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::audit_events;
use super::{Conn, Scope, StoreError};
use crate::with_conn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct AuditEventRow {
    pub id: String,
    pub tenant_id: String,
    pub occurred_at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    pub detail: Option<String>,
}

pub fn insert_event(conn: &mut Conn, row: &AuditEventRow) -> Result<(), StoreError> {
    with_conn!(conn, c => diesel::insert_into(audit_events::table).values(row).execute(c))?;
    Ok(())
}

/// A tenant's events about one resource, oldest first.
pub fn events_for_resource(
    conn: &mut Conn,
    scope: &Scope,
    resource_id: &str,
) -> Result<Vec<AuditEventRow>, StoreError> {
    Ok(with_conn!(conn, c => audit_events::table
        .filter(audit_events::tenant_id.eq(&*scope.tenant_id))
        .filter(audit_events::resource_id.eq(resource_id))
        .order((audit_events::occurred_at.asc(), audit_events::id.asc()))
        .select(AuditEventRow::as_select())
        .load(c))?)
}

/// A tenant's most recent events, newest first.
pub fn recent_events(
    conn: &mut Conn,
    scope: &Scope,
    limit: i64,
) -> Result<Vec<AuditEventRow>, StoreError> {
    Ok(with_conn!(conn, c => audit_events::table
        .filter(audit_events::tenant_id.eq(&*scope.tenant_id))
        .order((audit_events::occurred_at.desc(), audit_events::id.desc()))
        .limit(limit)
        .select(AuditEventRow::as_select())
        .load(c))?)
}
