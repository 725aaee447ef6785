//! The applications page: list and create applications, rotate a secret, and
//! issue a SCIM token for an identity provider, shown once with the base URL as
//! Entra ID and Okta ask for them.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::super::params::base_url;
use super::super::routes::{Endpoint, Routes};
use super::error::PortalError;
use super::forms::{FormError, form_error};
use super::session::{Admin, AdminForm, CsrfOnly};
use super::{Chrome, page};
use crate::domain::apps::{
    Application, ApplicationSettings, create_application, list_applications, rotate_secret,
};
use crate::domain::tokens::create_token;

pub fn routes(r: &mut Routes<'_>) {
    r.add(Endpoint::new("/apps").get(list_page).post(create))
        .add(Endpoint::new("/apps/{id}/rotate-secret").post(rotate))
        .add(Endpoint::new("/apps/{id}/scim-token").post(scim_token));
}

/// A credential shown once, right after it was made.
struct Revealed {
    app_name: String,
    /// (label, value) pairs, each with a copy button.
    values: Vec<(&'static str, String)>,
    /// Where to paste them, when they are for an identity provider.
    for_identity_provider: bool,
}

#[derive(Template)]
#[template(path = "portal/apps.html")]
struct AppsPage {
    chrome: Chrome,
    apps: Vec<Application>,
    revealed: Option<Revealed>,
    new_name: String,
    new_signup: bool,
    error: FormError,
}

async fn apps_page(
    req: &HttpRequest,
    admin: &Admin,
    status: StatusCode,
    revealed: Option<Revealed>,
    error: FormError,
    new_name: String,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(req)?;
    let apps = list_applications(&state.store, &admin.scope).await?;
    Ok(page(
        status,
        &AppsPage {
            chrome: admin.chrome("apps"),
            apps,
            revealed,
            new_name,
            new_signup: false,
            error,
        },
    ))
}

/// `GET /admin/apps`.
async fn list_page(req: HttpRequest, admin: Admin) -> Result<HttpResponse, PortalError> {
    apps_page(
        &req,
        &admin,
        StatusCode::OK,
        None,
        FormError::default(),
        String::new(),
    )
    .await
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    allow_signup_on_signin: Option<String>,
}

/// `POST /admin/apps`: creates an application and shows its secret once.
async fn create(
    req: HttpRequest,
    AdminForm { admin, form }: AdminForm<CreateForm>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    let settings = ApplicationSettings {
        name: form.name.clone(),
        allow_signup_on_signin: form.allow_signup_on_signin.is_some(),
    };
    match create_application(&state.store, &admin.scope, settings).await {
        Ok(app) => {
            let revealed = Revealed {
                app_name: app.name.clone(),
                values: vec![
                    ("Client id", app.client_id.clone()),
                    (
                        "Client secret",
                        app.client_secret.clone().unwrap_or_default(),
                    ),
                ],
                for_identity_provider: false,
            };
            apps_page(
                &req,
                &admin,
                StatusCode::CREATED,
                Some(revealed),
                FormError::default(),
                String::new(),
            )
            .await
        }
        Err(error) => {
            let error = form_error(error.into(), &[("name", "name")])?;
            apps_page(
                &req,
                &admin,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                error,
                form.name,
            )
            .await
        }
    }
}

/// `POST /admin/apps/{id}/rotate-secret`: a new secret, shown once; the old one
/// stops working.
async fn rotate(
    req: HttpRequest,
    id: web::Path<String>,
    AdminForm { admin, .. }: AdminForm<CsrfOnly>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    let app = rotate_secret(&state.store, &admin.scope, id.into_inner()).await?;
    let revealed = Revealed {
        app_name: app.name.clone(),
        values: vec![
            ("Client id", app.client_id.clone()),
            (
                "New client secret",
                app.client_secret.clone().unwrap_or_default(),
            ),
        ],
        for_identity_provider: false,
    };
    apps_page(
        &req,
        &admin,
        StatusCode::OK,
        Some(revealed),
        FormError::default(),
        String::new(),
    )
    .await
}

/// `POST /admin/apps/{id}/scim-token`: a long-lived SCIM token for an identity
/// provider, with the tenant URL it goes with.
async fn scim_token(
    req: HttpRequest,
    id: web::Path<String>,
    AdminForm { admin, .. }: AdminForm<CsrfOnly>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    let id = id.into_inner();
    let apps = list_applications(&state.store, &admin.scope).await?;
    let app_name = apps
        .iter()
        .find(|app| app.id == id)
        .map(|app| app.name.clone())
        .unwrap_or_default();
    let issued = create_token(&state.store, &admin.scope, Some(id), None).await?;
    let revealed = Revealed {
        app_name,
        values: vec![
            ("Tenant URL (SCIM base URL)", base_url(&req, &state).0),
            ("Secret token (Bearer)", issued.scim_token),
        ],
        for_identity_provider: true,
    };
    apps_page(
        &req,
        &admin,
        StatusCode::OK,
        Some(revealed),
        FormError::default(),
        String::new(),
    )
    .await
}
