//! The SCIM User resource: request bodies into domain input, domain users into JSON.

use chrono::NaiveDate;
use serde::Serialize;
use serde::ser::{Error as _, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::error::ScimError;
use super::list::ListResponse;
use super::patch::{PatchOperation, apply_patch};
use super::projection::Projection;
use super::validate::normalize_resource;
use super::{BaseUrl, etag, format_time};
use crate::domain::assignments::{AppAssignment, AppAssignmentInput};
use crate::domain::users::{RosterUserInput, User, UserInput};
use crate::schema::USER_RESOURCE;
use crate::urn;

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

/// The writable fields of an assignment, as an `apps` entry shows them: what PATCH
/// starts from, and the first part of a rendered entry.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WritableApp<'a> {
    value: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_account_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_app_data: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    consents: Option<&'a Value>,
}

impl<'a> From<&'a AppAssignment> for WritableApp<'a> {
    fn from(app: &'a AppAssignment) -> Self {
        WritableApp {
            value: &app.app_id,
            external_account_id: app.external_account_id.as_deref(),
            custom_app_data: app.custom_app_data.as_ref(),
            consents: app.consents.as_ref(),
        }
    }
}

/// `birthday` as the Roster extension writes it.
fn format_birthday(birthday: NaiveDate) -> String {
    birthday.format("%Y-%m-%d").to_string()
}

/// Applies PATCH operations to a user (RFC 7644 §3.5.2) and returns the input that
/// replaces it: the patched document validated like any PUT body.
pub fn patch_user(user: &User, operations: &[PatchOperation]) -> Result<UserInput, ScimError> {
    let mut document = user.attributes.to_map().map_err(corrupt_user)?;
    let mut roster = Map::new();
    if let Some(custom_data) = &user.custom_data {
        let custom_data = serde_json::from_str(custom_data.get()).map_err(corrupt_user)?;
        roster.insert("customData".into(), custom_data);
    }
    if let Some(birthday) = user.birthday {
        roster.insert("birthday".into(), format_birthday(birthday).into());
    }
    if !user.apps.is_empty() {
        let apps = user
            .apps
            .iter()
            .map(|app| serde_json::to_value(WritableApp::from(app)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(corrupt_user)?;
        roster.insert("apps".into(), Value::Array(apps));
    }
    document.insert(urn::ROSTER_USER.into(), Value::Object(roster));
    let mut patched = apply_patch(&document, operations, &USER_RESOURCE, &user.id)?;
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

/// The full JSON representation of a user, written as text: the stored attribute
/// members are copied as they are, and only Roster's own parts go through serde.
pub struct UserRepresentation<'a> {
    user: &'a User,
    base: &'a BaseUrl,
}

impl<'a> UserRepresentation<'a> {
    pub fn new(user: &'a User, base: &'a BaseUrl) -> Self {
        UserRepresentation { user, base }
    }

    /// The `meta.version` of the representation, for the `ETag` header.
    pub fn etag(&self) -> String {
        etag(self.user.version)
    }

    /// The `meta.location` of the representation.
    pub fn location(&self) -> String {
        self.base.resource(USER_RESOURCE.endpoint, &self.user.id)
    }

    /// Appends the representation's JSON text to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        let user = self.user;
        let members = user.attributes.members_text().ok_or_else(|| {
            serde_json::Error::custom(format!(
                "stored attributes of user {} are not a JSON object",
                user.id
            ))
        })?;
        let schemas: &[&str] = if user.attributes.has_enterprise() {
            &[urn::CORE_USER, urn::ENTERPRISE_USER, urn::ROSTER_USER]
        } else {
            &[urn::CORE_USER, urn::ROSTER_USER]
        };
        out.extend_from_slice(b"{\"schemas\":[");
        for (i, schema) in schemas.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_plain_str(out, schema);
        }
        out.extend_from_slice(b"],\"id\":");
        serde_json::to_writer(&mut *out, &user.id)?;
        if !members.is_empty() {
            out.push(b',');
            out.extend_from_slice(members.as_bytes());
        }
        if !user.groups.is_empty() {
            let groups: Vec<GroupEntry> = user
                .groups
                .iter()
                .map(|group| GroupEntry {
                    value: &group.group_id,
                    reference: self.base.resource("/Groups", &group.group_id),
                    kind: if group.direct { "direct" } else { "indirect" },
                    display: group.display.as_deref(),
                })
                .collect();
            out.extend_from_slice(b",\"groups\":");
            serde_json::to_writer(&mut *out, &groups)?;
        }
        write_member(out, urn::ROSTER_USER, &RosterFields(user))?;
        let meta = Meta {
            resource_type: "User",
            created: format_time(user.created),
            last_modified: format_time(user.last_modified),
            location: self.location(),
            version: self.etag(),
        };
        write_member(out, "meta", &meta)?;
        out.push(b'}');
        Ok(())
    }
}

