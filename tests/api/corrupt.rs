//! Stored data Roster cannot read is the service's fault: every route that reads it
//! answers a 500 whose detail names nothing stored, never a client error. Deleting
//! such a resource still works, so that an operator can remove it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Tenant, TestServer, UserBuilder, assert_scim_error, read, scim_body};

on_both_backends!(
    a_user_with_corrupt_attributes_answers_500,
    a_user_with_corrupt_custom_data_answers_500,
    a_manager_with_corrupt_attributes_answers_500,
    a_group_with_corrupt_attributes_answers_500,
    a_group_with_corrupt_custom_data_answers_500,
    a_sign_in_of_a_user_with_corrupt_attributes_answers_500,
    an_audit_event_with_corrupt_detail_answers_500,
);

/// The detail of every 500: nothing of the stored text or of the cause.
const GENERIC_DETAIL: &str = "the service could not complete the request";

/// Overwrites one column of one row with text that is not a JSON object.
fn corrupt(server: &TestServer, table: &str, column: &str, id: &str, text: &str) {
    use diesel::RunQueryDsl;
    let sql = format!("UPDATE {table} SET {column} = '{text}' WHERE id = '{id}'");
    server
        .store
        .write_blocking(move |conn| {
            roster::with_conn!(conn, c => diesel::sql_query(&sql).execute(c))
                .map_err(roster::store::StoreError::from)
        })
        .map(|rows| assert_eq!(rows, 1, "one row changed"))
        .expect("statement runs");
}

fn assert_internal(status: StatusCode, body: &Value, what: &str) {
    assert_scim_error(status, body, StatusCode::INTERNAL_SERVER_ERROR, None);
    assert_eq!(body["detail"], GENERIC_DETAIL, "{what}: {body}");
    assert!(body.get("scimType").is_none(), "{what}: {body}");
}

async fn send(
    tenant: &Tenant,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = tenant.scim(method, path);
    if let Some(body) = body {
        request = scim_body(request, &body);
    }
    read(request.send().await.expect("request")).await
}

fn patch_body(path: &str, value: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": path, "value": value}],
    })
}

/// A list holding a corrupt resource is never a complete ListResponse: a 500, or,
/// once the list's head is on its way, a response cut short.
async fn assert_list_fails(tenant: &Tenant, path: &str) {
    let Ok(response) = tenant.scim(Method::GET, path).send().await else {
        return;
    };
    let status = response.status();
    if let Ok(text) = response.text().await {
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert_internal(status, &body, path);
    }
}

