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

/// The ServiceProviderConfig (RFC 7644 §4).
#[utoipa::path(
    get,
    path = "/scim/v2/ServiceProviderConfig",
    tag = "SCIM discovery",
    responses(
        (status = 200, description = "What the service supports", body = ref("#/components/schemas/ServiceProviderConfig"), content_type = "application/scim+json"),
    ),
    security(("bearer" = [])),
)]
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

/// The resource types (RFC 7644 §4).
#[utoipa::path(
    get,
    path = "/scim/v2/ResourceTypes",
    tag = "SCIM discovery",
    responses(
        (status = 200, description = "The resource types", body = ref("#/components/schemas/ResourceTypeList"), content_type = "application/scim+json"),
    ),
    security(("bearer" = [])),
)]
async fn resource_types(req: HttpRequest, state: web::Data<AppState>, _: Caller) -> HttpResponse {
    scim_json(
        StatusCode::OK,
        &discovery::resource_types(&base_url(&req, &state)),
    )
}

/// One resource type.
#[utoipa::path(
    get,
    path = "/scim/v2/ResourceTypes/{name}",
    tag = "SCIM discovery",
    params(("name" = String, Path, description = "User or Group")),
    responses(
        (status = 200, description = "The resource type", body = ref("#/components/schemas/ResourceType"), content_type = "application/scim+json"),
        (status = 404, description = "No such resource type", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("bearer" = [])),
)]
async fn resource_type(
    req: HttpRequest,
    state: web::Data<AppState>,
    _: Caller,
    name: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let document = discovery::resource_type(&name, &base_url(&req, &state))?;
    Ok(scim_json(StatusCode::OK, &document))
}

/// The schemas (RFC 7644 §4).
#[utoipa::path(
    get,
    path = "/scim/v2/Schemas",
    tag = "SCIM discovery",
    responses(
        (status = 200, description = "The schemas", body = ref("#/components/schemas/SchemaList"), content_type = "application/scim+json"),
    ),
    security(("bearer" = [])),
)]
async fn schemas(req: HttpRequest, state: web::Data<AppState>, _: Caller) -> HttpResponse {
    scim_json(StatusCode::OK, &discovery::schemas(&base_url(&req, &state)))
}

/// One schema.
#[utoipa::path(
    get,
    path = "/scim/v2/Schemas/{id}",
    tag = "SCIM discovery",
    params(("id" = String, Path, description = "A schema URN")),
    responses(
        (status = 200, description = "The schema", body = ref("#/components/schemas/Schema"), content_type = "application/scim+json"),
        (status = 404, description = "No such schema", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("bearer" = [])),
)]
async fn schema(
    req: HttpRequest,
    state: web::Data<AppState>,
    _: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let document = discovery::schema(&id, &base_url(&req, &state))?;
    Ok(scim_json(StatusCode::OK, &document))
}
