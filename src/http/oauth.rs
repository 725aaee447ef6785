//! `POST /oauth2/token`: the OAuth2 client-credentials grant (RFC 6749 §4.4), with
//! client_secret_basic or client_secret_post. Errors carry both the SCIM Error fields
//! and OAuth2's `error` / `error_description` (RFC 6749 §5.2). Failed client
//! authentications are counted per client id and per address (see `throttle`).

use std::time::Duration;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::proxy::client_address;
use super::response::{SCIM_CONTENT_TYPE, json_bytes};
use super::throttle::MAX_COUNTED_CLIENT_ID;
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
    /// Seconds to wait before trying again (`Retry-After`).
    retry_after: Option<u64>,
}

impl OAuthError {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            code,
            description: description.into(),
            retry_after: None,
        }
    }

    fn invalid_client(description: impl Into<String>) -> Self {
        OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }

    /// `429`: this client id or address failed to authenticate too often.
    fn too_many_failures(wait: Duration) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let seconds = seconds.max(1);
        OAuthError {
            retry_after: Some(seconds),
            ..OAuthError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "temporarily_unavailable",
                format!(
                    "too many failed client authentications from this address or for this client; retry in {seconds} s"
                ),
            )
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
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
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
    let address = client_address(&req, &state.settings.trusted_proxies);
    let limits = &state.auth_failures;
    let (client_id, client_secret) = match basic_credentials(&req) {
        Ok(Some(credentials)) => credentials,
        Ok(None) => match (form.client_id, form.client_secret) {
            (Some(id), Some(secret)) => (id, secret),
            _ => {
                return Err(OAuthError::invalid_client(
                    "client credentials are required (HTTP Basic or client_id and client_secret in the body)",
                ));
            }
        },
        Err(malformed) => {
            if let Some(wait) = limits.refused_for(None, address) {
                return Err(OAuthError::too_many_failures(wait));
            }
            return Err(limits
                .record_failure(None, address)
                .map_or(malformed, OAuthError::too_many_failures));
        }
    };
    if let Some(wait) = limits.refused_for(Some(&client_id), address) {
        return Err(OAuthError::too_many_failures(wait));
    }
    let failed = |detail: String| {
        limits
            .record_failure(Some(&client_id), address)
            .map_or_else(
                || OAuthError::invalid_client(detail),
                OAuthError::too_many_failures,
            )
    };
    if client_id.len() > MAX_COUNTED_CLIENT_ID {
        return Err(failed("client authentication failed".to_owned()));
    }
    let token = issue_access_token(&state.store, client_id.clone(), client_secret, address)
        .await
        .map_err(|e| match e {
            DomainError::Unauthorized(detail) => failed(detail),
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
        OAuthError::invalid_client(
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
