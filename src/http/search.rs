//! `POST /.search` at the service root (RFC 7644 §3.4.3): one search over users and
//! groups. A filter that names attributes of only one resource type searches only
//! that type; results list users first, then groups.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::AppState;
use super::auth::Caller;
use super::body::JsonBody;
use super::error::method_not_allowed;
use super::params::base_url;
use super::response::scim_json;
use crate::domain::groups::search_groups;
use crate::domain::users::{UserWindow, search_users};
use crate::scim::groups::render_group;
use crate::scim::list::{ListRequest, list_response};
use crate::scim::schema::{GROUP_RESOURCE, USER_RESOURCE};
use crate::scim::users::render_user;
use crate::scim::{ScimError, ScimType};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/.search")
            .route(web::post().to(search))
            .default_service(web::to(method_not_allowed)),
    );
}

async fn search(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
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
    let (offset, count) = match user_query
        .as_ref()
        .or(group_query.as_ref())
        .map(|q| &q.window)
    {
        Some(UserWindow::Offset { offset, limit }) => (*offset, *limit),
        _ => (0, limits.default_count),
    };
    let base = base_url(&req, &state);
    let mut resources = Vec::new();
    let mut total = 0;
    if let Some(mut query) = user_query {
        let users_projection = request.projection(&USER_RESOURCE);
        query.window = UserWindow::Offset {
            offset,
            limit: count,
        };
        let page = search_users(&state.store, &principal, query).await?;
        total += page.total;
        for user in &page.users {
            resources.push(users_projection.apply(render_user(user, &base)?));
        }
    }
    if let Some(query) = group_query {
        let projection = request.projection(&GROUP_RESOURCE);
        let skipped_users = total;
        let group_offset = (offset - skipped_users).max(0);
        let room = count - resources.len() as i64;
        let window = UserWindow::Offset {
            offset: group_offset,
            limit: room.max(0),
        };
        let page = search_groups(
            &state.store,
            &principal,
            query.filter,
            query.sort,
            window,
            !projection.excludes("members"),
        )
        .await?;
        total += page.total;
        resources.extend(
            page.groups
                .iter()
                .map(|g| projection.apply(render_group(g, &base))),
        );
    }
    Ok(scim_json(
        StatusCode::OK,
        &list_response(resources, total, offset + 1),
    ))
}
