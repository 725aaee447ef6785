//! The users table and its multi-valued attribute rows.
//!
//! A user's SCIM attributes (core and enterprise) are kept as one JSON document, the
//! source of truth for reads. Every attribute a filter or sort can name is also
//! written, case-folded where the schema says case-insensitive, into a look-up
//! column (`users.*_ci`) or a `user_values` row; those exist only for SQL to search.

use std::sync::LazyLock;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use serde_json::Value;

use super::columns::MULTI_VALUED_ATTRIBUTES;
pub use super::columns::UserLookupColumns;
use super::dynamic::{StatementShape, load_dynamic, load_dynamic_columns, load_fixed};
use super::schema::{tenants, user_values, users};
use super::scope::{Scope, and_searched_user_visible, and_user_visible};
use super::sql::{SqlBuilder, SqlParam};
use super::substring::{
    IndexedTerms, count_candidates, index_row, indexed_terms, push_candidates, tenant_key_range,
    unindex_row,
};
use super::timestamp::{OptionalStoredTimestamp, StoredTimestamp};
use super::{Conn, StoreError};
use crate::casefold::fold;
use crate::schema::{ResolveError, Resolved, Target};
use crate::store::query::{
    IndexedColumn, ResourceTable, ValueLookup, is_user_index_lookup, push_sort_key,
    push_user_condition, push_user_condition_per_row, single_indexed_equality,
    user_sort_key_never_null,
};
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
    #[diesel(deserialize_as = OptionalStoredTimestamp)]
    pub last_sign_in: Option<NaiveDateTime>,
    #[diesel(deserialize_as = StoredTimestamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = StoredTimestamp)]
    pub last_modified: NaiveDateTime,
    pub version: i64,
    /// `active` of the attribute document, kept in its own column.
    pub active: bool,
}

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

/// `user_values` rows in one multi-row `INSERT`: fifteen parameters each, 30,000 in
/// all, under SQLite's 32,766 and PostgreSQL's 65,535.
pub(crate) const VALUE_ROWS_PER_INSERT: usize = 2_000;

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
        diesel::update(tenants::table.filter(tenants::id.eq(&row.tenant_id)))
            .set(tenants::user_count.eq(tenants::user_count + 1))
            .execute(c)?;
        for chunk in values.chunks(VALUE_ROWS_PER_INSERT) {
            diesel::insert_into(user_values::table).values(chunk).execute(c)?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    index_row(conn, ResourceTable::Users, &row.tenant_id, &row.id)
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
    let updated = with_conn!(conn, c => {
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
        for chunk in values.chunks(VALUE_ROWS_PER_INSERT) {
            diesel::insert_into(user_values::table).values(chunk).execute(c)?;
        }
        Ok::<_, diesel::result::Error>(true)
    })?;
    if updated {
        index_row(conn, ResourceTable::Users, tenant_id, id)?;
    }
    Ok(updated)
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
    unindex_row(conn, ResourceTable::Users, tenant_id, id)?;
    let deleted = with_conn!(conn, c => {
        let deleted = diesel::delete(
            users::table.filter(users::tenant_id.eq(tenant_id)).filter(users::id.eq(id)),
        )
        .execute(c)?;
        if deleted > 0 {
            diesel::update(tenants::table.filter(tenants::id.eq(tenant_id)))
                .set(tenants::user_count.eq(tenants::user_count - 1))
                .execute(c)?;
        }
        Ok::<_, diesel::result::Error>(deleted)
    })?;
    Ok(deleted > 0)
}

/// A tenant's number of users, without counting rows.
pub fn tenant_user_count(conn: &mut Conn, tenant_id: &str) -> Result<i64, StoreError> {
    Ok(with_conn!(conn, c => tenants::table
        .filter(tenants::id.eq(tenant_id))
        .select(tenants::user_count)
        .first(c)
        .optional())?
    .unwrap_or(0))
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

/// A sort order for a user search.
#[derive(Debug, Clone)]
pub struct UserSort {
    pub key: Target,
    pub descending: bool,
}

/// Which slice of the ordered results to return.
#[derive(Debug, Clone)]
pub enum UserWindow {
    /// Skip `offset` results (index paging).
    Offset { offset: i64, limit: i64 },
    /// Results after a position (cursor paging).
    After {
        position: Option<CursorPosition>,
        limit: i64,
    },
}

/// Where a cursor stopped: the last row's sort key (as text) and id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CursorPosition {
    pub key: Option<String>,
    pub id: String,
}

