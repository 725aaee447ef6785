//! Discovery routes: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`. They
//! need a valid token like every other SCIM route.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::AppState;
use super::auth::Caller;
use super::params::base_url;
use super::response::scim_json;
use super::routes::{Endpoint, Routes};
use crate::scim::{ScimError, discovery};

pub fn routes(r: &mut Routes<'_>) {
    r.add(Endpoint::new("/ServiceProviderConfig").get(service_provider_config))
        .add(Endpoint::new("/ResourceTypes").get(resource_types))
        .add(Endpoint::new("/ResourceTypes/{name}").get(resource_type))
        .add(Endpoint::new("/Schemas").get(schemas))
        .add(Endpoint::new("/Schemas/{id}").get(schema));
}

async fn service_provider_config(
    req: HttpRequest,
    state: web::Data<AppState>,
    _: Caller,
) -> HttpResponse {
    let document = discovery::service_provider_config(
        &base_url(&req, &state),
        state.settings.page_limits,
        state.settings.bulk_limits,
    );
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
