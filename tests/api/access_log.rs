//! What `roster serve` logs: credential-like query values redacted in the access
//! log, the client's real address, and a warning when links follow the Host header
//! beyond loopback.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::on_both_backends;
use crate::support::{TestDatabase, TestServer};

on_both_backends!(the_access_log_redacts_credentials_and_serve_warns_without_public_url);

async fn the_access_log_redacts_credentials_and_serve_warns_without_public_url(server: TestServer) {
    let database = TestDatabase::create(server.backend);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["serve", "--listen", &format!("0.0.0.0:{port}")])
        .args(["--database-url", database.url()])
        .env("ROSTER_LOG", "info")
        .env_remove("ROSTER_PUBLIC_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stderr = child.stderr.take().unwrap();
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
    let mut seen = Vec::new();
    let access_line = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no access-log line; stderr so far: {seen:#?}"));
        seen.push(line.clone());
        if line.contains("/scim/v2/Users?") {
            break line;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        access_line.contains(
            "GET /scim/v2/Users?access_token=[redacted]&count=2&Client_Secret=[redacted]&access%5Ftoken=[redacted] HTTP/1.1\" 401"
        ),
        "{access_line}"
    );
    assert!(access_line.contains("127.0.0.1 trace-7 "), "{access_line}");
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