/// A filtered, sorted page of a tenant's users.
#[derive(Debug, Clone)]
pub struct UserSearch<'a> {
    /// Whose users, and which of them the caller may see.
    pub scope: &'a Scope,
    pub filter: Option<&'a Resolved>,
    pub sort: Option<&'a UserSort>,
    pub window: UserWindow,
    /// Read each user's [`StoredExtras`] in the same statement: worth it for the few
    /// rows of a look-up, while a page of many users loads them in batches.
    pub with_extras: bool,
    /// How many users match, when the caller counted them first: a substring search
    /// with many matches then finds its page by walking the users in order.
    pub matching: Option<i64>,
}

/// One user found by a search.
#[derive(Debug)]
pub struct SearchHit {
    pub user: UserRow,
    /// Where the user sits in the search's order, for the next cursor.
    pub position: CursorPosition,
    /// Present when the search asked for them.
    pub extras: Option<StoredExtras>,
}

/// The SQL types of a [`UserRow`] read by position, taken from the schema through its
/// `Selectable` columns: [`USER_COLUMNS`] names the same columns in the same order.
type UserColumns =
    <<UserRow as Selectable<diesel::sqlite::Sqlite>>::SelectExpression as Expression>::SqlType;

/// The SQL types of the [`push_extras_columns`] columns, in order.
type ExtrasColumns = (Text, Text, Bool);

/// A search's columns: the user, its sort key, and (for [`SearchRowWithExtras`]) its
/// extras.
type SearchColumns = (UserColumns, Nullable<Text>);

#[derive(Queryable)]
struct SearchRow {
    user: UserRow,
    sort_key: Option<String>,
}

impl SearchRow {
    fn into_hit(self, extras: Option<StoredExtras>) -> SearchHit {
        let position = CursorPosition {
            key: self.sort_key,
            id: self.user.id.clone(),
        };
        SearchHit {
            user: self.user,
            position,
            extras,
        }
    }
}

#[derive(Queryable)]
struct SearchRowWithExtras {
    found: SearchRow,
    extras: StoredExtras,
}

/// What is stored beside a user row, read in the same statement as the row: the
/// application assignments the caller may see and the linked social accounts, as
/// JSON arrays of arrays in no particular order (see [`push_extras_columns`]),
/// and whether any group holds the user.
#[derive(Debug, Clone, Queryable)]
pub struct StoredExtras {
    pub apps: String,
    pub socials: String,
    pub grouped: bool,
}

#[derive(Queryable)]
struct UserWithExtrasRow {
    user: UserRow,
    extras: StoredExtras,
}

/// The [`StoredExtras`] columns of the user `u` (unsorted: ordering inside an
/// aggregate costs SQLite a temporary b-tree per row): `apps` holds
/// `[app_id, app_name, external_account_id, custom_app_data, consents, assigned_at,
/// last_sign_in]` per assignment (only `only_app`'s when given), `socials`
/// `[provider, subject, email, linked_at]` per social account.
fn push_extras_columns(b: &mut SqlBuilder, only_app: Option<&str>) {
    let sql = match b.backend() {
        super::Backend::Sqlite => &*SQLITE_EXTRAS,
        super::Backend::Postgres => &*POSTGRES_EXTRAS,
    };
    b.push(&sql.before_app_condition);
    if let Some(app_id) = only_app {
        b.push(" AND ua.app_id = ");
        b.text(app_id);
    }
    b.push(&sql.after_app_condition);
}

/// A backend's text of [`push_extras_columns`], written once: around the optional
/// application condition.
struct ExtrasSql {
    before_app_condition: String,
    after_app_condition: String,
}

static SQLITE_EXTRAS: LazyLock<ExtrasSql> =
    LazyLock::new(|| ExtrasSql::new("json_group_array", "json_array", "(", ")"));

// PostgreSQL's json_agg over no rows is NULL, SQLite's json_group_array '[]'.
static POSTGRES_EXTRAS: LazyLock<ExtrasSql> = LazyLock::new(|| {
    ExtrasSql::new(
        "json_agg",
        "json_build_array",
        "COALESCE((",
        ")::text, '[]')",
    )
});

