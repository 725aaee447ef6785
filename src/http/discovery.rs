//! Discovery routes: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`. They
//! need a valid token like every other SCIM route.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::AppState;
use super::auth::Caller;
use super::error::method_not_allowed;
use super::params::base_url;
use super::response::scim_json;
use crate::scim::{ScimError, discovery};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/ServiceProviderConfig")
            .route(web::get().to(service_provider_config))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/ResourceTypes")
            .route(web::get().to(resource_types))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/ResourceTypes/{name}")
            .route(web::get().to(resource_type))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/Schemas")
            .route(web::get().to(schemas))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/Schemas/{id}")
            .route(web::get().to(schema))
            .default_service(web::to(method_not_allowed)),
    );
}

async fn service_provider_config(
    req: HttpRequest,
    state: web::Data<AppState>,
    _: Caller,
) -> HttpResponse {
    let document =
        discovery::service_provider_config(&base_url(&req, &state), state.settings.page_limits);
    scim_json(StatusCode::OK, &document)
}

async fn resource_types(req: HttpRequest, state: web::Data<AppState>, _: Caller) -> HttpResponse {
    scim_json(
        StatusCode::OK,
        &discovery::resource_types(&base_url(&req, &state)),
    )
}

async fn resource_type(
    req: HttpRequest,
    state: web::Data<AppState>,
    _: Caller,
    name: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let document = discovery::resource_type(&name, &base_url(&req, &state))?;
    Ok(scim_json(StatusCode::OK, &document))
}

async fn schemas(req: HttpRequest, state: web::Data<AppState>, _: Caller) -> HttpResponse {
    scim_json(StatusCode::OK, &discovery::schemas(&base_url(&req, &state)))
}

async fn schema(
    req: HttpRequest,
    state: web::Data<AppState>,
    _: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let document = discovery::schema(&id, &base_url(&req, &state))?;
    Ok(scim_json(StatusCode::OK, &document))
}
