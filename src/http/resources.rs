//! The SCIM resource routes, one set of handlers for `/Users` and `/Groups`
//! (RFC 7644 §3): each resource type says how it is created, read, replaced,
//! patched, deleted and listed; reading the request and answering is done here.

use actix_web::{HttpRequest, HttpResponse, web};

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
#[derive(Clone, Copy)]
pub(super) struct Call<'a> {
    pub req: &'a HttpRequest,
    pub state: &'a AppState,
    pub scope: &'a Scope,
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

    async fn create(call: Call<'_>, body: serde_json::Value) -> Result<HttpResponse, ScimError>;

    async fn get(call: Call<'_>, id: String) -> Result<HttpResponse, ScimError>;

    async fn replace(
        call: Call<'_>,
        id: String,
        body: serde_json::Value,
    ) -> Result<HttpResponse, ScimError>;

    async fn patch(
        call: Call<'_>,
        id: String,
        operations: Vec<PatchOperation>,
    ) -> Result<HttpResponse, ScimError>;

    async fn delete(call: Call<'_>, id: String) -> Result<(), DomainError>;

    /// Runs a list or search `request` (its `query` resolved against
    /// [`Self::RESOURCE`]) and answers with its ListResponse.
    async fn list(
        call: Call<'_>,
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
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    R::create(
        Call {
            req: &req,
            state: &state,
            scope: &scope,
        },
        body,
    )
    .await
}

async fn get<R: ScimResource>(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    R::get(
        Call {
            req: &req,
            state: &state,
            scope: &scope,
        },
        id.into_inner(),
    )
    .await
}

async fn replace<R: ScimResource>(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    id: web::Path<String>,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    R::replace(
        Call {
            req: &req,
            state: &state,
            scope: &scope,
        },
        id.into_inner(),
        body,
    )
    .await
}

async fn patch<R: ScimResource>(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    id: web::Path<String>,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let max_operations = state.settings.max_patch_operations;
    let operations = off_worker(move || parse_patch_request(&body, max_operations)).await?;
    R::patch(
        Call {
            req: &req,
            state: &state,
            scope: &scope,
        },
        id.into_inner(),
        operations,
    )
    .await
}

async fn delete<R: ScimResource>(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    R::delete(
        Call {
            req: &req,
            state: &state,
            scope: &scope,
        },
        id.into_inner(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list<R: ScimResource>(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
) -> Result<HttpResponse, ScimError> {
    let request = QueryParams::from_request(&req).list_request();
    let query = request.query(R::RESOURCE, state.settings.page_limits)?;
    R::list(
        Call {
            req: &req,
            state: &state,
            scope: &scope,
        },
        &request,
        query,
    )
    .await
}

/// `POST {resource}/.search` (RFC 7644 §3.4.3).
async fn search<R: ScimResource>(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(scope): Caller,
    JsonBody(body): JsonBody,
) -> Result<HttpResponse, ScimError> {
    let request = ListRequest::from_search_body(&body)?;
    let query = request.query(R::RESOURCE, state.settings.page_limits)?;
    R::list(
        Call {
            req: &req,
            state: &state,
            scope: &scope,
        },
        &request,
        query,
    )
    .await
}
