//! Tenants, their Management Application, and the credentials that reach them.

use std::sync::Arc;

use chrono::Duration;
use serde::Serialize;

use super::audit::{NewEvent, record};
use super::{DomainError, new_id, now};
use crate::auth::{
    TOKEN_USE_RECORD_INTERVAL_SECS, TokenCache, VerifiedToken, generate_secret, hash_token,
    stored_hash, token_digest, verify_token_hash,
};
use crate::store::tenants::{self as repo, ApplicationRow, TenantRow, TokenRow};
use crate::store::{Conn, Scope, Store, StoreError};

/// What `roster tenant create` prints: the only time the secret and token are shown.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct TenantCredentials {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub scim_token: String,
}

/// A freshly issued OAuth2 access token.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccessToken {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
}

pub(super) const TOKEN_KIND_SCIM: &str = "scim";
const TOKEN_KIND_ACCESS: &str = "access";
/// An Admin Portal session (see [`super::sessions`]).
pub(super) const TOKEN_KIND_PORTAL: &str = "portal";
pub const ACCESS_TOKEN_LIFETIME_SECS: i64 = 3600;

/// Creates a tenant with its Management Application, client credentials and one
/// long-lived SCIM token.
pub fn create_tenant(conn: &mut Conn, name: &str) -> Result<TenantCredentials, DomainError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(DomainError::InvalidValue(
            "a tenant name must have 1 to 200 characters".into(),
        ));
    }
    let created_at = now();
    let tenant = TenantRow {
        id: new_id(),
        name: name.to_owned(),
        created_at,
        user_count: 0,
    };
    repo::insert_tenant(conn, &tenant).map_err(|e| match e {
        StoreError::UniqueViolation(_) => {
            DomainError::Conflict(format!("a tenant named '{name}' already exists"))
        }
        other => other.into(),
    })?;
    let client_id = generate_secret("rcl_");
    let client_secret = generate_secret("rcs_");
    let app = ApplicationRow {
        id: new_id(),
        tenant_id: tenant.id.clone(),
        name: "Management Application".into(),
        client_id: client_id.clone(),
        client_secret_hash: hash_token(&client_secret),
        is_management: true,
        allow_signup_on_signin: false,
        created_at,
    };
    repo::insert_application(conn, &app)?;
    let (_, scim_token) = insert_token(conn, &app, TOKEN_KIND_SCIM, None)?;
    Ok(TenantCredentials {
        tenant_id: tenant.id,
        client_id,
        client_secret,
        scim_token,
    })
}

/// On an empty database, creates the tenant `default` and returns its credentials.
pub fn ensure_default_tenant(conn: &mut Conn) -> Result<Option<TenantCredentials>, DomainError> {
    if repo::count_tenants(conn)? > 0 {
        return Ok(None);
    }
    create_tenant(conn, "default").map(Some)
}

/// The scope of a command-line tool working on tenant `tenant_name`: the whole
/// tenant, with its events' actor `cli`.
pub fn command_line_scope(conn: &mut Conn, tenant_name: &str) -> Result<Scope, DomainError> {
    let tenant = repo::find_tenant_by_name(conn, tenant_name)?
        .ok_or_else(|| DomainError::NotFound(format!("no tenant named '{tenant_name}'")))?;
    Ok(Scope::new(
        tenant.id.into(),
        super::audit::CLI_ACTOR.into(),
        true,
    ))
}

/// The caller a bearer token stands for, if the token is known and unexpired.
/// Verified tokens are remembered in `cache` for a short while; a long-lived
/// token's use is recorded when its last recorded use is a minute old. An expired
/// token of a tenant is recorded in its audit log (`auth.failed`) as a refusal of
/// request `request_id`.
pub async fn authenticate_bearer(
    store: &Store,
    cache: &TokenCache,
    token: String,
    request_id: Option<&str>,
) -> Result<Scope, DomainError> {
    let digest = token_digest(&token);
    if let Some((scope, due_use)) = cache.get(&digest) {
        if let Some(id) = due_use {
            record_token_use(store, id).await;
        }
        return Ok(scope);
    }
    let token_hash = stored_hash(&digest);
    let found = store
        .read(move |conn| repo::find_token_by_hash(conn, &token_hash))
        .await?;
    let invalid = || DomainError::Unauthorized("the bearer token is invalid or expired".into());
    let (token_row, app) = found
        .filter(|(row, _)| row.kind != TOKEN_KIND_PORTAL)
        .ok_or_else(invalid)?;
    let refusal = if token_row.revoked_at.is_some() {
        Some("revoked token")
    } else if token_row.expires_at.is_some_and(|expiry| expiry <= now()) {
        Some("expired token")
    } else {
        None
    };
    if let Some(reason) = refusal {
        let request_id = request_id.map(str::to_owned);
        store
            .write(move |conn| {
                record(
                    conn,
                    NewEvent::refused(
                        &app.tenant_id,
                        request_id.as_deref(),
                        "Application",
                        &app.id,
                    )
                    .detail(serde_json::json!({
                        "reason": reason,
                        "token_id": token_row.id,
                    })),
                )
            })
            .await?;
        return Err(invalid());
    }
    let scope = Scope::new(app.tenant_id.into(), app.id.into(), app.is_management);
    let expires_in = token_row
        .expires_at
        .map(|expiry| (expiry - now()).to_std().unwrap_or_default());
    let verified = VerifiedToken {
        scope: scope.clone(),
        id: token_row.id.into(),
        records_use: token_row.kind == TOKEN_KIND_SCIM,
        last_used: token_row.last_used_at.map(|at| at.and_utc().timestamp()),
    };
    if let Some(id) = cache.put(digest, verified, expires_in) {
        record_token_use(store, id).await;
    }
    Ok(scope)
}

