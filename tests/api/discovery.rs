//! Discovery endpoints (RFC 7644 §4), checked against the shapes RFC 7643 §5–§7 define.

use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both_backends;
use crate::support::{TestServer, assert_scim_error};

on_both_backends!(
    service_provider_config_has_every_required_capability,
    resource_types_describe_users_with_their_extensions,
    schemas_lists_every_roster_schema_and_each_validates,
    a_schema_is_served_by_its_urn_in_any_case,
    unknown_schema_and_resource_type_are_404,
    discovery_needs_a_token,
);

const TYPES: &[&str] = &[
    "string",
    "boolean",
    "decimal",
    "integer",
    "dateTime",
    "binary",
    "reference",
    "complex",
];
const MUTABILITY: &[&str] = &["readOnly", "readWrite", "immutable", "writeOnly"];
const RETURNED: &[&str] = &["always", "never", "default", "request"];
const UNIQUENESS: &[&str] = &["none", "server", "global"];
const DOCUMENTED_NESTED_COMPLEX: &[&str] = &[
    "urn:ietf:params:scim:schemas:extension:roster:2.0:User.apps.customAppData",
    "urn:ietf:params:scim:schemas:extension:roster:2.0:User.apps.consents",
];

/// RFC 7643 §7: the characteristics every attribute definition carries.
fn assert_valid_attribute(attribute: &Value, context: &str) {
    let name = attribute["name"]
        .as_str()
        .unwrap_or_else(|| panic!("{context}: attribute without name"));
    let context = format!("{context}.{name}");
    let kind = attribute["type"].as_str().unwrap_or_default();
    assert!(TYPES.contains(&kind), "{context}: bad type {kind}");
    assert!(
        attribute["multiValued"].is_boolean(),
        "{context}: multiValued"
    );
    assert!(attribute["required"].is_boolean(), "{context}: required");
    assert!(
        attribute["description"].is_string(),
        "{context}: description"
    );
    assert!(
        MUTABILITY.contains(&attribute["mutability"].as_str().unwrap_or_default()),
        "{context}: mutability"
    );
    assert!(
        RETURNED.contains(&attribute["returned"].as_str().unwrap_or_default()),
        "{context}: returned"
    );
    if matches!(kind, "string" | "reference" | "binary") {
        assert!(attribute["caseExact"].is_boolean(), "{context}: caseExact");
        assert!(
            UNIQUENESS.contains(&attribute["uniqueness"].as_str().unwrap_or_default()),
            "{context}: uniqueness"
        );
    }
    if kind == "complex" {
        for sub in attribute["subAttributes"]
            .as_array()
            .unwrap_or_else(|| panic!("{context}: subAttributes"))
        {
            let sub_context = format!("{context}.{}", sub["name"].as_str().unwrap_or_default());
            // RFC 7643 §2.3.8 forbids complex sub-attributes; the Roster extension's
            // per-app entries carry two by contract (see schemas/README.md).
            if sub["type"] == "complex" {
                assert!(
                    DOCUMENTED_NESTED_COMPLEX.contains(&sub_context.as_str()),
                    "{sub_context}: complex sub-attribute"
                );
            }
            assert_valid_attribute(sub, &context);
        }
    }
}

fn assert_valid_schema(schema: &Value) {
    let id = schema["id"].as_str().expect("schema id");
    assert!(id.starts_with("urn:"), "{id}");
    assert_eq!(
        schema["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:Schema"
    );
    assert!(
        schema["name"].is_string() && schema["description"].is_string(),
        "{id}"
    );
    assert_eq!(schema["meta"]["resourceType"], "Schema");
    assert!(
        schema["meta"]["location"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/Schemas/{id}"))
    );
    for attribute in schema["attributes"].as_array().expect("attributes") {
        assert_valid_attribute(attribute, id);
    }
}

async fn service_provider_config_has_every_required_capability(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, config) = tenant.get("/ServiceProviderConfig").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        config["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    );
    for capability in ["patch", "bulk", "filter", "changePassword", "sort", "etag"] {
        assert!(config[capability]["supported"].is_boolean(), "{capability}");
    }
    assert!(
        config["bulk"]["maxOperations"].is_number() && config["bulk"]["maxPayloadSize"].is_number()
    );
    assert!(config["filter"]["maxResults"].is_number());
    let schemes = config["authenticationSchemes"].as_array().unwrap();
    assert!(schemes.iter().any(|s| s["type"] == "oauthbearertoken"
        && s["name"].is_string()
        && s["description"].is_string()));
    assert_eq!(config["meta"]["resourceType"], "ServiceProviderConfig");
}

async fn resource_types_describe_users_with_their_extensions(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, list) = tenant.get("/ResourceTypes").await;
    assert_eq!(status, StatusCode::OK);
    let user = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "User")
        .expect("User resource type");
    assert_eq!(
        user["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
    );
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(user["schema"], "urn:ietf:params:scim:schemas:core:2.0:User");
    let extensions: Vec<&str> = user["schemaExtensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["schema"].as_str().unwrap())
        .collect();
    assert!(extensions.contains(&"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
    assert!(extensions.contains(&"urn:ietf:params:scim:schemas:extension:roster:2.0:User"));
    let (status, single) = tenant.get("/ResourceTypes/User").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&single, user);
}

async fn schemas_lists_every_roster_schema_and_each_validates(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, list) = tenant.get("/Schemas").await;
    assert_eq!(status, StatusCode::OK);
    let schemas = list["Resources"].as_array().unwrap();
    let ids: Vec<&str> = schemas.iter().map(|s| s["id"].as_str().unwrap()).collect();
    for expected in [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:extension:roster:2.0:User",
        "urn:ietf:params:scim:schemas:extension:roster:2.0:Group",
    ] {
        assert!(ids.contains(&expected), "{expected} missing");
    }
    assert_eq!(list["totalResults"], schemas.len());
    schemas.iter().for_each(assert_valid_schema);
}

async fn a_schema_is_served_by_its_urn_in_any_case(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, schema) = tenant
        .get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_valid_schema(&schema);
    let user_name = schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "userName")
        .unwrap();
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["required"], true);
    let (status, same) = tenant
        .get("/Schemas/URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same["id"], schema["id"]);
}

async fn unknown_schema_and_resource_type_are_404(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, body) = tenant.get("/Schemas/urn:example:nothing").await;
    assert_scim_error(status, &body, StatusCode::NOT_FOUND, None);
    let (status, body) = tenant.get("/ResourceTypes/Widget").await;
    assert_scim_error(status, &body, StatusCode::NOT_FOUND, None);
}

async fn discovery_needs_a_token(server: TestServer) {
    let response = server
        .anonymous(reqwest::Method::GET, "/scim/v2/Schemas")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
