use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde_json::Value;

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// A SCIM JSON response.
pub fn scim_json(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, SCIM_CONTENT_TYPE))
        .body(body.to_string())
}

/// A SCIM resource response carrying the `ETag` (and, when created, the `Location`)
/// of the resource's `meta`, which the body itself may have projected away.
pub fn scim_resource(status: StatusCode, body: &Value, meta: &Value) -> HttpResponse {
    resource_response(status, meta).body(body.to_string())
}

/// The status and headers of a resource response, before its body.
pub fn resource_response(status: StatusCode, meta: &Value) -> HttpResponseBuilder {
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CONTENT_TYPE, SCIM_CONTENT_TYPE));
    if let Some(version) = meta["version"].as_str() {
        response.insert_header((header::ETAG, version));
    }
    if status == StatusCode::CREATED
        && let Some(location) = meta["location"].as_str()
    {
        response.insert_header((header::LOCATION, location));
    }
    response
}
