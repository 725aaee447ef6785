//! `POST /oauth2/token`: the OAuth2 client-credentials grant (RFC 6749 §4.4), with
//! client_secret_basic or client_secret_post. Errors carry both the SCIM Error fields
//! and OAuth2's `error` / `error_description` (RFC 6749 §5.2).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::response::{SCIM_CONTENT_TYPE, json_bytes};
use crate::domain::DomainError;
use crate::domain::tenants::issue_access_token;
use crate::scim::urn;

#[derive(Debug, Default, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{description}")]
pub struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: String,
}

impl OAuthError {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            code,
            description: description.into(),
        }
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = json!({
            "schemas": [urn::ERROR],
            "status": self.status.as_u16().to_string(),
            "detail": self.description,
            "error": self.code,
            "error_description": self.description,
        });
        let mut response = HttpResponse::build(self.status);
        response
            .insert_header((header::CONTENT_TYPE, SCIM_CONTENT_TYPE))
            .insert_header((header::CACHE_CONTROL, "no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"roster\""));
        }
        response.body(json_bytes(&body))
    }
}

pub async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let invalid_request = |d: &str| OAuthError::new(StatusCode::BAD_REQUEST, "invalid_request", d);
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let form: TokenRequest = if body.is_empty() {
        TokenRequest::default()
    } else if is_json {
        serde_json::from_slice(&body)
            .map_err(|e| invalid_request(&format!("the body is not valid JSON: {e}")))?
    } else {
        serde_urlencoded::from_bytes(&body)
            .map_err(|e| invalid_request(&format!("the body is not a valid form: {e}")))?
    };
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type '{other}' is not supported; use client_credentials"),
            ));
        }
        None => return Err(invalid_request("grant_type is required")),
    }
    let (client_id, client_secret) = match basic_credentials(&req)? {
        Some(credentials) => credentials,
        None => match (form.client_id, form.client_secret) {
            (Some(id), Some(secret)) => (id, secret),
            _ => {
                return Err(OAuthError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "client credentials are required (HTTP Basic or client_id and client_secret in the body)",
                ));
            }
        },
    };
    let token = issue_access_token(&state.store, client_id, client_secret)
        .await
        .map_err(|e| match e {
            DomainError::Unauthorized(detail) => {
                OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", detail)
            }
            other => {
                tracing::error!(error = %other, "token issue failed");
                OAuthError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the token could not be issued",
                )
            }
        })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(token))
}

/// Client id and secret from `Authorization: Basic`, form-urlencoded per RFC 6749 §2.3.1.
fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let invalid = || {
        OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "the Authorization header must be 'Basic base64(client_id:client_secret)'",
        )
    };
    let text = value.to_str().map_err(|_| invalid())?;
    let Some((scheme, encoded)) = text.trim().split_once(' ') else {
        return Err(invalid());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(invalid());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
    let unescape = |s: &str| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
            .ok()
            .and_then(|mut pairs| pairs.pop())
            .map(|(_, v)| v)
            .unwrap_or_else(|| s.to_owned())
    };
    Ok(Some((unescape(id), unescape(secret))))
}
