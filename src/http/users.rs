//! `/Users` routes.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::AppState;
use super::auth::Caller;
use super::body::{JsonBody, off_worker};
use super::listing::{ListRendering, streamed_page};
use super::params::{QueryParams, base_url, if_match, not_modified};
use super::response::{resource_headers, scim_bytes};
use super::routes::{Endpoint, Routes};
use crate::domain::listing::stream_list;
use crate::domain::users::{self as domain, LookUp, User, UserWindow};
use crate::schema::USER_RESOURCE;
use crate::scim::ScimError;
use crate::scim::list::{ListRequest, cursor_list_response, list_response};
use crate::scim::patch::parse_patch_request;
use crate::scim::projection::Projection;
use crate::scim::users::{
    UserRepresentation, patch_user, user_body, user_input_from_body, user_json, user_list_json,
};
use crate::store::Scope;

pub fn routes(r: &mut Routes<'_>) {
    r.add(Endpoint::new("/Users").get(list).post(create))
        .add(Endpoint::new("/Users/.search").post(search))
        .add(
            Endpoint::new("/Users/{id}")
                .get(get)
                .put(replace)
                .patch(patch)
                .delete(delete),
        );
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let input = user_input_from_body(&body)?;
    let user = domain::create_user(&state.store, &scope, input).await?;
    single_user(&req, &state, StatusCode::CREATED, user)
}

async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let user = domain::get_user(&state.store, &scope, id.into_inner()).await?;
    if let Some(response) = not_modified(&req, user.version) {
        return Ok(response);
    }
    single_user(&req, &state, StatusCode::OK, user)
}

async fn replace(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    id: web::Path<String>,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let input = user_input_from_body(&body)?;
    let user =
        domain::replace_user(&state.store, &scope, id.into_inner(), input, if_match(&req)).await?;
    single_user(&req, &state, StatusCode::OK, user)
}

async fn patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    id: web::Path<String>,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let max_operations = state.settings.max_patch_operations;
    let operations = off_worker(move || parse_patch_request(&body, max_operations)).await?;
    let user = domain::modify_user(
        &state.store,
        &scope,
        id.into_inner(),
        if_match(&req),
        "user.patched",
        move |current| patch_user(current, &operations),
    )
    .await?;
    single_user(&req, &state, StatusCode::OK, user)
}

async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    domain::delete_user(&state.store, &scope, id.into_inner(), if_match(&req)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A user response, projected by the request's `attributes` / `excludedAttributes`.
fn single_user(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    user: User,
) -> Result<HttpResponse, ScimError> {
    let projection = QueryParams::from_request(req)
        .list_request()
        .projection(&USER_RESOURCE);
    let base = base_url(req, state);
    let body = user_json(&user_body(&user, &base, &projection)?)?;
    let representation = UserRepresentation::new(&user, &base);
    // Only a creation names its Location.
    let location = (status == StatusCode::CREATED).then(|| representation.location());
    Ok(resource_headers(status, Some(&representation.etag()), location.as_deref()).body(body))
}

async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
) -> Result<HttpResponse, ScimError> {
    let request = QueryParams::from_request(&req).list_request();
    respond_with_users(&req, &state, &scope, &request).await
}

/// `POST /Users/.search` (RFC 7644 §3.4.3).
async fn search(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let request = ListRequest::from_search_body(&body)?;
    respond_with_users(&req, &state, &scope, &request).await
}

/// Runs a list request and renders the ListResponse: a look-up that finds a few
/// users in one piece, any other list streamed out as it is read.
pub async fn respond_with_users(
    req: &HttpRequest,
    state: &AppState,
    scope: &Scope,
    request: &ListRequest,
) -> Result<HttpResponse, ScimError> {
    let query = request.query(&USER_RESOURCE, state.settings.page_limits)?;
    let start_index = match &query.window {
        UserWindow::Offset { offset, .. } => offset + 1,
        UserWindow::After { .. } => 1,
    };
    let base = base_url(req, state);
    let projection = request.projection(&USER_RESOURCE);
    let page = match domain::look_up_users(&state.store, scope, query).await? {
        LookUp::Page(page) => page,
        LookUp::Unanswered(query) => {
            let list = stream_list(&state.store, scope, Some(query), None).await?;
            let rendering = ListRendering {
                base,
                users: projection,
                groups: Projection::Default,
            };
            return Ok(streamed_page(list, request, start_index, rendering));
        }
    };
    let resources = page
        .users
        .iter()
        .map(|user| user_body(user, &base, &projection))
        .collect::<Result<Vec<_>, _>>()?;
    let body = if request.uses_cursor() {
        let next = page
            .next
            .as_ref()
            .map(|position| request.encode_cursor(position));
        user_list_json(&cursor_list_response(resources, page.total, next))?
    } else {
        user_list_json(&list_response(resources, page.total, start_index))?
    };
    Ok(scim_bytes(StatusCode::OK, body))
}
