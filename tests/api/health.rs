//! Liveness and readiness probes need no token.

use reqwest::{Method, StatusCode};

use crate::on_both_backends;
use crate::support::{TestServer, read};

on_both_backends!(healthz_and_readyz_answer_ok);

async fn healthz_and_readyz_answer_ok(server: TestServer) {
    for path in ["/healthz", "/readyz"] {
        let (status, body) = read(server.anonymous(Method::GET, path).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(body["status"].is_string());
    }
}
