//! Groups and their memberships. Members are rows of `group_members`, so adding or
//! removing one touches one row whatever the group's size; nesting is walked with
//! recursive queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use super::IDS_PER_STATEMENT;
use super::dynamic::{execute_dynamic, load_dynamic, load_dynamic_columns};
use super::schema::{group_members, groups, users};
use super::scope::{Scope, and_member_visible};
use super::sql::{SqlBuilder, SqlParam};
use super::substring::{
    IndexedTerms, count_candidates, index_row, indexed_terms, push_candidates, tenant_key_range,
    unindex_row,
};
use super::users::{
    PlannedRow, PlannedSqlColumns, UserSort, UserWindow, push_keyset, push_order_key,
};
use super::{Conn, StoreError};
use crate::schema::Resolved;
use crate::store::query::{ResourceTable, push_group_condition, push_sort_key};
use crate::with_conn;

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = groups)]
pub struct GroupRow {
    pub id: String,
    pub tenant_id: String,
    pub attributes: String,
    pub custom_data: Option<String>,
    pub created_at: NaiveDateTime,
    pub last_modified: NaiveDateTime,
    pub version: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = groups)]
pub struct NewGroupRow {
    pub id: String,
    pub tenant_id: String,
    pub attributes: String,
    pub custom_data: Option<String>,
    pub display_name_ci: String,
    pub external_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub last_modified: NaiveDateTime,
    pub version: i64,
    /// The application that creates the group; `None` for the Management Application.
    pub created_by_app: Option<String>,
}

#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = groups, treat_none_as_null = true)]
pub struct GroupChanges {
    pub attributes: String,
    pub custom_data: Option<String>,
    pub display_name_ci: String,
    pub external_id: Option<String>,
    pub last_modified: NaiveDateTime,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = group_members)]
pub struct MemberRow {
    pub group_id: String,
    pub member_id: String,
    pub member_type: String,
    pub tenant_id: String,
}

/// A member with the name to show for it.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct MemberDetail {
    #[diesel(sql_type = Text)]
    pub member_id: String,
    #[diesel(sql_type = Text)]
    pub member_type: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub display: Option<String>,
}

/// A group a user belongs to, directly or through nested groups.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct GroupOfUser {
    #[diesel(sql_type = Text)]
    pub group_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub display: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub direct: bool,
}

pub fn insert_group(conn: &mut Conn, row: &NewGroupRow) -> Result<(), StoreError> {
    with_conn!(conn, c => diesel::insert_into(groups::table).values(row).execute(c))?;
    index_row(conn, ResourceTable::Groups, &row.id)
}

pub fn find_group(
    conn: &mut Conn,
    tenant_id: &str,
    id: &str,
) -> Result<Option<GroupRow>, StoreError> {
    Ok(with_conn!(conn, c => groups::table
        .filter(groups::tenant_id.eq(tenant_id))
        .filter(groups::id.eq(id))
        .select(GroupRow::as_select())
        .first(c)
        .optional())?)
}

/// The application that created the group (`Some(None)` when the Management
/// Application did, or nobody knows); `None` when there is no such group.
pub fn group_creator(
    conn: &mut Conn,
    tenant_id: &str,
    id: &str,
) -> Result<Option<Option<String>>, StoreError> {
    Ok(with_conn!(conn, c => groups::table
        .filter(groups::tenant_id.eq(tenant_id))
        .filter(groups::id.eq(id))
        .select(groups::created_by_app)
        .first(c)
        .optional())?)
}

/// Writes `changes` if the group is still at `expected_version`.
pub fn update_group(
    conn: &mut Conn,
    tenant_id: &str,
    id: &str,
    expected_version: i64,
    changes: &GroupChanges,
) -> Result<bool, StoreError> {
    let updated = with_conn!(conn, c => diesel::update(
        groups::table
            .filter(groups::tenant_id.eq(tenant_id))
            .filter(groups::id.eq(id))
            .filter(groups::version.eq(expected_version)),
    )
    .set(changes)
    .execute(c))?;
    if updated > 0 {
        index_row(conn, ResourceTable::Groups, id)?;
    }
    Ok(updated > 0)
}

pub fn delete_group(conn: &mut Conn, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
    unindex_row(conn, ResourceTable::Groups, tenant_id, id)?;
    let deleted = with_conn!(conn, c => diesel::delete(
        groups::table.filter(groups::tenant_id.eq(tenant_id)).filter(groups::id.eq(id)),
    )
    .execute(c))?;
    Ok(deleted > 0)
}

