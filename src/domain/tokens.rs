//! Long-lived SCIM tokens of a tenant: issued with an optional expiry, listed
//! (never their secret or its hash) and revoked. Only the Management Application's
//! tokens manage them over HTTP; the CLI names the tenant.

use chrono::{Duration, NaiveDateTime};
use serde::Serialize;
use serde_json::{Value, json};

use super::audit::{NewEvent, record};
use super::tenants::{TOKEN_KIND_SCIM, insert_token};
use super::{DomainError, now};
use crate::store::tenants::{self as repo, ApplicationRow, TenantRow, TokenRow};
use crate::store::{Conn, Scope, Store};
use crate::time::format_time;

/// Longest lifetime a token may be given: ten years.
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 10 * 365 * 24 * 3600;

/// A long-lived token as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: String,
    pub app_id: String,
    pub kind: String,
    pub created: String,
    pub last_used: Option<String>,
    pub expires: Option<String>,
}

impl From<TokenRow> for TokenInfo {
    fn from(row: TokenRow) -> Self {
        TokenInfo {
            id: row.id,
            app_id: row.app_id,
            kind: row.kind,
            created: format_time(row.created_at),
            last_used: row.last_used_at.map(format_time),
            expires: row.expires_at.map(format_time),
        }
    }
}

/// A token just issued: the only time its secret is shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedToken {
    pub scim_token: String,
    pub id: String,
    pub expires: Option<String>,
}

/// When a new token expires: after `seconds`, or at a given time.
#[derive(Debug, Clone, Copy)]
pub enum Expiry {
    In(i64),
    At(NaiveDateTime),
}

/// The expiry time of `expiry` as stored: in the future, at most ten years ahead.
pub fn expiry_time(expiry: Option<Expiry>) -> Result<Option<NaiveDateTime>, DomainError> {
    let Some(expiry) = expiry else {
        return Ok(None);
    };
    let now = now();
    let at = match expiry {
        Expiry::In(seconds) if (1..=MAX_TOKEN_LIFETIME_SECS).contains(&seconds) => {
            now + Duration::seconds(seconds)
        }
        Expiry::In(_) => {
            return Err(DomainError::InvalidValue(format!(
                "a token's lifetime must be 1 to {MAX_TOKEN_LIFETIME_SECS} seconds (ten years)"
            )));
        }
        Expiry::At(at) => at,
    };
    if at <= now || at > now + Duration::seconds(MAX_TOKEN_LIFETIME_SECS) {
        return Err(DomainError::InvalidValue(
            "a token's expiry must be in the future and at most ten years ahead".into(),
        ));
    }
    Ok(Some(at))
}

fn require_management(scope: &Scope) -> Result<(), DomainError> {
    if scope.is_management() {
        Ok(())
    } else {
        Err(DomainError::Forbidden(
            "only the Management Application's tokens manage tokens".into(),
        ))
    }
}

fn token_not_found(id: &str) -> DomainError {
    DomainError::NotFound(format!("Token '{id}' not found"))
}

/// Every audit event about a token is written here (`token.created`,
/// `token.revoked`): by the request's Management Application, or by the CLI when
/// `by` is `None`.
fn record_token_event(
    conn: &mut Conn,
    tenant_id: &str,
    by: Option<&Scope>,
    action: &str,
    token_id: &str,
    detail: Value,
) -> Result<(), DomainError> {
    let event = match by {
        Some(scope) => NewEvent::by(scope, "Token", action, token_id),
        None => NewEvent::by_cli(tenant_id, "Token", action, token_id),
    };
    record(conn, event.detail(detail))
}

fn issue(
    conn: &mut Conn,
    by: Option<&Scope>,
    app: &ApplicationRow,
    expires_at: Option<NaiveDateTime>,
) -> Result<IssuedToken, DomainError> {
    let (id, scim_token) = insert_token(conn, app, TOKEN_KIND_SCIM, expires_at)?;
    let expires = expires_at.map(format_time);
    record_token_event(
        conn,
        &app.tenant_id,
        by,
        "token.created",
        &id,
        json!({ "app_id": app.id, "expires": expires }),
    )?;
    Ok(IssuedToken {
        scim_token,
        id,
        expires,
    })
}

fn revoke(
    conn: &mut Conn,
    tenant_id: &str,
    by: Option<&Scope>,
    id: &str,
) -> Result<(), DomainError> {
    if !repo::revoke_token(conn, tenant_id, id, TOKEN_KIND_SCIM, now())? {
        return Err(token_not_found(id));
    }
    record_token_event(conn, tenant_id, by, "token.revoked", id, Value::Null)
}