impl ExtrasSql {
    fn new(aggregate: &str, array: &str, open: &str, close: &str) -> Self {
        ExtrasSql {
            before_app_condition: format!(
                ", {open}SELECT {aggregate}({array}(ua.app_id, a.name, ua.external_account_id, \
                 ua.custom_app_data, ua.consents, ua.assigned_at, ua.last_sign_in)) \
                 FROM user_apps ua JOIN applications a ON a.id = ua.app_id \
                 WHERE ua.user_id = u.id"
            ),
            // Few users have linked social accounts: testing for one costs SQLite
            // less than an aggregate over none.
            after_app_condition: format!(
                "{close} AS apps, CASE WHEN EXISTS (SELECT 1 FROM social_accounts s \
                 WHERE s.user_id = u.id) THEN {open}SELECT {aggregate}({array}(s.provider, \
                 s.subject, s.email, s.linked_at)) FROM social_accounts s \
                 WHERE s.user_id = u.id{close} ELSE '[]' END AS socials, \
                 EXISTS (SELECT 1 FROM group_members gm WHERE gm.member_id = u.id) AS grouped"
            ),
        }
    }
}

/// One user within `scope`, with its [`StoredExtras`], in one statement.
pub fn find_user_with_extras(
    conn: &mut Conn,
    scope: &Scope,
    id: &str,
) -> Result<Option<(UserRow, StoredExtras)>, StoreError> {
    let only_app = scope.limiting_app();
    let mut b = SqlBuilder::new(conn.backend());
    b.push("SELECT ").push(USER_COLUMNS);
    push_extras_columns(&mut b, only_app);
    b.push(" FROM users u WHERE u.tenant_id = ");
    b.text(&scope.tenant_id);
    b.push(" AND u.id = ");
    b.text(id);
    and_user_visible(&mut b, only_app, "u.id");
    let rows: Vec<UserWithExtrasRow> = match only_app {
        None => load_fixed::<UserWithAllApps, (UserColumns, ExtrasColumns), _>(conn, &b)?,
        Some(_) => load_fixed::<UserWithOneApp, (UserColumns, ExtrasColumns), _>(conn, &b)?,
    };
    Ok(rows.into_iter().next().map(|row| (row.user, row.extras)))
}

/// [`find_user_with_extras`] for the Management Application: the text depends only
/// on the backend.
struct UserWithAllApps;

impl StatementShape for UserWithAllApps {
    const FIXED_TEXT: bool = true;
}

/// [`find_user_with_extras`] for one application.
struct UserWithOneApp;

impl StatementShape for UserWithOneApp {
    const FIXED_TEXT: bool = true;
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

const USER_COLUMNS: &str = "u.id, u.tenant_id, u.attributes, u.status, u.custom_data, u.birthday, \
     u.last_sign_in, u.created_at, u.last_modified, u.version, u.active";

/// One resource a search found, before its row is read: its id, where it sits in
/// the search's order, and how many bytes of JSON its rows hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRow {
    pub id: String,
    pub position: CursorPosition,
    pub bytes: i64,
}

impl PlannedRow {
    pub(crate) fn from_columns((id, bytes, key): (String, i64, Option<String>)) -> PlannedRow {
        PlannedRow {
            position: CursorPosition {
                key,
                id: id.clone(),
            },
            id,
            bytes,
        }
    }
}

/// The SQL types of a planning search's columns: id, bytes, sort key.
pub(crate) type PlannedSqlColumns = (Text, BigInt, Nullable<Text>);

/// The columns of a planning search: a user's id and about how many bytes it
/// shows: its document, custom data, the custom data of its assignments
/// (`octet_length` reads a value's size without reading the value) and 200 bytes
/// for each group it is a direct member of.
const PLANNED_USER_COLUMNS: &str = "u.id, CAST(octet_length(u.attributes) \
     + COALESCE(octet_length(u.custom_data), 0) \
     + COALESCE((SELECT SUM(octet_length(ua.custom_app_data)) FROM user_apps ua \
     WHERE ua.user_id = u.id), 0) \
     + 200 * (SELECT COUNT(*) FROM group_members gm WHERE gm.member_id = u.id) \
     AS BIGINT) AS bytes";

