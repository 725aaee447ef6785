//! Bad input of every kind gets a SCIM Error with the right status and a detail.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::on_both_backends;
use crate::support::{TestServer, UserBuilder, assert_scim_error, read};

on_both_backends!(
    malformed_json_is_invalid_syntax,
    empty_body_is_invalid_syntax,
    non_object_body_is_invalid_syntax,
    wrong_attribute_type_is_invalid_value,
    unknown_attribute_is_invalid_value,
    unknown_schema_urn_is_invalid_value,
    missing_user_name_is_invalid_value,
    body_over_the_limit_is_413,
    wrong_method_is_405,
    unknown_path_is_404_scim_error,
    application_json_is_accepted,
    boolean_sent_as_string_is_accepted,
    non_integer_paging_parameter_is_invalid_value,
);

async fn malformed_json_is_invalid_syntax(server: TestServer) {
    let tenant = server.tenant().await;
    let response = tenant
        .scim(Method::POST, "/Users")
        .header("Content-Type", "application/scim+json")
        .body("{\"userName\": \"x\",")
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_scim_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("invalidSyntax"),
    );
    assert!(
        body["detail"].as_str().unwrap().contains("line 1"),
        "{body}"
    );
}

async fn empty_body_is_invalid_syntax(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, body) = read(tenant.scim(Method::POST, "/Users").send().await.unwrap()).await;
    assert_scim_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("invalidSyntax"),
    );
}

async fn non_object_body_is_invalid_syntax(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, body) = tenant.post("/Users", &json!(["userName"])).await;
    assert_scim_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("invalidSyntax"),
    );
}

async fn wrong_attribute_type_is_invalid_value(server: TestServer) {
    let tenant = server.tenant().await;
    for (attribute, value) in [
        ("userName", json!(12)),
        ("active", json!("maybe")),
        ("emails", json!(42)),
        ("name", json!("Barbara")),
    ] {
        let (status, body) = tenant
            .post(
                "/Users",
                &UserBuilder::new("x").with(attribute, value).build(),
            )
            .await;
        assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
        assert!(
            body["detail"].as_str().unwrap().contains(attribute),
            "{body}"
        );
    }
    let (_, list) = tenant.get("/Users").await;
    assert_eq!(list["totalResults"], 0);
}

async fn unknown_attribute_is_invalid_value(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, body) = tenant
        .post(
            "/Users",
            &UserBuilder::new("x").with("shoeSize", json!(44)).build(),
        )
        .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(body["detail"].as_str().unwrap().contains("shoeSize"));
}

async fn unknown_schema_urn_is_invalid_value(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, body) = tenant
        .post(
            "/Users",
            &UserBuilder::new("x")
                .schema("urn:example:params:scim:schemas:unknown")
                .build(),
        )
        .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("urn:example:params:scim:schemas:unknown")
    );
}

async fn missing_user_name_is_invalid_value(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, body) = tenant
        .post(
            "/Users",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "displayName": "x"}),
        )
        .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(body["detail"].as_str().unwrap().contains("userName"));
}

async fn body_over_the_limit_is_413(server: TestServer) {
    let tenant = server.tenant().await;
    let huge = UserBuilder::new("x")
        .with("displayName", json!("y".repeat(5 * 1024 * 1024)))
        .build();
    let (status, body) = tenant.post("/Users", &huge).await;
    assert_scim_error(status, &body, StatusCode::PAYLOAD_TOO_LARGE, None);
    let (_, list) = tenant.get("/Users").await;
    assert_eq!(list["totalResults"], 0);
}

async fn wrong_method_is_405(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, body) = read(tenant.scim(Method::DELETE, "/Users").send().await.unwrap()).await;
    assert_scim_error(status, &body, StatusCode::METHOD_NOT_ALLOWED, None);
    let (status, body) = read(
        tenant
            .scim(Method::POST, "/ServiceProviderConfig")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_scim_error(status, &body, StatusCode::METHOD_NOT_ALLOWED, None);
}

async fn unknown_path_is_404_scim_error(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, body) = tenant.get("/Widgets").await;
    assert_scim_error(status, &body, StatusCode::NOT_FOUND, None);
    let (status, body) = tenant
        .get("/Users/00000000-0000-0000-0000-000000000000")
        .await;
    assert_scim_error(status, &body, StatusCode::NOT_FOUND, None);
}

async fn application_json_is_accepted(server: TestServer) {
    let tenant = server.tenant().await;
    let response = tenant
        .scim(Method::POST, "/Users")
        .header("Content-Type", "application/json")
        .body(UserBuilder::new("plainjson").build().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

async fn boolean_sent_as_string_is_accepted(server: TestServer) {
    let tenant = server.tenant().await;
    let created = tenant
        .create_user(
            &UserBuilder::new("stringbool")
                .with("active", json!("False"))
                .build(),
        )
        .await;
    assert_eq!(created["active"], false);
    assert_eq!(
        created["urn:ietf:params:scim:schemas:extension:roster:2.0:User"]["status"],
        "disabled"
    );
}

async fn non_integer_paging_parameter_is_invalid_value(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, body) = tenant.get("/Users?count=ten").await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
}
