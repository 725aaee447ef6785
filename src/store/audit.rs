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

/// Where a page of events ends: the next page holds the events before it. Ordered as
/// the log is: by time, then id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
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

/// Events an application's read examines at most per statement: which events it may
/// see is decided row by row, and without a bound a page for an application that
/// sees few of a large log would walk all of it.
const APPLICATION_EXAMINED_EVENTS: i64 = 10_000;

/// Events read, and, when the read stopped at its bound before finding enough, where
/// it stopped: every event newer than that position was examined.
#[derive(Debug, Clone, Default)]
pub struct EventsRead {
    pub rows: Vec<AuditEventRow>,
    pub stopped_at: Option<EventPosition>,
}

/// Up to `limit` of the scope's events that `filter` selects, newest first. An
/// application's read examines a bounded number of events: it may return fewer, even
/// none, and say where to go on from.
pub fn page_of_events(
    conn: &mut Conn,
    scope: &Scope,
    filter: &EventFilter,
    limit: i64,
) -> Result<EventsRead, StoreError> {
    let actions: Vec<Option<&str>> = match filter.actions.as_slice() {
        [] => vec![None],
        actions => actions.iter().map(|a| Some(a.as_str())).collect(),
    };
    let mut rows = load_dynamic(conn, &page_statement(conn, scope, filter, &actions, limit))?;
    let mut stopped_at: Option<EventPosition> = None;
    if scope.limiting_app().is_some() {
        // The newest of the walks' bounds: below it, a walk may not have looked.
        for action in &actions {
            let bound = examined_bound(conn, scope, filter, *action)?;
            if bound > stopped_at {
                stopped_at = bound;
            }
        }
        if let Some(bound) = &stopped_at {
            rows.retain(|row: &AuditEventRow| {
                (row.occurred_at, row.id.as_str()) > (bound.occurred_at, bound.id.as_str())
            });
        }
    }
    Ok(EventsRead { rows, stopped_at })
}

/// The position of the last event one walk of an application's read examines, when
/// the bound stops it before the end of the log.
fn examined_bound(
    conn: &mut Conn,
    scope: &Scope,
    filter: &EventFilter,
    action: Option<&str>,
) -> Result<Option<EventPosition>, StoreError> {
    let mut b = SqlBuilder::new(conn.backend());
    b.push("SELECT e.occurred_at, e.id FROM audit_events e WHERE e.tenant_id = ");
    b.text(&scope.tenant_id);
    push_conditions(&mut b, filter, action);
    b.push(" ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1 OFFSET ");
    b.param(SqlParam::BigInt(APPLICATION_EXAMINED_EVENTS - 1));
    let found: Vec<PositionRow> = load_dynamic(conn, &b)?;
    Ok(found.into_iter().next().map(|row| EventPosition {
        occurred_at: row.occurred_at,
        id: row.id,
    }))
}

#[derive(QueryableByName)]
struct PositionRow {
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    occurred_at: NaiveDateTime,
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

fn page_statement(
    conn: &Conn,
    scope: &Scope,
    filter: &EventFilter,
    actions: &[Option<&str>],
    limit: i64,
) -> SqlBuilder {
    let mut b = SqlBuilder::new(conn.backend());
    match actions {
        [action] => push_page(&mut b, scope, filter, *action, limit),
        actions => {
            // One ordered index walk per action, each stopping after a page, merged:
            // an `IN` list would read every matching event to sort them.
            for (n, action) in actions.iter().enumerate() {
                if n > 0 {
                    b.push(" UNION ALL ");
                }
                b.push("SELECT * FROM (");
                push_page(&mut b, scope, filter, *action, limit);
                b.push(&format!(") AS by_action_{n}"));
            }
            b.push(" ORDER BY occurred_at DESC, id DESC LIMIT ");
            b.param(SqlParam::BigInt(limit));
        }
    }
    b
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
    if scope.limiting_app().is_some() {
        // The walk's bounded stretch, then the application's reach over it.
        b.push(" FROM (SELECT ");
        b.push(COLUMNS);
        b.push(" FROM audit_events e WHERE e.tenant_id = ");
        b.text(&scope.tenant_id);
        push_conditions(b, filter, action);
        b.push(" ORDER BY e.occurred_at DESC, e.id DESC LIMIT ");
        b.param(SqlParam::BigInt(APPLICATION_EXAMINED_EVENTS));
        b.push(") e WHERE e.tenant_id = ");
        b.text(&scope.tenant_id);
    } else {
        b.push(" FROM audit_events e WHERE e.tenant_id = ");
        b.text(&scope.tenant_id);
        push_conditions(b, filter, action);
    }
    and_event_visible(b, scope.limiting_app());
    b.push(" ORDER BY e.occurred_at DESC, e.id DESC LIMIT ");
    b.param(SqlParam::BigInt(limit));
}

/// The filter's conditions on `audit_events e`, for one of its actions.
fn push_conditions(b: &mut SqlBuilder, filter: &EventFilter, action: Option<&str>) {
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
