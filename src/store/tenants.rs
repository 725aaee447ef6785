//! Tenants, their applications (OAuth2 clients) and API tokens.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{api_tokens, applications, tenants};
use super::{Conn, StoreError};
use crate::with_conn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
pub struct TenantRow {
    pub id: String,
    pub name: String,
    pub created_at: NaiveDateTime,
    /// Kept by the user repository as users come and go.
    pub user_count: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = applications)]
pub struct ApplicationRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub client_id: String,
    pub client_secret_hash: String,
    pub is_management: bool,
    pub allow_signup_on_signin: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct TokenRow {
    pub id: String,
    pub tenant_id: String,
    pub app_id: String,
    pub token_hash: String,
    pub kind: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    /// Written at most once a minute per token (see `domain::tokens`).
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn insert_tenant(conn: &mut Conn, row: &TenantRow) -> Result<(), StoreError> {
    with_conn!(conn, c => diesel::insert_into(tenants::table).values(row).execute(c))?;
    super::substring::assign_tenant_prefix(conn, &row.id)?;
    Ok(())
}

pub fn count_tenants(conn: &mut Conn) -> Result<i64, StoreError> {
    Ok(with_conn!(conn, c => tenants::table.count().get_result(c))?)
}

/// Every tenant's id.
pub fn tenant_ids(conn: &mut Conn) -> Result<Vec<String>, StoreError> {
    Ok(with_conn!(conn, c => tenants::table.select(tenants::id).order(tenants::id).load(c))?)
}

pub fn find_tenant_by_name(conn: &mut Conn, name: &str) -> Result<Option<TenantRow>, StoreError> {
    Ok(with_conn!(conn, c => tenants::table
        .filter(tenants::name.eq(name))
        .select(TenantRow::as_select())
        .first(c)
        .optional())?)
}

pub fn insert_application(conn: &mut Conn, row: &ApplicationRow) -> Result<(), StoreError> {
    with_conn!(conn, c => diesel::insert_into(applications::table).values(row).execute(c))?;
    Ok(())
}

pub fn find_application(
    conn: &mut Conn,
    tenant_id: &str,
    app_id: &str,
) -> Result<Option<ApplicationRow>, StoreError> {
    Ok(with_conn!(conn, c => applications::table
        .filter(applications::tenant_id.eq(tenant_id))
        .filter(applications::id.eq(app_id))
        .select(ApplicationRow::as_select())
        .first(c)
        .optional())?)
}

pub fn find_management_application(
    conn: &mut Conn,
    tenant_id: &str,
) -> Result<Option<ApplicationRow>, StoreError> {
    Ok(with_conn!(conn, c => applications::table
        .filter(applications::tenant_id.eq(tenant_id))
        .filter(applications::is_management.eq(true))
        .select(ApplicationRow::as_select())
        .first(c)
        .optional())?)
}

pub fn find_application_by_client_id(
    conn: &mut Conn,
    client_id: &str,
) -> Result<Option<ApplicationRow>, StoreError> {
    Ok(with_conn!(conn, c => applications::table
        .filter(applications::client_id.eq(client_id))
        .select(ApplicationRow::as_select())
        .first(c)
        .optional())?)
}

pub fn insert_token(conn: &mut Conn, row: &TokenRow) -> Result<(), StoreError> {
    with_conn!(conn, c => diesel::insert_into(api_tokens::table).values(row).execute(c))?;
    Ok(())
}

/// The token with this hash together with the application it was issued to.
pub fn find_token_by_hash(
    conn: &mut Conn,
    token_hash: &str,
) -> Result<Option<(TokenRow, ApplicationRow)>, StoreError> {
    Ok(with_conn!(conn, c => api_tokens::table
        .inner_join(applications::table)
        .filter(api_tokens::token_hash.eq(token_hash))
        .select((TokenRow::as_select(), ApplicationRow::as_select()))
        .first(c)
        .optional())?)
}

/// A tenant's unrevoked tokens of `kind` in id order (creation order: ids are
/// UUIDv7), those after id `after` when given, at most `limit` when given.
pub fn list_tokens(
    conn: &mut Conn,
    tenant_id: &str,
    kind: &str,
    after: Option<&str>,
    limit: Option<i64>,
) -> Result<Vec<TokenRow>, StoreError> {
    Ok(with_conn!(conn, c => {
        let mut query = api_tokens::table
            .filter(api_tokens::tenant_id.eq(tenant_id))
            .filter(api_tokens::kind.eq(kind))
            .filter(api_tokens::revoked_at.is_null())
            .order(api_tokens::id)
            .select(TokenRow::as_select())
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(api_tokens::id.gt(after));
        }
        if let Some(limit) = limit {
            query = query.limit(limit);
        }
        query.load(c)
    })?)
}

