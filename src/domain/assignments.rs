//! Application assignments: which users an application's token sees, and the data
//! each application keeps on its users (external account id, custom app data,
//! consents), plus linked social accounts.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde_json::{Value, json};

use super::DomainError;
use crate::store::assignments::{self as repo, AssignmentRow};
use crate::store::tenants::find_application;
use crate::store::timestamp::parse_stored_timestamp;
use crate::store::users::StoredExtras;
use crate::store::{Conn, Scope};

/// The largest `customAppData` object, as bytes of compact JSON (500 KB).
pub const MAX_CUSTOM_APP_DATA_BYTES: usize = 512_000;

/// A user's assignment to an application, with that application's data.
#[derive(Debug, Clone, PartialEq)]
pub struct AppAssignment {
    pub app_id: String,
    pub app_name: String,
    pub external_account_id: Option<String>,
    pub custom_app_data: Option<Value>,
    pub consents: Option<Value>,
    pub assigned_at: NaiveDateTime,
    pub last_sign_in: Option<NaiveDateTime>,
}

/// A social identity provider account linked to a user.
#[derive(Debug, Clone, PartialEq)]
pub struct SocialAccount {
    pub provider: String,
    pub subject: String,
    pub email: Option<String>,
    pub linked_at: NaiveDateTime,
}

/// The writable part of an assignment entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AppAssignmentInput {
    pub app_id: String,
    pub external_account_id: Option<String>,
    pub custom_app_data: Option<Value>,
    pub consents: Option<Value>,
}

/// Per user id: the assignments the caller may see, and the linked social accounts.
pub type UserExtras = (
    HashMap<String, Vec<AppAssignment>>,
    HashMap<String, Vec<SocialAccount>>,
);

/// The assignments (as the caller may see them) and social accounts of these users.
pub fn extras_of(
    conn: &mut Conn,
    scope: &Scope,
    user_ids: &[String],
) -> Result<UserExtras, DomainError> {
    let mut apps: HashMap<String, Vec<AppAssignment>> = HashMap::new();
    for (row, app_name) in repo::assignments_of(conn, scope, user_ids)? {
        apps.entry(row.user_id.clone())
            .or_default()
            .push(assignment_from_row(row, app_name)?);
    }
    let mut socials: HashMap<String, Vec<SocialAccount>> = HashMap::new();
    for row in repo::social_accounts_of(conn, user_ids)? {
        socials
            .entry(row.user_id.clone())
            .or_default()
            .push(SocialAccount {
                provider: row.provider,
                subject: row.subject,
                email: row.email,
                linked_at: row.linked_at,
            });
    }
    Ok((apps, socials))
}

fn assignment_from_row(row: AssignmentRow, app_name: String) -> Result<AppAssignment, DomainError> {
    Ok(AppAssignment {
        custom_app_data: stored_app_data(row.custom_app_data.as_deref(), &row.user_id)?,
        consents: stored_app_data(row.consents.as_deref(), &row.user_id)?,
        app_id: row.app_id,
        app_name,
        external_account_id: row.external_account_id,
        assigned_at: row.assigned_at,
        last_sign_in: row.last_sign_in,
    })
}

fn stored_app_data(text: Option<&str>, user_id: &str) -> Result<Option<Value>, DomainError> {
    text.map(serde_json::from_str)
        .transpose()
        .map_err(|_| corrupt(user_id, "app data"))
}

fn corrupt(user_id: &str, what: &str) -> DomainError {
    DomainError::Corrupt(format!("{what} of user {user_id}"))
}

/// An assignment as [`StoredExtras::apps`] holds it.
type StoredAssignment = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
);

/// A social account as [`StoredExtras::socials`] holds it.
type StoredSocialAccount = (String, String, Option<String>, String);

/// A user's assignments and social accounts from the [`StoredExtras`] read beside
/// the user's row.
pub fn extras_from_stored(
    user_id: &str,
    extras: &StoredExtras,
) -> Result<(Vec<AppAssignment>, Vec<SocialAccount>), DomainError> {
    // A JSON aggregate renders a timestamp as each backend writes it (see
    // `parse_stored_timestamp`).
    let time =
        |text: &str| parse_stored_timestamp(text).ok_or_else(|| corrupt(user_id, "a timestamp"));
    let apps: Vec<StoredAssignment> =
        serde_json::from_str(&extras.apps).map_err(|_| corrupt(user_id, "assignments"))?;
    let mut apps = apps
        .into_iter()
        .map(
            |(app_id, app_name, external_account_id, data, consents, assigned_at, last_sign_in)| {
                Ok(AppAssignment {
                    custom_app_data: stored_app_data(data.as_deref(), user_id)?,
                    consents: stored_app_data(consents.as_deref(), user_id)?,
                    app_id,
                    app_name,
                    external_account_id,
                    assigned_at: time(&assigned_at)?,
                    last_sign_in: last_sign_in.as_deref().map(time).transpose()?,
                })
            },
        )
        .collect::<Result<Vec<_>, DomainError>>()?;
    apps.sort_by(|a, b| (a.assigned_at, &a.app_id).cmp(&(b.assigned_at, &b.app_id)));
    let socials: Vec<StoredSocialAccount> =
        serde_json::from_str(&extras.socials).map_err(|_| corrupt(user_id, "social accounts"))?;
    let mut socials = socials
        .into_iter()
        .map(|(provider, subject, email, linked_at)| {
            Ok(SocialAccount {
                provider,
                subject,
                email,
                linked_at: time(&linked_at)?,
            })
        })
        .collect::<Result<Vec<_>, DomainError>>()?;
    socials.sort_by_key(|social| social.linked_at);
    Ok((apps, socials))
}

