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

async fn token_create_prints_a_working_token(server: TestServer) {
    let url = server.database.url().to_owned();
    assert!(roster(&["tenant", "create", "tok"], &url).status.success());
    let output = roster(&["token", "create", "--tenant", "tok"], &url);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let token = printed["scim_token"].as_str().expect("scim_token");
    let response = server
        .anonymous(reqwest::Method::GET, "/scim/v2/Users")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let unknown = roster(&["token", "create", "--tenant", "nope"], &url);
    assert!(!unknown.status.success());
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
