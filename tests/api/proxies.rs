//! The base URL of links (`meta.location`, `Location`): `--public-url` wins; proxy
//! headers count only from trusted proxies; a Host header is echoed only when it is
//! a well-formed host[:port].

use reqwest::{Method, StatusCode};

use crate::on_both_backends;
use crate::support::{Tenant, TestServer, UserBuilder, read};

on_both_backends!(
    forwarded_headers_from_an_untrusted_peer_are_ignored,
    forwarded_headers_from_a_trusted_proxy_are_used,
    public_url_wins_over_host_and_forwarded_headers,
    a_malformed_host_header_is_not_echoed,
);

/// Creates a user, then reads it back with `headers`; returns the `Location` of the
/// creation (sent with the same headers) and the `meta.location` read.
async fn locations(tenant: &Tenant, user_name: &str, headers: &[(&str, &str)]) -> (String, String) {
    let mut create = crate::support::scim_body(
        tenant.scim(Method::POST, "/Users"),
        &UserBuilder::new(user_name).build(),
    );
    for (name, value) in headers {
        create = create.header(*name, *value);
    }
    let response = create.send().await.unwrap();
    let created_at = response.headers()["location"].to_str().unwrap().to_owned();
    let (status, created) = read(response).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let mut get = tenant.scim(Method::GET, &format!("/Users/{id}"));
    for (name, value) in headers {
        get = get.header(*name, *value);
    }
    let (status, user) = read(get.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let location = user["meta"]["location"].as_str().unwrap().to_owned();
    assert!(
        location.ends_with(&format!("/scim/v2/Users/{id}")),
        "{location}"
    );
    (created_at, location)
}

const PROXY_HEADERS: [(&str, &str); 2] = [
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Host", "scim.example.com"),
];

async fn forwarded_headers_from_an_untrusted_peer_are_ignored(server: TestServer) {
    let tenant = server.tenant().await;
    let (created_at, location) =
        locations(&tenant, "direct", &[("Host", "directory.example:8443")]).await;
    assert!(
        location.starts_with("http://directory.example:8443/scim/v2/Users/"),
        "{location}"
    );
    assert_eq!(created_at, location);
    let (created_at, location) = locations(&tenant, "spoofed", &PROXY_HEADERS).await;
    let own = format!("{}/scim/v2/Users/", server.base);
    assert!(location.starts_with(&own), "{location}");
    assert!(created_at.starts_with(&own), "{created_at}");
    let (_, location) = locations(
        &tenant,
        "spoofed2",
        &[("Forwarded", "proto=https;host=idp.example.org")],
    )
    .await;
    assert!(location.starts_with(&own), "{location}");
}

async fn forwarded_headers_from_a_trusted_proxy_are_used(server: TestServer) {
    let server = TestServer::start_with(server.backend, |settings| {
        settings.trusted_proxies =
            roster::http::proxy::TrustedProxies::new(vec!["127.0.0.1/32".parse().unwrap()]);
    })
    .await;
    let tenant = server.tenant().await;
    let (created_at, location) = locations(&tenant, "proxied", &PROXY_HEADERS).await;
    assert!(
        location.starts_with("https://scim.example.com/scim/v2/Users/"),
        "{location}"
    );
    assert_eq!(created_at, location);
    let (_, location) = locations(
        &tenant,
        "proxied2",
        &[("Forwarded", "proto=https;host=idp.example.org")],
    )
    .await;
    assert!(
        location.starts_with("https://idp.example.org/scim/v2/Users/"),
        "{location}"
    );
    // Even a trusted proxy's host must be a host: garbage falls back to the listener.
    let (_, location) = locations(
        &tenant,
        "proxied3",
        &[("X-Forwarded-Host", "evil.example/phish?")],
    )
    .await;
    assert!(
        location.starts_with(&format!("{}/scim/v2/Users/", server.base)),
        "{location}"
    );
}

async fn public_url_wins_over_host_and_forwarded_headers(server: TestServer) {
    let server = TestServer::start_with(server.backend, |settings| {
        settings.public_url = Some("https://roster.example.net/base".into());
        settings.trusted_proxies =
            roster::http::proxy::TrustedProxies::new(vec!["127.0.0.0/8".parse().unwrap()]);
    })
    .await;
    let tenant = server.tenant().await;
    let public = "https://roster.example.net/base/scim/v2/Users/";
    for (user_name, headers) in [
        ("plain", &[][..]),
        ("hosted", &[("Host", "directory.example:8443")][..]),
        ("forwarded", &PROXY_HEADERS[..]),
    ] {
        let (created_at, location) = locations(&tenant, user_name, headers).await;
        assert!(location.starts_with(public), "{location}");
        assert_eq!(created_at, location);
    }
}

async fn a_malformed_host_header_is_not_echoed(server: TestServer) {
    let tenant = server.tenant().await;
    let own = format!("{}/scim/v2/Users/", server.base);
    for (n, host) in [
        "user@evil.example",
        "evil.example/phish",
        "evil.example:http",
    ]
    .into_iter()
    .enumerate()
    {
        let (_, location) = locations(&tenant, &format!("odd{n}"), &[("Host", host)]).await;
        assert!(location.starts_with(&own), "{host}: {location}");
    }
}