/// Assigns the user to the application (no change when already assigned), and
/// records it.
pub fn assign(
    conn: &mut Conn,
    scope: &Scope,
    user_id: &str,
    app_id: &str,
    now: NaiveDateTime,
) -> Result<bool, DomainError> {
    if repo::find_assignment(conn, user_id, app_id)?.is_some() {
        return Ok(false);
    }
    repo::upsert_assignment(
        conn,
        &AssignmentRow {
            user_id: user_id.to_owned(),
            app_id: app_id.to_owned(),
            tenant_id: scope.tenant_id.to_string(),
            external_account_id: None,
            custom_app_data: None,
            consents: None,
            assigned_at: now,
            last_sign_in: None,
        },
    )?;
    record_assignment(conn, scope, "user.assigned", user_id, app_id)?;
    Ok(true)
}

/// Makes the user's assignments what `inputs` says. The Management Application
/// writes the whole list (assigning and unassigning); any other application writes
/// only its own entry, and leaving it out clears its data, not the assignment.
/// Returns whether anything changed.
pub fn apply_app_inputs(
    conn: &mut Conn,
    scope: &Scope,
    user_id: &str,
    inputs: &[AppAssignmentInput],
    now: NaiveDateTime,
) -> Result<bool, DomainError> {
    for input in inputs {
        if !scope.is_management() && input.app_id != *scope.app_id {
            return Err(DomainError::InvalidValue(
                "an application's token can write only its own entry of 'apps'".into(),
            ));
        }
        if find_application(conn, &scope.tenant_id, &input.app_id)?.is_none() {
            return Err(DomainError::InvalidValue(format!(
                "'{}' is not an application of this tenant",
                input.app_id
            )));
        }
    }
    let current: Vec<AssignmentRow> = repo::assignments_of(conn, scope, &[user_id.to_owned()])?
        .into_iter()
        .map(|(row, _)| row)
        .collect();
    let mut changed = false;
    for input in inputs {
        let existing = current.iter().find(|row| row.app_id == input.app_id);
        let row = AssignmentRow {
            user_id: user_id.to_owned(),
            app_id: input.app_id.clone(),
            tenant_id: scope.tenant_id.to_string(),
            external_account_id: input.external_account_id.clone(),
            custom_app_data: serialize_limited(input.custom_app_data.as_ref(), "customAppData")?,
            consents: input.consents.as_ref().map(Value::to_string),
            assigned_at: existing.map_or(now, |e| e.assigned_at),
            last_sign_in: existing.and_then(|e| e.last_sign_in),
        };
        if existing != Some(&row) {
            repo::upsert_assignment(conn, &row)?;
            if existing.is_none() {
                record_assignment(conn, scope, "user.assigned", user_id, &input.app_id)?;
            }
            changed = true;
        }
    }
    for row in &current {
        if inputs.iter().any(|input| input.app_id == row.app_id) {
            continue;
        }
        if scope.is_management() {
            repo::delete_assignment(conn, user_id, &row.app_id)?;
            record_assignment(conn, scope, "user.unassigned", user_id, &row.app_id)?;
            changed = true;
        } else if row.external_account_id.is_some()
            || row.custom_app_data.is_some()
            || row.consents.is_some()
        {
            repo::upsert_assignment(
                conn,
                &AssignmentRow {
                    external_account_id: None,
                    custom_app_data: None,
                    consents: None,
                    ..row.clone()
                },
            )?;
            changed = true;
        }
    }
    Ok(changed)
}

/// The event of an assignment added or removed: about the user, naming the
/// application.
fn record_assignment(
    conn: &mut Conn,
    scope: &Scope,
    action: &str,
    user_id: &str,
    app_id: &str,
) -> Result<(), DomainError> {
    super::record_event(conn, scope, "User", action, user_id, json!({"app": app_id}))
}

/// Deepest nesting of objects and arrays kept in free-form data (customData,
/// customAppData): well inside the 128 levels JSON parsers (serde_json's included)
/// accept, so a stored document always reads back, inside a response too.
pub const MAX_FREE_FORM_DEPTH: usize = 64;

