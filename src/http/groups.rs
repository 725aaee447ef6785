//! `/Groups` routes.

use actix_web::http::StatusCode;
use std::future::ready;

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use futures_util::{StreamExt, stream};

use serde_json::Value;

use super::AppState;
use super::body::off_worker;
use super::listing::{ListRendering, streamed_page};
use super::params::{QueryParams, base_url, if_match, not_modified};
use super::resources::{Call, ScimResource};
use super::response::{json_bytes, resource_response, scim_resource, write_json};
use crate::domain::DomainError;
use crate::domain::groups::{self as domain, Group, GroupStream};
use crate::domain::listing::{GroupQuery, ListQuery, stream_list};
use crate::schema::{GROUP_RESOURCE, ResourceTypeDef};
use crate::scim::ScimError;
use crate::scim::groups::{
    group_input_from_body, members_envelope, patch_group, project_member, render_group,
    render_member, replacement,
};
use crate::scim::list::ListRequest;
use crate::scim::patch::PatchOperation;
use crate::scim::projection::Projection;

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

/// `/Groups`.
pub(super) struct Groups;

impl ScimResource for Groups {
    const COLLECTION: &'static str = "/Groups";
    const SEARCH: &'static str = "/Groups/.search";
    const RESOURCE: &'static ResourceTypeDef = &GROUP_RESOURCE;
    const ITEM: &'static str = "/Groups/{id}";

    async fn create(call: &Call, body: Value) -> Result<HttpResponse, ScimError> {
        let Call { req, state, scope } = call;
        let request = off_worker(move || group_input_from_body(&body)).await?;
        let group = domain::create_group(
            &state.store,
            scope,
            request.attributes,
            request.custom_data,
            request.members,
        )
        .await?;
        written_group(req, state, StatusCode::CREATED, group).await
    }

    /// A group's members are streamed out page by page as they are read, so that a
    /// group of any size is never held in memory whole.
    async fn get(call: &Call, id: String) -> Result<HttpResponse, ScimError> {
        let Call { req, state, scope } = call;
        let projection = QueryParams::from_request(req)
            .list_request()
            .projection(&GROUP_RESOURCE);
        if projection.excludes("members") {
            let group = domain::get_group(&state.store, scope, id, false).await?;
            if let Some(response) = not_modified(req, group.version) {
                return Ok(response);
            }
            return single_group(req, state, StatusCode::OK, &group);
        }
        let GroupStream {
            group,
            member_pages,
        } = domain::stream_group(&state.store, scope, id).await?;
        if let Some(response) = not_modified(req, group.version) {
            return Ok(response);
        }
        let base = base_url(req, state);
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

    async fn replace(call: &Call, id: String, body: Value) -> Result<HttpResponse, ScimError> {
        let Call { req, state, scope } = call;
        let request = off_worker(move || group_input_from_body(&body)).await?;
        let with_members = wants_members(req);
        let group = domain::modify_group(
            &state.store,
            scope,
            id,
            if_match(req),
            "group.replaced",
            move |current| Ok::<_, ScimError>(replacement(current, &request)),
            with_members,
        )
        .await?;
        written_group(req, state, StatusCode::OK, group).await
    }

    async fn patch(
        call: &Call,
        id: String,
        operations: Vec<PatchOperation>,
    ) -> Result<HttpResponse, ScimError> {
        let Call { req, state, scope } = call;
        let with_members = wants_members(req);
        let group = domain::modify_group(
            &state.store,
            scope,
            id,
            if_match(req),
            "group.patched",
            move |current| patch_group(current, &operations),
            with_members,
        )
        .await?;
        written_group(req, state, StatusCode::OK, group).await
    }

    async fn delete(call: &Call, id: String) -> Result<(), DomainError> {
        let if_match = if_match(&call.req);
        domain::delete_group(&call.state.store, &call.scope, id, if_match).await
    }

    /// Runs a list request and streams the ListResponse out as the groups (and their
    /// members) are read.
    async fn list(
        call: &Call,
        request: &ListRequest,
        query: ListQuery,
    ) -> Result<HttpResponse, ScimError> {
        let Call { req, state, scope } = call;
        let start_index = query.start_index();
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
}
