//! Admin Portal sessions. The tenant's Management Application signs in with its
//! client id and secret and gets a server-side session: a token of kind `portal`
//! whose hash is stored like any token's, that ends on sign-out, after an idle
//! period, or at the end of its lifetime. A session token is refused as a bearer
//! token: it only opens the portal.

use chrono::Duration;

use super::tenants::{ClientCredentials, TOKEN_KIND_PORTAL, exchange_credentials};
use super::{DomainError, now};
use crate::auth::hash_token;
use crate::store::tenants as repo;
use crate::store::{Scope, Store};

/// How long a session lasts.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// A session unused this long is over.
    pub idle_timeout: Duration,
    /// A session is over this long after sign-in, however busy.
    pub lifetime: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle_timeout: Duration::minutes(30),
            lifetime: Duration::hours(12),
        }
    }
}

/// A session's use is recorded at most this often, so that a busy session costs
/// one write a minute rather than one a page.
const USE_RECORD_INTERVAL_SECS: i64 = 60;

/// A signed-in session: its token goes into the cookie, and nowhere else.
#[derive(Debug)]
pub struct OpenedSession {
    pub token: String,
    pub scope: Scope,
}

/// Signs the Management Application in; a wrong secret, or the credentials of
/// another application, is refused and recorded (`auth.failed`).
pub async fn open_session(
    store: &Store,
    credentials: ClientCredentials,
    policy: SessionPolicy,
) -> Result<OpenedSession, DomainError> {
    let (app, token) =
        exchange_credentials(store, credentials, true, TOKEN_KIND_PORTAL, policy.lifetime).await?;
    let scope = Scope::new(app.tenant_id.into(), app.id.into(), true);
    Ok(OpenedSession { token, scope })
}

/// The scope of the session `token`, or `None` when it is unknown, signed out,
/// idle too long or past its lifetime.
pub async fn session_scope(
    store: &Store,
    token: String,
    policy: SessionPolicy,
) -> Result<Option<Scope>, DomainError> {
    let token_hash = hash_token(&token);
    let found = store
        .read(move |conn| repo::find_token_by_hash(conn, &token_hash))
        .await?;
    let Some((row, app)) = found else {
        return Ok(None);
    };
    let at = now();
    let last_active = row.last_used_at.unwrap_or(row.created_at);
    let open = row.kind == TOKEN_KIND_PORTAL
        && app.is_management
        && row.revoked_at.is_none()
        && row.expires_at.is_some_and(|expiry| expiry > at)
        && last_active + policy.idle_timeout > at;
    if !open {
        return Ok(None);
    }
    if at - last_active >= Duration::seconds(USE_RECORD_INTERVAL_SECS) {
        let stale_before = at - Duration::seconds(USE_RECORD_INTERVAL_SECS / 2);
        let id = row.id.clone();
        // The page can be shown without it: a failure is only logged.
        let recorded = store
            .write(move |conn| repo::record_token_use(conn, &id, at, stale_before))
            .await;
        if let Err(error) = recorded {
            tracing::warn!(%error, "could not record a portal session's use");
        }
    }
    Ok(Some(Scope::new(app.tenant_id.into(), app.id.into(), true)))
}

/// Ends the session `token` on the server; unknown tokens are ignored.
pub async fn close_session(store: &Store, token: String) -> Result<(), DomainError> {
    let token_hash = hash_token(&token);
    store
        .write(move |conn| {
            if let Some((row, app)) = repo::find_token_by_hash(conn, &token_hash)?
                && row.kind == TOKEN_KIND_PORTAL
            {
                repo::revoke_token(conn, &app.tenant_id, &row.id, TOKEN_KIND_PORTAL, now())?;
            }
            Ok(())
        })
        .await
}
