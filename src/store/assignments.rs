//! Per-application data on users (`user_apps`) and linked social accounts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{applications, social_accounts, user_apps};
use super::{Conn, Scope, StoreError};
use crate::with_conn;

/// One user's assignment to one application.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = user_apps, treat_none_as_null = true)]
pub struct AssignmentRow {
    pub user_id: String,
    pub app_id: String,
    pub tenant_id: String,
    pub external_account_id: Option<String>,
    pub custom_app_data: Option<String>,
    pub consents: Option<String>,
    pub assigned_at: NaiveDateTime,
    pub last_sign_in: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = social_accounts)]
pub struct SocialAccountRow {
    pub user_id: String,
    pub tenant_id: String,
    pub provider: String,
    pub subject: String,
    pub email: Option<String>,
    pub linked_at: NaiveDateTime,
}

/// The assignments of these users that `scope` may see (an application sees only
/// its own), with each application's name.
pub fn assignments_of(
    conn: &mut Conn,
    scope: &Scope,
    user_ids: &[String],
) -> Result<Vec<(AssignmentRow, String)>, StoreError> {
    let only_app = scope.limiting_app();
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(with_conn!(conn, c => {
        let mut query = user_apps::table
            .inner_join(applications::table)
            .select((AssignmentRow::as_select(), applications::name))
            .into_boxed();
        // One id compares with `=`, which (unlike IN) lets the statement stay prepared.
        query = match user_ids {
            [one] => query.filter(user_apps::user_id.eq(one)),
            many => query.filter(user_apps::user_id.eq_any(many)),
        };
        if let Some(app_id) = only_app {
            query = query.filter(user_apps::app_id.eq(app_id));
        }
        query.load::<(AssignmentRow, String)>(c)
    })
    .map(|mut rows| {
        // Sorted here: the few rows of a user need no SQL sorter.
        rows.sort_by(|(a, _), (b, _)| {
            (&a.user_id, a.assigned_at, &a.app_id).cmp(&(&b.user_id, b.assigned_at, &b.app_id))
        });
        rows
    })?)
}

pub fn find_assignment(
    conn: &mut Conn,
    user_id: &str,
    app_id: &str,
) -> Result<Option<AssignmentRow>, StoreError> {
    Ok(with_conn!(conn, c => user_apps::table
        .filter(user_apps::user_id.eq(user_id))
        .filter(user_apps::app_id.eq(app_id))
        .select(AssignmentRow::as_select())
        .first(c)
        .optional())?)
}

/// Inserts the assignment, or updates it when the user already has one to the app.
pub fn upsert_assignment(conn: &mut Conn, row: &AssignmentRow) -> Result<(), StoreError> {
    with_conn!(conn, c => diesel::insert_into(user_apps::table)
        .values(row)
        .on_conflict((user_apps::user_id, user_apps::app_id))
        .do_update()
        .set(row)
        .execute(c))?;
    Ok(())
}

pub fn delete_assignment(conn: &mut Conn, user_id: &str, app_id: &str) -> Result<bool, StoreError> {
    let deleted = with_conn!(conn, c => diesel::delete(
        user_apps::table.filter(user_apps::user_id.eq(user_id)).filter(user_apps::app_id.eq(app_id)),
    )
    .execute(c))?;
    Ok(deleted > 0)
}

pub fn count_assignments(conn: &mut Conn, user_id: &str) -> Result<i64, StoreError> {
    Ok(with_conn!(conn, c => user_apps::table
        .filter(user_apps::user_id.eq(user_id))
        .count()
        .get_result(c))?)
}

/// Records a sign-in on the assignment (and nothing when there is none).
pub fn touch_assignment(
    conn: &mut Conn,
    user_id: &str,
    app_id: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    with_conn!(conn, c => diesel::update(
        user_apps::table.filter(user_apps::user_id.eq(user_id)).filter(user_apps::app_id.eq(app_id)),
    )
    .set(user_apps::last_sign_in.eq(Some(at)))
    .execute(c))?;
    Ok(())
}

pub fn social_accounts_of(
    conn: &mut Conn,
    user_ids: &[String],
) -> Result<Vec<SocialAccountRow>, StoreError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(with_conn!(conn, c => {
        let query = social_accounts::table
            .select(SocialAccountRow::as_select())
            .into_boxed();
        match user_ids {
            [one] => query.filter(social_accounts::user_id.eq(one)),
            many => query.filter(social_accounts::user_id.eq_any(many)),
        }
        .load::<SocialAccountRow>(c)
    })
    .map(|mut rows| {
        rows.sort_by(|a, b| (&a.user_id, a.linked_at).cmp(&(&b.user_id, b.linked_at)));
        rows
    })?)
}

pub fn find_social_account(
    conn: &mut Conn,
    tenant_id: &str,
    provider: &str,
    subject: &str,
) -> Result<Option<SocialAccountRow>, StoreError> {
    Ok(with_conn!(conn, c => social_accounts::table
        .filter(social_accounts::tenant_id.eq(tenant_id))
        .filter(social_accounts::provider.eq(provider))
        .filter(social_accounts::subject.eq(subject))
        .select(SocialAccountRow::as_select())
        .first(c)
        .optional())?)
}

pub fn insert_social_account(conn: &mut Conn, row: &SocialAccountRow) -> Result<(), StoreError> {
    with_conn!(conn, c => diesel::insert_into(social_accounts::table).values(row).execute(c))?;
    Ok(())
}
