//! The users table and its multi-valued attribute rows.
//!
//! A user's SCIM attributes (core and enterprise) are kept as one JSON document, the
//! source of truth for reads. Every attribute a filter or sort can name is also
//! written, case-folded where the schema says case-insensitive, into a look-up
//! column (`users.*_ci`) or a `user_values` row; those exist only for SQL to search.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::Value;

use super::schema::{user_values, users};
use super::{Conn, StoreError};
use crate::casefold::fold;
use crate::scim::urn::ENTERPRISE_USER;
use crate::with_conn;

/// A user as read back: the attribute document plus the columns Roster owns.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub tenant_id: String,
    pub attributes: String,
    pub status: String,
    pub custom_data: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub last_sign_in: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub last_modified: NaiveDateTime,
    pub version: i64,
}

/// Where a look-up column's value sits in the attribute document.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSource {
    /// `None` for the core schema, else the extension URN the attribute lives under.
    pub schema: Option<&'static str>,
    pub attribute: &'static str,
    pub sub_attribute: Option<&'static str>,
    /// Case-folded before storing (the attribute is not `caseExact`).
    pub folded: bool,
}

macro_rules! user_lookup_columns {
    ($( $column:ident => ($schema:expr, $attr:literal, $sub:expr, $folded:literal) ),* $(,)?) => {
        /// The look-up columns of `users`, derived from the attribute document.
        #[derive(Debug, Clone, Default, AsChangeset, Insertable)]
        #[diesel(table_name = users, treat_none_as_null = true)]
        pub struct UserLookupColumns {
            pub active: bool,
            pub user_name_ci: String,
            $( pub $column: Option<String>, )*
        }

        /// Every text look-up column of `users`, with where its value comes from.
        pub const USER_LOOKUP_COLUMNS: &[(&str, ColumnSource)] = &[
            ("user_name_ci", ColumnSource {
                schema: None, attribute: "userName", sub_attribute: None, folded: true,
            }),
            $( (stringify!($column), ColumnSource {
                schema: $schema, attribute: $attr, sub_attribute: $sub, folded: $folded,
            }), )*
        ];

        impl UserLookupColumns {
            /// Derives the look-up columns from a user's attribute document.
            pub fn from_attributes(doc: &Value) -> Self {
                UserLookupColumns {
                    active: doc.get("active").and_then(Value::as_bool).unwrap_or(true),
                    user_name_ci: doc.get("userName").and_then(Value::as_str).map(fold).unwrap_or_default(),
                    $( $column: lookup_text(doc, &ColumnSource {
                        schema: $schema, attribute: $attr, sub_attribute: $sub, folded: $folded,
                    }), )*
                }
            }
        }
    };
}

user_lookup_columns! {
    external_id => (None, "externalId", None, false),
    display_name_ci => (None, "displayName", None, true),
    nick_name_ci => (None, "nickName", None, true),
    profile_url_ci => (None, "profileUrl", None, true),
    title_ci => (None, "title", None, true),
    user_type_ci => (None, "userType", None, true),
    preferred_language_ci => (None, "preferredLanguage", None, true),
    locale_ci => (None, "locale", None, true),
    timezone_ci => (None, "timezone", None, true),
    name_formatted_ci => (None, "name", Some("formatted"), true),
    family_name_ci => (None, "name", Some("familyName"), true),
    given_name_ci => (None, "name", Some("givenName"), true),
    middle_name_ci => (None, "name", Some("middleName"), true),
    honorific_prefix_ci => (None, "name", Some("honorificPrefix"), true),
    honorific_suffix_ci => (None, "name", Some("honorificSuffix"), true),
    employee_number_ci => (Some(ENTERPRISE_USER), "employeeNumber", None, true),
    cost_center_ci => (Some(ENTERPRISE_USER), "costCenter", None, true),
    organization_ci => (Some(ENTERPRISE_USER), "organization", None, true),
    division_ci => (Some(ENTERPRISE_USER), "division", None, true),
    department_ci => (Some(ENTERPRISE_USER), "department", None, true),
    manager_value_ci => (Some(ENTERPRISE_USER), "manager", Some("value"), true),
    manager_display_name_ci => (Some(ENTERPRISE_USER), "manager", Some("displayName"), true),
}

fn lookup_text(doc: &Value, source: &ColumnSource) -> Option<String> {
    let container = match source.schema {
        Some(urn) => doc.get(urn)?,
        None => doc,
    };
    let mut value = container.get(source.attribute)?;
    if let Some(sub) = source.sub_attribute {
        value = value.get(sub)?;
    }
    let text = value.as_str()?;
    Some(if source.folded {
        fold(text)
    } else {
        text.to_owned()
    })
}

/// The multi-valued attributes stored as `user_values` rows, and whether their
/// `value` sub-attribute is case-exact.
pub const MULTI_VALUED_ATTRIBUTES: &[(&str, bool)] = &[
    ("emails", false),
    ("phoneNumbers", false),
    ("ims", false),
    ("photos", false),
    ("addresses", false),
    ("entitlements", false),
    ("roles", false),
    ("x509Certificates", true),
];

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = user_values)]
pub struct UserValueRow {
    pub user_id: String,
    pub tenant_id: String,
    pub attribute: String,
    pub position: i32,
    pub value_ci: Option<String>,
    pub value_exact: Option<String>,
    pub display_ci: Option<String>,
    pub type_ci: Option<String>,
    pub is_primary: bool,
    pub formatted_ci: Option<String>,
    pub street_address_ci: Option<String>,
    pub locality_ci: Option<String>,
    pub region_ci: Option<String>,
    pub postal_code_ci: Option<String>,
    pub country_ci: Option<String>,
}

