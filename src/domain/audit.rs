//! The audit log: events are appended by [`record`] inside each change's transaction
//! (a change that rolls back leaves no event); read page by page newest first,
//! exported as a stream of batches, and purged past an age by the CLI.
//!
//! An event names attributes, never their values: `changed` lists the names an
//! update changed, and `detail` holds identifiers only.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use futures_util::Stream;
use serde_json::{Map, Value};

use super::{DomainError, new_id, now};
use crate::store::audit::{
    AuditEventRow, EventFilter, EventPosition, EventsRead, delete_events_before, insert_events,
    page_of_events,
};
use crate::store::tenants::tenant_ids;
use crate::store::timestamp::parse_stored_timestamp;
use crate::store::{Conn, Scope, Store};

/// The actor of the events the command line causes.
pub const CLI_ACTOR: &str = "cli";
/// The actor of a refused authentication: nobody proved who they are.
pub const ANONYMOUS_ACTOR: &str = "anonymous";

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A token of this application.
    Application { app_id: String, management: bool },
    /// The `roster` command line.
    Cli,
    /// A caller whose authentication failed.
    Anonymous,
}

/// An event as the log answers it.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub id: String,
    pub occurred_at: NaiveDateTime,
    pub actor: Actor,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    /// The `X-Request-Id` of the request that caused it; `None` outside a request
    /// (and on events older than request ids).
    pub request_id: Option<String>,
    /// The names of the attributes an update changed.
    pub changed: Vec<String>,
    pub detail: Option<Value>,
}

/// An event about to be recorded.
pub(crate) struct NewEvent<'a> {
    tenant_id: &'a str,
    actor: &'a str,
    actor_management: bool,
    request_id: Option<&'a str>,
    resource_type: &'a str,
    action: &'a str,
    resource_id: &'a str,
    changed: Vec<String>,
    detail: Value,
}

impl<'a> NewEvent<'a> {
    /// An event caused by the scope's application, in the scope's request.
    pub(crate) fn by(
        scope: &'a Scope,
        resource_type: &'a str,
        action: &'a str,
        resource_id: &'a str,
    ) -> Self {
        NewEvent {
            tenant_id: &scope.tenant_id,
            actor: &scope.app_id,
            actor_management: scope.is_management(),
            request_id: scope.request_id.as_deref(),
            resource_type,
            action,
            resource_id,
            changed: Vec::new(),
            detail: Value::Null,
        }
    }

    /// An event of tenant `tenant_id` caused by the command line.
    pub(crate) fn by_cli(
        tenant_id: &'a str,
        resource_type: &'a str,
        action: &'a str,
        resource_id: &'a str,
    ) -> Self {
        NewEvent {
            tenant_id,
            actor: CLI_ACTOR,
            actor_management: false,
            request_id: None,
            resource_type,
            action,
            resource_id,
            changed: Vec::new(),
            detail: Value::Null,
        }
    }

    /// A refused authentication in tenant `tenant_id`, during request `request_id`.
    pub(crate) fn refused(
        tenant_id: &'a str,
        request_id: Option<&'a str>,
        resource_type: &'a str,
        resource_id: &'a str,
    ) -> Self {
        NewEvent {
            request_id,
            actor: ANONYMOUS_ACTOR,
            ..NewEvent::by_cli(tenant_id, resource_type, "auth.failed", resource_id)
        }
    }

    /// The names of the attributes the change changed.
    pub(crate) fn changed(self, changed: Vec<String>) -> Self {
        NewEvent { changed, ..self }
    }

    /// Identifiers that say more about the event; never a secret or free-form data.
    pub(crate) fn detail(self, detail: Value) -> Self {
        NewEvent { detail, ..self }
    }
}

/// Appends `event` to the log inside the caller's transaction.
pub(crate) fn record(conn: &mut Conn, event: NewEvent<'_>) -> Result<(), DomainError> {
    Ok(insert_events(conn, &[event_row(event)?])?)
}

