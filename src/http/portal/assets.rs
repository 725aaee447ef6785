//! The portal's stylesheet and script, embedded in the binary.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};

use super::portal_response;

const STYLESHEET: &str = include_str!("../../../assets/portal/portal.css");
const SCRIPT: &str = include_str!("../../../assets/portal/portal.js");

/// `GET /admin/assets/{name}`.
pub async fn asset(name: web::Path<String>) -> HttpResponse {
    let (content_type, body) = match name.as_str() {
        "portal.css" => ("text/css; charset=utf-8", STYLESHEET),
        "portal.js" => ("text/javascript; charset=utf-8", SCRIPT),
        _ => {
            return portal_response(StatusCode::NOT_FOUND)
                .content_type("text/plain; charset=utf-8")
                .body("no such asset");
        }
    };
    portal_response(StatusCode::OK)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .content_type(content_type)
        .body(body)
}