/// Runs a search for the ids of its users only, with their sizes: a page is then
/// read in batches of a bounded size ([`users_by_ids`]).
pub fn plan_user_search(
    conn: &mut Conn,
    search: &UserSearch,
) -> Result<Vec<PlannedRow>, StoreError> {
    let walk = Walk::of(conn, search)?;
    let b = search_statement_selecting(conn.backend(), search, walk, Selected::Plan)?;
    let rows: Vec<(String, i64, Option<String>)> =
        load_dynamic_columns::<PlannedSqlColumns, _>(conn, &b)?;
    Ok(rows.into_iter().map(PlannedRow::from_columns).collect())
}

/// The users of a tenant with these ids, in no particular order.
pub fn users_by_ids(
    conn: &mut Conn,
    tenant_id: &str,
    ids: &[String],
) -> Result<Vec<UserRow>, StoreError> {
    Ok(with_conn!(conn, c => users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::id.eq_any(ids))
        .select(UserRow::as_select())
        .load(c))?)
}

/// The attribute that identifies a user to an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserKey {
    ExternalId,
    /// Compared as userName compares: ignoring case.
    UserName,
}

/// The users of the tenant whose `key` is one of `values`.
pub fn users_by_key(
    conn: &mut Conn,
    tenant_id: &str,
    key: UserKey,
    values: &[String],
) -> Result<Vec<UserRow>, StoreError> {
    let tenant_users = users::table.filter(users::tenant_id.eq(tenant_id));
    Ok(match key {
        UserKey::ExternalId => with_conn!(conn, c => tenant_users
            .filter(users::external_id.eq_any(values))
            .select(UserRow::as_select())
            .load(c))?,
        UserKey::UserName => {
            let folded: Vec<String> = values.iter().map(|value| fold(value)).collect();
            with_conn!(conn, c => tenant_users
                .filter(users::user_name_ci.eq_any(&folded))
                .select(UserRow::as_select())
                .load(c))?
        }
    })
}

/// Runs a search; returns the users with the position each one ends at.
pub fn search_users(conn: &mut Conn, search: &UserSearch) -> Result<Vec<SearchHit>, StoreError> {
    let walk = Walk::of(conn, search)?;
    let b = search_statement_selecting(conn.backend(), search, walk, Selected::Rows)?;
    if search.with_extras {
        let rows = match equality_lookup(search) {
            Some((column, one_app)) => load_equality_lookup(conn, &b, column, one_app)?,
            None => load_dynamic_columns::<SearchWithExtrasColumns, _>(conn, &b)?,
        };
        Ok(rows
            .into_iter()
            .map(|row| row.found.into_hit(Some(row.extras)))
            .collect())
    } else {
        let rows: Vec<SearchRow> = load_dynamic_columns::<SearchColumns, _>(conn, &b)?;
        Ok(rows.into_iter().map(|row| row.into_hit(None)).collect())
    }
}

/// Where a search finds its users.
enum Walk<'f> {
    /// The tenant's users, in the order of their index (`users_tenant_id` for id).
    Tenant,
    /// The tenant's users in id order, each tested by the filter on its own rows: a
    /// substring search whose matches are dense, so that its page is a few rows away.
    TenantTestingEach,
    /// The matching value rows of an unsorted look-up by value (SQLite): see
    /// [`ValueLookup`].
    Values(ValueLookup<'f>),
    /// The trigram index's candidates in the tenant's key range (SQLite), each
    /// tested by the filter on its own rows.
    Trigrams(IndexedTerms, (i64, i64)),
}

