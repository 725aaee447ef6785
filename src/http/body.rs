//! The JSON body extractor: enforces the size limit (413) and turns unreadable JSON
//! into a SCIM `invalidSyntax` error that says where the problem is. Any content type
//! is read as JSON: `application/scim+json`, `application/json`, or none at all.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use serde_json::Value;

use super::AppState;
use crate::scim::ScimError;

/// A request body parsed as JSON.
pub struct JsonBody(pub Value);

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
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|state| state.settings.max_body_bytes)
            .unwrap_or(4 * 1024 * 1024);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|length| length > limit) {
                return Err(too_large(limit));
            }
            let mut bytes = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| match e {
                    actix_web::error::PayloadError::Overflow => too_large(limit),
                    other => ScimError::invalid_syntax(format!(
                        "the request body could not be read: {other}"
                    )),
                })?;
                if bytes.len() + chunk.len() > limit {
                    return Err(too_large(limit));
                }
                bytes.extend_from_slice(&chunk);
            }
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Err(ScimError::invalid_syntax(
                    "the request body is empty; a JSON object is expected",
                ));
            }
            if bytes.len() <= PARSED_ON_THE_WORKER {
                return parse_json(&bytes);
            }
            let bytes = bytes.freeze();
            off_worker(move || parse_json(&bytes)).await
        })
    }
}
