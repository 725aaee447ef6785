use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use super::response::{SCIM_CONTENT_TYPE, json_bytes};
use crate::scim::ScimError;

/// `Retry-After` of a 503, seconds.
const RETRY_AFTER_SECONDS: &str = "1";

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let body = self.to_json();
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, SCIM_CONTENT_TYPE));
        if self.status_code() == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"roster\""));
        }
        if self.status_code() == StatusCode::SERVICE_UNAVAILABLE {
            // Every 503 is a passing state: busy connections, a slow or lost database.
            response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS));
        }
        response.body(json_bytes(&body))
    }
}

/// Any path no route serves.
pub async fn not_found_fallback(req: HttpRequest) -> Result<HttpResponse, ScimError> {
    Err(ScimError::not_found(format!(
        "no resource at {}",
        req.path()
    )))
}

/// A known path asked with a method it does not support.
pub async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ScimError> {
    Err(ScimError::method_not_allowed(format!(
        "{} is not supported on {}",
        req.method(),
        req.path()
    )))
}
