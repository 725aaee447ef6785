//! HTTPS without a proxy: `--tls-cert` and `--tls-key` serve the API over rustls
//! with HSTS, `/metrics` on its own listener stays plain HTTP, and a certificate or
//! key that cannot be served stops start-up with a message.

use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::on_both_backends;
use crate::support::{ServedProcess, TestDatabase, TestServer, free_address, tenant_in};

on_both_backends!(https_serves_the_api_with_hsts_and_metrics_stay_plain);

/// A self-signed certificate for `localhost` and 127.0.0.1 in `dir`: its PEM text
/// and the paths of the certificate and key files.
fn self_signed(dir: &Path) -> (String, PathBuf, PathBuf) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("a certificate");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let pem = certified.cert.pem();
    std::fs::write(&cert, &pem).expect("write cert");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write key");
    (pem, cert, key)
}

/// A client that trusts only the certificate `pem`.
fn trusting(pem: &str) -> reqwest::Client {
    let certificate = reqwest::Certificate::from_pem(pem.as_bytes()).expect("PEM certificate");
    reqwest::Client::builder()
        .tls_certs_only([certificate])
        .build()
        .expect("client")
}

fn hsts(response: &reqwest::Response) -> Option<&str> {
    response
        .headers()
        .get("strict-transport-security")
        .and_then(|value| value.to_str().ok())
}

async fn https_serves_the_api_with_hsts_and_metrics_stay_plain(server: TestServer) {
    let plain = server
        .anonymous(Method::GET, "/healthz")
        .send()
        .await
        .expect("request");
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(hsts(&plain), None, "no HSTS over plain HTTP");

    let dir = tempfile::tempdir().expect("temp dir");
    let (pem, cert, key) = self_signed(dir.path());
    let database = TestDatabase::create(server.backend);
    let credentials = tenant_in(database.url()).await;
    let client = trusting(&pem);
    let metrics = free_address();
    let served = ServedProcess::start_over(
        database.url(),
        &[
            "--tls-cert",
            cert.to_str().expect("path"),
            "--tls-key",
            key.to_str().expect("path"),
            "--metrics-listen",
            &metrics,
        ],
        "https",
        &client,
    )
    .await;
    let base = served.base.replace("127.0.0.1", "localhost");

    let health = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("HTTPS");
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(hsts(&health), Some("max-age=31536000"));

    let created = client
        .post(format!("{base}/scim/v2/Users"))
        .bearer_auth(&credentials.scim_token)
        .header("Content-Type", "application/scim+json")
        .body(
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "ada",
            })
            .to_string(),
        )
        .send()
        .await
        .expect("HTTPS");
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(hsts(&created), Some("max-age=31536000"));
    let user: serde_json::Value = created.json().await.expect("JSON");
    assert!(
        user["meta"]["location"]
            .as_str()
            .is_some_and(|location| location.starts_with("https://localhost:")),
        "{user}"
    );
    let unauthorized = client
        .get(format!("{base}/scim/v2/Users"))
        .send()
        .await
        .expect("HTTPS");
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(hsts(&unauthorized), Some("max-age=31536000"), "errors too");

    // The system's roots know nothing of a self-signed certificate.
    let untrusting = reqwest::Client::new();
    assert!(
        untrusting
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_err(),
        "a client that does not trust the certificate gets no answer"
    );
    let cleartext = reqwest::Client::new()
        .get(served.base.replace("https://", "http://") + "/healthz")
        .send()
        .await;
    assert!(
        cleartext.is_err() || cleartext.is_ok_and(|r| r.status() != StatusCode::OK),
        "plain HTTP on the TLS port is not served"
    );

    let scrape = reqwest::Client::new()
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .expect("plain HTTP");
    assert_eq!(scrape.status(), StatusCode::OK);
    assert_eq!(hsts(&scrape), None);
    assert!(
        scrape
            .text()
            .await
            .expect("text")
            .contains("roster_http_requests_total")
    );
}

/// `roster serve` with `args` on a fresh SQLite store: its exit status and stderr.
fn serve_fails(args: &[&str]) -> (Option<i32>, String) {
    let database = TestDatabase::create(roster::store::Backend::Sqlite);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["serve", "--listen", &free_address()])
        .args(["--database-url", database.url()])
        .args(args)
        .env_remove("ROSTER_TLS_CERT")
        .env_remove("ROSTER_TLS_KEY")
        .stdout(std::process::Stdio::null())
        .output()
        .expect("roster runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_certificate_or_key_that_cannot_be_served_stops_start_up_with_a_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, cert, key) = self_signed(dir.path());
    let other = tempfile::tempdir().expect("temp dir");
    let (_, _, other_key) = self_signed(other.path());
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").expect("write");
    let missing = dir.path().join("missing.pem");
    let path = |p: &Path| p.to_str().expect("path").to_owned();

    let cases = [
        (
            path(&missing),
            path(&key),
            "cannot read the certificate chain",
        ),
        (path(&garbage), path(&key), "holds no PEM certificate"),
        (path(&cert), path(&missing), "cannot read a PEM private key"),
        (path(&cert), path(&garbage), "cannot read a PEM private key"),
        (path(&cert), path(&other_key), "cannot be served"),
    ];
    for (cert, key, expected) in cases {
        let (code, stderr) = serve_fails(&["--tls-cert", &cert, "--tls-key", &key]);
        assert_eq!(code, Some(1), "{cert} {key}: {stderr}");
        assert!(
            stderr.starts_with("roster: ") && stderr.contains(expected),
            "{cert} {key}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let (code, stderr) = serve_fails(&["--tls-cert", &path(&cert)]);
    assert_eq!(code, Some(2), "--tls-cert needs --tls-key: {stderr}");
    assert!(stderr.contains("--tls-key"), "{stderr}");
}