impl<'f> Walk<'f> {
    fn of(conn: &mut Conn, search: &UserSearch<'f>) -> Result<Walk<'f>, StoreError> {
        let backend = conn.backend();
        if let Some(terms) = trigram_terms(backend, search.filter) {
            // Walking in id order reads about (rows wanted) × (users / matches) rows
            // before the page is full; the index's way reads every match.
            if let (None, Some(matching)) = (search.sort, search.matching) {
                let wanted = match &search.window {
                    UserWindow::Offset { offset, limit } => offset.saturating_add(*limit),
                    UserWindow::After { limit, .. } => *limit,
                };
                let users = tenant_user_count(conn, &search.scope.tenant_id)?;
                if wanted.saturating_mul(users) < matching.saturating_mul(matching) {
                    return Ok(Walk::TenantTestingEach);
                }
            }
            let range = tenant_key_range(conn, &search.scope.tenant_id)?;
            return Ok(Walk::Trigrams(terms, range));
        }
        let value_lookup = search
            .filter
            .filter(|_| search.sort.is_none() && backend == super::Backend::Sqlite)
            .and_then(|filter| ValueLookup::of(filter, backend));
        Ok(value_lookup.map_or(Walk::Tenant, Walk::Values))
    }
}

/// The trigram index's terms for a search of `filter`, when the index is the way to
/// its users (SQLite): it narrows the filter, and no equality look-up does better.
fn trigram_terms(backend: super::Backend, filter: Option<&Resolved>) -> Option<IndexedTerms> {
    let filter = filter
        .filter(|filter| backend == super::Backend::Sqlite && !is_user_index_lookup(filter))?;
    indexed_terms(filter, ResourceTable::Users)
}

/// Whether a search of `filter` is answered by the trigram index, whose count is
/// cheap: its caller counts first and tells the search ([`UserSearch::matching`]).
pub fn counts_first(backend: super::Backend, filter: Option<&Resolved>) -> bool {
    trigram_terms(backend, filter).is_some()
}

/// What a search statement reads of each user it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selected {
    /// The whole row (and the extras, when the search asks for them).
    Rows,
    /// The id and the size only ([`PLANNED_USER_COLUMNS`]).
    Plan,
}

/// The SQL of a search on `backend`: where a filter, a sort and a page become one
/// statement.
fn search_statement_selecting(
    backend: super::Backend,
    search: &UserSearch,
    walk: Walk,
    selected: Selected,
) -> Result<SqlBuilder, StoreError> {
    let (tenant_id, app_id) = (&*search.scope.tenant_id, search.scope.limiting_app());
    let mut b = SqlBuilder::new(backend);
    let columns = match selected {
        Selected::Rows => USER_COLUMNS,
        Selected::Plan => PLANNED_USER_COLUMNS,
    };
    b.push("SELECT ").push(columns).push(", ");
    match search.sort {
        Some(sort) => {
            b.push("CAST(");
            push_sort_key(&mut b, ResourceTable::Users, app_id, &sort.key)?;
            b.push(" AS TEXT)");
        }
        None => {
            b.push("CAST(NULL AS TEXT)");
        }
    }
    b.push(" AS sort_key");
    if search.with_extras && selected == Selected::Rows {
        push_extras_columns(&mut b, app_id);
    }
    // On SQLite an unsorted `emails.value eq` reads its users from the matching value
    // rows (CROSS JOIN keeps them the outer loop), grouped by user so that a user
    // whose values match twice is one row; v.user_id comes in index order, so the
    // grouping needs no sort. PostgreSQL answers `IN (…)` with a semi-join of its own
    // and planned the grouped join worse.
    let order_column = if matches!(walk, Walk::Values(_)) {
        "v.user_id"
    } else {
        "u.id"
    };
    push_walk_from(&mut b, &walk, tenant_id);
    and_searched_user_visible(&mut b, app_id);
    if let Some(filter) = search.filter {
        match walk {
            Walk::Values(_) => {}
            Walk::Tenant => {
                b.push(" AND ");
                push_user_condition(&mut b, tenant_id, app_id, filter)?;
            }
            Walk::TenantTestingEach | Walk::Trigrams(..) => {
                b.push(" AND ");
                push_user_condition_per_row(&mut b, tenant_id, app_id, filter)?;
            }
        }
    }
    let descending = search.sort.is_some_and(|s| s.descending);
    let (limit, offset) = match &search.window {
        UserWindow::Offset { offset, limit } => (*limit, Some(*offset)),
        UserWindow::After { position, limit } => {
            if let Some(position) = position {
                b.push(" AND ");
                push_keyset(&mut b, ResourceTable::Users, app_id, search.sort, position)?;
            }
            (*limit, None)
        }
    };
    let direction = if descending { "DESC" } else { "ASC" };
    if matches!(walk, Walk::Values(_)) {
        b.push(" GROUP BY ").push(order_column);
    }
    b.push(" ORDER BY ");
    if let Some(sort) = search.sort {
        // RFC 7644 §3.4.2.3: missing values last when ascending, first when descending.
        if !user_sort_key_never_null(&sort.key, backend) {
            b.push("(");
            push_order_key(&mut b, ResourceTable::Users, app_id, &sort.key)?;
            b.push(") IS NULL ").push(direction).push(", ");
        }
        push_order_key(&mut b, ResourceTable::Users, app_id, &sort.key)?;
        b.push(" ").push(direction).push(", ");
    }
    b.push(order_column)
        .push(" ")
        .push(direction)
        .push(" LIMIT ");
    b.param(SqlParam::BigInt(limit));
    if let Some(offset) = offset {
        b.push(" OFFSET ");
        b.param(SqlParam::BigInt(offset));
    }
    Ok(b)
}

