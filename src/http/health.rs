use actix_web::{HttpResponse, web};
use serde_json::json;

use super::AppState;
use crate::scim::ScimError;

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "Service",
    responses((status = 200, description = "The process answers", body = ref("#/components/schemas/Status"))),
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: the store answers too.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "Service",
    responses(
        (status = 200, description = "The database answers", body = ref("#/components/schemas/Status")),
        (status = 503, description = "The database does not answer", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ScimError> {
    if state.store.is_ready().await {
        Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
    } else {
        Err(ScimError::service_unavailable("the store is not reachable"))
    }
}
