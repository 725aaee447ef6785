//! Bearer tokens, the OAuth2 client-credentials grant, and secrets kept as hashes.

use base64::Engine;
use reqwest::{Method, StatusCode};

use crate::on_both_backends;
use crate::support::{TestServer, assert_scim_error, read};

on_both_backends!(
    missing_token_is_401_with_www_authenticate,
    unknown_token_is_401,
    malformed_authorization_header_is_401,
    client_secret_basic_issues_a_working_access_token,
    client_secret_post_issues_a_working_access_token,
    wrong_client_secret_is_invalid_client,
    unsupported_grant_type_is_rejected,
    secrets_and_tokens_are_stored_only_as_hashes,
);

async fn missing_token_is_401_with_www_authenticate(server: TestServer) {
    let response = server
        .anonymous(Method::GET, "/scim/v2/Users")
        .send()
        .await
        .unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, StatusCode::UNAUTHORIZED, None);
    assert!(challenge.unwrap_or_default().starts_with("Bearer"));
}

async fn unknown_token_is_401(server: TestServer) {
    let response = server
        .anonymous(Method::GET, "/scim/v2/Users")
        .bearer_auth("rst_not-a-real-token")
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, StatusCode::UNAUTHORIZED, None);
}

async fn malformed_authorization_header_is_401(server: TestServer) {
    let response = server
        .anonymous(Method::GET, "/scim/v2/Users")
        .header("Authorization", "Token abc")
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, StatusCode::UNAUTHORIZED, None);
}

async fn list_with(server: &TestServer, token: &str) -> StatusCode {
    server
        .anonymous(Method::GET, "/scim/v2/Users")
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn client_secret_basic_issues_a_working_access_token(server: TestServer) {
    let tenant = server.tenant().await;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        tenant.credentials.client_id, tenant.credentials.client_secret
    ));
    let response = server
        .anonymous(Method::POST, "/oauth2/token")
        .header("Authorization", format!("Basic {basic}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(list_with(&server, token).await, StatusCode::OK);
}

async fn client_secret_post_issues_a_working_access_token(server: TestServer) {
    let tenant = server.tenant().await;
    let response = server
        .anonymous(Method::POST, "/oauth2/token")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            tenant.credentials.client_id, tenant.credentials.client_secret
        ))
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        list_with(&server, body["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );
}

async fn wrong_client_secret_is_invalid_client(server: TestServer) {
    let tenant = server.tenant().await;
    let response = server
        .anonymous(Method::POST, "/oauth2/token")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret=wrong",
            tenant.credentials.client_id
        ))
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, StatusCode::UNAUTHORIZED, None);
    assert_eq!(body["error"], "invalid_client");
}

async fn unsupported_grant_type_is_rejected(server: TestServer) {
    let response = server
        .anonymous(Method::POST, "/oauth2/token")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=password&username=a&password=b")
        .send()
        .await
        .unwrap();
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, None);
    assert_eq!(body["error"], "unsupported_grant_type");
}

async fn secrets_and_tokens_are_stored_only_as_hashes(server: TestServer) {
    use diesel::prelude::*;
    use roster::store::schema::{api_tokens, applications};
    let tenant = server.tenant().await;
    let (token_hashes, secret_hashes) = server
        .store
        .read(|conn| {
            let tokens: Vec<String> = roster::with_conn!(conn, c => api_tokens::table
                .select(api_tokens::token_hash).load(c))
            .map_err(roster::store::StoreError::from)?;
            let secrets: Vec<String> = roster::with_conn!(conn, c => applications::table
                .select(applications::client_secret_hash).load(c))
            .map_err(roster::store::StoreError::from)?;
            Ok::<_, roster::store::StoreError>((tokens, secrets))
        })
        .await
        .unwrap();
    assert!(!token_hashes.is_empty() && !secret_hashes.is_empty());
    for stored in token_hashes.iter().chain(&secret_hashes) {
        assert_ne!(stored, tenant.token());
        assert_ne!(stored, &tenant.credentials.client_secret);
        assert!(!stored.contains(tenant.token()));
    }
    assert!(token_hashes.contains(&roster::auth::hash_token(tenant.token())));
}