/// Removes `member_id` from every group (when a user or group is deleted).
pub fn remove_member_everywhere(
    conn: &mut Conn,
    tenant_id: &str,
    member_id: &str,
) -> Result<usize, StoreError> {
    Ok(with_conn!(conn, c => diesel::delete(
        group_members::table
            .filter(group_members::tenant_id.eq(tenant_id))
            .filter(group_members::member_id.eq(member_id)),
    )
    .execute(c))?)
}

/// Member rows in one multi-row `INSERT`: four parameters each, 20,000 in all, under
/// SQLite's 32,766 and PostgreSQL's 65,535.
const ROWS_PER_INSERT: usize = 5_000;

/// Adds members; those already in the group are left as they are. Returns how many
/// were new.
pub fn add_members(conn: &mut Conn, rows: &[MemberRow]) -> Result<usize, StoreError> {
    let mut added = 0;
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        added += match conn {
            Conn::Sqlite(c) => diesel::insert_or_ignore_into(group_members::table)
                .values(chunk)
                .execute(&mut **c)?,
            Conn::Postgres(c) => diesel::insert_into(group_members::table)
                .values(chunk)
                .on_conflict((group_members::group_id, group_members::member_id))
                .do_nothing()
                .execute(&mut **c)?,
        };
    }
    Ok(added)
}

/// Removes these members of the group; returns how many were there.
pub fn remove_members(
    conn: &mut Conn,
    group_id: &str,
    member_ids: &[String],
) -> Result<usize, StoreError> {
    let mut removed = 0;
    for chunk in member_ids.chunks(IDS_PER_STATEMENT) {
        removed += with_conn!(conn, c => diesel::delete(
            group_members::table
                .filter(group_members::group_id.eq(group_id))
                .filter(group_members::member_id.eq_any(chunk)),
        )
        .execute(c))?;
    }
    Ok(removed)
}

/// The members of the group among `member_ids`, with their kinds.
pub fn present_member_rows(
    conn: &mut Conn,
    group_id: &str,
    member_ids: &[String],
) -> Result<Vec<MemberRow>, StoreError> {
    let mut present = Vec::new();
    for chunk in member_ids.chunks(IDS_PER_STATEMENT) {
        let found: Vec<MemberRow> = with_conn!(conn, c => group_members::table
            .filter(group_members::group_id.eq(group_id))
            .filter(group_members::member_id.eq_any(chunk))
            .select(MemberRow::as_select())
            .load(c))?;
        present.extend(found);
    }
    Ok(present)
}

/// Removes every member of the group, or with `app_id` only the members that
/// application sees (member groups and the users assigned to it), in one statement.
/// Returns how many were removed.
pub fn remove_all_members(
    conn: &mut Conn,
    scope: &Scope,
    group_id: &str,
) -> Result<usize, StoreError> {
    let app_id = scope.limiting_app();
    let mut b = SqlBuilder::new(conn.backend());
    b.push("DELETE FROM group_members AS gm WHERE gm.group_id = ");
    b.text(group_id);
    and_member_visible(&mut b, app_id);
    execute_dynamic(conn, &b)
}

/// Every member of the group, in insertion-independent id order.
pub fn member_rows(conn: &mut Conn, group_id: &str) -> Result<Vec<MemberRow>, StoreError> {
    Ok(with_conn!(conn, c => group_members::table
        .filter(group_members::group_id.eq(group_id))
        .order(group_members::member_id)
        .select(MemberRow::as_select())
        .load(c))?)
}

/// The ids among `ids` of users of the tenant.
pub fn existing_users(
    conn: &mut Conn,
    tenant_id: &str,
    ids: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let part: Vec<String> = with_conn!(conn, c => users::table
            .filter(users::tenant_id.eq(tenant_id))
            .filter(users::id.eq_any(chunk))
            .select(users::id)
            .load(c))?;
        found.extend(part);
    }
    Ok(found)
}

/// The ids among `ids` of groups of the tenant.
pub fn existing_groups(
    conn: &mut Conn,
    tenant_id: &str,
    ids: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let part: Vec<String> = with_conn!(conn, c => groups::table
            .filter(groups::tenant_id.eq(tenant_id))
            .filter(groups::id.eq_any(chunk))
            .select(groups::id)
            .load(c))?;
        found.extend(part);
    }
    Ok(found)
}

