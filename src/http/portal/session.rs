//! Signing in and out of the portal, the session cookie and CSRF protection.
//!
//! The session token lives in an `HttpOnly`, `SameSite=Strict` cookie scoped to the
//! portal (`Secure` over HTTPS); the server keeps the session (see
//! [`crate::domain::sessions`]). Every state-changing form carries a CSRF token
//! derived from the session token, which [`AdminForm`] checks before a handler
//! sees the form; the sign-in form carries one from a cookie of its own.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::super::params::base_url;
use super::super::proxy::client_address;
use super::super::request_id::RequestId;
use super::super::throttle::MAX_COUNTED_CLIENT_ID;
use super::error::PortalError;
use super::{Chrome, PORTAL_PATH, page, portal_response, redirect};
use crate::auth::generate_secret;
use crate::domain::DomainError;
use crate::domain::sessions::{close_session, open_session, session_scope};
use crate::domain::tenants::ClientCredentials;
use crate::store::Scope;

pub use crate::domain::sessions::SessionPolicy;

const SESSION_COOKIE: &str = "roster_session";
/// The sign-in form's CSRF token: a session does not exist yet.
const SIGN_IN_COOKIE: &str = "roster_sign_in";
/// Longest portal form accepted: a user's customData is at most 512,000 bytes of
/// JSON, which form encoding may triple.
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

/// A signed-in administrator: the session's scope, for the request being served.
pub struct Admin {
    pub scope: Scope,
    csrf: String,
}

impl Admin {
    /// What the pages of this session show around their content.
    pub fn chrome(&self, section: &'static str) -> Chrome {
        Chrome {
            section,
            csrf: self.csrf.clone(),
        }
    }
}

/// The CSRF token of the session `token`: only its holder can compute it, and it
/// reveals nothing about the session token.
fn csrf_token(session_token: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"roster-portal-csrf:")
        .chain_update(session_token.as_bytes())
        .finalize();
    hex::encode(&digest[..16])
}

fn same_token(presented: &str, expected: &str) -> bool {
    presented.as_bytes().ct_eq(expected.as_bytes()).into()
}

fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<RequestId>().map(|id| id.0.clone())
}

/// The signed-in administrator of `req`, or [`PortalError::SignInRequired`].
async fn admin_of(req: &HttpRequest) -> Result<Admin, PortalError> {
    let state = super::state(req)?;
    let token = req
        .cookie(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .ok_or(PortalError::SignInRequired { ended: false })?;
    let ended = PortalError::SignInRequired { ended: true };
    if token.is_empty() || token.len() > 128 {
        return Err(ended);
    }
    let csrf = csrf_token(&token);
    let scope = session_scope(&state.store, token, state.settings.portal_sessions)
        .await?
        .ok_or(ended)?;
    let scope = match request_id(req) {
        Some(id) => scope.for_request(&id),
        None => scope,
    };
    Ok(Admin { scope, csrf })
}

impl FromRequest for Admin {
    type Error = PortalError;
    type Future = Pin<Box<dyn Future<Output = Result<Admin, PortalError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { admin_of(&req).await })
    }
}

/// A signed-in administrator's form post whose CSRF token matches the session's:
/// a handler that takes one cannot forget the check.
pub struct AdminForm<T> {
    pub admin: Admin,
    pub form: T,
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned + 'static> FromRequest for AdminForm<T> {
    type Error = PortalError;
    type Future = Pin<Box<dyn Future<Output = Result<AdminForm<T>, PortalError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let admin = admin_of(&req).await?;
            if !from_this_origin(&req) {
                return Err(PortalError::CsrfRejected);
            }
            let body = body.await.map_err(|_| {
                PortalError::BadRequest("the form could not be read; reload the page".into())
            })?;
            if body.len() > MAX_FORM_BYTES {
                return Err(PortalError::BadRequest(
                    "the form is larger than 2 MB".into(),
                ));
            }
            let CsrfField { csrf } = serde_urlencoded::from_bytes(&body).unwrap_or(CsrfField {
                csrf: String::new(),
            });
            if !same_token(&csrf, &admin.csrf) {
                return Err(PortalError::CsrfRejected);
            }
            let form = serde_urlencoded::from_bytes(&body)
                .map_err(|e| PortalError::BadRequest(format!("the form could not be read: {e}")))?;
            Ok(AdminForm { admin, form })
        })
    }
}

/// Whether a browser says the request comes from a page of this origin: a page of
/// a sibling subdomain (same site, so `SameSite` lets its cookies through) is
/// refused. Clients that send no `Sec-Fetch-Site` rely on the CSRF token alone.
fn from_this_origin(req: &HttpRequest) -> bool {
    req.headers()
        .get("sec-fetch-site")
        .is_none_or(|site| matches!(site.as_bytes(), b"same-origin" | b"none"))
}

fn cookie<'c>(req: &HttpRequest, name: &'c str, value: String) -> Cookie<'c> {
    // HTTPS as this service knows it: TLS, --public-url, or a trusted proxy's word.
    let secure = super::state(req)
        .map(|state| base_url(req, &state).0.starts_with("https://"))
        .unwrap_or(false);
    Cookie::build(name, value)
        .path(PORTAL_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish()
}