/// `FROM … WHERE` the rows `walk` goes through, of tenant `tenant_id`.
fn push_walk_from(b: &mut SqlBuilder, walk: &Walk, tenant_id: &str) {
    match walk {
        Walk::Values(lookup) => {
            b.push(" FROM user_values v CROSS JOIN users u ON u.id = v.user_id WHERE ");
            lookup.push_condition(b, tenant_id);
            b.push(" AND ");
        }
        // CROSS JOIN keeps the index's candidates the outer loop.
        Walk::Trigrams(terms, range) => {
            b.push(" FROM user_search s CROSS JOIN users u ON u.search_key = s.rowid WHERE ");
            push_candidates(b, ResourceTable::Users, terms, *range);
            b.push(" AND ");
        }
        Walk::Tenant | Walk::TenantTestingEach => {
            b.push(" FROM users u WHERE ");
        }
    }
    b.push("u.tenant_id = ");
    b.text(tenant_id);
}

/// The columns of a search that reads each user's extras.
type SearchWithExtrasColumns = (SearchColumns, ExtrasColumns);

/// The indexed column and whether one application's scope applies, when `search`
/// has one of the fixed texts of [`EqualityLookup`]: one equality of an indexed
/// column with text, unsorted, a page by index, with extras.
fn equality_lookup(search: &UserSearch) -> Option<(IndexedColumn, bool)> {
    let fixed_form = search.with_extras
        && search.sort.is_none()
        && matches!(search.window, UserWindow::Offset { .. });
    let column = single_indexed_equality(search.filter.filter(|_| fixed_form)?)?;
    Some((column, search.scope.limiting_app().is_some()))
}

/// A search of [`equality_lookup`]'s form by `COLUMN` (an [`IndexedColumn`] as a
/// number), within one application's scope or not: its text depends only on these
/// and the backend, so its prepared statement is found by type, without writing out
/// and hashing the text (a tenth of a look-up's own work).
struct EqualityLookup<const COLUMN: u8, const ONE_APP: bool>;

impl<const COLUMN: u8, const ONE_APP: bool> StatementShape for EqualityLookup<COLUMN, ONE_APP> {
    const FIXED_TEXT: bool = true;
}

fn load_equality_lookup(
    conn: &mut Conn,
    b: &SqlBuilder,
    column: IndexedColumn,
    one_app: bool,
) -> Result<Vec<SearchRowWithExtras>, StoreError> {
    fn load<const COLUMN: u8, const ONE_APP: bool>(
        conn: &mut Conn,
        b: &SqlBuilder,
    ) -> Result<Vec<SearchRowWithExtras>, StoreError> {
        load_fixed::<EqualityLookup<COLUMN, ONE_APP>, SearchWithExtrasColumns, _>(conn, b)
    }
    match (column, one_app) {
        (IndexedColumn::Id, false) => load::<0, false>(conn, b),
        (IndexedColumn::Id, true) => load::<0, true>(conn, b),
        (IndexedColumn::ExternalId, false) => load::<1, false>(conn, b),
        (IndexedColumn::ExternalId, true) => load::<1, true>(conn, b),
        (IndexedColumn::UserName, false) => load::<2, false>(conn, b),
        (IndexedColumn::UserName, true) => load::<2, true>(conn, b),
        (IndexedColumn::Value, false) => load::<3, false>(conn, b),
        (IndexedColumn::Value, true) => load::<3, true>(conn, b),
    }
}