/// Derives the `user_values` rows of a user's attribute document.
pub fn value_rows(tenant_id: &str, user_id: &str, doc: &Value) -> Vec<UserValueRow> {
    let folded = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(fold);
    let mut rows = Vec::new();
    for (attribute, case_exact) in MULTI_VALUED_ATTRIBUTES {
        let Some(values) = doc.get(*attribute).and_then(Value::as_array) else {
            continue;
        };
        for (position, element) in values.iter().enumerate() {
            let raw_value = element.get("value").and_then(Value::as_str);
            rows.push(UserValueRow {
                user_id: user_id.to_owned(),
                tenant_id: tenant_id.to_owned(),
                attribute: (*attribute).to_owned(),
                position: i32::try_from(position).unwrap_or(i32::MAX),
                value_ci: if *case_exact {
                    None
                } else {
                    raw_value.map(fold)
                },
                value_exact: if *case_exact {
                    raw_value.map(str::to_owned)
                } else {
                    None
                },
                display_ci: folded(element, "display"),
                type_ci: folded(element, "type"),
                is_primary: element
                    .get("primary")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                formatted_ci: folded(element, "formatted"),
                street_address_ci: folded(element, "streetAddress"),
                locality_ci: folded(element, "locality"),
                region_ci: folded(element, "region"),
                postal_code_ci: folded(element, "postalCode"),
                country_ci: folded(element, "country"),
            });
        }
    }
    rows
}

/// Everything needed to insert a user.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUserRow {
    pub id: String,
    pub tenant_id: String,
    pub attributes: String,
    pub password_hash: Option<String>,
    pub status: String,
    pub custom_data: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub created_at: NaiveDateTime,
    pub last_modified: NaiveDateTime,
    pub version: i64,
    #[diesel(embed)]
    pub lookup: UserLookupColumns,
}

/// The columns a replace or modify writes.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
pub struct UserChanges {
    pub attributes: String,
    pub status: String,
    pub custom_data: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub last_modified: NaiveDateTime,
    pub version: i64,
    #[diesel(embed)]
    pub lookup: UserLookupColumns,
}

pub fn insert_user(
    conn: &mut Conn,
    row: &NewUserRow,
    values: &[UserValueRow],
) -> Result<(), StoreError> {
    with_conn!(conn, c => {
        diesel::insert_into(users::table).values(row).execute(c)?;
        if !values.is_empty() {
            diesel::insert_into(user_values::table).values(values).execute(c)?;
        }
        Ok(())
    })
}

/// Writes `changes` if the stored version is still `expected_version`; false when
/// another writer got there first (or the user is gone).
pub fn update_user(
    conn: &mut Conn,
    tenant_id: &str,
    id: &str,
    expected_version: i64,
    changes: &UserChanges,
    values: &[UserValueRow],
) -> Result<bool, StoreError> {
    with_conn!(conn, c => {
        let updated = diesel::update(
            users::table
                .filter(users::tenant_id.eq(tenant_id))
                .filter(users::id.eq(id))
                .filter(users::version.eq(expected_version)),
        )
        .set(changes)
        .execute(c)?;
        if updated == 0 {
            return Ok(false);
        }
        diesel::delete(user_values::table.filter(user_values::user_id.eq(id))).execute(c)?;
        if !values.is_empty() {
            diesel::insert_into(user_values::table).values(values).execute(c)?;
        }
        Ok(true)
    })
}

/// Sets or clears the password hash of a user.
pub fn set_password_hash(
    conn: &mut Conn,
    tenant_id: &str,
    id: &str,
    hash: Option<&str>,
) -> Result<(), StoreError> {
    with_conn!(conn, c => diesel::update(
        users::table.filter(users::tenant_id.eq(tenant_id)).filter(users::id.eq(id)),
    )
    .set(users::password_hash.eq(hash))
    .execute(c))?;
    Ok(())
}

pub fn delete_user(conn: &mut Conn, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
    let deleted = with_conn!(conn, c => diesel::delete(
        users::table.filter(users::tenant_id.eq(tenant_id)).filter(users::id.eq(id)),
    )
    .execute(c))?;
    Ok(deleted > 0)
}

pub fn find_user(
    conn: &mut Conn,
    tenant_id: &str,
    id: &str,
) -> Result<Option<UserRow>, StoreError> {
    Ok(with_conn!(conn, c => users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::id.eq(id))
        .select(UserRow::as_select())
        .first(c)
        .optional())?)
}

/// One page of a tenant's users in creation order.
pub fn list_users(
    conn: &mut Conn,
    tenant_id: &str,
    offset: i64,
    limit: i64,
) -> Result<Vec<UserRow>, StoreError> {
    Ok(with_conn!(conn, c => users::table
        .filter(users::tenant_id.eq(tenant_id))
        .order(users::id.asc())
        .offset(offset)
        .limit(limit)
        .select(UserRow::as_select())
        .load(c))?)
}

pub fn count_users(conn: &mut Conn, tenant_id: &str) -> Result<i64, StoreError> {
    Ok(with_conn!(conn, c => users::table
        .filter(users::tenant_id.eq(tenant_id))
        .count()
        .get_result(c))?)
}