/// A new long-lived SCIM token for an application of the caller's tenant (the
/// caller's own when `app_id` is `None`), e.g. for an identity provider.
pub async fn create_token(
    store: &Store,
    scope: &Scope,
    app_id: Option<String>,
    expiry: Option<Expiry>,
) -> Result<IssuedToken, DomainError> {
    require_management(scope)?;
    let expires_at = expiry_time(expiry)?;
    let scope = scope.clone();
    store
        .write(move |conn| {
            let app_id = app_id.unwrap_or_else(|| scope.app_id.to_string());
            let app =
                repo::find_application(conn, &scope.tenant_id, &app_id)?.ok_or_else(|| {
                    DomainError::NotFound(format!("Application '{app_id}' not found"))
                })?;
            issue(conn, Some(&scope), &app, expires_at)
        })
        .await
}

/// Most tokens of one page.
pub const MAX_TOKENS_PER_PAGE: i64 = 1000;

/// A page of a tenant's long-lived tokens, oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenPage {
    pub tokens: Vec<TokenInfo>,
    /// Where the next page starts (`?cursor=`); `None` on the last page.
    pub next_cursor: Option<String>,
}

/// The caller's tenant's long-lived tokens after `cursor` (a previous page's
/// `next_cursor`), at most `limit` (1 to [`MAX_TOKENS_PER_PAGE`]).
pub async fn list_tokens(
    store: &Store,
    scope: &Scope,
    cursor: Option<String>,
    limit: i64,
) -> Result<TokenPage, DomainError> {
    require_management(scope)?;
    let limit = limit.clamp(1, MAX_TOKENS_PER_PAGE);
    let tenant_id = scope.tenant_id.clone();
    store
        .read(move |conn| {
            let mut rows = repo::list_tokens(
                conn,
                &tenant_id,
                TOKEN_KIND_SCIM,
                cursor.as_deref(),
                Some(limit + 1),
            )?;
            let more = rows.len() as i64 > limit;
            rows.truncate(limit as usize);
            let next_cursor = more
                .then(|| rows.last().map(|row| row.id.clone()))
                .flatten();
            Ok(TokenPage {
                tokens: rows.into_iter().map(TokenInfo::from).collect(),
                next_cursor,
            })
        })
        .await
}

/// Revokes one of the caller's tenant's long-lived tokens. The caller also drops it
/// from its instance's token cache.
pub async fn revoke_token(store: &Store, scope: &Scope, id: String) -> Result<(), DomainError> {
    require_management(scope)?;
    let scope = scope.clone();
    store
        .write(move |conn| revoke(conn, &scope.tenant_id, Some(&scope), &id))
        .await
}

/// The tenant named `tenant_name`, for the CLI.
fn tenant_named(conn: &mut Conn, tenant_name: &str) -> Result<TenantRow, DomainError> {
    repo::find_tenant_by_name(conn, tenant_name)?
        .ok_or_else(|| DomainError::NotFound(format!("no tenant named '{tenant_name}'")))
}

/// `roster token create`: a new long-lived SCIM token for the tenant named
/// `tenant_name`, bound to `app_id` or, when `None`, to its Management Application.
pub fn create_scim_token(
    conn: &mut Conn,
    tenant_name: &str,
    app_id: Option<&str>,
    expiry: Option<Expiry>,
) -> Result<IssuedToken, DomainError> {
    let expires_at = expiry_time(expiry)?;
    let tenant = tenant_named(conn, tenant_name)?;
    let app = match app_id {
        Some(app_id) => repo::find_application(conn, &tenant.id, app_id)?.ok_or_else(|| {
            DomainError::NotFound(format!(
                "tenant '{tenant_name}' has no application '{app_id}'"
            ))
        })?,
        None => repo::find_management_application(conn, &tenant.id)?.ok_or_else(|| {
            DomainError::NotFound(format!(
                "tenant '{tenant_name}' has no Management Application"
            ))
        })?,
    };
    issue(conn, None, &app, expires_at)
}

/// `roster token list`.
pub fn list_tenant_tokens(
    conn: &mut Conn,
    tenant_name: &str,
) -> Result<Vec<TokenInfo>, DomainError> {
    let tenant = tenant_named(conn, tenant_name)?;
    Ok(
        repo::list_tokens(conn, &tenant.id, TOKEN_KIND_SCIM, None, None)?
            .into_iter()
            .map(TokenInfo::from)
            .collect(),
    )
}

/// `roster token revoke`: running instances stop accepting the token within their
/// token cache's lifetime.
pub fn revoke_tenant_token(
    conn: &mut Conn,
    tenant_name: &str,
    id: &str,
) -> Result<(), DomainError> {
    let tenant = tenant_named(conn, tenant_name)?;
    revoke(conn, &tenant.id, None, id)
}
