//! The append-only audit log: one row per event, read newest first by keyset
//! (`occurred_at`, `id`), each filter on an index that leads with the tenant and ends
//! with that order, so a page reads about one page of index entries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::dynamic::{execute_dynamic, load_dynamic};
use super::schema::audit_events;
use super::scope::and_event_visible;
use super::sql::{SqlBuilder, SqlParam};
use super::{Conn, Scope, StoreError};
use crate::with_conn;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct AuditEventRow {
    pub id: String,
    pub tenant_id: String,
    pub occurred_at: NaiveDateTime,
    /// An application id, `cli` or `anonymous`.
    pub actor: String,
    pub actor_management: bool,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    pub request_id: Option<String>,
    /// The names of the attributes an update changed, as a JSON array.
    pub changed: Option<String>,
    pub detail: Option<String>,
}

/// Events in one multi-row `INSERT`: eleven parameters each, 22,000 in all, under
/// SQLite's 32,766.
const EVENTS_PER_INSERT: usize = 2_000;

pub fn insert_events(conn: &mut Conn, rows: &[AuditEventRow]) -> Result<(), StoreError> {
    for chunk in rows.chunks(EVENTS_PER_INSERT) {
        with_conn!(conn, c => diesel::insert_into(audit_events::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// Where a page of events ends: the next page holds the events before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPosition {
    pub occurred_at: NaiveDateTime,
    pub id: String,
}

/// Which events a query reads; every condition set must hold.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub resource_id: Option<String>,
    pub actor: Option<String>,
    /// Any of these actions; none: every action.
    pub actions: Vec<String>,
    /// At or after.
    pub since: Option<NaiveDateTime>,
    /// Before.
    pub until: Option<NaiveDateTime>,
    /// Only events older than this position (the previous page's last).
    pub before: Option<EventPosition>,
}

const COLUMNS: &str = "e.id, e.tenant_id, e.occurred_at, e.actor, e.actor_management, e.action, \
     e.resource_type, e.resource_id, e.request_id, e.changed, e.detail";

/// Up to `limit` of the scope's events that `filter` selects, newest first.
pub fn page_of_events(
    conn: &mut Conn,
    scope: &Scope,
    filter: &EventFilter,
    limit: i64,
) -> Result<Vec<AuditEventRow>, StoreError> {
    let mut b = SqlBuilder::new(conn.backend());
    match filter.actions.as_slice() {
        [] => push_page(&mut b, scope, filter, None, limit),
        [action] => push_page(&mut b, scope, filter, Some(action), limit),
        actions => {
            // One ordered index walk per action, each stopping after a page, merged:
            // an `IN` list would read every matching event to sort them.
            for (n, action) in actions.iter().enumerate() {
                if n > 0 {
                    b.push(" UNION ALL ");
                }
                b.push("SELECT * FROM (");
                push_page(&mut b, scope, filter, Some(action), limit);
                b.push(&format!(") AS by_action_{n}"));
            }
            b.push(" ORDER BY occurred_at DESC, id DESC LIMIT ");
            b.param(SqlParam::BigInt(limit));
        }
    }
    load_dynamic(conn, &b)
}

fn push_page(
    b: &mut SqlBuilder,
    scope: &Scope,
    filter: &EventFilter,
    action: Option<&str>,
    limit: i64,
) {
    b.push("SELECT ");
    b.push(COLUMNS);
    b.push(" FROM audit_events e WHERE e.tenant_id = ");
    b.text(&scope.tenant_id);
    if let Some(resource_id) = &filter.resource_id {
        b.push(" AND e.resource_id = ").text(resource_id);
    }
    if let Some(actor) = &filter.actor {
        b.push(" AND e.actor = ").text(actor);
    }
    if let Some(action) = action {
        b.push(" AND e.action = ").text(action);
    }
    if let Some(since) = filter.since {
        b.push(" AND e.occurred_at >= ")
            .param(SqlParam::Timestamp(since));
    }
    if let Some(until) = filter.until {
        b.push(" AND e.occurred_at < ")
            .param(SqlParam::Timestamp(until));
    }
    if let Some(before) = &filter.before {
        // The first comparison bounds the index range; the second drops the events of
        // the same instant that the previous page already held.
        b.push(" AND e.occurred_at <= ")
            .param(SqlParam::Timestamp(before.occurred_at));
        b.push(" AND (e.occurred_at < ")
            .param(SqlParam::Timestamp(before.occurred_at));
        b.push(" OR e.id < ").text(&before.id);
        b.push(")");
    }
    and_event_visible(b, scope.limiting_app());
    b.push(" ORDER BY e.occurred_at DESC, e.id DESC LIMIT ");
    b.param(SqlParam::BigInt(limit));
}

/// Deletes up to `batch` of the tenant's events older than `before`, oldest first;
/// returns how many it deleted.
pub fn delete_events_before(
    conn: &mut Conn,
    tenant_id: &str,
    before: NaiveDateTime,
    batch: i64,
) -> Result<usize, StoreError> {
    let mut b = SqlBuilder::new(conn.backend());
    b.push("DELETE FROM audit_events WHERE id IN (SELECT e.id FROM audit_events e WHERE e.tenant_id = ")
        .text(tenant_id);
    b.push(" AND e.occurred_at < ")
        .param(SqlParam::Timestamp(before));
    b.push(" ORDER BY e.occurred_at, e.id LIMIT ")
        .param(SqlParam::BigInt(batch));
    b.push(")");
    execute_dynamic(conn, &b)
}