fn expired_cookie<'c>(req: &HttpRequest, name: &'c str) -> Cookie<'c> {
    let mut cookie = cookie(req, name, String::new());
    cookie.make_removal();
    cookie
}

#[derive(Template)]
#[template(path = "portal/sign_in.html")]
struct SignInPage {
    csrf: String,
    client_id: String,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct SignInQuery {
    #[serde(default)]
    ended: Option<String>,
}

/// `GET /admin/sign-in`.
pub async fn sign_in_page(req: HttpRequest, query: web::Query<SignInQuery>) -> HttpResponse {
    let csrf = generate_secret("");
    let notice = match query.ended.as_deref() {
        Some("expired") => Some("Your session has ended. Sign in again."),
        Some("signed-out") => Some("You are signed out."),
        _ => None,
    };
    let mut response = page(
        StatusCode::OK,
        &SignInPage {
            csrf: csrf.clone(),
            client_id: String::new(),
            error: None,
            notice,
        },
    );
    let _ = response.add_cookie(&cookie(&req, SIGN_IN_COOKIE, csrf));
    response
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/sign-in`: opens a session for the tenant's Management Application.
pub async fn sign_in(req: HttpRequest, form: web::Form<SignInForm>) -> HttpResponse {
    let form = form.into_inner();
    let state = match super::state(&req) {
        Ok(state) => state,
        Err(error) => return actix_web::ResponseError::error_response(&error),
    };
    // A refused sign-in is the sign-in page again, with its reason: 200, as a
    // browser would log any other status as a failed load.
    let refuse = |message: String| {
        let csrf = generate_secret("");
        let mut response = page(
            StatusCode::OK,
            &SignInPage {
                csrf: csrf.clone(),
                client_id: form.client_id.chars().take(200).collect(),
                error: Some(message),
                notice: None,
            },
        );
        let _ = response.add_cookie(&cookie(&req, SIGN_IN_COOKIE, csrf));
        response
    };
    let expected = req.cookie(SIGN_IN_COOKIE).map(|c| c.value().to_owned());
    if !from_this_origin(&req)
        || !expected
            .is_some_and(|expected| !form.csrf.is_empty() && same_token(&form.csrf, &expected))
    {
        return refuse("The sign-in form has expired. Please try again.".into());
    }
    let client_id = form.client_id.trim().to_owned();
    if client_id.is_empty() || form.client_secret.is_empty() {
        return refuse(
            "Enter the client id and the client secret of your Management Application.".into(),
        );
    }
    let address = client_address(&req, &state.settings.trusted_proxies);
    let limits = &state.auth_failures;
    let too_many = |wait: std::time::Duration| {
        refuse(format!(
            "Too many failed sign-ins. Try again in {} seconds.",
            wait.as_secs().max(1)
        ))
    };
    // Counted per address only: a client id is no secret, and a quota per client id
    // would let anyone who knows it lock its administrators out.
    if let Some(wait) = limits.refused_for(None, address) {
        return too_many(wait);
    }
    let wrong = || "The client id or the client secret is wrong.".to_owned();
    if client_id.len() > MAX_COUNTED_CLIENT_ID {
        return refuse(wrong());
    }
    let credentials = ClientCredentials {
        client_id: client_id.clone(),
        client_secret: form.client_secret.clone(),
        address,
        request_id: request_id(&req),
    };
    let opened = open_session(&state.store, credentials, state.settings.portal_sessions).await;
    match opened {
        Ok(session) => {
            // A browser signing in again leaves no session of its own behind.
            if let Some(previous) = req.cookie(SESSION_COOKIE)
                && let Err(error) = close_session(&state.store, previous.value().to_owned()).await
            {
                tracing::warn!(%error, "could not end the browser's previous portal session");
            }
            let mut response = redirect("/admin/users");
            let _ = response.add_cookie(&cookie(&req, SESSION_COOKIE, session.token));
            let _ = response.add_cookie(&expired_cookie(&req, SIGN_IN_COOKIE));
            response
        }
        Err(DomainError::Unauthorized(_)) => match limits.record_failure(None, address) {
            Some(wait) => too_many(wait),
            None => refuse(wrong()),
        },
        Err(other) => actix_web::ResponseError::error_response(&PortalError::from(other)),
    }
}

/// `POST /admin/sign-out`: ends the session on the server and forgets the cookie.
pub async fn sign_out(
    req: HttpRequest,
    AdminForm { .. }: AdminForm<CsrfOnly>,
) -> Result<HttpResponse, PortalError> {
    let state = super::state(&req)?;
    if let Some(token) = req.cookie(SESSION_COOKIE) {
        close_session(&state.store, token.value().to_owned()).await?;
    }
    let mut response = portal_response(StatusCode::SEE_OTHER)
        .insert_header((
            actix_web::http::header::LOCATION,
            "/admin/sign-in?ended=signed-out",
        ))
        .finish();
    let _ = response.add_cookie(&expired_cookie(&req, SESSION_COOKIE));
    Ok(response)
}

/// A form with nothing but its CSRF token.
#[derive(Deserialize)]
pub struct CsrfOnly {}
