//! Applications of a tenant, managed with the Management Application's tokens.

use serde::Serialize;

use super::audit::{NewEvent, record};
use super::{DomainError, new_id, now};
use crate::auth::{generate_secret, hash_token};
use crate::store::Scope;
use crate::store::Store;
use crate::store::tenants::{self as repo, ApplicationRow};
use crate::time::format_time;

/// An application as the API shows it (never its secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Application {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub allow_signup_on_signin: bool,
    pub management: bool,
    pub created: String,
    /// Only when just created or rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl Application {
    fn from_row(row: ApplicationRow, client_secret: Option<String>) -> Self {
        Application {
            id: row.id,
            name: row.name,
            client_id: row.client_id,
            allow_signup_on_signin: row.allow_signup_on_signin,
            management: row.is_management,
            created: format_time(row.created_at),
            client_secret,
        }
    }
}

/// What can be set on an application.
#[derive(Debug, Clone)]
pub struct ApplicationSettings {
    pub name: String,
    pub allow_signup_on_signin: bool,
}

fn require_management(scope: &Scope) -> Result<(), DomainError> {
    if scope.is_management() {
        Ok(())
    } else {
        Err(DomainError::Forbidden(
            "only the Management Application's tokens manage applications".into(),
        ))
    }
}

fn check_name(name: &str) -> Result<String, DomainError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(DomainError::InvalidValue(
            "an application name must have 1 to 200 characters, none of them control characters"
                .into(),
        ));
    }
    Ok(name.to_owned())
}

fn not_found(id: &str) -> DomainError {
    DomainError::NotFound(format!("Application '{id}' not found"))
}

/// Records an event about application `app_id` inside the caller's transaction.
fn audit(
    conn: &mut crate::store::Conn,
    scope: &Scope,
    action: &str,
    app_id: &str,
) -> Result<(), DomainError> {
    super::record_event(
        conn,
        scope,
        "Application",
        action,
        app_id,
        serde_json::Value::Null,
    )
}

pub async fn create_application(
    store: &Store,
    scope: &Scope,
    settings: ApplicationSettings,
) -> Result<Application, DomainError> {
    require_management(scope)?;
    let name = check_name(&settings.name)?;
    let scope = scope.clone();
    store
        .write(move |conn| {
            let client_secret = generate_secret("rcs_");
            let row = ApplicationRow {
                id: new_id(),
                tenant_id: scope.tenant_id.to_string(),
                name,
                client_id: generate_secret("rcl_"),
                client_secret_hash: hash_token(&client_secret),
                is_management: false,
                allow_signup_on_signin: settings.allow_signup_on_signin,
                created_at: now(),
            };
            repo::insert_application(conn, &row)?;
            audit(conn, &scope, "application.created", &row.id)?;
            Ok(Application::from_row(row, Some(client_secret)))
        })
        .await
}

pub async fn list_applications(
    store: &Store,
    scope: &Scope,
) -> Result<Vec<Application>, DomainError> {
    require_management(scope)?;
    let tenant_id = scope.tenant_id.clone();
    store
        .read(move |conn| {
            Ok(repo::list_applications(conn, &tenant_id)?
                .into_iter()
                .map(|row| Application::from_row(row, None))
                .collect())
        })
        .await
}

pub async fn get_application(
    store: &Store,
    scope: &Scope,
    id: String,
) -> Result<Application, DomainError> {
    require_management(scope)?;
    let tenant_id = scope.tenant_id.clone();
    store
        .read(move |conn| {
            let row =
                repo::find_application(conn, &tenant_id, &id)?.ok_or_else(|| not_found(&id))?;
            Ok(Application::from_row(row, None))
        })
        .await
}

pub async fn update_application(
    store: &Store,
    scope: &Scope,
    id: String,
    settings: ApplicationSettings,
) -> Result<Application, DomainError> {
    require_management(scope)?;
    let name = check_name(&settings.name)?;
    let scope = scope.clone();
    store
        .write(move |conn| {
            let before = repo::find_application(conn, &scope.tenant_id, &id)?
                .ok_or_else(|| not_found(&id))?;
            if !repo::update_application(
                conn,
                &scope.tenant_id,
                &id,
                &name,
                settings.allow_signup_on_signin,
            )? {
                return Err(not_found(&id));
            }
            let changed = [
                (before.name != name, "name"),
                (
                    before.allow_signup_on_signin != settings.allow_signup_on_signin,
                    "allow_signup_on_signin",
                ),
            ]
            .into_iter()
            .filter(|(differs, _)| *differs)
            .map(|(_, field)| field.to_owned())
            .collect();
            record(
                conn,
                NewEvent::by(&scope, "Application", "application.updated", &id).changed(changed),
            )?;
            let row = repo::find_application(conn, &scope.tenant_id, &id)?
                .ok_or_else(|| not_found(&id))?;
            Ok(Application::from_row(row, None))
        })
        .await
}

pub async fn rotate_secret(
    store: &Store,
    scope: &Scope,
    id: String,
) -> Result<Application, DomainError> {
    require_management(scope)?;
    let scope = scope.clone();
    store
        .write(move |conn| {
            let client_secret = generate_secret("rcs_");
            if !repo::rotate_application_secret(
                conn,
                &scope.tenant_id,
                &id,
                &hash_token(&client_secret),
            )? {
                return Err(not_found(&id));
            }
            audit(conn, &scope, "application.secret_rotated", &id)?;
            let row = repo::find_application(conn, &scope.tenant_id, &id)?
                .ok_or_else(|| not_found(&id))?;
            Ok(Application::from_row(row, Some(client_secret)))
        })
        .await
}

pub async fn delete_application(
    store: &Store,
    scope: &Scope,
    id: String,
) -> Result<(), DomainError> {
    require_management(scope)?;
    let scope = scope.clone();
    store
        .write(move |conn| {
            let row = repo::find_application(conn, &scope.tenant_id, &id)?
                .ok_or_else(|| not_found(&id))?;
            if row.is_management {
                return Err(DomainError::Forbidden(
                    "the Management Application cannot be deleted".into(),
                ));
            }
            repo::delete_application(conn, &scope.tenant_id, &id)?;
            audit(conn, &scope, "application.deleted", &id)
        })
        .await
}