/// Which members of a group to read: all of them, or one keyset page.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemberWindow<'a> {
    /// Only members whose id sorts after this one.
    pub after: Option<&'a str>,
    /// At most this many members.
    pub limit: Option<i64>,
}

/// The members of a group with their display names, in member-id order; with
/// `app_id`, only the users assigned to that application (and every member group).
pub fn member_details(
    conn: &mut Conn,
    scope: &Scope,
    group_id: &str,
    window: MemberWindow,
) -> Result<Vec<MemberDetail>, StoreError> {
    let app_id = scope.limiting_app();
    let (user_display, group_display) = match conn.backend() {
        super::Backend::Sqlite => (
            "COALESCE(json_extract(u.attributes, '$.displayName'), json_extract(u.attributes, '$.userName'))",
            "json_extract(g.attributes, '$.displayName')",
        ),
        super::Backend::Postgres => (
            "COALESCE(u.attributes::jsonb ->> 'displayName', u.attributes::jsonb ->> 'userName')",
            "g.attributes::jsonb ->> 'displayName'",
        ),
    };
    let mut b = SqlBuilder::new(conn.backend());
    b.push(&format!(
        "SELECT gm.member_id, gm.member_type, \
         CASE WHEN gm.member_type = 'User' THEN {user_display} ELSE {group_display} END AS display \
         FROM group_members gm \
         LEFT JOIN users u ON gm.member_type = 'User' AND u.id = gm.member_id \
         LEFT JOIN groups g ON gm.member_type = 'Group' AND g.id = gm.member_id \
         WHERE gm.group_id = "
    ));
    b.text(group_id);
    and_member_visible(&mut b, app_id);
    if let Some(after) = window.after {
        b.push(" AND gm.member_id > ");
        b.text(after);
    }
    b.push(" ORDER BY gm.member_id");
    if let Some(limit) = window.limit {
        b.push(&format!(" LIMIT {}", limit.max(0)));
    }
    load_dynamic(conn, &b)
}

/// Groups containing `group_id`, directly or through other groups.
pub fn ancestors(conn: &mut Conn, group_id: &str) -> Result<Vec<String>, StoreError> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        id: String,
    }
    macro_rules! run {
        ($c:expr, $param:literal) => {{
            let sql = format!(
                "WITH RECURSIVE anc(id) AS (\
                   SELECT gm.group_id FROM group_members gm WHERE gm.member_id = {0} \
                   UNION SELECT gm.group_id FROM group_members gm JOIN anc ON gm.member_id = anc.id) \
                 SELECT id FROM anc",
                $param
            );
            diesel::sql_query(sql).bind::<Text, _>(group_id).load::<Id>($c)?
        }};
    }
    let rows = match conn {
        Conn::Sqlite(c) => run!(&mut **c, "?"),
        Conn::Postgres(c) => run!(&mut **c, "$1"),
    };
    Ok(rows.into_iter().map(|row| row.id).collect())
}

