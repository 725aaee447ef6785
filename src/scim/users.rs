//! The SCIM User resource: request bodies into domain input, domain users into JSON.

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use super::error::ScimError;
use super::patch::{PatchOperation, apply_patch};
use super::schema::USER_RESOURCE;
use super::validate::normalize_resource;
use super::{BaseUrl, etag, format_time, urn};
use crate::domain::assignments::{AppAssignment, AppAssignmentInput};
use crate::domain::users::{RosterUserInput, User, UserInput};

/// Validates a POST or PUT body of a User.
pub fn user_input_from_body(body: &Value) -> Result<UserInput, ScimError> {
    let normalized = normalize_resource(body, &USER_RESOURCE)?;
    let mut attributes = normalized.attributes;
    let password = match attributes.remove("password") {
        Some(Value::String(password)) => Some(password),
        _ => None,
    };
    let roster_named = normalized.extensions.contains(&urn::ROSTER_USER);
    let roster_fields = match attributes.remove(urn::ROSTER_USER) {
        Some(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    let roster = if roster_named {
        Some(roster_input(roster_fields)?)
    } else {
        None
    };
    Ok(UserInput {
        attributes,
        password,
        roster,
    })
}

fn roster_input(mut fields: Map<String, Value>) -> Result<RosterUserInput, ScimError> {
    let birthday = match fields.remove("birthday") {
        Some(Value::String(text)) => {
            Some(NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
                ScimError::invalid_value(format!(
                    "'{}:birthday' must be a date as YYYY-MM-DD, not '{text}'",
                    urn::ROSTER_USER
                ))
            })?)
        }
        _ => None,
    };
    // Without `apps`, assignments stay as they are; PATCH results name them always.
    let apps = match fields.remove("apps") {
        Some(Value::Array(entries)) => Some(
            entries
                .iter()
                .map(app_input)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        _ => None,
    };
    Ok(RosterUserInput {
        custom_data: fields.remove("customData"),
        birthday,
        apps,
    })
}

/// One validated `apps` entry.
fn app_input(entry: &Value) -> Result<AppAssignmentInput, ScimError> {
    let app_id = entry.get("value").and_then(Value::as_str).ok_or_else(|| {
        ScimError::invalid_value(format!(
            "each '{}:apps' entry needs its application id as 'value'",
            urn::ROSTER_USER
        ))
    })?;
    let consents = match entry.get("consents") {
        None => None,
        Some(Value::Array(items)) => {
            for consent in items {
                let valid = consent.get("clientId").is_none_or(Value::is_string)
                    && consent.get("scopes").is_none_or(|s| {
                        s.as_array().is_some_and(|a| a.iter().all(Value::is_string))
                    })
                    && consent.get("grantedAt").is_none_or(|t| {
                        t.as_str()
                            .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())
                    });
                if !valid {
                    return Err(ScimError::invalid_value(
                        "a consent is {\"clientId\": string, \"scopes\": [strings], \"grantedAt\": dateTime}",
                    ));
                }
            }
            Some(Value::Array(items.clone()))
        }
        Some(_) => return Err(ScimError::invalid_value("'consents' must be an array")),
    };
    Ok(AppAssignmentInput {
        app_id: app_id.to_owned(),
        external_account_id: entry
            .get("externalAccountId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        custom_app_data: entry.get("customAppData").cloned(),
        consents,
    })
}

/// The writable fields of an assignment, as an `apps` entry.
fn app_entry(app: &AppAssignment) -> Map<String, Value> {
    let mut entry = Map::new();
    entry.insert("value".into(), app.app_id.clone().into());
    if let Some(external) = &app.external_account_id {
        entry.insert("externalAccountId".into(), external.clone().into());
    }
    if let Some(data) = &app.custom_app_data {
        entry.insert("customAppData".into(), data.clone());
    }
    if let Some(consents) = &app.consents {
        entry.insert("consents".into(), consents.clone());
    }
    entry
}

/// Applies PATCH operations to a user (RFC 7644 §3.5.2) and returns the input that
/// replaces it: the patched document validated like any PUT body.
pub fn patch_user(user: &User, operations: &[PatchOperation]) -> Result<UserInput, ScimError> {
    let mut document = user.attributes.clone();
    let mut roster = Map::new();
    if let Some(custom_data) = &user.custom_data {
        roster.insert("customData".into(), custom_data.clone());
    }
    if let Some(birthday) = user.birthday {
        roster.insert(
            "birthday".into(),
            birthday.format("%Y-%m-%d").to_string().into(),
        );
    }
    if !user.apps.is_empty() {
        let apps = user
            .apps
            .iter()
            .map(|app| Value::Object(app_entry(app)))
            .collect();
        roster.insert("apps".into(), Value::Array(apps));
    }
    document.insert(urn::ROSTER_USER.into(), Value::Object(roster));
    let mut patched = apply_patch(&document, operations, &USER_RESOURCE)?;
    let schemas: Vec<Value> = std::iter::once(urn::CORE_USER)
        .chain(USER_RESOURCE.extensions.iter().copied())
        .map(Value::from)
        .collect();
    patched.insert("schemas".into(), Value::Array(schemas));
    let mut input = user_input_from_body(&Value::Object(patched))?;
    if let Some(roster) = &mut input.roster {
        // The patched document is the whole truth: no `apps` left means none.
        roster.apps.get_or_insert_with(Vec::new);
    }
    Ok(input)
}

/// The full JSON representation of a user.
pub fn render_user(user: User, base: &BaseUrl) -> Value {
    let mut out = Map::new();
    let mut schemas = vec![Value::from(urn::CORE_USER)];
    if user.attributes.contains_key(urn::ENTERPRISE_USER) {
        schemas.push(urn::ENTERPRISE_USER.into());
    }
    schemas.push(urn::ROSTER_USER.into());
    out.insert("schemas".into(), Value::Array(schemas));
    let meta = json!({
        "resourceType": "User",
        "created": format_time(user.created),
        "lastModified": format_time(user.last_modified),
        "location": base.resource(USER_RESOURCE.endpoint, &user.id),
        "version": etag(user.version),
    });
    out.insert("id".into(), Value::from(user.id));
    out.extend(user.attributes);
    if !user.groups.is_empty() {
        let groups = user
            .groups
            .into_iter()
            .map(|group| {
                let mut entry = Map::new();
                let reference = base.resource("/Groups", &group.group_id);
                entry.insert("value".into(), group.group_id.into());
                entry.insert("$ref".into(), reference.into());
                entry.insert(
                    "type".into(),
                    if group.direct { "direct" } else { "indirect" }.into(),
                );
                if let Some(display) = group.display {
                    entry.insert("display".into(), display.into());
                }
                Value::Object(entry)
            })
            .collect();
        out.insert("groups".into(), Value::Array(groups));
    }
    let mut roster = Map::new();
    roster.insert("status".into(), user.status.as_str().into());
    if let Some(custom_data) = user.custom_data {
        roster.insert("customData".into(), custom_data);
    }
    if let Some(birthday) = user.birthday {
        roster.insert(
            "birthday".into(),
            birthday.format("%Y-%m-%d").to_string().into(),
        );
    }
    if let Some(last_sign_in) = user.last_sign_in {
        roster.insert("lastSignIn".into(), format_time(last_sign_in).into());
    }
    if !user.social_accounts.is_empty() {
        let accounts = user
            .social_accounts
            .into_iter()
            .map(|account| {
                let mut entry = Map::new();
                entry.insert("provider".into(), account.provider.into());
                entry.insert("subject".into(), account.subject.into());
                if let Some(email) = account.email {
                    entry.insert("email".into(), email.into());
                }
                entry.insert("linkedAt".into(), format_time(account.linked_at).into());
                Value::Object(entry)
            })
            .collect();
        roster.insert("socialAccounts".into(), Value::Array(accounts));
    }
    if !user.apps.is_empty() {
        let apps = user
            .apps
            .iter()
            .map(|app| {
                let mut entry = app_entry(app);
                entry.insert("display".into(), app.app_name.as_str().into());
                entry.insert("assignedAt".into(), format_time(app.assigned_at).into());
                if let Some(last) = app.last_sign_in {
                    entry.insert("lastSignIn".into(), format_time(last).into());
                }
                Value::Object(entry)
            })
            .collect();
        roster.insert("apps".into(), Value::Array(apps));
    }
    out.insert(urn::ROSTER_USER.into(), Value::Object(roster));
    out.insert("meta".into(), meta);
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_taken_out_of_the_attributes() {
        let input = user_input_from_body(&json!({"userName": "a", "password": "s3cret!"})).unwrap();
        assert_eq!(input.password.as_deref(), Some("s3cret!"));
        assert!(!input.attributes.contains_key("password"));
    }

    #[test]
    fn roster_extension_is_none_unless_named() {
        let input = user_input_from_body(&json!({"userName": "a"})).unwrap();
        assert!(input.roster.is_none());
        let input = user_input_from_body(&json!({
            "schemas": [urn::CORE_USER, urn::ROSTER_USER], "userName": "a"
        }))
        .unwrap();
        assert_eq!(input.roster, Some(RosterUserInput::default()));
    }

    #[test]
    fn birthday_must_be_a_date() {
        let err = user_input_from_body(
            &json!({"userName": "a", urn::ROSTER_USER: {"birthday": "31/01/1990"}}),
        )
        .unwrap_err();
        assert!(err.detail.contains("YYYY-MM-DD"));
        let input = user_input_from_body(
            &json!({"userName": "a", urn::ROSTER_USER: {"birthday": "1990-01-31"}}),
        )
        .unwrap();
        assert_eq!(
            input.roster.unwrap().birthday,
            NaiveDate::from_ymd_opt(1990, 1, 31)
        );
    }
}