/// Appends `,"key":value` to an object being written; `key` is one of Roster's
/// names, which need no escapes.
fn write_member<T: Serialize>(
    out: &mut Vec<u8>,
    key: &str,
    value: &T,
) -> Result<(), serde_json::Error> {
    out.push(b',');
    write_plain_str(out, key);
    out.push(b':');
    serde_json::to_writer(&mut *out, value)
}

/// Appends a string that needs no escapes (a URN or a member name of Roster's) as
/// a JSON string, without serde's check of every byte.
fn write_plain_str(out: &mut Vec<u8>, text: &str) {
    debug_assert!(!text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20));
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

#[derive(Serialize)]
struct GroupEntry<'a> {
    value: &'a str,
    #[serde(rename = "$ref")]
    reference: String,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    resource_type: &'static str,
    created: String,
    last_modified: String,
    location: String,
    version: String,
}

/// The Roster extension of a user: the fields Roster owns.
struct RosterFields<'a>(&'a User);

impl Serialize for RosterFields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let user = self.0;
        let mut out = serializer.serialize_map(None)?;
        out.serialize_entry("status", user.status.as_str())?;
        if let Some(custom_data) = &user.custom_data {
            out.serialize_entry("customData", custom_data)?;
        }
        if let Some(birthday) = user.birthday {
            out.serialize_entry("birthday", &format_birthday(birthday))?;
        }
        if let Some(last_sign_in) = user.last_sign_in {
            out.serialize_entry("lastSignIn", &format_time(last_sign_in))?;
        }
        if !user.social_accounts.is_empty() {
            let accounts: Vec<SocialEntry> = user
                .social_accounts
                .iter()
                .map(|account| SocialEntry {
                    provider: &account.provider,
                    subject: &account.subject,
                    email: account.email.as_deref(),
                    linked_at: format_time(account.linked_at),
                })
                .collect();
            out.serialize_entry("socialAccounts", &accounts)?;
        }
        if !user.apps.is_empty() {
            let apps: Vec<AppEntry> = user
                .apps
                .iter()
                .map(|app| AppEntry {
                    writable: WritableApp::from(app),
                    display: &app.app_name,
                    assigned_at: format_time(app.assigned_at),
                    last_sign_in: app.last_sign_in.map(format_time),
                })
                .collect();
            out.serialize_entry("apps", &apps)?;
        }
        out.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SocialEntry<'a> {
    provider: &'a str,
    subject: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    linked_at: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppEntry<'a> {
    #[serde(flatten)]
    writable: WritableApp<'a>,
    display: &'a str,
    assigned_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_sign_in: Option<String>,
}

/// The full representation of a user as a JSON value, for projection and for
/// documents that embed it.
pub fn render_user(user: &User, base: &BaseUrl) -> Result<Value, ScimError> {
    let mut text = Vec::with_capacity(4096);
    UserRepresentation::new(user, base)
        .write_json(&mut text)
        .and_then(|()| serde_json::from_slice(&text))
        .map_err(corrupt_user)
}

/// A user as a response shows it: whole, written straight from the stored text, or
/// projected by `attributes` / `excludedAttributes`.
pub enum UserBody<'a> {
    Full(UserRepresentation<'a>),
    Projected(Value),
}

impl UserBody<'_> {
    /// Appends the body's JSON text to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        match self {
            UserBody::Full(representation) => representation.write_json(out),
            UserBody::Projected(value) => serde_json::to_writer(out, value),
        }
    }
}

/// The body of `user` under `projection`.
pub fn user_body<'a>(
    user: &'a User,
    base: &'a BaseUrl,
    projection: &Projection,
) -> Result<UserBody<'a>, ScimError> {
    Ok(if projection.is_default() {
        UserBody::Full(UserRepresentation::new(user, base))
    } else {
        UserBody::Projected(projection.apply(render_user(user, base)?))
    })
}

/// One user's response body as JSON text; a stored user that cannot be written is
/// a server error.
pub fn user_json(body: &UserBody) -> Result<Vec<u8>, ScimError> {
    // A user is 1–3 KiB of JSON: one allocation, not a doubling from 1 KiB.
    let mut bytes = Vec::with_capacity(4096);
    body.write_json(&mut bytes).map_err(corrupt_user)?;
    Ok(bytes)
}

/// A ListResponse of users as JSON text.
pub fn user_list_json(response: &ListResponse<UserBody>) -> Result<Vec<u8>, ScimError> {
    let mut bytes = Vec::with_capacity(4096);
    response
        .write_json(&mut bytes, UserBody::write_json)
        .map_err(corrupt_user)?;
    Ok(bytes)
}

