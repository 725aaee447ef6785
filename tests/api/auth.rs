//! Bearer tokens, the OAuth2 client-credentials grant, and secrets kept as hashes.

use base64::Engine;
use reqwest::{Method, StatusCode};
use roster::domain::tenants::TenantCredentials;
use serde_json::Value;

use crate::on_both_backends;
use crate::support::{TestServer, assert_scim_error, read};

on_both_backends!(
    missing_token_is_401_with_www_authenticate,
    unknown_token_is_401,
    malformed_authorization_header_is_401,
    client_secret_basic_issues_a_working_access_token,
    client_secret_post_issues_a_working_access_token,
    wrong_client_secret_is_invalid_client,
    client_secret_basic_accepts_percent_encoded_credentials,
    malformed_basic_credentials_are_invalid_client_with_a_description,
    encoded_colon_and_ampersand_in_a_basic_secret_make_a_wrong_secret,
    client_secret_post_accepts_percent_encoded_credentials,
    ampersand_in_a_posted_secret_makes_a_wrong_secret,
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

/// `POST /oauth2/token` with `Authorization: Basic base64(credentials)`.
async fn token_with_basic(server: &TestServer, credentials: &str) -> (StatusCode, Value) {
    let basic = base64::engine::general_purpose::STANDARD.encode(credentials);
    token_with_header(server, &format!("Basic {basic}")).await
}

async fn token_with_header(server: &TestServer, authorization: &str) -> (StatusCode, Value) {
    let response = server
        .anonymous(Method::POST, "/oauth2/token")
        .header("Authorization", authorization)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    read(response).await
}

/// `POST /oauth2/token` with the credentials in a form body.
async fn token_with_form(server: &TestServer, form: &str) -> (StatusCode, Value) {
    let response = server
        .anonymous(Method::POST, "/oauth2/token")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=client_credentials&{form}"))
        .send()
        .await
        .unwrap();
    read(response).await
}

/// Every byte as `%XX`, the most a form-encoding client may escape.
fn escape_every_byte(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

fn assert_wrong_credentials(status: StatusCode, body: &Value) {
    assert_scim_error(status, body, StatusCode::UNAUTHORIZED, None);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_description"], "client authentication failed");
}

async fn client_secret_basic_accepts_percent_encoded_credentials(server: TestServer) {
    let tenant = server.tenant().await;
    let TenantCredentials {
        client_id,
        client_secret,
        ..
    } = &tenant.credentials;
    let form_encoded = format!(
        "{}:{}",
        form_urlencoded::byte_serialize(client_id.as_bytes()).collect::<String>(),
        form_urlencoded::byte_serialize(client_secret.as_bytes()).collect::<String>()
    );
    let every_byte_escaped = format!(
        "{}:{}",
        escape_every_byte(client_id),
        escape_every_byte(client_secret)
    );
    for credentials in [form_encoded, every_byte_escaped] {
        let (status, body) = token_with_basic(&server, &credentials).await;
        assert_eq!(status, StatusCode::OK, "{credentials}: {body}");
        let token = body["access_token"].as_str().unwrap();
        assert_eq!(list_with(&server, token).await, StatusCode::OK);
    }
}

async fn malformed_basic_credentials_are_invalid_client_with_a_description(server: TestServer) {
    let basic = |credentials: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    };
    for (authorization, problem) in [
        ("Basic not base64!".to_owned(), "not valid base64"),
        (basic("no colon"), "no ':' between client id and secret"),
        (
            basic("rcl_x:%FF%FE"),
            "not UTF-8 once its %-escapes are decoded",
        ),
        (
            "Bearer rst_abc".to_owned(),
            "only the Basic authentication scheme",
        ),
    ] {
        let (status, body) = token_with_header(&server, &authorization).await;
        assert_scim_error(status, &body, StatusCode::UNAUTHORIZED, None);
        assert_eq!(body["error"], "invalid_client");
        let description = body["error_description"].as_str().unwrap();
        assert!(
            description.contains(problem),
            "{authorization}: {description}"
        );
        assert_eq!(body["detail"], description);
    }
}

async fn encoded_colon_and_ampersand_in_a_basic_secret_make_a_wrong_secret(server: TestServer) {
    let tenant = server.tenant().await;
    let TenantCredentials {
        client_id,
        client_secret,
        ..
    } = &tenant.credentials;
    for suffix in ["%3A", "%26x=y", "&x=y", "%25", "%2B", "+", "%C3%A9", "é"] {
        let (status, body) =
            token_with_basic(&server, &format!("{client_id}:{client_secret}{suffix}")).await;
        assert_wrong_credentials(status, &body);
    }
    let colon_in_id = format!("{}%3A{client_secret}:{client_secret}", &client_id);
    let (status, body) = token_with_basic(&server, &colon_in_id).await;
    assert_wrong_credentials(status, &body);
}

async fn client_secret_post_accepts_percent_encoded_credentials(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, body) = token_with_form(
        &server,
        &format!(
            "client_id={}&client_secret={}",
            escape_every_byte(&tenant.credentials.client_id),
            escape_every_byte(&tenant.credentials.client_secret)
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(list_with(&server, token).await, StatusCode::OK);
}

async fn ampersand_in_a_posted_secret_makes_a_wrong_secret(server: TestServer) {
    let tenant = server.tenant().await;
    let TenantCredentials {
        client_id,
        client_secret,
        ..
    } = &tenant.credentials;
    let (status, body) = token_with_form(
        &server,
        &format!("client_id={client_id}&client_secret={client_secret}%26x%3Ay"),
    )
    .await;
    assert_wrong_credentials(status, &body);
    // An unencoded '&' ends the field: the secret is the real one, the rest another field.
    let (status, body) = token_with_form(
        &server,
        &format!("client_id={client_id}&client_secret={client_secret}&x=y"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
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
