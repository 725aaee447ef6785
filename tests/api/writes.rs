//! PATCH, PUT and versions (RFC 7644 §3.5, §3.14) through HTTP.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Tenant, TestServer, UserBuilder, assert_scim_error, read, scim_body};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ROSTER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";

on_both_backends!(
    patch_replace_changes_the_attribute_and_bumps_the_version,
    patch_that_changes_nothing_keeps_the_version,
    patch_applies_all_operations_or_none,
    patch_with_value_filter_updates_only_the_matching_email,
    patch_can_set_the_password_which_is_stored_hashed,
    patch_on_read_only_attribute_is_mutability_error,
    patch_of_another_tenants_user_is_404,
    patch_keeps_roster_fields_and_can_patch_custom_data,
    patch_to_a_taken_user_name_is_a_conflict,
    if_match_current_version_is_accepted_and_stale_is_412,
    if_none_match_current_version_is_304,
    concurrent_patches_without_if_match_lose_no_update,
    concurrent_patches_with_the_same_if_match_let_exactly_one_win,
    put_ignores_read_only_attributes,
);

fn ops(operations: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
}

async fn patch(tenant: &Tenant, path: &str, operations: Value) -> (StatusCode, Value) {
    read(
        scim_body(tenant.scim(Method::PATCH, path), &ops(operations))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn user_path(tenant: &Tenant, body: Value) -> String {
    let created = tenant.create_user(&body).await;
    format!("/Users/{}", created["id"].as_str().unwrap())
}

async fn patch_replace_changes_the_attribute_and_bumps_the_version(server: TestServer) {
    let tenant = server.tenant().await;
    let path = user_path(
        &tenant,
        UserBuilder::new("pat").with("title", json!("A")).build(),
    )
    .await;
    let (status, user) = patch(
        &tenant,
        &path,
        json!([{"op": "Replace", "path": "title", "value": "B"}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["title"], "B");
    assert_eq!(user["meta"]["version"], "W/\"2\"");
    let (_, fetched) = tenant.get(&path).await;
    assert_eq!(fetched, user);
}

async fn patch_that_changes_nothing_keeps_the_version(server: TestServer) {
    let tenant = server.tenant().await;
    let path = user_path(
        &tenant,
        UserBuilder::new("same").email("s@x.org", "work").build(),
    )
    .await;
    let (status, user) = patch(
        &tenant,
        &path,
        json!([{"op": "add", "path": "emails", "value": [{"value": "s@x.org", "type": "work"}]}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["meta"]["version"], "W/\"1\"");
    assert_eq!(user["emails"].as_array().unwrap().len(), 1);
}

async fn patch_applies_all_operations_or_none(server: TestServer) {
    let tenant = server.tenant().await;
    let path = user_path(
        &tenant,
        UserBuilder::new("atomic").with("title", json!("A")).build(),
    )
    .await;
    let (status, body) = patch(
        &tenant,
        &path,
        json!([{"op": "replace", "path": "title", "value": "B"}, {"op": "replace", "path": "shoeSize", "value": 1}]),
    )
    .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidPath"));
    let (_, fetched) = tenant.get(&path).await;
    assert_eq!(fetched["title"], "A");
    assert_eq!(fetched["meta"]["version"], "W/\"1\"");
}

async fn patch_with_value_filter_updates_only_the_matching_email(server: TestServer) {
    let tenant = server.tenant().await;
    let path = user_path(
        &tenant,
        UserBuilder::new("vf")
            .email("w@x.org", "work")
            .email("h@x.org", "home")
            .build(),
    )
    .await;
    let (status, user) = patch(
        &tenant,
        &path,
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@x.org"}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["emails"][0]["value"], "new@x.org");
    assert_eq!(user["emails"][1]["value"], "h@x.org");
    // The look-up rows follow the document.
    let (_, list) = tenant
        .get("/Users?filter=emails.value%20eq%20%22new@x.org%22")
        .await;
    assert_eq!(list["totalResults"], 1);
    let (_, list) = tenant
        .get("/Users?filter=emails.value%20eq%20%22w@x.org%22")
        .await;
    assert_eq!(list["totalResults"], 0);
}

async fn patch_can_set_the_password_which_is_stored_hashed(server: TestServer) {
    let tenant = server.tenant().await;
    let path = user_path(&tenant, UserBuilder::new("pw").build()).await;
    let (status, user) = patch(
        &tenant,
        &path,
        json!([{"op": "replace", "path": "password", "value": "n3w-Secret"}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert!(user.get("password").is_none());
    assert_eq!(user["meta"]["version"], "W/\"2\"");
}

async fn patch_on_read_only_attribute_is_mutability_error(server: TestServer) {
    let tenant = server.tenant().await;
    let path = user_path(&tenant, UserBuilder::new("ro").build()).await;
    let (status, body) = patch(
        &tenant,
        &path,
        json!([{"op": "replace", "path": "groups", "value": [{"value": "g"}]}]),
    )
    .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("mutability"));
    let (status, body) = patch(
        &tenant,
        &path,
        json!([{"op": "replace", "path": format!("{ROSTER}:status"), "value": "active"}]),
    )
    .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("mutability"));
}

async fn patch_of_another_tenants_user_is_404(server: TestServer) {
    let (a, b) = (server.tenant().await, server.tenant().await);
    let path = user_path(&a, UserBuilder::new("mine").build()).await;
    let (status, body) = patch(
        &b,
        &path,
        json!([{"op": "replace", "path": "title", "value": "x"}]),
    )
    .await;
    assert_scim_error(status, &body, StatusCode::NOT_FOUND, None);
}

async fn patch_keeps_roster_fields_and_can_patch_custom_data(server: TestServer) {
    let tenant = server.tenant().await;
    let path = user_path(
        &tenant,
        UserBuilder::new("cd")
            .roster(json!({"customData": {"a": 1}, "birthday": "1999-12-31"}))
            .build(),
    )
    .await;
    let (_, user) = patch(
        &tenant,
        &path,
        json!([{"op": "replace", "path": "title", "value": "T"}]),
    )
    .await;
    assert_eq!(user[ROSTER]["customData"], json!({"a": 1}));
    assert_eq!(user[ROSTER]["birthday"], "1999-12-31");
    let (status, user) = patch(
        &tenant,
        &path,
        json!([{"op": "add", "path": format!("{ROSTER}:customData.b"), "value": {"c": true}}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(
        user[ROSTER]["customData"],
        json!({"a": 1, "b": {"c": true}})
    );
}

async fn patch_to_a_taken_user_name_is_a_conflict(server: TestServer) {
    let tenant = server.tenant().await;
    tenant.create_user(&UserBuilder::new("taken").build()).await;
    let path = user_path(&tenant, UserBuilder::new("free").build()).await;
    let (status, body) = patch(
        &tenant,
        &path,
        json!([{"op": "replace", "path": "userName", "value": "TAKEN"}]),
    )
    .await;
    assert_scim_error(status, &body, StatusCode::CONFLICT, Some("uniqueness"));
}

async fn if_match_current_version_is_accepted_and_stale_is_412(server: TestServer) {
    let tenant = server.tenant().await;
    let path = user_path(&tenant, UserBuilder::new("im").build()).await;
    let send = |etag: &'static str| {
        scim_body(
            tenant.scim(Method::PATCH, &path),
            &ops(json!([{"op": "replace", "path": "title", "value": etag}])),
        )
        .header("If-Match", etag)
        .send()
    };
    let (status, user) = read(send("W/\"1\"").await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let (status, body) = read(send("W/\"1\"").await.unwrap()).await;
    assert_scim_error(status, &body, StatusCode::PRECONDITION_FAILED, None);
    let delete = tenant
        .scim(Method::DELETE, &path)
        .header("If-Match", "W/\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::PRECONDITION_FAILED);
    let delete = tenant
        .scim(Method::DELETE, &path)
        .header("If-Match", "W/\"2\"")
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
}

async fn if_none_match_current_version_is_304(server: TestServer) {
    let tenant = server.tenant().await;
    let path = user_path(&tenant, UserBuilder::new("inm").build()).await;
    let response = tenant
        .scim(Method::GET, &path)
        .header("If-None-Match", "W/\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(response.headers()["etag"], "W/\"1\"");
    let response = tenant
        .scim(Method::GET, &path)
        .header("If-None-Match", "W/\"0\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn concurrent_patches_without_if_match_lose_no_update(server: TestServer) {
    let tenant = server.tenant().await;
    let path = user_path(&tenant, UserBuilder::new("race").build()).await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let tenant = tenant.clone();
        let path = path.clone();
        tasks.push(tokio::spawn(async move {
            patch(&tenant, &path, json!([{"op": "add", "path": "emails", "value": [{"value": format!("u{i}@x.org")}]}])).await.0
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    let (_, user) = tenant.get(&path).await;
    assert_eq!(user["emails"].as_array().unwrap().len(), 12, "{user}");
    assert_eq!(user["meta"]["version"], "W/\"13\"");
}

async fn concurrent_patches_with_the_same_if_match_let_exactly_one_win(server: TestServer) {
    let tenant = server.tenant().await;
    let path = user_path(&tenant, UserBuilder::new("race2").build()).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let tenant = tenant.clone();
        let path = path.clone();
        tasks.push(tokio::spawn(async move {
            let request = scim_body(
                tenant.scim(Method::PATCH, &path),
                &ops(json!([{"op": "replace", "path": "title", "value": format!("t{i}")}])),
            )
            .header("If-Match", "W/\"1\"");
            request.send().await.unwrap().status()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::PRECONDITION_FAILED)
            .count(),
        7
    );
}

async fn put_ignores_read_only_attributes(server: TestServer) {
    let tenant = server.tenant().await;
    let path = user_path(&tenant, UserBuilder::new("put").build()).await;
    let body = UserBuilder::new("put")
        .with("groups", json!([{"value": "g1"}]))
        .enterprise(json!({"manager": {"displayName": "Forged"}}))
        .roster(json!({"status": "active"}))
        .build();
    let (status, user) = tenant.put(&path, &body).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert!(user.get("groups").is_none());
    assert!(user.get(ENTERPRISE).is_none());
    assert_eq!(user[ROSTER]["status"], "pending");
}