/// Revokes the tenant's unrevoked token `id` of `kind` at `now`; whether there was
/// one. The row stays, so that a later use is known as a use of a revoked token.
pub fn revoke_token(
    conn: &mut Conn,
    tenant_id: &str,
    id: &str,
    kind: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let revoked = with_conn!(conn, c => diesel::update(
        api_tokens::table
            .filter(api_tokens::tenant_id.eq(tenant_id))
            .filter(api_tokens::id.eq(id))
            .filter(api_tokens::kind.eq(kind))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(now))
    .execute(c))?;
    Ok(revoked > 0)
}

/// Sets a token's last use to `now` unless it was recorded after `stale_before`
/// (another instance may have just written it).
pub fn record_token_use(
    conn: &mut Conn,
    id: &str,
    now: NaiveDateTime,
    stale_before: NaiveDateTime,
) -> Result<(), StoreError> {
    with_conn!(conn, c => diesel::update(
        api_tokens::table
            .filter(api_tokens::id.eq(id))
            .filter(api_tokens::last_used_at.is_null().or(api_tokens::last_used_at.lt(stale_before))),
    )
    .set(api_tokens::last_used_at.eq(now))
    .execute(c))?;
    Ok(())
}

/// Removes expired tokens of `kind`; returns how many went.
pub fn delete_expired_tokens(
    conn: &mut Conn,
    now: NaiveDateTime,
    kind: &str,
) -> Result<usize, StoreError> {
    Ok(with_conn!(conn, c => diesel::delete(
        api_tokens::table
            .filter(api_tokens::expires_at.lt(now))
            .filter(api_tokens::kind.eq(kind))
    )
    .execute(c))?)
}

/// A tenant's applications, Management Application first.
pub fn list_applications(
    conn: &mut Conn,
    tenant_id: &str,
) -> Result<Vec<ApplicationRow>, StoreError> {
    Ok(with_conn!(conn, c => applications::table
        .filter(applications::tenant_id.eq(tenant_id))
        .order((applications::is_management.desc(), applications::created_at, applications::id))
        .select(ApplicationRow::as_select())
        .load(c))?)
}

/// Changes an application's name and sign-up setting.
pub fn update_application(
    conn: &mut Conn,
    tenant_id: &str,
    app_id: &str,
    name: &str,
    allow_signup_on_signin: bool,
) -> Result<bool, StoreError> {
    let updated = with_conn!(conn, c => diesel::update(
        applications::table.filter(applications::tenant_id.eq(tenant_id)).filter(applications::id.eq(app_id)),
    )
    .set((applications::name.eq(name), applications::allow_signup_on_signin.eq(allow_signup_on_signin)))
    .execute(c))?;
    Ok(updated > 0)
}

/// Replaces an application's client secret hash and ends what the old secret
/// opened: its access tokens and Admin Portal sessions (long-lived SCIM tokens stay).
pub fn rotate_application_secret(
    conn: &mut Conn,
    tenant_id: &str,
    app_id: &str,
    secret_hash: &str,
) -> Result<bool, StoreError> {
    let updated = with_conn!(conn, c => diesel::update(
        applications::table.filter(applications::tenant_id.eq(tenant_id)).filter(applications::id.eq(app_id)),
    )
    .set(applications::client_secret_hash.eq(secret_hash))
    .execute(c))?;
    with_conn!(conn, c => diesel::delete(
        api_tokens::table
            .filter(api_tokens::app_id.eq(app_id))
            .filter(api_tokens::kind.eq_any(["access", "portal"])),
    )
    .execute(c))?;
    Ok(updated > 0)
}

/// Deletes an application; its tokens and assignments go with it.
pub fn delete_application(
    conn: &mut Conn,
    tenant_id: &str,
    app_id: &str,
) -> Result<bool, StoreError> {
    let deleted = with_conn!(conn, c => diesel::delete(
        applications::table.filter(applications::tenant_id.eq(tenant_id)).filter(applications::id.eq(app_id)),
    )
    .execute(c))?;
    Ok(deleted > 0)
}
