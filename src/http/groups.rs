//! `/Groups` routes.

use actix_web::http::StatusCode;
use std::future::ready;

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::{StreamExt, stream};

use super::AppState;
use super::auth::Caller;
use super::body::{JsonBody, off_worker};
use super::listing::{ListRendering, streamed_page};
use super::params::{QueryParams, base_url, if_match, not_modified};
use super::response::{json_bytes, resource_response, scim_resource, write_json};
use super::routes::{Endpoint, Routes};
use crate::domain::DomainError;
use crate::domain::groups::{self as domain, Group, GroupStream, GroupUpdate, MemberChange};
use crate::domain::listing::{GroupQuery, stream_list};
use crate::domain::users::UserWindow;
use crate::schema::GROUP_RESOURCE;
use crate::scim::ScimError;
use crate::scim::groups::{
    group_input_from_body, members_envelope, patch_group, project_member, render_group,
    render_member,
};
use crate::scim::list::ListRequest;
use crate::scim::patch::parse_patch_request;
use crate::scim::projection::Projection;
use crate::store::Scope;
use crate::urn;

pub fn routes(r: &mut Routes<'_>) {
    r.add(Endpoint::new("/Groups").get(list).post(create))
        .add(Endpoint::new("/Groups/.search").post(search))
        .add(
            Endpoint::new("/Groups/{id}")
                .get(get)
                .put(replace)
                .patch(patch)
                .delete(delete),
        );
}

/// Whether the request's projection leaves `members` out, so they are not loaded.
fn wants_members(req: &HttpRequest) -> bool {
    let projection = QueryParams::from_request(req)
        .list_request()
        .projection(&GROUP_RESOURCE);
    !projection.excludes("members")
}

fn single_group(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    group: &Group,
) -> Result<HttpResponse, ScimError> {
    let projection = QueryParams::from_request(req)
        .list_request()
        .projection(&GROUP_RESOURCE);
    let full = render_group(group, &base_url(req, state));
    let meta = full["meta"].clone();
    Ok(scim_resource(status, &projection.apply(full), &meta))
}

/// The response to a write: a group with a long member list is rendered on a
/// blocking thread.
async fn written_group(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    group: Group,
) -> Result<HttpResponse, ScimError> {
    let projection = QueryParams::from_request(req)
        .list_request()
        .projection(&GROUP_RESOURCE);
    let base = base_url(req, state);
    let (body, meta) = off_worker(move || {
        let full = render_group(&group, &base);
        let meta = full["meta"].clone();
        Ok((json_bytes(&projection.apply(full)), meta))
    })
    .await?;
    Ok(resource_response(status, &meta).body(body))
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let request = off_worker(move || group_input_from_body(&body)).await?;
    let group = domain::create_group(
        &state.store,
        &scope,
        request.attributes,
        request.custom_data,
        request.members,
    )
    .await?;
    written_group(&req, &state, StatusCode::CREATED, group).await
}

/// A group's members are streamed out page by page as they are read, so that a
/// group of any size is never held in memory whole.
async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let projection = QueryParams::from_request(&req)
        .list_request()
        .projection(&GROUP_RESOURCE);
    if projection.excludes("members") {
        let group = domain::get_group(&state.store, &scope, id.into_inner(), false).await?;
        if let Some(response) = not_modified(&req, group.version) {
            return Ok(response);
        }
        return single_group(&req, &state, StatusCode::OK, &group);
    }
    let GroupStream {
        group,
        member_pages,
    } = domain::stream_group(&state.store, &scope, id.into_inner()).await?;
    if let Some(response) = not_modified(&req, group.version) {
        return Ok(response);
    }
    let base = base_url(&req, &state);
    let head = render_group(&group, &base);
    let meta = head["meta"].clone();
    let (opening, closing) = members_envelope(&projection.apply(head));
    let mut separator = "";
    let pages = stream::unfold(member_pages, |mut pages| async move {
        pages.recv().await.map(|page| (page, pages))
    });
    let members = pages.map(move |page| {
        let mut chunk = Vec::new();
        for member in page? {
            if let Some(entry) = project_member(&projection, render_member(&member, &base)) {
                chunk.extend_from_slice(separator.as_bytes());
                write_json(&mut chunk, &entry);
                separator = ",";
            }
        }
        Ok::<_, DomainError>(Bytes::from(chunk))
    });
    let body = stream::once(ready(Ok(Bytes::from(opening))))
        .chain(members)
        .chain(stream::once(ready(Ok(Bytes::from_static(
            closing.as_bytes(),
        )))));
    Ok(resource_response(StatusCode::OK, &meta).streaming(body))
}

async fn replace(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    id: web::Path<String>,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let request = off_worker(move || group_input_from_body(&body)).await?;
    let with_members = wants_members(&req);
    let group = domain::modify_group(
        &state.store,
        &scope,
        id.into_inner(),
        if_match(&req),
        "group.replaced",
        move |current| {
            let mut attributes = request.attributes.clone();
            if !request.roster_named {
                // Identity providers know nothing of the Roster extension: keep it.
                if let Some(roster) = current.attributes.get(urn::ROSTER_GROUP) {
                    attributes.insert(urn::ROSTER_GROUP.into(), roster.clone());
                }
            }
            Ok::<_, ScimError>(GroupUpdate {
                attributes: Some(attributes),
                custom_data: request.roster_named.then(|| request.custom_data.clone()),
                members: vec![MemberChange::Replace(request.members.clone())],
            })
        },
        with_members,
    )
    .await?;
    written_group(&req, &state, StatusCode::OK, group).await
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
    let with_members = wants_members(&req);
    let group = domain::modify_group(
        &state.store,
        &scope,
        id.into_inner(),
        if_match(&req),
        "group.patched",
        move |current| patch_group(current, &operations),
        with_members,
    )
    .await?;
    written_group(&req, &state, StatusCode::OK, group).await
}

async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    domain::delete_group(&state.store, &scope, id.into_inner(), if_match(&req)).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
) -> Result<HttpResponse, ScimError> {
    let request = QueryParams::from_request(&req).list_request();
    respond_with_groups(&req, &state, &scope, &request).await
}

async fn search(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let request = ListRequest::from_search_body(&body)?;
    respond_with_groups(&req, &state, &scope, &request).await
}

/// Runs a list request and streams the ListResponse out as the groups (and their
/// members) are read.
async fn respond_with_groups(
    req: &HttpRequest,
    state: &AppState,
    scope: &Scope,
    request: &ListRequest,
) -> Result<HttpResponse, ScimError> {
    let query = request.query(&GROUP_RESOURCE, state.settings.page_limits)?;
    let start_index = match &query.window {
        UserWindow::Offset { offset, .. } => offset + 1,
        UserWindow::After { .. } => 1,
    };
    let projection = request.projection(&GROUP_RESOURCE);
    let groups = GroupQuery {
        query,
        with_members: !projection.excludes("members"),
    };
    let list = stream_list(&state.store, scope, None, Some(groups)).await?;
    let rendering = ListRendering {
        base: base_url(req, state),
        users: Projection::Default,
        groups: projection,
    };
    Ok(streamed_page(list, request, start_index, rendering))
}
