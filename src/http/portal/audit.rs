//! The audit page: the tenant's events, newest first, filtered by action, actor,
//! resource and time range, a page at a time.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::error::PortalError;
use super::forms::{given, link};
use super::session::Admin;
use super::views::EventEntry;
use super::{Chrome, ok_page};
use crate::domain::audit::{EventQuery, read_events};

const PAGE_SIZE: i64 = 50;

/// The actions the filter offers.
const ACTIONS: [&str; 22] = [
    "user.created",
    "user.replaced",
    "user.patched",
    "user.deleted",
    "user.assigned",
    "user.unassigned",
    "user.signed_in",
    "user.social_linked",
    "group.created",
    "group.replaced",
    "group.patched",
    "group.deleted",
    "group.member_added",
    "group.member_removed",
    "application.created",
    "application.updated",
    "application.deleted",
    "application.secret_rotated",
    "token.created",
    "token.revoked",
    "auth.failed",
    "audit.purged",
];

#[derive(Deserialize)]
pub struct AuditParams {
    action: Option<String>,
    actor: Option<String>,
    resource: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/audit.html")]
struct AuditPage {
    chrome: Chrome,
    actions: &'static [&'static str],
    action: String,
    actor: String,
    resource: String,
    since: String,
    until: String,
    events: Vec<EventEntry>,
    next: Option<String>,
    first: Option<String>,
    error: Option<String>,
}

/// A `datetime-local` input's value (`2026-12-08T10:30`), read as UTC.
fn local_time(text: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| format!("'{text}' is not a date and time (YYYY-MM-DDTHH:MM)"))
}

/// `GET /admin/audit`.
pub async fn audit_page(
    req: HttpRequest,
    admin: Admin,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    let action = given(&params.action, 64).unwrap_or_default();
    let actor = given(&params.actor, 256).unwrap_or_default();
    let resource = given(&params.resource, 256).unwrap_or_default();
    let since = given(&params.since, 32).unwrap_or_default();
    let until = given(&params.until, 32).unwrap_or_default();
    let cursor = given(&params.cursor, 512);
    let keep = |cursor: &str| {
        link(
            "/admin/audit",
            &[
                ("action", &action),
                ("actor", &actor),
                ("resource", &resource),
                ("since", &since),
                ("until", &until),
                ("cursor", cursor),
            ],
        )
    };
    let mut shown = AuditPage {
        chrome: admin.chrome("audit"),
        actions: &ACTIONS,
        action: action.clone(),
        actor: actor.clone(),
        resource: resource.clone(),
        since: since.clone(),
        until: until.clone(),
        events: Vec::new(),
        next: None,
        first: cursor.as_ref().map(|_| keep("")),
        error: None,
    };
    let times = (|| {
        let since = (!since.is_empty())
            .then(|| local_time(&since))
            .transpose()?;
        let until = (!until.is_empty())
            .then(|| local_time(&until))
            .transpose()?;
        Ok::<_, String>((since, until))
    })();
    let (since_time, until_time) = match times {
        Ok(times) => times,
        Err(message) => {
            shown.error = Some(message);
            return Ok(ok_page(&shown));
        }
    };
    let query = EventQuery {
        resource_id: (!resource.is_empty()).then(|| resource.clone()),
        actor: (!actor.is_empty()).then(|| actor.clone()),
        actions: if action.is_empty() {
            Vec::new()
        } else {
            vec![action.clone()]
        },
        since: since_time,
        until: until_time,
        cursor,
    };
    match read_events(&state.store, &admin.scope, query, PAGE_SIZE).await {
        Ok(page) => {
            shown.events = page.events.iter().map(EventEntry::of).collect();
            shown.next = page.next_cursor.as_deref().map(keep);
        }
        Err(error) => match PortalError::from(error) {
            PortalError::Scim(scim) if scim.status < 500 => shown.error = Some(scim.detail),
            other => return Err(other),
        },
    }
    Ok(ok_page(&shown))
}
