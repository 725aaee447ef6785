//! `/Users` routes.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use serde_json::Value;

use super::AppState;
use super::listing::{ListRendering, streamed_page};
use super::params::{QueryParams, base_url, if_match, not_modified};
use super::resources::{Call, ScimResource};
use super::response::{resource_headers, scim_bytes};
use crate::domain::DomainError;
use crate::domain::listing::{ListQuery, stream_list};
use crate::domain::users::{self as domain, LookUp, User};
use crate::schema::{ResourceTypeDef, USER_RESOURCE};
use crate::scim::ScimError;
use crate::scim::list::{ListRequest, cursor_list_response, list_response};
use crate::scim::patch::PatchOperation;
use crate::scim::projection::Projection;
use crate::scim::users::{
    UserRepresentation, patch_user, user_body, user_input_from_body, user_json, user_list_json,
};

/// `/Users`.
pub(super) struct Users;

impl ScimResource for Users {
    const COLLECTION: &'static str = "/Users";
    const SEARCH: &'static str = "/Users/.search";
    const RESOURCE: &'static ResourceTypeDef = &USER_RESOURCE;
    const ITEM: &'static str = "/Users/{id}";

    async fn create(call: &Call, body: Value) -> Result<HttpResponse, ScimError> {
        let Call { req, state, scope } = call;
        let input = user_input_from_body(&body)?;
        let user = domain::create_user(&state.store, scope, input).await?;
        single_user(req, state, StatusCode::CREATED, user)
    }

    async fn get(call: &Call, id: String) -> Result<HttpResponse, ScimError> {
        let Call { req, state, scope } = call;
        let user = domain::get_user(&state.store, scope, id).await?;
        if let Some(response) = not_modified(req, user.version) {
            return Ok(response);
        }
        single_user(req, state, StatusCode::OK, user)
    }

    async fn replace(call: &Call, id: String, body: Value) -> Result<HttpResponse, ScimError> {
        let Call { req, state, scope } = call;
        let input = user_input_from_body(&body)?;
        let user = domain::replace_user(&state.store, scope, id, input, if_match(req)).await?;
        single_user(req, state, StatusCode::OK, user)
    }

    async fn patch(
        call: &Call,
        id: String,
        operations: Vec<PatchOperation>,
    ) -> Result<HttpResponse, ScimError> {
        let Call { req, state, scope } = call;
        let user = domain::modify_user(
            &state.store,
            scope,
            id,
            if_match(req),
            "user.patched",
            move |current| patch_user(current, &operations),
        )
        .await?;
        single_user(req, state, StatusCode::OK, user)
    }

    async fn delete(call: &Call, id: String) -> Result<(), DomainError> {
        let if_match = if_match(&call.req);
        domain::delete_user(&call.state.store, &call.scope, id, if_match).await
    }

    /// Runs a list request and renders the ListResponse: a look-up that finds a few
    /// users in one piece, any other list streamed out as it is read.
    async fn list(
        call: &Call,
        request: &ListRequest,
        query: ListQuery,
    ) -> Result<HttpResponse, ScimError> {
        let Call { req, state, scope } = call;
        let start_index = query.start_index();
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
