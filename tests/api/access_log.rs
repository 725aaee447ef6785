//! What `roster serve` logs: credential-like query values redacted in the access
//! log, the client's real address, a warning when links follow the Host header
//! beyond loopback, and with `--log-format json` one JSON object a line, each line
//! of a request naming it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::on_both_backends;
use crate::support::{TestDatabase, TestServer, tenant_in};

on_both_backends!(
    the_access_log_redacts_credentials_and_serve_warns_without_public_url,
    json_logs_name_the_request_tenant_route_status_and_time,
);

/// `roster serve` on `database_url` listening on `listen` with `args`, once
/// /healthz answers; its stderr lines come through the receiver.
async fn serve_logging(
    database_url: &str,
    listen: &str,
    args: &[&str],
) -> (Child, String, mpsc::Receiver<String>) {
    let port = listen.rsplit(':').next().expect("a port");
    let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["serve", "--listen", listen])
        .args(["--database-url", database_url])
        .args(args)
        .env("ROSTER_LOG", "info")
        .env_remove("ROSTER_PUBLIC_URL")
        .env_remove("ROSTER_LOG_FORMAT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "roster serve did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (child, base, lines)
}

/// Lines from `lines` up to and including the first that `last` accepts.
fn lines_until(lines: &mpsc::Receiver<String>, last: impl Fn(&str) -> bool) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("the awaited line did not come; stderr so far: {seen:#?}"));
        seen.push(line.clone());
        if last(&line) {
            return seen;
        }
    }
}

async fn the_access_log_redacts_credentials_and_serve_warns_without_public_url(server: TestServer) {
    let database = TestDatabase::create(server.backend);
    let port = crate::support::free_address();
    let port = port.rsplit(':').next().expect("a port");
    let (mut child, base, lines) =
        serve_logging(database.url(), &format!("0.0.0.0:{port}"), &[]).await;
    let client = reqwest::Client::new();
    let status = client
        .get(format!(
            "{base}/scim/v2/Users?access_token=leaked-1&count=2&Client_Secret=leaked-2&access%5Ftoken=leaked-3"
        ))
        .header("X-Forwarded-For", "203.0.113.9")
        .header("X-Request-Id", "trace-7")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    let seen = lines_until(&lines, |line| line.contains("/scim/v2/Users?"));
    let access_line = seen.last().expect("a line").clone();
    let _ = child.kill();
    let _ = child.wait();
    for field in [
        "uri=\"/scim/v2/Users?access_token=[redacted]&count=2&Client_Secret=[redacted]&access%5Ftoken=[redacted]\" ",
        "status=401 ",
        "request_id=\"trace-7\" ",
        "route=\"/scim/v2/Users\" ",
        "client=\"127.0.0.1\"",
    ] {
        assert!(access_line.contains(field), "{field} in {access_line}");
    }
    assert!(!access_line.contains("203.0.113.9"), "{access_line}");
    assert!(
        seen.iter().all(|line| !line.contains("leaked-")),
        "{seen:#?}"
    );
    assert!(
        seen.iter()
            .any(|line| line.contains("WARN") && line.contains("--public-url")),
        "{seen:#?}"
    );
}

/// Overwrites a user's stored attributes with text that is not JSON, so that reading
/// the user logs an error inside its request.
async fn corrupt_user(database_url: &str, id: &str) {
    use diesel::RunQueryDsl;
    let (database_url, sql) = (
        database_url.to_owned(),
        format!("UPDATE users SET attributes = 'not json' WHERE id = '{id}'"),
    );
    tokio::task::spawn_blocking(move || {
        let sizes = roster::store::PoolSizes {
            readers: 1,
            lookups: 0,
        };
        roster::store::Store::connect(&database_url, sizes)
            .expect("store opens")
            .write_blocking(move |conn| {
                roster::with_conn!(conn, c => diesel::sql_query(&sql).execute(c))
                    .map_err(roster::store::StoreError::from)
            })
            .expect("statement runs")
    })
    .await
    .expect("join");
}

