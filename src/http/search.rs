//! `POST /.search` at the service root (RFC 7644 §3.4.3): one search over users and
//! groups. A filter that names attributes of only one resource type searches only
//! that type; results list users first, then groups.

use actix_web::{HttpRequest, HttpResponse, web};

use super::AppState;
use super::auth::Caller;
use super::body::JsonBody;
use super::listing::{ListRendering, streamed_list};
use super::params::base_url;
use super::routes::{Endpoint, Routes};
use crate::domain::listing::{GroupQuery, stream_list};
use crate::schema::{GROUP_RESOURCE, USER_RESOURCE};
use crate::scim::list::{ListFrame, ListRequest};
use crate::scim::{ScimError, ScimType};

pub fn routes(r: &mut Routes<'_>) {
    r.add(Endpoint::new("/.search").post(search));
}

/// Searches users and groups at once (RFC 7644 §3.4.3).
#[utoipa::path(
    post,
    path = "/scim/v2/.search",
    tag = "SCIM",
    request_body(
        content(
            (ref("#/components/schemas/SearchRequest") = "application/scim+json"),
            (ref("#/components/schemas/SearchRequest") = "application/json"),
        ),
    ),
    responses(
        (status = 200, description = "Users, then groups", body = ref("#/components/schemas/ListResponse"), content_type = "application/scim+json"),
        (status = 400, description = "The SearchRequest is not valid", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
        (status = 413, description = "The body is larger than the limit", body = ref("#/components/schemas/ScimError"), content_type = "application/scim+json"),
    ),
    security(("bearer" = [])),
)]
async fn search(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let request = ListRequest::from_search_body(&body)?;
    if request.uses_cursor() {
        return Err(ScimError::invalid_value(
            "cursor paging applies to one resource type: use /Users/.search or /Groups/.search",
        ));
    }
    let limits = state.settings.page_limits;
    let user_query = request.query(&USER_RESOURCE, limits);
    let group_query = request.query(&GROUP_RESOURCE, limits);
    // A filter on attributes of one type only searches that type.
    let unresolvable = |result: &Result<_, ScimError>| matches!(result, Err(e) if e.scim_type == Some(ScimType::InvalidFilter));
    if unresolvable(&user_query) && unresolvable(&group_query) {
        return Err(user_query
            .err()
            .unwrap_or_else(|| ScimError::invalid_filter("the filter is not valid")));
    }
    let user_query = if unresolvable(&user_query) {
        None
    } else {
        Some(user_query?)
    };
    let group_query = if unresolvable(&group_query) {
        None
    } else {
        Some(group_query?)
    };
    let start_index = user_query
        .as_ref()
        .or(group_query.as_ref())
        .map_or(1, |query| query.start_index());
    let group_projection = request.projection(&GROUP_RESOURCE);
    let groups = group_query.map(|query| GroupQuery {
        query,
        with_members: !group_projection.excludes("members"),
    });
    let list = stream_list(&state.store, &scope, user_query, groups).await?;
    let frame = ListFrame {
        total_results: list.head.total,
        items_per_page: list.head.items,
        start_index: Some(start_index),
        next_cursor: None,
    };
    let rendering = ListRendering {
        base: base_url(&req, &state),
        users: request.projection(&USER_RESOURCE),
        groups: group_projection,
    };
    Ok(streamed_list(list, frame, rendering))
}
