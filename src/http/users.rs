//! `/Users` routes.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::AppState;
use super::auth::Caller;
use super::body::JsonBody;
use super::error::method_not_allowed;
use super::params::{QueryParams, base_url, if_match};
use super::response::{scim_json, scim_resource};
use crate::domain::users as domain;
use crate::scim::ScimError;
use crate::scim::list::{Page, list_response};
use crate::scim::users::{render_user, user_input_from_body};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/Users")
            .route(web::get().to(list))
            .route(web::post().to(create))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/Users/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::delete().to(delete))
            .default_service(web::to(method_not_allowed)),
    );
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let input = user_input_from_body(&body)?;
    let user = domain::create_user(&state.store, &principal, input).await?;
    Ok(scim_resource(
        StatusCode::CREATED,
        &render_user(&user, &base_url(&req, &state)),
    ))
}

async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let user = domain::get_user(&state.store, &principal, id.into_inner()).await?;
    Ok(scim_resource(
        StatusCode::OK,
        &render_user(&user, &base_url(&req, &state)),
    ))
}

async fn replace(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
    id: web::Path<String>,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let input = user_input_from_body(&body)?;
    let user = domain::replace_user(
        &state.store,
        &principal,
        id.into_inner(),
        input,
        if_match(&req),
    )
    .await?;
    Ok(scim_resource(
        StatusCode::OK,
        &render_user(&user, &base_url(&req, &state)),
    ))
}

async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    domain::delete_user(&state.store, &principal, id.into_inner(), if_match(&req)).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
) -> Result<HttpResponse, ScimError> {
    let params = QueryParams::from_request(&req)?;
    if params.get("filter").is_some() {
        return Err(ScimError::invalid_filter(
            "filtering is not supported yet (ServiceProviderConfig says filter.supported = false)",
        ));
    }
    let page = Page::from_params(
        params.get("startIndex"),
        params.get("count"),
        state.settings.page_limits,
    )?;
    let result = domain::list_users(&state.store, &principal, page.start_index, page.count).await?;
    let base = base_url(&req, &state);
    let resources = result.users.iter().map(|u| render_user(u, &base)).collect();
    Ok(scim_json(
        StatusCode::OK,
        &list_response(resources, result.total, page.start_index),
    ))
}
