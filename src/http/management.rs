//! The management REST API under `/v1`: applications and their credentials, SCIM
//! tokens (issued, listed, revoked), sign-in records and the audit log (`audit.rs`).
//! Plain JSON; errors are SCIM Errors.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AppState;
use super::auth::Caller;
use super::body::JsonBody;
use super::params::{QueryParams, base_url};
use super::routes::{Endpoint, Routes};
use crate::domain::apps::{self, Application, ApplicationSettings};
use crate::domain::signins::{SignInSubject, SocialProfile, record_sign_in};
use crate::domain::tokens::{self, Expiry, IssuedToken, TokenPage};
use crate::scim::ScimError;
use crate::scim::users::render_user;

pub fn routes(r: &mut Routes<'_>) {
    r.add(Endpoint::new("/apps").get(list_apps).post(create_app))
        .add(
            Endpoint::new("/apps/{id}")
                .get(get_app)
                .patch(update_app)
                .put(update_app)
                .delete(delete_app),
        )
        .add(Endpoint::new("/apps/{id}/rotate-secret").post(rotate_secret))
        .add(Endpoint::new("/tokens").get(list_tokens).post(create_token))
        .add(Endpoint::new("/tokens/{id}").delete(revoke_token))
        .add(Endpoint::new("/signins").post(sign_in))
        .add(Endpoint::new("/audit-events").get(super::audit::audit_events));
}

fn json_response(status: StatusCode, body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

fn parse<T: for<'de> Deserialize<'de>>(body: Value) -> Result<T, ScimError> {
    serde_json::from_value(body)
        .map_err(|e| ScimError::invalid_value(format!("the request body is not valid: {e}")))
}

/// The tenant's applications.
#[derive(Serialize, utoipa::ToSchema)]
struct AppList {
    apps: Vec<Application>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AppRequest {
    name: String,
    #[serde(default)]
    allow_signup_on_signin: bool,
}

/// Creates an application with client credentials.
#[utoipa::path(
    post,
    path = "/v1/apps",
    tag = "Management",
    request_body = AppRequest,
    responses(
        (status = 201, description = "The application created, with its client secret", body = Application),
        (status = 400, description = "The body is not valid", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 409, description = "An application has this name", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 413, description = "The body is larger than the limit", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("bearer" = [])),
)]
async fn create_app(
    state: web::Data<AppState>,
    Caller(scope): Caller,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let request: AppRequest = parse(body)?;
    let settings = ApplicationSettings {
        name: request.name,
        allow_signup_on_signin: request.allow_signup_on_signin,
    };
    let app = apps::create_application(&state.store, &scope, settings).await?;
    Ok(json_response(StatusCode::CREATED, &app))
}

/// Lists the tenant's applications.
#[utoipa::path(
    get,
    path = "/v1/apps",
    tag = "Management",
    responses(
        (status = 200, description = "The tenant's applications", body = AppList),
    ),
    security(("bearer" = [])),
)]
async fn list_apps(
    state: web::Data<AppState>,
    Caller(scope): Caller,
) -> Result<HttpResponse, ScimError> {
    let apps = apps::list_applications(&state.store, &scope).await?;
    Ok(json_response(StatusCode::OK, &AppList { apps }))
}

/// Reads an application.
#[utoipa::path(
    get,
    path = "/v1/apps/{id}",
    tag = "Management",
    params(("id" = String, Path, description = "The application's id")),
    responses(
        (status = 200, description = "The application", body = Application),
        (status = 404, description = "No such application", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("bearer" = [])),
)]
async fn get_app(
    state: web::Data<AppState>,
    Caller(scope): Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let app = apps::get_application(&state.store, &scope, id.into_inner()).await?;
    Ok(json_response(StatusCode::OK, &app))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AppUpdate {
    name: Option<String>,
    allow_signup_on_signin: Option<bool>,
}

/// Changes an application's name or sign-up setting.
#[utoipa::path(
    method(put, patch),
    path = "/v1/apps/{id}",
    tag = "Management",
    params(("id" = String, Path, description = "The application's id")),
    request_body = AppUpdate,
    responses(
        (status = 200, description = "The application changed", body = Application),
        (status = 400, description = "The body is not valid", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 404, description = "No such application", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 409, description = "An application has this name", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 413, description = "The body is larger than the limit", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("bearer" = [])),
)]
async fn update_app(
    state: web::Data<AppState>,
    Caller(scope): Caller,
    id: web::Path<String>,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let update: AppUpdate = parse(body)?;
    let id = id.into_inner();
    let current = apps::get_application(&state.store, &scope, id.clone()).await?;
    let settings = ApplicationSettings {
        name: update.name.unwrap_or(current.name),
        allow_signup_on_signin: update
            .allow_signup_on_signin
            .unwrap_or(current.allow_signup_on_signin),
    };
    let app = apps::update_application(&state.store, &scope, id, settings).await?;
    Ok(json_response(StatusCode::OK, &app))
}