/// How deeply `value` nests objects and arrays (a scalar is 0), without recursion.
fn nesting_depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 1usize)];
    while let Some((node, depth)) = pending.pop() {
        match node {
            Value::Object(fields) => pending.extend(fields.values().map(|v| (v, depth + 1))),
            Value::Array(items) => pending.extend(items.iter().map(|v| (v, depth + 1))),
            _ => continue,
        }
        deepest = deepest.max(depth);
    }
    deepest
}

/// Compact JSON of a free-form object, refused over 500 KB or [`MAX_FREE_FORM_DEPTH`].
pub fn serialize_limited(value: Option<&Value>, name: &str) -> Result<Option<String>, DomainError> {
    let Some(value) = value else {
        return Ok(None);
    };
    if !value.is_object() {
        return Err(DomainError::InvalidValue(format!(
            "{name} must be a JSON object"
        )));
    }
    if nesting_depth(value) > MAX_FREE_FORM_DEPTH {
        return Err(DomainError::InvalidValue(format!(
            "{name} nests deeper than {MAX_FREE_FORM_DEPTH} levels of objects and arrays"
        )));
    }
    let text = value.to_string();
    if text.len() > MAX_CUSTOM_APP_DATA_BYTES {
        return Err(DomainError::InvalidValue(format!(
            "{name} is {} bytes of JSON; the limit is {MAX_CUSTOM_APP_DATA_BYTES} bytes (500 KB)",
            text.len()
        )));
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_form_data_deeper_than_the_limit_is_refused() {
        let nest = |depth: usize| {
            let mut value = serde_json::json!(1);
            for level in 0..depth {
                value = if level % 2 == 0 {
                    serde_json::json!({ "k": value })
                } else {
                    serde_json::json!([value])
                };
            }
            value
        };
        assert_eq!(nesting_depth(&nest(0)), 0);
        assert_eq!(nesting_depth(&nest(7)), 7);
        let within = serde_json::json!({ "a": nest(MAX_FREE_FORM_DEPTH - 1) });
        assert!(serialize_limited(Some(&within), "customData").is_ok());
        let deeper = serde_json::json!({ "a": nest(MAX_FREE_FORM_DEPTH) });
        let err = serialize_limited(Some(&deeper), "customData").unwrap_err();
        assert!(err.to_string().contains("nests deeper"), "{err}");
    }

    fn stored(apps: &str, socials: &str) -> StoredExtras {
        StoredExtras {
            apps: apps.into(),
            socials: socials.into(),
            grouped: false,
        }
    }

    #[test]
    fn stored_times_read_in_both_backends_formats() {
        let sqlite = parse_stored_timestamp("2026-11-29 03:21:35.601").unwrap();
        let postgres = parse_stored_timestamp("2026-11-29T03:21:35.601").unwrap();
        assert_eq!(sqlite, postgres);
        assert_eq!(sqlite.and_utc().timestamp_subsec_millis(), 601);
        assert!(parse_stored_timestamp("2026-11-29 03:21:35").is_some());
        assert!(parse_stored_timestamp("yesterday").is_none());
    }

    #[test]
    fn stored_extras_come_back_oldest_first_with_their_app_data() {
        let apps = r#"[["b","B",null,null,null,"2026-01-02 00:00:00",null],
            ["a","A","ext-1","{\"tier\":2}","{\"news\":true}","2026-01-01 00:00:00","2026-01-03T10:00:00"]]"#;
        let socials = r#"[["github","2",null,"2026-02-02 00:00:00"],["google","1","g@x.test","2026-02-01 00:00:00"]]"#;
        let (apps, socials) = extras_from_stored("u", &stored(apps, socials)).unwrap();
        assert_eq!(
            apps.iter().map(|a| a.app_id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(
            apps[0].custom_app_data,
            Some(serde_json::json!({"tier": 2}))
        );
        assert_eq!(apps[0].consents, Some(serde_json::json!({"news": true})));
        assert_eq!(apps[0].external_account_id.as_deref(), Some("ext-1"));
        assert!(apps[0].last_sign_in.is_some());
        assert_eq!(apps[1].last_sign_in, None);
        assert_eq!(socials[0].provider, "google");
        assert_eq!(socials[0].email.as_deref(), Some("g@x.test"));
    }

    #[test]
    fn broken_stored_extras_are_a_store_error_not_a_panic() {
        for (apps, socials) in [
            ("not json", "[]"),
            ("[]", "[[1, 2]]"),
            (
                r#"[["a","A",null,"{broken",null,"2026-01-01 00:00:00",null]]"#,
                "[]",
            ),
            (r#"[["a","A",null,null,null,"never",null]]"#, "[]"),
        ] {
            let outcome = extras_from_stored("u", &stored(apps, socials));
            assert!(
                matches!(outcome, Err(DomainError::Corrupt(_))),
                "{apps} / {socials}: {outcome:?}"
            );
        }
    }
}
