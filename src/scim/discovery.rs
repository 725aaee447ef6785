//! Discovery documents (RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas.

use serde_json::{Value, json};

use super::BaseUrl;
use super::bulk::BulkLimits;
use super::error::ScimError;
use super::list::{ListResponse, PageLimits, list_response};
use crate::schema::registry;
use crate::urn;

/// The ServiceProviderConfig, with the paging and bulk limits this instance runs with.
pub fn service_provider_config(base: &BaseUrl, limits: PageLimits, bulk: BulkLimits) -> Value {
    let mut document = registry().service_provider_config().clone();
    document["bulk"]["maxOperations"] = bulk.max_operations.into();
    document["bulk"]["maxPayloadSize"] = bulk.max_payload_bytes.into();
    document["filter"]["maxResults"] = limits.max_count.into();
    document["pagination"]["defaultPageSize"] = limits.default_count.into();
    document["pagination"]["maxPageSize"] = limits.max_count.into();
    document["meta"] = json!({
        "resourceType": "ServiceProviderConfig",
        "location": format!("{}/ServiceProviderConfig", base.0),
    });
    document
}

fn resource_type_document(document: &Value, base: &BaseUrl) -> Value {
    let mut document = document.clone();
    let name = document["name"].as_str().unwrap_or_default().to_owned();
    document["meta"] = json!({
        "resourceType": "ResourceType",
        "location": format!("{}/ResourceTypes/{name}", base.0),
    });
    document
}

pub fn resource_types(base: &BaseUrl) -> ListResponse<Value> {
    let documents: Vec<Value> = registry()
        .resource_types()
        .iter()
        .map(|d| resource_type_document(d, base))
        .collect();
    let total = documents.len() as i64;
    list_response(documents, total, 1)
}

pub fn resource_type(name: &str, base: &BaseUrl) -> Result<Value, ScimError> {
    registry()
        .resource_types()
        .iter()
        .find(|d| {
            d["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .map(|d| resource_type_document(d, base))
        .ok_or_else(|| ScimError::not_found(format!("ResourceType '{name}' not found")))
}

fn schema_document(document: &Value, base: &BaseUrl) -> Value {
    let mut document = document.clone();
    let id = document["id"].as_str().unwrap_or_default().to_owned();
    document["schemas"] = json!([urn::SCHEMA]);
    document["meta"] = json!({
        "resourceType": "Schema",
        "location": format!("{}/Schemas/{id}", base.0),
    });
    document
}

pub fn schemas(base: &BaseUrl) -> ListResponse<Value> {
    let documents: Vec<Value> = registry()
        .documents()
        .iter()
        .map(|d| schema_document(d, base))
        .collect();
    let total = documents.len() as i64;
    list_response(documents, total, 1)
}

pub fn schema(id: &str, base: &BaseUrl) -> Result<Value, ScimError> {
    registry()
        .document(id)
        .map(|d| schema_document(d, base))
        .ok_or_else(|| ScimError::not_found(format!("Schema '{id}' not found")))
}
