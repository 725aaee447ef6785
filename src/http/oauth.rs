//! `POST /oauth2/token`: the OAuth2 client-credentials grant (RFC 6749 §4.4), with
//! client_secret_basic or client_secret_post. Errors carry both the SCIM Error fields
//! and OAuth2's `error` / `error_description` (RFC 6749 §5.2). Failed client
//! authentications are counted per client id and per address (see `throttle`).

use std::time::Duration;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::proxy::client_address;
use super::request_id::RequestId;
use super::response::{SCIM_CONTENT_TYPE, json_bytes};
use super::throttle::MAX_COUNTED_CLIENT_ID;
use crate::domain::DomainError;
use crate::domain::tenants::{AccessToken, ClientCredentials, issue_access_token};
use crate::urn;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = ClientCredentialsRequest)]
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

/// Issues a one-hour access token for an application's client credentials.
#[utoipa::path(
    post,
    path = "/oauth2/token",
    tag = "OAuth2",
    request_body(
        description = "`grant_type=client_credentials`, with the client credentials here or in `Authorization: Basic`",
        content(
            (TokenRequest = "application/x-www-form-urlencoded"),
            (TokenRequest = "application/json"),
        ),
    ),
    responses(
        (status = 200, description = "An access token", body = AccessToken),
        (status = 400, description = "The request is malformed or names another grant type", body = ref("#/components/schemas/OAuthError"), content_type = "application/scim+json"),
        (status = 401, description = "The client credentials are wrong", body = ref("#/components/schemas/OAuthError"), content_type = "application/scim+json",
            headers(("WWW-Authenticate" = String))),
        (status = 429, description = "Too many failed authentications from this address or for this client", body = ref("#/components/schemas/OAuthError"), content_type = "application/scim+json",
            headers(("Retry-After" = String))),
    ),
    security(("client_basic" = []), ()),
)]
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
    let request_id = req.extensions().get::<RequestId>().map(|id| id.0.clone());
    let credentials = ClientCredentials {
        client_id: client_id.clone(),
        client_secret,
        address,
        request_id,
    };
    let token = issue_access_token(&state.store, credentials)
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

/// Client id and secret from `Authorization: Basic`, if the request sends that header.
fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, OAuthError> {
    req.headers()
        .get(header::AUTHORIZATION)
        .map(|value| decode_basic_credentials(value.as_bytes()))
        .transpose()
}

/// Decodes `Basic base64(form(client_id) ':' form(client_secret))` (RFC 6749 §2.3.1).
/// The id ends at the first ':' (an encoding client sends a ':' of the id as `%3A`), and
/// each part is form-decoded on its own, so an encoded ':', '&', '%', '+' or non-ASCII
/// character survives. A client that sends plain ASCII without encoding still works,
/// unless its id or secret holds '+' or a '%' followed by two hex digits.
fn decode_basic_credentials(value: &[u8]) -> Result<(String, String), OAuthError> {
    let invalid = |problem: &str| {
        OAuthError::invalid_client(format!(
            "{problem}; send 'Authorization: Basic base64(client_id:client_secret)' with the id and secret form-urlencoded (RFC 6749 §2.3.1)"
        ))
    };
    let text = std::str::from_utf8(value)
        .map_err(|_| invalid("the Authorization header is not ASCII"))?
        .trim();
    let (scheme, encoded) = text.split_once(' ').unwrap_or((text, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(invalid(
            "the token endpoint accepts only the Basic authentication scheme",
        ));
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| invalid("the Basic credentials are not valid base64"))?;
    let decoded = String::from_utf8(decoded)
        .map_err(|_| invalid("the Basic credentials are not UTF-8 once base64-decoded"))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| invalid("the Basic credentials have no ':' between client id and secret"))?;
    let form_decode = |part: &str| {
        percent_decode_str(&part.replace('+', " "))
            .decode_utf8()
            .map(|decoded| decoded.into_owned())
            .map_err(|_| {
                invalid("the client id or secret is not UTF-8 once its %-escapes are decoded")
            })
    };
    Ok((form_decode(id)?, form_decode(secret)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(credentials: &str) -> Result<(String, String), String> {
        let header = format!("Basic {}", STANDARD.encode(credentials));
        decode_basic_credentials(header.as_bytes()).map_err(|e| e.description)
    }

    fn pair(id: &str, secret: &str) -> Result<(String, String), String> {
        Ok((id.to_owned(), secret.to_owned()))
    }

    #[test]
    fn form_encoded_parts_decode_to_any_characters() {
        assert_eq!(
            decode("a%3Ab%26c:s%3A%26%25%2B+%C3%A9%E2%82%AC"),
            pair("a:b&c", "s:&%+ é€")
        );
    }

    #[test]
    fn plain_ascii_credentials_stay_as_sent() {
        assert_eq!(
            decode("rcl_A-b_9:rcs_x-Y_0"),
            pair("rcl_A-b_9", "rcs_x-Y_0")
        );
        assert_eq!(decode("id:a&b=c:d"), pair("id", "a&b=c:d"));
        assert_eq!(decode("id:100%"), pair("id", "100%"));
        assert_eq!(decode("id:"), pair("id", ""));
    }

    #[test]
    fn plain_non_ascii_secret_stays_as_sent() {
        assert_eq!(decode("id:pässwörd"), pair("id", "pässwörd"));
    }

    #[test]
    fn malformed_headers_say_what_is_wrong() {
        let fails = |header: &[u8], problem: &str| {
            let description = decode_basic_credentials(header).unwrap_err().description;
            assert!(description.contains(problem), "{description}");
        };
        fails(b"Bearer abc", "only the Basic authentication scheme");
        fails(b"Basic", "no ':'");
        fails(b"Basic !!!", "not valid base64");
        fails(b"Basic /w==", "not UTF-8 once base64-decoded");
        fails(STANDARD.encode("no-colon").as_bytes(), "only the Basic");
        let no_colon = format!("Basic {}", STANDARD.encode("no-colon"));
        fails(no_colon.as_bytes(), "no ':'");
        let bad_escape = format!("Basic {}", STANDARD.encode("id:%FF"));
        fails(bad_escape.as_bytes(), "%-escapes");
        fails(b"Basic \xff", "not ASCII");
    }
}
