//! Re-folds the stored case-folded look-up columns when [`casefold::fold`] changes, so
//! that rows written by an earlier fold are found by filters folded the new way.
//!
//! Only text with non-ASCII characters can fold differently (ASCII folds to its lower
//! case under every version), so only those rows are read. The fold that wrote the
//! columns is recorded in `store_settings`; the step runs once, after the migrations.
//! Each row is written in a transaction of its own (a savepoint inside the caller's).
//! Two rows that the new fold makes equal (a userName stored composed and decomposed)
//! cannot both hold the unique key: the second keeps its old key, and a warning names
//! both, for an operator to rename one.
//!
//! [`casefold::fold`]: crate::casefold::fold

use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::Value;

use super::query::ResourceTable;
use super::schema::{groups, user_values, users};
use super::substring::index_row;
use super::users::{UserLookupColumns, VALUE_ROWS_PER_INSERT, value_rows};
use super::{Backend, Conn, StoreError};
use crate::casefold::{FOLD_VERSION, fold};
use crate::with_conn;

const SETTING: &str = "fold_version";

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    value: String,
}

#[derive(QueryableByName)]
struct StoredDocument {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    tenant_id: String,
    #[diesel(sql_type = Text)]
    attributes: String,
}

/// What a re-fold changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Refolded {
    pub users: usize,
    pub groups: usize,
    /// Rows left with their old key because another row already holds the new one.
    pub conflicts: usize,
}

/// Re-folds the look-up columns unless the current fold wrote them.
pub fn refold_if_needed(conn: &mut Conn) -> Result<Option<Refolded>, StoreError> {
    let recorded: Option<String> = with_conn!(conn, c => diesel::sql_query(format!(
        "SELECT value FROM store_settings WHERE name = '{SETTING}'"
    ))
    .load::<Setting>(c))?
    .pop()
    .map(|setting| setting.value);
    if recorded.as_deref() == Some(FOLD_VERSION) {
        return Ok(None);
    }
    let refolded = refold(conn)?;
    with_conn!(conn, c => diesel::sql_query(format!(
        "INSERT INTO store_settings (name, value) VALUES ('{SETTING}', '{FOLD_VERSION}') \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value"
    ))
    .execute(c))?;
    if refolded != Refolded::default() {
        tracing::info!(
            users = refolded.users,
            groups = refolded.groups,
            conflicts = refolded.conflicts,
            "re-folded the case-insensitive look-up columns"
        );
    }
    Ok(Some(refolded))
}

/// Re-folds every user and group whose attributes hold non-ASCII text.
pub fn refold(conn: &mut Conn) -> Result<Refolded, StoreError> {
    let mut refolded = Refolded::default();
    for user in non_ascii_documents(conn, "users")? {
        let Ok(doc) = serde_json::from_str::<Value>(&user.attributes) else {
            tracing::error!(user = %user.id, "stored attributes are corrupt; not re-folded");
            continue;
        };
        let lookup = UserLookupColumns::from_attributes(&doc);
        let values = value_rows(&user.tenant_id, &user.id, &doc);
        let written = in_savepoint(conn, |conn| {
            with_conn!(conn, c => {
                diesel::update(users::table.filter(users::id.eq(&user.id)))
                    .set(&lookup)
                    .execute(c)?;
                diesel::delete(user_values::table.filter(user_values::user_id.eq(&user.id)))
                    .execute(c)?;
                for chunk in values.chunks(VALUE_ROWS_PER_INSERT) {
                    diesel::insert_into(user_values::table).values(chunk).execute(c)?;
                }
                diesel::QueryResult::Ok(())
            })?;
            index_row(conn, ResourceTable::Users, &user.id)
        });
        match written {
            Ok(()) => refolded.users += 1,
            Err(StoreError::UniqueViolation(_)) => {
                refolded.conflicts += 1;
                tracing::warn!(
                    user = %user.id,
                    tenant = %user.tenant_id,
                    "another user of the tenant has this userName under the new fold; \
                     this one keeps its old look-up key until one of them is renamed"
                );
            }
            Err(err) => return Err(err),
        }
    }
    for group in non_ascii_documents(conn, "groups")? {
        let Ok(doc) = serde_json::from_str::<Value>(&group.attributes) else {
            tracing::error!(group = %group.id, "stored attributes are corrupt; not re-folded");
            continue;
        };
        let Some(name) = doc.get("displayName").and_then(Value::as_str) else {
            continue;
        };
        let folded = fold(name);
        let written = in_savepoint(conn, |conn| {
            with_conn!(conn, c => diesel::update(groups::table.filter(groups::id.eq(&group.id)))
                .set(groups::display_name_ci.eq(&folded))
                .execute(c))?;
            index_row(conn, ResourceTable::Groups, &group.id)
        });
        match written {
            Ok(()) => refolded.groups += 1,
            Err(StoreError::UniqueViolation(_)) => {
                refolded.conflicts += 1;
                tracing::warn!(
                    group = %group.id,
                    tenant = %group.tenant_id,
                    "another group of the tenant has this displayName under the new fold; \
                     this one keeps its old look-up key until one of them is renamed"
                );
            }
            Err(err) => return Err(err),
        }
    }
    Ok(refolded)
}

/// The rows of `table` whose attribute text is not pure ASCII (more bytes than
/// characters).
fn non_ascii_documents(conn: &mut Conn, table: &str) -> Result<Vec<StoredDocument>, StoreError> {
    let differs = match conn.backend() {
        Backend::Sqlite => "length(CAST(attributes AS BLOB)) <> length(attributes)",
        Backend::Postgres => "octet_length(attributes) <> char_length(attributes)",
    };
    let query = format!("SELECT id, tenant_id, attributes FROM {table} WHERE {differs}");
    Ok(with_conn!(conn, c => diesel::sql_query(&query).load::<StoredDocument>(c))?)
}

/// Runs `f` in a transaction of its own (a savepoint inside the caller's).
fn in_savepoint(
    conn: &mut Conn,
    f: impl FnOnce(&mut Conn) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    match conn {
        Conn::Sqlite(c) => c.transaction(|c| f(&mut Conn::Sqlite(c))),
        Conn::Postgres(c) => c.transaction(|c| f(&mut Conn::Postgres(c))),
    }
}
