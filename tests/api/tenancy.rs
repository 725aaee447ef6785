//! Tenants never see into each other, and errors never reveal a foreign id exists.

use reqwest::StatusCode;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{TestServer, UserBuilder, assert_scim_error};

on_both_backends!(
    another_tenants_user_is_404_for_every_method,
    lists_count_only_the_own_tenant,
    user_names_are_unique_per_tenant_not_globally,
    another_tenants_user_cannot_be_a_manager,
);

async fn another_tenants_user_is_404_for_every_method(server: TestServer) {
    let (a, b) = (server.tenant().await, server.tenant().await);
    let user = a.create_user(&UserBuilder::new("secret").build()).await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    let missing_path = format!("/Users/{}", uuid::Uuid::now_v7());

    let (status, foreign) = b.get(&path).await;
    let (_, missing) = b.get(&missing_path).await;
    assert_scim_error(status, &foreign, StatusCode::NOT_FOUND, None);
    assert_eq!(
        foreign["detail"]
            .as_str()
            .unwrap()
            .replace(user["id"].as_str().unwrap(), "ID"),
        missing["detail"]
            .as_str()
            .unwrap()
            .replace(&missing_path[7..], "ID"),
        "a foreign id must look exactly like a missing one"
    );
    let (status, body) = b.put(&path, &UserBuilder::new("stolen").build()).await;
    assert_scim_error(status, &body, StatusCode::NOT_FOUND, None);
    assert_eq!(b.delete(&path).await, StatusCode::NOT_FOUND);

    let (status, still) = a.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(still["userName"], "secret");
}

async fn lists_count_only_the_own_tenant(server: TestServer) {
    let (a, b) = (server.tenant().await, server.tenant().await);
    a.create_user(&UserBuilder::new("a1").build()).await;
    a.create_user(&UserBuilder::new("a2").build()).await;
    b.create_user(&UserBuilder::new("b1").build()).await;
    let (_, list) = b.get("/Users").await;
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["Resources"][0]["userName"], "b1");
}

async fn user_names_are_unique_per_tenant_not_globally(server: TestServer) {
    let (a, b) = (server.tenant().await, server.tenant().await);
    a.create_user(&UserBuilder::new("same").build()).await;
    b.create_user(&UserBuilder::new("same").build()).await;
}

async fn another_tenants_user_cannot_be_a_manager(server: TestServer) {
    let (a, b) = (server.tenant().await, server.tenant().await);
    let boss = a.create_user(&UserBuilder::new("boss").build()).await;
    let (status, body) = b
        .post(
            "/Users",
            &UserBuilder::new("spy")
                .enterprise(json!({"manager": {"value": boss["id"]}}))
                .build(),
        )
        .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
}