async fn json_logs_name_the_request_tenant_route_status_and_time(server: TestServer) {
    let database = TestDatabase::create(server.backend);
    let credentials = tenant_in(database.url()).await;
    let listen = crate::support::free_address();
    let (mut child, base, lines) =
        serve_logging(database.url(), &listen, &["--log-format", "json"]).await;
    let client = reqwest::Client::new();
    let send = |request: reqwest::RequestBuilder, id: &str| {
        let request = request.header("X-Request-Id", id);
        async move { request.send().await.expect("request") }
    };
    let scim = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{base}/scim/v2{path}"))
            .bearer_auth(&credentials.scim_token)
    };

    let missing = send(
        scim(
            reqwest::Method::GET,
            "/Users/no-such-user?access_token=leaked-1",
        ),
        "json-1",
    )
    .await;
    assert_eq!(missing.status(), 404);
    let anonymous = send(client.get(format!("{base}/scim/v2/Users")), "json-2").await;
    assert_eq!(anonymous.status(), 401);
    let token = send(
        client
            .post(format!("{base}/oauth2/token"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&client_id={}&client_secret={}",
                credentials.client_id, credentials.client_secret
            )),
        "json-3",
    )
    .await;
    assert_eq!(token.status(), 200);
    let created = send(
        scim(reqwest::Method::POST, "/Users")
            .header("Content-Type", "application/scim+json")
            .body(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada"}"#),
        "json-4",
    )
    .await;
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.expect("JSON")["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    corrupt_user(database.url(), &id).await;
    let corrupt = send(
        scim(reqwest::Method::GET, &format!("/Users/{id}")),
        "json-5",
    )
    .await;
    assert_eq!(corrupt.status(), 500);

    let seen = lines_until(&lines, |line| {
        line.contains("\"request_id\":\"json-5\"") && line.contains("roster::access")
    });
    let _ = child.kill();
    let _ = child.wait();
    let events: Vec<Value> = seen
        .iter()
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|e| panic!("a line that is not one JSON object ({e}): {line}"))
        })
        .collect();
    for secret in [
        "leaked-1",
        credentials.scim_token.as_str(),
        credentials.client_secret.as_str(),
    ] {
        assert!(
            seen.iter().all(|line| !line.contains(secret)),
            "{secret} logged: {seen:#?}"
        );
    }
    let access = |request_id: &str| {
        events
            .iter()
            .find(|event| event["target"] == "roster::access" && event["request_id"] == request_id)
            .unwrap_or_else(|| panic!("no access event of {request_id}: {seen:#?}"))
    };
    let expected = [
        (
            "json-1",
            Some(credentials.tenant_id.as_str()),
            "/scim/v2/Users/{id}",
            "GET",
            404,
        ),
        ("json-2", None, "/scim/v2/Users", "GET", 401),
        ("json-3", None, "/oauth2/token", "POST", 200),
        (
            "json-4",
            Some(credentials.tenant_id.as_str()),
            "/scim/v2/Users",
            "POST",
            201,
        ),
        (
            "json-5",
            Some(credentials.tenant_id.as_str()),
            "/scim/v2/Users/{id}",
            "GET",
            500,
        ),
    ];
    for (request_id, tenant_id, route, method, status) in expected {
        let event = access(request_id);
        assert_eq!(event["level"], "INFO", "{event}");
        assert_eq!(event["tenant_id"].as_str(), tenant_id, "{event}");
        assert_eq!(event["route"], route, "{event}");
        assert_eq!(event["method"], method, "{event}");
        assert_eq!(event["status"], status, "{event}");
        assert!(
            event["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
            "{event}"
        );
        assert_eq!(event["span"]["request_id"], request_id, "{event}");
    }
    assert_eq!(
        access("json-1")["uri"],
        "/scim/v2/Users/no-such-user?access_token=[redacted]"
    );
    // The error logged while the corrupt user was read names its request.
    let error = events
        .iter()
        .find(|event| event["level"] == "ERROR")
        .unwrap_or_else(|| panic!("no error logged: {seen:#?}"));
    assert_eq!(error["span"]["request_id"], "json-5", "{error}");
    assert_eq!(error["spans"][0]["request_id"], "json-5", "{error}");
}
