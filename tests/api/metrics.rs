//! `/metrics`: Prometheus series for requests, the database and the token cache,
//! labelled by route templates and fixed words, never by an id, a name or a path.

use reqwest::{Method, StatusCode};
use roster::store::Backend;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{ServedProcess, TestServer, UserBuilder, free_address};

on_both_backends!(
    a_scrape_shows_every_series_and_no_id,
    metrics_listen_serves_metrics_apart_from_the_public_port,
);

async fn scrape(client: &reqwest::Client, base: &str) -> String {
    let response = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|kind| kind.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(kind.starts_with("text/plain"), "{kind}");
    response.text().await.expect("body")
}

/// The samples of `metric` (its name then `{` or a space).
fn samples<'a>(text: &'a str, metric: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|line| {
            line.strip_prefix(metric)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .collect()
}

/// Whether some sample of `metric` carries every one of `labels` (`key="value"`).
fn has_sample(text: &str, metric: &str, labels: &[&str]) -> bool {
    samples(text, metric)
        .iter()
        .any(|line| labels.iter().all(|label| line.contains(label)))
}

/// Whether `text` holds something shaped like a UUID (8-4-4-4-12 hex digits).
fn holds_a_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.windows(36).any(|window| {
        window.iter().enumerate().all(|(at, byte)| match at {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
    })
}

async fn a_scrape_shows_every_series_and_no_id(server: TestServer) {
    let tenant = server.tenant().await;
    let user = tenant
        .create_user(&UserBuilder::new("metrics-probe@example.com").build())
        .await;
    let id = user["id"].as_str().expect("id");
    let (status, _) = tenant.get(&format!("/Users/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = tenant
        .get("/Users?filter=userName%20eq%20%22metrics-probe@example.com%22")
        .await;
    assert_eq!(status, StatusCode::OK);
    let missing = uuid::Uuid::new_v4();
    let (status, _) = tenant.get(&format!("/Users/{missing}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let stray = uuid::Uuid::new_v4();
    let response = server
        .anonymous(Method::GET, &format!("/no-such-route/{stray}"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let brew = Method::from_bytes(b"BREW").expect("method");
    server
        .anonymous(brew, "/healthz")
        .send()
        .await
        .expect("request");
    let refused = server
        .anonymous(Method::PATCH, "/healthz")
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = tenant
        .v1_as(tenant.token(), Method::POST, "/tokens", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let text = scrape(&server.client, &server.base).await;
    for labels in [
        &[
            r#"route="/scim/v2/Users/{id}""#,
            r#"method="GET""#,
            r#"status="200""#,
        ][..],
        &[r#"route="/scim/v2/Users/{id}""#, r#"status="404""#],
        &[
            r#"route="/scim/v2/Users""#,
            r#"method="POST""#,
            r#"status="201""#,
        ],
        &[r#"route="/v1/tokens""#, r#"method="POST""#],
        &[r#"method="OTHER""#],
        &[
            r#"route="/healthz""#,
            r#"method="PATCH""#,
            r#"status="405""#,
        ],
        &[r#"route="unmatched""#, r#"status="404""#],
    ] {
        assert!(
            has_sample(&text, "roster_http_requests_total", labels),
            "no request series with {labels:?}:\n{}",
            samples(&text, "roster_http_requests_total").join("\n")
        );
    }
    assert!(has_sample(
        &text,
        "roster_http_request_duration_seconds_bucket",
        &[r#"route="/scim/v2/Users/{id}""#, r#"le="0.01""#]
    ));
    assert!(has_sample(
        &text,
        "roster_http_request_duration_seconds_count",
        &[r#"route="/scim/v2/Users""#]
    ));
    let pool = match server.backend {
        Backend::Sqlite => r#"pool="readers""#,
        Backend::Postgres => r#"pool="postgres""#,
    };
    for metric in [
        "roster_db_pool_connections",
        "roster_db_pool_connections_in_use",
        "roster_db_pool_max_connections",
        "roster_db_pool_wait_seconds_count",
    ] {
        assert!(has_sample(&text, metric, &[pool]), "no {metric}{{{pool}}}");
    }
    if server.backend == Backend::Sqlite {
        assert!(!samples(&text, "roster_sqlite_writer_queue_depth").is_empty());
        assert!(has_sample(
            &text,
            "roster_sqlite_writer_batch_size_bucket",
            &[r#"le="1""#]
        ));
    }
    for kind in roster::store::DATABASE_ERROR_KINDS {
        let label = format!(r#"kind="{kind}""#);
        assert!(
            has_sample(&text, "roster_db_errors_total", &[&label]),
            "{kind}"
        );
    }
    for metric in [
        "roster_token_cache_hits_total",
        "roster_token_cache_misses_total",
    ] {
        let values: Vec<f64> = samples(&text, metric)
            .iter()
            .filter_map(|line| line.rsplit(' ').next()?.parse().ok())
            .collect();
        assert!(values.iter().any(|v| *v > 0.0), "{metric}: {values:?}");
    }
    // No id, name or path of a request is a label.
    for secret in [
        id,
        &missing.to_string(),
        &stray.to_string(),
        "metrics-probe",
        &tenant.name,
        &tenant.credentials.tenant_id,
        "no-such-route",
    ] {
        assert!(!text.contains(secret), "{secret} appears in the scrape");
    }
    let labelled: Vec<&str> = text
        .lines()
        .filter(|line| !line.starts_with('#') && holds_a_uuid(line))
        .collect();
    assert!(labelled.is_empty(), "ids in labels: {labelled:?}");
}

async fn metrics_listen_serves_metrics_apart_from_the_public_port(server: TestServer) {
    let metrics_address = free_address();
    let served = ServedProcess::start(
        server.database.url(),
        &["--metrics-listen", &metrics_address],
    )
    .await;
    let client = reqwest::Client::new();
    let public = client
        .get(format!("{}/metrics", served.base))
        .send()
        .await
        .expect("request");
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    let text = scrape(&client, &format!("http://{metrics_address}")).await;
    assert!(
        has_sample(
            &text,
            "roster_http_requests_total",
            &[r#"route="/healthz""#, r#"status="200""#]
        ),
        "{text}"
    );
    assert!(has_sample(
        &text,
        "roster_http_requests_total",
        &[r#"route="unmatched""#, r#"status="404""#]
    ));
}