/// Appends `events` to the log inside the caller's transaction, many rows a statement.
pub(crate) fn record_all<'a>(
    conn: &mut Conn,
    events: impl IntoIterator<Item = NewEvent<'a>>,
) -> Result<(), DomainError> {
    let rows = events
        .into_iter()
        .map(event_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(insert_events(conn, &rows)?)
}

fn event_row(event: NewEvent<'_>) -> Result<AuditEventRow, DomainError> {
    let changed = (!event.changed.is_empty())
        .then(|| serde_json::to_string(&event.changed))
        .transpose()
        .map_err(|e| DomainError::Corrupt(format!("changed attributes: {e}")))?;
    Ok(AuditEventRow {
        id: new_id(),
        tenant_id: event.tenant_id.to_owned(),
        occurred_at: now(),
        actor: event.actor.to_owned(),
        actor_management: event.actor_management,
        action: event.action.to_owned(),
        resource_type: event.resource_type.to_owned(),
        resource_id: event.resource_id.to_owned(),
        request_id: event.request_id.map(str::to_owned),
        changed,
        detail: (!event.detail.is_null()).then(|| event.detail.to_string()),
    })
}

/// The names of the attributes that differ between two documents of a resource:
/// top-level attributes by name (`displayName`, `emails`), and an extension's
/// attributes by the extension's URN and their name
/// (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`). Values
/// never leave this function; the names come sorted.
pub fn changed_attributes(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<String> {
    let empty = Map::new();
    let mut changed = Vec::new();
    let names = before
        .keys()
        .chain(after.keys().filter(|k| !before.contains_key(*k)));
    for name in names {
        let (old, new) = (before.get(name), after.get(name));
        if old == new {
            continue;
        }
        match (
            name.starts_with("urn:"),
            old.map_or(Some(&empty), Value::as_object),
            new.map_or(Some(&empty), Value::as_object),
        ) {
            (true, Some(old), Some(new)) => {
                let subs = old
                    .keys()
                    .chain(new.keys().filter(|k| !old.contains_key(*k)));
                changed.extend(
                    subs.filter(|sub| old.get(*sub) != new.get(*sub))
                        .map(|sub| format!("{name}:{sub}")),
                );
            }
            _ => changed.push(name.clone()),
        }
    }
    changed.sort();
    changed.dedup();
    changed
}

/// Which events a read selects, as the caller named them.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub resource_id: Option<String>,
    /// An application id, `cli` or `anonymous`.
    pub actor: Option<String>,
    /// Any of these; none: every action.
    pub actions: Vec<String>,
    /// At or after.
    pub since: Option<NaiveDateTime>,
    /// Before.
    pub until: Option<NaiveDateTime>,
    /// Where the previous page ended, as [`EventPage::next_cursor`] gave it.
    pub cursor: Option<String>,
}

/// Most actions one query may name.
pub const MAX_ACTIONS: usize = 20;

/// One page of events, newest first.
#[derive(Debug, Clone)]
pub struct EventPage {
    pub events: Vec<AuditEvent>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl EventQuery {
    fn into_filter(self) -> Result<EventFilter, DomainError> {
        let mut actions = self.actions;
        actions.sort();
        actions.dedup();
        if actions.len() > MAX_ACTIONS {
            return Err(DomainError::InvalidValue(format!(
                "'action' may name at most {MAX_ACTIONS} actions"
            )));
        }
        Ok(EventFilter {
            resource_id: self.resource_id,
            actor: self.actor,
            actions,
            since: self.since,
            until: self.until,
            before: self.cursor.as_deref().map(decode_cursor).transpose()?,
        })
    }
}

/// The opaque text of a position: base64url of its time and id.
fn encode_cursor(position: &EventPosition) -> String {
    let text = format!(
        "{}|{}",
        position.occurred_at.format("%Y-%m-%dT%H:%M:%S%.f"),
        position.id
    );
    URL_SAFE_NO_PAD.encode(text)
}

fn decode_cursor(cursor: &str) -> Result<EventPosition, DomainError> {
    let invalid = || DomainError::InvalidValue("'cursor' is not a cursor this log gave".into());
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (at, id) = text.split_once('|').ok_or_else(invalid)?;
    let occurred_at = parse_stored_timestamp(at).ok_or_else(invalid)?;
    if id.is_empty() || id.chars().any(char::is_control) {
        return Err(invalid());
    }
    Ok(EventPosition {
        occurred_at,
        id: id.to_owned(),
    })
}

fn event_from_row(row: AuditEventRow) -> Result<AuditEvent, DomainError> {
    let corrupt = |what: &str| DomainError::Corrupt(format!("{what} of audit event {}", row.id));
    let changed = match &row.changed {
        Some(text) => serde_json::from_str::<Vec<String>>(text).map_err(|_| corrupt("changed"))?,
        None => Vec::new(),
    };
    let detail = row
        .detail
        .as_deref()
        .map(serde_json::from_str::<Value>)
        .transpose()
        .map_err(|_| corrupt("detail"))?;
    let actor = match row.actor.as_str() {
        CLI_ACTOR => Actor::Cli,
        ANONYMOUS_ACTOR => Actor::Anonymous,
        _ => Actor::Application {
            app_id: row.actor,
            management: row.actor_management,
        },
    };
    Ok(AuditEvent {
        id: row.id,
        occurred_at: row.occurred_at,
        actor,
        action: row.action,
        resource_type: row.resource_type,
        resource_id: row.resource_id,
        request_id: row.request_id,
        changed,
        detail,
    })
}

/// The scope's events that `query` selects, `limit` at most, newest first. The
/// Management Application reads the tenant's log; another application the events
/// about the users assigned to it and its own actions.
pub async fn read_events(
    store: &Store,
    scope: &Scope,
    query: EventQuery,
    limit: i64,
) -> Result<EventPage, DomainError> {
    let filter = query.into_filter()?;
    let scope = scope.clone();
    let EventsRead {
        mut rows,
        stopped_at,
    } = store
        .read(move |conn| page_of_events(conn, &scope, &filter, limit + 1))
        .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    // A page that an application's bounded read left short goes on where it stopped.
    let next = match (more, rows.last()) {
        (true, Some(last)) => Some(position_of(last)),
        _ => stopped_at,
    };
    let next_cursor = next.as_ref().map(encode_cursor);
    let events = rows
        .into_iter()
        .map(event_from_row)
        .collect::<Result<_, _>>()?;
    Ok(EventPage {
        events,
        next_cursor,
    })
}

fn position_of(row: &AuditEventRow) -> EventPosition {
    EventPosition {
        occurred_at: row.occurred_at,
        id: row.id.clone(),
    }
}

/// Events read per statement by an export.
const EXPORT_BATCH: i64 = 1000;

/// Every event `query` selects, newest first, in batches: each batch is one keyset
/// read that starts where the previous one ended, made only when the consumer asks
/// for it, so an export of any size holds one batch in memory.
pub fn export_events(
    store: &Store,
    scope: &Scope,
    query: EventQuery,
) -> Result<impl Stream<Item = Result<Vec<AuditEvent>, DomainError>> + use<>, DomainError> {
    let filter = query.into_filter()?;
    let (store, scope) = (store.clone(), scope.clone());
    Ok(futures_util::stream::unfold(Some(filter), move |filter| {
        let (store, scope) = (store.clone(), scope.clone());
        async move {
            let filter = filter?;
            let read = filter.clone();
            let EventsRead { rows, stopped_at } = match store
                .read(move |conn| page_of_events(conn, &scope, &read, EXPORT_BATCH))
                .await
            {
                Ok(read) => read,
                Err(error) => return Some((Err(DomainError::from(error)), None)),
            };
            let resume = match rows.last() {
                Some(last) if rows.len() as i64 == EXPORT_BATCH => Some(position_of(last)),
                _ => stopped_at,
            };
            if rows.is_empty() && resume.is_none() {
                return None;
            }
            let next = resume.map(|before| EventFilter {
                before: Some(before),
                ..filter
            });
            let events = rows.into_iter().map(event_from_row).collect();
            Some((events, next))
        }
    }))
}

/// What a purge did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PurgeReport {
    /// Events older than this were deleted.
    pub before: NaiveDateTime,
    pub deleted: u64,
}

/// Events deleted per transaction by a purge: short transactions, so that writers
/// wait for a purge no longer than for another write.
const PURGE_BATCH: i64 = 5000;

/// Deletes every tenant's events older than `older_than`, in short transactions, and
/// records in each tenant's log that it did (action `audit.purged`, actor `cli`) in
/// the transaction of its last batch.
pub fn purge_events(
    store: &Store,
    older_than: chrono::Duration,
) -> Result<PurgeReport, DomainError> {
    if older_than <= chrono::Duration::zero() {
        return Err(DomainError::InvalidValue(
            "a purge keeps at least the events of the last moment: --older-than must be positive"
                .into(),
        ));
    }
    let before = now().checked_sub_signed(older_than).ok_or_else(|| {
        DomainError::InvalidValue(
            "--older-than reaches before the earliest time Roster can hold".into(),
        )
    })?;
    let tenants = store.read_blocking(tenant_ids)?;
    let mut deleted = 0u64;
    for tenant in tenants {
        let mut deleted_here = 0u64;
        loop {
            let done_before = deleted_here;
            let finished = store.write_blocking(|conn| -> Result<(u64, bool), DomainError> {
                let n = delete_events_before(conn, &tenant, before, PURGE_BATCH)? as u64;
                let finished = (n as i64) < PURGE_BATCH;
                if finished {
                    let detail = serde_json::json!({
                        "before": before.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                        "deleted": done_before + n,
                    });
                    record(
                        conn,
                        NewEvent::by_cli(&tenant, "AuditLog", "audit.purged", &tenant)
                            .detail(detail),
                    )?;
                }
                Ok((n, finished))
            })?;
            deleted_here += finished.0;
            if finished.1 {
                break;
            }
        }
        deleted += deleted_here;
    }
    Ok(PurgeReport { before, deleted })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    #[test]
    fn changed_names_top_level_attributes_that_differ_appear_or_go() {
        let before = map(json!({"userName": "a", "displayName": "A", "nickName": "x",
            "emails": [{"value": "a@x"}]}));
        let after = map(json!({"userName": "a", "displayName": "B", "title": "t",
            "emails": [{"value": "b@x"}]}));
        assert_eq!(
            changed_attributes(&before, &after),
            ["displayName", "emails", "nickName", "title"]
        );
    }

    #[test]
    fn nothing_changed_is_no_names() {
        let doc = map(json!({"userName": "a", ENTERPRISE: {"department": "d"}}));
        assert!(changed_attributes(&doc, &doc).is_empty());
        assert!(changed_attributes(&Map::new(), &Map::new()).is_empty());
    }

    #[test]
    fn an_extension_names_its_changed_attributes_under_its_urn() {
        let before = map(json!({ENTERPRISE: {"department": "d", "costCenter": "c"}}));
        let after = map(json!({ENTERPRISE: {"department": "e", "costCenter": "c",
            "division": "v"}}));
        assert_eq!(
            changed_attributes(&before, &after),
            [
                format!("{ENTERPRISE}:department"),
                format!("{ENTERPRISE}:division")
            ]
        );
        let gone = map(json!({"userName": "a"}));
        assert_eq!(
            changed_attributes(&before, &gone),
            [
                format!("{ENTERPRISE}:costCenter"),
                format!("{ENTERPRISE}:department"),
                "userName".to_owned()
            ]
        );
    }

    #[test]
    fn values_never_appear_among_the_names() {
        let before =
            map(json!({"password": "old-Secret-1", "urn:x:Roster": {"customData": {"k": "v1"}}}));
        let after =
            map(json!({"password": "new-Secret-2", "urn:x:Roster": {"customData": {"k": "v2"}}}));
        let changed = changed_attributes(&before, &after);
        assert_eq!(changed, ["password", "urn:x:Roster:customData"]);
        let text = changed.join(" ");
        for value in ["old-Secret-1", "new-Secret-2", "v1", "v2"] {
            assert!(!text.contains(value), "{value} in {text}");
        }
    }

    #[test]
    fn a_non_object_extension_value_is_named_whole() {
        let before = map(json!({"urn:x:Ext": "text"}));
        let after = map(json!({"urn:x:Ext": {"a": 1}}));
        assert_eq!(changed_attributes(&before, &after), ["urn:x:Ext"]);
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let position = EventPosition {
            occurred_at: chrono::NaiveDate::from_ymd_opt(2026, 12, 8)
                .unwrap()
                .and_hms_milli_opt(10, 11, 12, 345)
                .unwrap(),
            id: "0194f2a0-7c1e-7b7e-9d1a-3c2b1a0f9e8d".into(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&position)).unwrap(), position);
        let whole_second = EventPosition {
            occurred_at: position.occurred_at.with_nanosecond_zero(),
            ..position.clone()
        };
        assert_eq!(
            decode_cursor(&encode_cursor(&whole_second)).unwrap(),
            whole_second
        );
        for garbage in [
            "",
            "!!",
            "bm8tYmFy",
            &URL_SAFE_NO_PAD.encode("2026-12-08T10:11:12|"),
        ] {
            assert!(decode_cursor(garbage).is_err(), "{garbage}");
        }
    }

    trait WithoutNanos {
        fn with_nanosecond_zero(self) -> Self;
    }

    impl WithoutNanos for NaiveDateTime {
        fn with_nanosecond_zero(self) -> Self {
            use chrono::Timelike;
            self.with_nanosecond(0).unwrap()
        }
    }
}
