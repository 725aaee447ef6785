//! `POST /Bulk` (RFC 7644 §3.7): the body is read under its own limit,
//! `maxPayloadSize`, which the ServiceProviderConfig advertises.

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::{HttpResponse, web};
use futures_util::StreamExt;

use super::body::off_worker;
use super::params::base_url;
use super::resources::Call;
use super::response::scim_json;
use super::routes::{Endpoint, Routes};
use crate::scim::ScimError;
use crate::scim::bulk::{BulkContext, parse_bulk_request, payload_too_large, run_bulk};

pub fn routes(r: &mut Routes<'_>) {
    r.add(Endpoint::new("/Bulk").post(bulk));
}

/// Runs many writes in one request (RFC 7644 §3.7).
#[utoipa::path(
    post,
    path = "/scim/v2/Bulk",
    tag = "SCIM",
    request_body(
        content(
            (ref("#/components/schemas/BulkRequest") = "application/scim+json"),
            (ref("#/components/schemas/BulkRequest") = "application/json"),
        ),
    ),
    responses(
        (status = 200, description = "The result of each operation", body = ref("#/components/schemas/BulkResponse"), content_type = "application/scim+json"),
        (status = 400, description = "The BulkRequest is not valid", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 413, description = "The body or its operations exceed the ServiceProviderConfig's bulk limits", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("bearer" = [])),
)]
async fn bulk(call: Call, mut payload: web::Payload) -> Result<HttpResponse, ScimError> {
    let limits = call.state.settings.bulk_limits;
    let declared = call
        .req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limits.max_payload_bytes) {
        return Err(payload_too_large(limits.max_payload_bytes));
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| {
            ScimError::invalid_syntax(format!("the request body could not be read: {error}"))
        })?;
        if body.len() + chunk.len() > limits.max_payload_bytes {
            return Err(payload_too_large(limits.max_payload_bytes));
        }
        body.extend_from_slice(&chunk);
    }
    let plan = off_worker(move || {
        let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
            ScimError::invalid_syntax(format!("the request body is not valid JSON: {e}"))
        })?;
        parse_bulk_request(&value, limits)
    })
    .await?;
    let context = BulkContext {
        store: call.state.store.clone(),
        scope: call.scope.clone(),
        base: base_url(&call.req, &call.state),
        max_patch_operations: call.state.settings.max_patch_operations,
    };
    let response = run_bulk(context, plan).await?;
    Ok(scim_json(StatusCode::OK, &response))
}
