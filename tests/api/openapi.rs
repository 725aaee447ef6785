//! `GET /openapi.json`: an OpenAPI 3.1 document that describes exactly the routes the
//! router serves (the Admin Portal's HTML pages aside), so that it cannot drift from
//! them; CI fuzzes the service against it (`openapi-tests/run.sh`).

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::on_both_backends;
use crate::support::{TestServer, read};

on_both_backends!(the_document_describes_every_route_and_only_those);

/// Routes left out of the document: the Admin Portal serves HTML to browsers.
fn undocumented(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

async fn the_document_describes_every_route_and_only_those(server: TestServer) {
    let response = server
        .anonymous(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let (status, document) = read(response).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "{}",
        document["openapi"]
    );

    let served: BTreeSet<String> = roster::http::route_table()
        .iter()
        .filter(|(_, path)| !undocumented(path))
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    let mut documented = BTreeSet::new();
    let mut operation_ids = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            documented.insert(format!("{} {path}", method.to_uppercase()));
            let id = operation["operationId"].as_str().expect("an operationId");
            assert!(operation_ids.insert(id.to_owned()), "{id} is used twice");
            check_operation(path, method, operation);
        }
    }
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes the document leaves out: {missing:?}\n\
         operations the router does not serve: {extra:?}"
    );
    assert!(served.contains("GET /scim/v2/Users/{id}"), "{served:?}");

    let mut references = Vec::new();
    collect_references(&document, &mut references);
    for reference in &references {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{reference} is not a component schema"));
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "{reference} names no schema"
        );
    }
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["client_basic"]["scheme"], "basic");
    // The resource schemas come from the SCIM schema definitions.
    let user = &document["components"]["schemas"]["User"]["properties"];
    assert_eq!(user["emails"]["type"], "array", "{user}");
    assert_eq!(user["active"]["type"], "boolean", "{user}");
    let written = &document["components"]["schemas"]["UserRequest"];
    assert_eq!(written["required"], serde_json::json!(["userName"]));
    assert!(written["properties"].get("id").is_none(), "{written}");
}

/// Security, media types and path parameters of one operation.
fn check_operation(path: &str, method: &str, operation: &Value) {
    let route = format!("{method} {path}");
    let security: Vec<&str> = operation["security"]
        .as_array()
        .map(|requirements| {
            requirements
                .iter()
                .flat_map(|r| r.as_object().unwrap().keys())
                .map(String::as_str)
                .collect()
        })
        .unwrap_or_default();
    if path.starts_with("/scim/v2/") || path.starts_with("/v1/") {
        assert_eq!(security, ["bearer"], "{route}");
        assert!(operation["responses"].get("401").is_some(), "{route}");
    } else if path == "/oauth2/token" {
        assert_eq!(security, ["client_basic"], "{route}");
    } else {
        assert!(security.is_empty(), "{route}");
    }
    for (status, response) in operation["responses"].as_object().unwrap() {
        let types: Vec<&String> = response["content"]
            .as_object()
            .map(|content| content.keys().collect())
            .unwrap_or_default();
        if path.starts_with("/scim/v2/") || !status.starts_with('2') {
            assert!(
                types.iter().all(|t| *t == "application/scim+json"),
                "{route} {status}: {types:?}"
            );
        }
    }
    if path.starts_with("/scim/v2/")
        && let Some(body) = operation.get("requestBody")
    {
        let types: BTreeSet<&str> = body["content"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            types,
            BTreeSet::from(["application/json", "application/scim+json"]),
            "{route}"
        );
    }
    let declared: BTreeSet<&str> = operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "path")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let in_path: BTreeSet<&str> = path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .collect();
    assert_eq!(declared, in_path, "{route}");
}

fn collect_references<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(reference)) => out.push(reference),
                    _ => collect_references(inner, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_references(item, out)),
        _ => {}
    }
}