fn corrupt_user(err: serde_json::Error) -> ScimError {
    tracing::error!(error = %err, "a stored user cannot be rendered");
    ScimError::internal()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    fn at(text: &str) -> chrono::NaiveDateTime {
        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    /// A user with every part the representation shows.
    fn full_user() -> User {
        use crate::domain::assignments::SocialAccount;
        use crate::domain::attributes::AttributeDocument;
        use crate::domain::users::UserStatus;
        use crate::store::groups::GroupOfUser;
        let attributes = json!({
            "userName": "ann@example.com",
            "name": {"givenName": "Ann"},
            urn::ENTERPRISE_USER: {"department": "Legal"},
        });
        User {
            id: "u1".into(),
            attributes: AttributeDocument::from_map(attributes.as_object().cloned().unwrap()),
            status: UserStatus::Active,
            custom_data: Some(serde_json::value::to_raw_value(&json!({"plan": "gold"})).unwrap()),
            birthday: NaiveDate::from_ymd_opt(1990, 1, 31),
            last_sign_in: Some(at("2026-01-02 03:04:05")),
            created: at("2026-01-01 00:00:00"),
            last_modified: at("2026-01-02 00:00:00"),
            version: 3,
            apps: vec![AppAssignment {
                app_id: "a1".into(),
                app_name: "Payroll".into(),
                external_account_id: Some("x-1".into()),
                custom_app_data: None,
                consents: None,
                assigned_at: at("2026-01-01 00:00:00"),
                last_sign_in: None,
            }],
            social_accounts: vec![SocialAccount {
                provider: "google".into(),
                subject: "g-1".into(),
                email: None,
                linked_at: at("2026-01-01 00:00:00"),
            }],
            groups: vec![GroupOfUser {
                group_id: "g1".into(),
                display: Some("Staff".into()),
                direct: false,
            }],
        }
    }

    #[test]
    fn representation_shows_attributes_groups_roster_fields_and_meta() {
        let base = BaseUrl("https://h/scim/v2".into());
        let rendered = render_user(&full_user(), &base).unwrap();
        assert_eq!(
            rendered,
            json!({
                "schemas": [urn::CORE_USER, urn::ENTERPRISE_USER, urn::ROSTER_USER],
                "id": "u1",
                "userName": "ann@example.com",
                "name": {"givenName": "Ann"},
                urn::ENTERPRISE_USER: {"department": "Legal"},
                "groups": [{"value": "g1", "$ref": "https://h/scim/v2/Groups/g1", "type": "indirect", "display": "Staff"}],
                urn::ROSTER_USER: {
                    "status": "active",
                    "customData": {"plan": "gold"},
                    "birthday": "1990-01-31",
                    "lastSignIn": "2026-01-02T03:04:05.000Z",
                    "socialAccounts": [{"provider": "google", "subject": "g-1", "linkedAt": "2026-01-01T00:00:00.000Z"}],
                    "apps": [{"value": "a1", "externalAccountId": "x-1", "display": "Payroll", "assignedAt": "2026-01-01T00:00:00.000Z"}],
                },
                "meta": {
                    "resourceType": "User",
                    "created": "2026-01-01T00:00:00.000Z",
                    "lastModified": "2026-01-02T00:00:00.000Z",
                    "location": "https://h/scim/v2/Users/u1",
                    "version": "W/\"3\"",
                },
            })
        );
    }

    #[test]
    fn written_bytes_and_rendered_value_are_the_same_document() {
        let base = BaseUrl("https://h/scim/v2".into());
        let user = full_user();
        let bytes = user_json(&user_body(&user, &base, &Projection::Default).unwrap()).unwrap();
        let written: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(written, render_user(&user, &base).unwrap());
    }

    #[test]
    fn stored_attributes_that_are_not_an_object_are_a_server_error_in_every_projection() {
        let mut user = full_user();
        user.attributes = crate::domain::attributes::AttributeDocument::from_stored(
            r#"{"userName":"#.into(),
            true,
        );
        let base = BaseUrl("https://h/scim/v2".into());
        let only_id = Projection::from_params(&["id".to_owned()], &[], &USER_RESOURCE);
        for projection in [Projection::Default, only_id] {
            let written = user_body(&user, &base, &projection).and_then(|body| user_json(&body));
            assert_eq!(written.err().map(|e| e.status), Some(500));
        }
    }

    #[test]
    fn a_user_with_no_stored_attributes_is_still_one_json_object() {
        let mut user = full_user();
        user.attributes =
            crate::domain::attributes::AttributeDocument::from_stored("{}".into(), true);
        let bytes = user_json(
            &user_body(&user, &BaseUrl("https://h".into()), &Projection::Default).unwrap(),
        )
        .unwrap();
        let written: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(written["id"], "u1");
        assert_eq!(
            written["schemas"],
            json!([urn::CORE_USER, urn::ROSTER_USER])
        );
    }

    #[test]
    fn a_user_without_enterprise_attributes_does_not_name_the_extension() {
        let mut user = full_user();
        user.attributes = crate::domain::attributes::AttributeDocument::from_map(
            json!({"userName": "bo"}).as_object().cloned().unwrap(),
        );
        user.groups.clear();
        let rendered = render_user(&user, &BaseUrl("https://h".into())).unwrap();
        assert_eq!(
            rendered["schemas"],
            json!([urn::CORE_USER, urn::ROSTER_USER])
        );
        assert!(rendered.get("groups").is_none());
    }
}