#[derive(QueryableByName)]
struct GroupCount {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

/// A filtered, sorted page of a tenant's groups: their ids, where each one ends and
/// the bytes of its document and custom data (its rows are read afterwards, in
/// batches of a bounded size: [`groups_by_ids`]); with `app_id`, filters on members
/// see only that application's members.
pub fn plan_group_search(
    conn: &mut Conn,
    scope: &Scope,
    filter: Option<&Resolved>,
    sort: Option<&UserSort>,
    window: &UserWindow,
) -> Result<Vec<PlannedRow>, StoreError> {
    let (tenant_id, app_id) = (&*scope.tenant_id, scope.limiting_app());
    let mut b = SqlBuilder::new(conn.backend());
    b.push(
        "SELECT g.id, CAST(octet_length(g.attributes) \
         + COALESCE(octet_length(g.custom_data), 0) AS BIGINT) AS bytes, ",
    );
    match sort {
        Some(sort) => {
            b.push("CAST(");
            push_sort_key(&mut b, ResourceTable::Groups, app_id, &sort.key)?;
            b.push(" AS TEXT)");
        }
        None => {
            b.push("CAST(NULL AS TEXT)");
        }
    }
    b.push(" AS sort_key");
    push_groups_from(conn, &mut b, tenant_id, filter)?;
    if let Some(filter) = filter {
        b.push(" AND ");
        push_group_condition(&mut b, tenant_id, app_id, filter)?;
    }
    let (limit, offset) = match window {
        UserWindow::Offset { offset, limit } => (*limit, Some(*offset)),
        UserWindow::After { position, limit } => {
            if let Some(position) = position {
                b.push(" AND ");
                push_keyset(&mut b, ResourceTable::Groups, app_id, sort, position)?;
            }
            (*limit, None)
        }
    };
    let direction = if sort.is_some_and(|s| s.descending) {
        "DESC"
    } else {
        "ASC"
    };
    b.push(" ORDER BY ");
    if let Some(sort) = sort {
        b.push("(");
        push_order_key(&mut b, ResourceTable::Groups, app_id, &sort.key)?;
        b.push(&format!(") IS NULL {direction}, "));
        push_order_key(&mut b, ResourceTable::Groups, app_id, &sort.key)?;
        b.push(&format!(" {direction}, "));
    }
    b.push(&format!("g.id {direction} LIMIT "));
    b.param(SqlParam::BigInt(limit));
    if let Some(offset) = offset {
        b.push(" OFFSET ");
        b.param(SqlParam::BigInt(offset));
    }
    let rows: Vec<(String, i64, Option<String>)> =
        load_dynamic_columns::<PlannedSqlColumns, _>(conn, &b)?;
    Ok(rows.into_iter().map(PlannedRow::from_columns).collect())
}

/// The trigram index's terms for a search of groups by `filter` (SQLite).
fn trigram_terms(backend: super::Backend, filter: Option<&Resolved>) -> Option<IndexedTerms> {
    let filter = filter.filter(|_| backend == super::Backend::Sqlite)?;
    indexed_terms(filter, ResourceTable::Groups)
}

/// ` FROM … WHERE g.tenant_id = …`: the tenant's groups, or the trigram index's
/// candidates among them when it narrows `filter` (CROSS JOIN keeps them the outer
/// loop).
fn push_groups_from(
    conn: &mut Conn,
    b: &mut SqlBuilder,
    tenant_id: &str,
    filter: Option<&Resolved>,
) -> Result<(), StoreError> {
    match trigram_terms(conn.backend(), filter) {
        Some(terms) => {
            let range = tenant_key_range(conn, tenant_id)?;
            b.push(" FROM group_search s CROSS JOIN groups g ON g.search_key = s.rowid WHERE ");
            push_candidates(b, ResourceTable::Groups, &terms, range);
            b.push(" AND ");
        }
        None => {
            b.push(" FROM groups g WHERE ");
        }
    }
    b.push("g.tenant_id = ");
    b.text(tenant_id);
    Ok(())
}

/// The groups of a tenant with these ids, in no particular order.
pub fn groups_by_ids(
    conn: &mut Conn,
    tenant_id: &str,
    ids: &[String],
) -> Result<Vec<GroupRow>, StoreError> {
    Ok(with_conn!(conn, c => groups::table
        .filter(groups::tenant_id.eq(tenant_id))
        .filter(groups::id.eq_any(ids))
        .select(GroupRow::as_select())
        .load(c))?)
}

/// How many of a tenant's groups match `filter` (members scoped as in [`search_groups`]).
pub fn count_groups(
    conn: &mut Conn,
    scope: &Scope,
    filter: Option<&Resolved>,
) -> Result<i64, StoreError> {
    let (tenant_id, app_id) = (&*scope.tenant_id, scope.limiting_app());
    let mut b = SqlBuilder::new(conn.backend());
    if let Some(terms) = trigram_terms(conn.backend(), filter)
        && terms.exact
        && app_id.is_none()
    {
        let range = tenant_key_range(conn, tenant_id)?;
        return count_candidates(conn, ResourceTable::Groups, &terms, range);
    }
    b.push("SELECT COUNT(*) AS count");
    push_groups_from(conn, &mut b, tenant_id, filter)?;
    if let Some(filter) = filter {
        b.push(" AND ");
        push_group_condition(&mut b, tenant_id, app_id, filter)?;
    }
    let rows: Vec<GroupCount> = load_dynamic(conn, &b)?;
    Ok(rows.first().map_or(0, |row| row.count))
}

#[derive(QueryableByName)]
struct UserGroupRow {
    #[diesel(sql_type = Text)]
    user_id: String,
    #[diesel(embed)]
    group: GroupOfUser,
}

/// Which of these ids are members of some group.
fn members_among(conn: &mut Conn, ids: &[String]) -> Result<Vec<String>, StoreError> {
    #[derive(QueryableByName)]
    struct Member {
        #[diesel(sql_type = Text)]
        member_id: String,
    }
    let mut b = SqlBuilder::new(conn.backend());
    match ids {
        [one] => {
            b.push("SELECT gm.member_id FROM group_members gm WHERE gm.member_id = ");
            b.text(one);
            b.push(" LIMIT 1");
        }
        many => {
            b.push("SELECT j.value AS member_id FROM ");
            push_id_table(&mut b, many);
            b.push(" WHERE EXISTS (SELECT 1 FROM group_members gm WHERE gm.member_id = j.value LIMIT 1)");
        }
    }
    let rows: Vec<Member> = load_dynamic(conn, &b)?;
    Ok(rows.into_iter().map(|row| row.member_id).collect())
}

/// A join to the membership rows of `id`, always looked up in the member index:
/// SQLite's CROSS JOIN keeps the written order, and on PostgreSQL a LATERAL subquery
/// fenced with OFFSET 0 is not turned into a hash join over the whole table (its
/// planner cannot see how few ids there are).
fn memberships_of(backend: super::Backend, id: &str) -> String {
    match backend {
        super::Backend::Sqlite => format!("CROSS JOIN group_members gm ON gm.member_id = {id}"),
        super::Backend::Postgres => format!(
            "CROSS JOIN LATERAL (SELECT gm.member_id, gm.group_id FROM group_members gm \
             WHERE gm.member_id = {id} OFFSET 0) gm"
        ),
    }
}

/// A table `j(value)` of ids bound as one JSON array: the query text is the same
/// for any number of ids (so it stays prepared), and the planner walks the ids
/// rather than the table they are looked up in.
fn push_id_table(b: &mut SqlBuilder, ids: &[String]) {
    let (from, to) = match b.backend() {
        super::Backend::Sqlite => ("json_each(", ") AS j"),
        super::Backend::Postgres => ("jsonb_array_elements_text(CAST(", " AS jsonb)) AS j(value)"),
    };
    b.push(from);
    b.text(&serde_json::Value::from(ids.to_vec()).to_string());
    b.push(to);
}

/// The groups of several users at once (one recursive query), by user id.
pub fn groups_of_users(
    conn: &mut Conn,
    user_ids: &[String],
) -> Result<std::collections::HashMap<String, Vec<GroupOfUser>>, StoreError> {
    // Most users belong to no group: find those that do with one index look-up
    // before walking the nesting for them.
    let mut members = Vec::new();
    for chunk in user_ids.chunks(500) {
        members.extend(members_among(conn, chunk)?);
    }
    groups_of_members(conn, &members)
}

/// The groups of these users, each a member of at least one group, as
/// [`groups_of_users`] gives them.
pub fn groups_of_members(
    conn: &mut Conn,
    member_ids: &[String],
) -> Result<std::collections::HashMap<String, Vec<GroupOfUser>>, StoreError> {
    let mut by_user: std::collections::HashMap<String, Vec<GroupOfUser>> =
        std::collections::HashMap::new();
    for chunk in member_ids.chunks(500) {
        let mut b = SqlBuilder::new(conn.backend());
        // SQLite's CROSS JOIN keeps the written order: from the few ids to the big
        // membership table, never the other way round.
        let (display, outer_first) = match conn.backend() {
            super::Backend::Sqlite => ("json_extract(g.attributes, '$.displayName')", "CROSS JOIN"),
            super::Backend::Postgres => ("g.attributes::jsonb ->> 'displayName'", "JOIN"),
        };
        b.push(
            "WITH RECURSIVE anc(user_id, id, direct) AS (SELECT gm.member_id, gm.group_id, 1 FROM ",
        );
        push_id_table(&mut b, chunk);
        b.push(&format!(
            " {} UNION SELECT anc.user_id, gm.group_id, 0 FROM anc {}) \
             SELECT anc.user_id, anc.id AS group_id, {display} AS display, MAX(anc.direct) = 1 AS direct \
             FROM anc {outer_first} groups g ON g.id = anc.id GROUP BY anc.user_id, anc.id, g.id ORDER BY anc.user_id, anc.id",
            memberships_of(b.backend(), "j.value"),
            memberships_of(b.backend(), "anc.id"),
        ));
        let rows: Vec<UserGroupRow> = load_dynamic(conn, &b)?;
        for row in rows {
            by_user.entry(row.user_id).or_default().push(row.group);
        }
    }
    Ok(by_user)
}
