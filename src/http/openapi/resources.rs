//! The operations of the SCIM resource routes (`/Users`, `/Groups`): their handlers
//! are generic over the resource type, so they are described here from the same
//! [`ScimResource`] constants that route them.

use utoipa::openapi::header::Header;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Content, Paths, Required};

use super::schemas::{list_name, reference, string, written_name};
use crate::http::resources::ScimResource;

/// Media types a SCIM request body may have.
const SCIM_REQUEST_TYPES: [&str; 2] = ["application/scim+json", "application/json"];

const SCIM: &str = "application/scim+json";

/// Adds the operations of resource type `R` under `prefix` (`/scim/v2`).
pub fn add<R: ScimResource>(paths: &mut Paths, prefix: &str) {
    let resource = R::RESOURCE;
    let name = resource.name;
    let tag = format!("{}s", name);
    let list = reference(&list_name(resource));
    let item = || reference(name);
    let written = || reference(&written_name(resource));
    let collection = format!("{prefix}{}", R::COLLECTION);
    let search = format!("{prefix}{}", R::SEARCH);
    let single = format!("{prefix}{}", R::ITEM);

    let op = |summary: String, id: &str| {
        OperationBuilder::new()
            .tag(&tag)
            .summary(Some(summary))
            .operation_id(Some(format!("{id}{name}")))
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
    };
    let listed = with_list_parameters(op(format!("List {name}s"), "list"))
        .response(
            "200",
            scim_response(&format!("A page of {name}s"), list.clone()),
        )
        .response(
            "400",
            error("A filter, sort or paging parameter is not valid"),
        );
    add_operation(paths, &collection, HttpMethod::Get, listed);

    let created = with_projection(op(format!("Create a {name}"), "create"))
        .request_body(Some(scim_request(written())))
        .response(
            "201",
            scim_response(&format!("The {name} created"), item())
                .header("ETag", Header::new(string()))
                .header("Location", Header::new(string())),
        )
        .response("400", error("The body is not a valid resource"))
        .response("409", error("Another resource has the same unique value"))
        .response("413", error("The body is larger than the limit"));
    add_operation(paths, &collection, HttpMethod::Post, created);

    let searched = op(format!("Search {name}s"), "search")
        .request_body(Some(scim_request(reference("SearchRequest"))))
        .response("200", scim_response(&format!("A page of {name}s"), list))
        .response("400", error("The SearchRequest is not valid"))
        .response("413", error("The body is larger than the limit"));
    add_operation(paths, &search, HttpMethod::Post, searched);

    let read = with_projection(with_id(op(format!("Read a {name}"), "get")))
        .parameter(header(
            "If-None-Match",
            "The version the client has: answered 304 when it is current",
        ))
        .response(
            "200",
            scim_response(&format!("The {name}"), item()).header("ETag", Header::new(string())),
        )
        .response(
            "304",
            ResponseBuilder::new()
                .description("The version named in If-None-Match is current")
                .build(),
        )
        .response("400", error("A projection parameter is not valid"))
        .response(
            "404",
            error(&format!("No such {name} in the caller's tenant")),
        );
    add_operation(paths, &single, HttpMethod::Get, read);

    let replaced = with_write_conditions(with_projection(with_id(op(
        format!("Replace a {name}"),
        "replace",
    ))))
    .request_body(Some(scim_request(written())))
    .response(
        "200",
        scim_response(&format!("The {name} replaced"), item())
            .header("ETag", Header::new(string())),
    )
    .response("400", error("The body is not a valid resource"))
    .response("409", error("Another resource has the same unique value"))
    .response("413", error("The body is larger than the limit"));
    add_operation(paths, &single, HttpMethod::Put, replaced);

    let patched = with_write_conditions(with_projection(with_id(op(
        format!("Modify a {name}"),
        "patch",
    ))))
    .request_body(Some(scim_request(reference("PatchOp"))))
    .response(
        "200",
        scim_response(&format!("The {name} modified"), item())
            .header("ETag", Header::new(string())),
    )
    .response("400", error("The PatchOp is not valid or cannot apply"))
    .response("409", error("Another resource has the same unique value"))
    .response("413", error("The body is larger than the limit"));
    add_operation(paths, &single, HttpMethod::Patch, patched);

    let deleted = with_write_conditions(with_id(op(format!("Delete a {name}"), "delete")))
        .response(
            "204",
            ResponseBuilder::new()
                .description(format!("The {name} is deleted"))
                .build(),
        );
    add_operation(paths, &single, HttpMethod::Delete, deleted);
}

fn add_operation(paths: &mut Paths, path: &str, method: HttpMethod, operation: OperationBuilder) {
    let operation: Operation = operation
        .response("403", error("The token may not do this"))
        .build();
    paths.add_path_operation(path, vec![method], operation);
}

/// A SCIM Error response.
pub fn error(description: &str) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content(SCIM, Content::new(Some(reference("ScimError"))))
}

fn scim_response(
    description: &str,
    schema: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content(SCIM, Content::new(Some(schema)))
}

fn scim_request(
    schema: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
) -> utoipa::openapi::request_body::RequestBody {
    SCIM_REQUEST_TYPES
        .iter()
        .fold(
            RequestBodyBuilder::new().required(Some(Required::True)),
            |body, media| body.content(*media, Content::new(Some(schema.clone()))),
        )
        .build()
}

fn parameter(name: &str, location: ParameterIn, description: &str) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(location)
        .description(Some(description))
        .schema(Some(string()))
}

fn query(name: &str, description: &str) -> ParameterBuilder {
    parameter(name, ParameterIn::Query, description)
}

fn header(name: &str, description: &str) -> ParameterBuilder {
    parameter(name, ParameterIn::Header, description)
}

fn with_id(operation: OperationBuilder) -> OperationBuilder {
    operation
        .parameter(parameter("id", ParameterIn::Path, "The resource's id").required(Required::True))
}

fn with_projection(operation: OperationBuilder) -> OperationBuilder {
    operation
        .parameter(query(
            "attributes",
            "Attributes to return, comma-separated (RFC 7644 §3.9)",
        ))
        .parameter(query(
            "excludedAttributes",
            "Attributes to leave out, comma-separated (RFC 7644 §3.9)",
        ))
}

fn with_list_parameters(operation: OperationBuilder) -> OperationBuilder {
    let integer = |name: &str, description: &str| {
        query(name, description).schema(Some(utoipa::openapi::RefOr::T(
            utoipa::openapi::schema::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::Integer)
                .into(),
        )))
    };
    with_projection(operation)
        .parameter(query("filter", "A SCIM filter (RFC 7644 §3.4.2.2)"))
        .parameter(query("sortBy", "The attribute to sort by"))
        .parameter(query("sortOrder", "ascending or descending"))
        .parameter(integer("startIndex", "1-based index of the first result"))
        .parameter(integer("count", "Most results of the page"))
        .parameter(query(
            "cursor",
            "Cursor paging (RFC 9865): empty for the first page, then a page's nextCursor",
        ))
}

fn with_write_conditions(operation: OperationBuilder) -> OperationBuilder {
    operation
        .parameter(header(
            "If-Match",
            "The version the client changes: answered 412 when it is no longer current",
        ))
        .response("404", error("No such resource in the caller's tenant"))
        .response("412", error("The version named in If-Match is not current"))
}
