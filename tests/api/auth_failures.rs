//! Failed client authentications at /oauth2/token: limited per client id and per
//! address (429 with Retry-After), and audited in the client's tenant.

use std::num::NonZeroU32;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::on_both_backends;
use crate::support::{Tenant, TestServer, assert_scim_error, read};

on_both_backends!(
    repeated_wrong_secrets_lock_the_client_id_with_429_and_retry_after,
    an_address_spraying_client_ids_is_refused,
    failed_authentications_are_audited_without_the_secret,
);

async fn limited_server(server: TestServer, per_client_id: u32, per_address: u32) -> TestServer {
    TestServer::start_with(server.backend, |settings| {
        settings.auth_failure_quotas = roster::http::throttle::AuthFailureQuotas {
            per_client_id: NonZeroU32::new(per_client_id).unwrap(),
            per_address: NonZeroU32::new(per_address).unwrap(),
        };
    })
    .await
}

/// Asks for a token with client_secret_post; returns status, `Retry-After` and body.
async fn request_token(
    server: &TestServer,
    client_id: &str,
    secret: &str,
) -> (StatusCode, Option<String>, Value) {
    let response = server
        .anonymous(Method::POST, "/oauth2/token")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
        ))
        .send()
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = read(response).await;
    (status, retry_after, body)
}

fn assert_too_many(status: StatusCode, retry_after: Option<String>, body: &Value) {
    assert_scim_error(status, body, StatusCode::TOO_MANY_REQUESTS, None);
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    let seconds: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
    assert!((1..=60).contains(&seconds), "Retry-After {seconds}");
}

async fn repeated_wrong_secrets_lock_the_client_id_with_429_and_retry_after(server: TestServer) {
    let server = limited_server(server, 3, 50).await;
    let victim = server.tenant().await;
    let other = server.tenant().await;
    let client_id = victim.credentials.client_id.clone();
    for attempt in 0..3 {
        let (status, retry_after, body) = request_token(&server, &client_id, "wrong").await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}: {body}"
        );
        assert_eq!(body["error"], "invalid_client");
        assert_eq!(retry_after, None);
    }
    let (status, retry_after, body) = request_token(&server, &client_id, "wrong").await;
    assert_too_many(status, retry_after, &body);
    // Locked, the right secret is refused too: a guess is not even checked.
    let (status, retry_after, body) =
        request_token(&server, &client_id, &victim.credentials.client_secret).await;
    assert_too_many(status, retry_after, &body);
    // Another client id from the same address still gets its token.
    let (status, _, body) = request_token(
        &server,
        &other.credentials.client_id,
        &other.credentials.client_secret,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].as_str().is_some());
}

async fn an_address_spraying_client_ids_is_refused(server: TestServer) {
    let server = limited_server(server, 100, 3).await;
    let tenant = server.tenant().await;
    for n in 0..3 {
        let (status, _, body) = request_token(&server, &format!("rcl_sprayed{n}"), "wrong").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let (status, retry_after, body) = request_token(
        &server,
        &tenant.credentials.client_id,
        &tenant.credentials.client_secret,
    )
    .await;
    assert_too_many(status, retry_after, &body);
}

async fn audit_events(tenant: &Tenant) -> Vec<Value> {
    let response = tenant
        .client
        .get(format!("{}/v1/audit-events", tenant.base))
        .bearer_auth(tenant.token())
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["events"].as_array().unwrap().clone()
}

async fn failed_authentications_are_audited_without_the_secret(server: TestServer) {
    let tenant = server.tenant().await;
    let bystander = server.tenant().await;
    let guess = "rcs_guessed-secret-4711";
    let (status, _, _) = request_token(&server, &tenant.credentials.client_id, guess).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = request_token(&server, "rcl_nobody", guess).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let events = audit_events(&tenant).await;
    let failed: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "auth.failed")
        .collect();
    assert_eq!(failed.len(), 1, "{events:?}");
    let event = failed[0];
    assert_eq!(event["resource_type"], "Application");
    assert_eq!(
        event["detail"]["client_id"],
        tenant.credentials.client_id.as_str()
    );
    assert_eq!(event["detail"]["address"], "127.0.0.1");
    assert!(!event.to_string().contains(guess), "{event}");
    assert!(
        audit_events(&bystander)
            .await
            .iter()
            .all(|e| e["action"] != "auth.failed"),
        "another tenant sees nothing"
    );
}
