//! Long-lived tokens: listed without their secrets, revoked at once on the instance
//! that revokes them, given an expiry, and their last use recorded sparingly.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Tenant, TestServer, assert_scim_error};

on_both_backends!(
    tokens_are_listed_without_their_secrets,
    tokens_are_listed_page_by_page,
    a_revoked_token_is_refused_at_once,
    only_the_management_application_manages_tokens,
    a_token_with_a_lifetime_is_refused_once_expired,
    token_expiries_are_checked,
    a_tokens_last_use_is_recorded_at_most_once_a_minute,
);

async fn issue(tenant: &Tenant, body: Value) -> (StatusCode, Value) {
    tenant
        .v1_as(tenant.token(), Method::POST, "/tokens", Some(body))
        .await
}

async fn list(tenant: &Tenant) -> Vec<Value> {
    let (status, body) = tenant
        .v1_as(tenant.token(), Method::GET, "/tokens", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["tokens"].as_array().expect("a token list").clone()
}

/// Revokes token `id` as the tenant's Management Application.
async fn revoke(tenant: &Tenant, id: &str) -> (StatusCode, Value) {
    tenant
        .v1_as(
            tenant.token(),
            Method::DELETE,
            &format!("/tokens/{id}"),
            None,
        )
        .await
}

/// The listed token with this id.
async fn listed(tenant: &Tenant, id: &str) -> Option<Value> {
    list(tenant)
        .await
        .into_iter()
        .find(|token| token["id"] == id)
}

async fn users_status(tenant: &Tenant, token: &str) -> StatusCode {
    tenant.scim_as(token, Method::GET, "/Users", None).await.0
}

async fn tokens_are_listed_without_their_secrets(server: TestServer) {
    let tenant = server.tenant().await;
    let (app, _) = tenant.create_app("idp", false).await;
    let app_id = app["id"].as_str().expect("app id");
    let (status, issued) = issue(&tenant, json!({"app_id": app_id, "expires_in": 86_400})).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let secret = issued["scim_token"]
        .as_str()
        .expect("the token is shown once");
    let id = issued["id"].as_str().expect("id");
    assert!(issued["expires"].is_string(), "{issued}");
    let (status, body) = tenant
        .v1_as(tenant.token(), Method::GET, "/tokens", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = body.to_string();
    assert!(!text.contains(secret), "the secret is listed: {text}");
    assert!(
        !text.contains(&roster::auth::hash_token(secret)),
        "the hash is listed: {text}"
    );
    let token = listed(&tenant, id).await.expect("the new token is listed");
    let mut keys: Vec<&str> = token
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["app_id", "created", "expires", "id", "kind", "last_used"]
    );
    assert_eq!(token["app_id"], app_id);
    assert_eq!(token["kind"], "scim");
    assert_eq!(token["expires"], issued["expires"]);
    assert!(token["last_used"].is_null(), "never used: {token}");
    // The tenant's own token (from its creation), the app's from create_app, the new one.
    assert_eq!(list(&tenant).await.len(), 3);
    // Another tenant lists only its own.
    let other = server.tenant().await;
    let others = list(&other).await;
    assert_eq!(others.len(), 1, "{others:?}");
    assert_ne!(others[0]["id"], id);
}

async fn tokens_are_listed_page_by_page(server: TestServer) {
    let tenant = server.tenant().await;
    for _ in 0..4 {
        assert_eq!(issue(&tenant, json!({})).await.0, StatusCode::CREATED);
    }
    let everything = list(&tenant).await;
    assert_eq!(everything.len(), 5);
    let mut paged = Vec::new();
    let mut path = "/tokens?limit=2".to_owned();
    loop {
        let (status, page) = tenant.v1_as(tenant.token(), Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let tokens = page["tokens"].as_array().expect("tokens");
        assert!(tokens.len() <= 2);
        paged.extend(tokens.iter().map(|token| token["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/tokens?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let ids: Vec<Value> = everything.iter().map(|token| token["id"].clone()).collect();
    assert_eq!(paged, ids, "the pages hold every token once, oldest first");
    for bad in [
        "limit=0",
        "limit=1001",
        "limit=ten",
        "cursor=%27%20or%201=1",
        "cursor=a%00b",
        "page=2",
    ] {
        let (status, body) = tenant
            .v1_as(tenant.token(), Method::GET, &format!("/tokens?{bad}"), None)
            .await;
        assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
    }
}

async fn a_revoked_token_is_refused_at_once(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, issued) = issue(&tenant, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let secret = issued["scim_token"].as_str().expect("token");
    let id = issued["id"].as_str().expect("id");
    // Used once, so this instance has it cached.
    assert_eq!(users_status(&tenant, secret).await, StatusCode::OK);
    let (status, body) = revoke(&tenant, id).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, refused) = tenant.scim_as(secret, Method::GET, "/Users", None).await;
    assert_scim_error(status, &refused, StatusCode::UNAUTHORIZED, None);
    let (_, unknown) = tenant
        .scim_as("rst_unknown", Method::GET, "/Users", None)
        .await;
    assert_eq!(refused["detail"], unknown["detail"]);
    assert!(listed(&tenant, id).await.is_none());
    let (status, again) = revoke(&tenant, id).await;
    assert_scim_error(status, &again, StatusCode::NOT_FOUND, None);
    let (_, events) = tenant
        .v1_as(
            tenant.token(),
            Method::GET,
            &format!("/audit-events?resource_id={id}"),
            None,
        )
        .await;
    let actions: Vec<&str> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| event["action"].as_str().unwrap_or_default())
        .collect();
    // Newest first, each naming the request that caused it.
    assert_eq!(actions, ["token.revoked", "token.created"]);
    for event in events["events"].as_array().expect("events") {
        assert!(event["request_id"].is_string(), "{event}");
        assert_eq!(event["resource_type"], "Token", "{event}");
    }
    let text = events.to_string();
    assert!(!text.contains(secret), "the audit log holds the secret");
    // The refused use of the revoked token is the tenant's refused authentication.
    let (_, refusals) = tenant
        .v1_as(
            tenant.token(),
            Method::GET,
            "/audit-events?action=auth.failed",
            None,
        )
        .await;
    let refusal = refusals["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|event| event["detail"]["token_id"] == id)
        .unwrap_or_else(|| panic!("no auth.failed for the revoked token: {refusals}"));
    assert_eq!(refusal["detail"]["reason"], "revoked token", "{refusal}");
    assert!(!refusals.to_string().contains(secret));
}

async fn only_the_management_application_manages_tokens(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, app_token) = tenant.create_app("portal", false).await;
    let own_id = list(&tenant).await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for (method, path) in [
        (Method::GET, "/tokens".to_owned()),
        (Method::DELETE, format!("/tokens/{own_id}")),
    ] {
        let (status, body) = tenant.v1_as(&app_token, method, &path, None).await;
        assert_scim_error(status, &body, StatusCode::FORBIDDEN, None);
    }
    // Another tenant's manager cannot tell the token exists.
    let other = server.tenant().await;
    let (status, body) = revoke(&other, &own_id).await;
    assert_scim_error(status, &body, StatusCode::NOT_FOUND, None);
    assert!(listed(&tenant, &own_id).await.is_some());
    assert_eq!(users_status(&tenant, tenant.token()).await, StatusCode::OK);
}

async fn a_token_with_a_lifetime_is_refused_once_expired(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, issued) = issue(&tenant, json!({"expires_in": 1})).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let secret = issued["scim_token"].as_str().expect("token");
    // Cached on its first use, for no longer than its own lifetime.
    assert_eq!(users_status(&tenant, secret).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (status, refused) = tenant.scim_as(secret, Method::GET, "/Users", None).await;
    assert_scim_error(status, &refused, StatusCode::UNAUTHORIZED, None);
}

async fn token_expiries_are_checked(server: TestServer) {
    let tenant = server.tenant().await;
    let far = (chrono::Utc::now() + chrono::Duration::days(365 * 20)).to_rfc3339();
    for bad in [
        json!({"expires_in": 0}),
        json!({"expires_in": -5}),
        json!({"expires_in": 400_000_000}),
        json!({"expires_in": "1d"}),
        json!({"expires_at": "2020-01-01T00:00:00Z"}),
        json!({"expires_at": far}),
        json!({"expires_at": "tomorrow"}),
        json!({"expires_in": 60, "expires_at": "2030-01-01T00:00:00Z"}),
    ] {
        let (status, body) = issue(&tenant, bad.clone()).await;
        assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
        assert!(
            body["detail"].as_str().is_some_and(|d| d.contains("expir")
                || d.contains("lifetime")
                || d.contains("not valid")),
            "{bad}: {body}"
        );
    }
    let at = (chrono::Utc::now() + chrono::Duration::days(30))
        .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).expect("offset"));
    let (status, issued) = issue(&tenant, json!({"expires_at": at.to_rfc3339()})).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let expires =
        chrono::DateTime::parse_from_rfc3339(issued["expires"].as_str().expect("expires"))
            .expect("an RFC 3339 time");
    assert!(
        (expires.timestamp_millis() - at.timestamp_millis()).abs() < 1_000,
        "{expires} is not {at}"
    );
    assert_eq!(
        users_status(&tenant, issued["scim_token"].as_str().expect("token")).await,
        StatusCode::OK
    );
}

async fn a_tokens_last_use_is_recorded_at_most_once_a_minute(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, issued) = issue(&tenant, json!({})).await;
    let secret = issued["scim_token"].as_str().expect("token");
    let id = issued["id"].as_str().expect("id");
    assert!(listed(&tenant, id).await.expect("listed")["last_used"].is_null());
    assert_eq!(users_status(&tenant, secret).await, StatusCode::OK);
    let first = listed(&tenant, id).await.expect("listed")["last_used"].clone();
    assert!(first.is_string(), "the first use is recorded: {first}");
    for _ in 0..3 {
        assert_eq!(users_status(&tenant, secret).await, StatusCode::OK);
    }
    let later = listed(&tenant, id).await.expect("listed")["last_used"].clone();
    assert_eq!(first, later, "uses within a minute write nothing more");
}
