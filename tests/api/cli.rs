//! The `roster` command line, run as a newcomer would run it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::on_both_backends;
use crate::support::TestServer;

on_both_backends!(
    tenant_create_prints_the_credentials_json,
    tenant_create_refuses_a_duplicate_name,
    token_create_prints_a_working_token,
    tokens_are_created_with_a_lifetime_listed_and_revoked_from_the_cli,
    serve_creates_the_default_tenant_once_and_its_token_works,
);

fn roster(args: &[&str], database_url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(args)
        .env("ROSTER_DATABASE_URL", database_url)
        .output()
        .expect("roster runs")
}

async fn tenant_create_prints_the_credentials_json(server: TestServer) {
    let url = server.database.url().to_owned();
    let output = roster(
        &["tenant", "create", "acme", "--database-url", &url],
        "unused",
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).expect("stdout is one JSON object");
    let keys: Vec<&String> = printed.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["tenant_id", "client_id", "client_secret", "scim_token"]
    );
    let response = server
        .anonymous(reqwest::Method::GET, "/scim/v2/Users")
        .bearer_auth(printed["scim_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

async fn tenant_create_refuses_a_duplicate_name(server: TestServer) {
    let url = server.database.url().to_owned();
    assert!(roster(&["tenant", "create", "dup"], &url).status.success());
    let second = roster(&["tenant", "create", "dup"], &url);
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("already exists"));
}

/// The status of listing users with `token`.
async fn users_status(server: &TestServer, token: &str) -> u16 {
    server
        .anonymous(reqwest::Method::GET, "/scim/v2/Users")
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn token_create_prints_a_working_token(server: TestServer) {
    let url = server.database.url().to_owned();
    assert!(roster(&["tenant", "create", "tok"], &url).status.success());
    let printed = json_of(&roster(&["token", "create", "--tenant", "tok"], &url));
    let token = printed["scim_token"].as_str().expect("scim_token");
    assert_eq!(users_status(&server, token).await, 200);
    let unknown = roster(&["token", "create", "--tenant", "nope"], &url);
    assert!(!unknown.status.success());
}

/// What a command printed on stdout, which must be one JSON object.
fn json_of(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON object")
}

async fn tokens_are_created_with_a_lifetime_listed_and_revoked_from_the_cli(server: TestServer) {
    let url = server.database.url().to_owned();
    assert!(roster(&["tenant", "create", "ops"], &url).status.success());
    let created = json_of(&roster(
        &["token", "create", "--tenant", "ops", "--expires-in", "30d"],
        &url,
    ));
    let token = created["scim_token"].as_str().expect("scim_token");
    let id = created["id"].as_str().expect("id");
    let expires =
        chrono::DateTime::parse_from_rfc3339(created["expires"].as_str().expect("expires"))
            .expect("an RFC 3339 time");
    let in_30_days = chrono::Utc::now() + chrono::Duration::days(30);
    assert!(
        (expires.timestamp() - in_30_days.timestamp()).abs() < 60,
        "{expires}"
    );
    let listed = json_of(&roster(&["token", "list", "--tenant", "ops"], &url));
    let tokens = listed["tokens"].as_array().expect("tokens");
    assert_eq!(tokens.len(), 2, "{listed}");
    assert!(
        tokens
            .iter()
            .any(|t| t["id"] == id && t["expires"] == created["expires"])
    );
    assert!(!listed.to_string().contains(token), "the secret is listed");
    for bad in ["soon", "0s"] {
        let refused = roster(
            &["token", "create", "--tenant", "ops", "--expires-in", bad],
            &url,
        );
        assert!(!refused.status.success(), "--expires-in {bad}");
    }
    // Revoked before this server has seen it, so it is refused at once.
    let revoked = json_of(&roster(&["token", "revoke", id, "--tenant", "ops"], &url));
    assert_eq!(revoked["revoked"], id);
    assert_eq!(users_status(&server, token).await, 401);
    let again = roster(&["token", "revoke", id, "--tenant", "ops"], &url);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not found"));
    let elsewhere = roster(&["token", "list", "--tenant", "nope"], &url);
    assert!(!elsewhere.status.success());
}

/// Runs `roster serve` until /healthz answers; returns what it printed on stdout.
async fn serve_once(database_url: &str) -> String {
    let (mut child, _) = crate::support::serve_binary_with(database_url, Stdio::piped()).await;
    let _ = child.kill();
    let _ = child.wait();
    let mut printed = String::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            printed.push_str(&line);
            printed.push('\n');
        }
    }
    printed
}

async fn serve_creates_the_default_tenant_once_and_its_token_works(server: TestServer) {
    // A store of its own: the harness's store already has tenants.
    let database = crate::support::TestDatabase::create(server.backend);
    let first = serve_once(database.url()).await;
    assert!(first.contains("Created tenant 'default'"), "{first}");
    let token = first
        .lines()
        .find_map(|line| line.trim().strip_prefix("scim_token:"))
        .map(str::trim)
        .expect("the token is printed");
    assert!(token.starts_with("rst_"));
    for label in ["client_id:", "client_secret:", "tenant_id:"] {
        assert!(first.contains(label), "{label} missing");
    }
    let second = serve_once(database.url()).await;
    assert!(
        !second.contains("Created tenant"),
        "credentials are printed only once"
    );
}