/// Records that a token was used now (see [`crate::auth::TokenCache`] for how
/// seldom); a failure is only logged, as the request it came with goes on.
async fn record_token_use(store: &Store, id: Arc<str>) {
    let used_at = now();
    // Another instance may have just written it; half the interval keeps the
    // recorded time at most about a minute behind despite whole-second clocks.
    let stale_before = used_at - Duration::seconds(TOKEN_USE_RECORD_INTERVAL_SECS / 2);
    let outcome = store
        .write(move |conn| repo::record_token_use(conn, &id, used_at, stale_before))
        .await;
    if let Err(error) = outcome {
        tracing::warn!(%error, "could not record a token's last use");
    }
}

/// OAuth2 client-credentials grant: checks the client's secret and issues a
/// short-lived access token for its application. A wrong secret for a known client
/// is recorded in its tenant's audit log (`auth.failed`, with the client id and the
/// caller's `address` and the `request_id`, never the secret).
pub async fn issue_access_token(
    store: &Store,
    credentials: ClientCredentials,
) -> Result<AccessToken, DomainError> {
    let lifetime = Duration::seconds(ACCESS_TOKEN_LIFETIME_SECS);
    let (_, access_token) =
        exchange_credentials(store, credentials, false, TOKEN_KIND_ACCESS, lifetime).await?;
    Ok(AccessToken {
        access_token,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_LIFETIME_SECS,
    })
}

/// Client credentials as presented, and by whom.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
    pub address: Option<std::net::IpAddr>,
    pub request_id: Option<String>,
}

/// Checks `credentials` (of the Management Application only, when
/// `management_only`) and issues a token of `kind` that expires after `lifetime`;
/// expired tokens of that kind go. A refusal is recorded in the tenant's audit log.
pub(super) async fn exchange_credentials(
    store: &Store,
    credentials: ClientCredentials,
    management_only: bool,
    kind: &'static str,
    lifetime: Duration,
) -> Result<(ApplicationRow, String), DomainError> {
    // The outer error rolls back; the inner one is the refusal, which commits its
    // audit event.
    type Outcome = Result<(ApplicationRow, String), DomainError>;
    store
        .write(move |conn| -> Result<Outcome, DomainError> {
            let app = match check_client_secret(conn, &credentials, management_only)? {
                Ok(app) => app,
                Err(refusal) => return Ok(Err(refusal)),
            };
            // Long-lived tokens stay, expired or revoked, so that a later use is
            // recorded as the tenant's refused authentication.
            repo::delete_expired_tokens(conn, now(), kind)?;
            let (_, token) = insert_token(conn, &app, kind, Some(now() + lifetime))?;
            Ok(Ok((app, token)))
        })
        .await?
}

/// The application `client_id` names when `client_secret` is its secret (and it is
/// the Management Application, when `management_only`); otherwise the refusal, as
/// the inner error. A refusal of a known client is recorded in its tenant's audit
/// log inside the caller's transaction, which commits it although the request fails.
fn check_client_secret(
    conn: &mut Conn,
    credentials: &ClientCredentials,
    management_only: bool,
) -> Result<Result<ApplicationRow, DomainError>, DomainError> {
    let invalid = || DomainError::Unauthorized("client authentication failed".into());
    let Some(app) = repo::find_application_by_client_id(conn, &credentials.client_id)? else {
        return Ok(Err(invalid()));
    };
    let refusal = if !verify_token_hash(&credentials.client_secret, &app.client_secret_hash) {
        "wrong client secret"
    } else if management_only && !app.is_management {
        "not the Management Application"
    } else {
        return Ok(Ok(app));
    };
    record(
        conn,
        NewEvent::refused(
            &app.tenant_id,
            credentials.request_id.as_deref(),
            "Application",
            &app.id,
        )
        .detail(serde_json::json!({
            "client_id": app.client_id,
            "address": credentials.address.map(|a| a.to_string()),
            "reason": refusal,
        })),
    )?;
    Ok(Err(invalid()))
}

/// Stores a new token of `kind` for `app`; returns its id and the token itself.
pub(super) fn insert_token(
    conn: &mut Conn,
    app: &ApplicationRow,
    kind: &str,
    expires_at: Option<chrono::NaiveDateTime>,
) -> Result<(String, String), DomainError> {
    let prefix = if kind == TOKEN_KIND_SCIM {
        "rst_"
    } else {
        "rat_"
    };
    let token = generate_secret(prefix);
    let id = new_id();
    repo::insert_token(
        conn,
        &TokenRow {
            id: id.clone(),
            tenant_id: app.tenant_id.clone(),
            app_id: app.id.clone(),
            token_hash: hash_token(&token),
            kind: kind.to_owned(),
            created_at: now(),
            expires_at,
            last_used_at: None,
            revoked_at: None,
        },
    )?;
    Ok((id, token))
}