/// GET, PUT and PATCH of the user `id` answer 500; DELETE removes it.
async fn assert_user_reads_fail(tenant: &Tenant, id: &str) {
    let path = format!("/Users/{id}");
    let (status, body) = send(tenant, Method::GET, &path, None).await;
    assert_internal(status, &body, "GET");
    let (status, body) = send(
        tenant,
        Method::GET,
        &format!("{path}?attributes=userName"),
        None,
    )
    .await;
    assert_internal(status, &body, "GET with attributes");
    let (status, body) = send(
        tenant,
        Method::PUT,
        &path,
        Some(UserBuilder::new("replaced").build()),
    )
    .await;
    assert_internal(status, &body, "PUT");
    let (status, body) = send(
        tenant,
        Method::PATCH,
        &path,
        Some(patch_body("title", json!("Chief"))),
    )
    .await;
    assert_internal(status, &body, "PATCH");
    assert_list_fails(tenant, "/Users").await;
    assert_eq!(tenant.delete(&path).await, StatusCode::NO_CONTENT);
    let (status, _) = send(tenant, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn a_user_with_corrupt_attributes_answers_500(server: TestServer) {
    let tenant = server.tenant().await;
    for garbage in ["not json", "{\"userName\": ", "[1,2]"] {
        let user = tenant
            .create_user(&UserBuilder::new(&format!("u{}", garbage.len())).build())
            .await;
        let id = user["id"].as_str().expect("id");
        corrupt(&server, "users", "attributes", id, garbage);
        assert_user_reads_fail(&tenant, id).await;
    }
}

async fn a_user_with_corrupt_custom_data_answers_500(server: TestServer) {
    let tenant = server.tenant().await;
    let user = tenant
        .create_user(
            &UserBuilder::new("ann")
                .roster(json!({"customData": {"tier": "gold"}}))
                .build(),
        )
        .await;
    let id = user["id"].as_str().expect("id");
    corrupt(&server, "users", "custom_data", id, "{\"tier\": ");
    assert_user_reads_fail(&tenant, id).await;
}

async fn a_manager_with_corrupt_attributes_answers_500(server: TestServer) {
    let tenant = server.tenant().await;
    let manager = tenant.create_user(&UserBuilder::new("boss").build()).await;
    let manager_id = manager["id"].as_str().expect("id");
    let report = tenant
        .create_user(&UserBuilder::new("report").build())
        .await;
    let report_id = report["id"].as_str().expect("id");
    corrupt(&server, "users", "attributes", manager_id, "not json");
    let (status, body) = send(
        &tenant,
        Method::PATCH,
        &format!("/Users/{report_id}"),
        Some(patch_body(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            json!({"value": manager_id}),
        )),
    )
    .await;
    assert_internal(status, &body, "PATCH naming a corrupt manager");
}

/// GET (with and without members), PUT and PATCH of the group `id` answer 500;
/// DELETE removes it.
async fn assert_group_reads_fail(tenant: &Tenant, id: &str) {
    let path = format!("/Groups/{id}");
    let (status, body) = send(tenant, Method::GET, &path, None).await;
    assert_internal(status, &body, "GET");
    let (status, body) = send(
        tenant,
        Method::GET,
        &format!("{path}?excludedAttributes=members"),
        None,
    )
    .await;
    assert_internal(status, &body, "GET without members");
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Replaced",
    });
    let (status, body) = send(tenant, Method::PUT, &path, Some(group)).await;
    assert_internal(status, &body, "PUT");
    let (status, body) = send(
        tenant,
        Method::PATCH,
        &path,
        Some(patch_body("displayName", json!("Patched"))),
    )
    .await;
    assert_internal(status, &body, "PATCH");
    let (status, body) = send(
        tenant,
        Method::PATCH,
        &path,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": "members"}],
        })),
    )
    .await;
    assert_internal(status, &body, "PATCH of the members");
    assert_list_fails(tenant, "/Groups").await;
    assert_list_fails(tenant, "/Groups?excludedAttributes=members").await;
    assert_eq!(tenant.delete(&path).await, StatusCode::NO_CONTENT);
    let (status, _) = send(tenant, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn create_group(tenant: &Tenant, name: &str, extra: Value) -> String {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
    });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    let (status, group) = tenant.post("/Groups", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    group["id"].as_str().expect("id").to_owned()
}

async fn a_group_with_corrupt_attributes_answers_500(server: TestServer) {
    let tenant = server.tenant().await;
    for garbage in ["not json", "{\"displayName\": ", "[1,2]"] {
        let id = create_group(&tenant, &format!("g{}", garbage.len()), json!({})).await;
        corrupt(&server, "groups", "attributes", &id, garbage);
        assert_group_reads_fail(&tenant, &id).await;
    }
}

async fn a_group_with_corrupt_custom_data_answers_500(server: TestServer) {
    let tenant = server.tenant().await;
    let roster = "urn:ietf:params:scim:schemas:extension:roster:2.0:Group";
    let id = create_group(
        &tenant,
        "Gold",
        json!({ roster: {"customData": {"tier": "gold"}} }),
    )
    .await;
    corrupt(&server, "groups", "custom_data", &id, "{\"tier\": ");
    assert_group_reads_fail(&tenant, &id).await;
}

async fn a_sign_in_of_a_user_with_corrupt_attributes_answers_500(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, token) = tenant.create_app("portal", true).await;
    let user = tenant.create_user(&UserBuilder::new("ann").build()).await;
    corrupt(
        &server,
        "users",
        "attributes",
        user["id"].as_str().expect("id"),
        "not json",
    );
    let (status, body) = tenant
        .v1_as(
            &token,
            Method::POST,
            "/signins",
            Some(json!({"user_name": "ann"})),
        )
        .await;
    assert_internal(status, &body, "sign-in");
}

async fn an_audit_event_with_corrupt_detail_answers_500(server: TestServer) {
    let tenant = server.tenant().await;
    let user = tenant.create_user(&UserBuilder::new("ann").build()).await;
    let path = format!(
        "/audit-events?resource_id={}",
        user["id"].as_str().expect("id")
    );
    let (status, events) = tenant.v1_as(tenant.token(), Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{events}");
    let event = events["events"][0]["id"].as_str().expect("an event");
    corrupt(&server, "audit_events", "detail", event, "{\"userName\": ");
    let (status, body) = tenant.v1_as(tenant.token(), Method::GET, &path, None).await;
    assert_internal(status, &body, "audit events");
}
