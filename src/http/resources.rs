//! The SCIM resource routes, one set of handlers for `/Users` and `/Groups`
//! (RFC 7644 §3): each resource type says how it is created, read, replaced,
//! patched, deleted and listed; reading the request and answering is done here.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use futures_util::future::LocalBoxFuture;

use super::AppState;
use super::auth::Caller;
use super::body::{JsonBody, off_worker};
use super::params::QueryParams;
use super::routes::{Endpoint, Routes};
use crate::domain::DomainError;
use crate::domain::listing::ListQuery;
use crate::schema::ResourceTypeDef;
use crate::scim::ScimError;
use crate::scim::list::ListRequest;
use crate::scim::patch::{PatchOperation, parse_patch_request};
use crate::store::Scope;

/// The request a resource handler answers, and who makes it.
pub(super) struct Call {
    pub req: HttpRequest,
    pub state: web::Data<AppState>,
    pub scope: Scope,
}

impl FromRequest for Call {
    type Error = ScimError;
    type Future = LocalBoxFuture<'static, Result<Call, ScimError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let Caller(scope) = caller.await?;
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(ScimError::internal)?;
            Ok(Call { req, state, scope })
        })
    }
}

/// A resource type served under `/scim/v2`.
pub(super) trait ScimResource: 'static {
    /// `/Users`
    const COLLECTION: &'static str;
    /// `/Users/.search`
    const SEARCH: &'static str;
    /// `/Users/{id}`
    const ITEM: &'static str;
    const RESOURCE: &'static ResourceTypeDef;

    async fn create(call: &Call, body: serde_json::Value) -> Result<HttpResponse, ScimError>;

    async fn get(call: &Call, id: String) -> Result<HttpResponse, ScimError>;

    async fn replace(
        call: &Call,
        id: String,
        body: serde_json::Value,
    ) -> Result<HttpResponse, ScimError>;

    async fn patch(
        call: &Call,
        id: String,
        operations: Vec<PatchOperation>,
    ) -> Result<HttpResponse, ScimError>;

    async fn delete(call: &Call, id: String) -> Result<(), DomainError>;

    /// Runs a list or search `request` (its `query` resolved against
    /// [`Self::RESOURCE`]) and answers with its ListResponse.
    async fn list(
        call: &Call,
        request: &ListRequest,
        query: ListQuery,
    ) -> Result<HttpResponse, ScimError>;
}

/// Registers the routes of resource type `R`.
pub(super) fn routes<R: ScimResource>(r: &mut Routes<'_>) {
    r.add(
        Endpoint::new(R::COLLECTION)
            .get(list::<R>)
            .post(create::<R>),
    )
    .add(Endpoint::new(R::SEARCH).post(search::<R>))
    .add(
        Endpoint::new(R::ITEM)
            .get(get::<R>)
            .put(replace::<R>)
            .patch(patch::<R>)
            .delete(delete::<R>),
    );
}

async fn create<R: ScimResource>(
    call: Call,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    R::create(&call, body).await
}

async fn get<R: ScimResource>(
    call: Call,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    R::get(&call, id.into_inner()).await
}

async fn replace<R: ScimResource>(
    call: Call,
    id: web::Path<String>,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    R::replace(&call, id.into_inner(), body).await
}

async fn patch<R: ScimResource>(
    call: Call,
    id: web::Path<String>,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let max_operations = call.state.settings.max_patch_operations;
    let operations = off_worker(move || parse_patch_request(&body, max_operations)).await?;
    R::patch(&call, id.into_inner(), operations).await
}

async fn delete<R: ScimResource>(
    call: Call,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    R::delete(&call, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list<R: ScimResource>(call: Call) -> Result<HttpResponse, ScimError> {
    let request = QueryParams::from_request(&call.req).list_request();
    let query = request.query(R::RESOURCE, call.state.settings.page_limits)?;
    R::list(&call, &request, query).await
}

/// `POST {resource}/.search` (RFC 7644 §3.4.3).
async fn search<R: ScimResource>(
    call: Call,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let request = ListRequest::from_search_body(&body)?;
    let query = request.query(R::RESOURCE, call.state.settings.page_limits)?;
    R::list(&call, &request, query).await
}
