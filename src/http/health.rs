use actix_web::{HttpResponse, web};
use serde_json::json;

use super::AppState;
use crate::scim::ScimError;

/// Liveness: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: the store answers too.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ScimError> {
    if state.store.is_ready().await {
        Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
    } else {
        Err(ScimError::service_unavailable("the store is not reachable"))
    }
}
