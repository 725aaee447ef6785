//! How users and audit events read in the portal's tables and headings.

use serde_json::{Map, Value};

use crate::domain::audit::{Actor, AuditEvent};
use crate::domain::users::User;
use crate::time::format_time;

/// A user as a list row shows them.
pub struct UserSummary {
    pub id: String,
    pub user_name: String,
    pub name: String,
    pub email: String,
    pub status: &'static str,
    pub modified: String,
}

impl UserSummary {
    pub fn of(user: &User) -> UserSummary {
        let attributes = user.attributes.to_map().unwrap_or_default();
        UserSummary {
            id: user.id.clone(),
            user_name: text(&attributes, "userName"),
            name: full_name(&attributes),
            email: primary_value(&attributes, "emails"),
            status: user.status.as_str(),
            modified: format_time(user.last_modified),
        }
    }
}

pub fn text(attributes: &Map<String, Value>, name: &str) -> String {
    attributes
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

pub fn name_part(attributes: &Map<String, Value>, part: &str) -> String {
    attributes
        .get("name")
        .and_then(|name| name.get(part))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn full_name(attributes: &Map<String, Value>) -> String {
    let formatted = name_part(attributes, "formatted");
    if !formatted.is_empty() {
        return formatted;
    }
    let parts = [
        name_part(attributes, "givenName"),
        name_part(attributes, "familyName"),
    ];
    let joined = parts
        .iter()
        .filter(|part| !part.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    if joined.is_empty() {
        text(attributes, "displayName")
    } else {
        joined
    }
}

/// The primary value of a multi-valued attribute, else its first.
pub fn primary_value(attributes: &Map<String, Value>, name: &str) -> String {
    let Some(Value::Array(values)) = attributes.get(name) else {
        return String::new();
    };
    values
        .iter()
        .find(|value| value.get("primary") == Some(&Value::Bool(true)))
        .or(values.first())
        .and_then(|value| value.get("value"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// An audit event as a table row shows it.
pub struct EventEntry {
    pub when: String,
    pub action: String,
    pub actor: String,
    pub resource: String,
    pub resource_link: Option<String>,
    pub changed: String,
}

impl EventEntry {
    pub fn of(event: &AuditEvent) -> EventEntry {
        let actor = match &event.actor {
            Actor::Application {
                management: true, ..
            } => "Management Application".to_owned(),
            Actor::Application { app_id, .. } => format!("application {app_id}"),
            Actor::Cli => "command line".to_owned(),
            Actor::Anonymous => "anonymous".to_owned(),
        };
        let resource_link = match event.resource_type.as_str() {
            "User" => Some(format!("/admin/users/{}", event.resource_id)),
            "Group" => Some(format!("/admin/groups/{}", event.resource_id)),
            _ => None,
        };
        EventEntry {
            when: format_time(event.occurred_at),
            action: event.action.clone(),
            actor,
            resource: format!("{} {}", event.resource_type, event.resource_id),
            resource_link,
            changed: event
                .changed
                .iter()
                .map(|name| short_attribute_name(name))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// An attribute name without its schema URN (`customData` for
/// `urn:…:roster:2.0:User:customData`): the table has no room for URNs.
fn short_attribute_name(name: &str) -> &str {
    if name.starts_with("urn:") {
        name.rsplit(':').next().unwrap_or(name)
    } else {
        name
    }
}
