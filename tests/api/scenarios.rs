//! Recorded client scenarios: every file in `conformance-tests/scenarios/` replayed
//! step by step, each step asserting its status and the parts of the body it names.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::on_both_backends;
use crate::support::{Tenant, TestServer, read};

on_both_backends!(
    entra_id_scenario_replays,
    okta_scenario_replays,
    onelogin_scenario_replays,
    jumpcloud_scenario_replays
);

async fn entra_id_scenario_replays(server: TestServer) {
    replay(&server, "entra-id.json").await;
}

async fn okta_scenario_replays(server: TestServer) {
    replay(&server, "okta.json").await;
}

async fn onelogin_scenario_replays(server: TestServer) {
    replay(&server, "onelogin.json").await;
}

async fn jumpcloud_scenario_replays(server: TestServer) {
    replay(&server, "jumpcloud.json").await;
}

fn substitute(text: &str, variables: &HashMap<String, String>) -> String {
    variables
        .iter()
        .fold(text.to_owned(), |text, (name, value)| {
            text.replace(&format!("${{{name}}}"), value)
        })
}

fn substitute_json(value: &Value, variables: &HashMap<String, String>) -> Value {
    match value {
        Value::String(s) => Value::String(substitute(s, variables)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| substitute_json(v, variables))
                .collect(),
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (substitute(k, variables), substitute_json(v, variables)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `expected` is contained in `actual`: objects by the keys they name, arrays
/// element by element with equal lengths, everything else equal.
fn assert_contains(actual: &Value, expected: &Value, at: &str) {
    match (expected, actual) {
        (Value::Object(wanted), Value::Object(fields)) => {
            for (key, value) in wanted {
                let found = fields
                    .get(key)
                    .unwrap_or_else(|| panic!("{at}/{key} is missing"));
                assert_contains(found, value, &format!("{at}/{key}"));
            }
        }
        (Value::Array(wanted), Value::Array(items)) => {
            assert_eq!(
                items.len(),
                wanted.len(),
                "{at} has {} values: {actual}",
                items.len()
            );
            for (i, (item, want)) in items.iter().zip(wanted).enumerate() {
                assert_contains(item, want, &format!("{at}/{i}"));
            }
        }
        _ => assert_eq!(actual, expected, "{at}"),
    }
}

async fn replay(server: &TestServer, file: &str) {
    let path = format!(
        "{}/conformance-tests/scenarios/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let scenario: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("scenario file"))
            .expect("scenario JSON");
    let tenant = server.tenant().await;
    let mut variables = HashMap::new();
    for step in scenario["steps"].as_array().expect("steps") {
        run_step(&tenant, step, &mut variables).await;
    }
}

async fn run_step(tenant: &Tenant, step: &Value, variables: &mut HashMap<String, String>) {
    let name = step["name"].as_str().unwrap_or("unnamed step");
    let request = &step["request"];
    let method = Method::from_bytes(request["method"].as_str().expect("method").as_bytes())
        .expect("HTTP method");
    let path = substitute(request["path"].as_str().expect("path"), variables);
    let mut builder = tenant.scim(method, &path);
    let mut has_content_type = false;
    if let Some(headers) = request["headers"].as_object() {
        for (header, value) in headers {
            has_content_type |= header.eq_ignore_ascii_case("content-type");
            builder = builder.header(
                header.as_str(),
                substitute(value.as_str().unwrap_or_default(), variables),
            );
        }
    }
    if !request["body"].is_null() {
        if !has_content_type {
            builder = builder.header("Content-Type", "application/scim+json");
        }
        builder = builder.body(substitute_json(&request["body"], variables).to_string());
    }
    let (status, body) = read(builder.send().await.expect("request")).await;
    let expected = &step["response"];
    let expected_status =
        StatusCode::from_u16(expected["status"].as_u64().expect("status") as u16).unwrap();
    assert_eq!(status, expected_status, "step '{name}': {body}");
    if !expected["body"].is_null() {
        assert_contains(
            &body,
            &substitute_json(&expected["body"], variables),
            &format!("step '{name}': body"),
        );
    }
    for pointer in expected["absent"].as_array().into_iter().flatten() {
        let pointer = pointer.as_str().unwrap_or_default();
        assert!(
            body.pointer(pointer).is_none(),
            "step '{name}': {pointer} should be absent: {body}"
        );
    }
    for (variable, pointer) in expected["capture"].as_object().into_iter().flatten() {
        let value = body
            .pointer(pointer.as_str().unwrap_or_default())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("step '{name}': nothing at {pointer} to capture"));
        variables.insert(variable.clone(), value.to_owned());
    }
}