/// Deletes an application and its tokens.
#[utoipa::path(
    delete,
    path = "/v1/apps/{id}",
    tag = "Management",
    params(("id" = String, Path, description = "The application's id")),
    responses(
        (status = 204, description = "The application and its tokens are deleted"),
        (status = 404, description = "No such application", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("bearer" = [])),
)]
async fn delete_app(
    state: web::Data<AppState>,
    Caller(scope): Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let id = id.into_inner();
    apps::delete_application(&state.store, &scope, id.clone()).await?;
    state.tokens.forget_application(&scope.tenant_id, &id);
    Ok(HttpResponse::NoContent().finish())
}

/// Replaces an application's client secret.
#[utoipa::path(
    post,
    path = "/v1/apps/{id}/rotate-secret",
    tag = "Management",
    params(("id" = String, Path, description = "The application's id")),
    responses(
        (status = 200, description = "The application with its new client secret", body = Application),
        (status = 404, description = "No such application", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("bearer" = [])),
)]
async fn rotate_secret(
    state: web::Data<AppState>,
    Caller(scope): Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let app = apps::rotate_secret(&state.store, &scope, id.into_inner()).await?;
    Ok(json_response(StatusCode::OK, &app))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    app_id: Option<String>,
    /// Lifetime in seconds.
    expires_in: Option<i64>,
    /// RFC 3339 time.
    expires_at: Option<String>,
}

impl TokenRequest {
    fn expiry(&self) -> Result<Option<Expiry>, ScimError> {
        match (self.expires_in, &self.expires_at) {
            (Some(_), Some(_)) => Err(ScimError::invalid_value(
                "give a token either expires_in or expires_at, not both",
            )),
            (Some(seconds), None) => Ok(Some(Expiry::In(seconds))),
            (None, Some(at)) => chrono::DateTime::parse_from_rfc3339(at)
                .map(|at| Some(Expiry::At(at.naive_utc())))
                .map_err(|e| {
                    ScimError::invalid_value(format!(
                        "expires_at must be an RFC 3339 time such as 2027-01-31T00:00:00Z: {e}"
                    ))
                }),
            (None, None) => Ok(None),
        }
    }
}

/// Issues a long-lived SCIM token, with an optional expiry.
#[utoipa::path(
    post,
    path = "/v1/tokens",
    tag = "Management",
    request_body(content = Option<TokenRequest>, description = "Optional: an empty body issues a token of the Management Application that never expires"),
    responses(
        (status = 201, description = "The token; its secret is shown only now", body = IssuedToken),
        (status = 400, description = "The body is not valid", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 404, description = "No such application", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 413, description = "The body is larger than the limit", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("bearer" = [])),
)]
async fn create_token(
    state: web::Data<AppState>,
    Caller(scope): Caller,
    body: web::Bytes,
) -> Result<HttpResponse, ScimError> {
    let request: TokenRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TokenRequest::default()
    } else {
        let value: Value = serde_json::from_slice(&body).map_err(|e| {
            ScimError::invalid_syntax(format!("the request body is not valid JSON: {e}"))
        })?;
        parse(value)?
    };
    let expiry = request.expiry()?;
    let token = tokens::create_token(&state.store, &scope, request.app_id, expiry).await?;
    Ok(json_response(StatusCode::CREATED, &token))
}

/// Tokens of a page without `limit`.
const DEFAULT_TOKENS_PER_PAGE: i64 = 100;

