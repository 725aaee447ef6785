//! The JSON body extractor: enforces the size limit (413) and turns unreadable JSON
//! into a SCIM `invalidSyntax` error that says where the problem is. Any content type
//! is read as JSON: `application/scim+json`, `application/json`, or none at all.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::{FromRequest, HttpRequest, web};
use serde_json::Value;

use super::AppState;
use crate::scim::ScimError;

/// A request body parsed as JSON.
pub struct JsonBody(pub Value);

/// actix's own default body limit, for an app that sets none.
const DEFAULT_LIMIT: usize = 262_144;

/// Bodies larger than this are parsed on a blocking thread, so that a big body does
/// not hold up the other requests of the HTTP worker.
const PARSED_ON_THE_WORKER: usize = 64 * 1024;

/// Runs `f`, CPU-heavy work of one request, on a blocking thread instead of the
/// HTTP worker, which serves many connections at once.
pub async fn off_worker<T, F>(f: F) -> Result<T, ScimError>
where
    F: FnOnce() -> Result<T, ScimError> + Send + 'static,
    T: Send + 'static,
{
    web::block(f)
        .await
        .unwrap_or_else(|_| Err(ScimError::internal_with("the request was cancelled")))
}

fn parse_json(bytes: &[u8]) -> Result<JsonBody, ScimError> {
    serde_json::from_slice(bytes)
        .map(JsonBody)
        .map_err(|e| ScimError::invalid_syntax(format!("the request body is not valid JSON: {e}")))
}

fn too_large(limit: usize) -> ScimError {
    ScimError::payload_too_large(format!(
        "the request body is larger than the limit of {limit} bytes"
    ))
}

impl FromRequest for JsonBody {
    type Error = ScimError;
    type Future = Pin<Box<dyn Future<Output = Result<JsonBody, ScimError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // actix reads the body within the app's `PayloadConfig` limit, the same
        // setting (refusing a declared Content-Length over it before reading).
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map_or(DEFAULT_LIMIT, |state| state.settings.max_body_bytes);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = body
                .await
                .map_err(|error| match error.as_error::<PayloadError>() {
                    Some(PayloadError::Overflow) => too_large(limit),
                    _ => ScimError::invalid_syntax(format!(
                        "the request body could not be read: {error}"
                    )),
                })?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Err(ScimError::invalid_syntax(
                    "the request body is empty; a JSON object is expected",
                ));
            }
            if bytes.len() <= PARSED_ON_THE_WORKER {
                return parse_json(&bytes);
            }
            off_worker(move || parse_json(&bytes)).await
        })
    }
}
