//! The map from SCIM attributes to the columns that index them: `users`' look-up
//! columns and the multi-valued attributes kept as `user_values` rows. Writes fill
//! them from a user's document; the query builder reads them to pick a column.

use diesel::prelude::*;
use serde_json::Value;

use super::schema::users;
use crate::casefold::fold;
use crate::urn::ENTERPRISE_USER;

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

        /// Every text look-up column of `users`, as SQL names it (`u.column`), with
        /// where its value comes from.
        pub const USER_LOOKUP_COLUMNS: &[(&str, ColumnSource)] = &[
            ("u.user_name_ci", ColumnSource {
                schema: None, attribute: "userName", sub_attribute: None, folded: true,
            }),
            $( (concat!("u.", stringify!($column)), ColumnSource {
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