/// `GET /v1/tokens?limit=&cursor=`: a page of the tenant's long-lived tokens.
#[utoipa::path(
    get,
    path = "/v1/tokens",
    tag = "Management",
    params(("limit" = Option<i64>, Query, description = "Most tokens of the page, 1 to 1000 (100 without it)"), ("cursor" = Option<String>, Query, description = "A page's next_cursor")),
    responses(
        (status = 200, description = "A page of the tenant's long-lived tokens, oldest first", body = TokenPage),
        (status = 400, description = "A parameter is not valid", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("bearer" = [])),
)]
async fn list_tokens(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
) -> Result<HttpResponse, ScimError> {
    let params = QueryParams::from_request(&req);
    if let Some(unknown) = params
        .names()
        .find(|name| !["limit", "cursor"].contains(name))
    {
        return Err(ScimError::invalid_value(format!(
            "unknown parameter '{}'; the token list takes limit and cursor",
            unknown.chars().take(64).collect::<String>()
        )));
    }
    let limit = match params.get("limit") {
        None => DEFAULT_TOKENS_PER_PAGE,
        Some(limit) => limit
            .parse::<i64>()
            .ok()
            .filter(|limit| (1..=tokens::MAX_TOKENS_PER_PAGE).contains(limit))
            .ok_or_else(|| {
                ScimError::invalid_value(format!(
                    "'limit' must be a whole number from 1 to {}",
                    tokens::MAX_TOKENS_PER_PAGE
                ))
            })?,
    };
    // A cursor is a token id: a UUID.
    let cursor = params.get("cursor").map(str::to_owned);
    if cursor.as_deref().is_some_and(|cursor| {
        cursor.len() > 64
            || !cursor
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    }) {
        return Err(ScimError::invalid_value(
            "'cursor' is not a cursor this list gave",
        ));
    }
    let page = tokens::list_tokens(&state.store, &scope, cursor, limit).await?;
    Ok(json_response(StatusCode::OK, &page))
}

/// Revokes a long-lived token.
#[utoipa::path(
    delete,
    path = "/v1/tokens/{id}",
    tag = "Management",
    params(("id" = String, Path, description = "The token's id")),
    responses(
        (status = 204, description = "The token is revoked"),
        (status = 404, description = "No such token", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("bearer" = [])),
)]
async fn revoke_token(
    state: web::Data<AppState>,
    Caller(scope): Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let id = id.into_inner();
    tokens::revoke_token(&state.store, &scope, id.clone()).await?;
    state.tokens.forget_token(&id);
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SignInRequest {
    user_id: Option<String>,
    user_name: Option<String>,
    email: Option<String>,
    social: Option<SocialRequest>,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SocialRequest {
    provider: String,
    subject: String,
    email: Option<String>,
    email_verified: Option<bool>,
    given_name: Option<String>,
    family_name: Option<String>,
    name: Option<String>,
    picture: Option<String>,
}

/// Records a sign-in of a user to the calling application.
#[utoipa::path(
    post,
    path = "/v1/signins",
    tag = "Management",
    request_body = SignInRequest,
    responses(
        (status = 200, description = "The sign-in is recorded", body = ref("#/components/schemas/SignIn")),
        (status = 400, description = "The body is not valid", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 404, description = "No such user", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 413, description = "The body is larger than the limit", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("bearer" = [])),
)]
async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let request: SignInRequest = parse(body)?;
    let named = [
        request.user_id.is_some(),
        request.user_name.is_some(),
        request.email.is_some(),
        request.social.is_some(),
    ]
    .iter()
    .filter(|named| **named)
    .count();
    if named != 1 {
        return Err(ScimError::invalid_value(
            "name the user by exactly one of user_id, user_name, email or social",
        ));
    }
    let subject = if let Some(id) = request.user_id {
        SignInSubject::UserId(id)
    } else if let Some(name) = request.user_name {
        SignInSubject::UserName(name)
    } else if let Some(email) = request.email {
        SignInSubject::Email(email)
    } else if let Some(social) = request.social {
        if social.provider.trim().is_empty() || social.subject.trim().is_empty() {
            return Err(ScimError::invalid_value(
                "social sign-ins need a provider and a subject",
            ));
        }
        SignInSubject::Social(SocialProfile {
            provider: social.provider,
            subject: social.subject,
            email: social.email,
            email_verified: social.email_verified,
            given_name: social.given_name,
            family_name: social.family_name,
            name: social.name,
            picture: social.picture,
        })
    } else {
        return Err(ScimError::invalid_value("name the user to sign in"));
    };
    let signed_in = record_sign_in(&state.store, &scope, subject).await?;
    let mut body = serde_json::Map::new();
    body.insert(
        "user".into(),
        render_user(&signed_in.user, &base_url(&req, &state))?,
    );
    body.insert("claims".into(), signed_in.claims);
    Ok(json_response(StatusCode::OK, &Value::Object(body)))
}
