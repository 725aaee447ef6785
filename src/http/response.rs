use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde::Serialize;
use serde_json::Value;

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// A SCIM JSON response.
pub fn scim_json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> HttpResponse {
    scim_bytes(status, json_bytes(body))
}

/// A SCIM response of JSON text already written.
pub fn scim_bytes(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, SCIM_CONTENT_TYPE))
        .body(body)
}

/// A SCIM resource response carrying the `ETag` (and, when created, the `Location`)
/// of the resource's `meta`, which the body itself may have projected away.
pub fn scim_resource(status: StatusCode, body: &Value, meta: &Value) -> HttpResponse {
    resource_response(status, meta).body(json_bytes(body))
}

/// `value` as JSON text, written straight into bytes (not through `Display`, whose
/// formatter adds a call per token).
pub fn json_bytes<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(1024);
    write_json(&mut bytes, value);
    bytes
}

/// Appends `value` as JSON text to `bytes`.
pub fn write_json<T: Serialize + ?Sized>(bytes: &mut Vec<u8>, value: &T) {
    // Cannot fail for the bodies Roster writes: their keys are strings, and writing
    // to memory does not error.
    let _ = serde_json::to_writer(bytes, value);
}

/// The status and headers of a resource response, before its body.
pub fn resource_response(status: StatusCode, meta: &Value) -> HttpResponseBuilder {
    resource_headers(status, meta["version"].as_str(), meta["location"].as_str())
}

/// The status, `ETag` and (when created) `Location` of a resource response.
pub fn resource_headers(
    status: StatusCode,
    version: Option<&str>,
    location: Option<&str>,
) -> HttpResponseBuilder {
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CONTENT_TYPE, SCIM_CONTENT_TYPE));
    if let Some(version) = version {
        response.insert_header((header::ETAG, version));
    }
    if status == StatusCode::CREATED
        && let Some(location) = location
    {
        response.insert_header((header::LOCATION, location));
    }
    response
}