/// How many of a tenant's users match `filter`.
pub fn count_matching_users(
    conn: &mut Conn,
    scope: &Scope,
    filter: Option<&Resolved>,
) -> Result<i64, StoreError> {
    let (tenant_id, app_id) = (&*scope.tenant_id, scope.limiting_app());
    if app_id.is_none() && filter.is_none() {
        return tenant_user_count(conn, tenant_id);
    }
    let mut b = SqlBuilder::new(conn.backend());
    b.push("SELECT COUNT(*) AS count");
    match (trigram_terms(conn.backend(), filter), filter) {
        (Some(terms), Some(filter)) => {
            let range = tenant_key_range(conn, tenant_id)?;
            if terms.exact && app_id.is_none() {
                return count_candidates(conn, ResourceTable::Users, &terms, range);
            }
            push_walk_from(&mut b, &Walk::Trigrams(terms, range), tenant_id);
            and_searched_user_visible(&mut b, app_id);
            b.push(" AND ");
            push_user_condition_per_row(&mut b, tenant_id, app_id, filter)?;
        }
        _ => {
            push_walk_from(&mut b, &Walk::Tenant, tenant_id);
            and_searched_user_visible(&mut b, app_id);
            if let Some(filter) = filter {
                b.push(" AND ");
                push_user_condition(&mut b, tenant_id, app_id, filter)?;
            }
        }
    }
    let rows: Vec<CountRow> = load_dynamic(conn, &b)?;
    Ok(rows.first().map_or(0, |row| row.count))
}

/// The ORDER BY expression: the raw key, whose order equals the order of its text
/// form for text, times and booleans (and keeps index order usable); free-form
/// values are ordered as text so that cursors, which compare text, agree.
pub(crate) fn push_order_key(
    b: &mut SqlBuilder,
    table: ResourceTable,
    app_id: Option<&str>,
    key: &Target,
) -> Result<(), ResolveError> {
    if key.kind == crate::schema::resolve::ValueKind::FreeForm {
        b.push("CAST(");
        push_sort_key(b, table, app_id, key)?;
        b.push(" AS TEXT)");
        Ok(())
    } else {
        push_sort_key(b, table, app_id, key)
    }
}

/// Rows strictly after `position` in the order of `sort` (then id).
pub(crate) fn push_keyset(
    b: &mut SqlBuilder,
    table: ResourceTable,
    app_id: Option<&str>,
    sort: Option<&UserSort>,
    position: &CursorPosition,
) -> Result<(), ResolveError> {
    let Some(sort) = sort else {
        b.push(&format!("{} > ", id_column(table)));
        b.text(&position.id);
        return Ok(());
    };
    let (beyond, id_beyond) = if sort.descending {
        ("<", "<")
    } else {
        (">", ">")
    };
    let key = |b: &mut SqlBuilder| -> Result<(), ResolveError> {
        b.push("CAST(");
        push_sort_key(b, table, app_id, &sort.key)?;
        b.push(" AS TEXT)");
        Ok(())
    };
    // Keys compare as the text the cursor carries; ids break ties.
    match (&position.key, sort.descending) {
        (Some(last), false) => {
            b.push("((");
            key(b)?;
            b.push(" IS NOT NULL AND (");
            key(b)?;
            b.push(&format!(" {beyond} "));
            b.text(last);
            b.push(" OR (");
            key(b)?;
            b.push(" = ");
            b.text(last);
            b.push(&format!(" AND {} {id_beyond} ", id_column(table)));
            b.text(&position.id);
            b.push("))) OR ");
            key(b)?;
            b.push(" IS NULL)");
        }
        (Some(last), true) => {
            b.push("(");
            key(b)?;
            b.push(" IS NOT NULL AND (");
            key(b)?;
            b.push(&format!(" {beyond} "));
            b.text(last);
            b.push(" OR (");
            key(b)?;
            b.push(" = ");
            b.text(last);
            b.push(&format!(" AND {} {id_beyond} ", id_column(table)));
            b.text(&position.id);
            b.push(")))");
        }
        (None, false) => {
            b.push("(");
            key(b)?;
            b.push(&format!(" IS NULL AND {} {id_beyond} ", id_column(table)));
            b.text(&position.id);
            b.push(")");
        }
        (None, true) => {
            b.push("((");
            key(b)?;
            b.push(&format!(" IS NULL AND {} {id_beyond} ", id_column(table)));
            b.text(&position.id);
            b.push(") OR ");
            key(b)?;
            b.push(" IS NOT NULL)");
        }
    }
    Ok(())
}

