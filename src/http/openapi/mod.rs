//! `GET /openapi.json`: the OpenAPI 3.1 document of every route but the Admin
//! Portal's, made once from the handlers' `#[utoipa::path]` annotations, the
//! request and response types, and the SCIM schema definitions.

mod resources;
mod schemas;

use std::collections::BTreeSet;
use std::sync::LazyLock;

use actix_web::HttpResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::groups::Groups;
use super::response::json_bytes;
use super::users::Users;
use super::{audit, bulk, discovery, health, management, oauth, prometheus, search};

/// Where the SCIM routes are served.
const SCIM_PREFIX: &str = "/scim/v2";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Roster",
        description = "A multi-tenant SCIM 2.0 service (RFC 7643, RFC 7644) and its management API. \
            Every SCIM route answers `application/scim+json` and reads `application/scim+json` or \
            `application/json`; errors are SCIM Errors.",
    ),
    paths(
        health::healthz,
        health::readyz,
        prometheus::render,
        document,
        oauth::token,
        management::list_apps,
        management::create_app,
        management::get_app,
        management::update_app,
        management::delete_app,
        management::rotate_secret,
        management::list_tokens,
        management::create_token,
        management::revoke_token,
        management::sign_in,
        audit::audit_events,
        search::search,
        bulk::bulk,
        discovery::service_provider_config,
        discovery::resource_types,
        discovery::resource_type,
        discovery::schemas,
        discovery::schema,
    ),
    modifiers(&Scim, &Security, &CommonResponses, &UniqueOperationIds),
)]
struct Document;

/// The SCIM resource routes and the schemas of SCIM messages.
struct Scim;

impl Modify for Scim {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        resources::add::<Users>(&mut openapi.paths, SCIM_PREFIX);
        resources::add::<Groups>(&mut openapi.paths, SCIM_PREFIX);
        schemas::add_to(openapi.components.get_or_insert_with(Default::default));
    }
}

/// Bearer tokens for `/scim/v2` and `/v1`; client credentials for `/oauth2/token`.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

/// The answers every route behind a bearer token can give, from the token check and
/// the database: written once here rather than on every handler.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (_, operation) in operations_mut(item) {
                let bearer = operation.security.iter().flatten().any(|requirement| {
                    serde_json::to_value(requirement)
                        .is_ok_and(|value| value.get("bearer").is_some())
                });
                if !bearer {
                    continue;
                }
                let mut common = vec![
                    ("401", "No valid bearer token"),
                    (
                        "503",
                        "The database is unavailable; retry after Retry-After seconds",
                    ),
                ];
                if path.starts_with("/v1/") {
                    common.push(("403", "The token is not the Management Application's"));
                }
                for (status, description) in common {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| resources::error(description).build().into());
                }
            }
        }
    }
}

/// One handler may serve two methods (`PUT` and `PATCH /v1/apps/{id}`): each
/// operation's id gets the method, so that ids stay unique.
struct UniqueOperationIds;

impl Modify for UniqueOperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut seen = BTreeSet::new();
        let mut repeated = BTreeSet::new();
        for item in openapi.paths.paths.values_mut() {
            for (_, operation) in operations_mut(item) {
                if let Some(id) = &operation.operation_id
                    && !seen.insert(id.clone())
                {
                    repeated.insert(id.clone());
                }
            }
        }
        for item in openapi.paths.paths.values_mut() {
            for (method, operation) in operations_mut(item) {
                if let Some(id) = &mut operation.operation_id
                    && repeated.contains(id)
                {
                    *id = format!("{id}_{method}");
                }
            }
        }
    }
}

/// The operations of `item` by method, of the methods Roster serves.
fn operations_mut(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = (&'static str, &mut utoipa::openapi::path::Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("patch", &mut item.patch),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_mut().map(|operation| (method, operation)))
}

static DOCUMENT: LazyLock<Vec<u8>> = LazyLock::new(|| json_bytes(&Document::openapi()));

/// The OpenAPI document of the service.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "Service",
    responses((status = 200, description = "This document", content_type = "application/json")),
)]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.as_slice())
}
