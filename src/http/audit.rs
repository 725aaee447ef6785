//! `GET /v1/audit-events`: the caller's audit log, filtered and paged by cursor as
//! JSON, or the whole selection streamed as NDJSON (`Accept: application/x-ndjson`)
//! for a SIEM to ingest.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDateTime};
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::params::QueryParams;
use crate::domain::audit::{
    Actor, AuditEvent, EventQuery, MAX_ACTIONS, export_events, read_events,
};
use crate::scim::{ScimError, format_time};
use crate::text_rules::check_controls;

const NDJSON: &str = "application/x-ndjson";

/// The query parameters this route reads; any other is refused.
const PARAMETERS: [&str; 7] = [
    "resource_id",
    "actor",
    "action",
    "since",
    "until",
    "limit",
    "cursor",
];

/// Longest value of a text filter: ids and action names are far shorter.
const MAX_FILTER_CHARS: usize = 256;

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

/// Reads the tenant's audit log.
#[utoipa::path(
    get,
    path = "/v1/audit-events",
    tag = "Management",
    params(
        ("resource_id" = Option<String>, Query, description = "Events of this resource"),
        ("actor" = Option<String>, Query, description = "Events caused by this application id"),
        ("action" = Option<String>, Query, description = "Events of these actions, comma-separated (the parameter may repeat)"),
        ("since" = Option<String>, Query, description = "Events at or after this RFC 3339 time"),
        ("until" = Option<String>, Query, description = "Events before this RFC 3339 time"),
        ("limit" = Option<i64>, Query, description = "Most events of the page, 1 to 1000 (100 without it)"),
        ("cursor" = Option<String>, Query, description = "A page's next_cursor"),
    ),
    responses(
        (status = 200, description = "A page of events; with `Accept: application/x-ndjson`, every selected event, one JSON object a line", content(
            (ref("#/components/schemas/AuditEventPage") = "application/json"),
            (ref("#/components/schemas/AuditEvent") = "application/x-ndjson"),
        )),
        (status = 400, description = "A parameter is not valid", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("bearer" = [])),
)]
pub async fn audit_events(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
) -> Result<HttpResponse, ScimError> {
    let params = QueryParams::from_request(&req);
    let (query, limit) = parse_query(&params)?;
    if wants_ndjson(&req) {
        let batches = export_events(&state.store, &scope, query)?;
        let body = batches.map(|batch| {
            let mut chunk = Vec::new();
            for event in batch? {
                // Writing a Value into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut chunk, &render(&event));
                chunk.push(b'\n');
            }
            Ok::<_, crate::domain::DomainError>(Bytes::from(chunk))
        });
        return Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, NDJSON))
            .streaming(body));
    }
    let page = read_events(&state.store, &scope, query, limit).await?;
    let events: Vec<Value> = page.events.iter().map(render).collect();
    Ok(HttpResponse::Ok().json(json!({ "events": events, "next_cursor": page.next_cursor })))
}

fn wants_ndjson(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|media| {
            media
                .split(';')
                .next()
                .is_some_and(|media| media.trim().eq_ignore_ascii_case(NDJSON))
        })
}

fn render(event: &AuditEvent) -> Value {
    let actor = match &event.actor {
        Actor::Application { app_id, management } => {
            json!({"type": "application", "app_id": app_id, "management": management})
        }
        Actor::Cli => json!({"type": "cli"}),
        Actor::Anonymous => json!({"type": "anonymous"}),
    };
    json!({
        "id": event.id,
        "occurred_at": format_time(event.occurred_at),
        "actor": actor,
        "action": event.action,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "request_id": event.request_id,
        "changed": event.changed,
        "detail": event.detail,
    })
}

fn parse_query(params: &QueryParams<'_>) -> Result<(EventQuery, i64), ScimError> {
    if let Some(unknown) = params.names().find(|name| {
        !PARAMETERS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(name))
    }) {
        return Err(ScimError::invalid_value(format!(
            "unknown parameter '{}'; the audit log takes {}",
            unknown.chars().take(64).collect::<String>(),
            PARAMETERS.join(", ")
        )));
    }
    let text = |name: &str| -> Result<Option<String>, ScimError> {
        params
            .get(name)
            .map(|value| checked_text(name, value))
            .transpose()
    };
    let mut actions = Vec::new();
    for value in params.get_all("action") {
        for action in value.split(',') {
            actions.push(checked_text("action", action.trim())?);
        }
    }
    if actions.len() > MAX_ACTIONS {
        return Err(ScimError::invalid_value(format!(
            "'action' may name at most {MAX_ACTIONS} actions"
        )));
    }
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(limit) => limit
            .parse::<i64>()
            .ok()
            .filter(|limit| (1..=MAX_LIMIT).contains(limit))
            .ok_or_else(|| {
                ScimError::invalid_value(format!(
                    "'limit' must be a whole number from 1 to {MAX_LIMIT}"
                ))
            })?,
    };
    let since = params.get("since").map(|t| time("since", t)).transpose()?;
    let until = params.get("until").map(|t| time("until", t)).transpose()?;
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err(ScimError::invalid_value("'since' must be before 'until'"));
    }
    let query = EventQuery {
        resource_id: text("resource_id")?,
        actor: text("actor")?,
        actions,
        since,
        until,
        cursor: text("cursor")?,
    };
    Ok((query, limit))
}

/// A filter's text: not empty, short, without control characters (PostgreSQL
/// refuses NUL in a parameter).
fn checked_text(name: &str, value: &str) -> Result<String, ScimError> {
    if value.is_empty() || value.chars().count() > MAX_FILTER_CHARS {
        return Err(ScimError::invalid_value(format!(
            "'{name}' must have 1 to {MAX_FILTER_CHARS} characters"
        )));
    }
    check_controls(value, false, || name.to_owned())
        .map_err(|e| ScimError::invalid_value(e.to_string()))?;
    Ok(value.to_owned())
}

/// An RFC 3339 time (`2026-12-08T10:00:00Z`, any offset), as UTC.
fn time(name: &str, value: &str) -> Result<NaiveDateTime, ScimError> {
    DateTime::parse_from_rfc3339(value)
        .map(|time| time.naive_utc())
        .map_err(|_| {
            ScimError::invalid_value(format!(
                "'{name}' must be an RFC 3339 time such as 2026-12-08T10:00:00Z"
            ))
        })
}