/// The id column of a resource table's alias.
fn id_column(table: ResourceTable) -> &'static str {
    match table {
        ResourceTable::Users => "u.id",
        ResourceTable::Groups => "g.id",
    }
}

/// The user of a tenant with this userName, compared case-insensitively.
pub fn find_user_by_user_name(
    conn: &mut Conn,
    tenant_id: &str,
    user_name: &str,
) -> Result<Option<UserRow>, StoreError> {
    let folded = fold(user_name);
    Ok(with_conn!(conn, c => users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::user_name_ci.eq(&folded))
        .select(UserRow::as_select())
        .first(c)
        .optional())?)
}

/// The users of a tenant with this email address, primary addresses first.
pub fn find_users_by_email(
    conn: &mut Conn,
    tenant_id: &str,
    email: &str,
) -> Result<Vec<UserRow>, StoreError> {
    let folded = fold(email);
    Ok(with_conn!(conn, c => users::table
        .inner_join(user_values::table)
        .filter(user_values::tenant_id.eq(tenant_id))
        .filter(user_values::attribute.eq("emails"))
        .filter(user_values::value_ci.eq(&folded))
        .order((user_values::is_primary.desc(), users::id.asc()))
        .select(UserRow::as_select())
        .load(c))?)
}

/// Records a sign-in: the user becomes `active` and a new version.
pub fn record_sign_in(
    conn: &mut Conn,
    tenant_id: &str,
    id: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    with_conn!(conn, c => diesel::update(
        users::table.filter(users::tenant_id.eq(tenant_id)).filter(users::id.eq(id)),
    )
    .set((
        users::status.eq("active"),
        users::last_sign_in.eq(Some(at)),
        users::last_modified.eq(at),
        users::version.eq(users::version + 1),
    ))
    .execute(c))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};

    use super::*;
    use crate::filter::parse_filter;
    use crate::schema::USER_RESOURCE;
    use crate::schema::resolve;

    #[derive(QueryableByName)]
    struct PlanStep {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }

    /// SQLite's plan of a first-page look-up by `filter`, one step a line.
    fn lookup_plan(filter: &str, app_id: Option<&str>) -> String {
        let mut conn = SqliteConnection::establish(":memory:").expect("opens");
        crate::store::connection::migrate_sqlite(&mut conn).expect("migrates");
        let filter =
            resolve(&parse_filter(filter).expect("parses"), &USER_RESOURCE).expect("resolves");
        let scope = Scope::new("t".into(), app_id.unwrap_or("m").into(), app_id.is_none());
        let search = UserSearch {
            scope: &scope,
            filter: Some(&filter),
            sort: None,
            window: UserWindow::Offset {
                offset: 0,
                limit: 100,
            },
            with_extras: true,
            matching: None,
        };
        let statement = search_statement_selecting(
            crate::store::Backend::Sqlite,
            &search,
            Walk::of(&mut Conn::Sqlite(&mut conn), &search).expect("walks"),
            Selected::Rows,
        )
        .expect("builds");
        diesel::sql_query(format!("EXPLAIN QUERY PLAN {}", statement.sql))
            .load::<PlanStep>(&mut conn)
            .expect("plans")
            .into_iter()
            .map(|step| step.detail)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Each equality look-up, with the index that answers it.
    const LOOKUPS: [(&str, &str); 4] = [
        (r#"userName eq "a""#, "users_tenant_user_name"),
        (r#"externalId eq "a""#, "users_tenant_external_id"),
        (r#"id eq "a""#, "(id=?)"),
        (r#"emails.value eq "a@x""#, "user_values_lookup"),
    ];

    #[test]
    fn equality_lookups_search_their_index_and_sort_nothing() {
        for (filter, index) in LOOKUPS {
            for app_id in [None, Some("app")] {
                let plan = lookup_plan(filter, app_id);
                assert!(plan.contains(index), "{filter}:\n{plan}");
                assert!(!plan.contains("TEMP B-TREE"), "{filter}:\n{plan}");
            }
        }
    }
}
