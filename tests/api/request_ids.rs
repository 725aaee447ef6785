//! `X-Request-Id` on every response: the client's sane id echoed, a new one otherwise.

use crate::on_both_backends;
use crate::support::TestServer;

on_both_backends!(every_response_names_its_request);

async fn every_response_names_its_request(server: TestServer) {
    let id_of = |response: &reqwest::Response| {
        response
            .headers()
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .expect("X-Request-Id on the response")
    };
    let first = server
        .client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    let second = server
        .client
        .get(format!("{}/scim/v2/Users", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 401, "errors carry the id too");
    let (first, second) = (id_of(&first), id_of(&second));
    assert_ne!(first, second);
    assert!(uuid::Uuid::parse_str(&first).is_ok(), "{first}");

    let sent = |id: String| {
        let request = server
            .client
            .get(format!("{}/scim/v2/NoSuchThing", server.base))
            .header("X-Request-Id", id);
        async move { request.send().await.unwrap() }
    };
    let echoed = sent("lb-7f3a:trace/42".into()).await;
    assert_eq!(echoed.status(), 404);
    assert_eq!(id_of(&echoed), "lb-7f3a:trace/42");
    for insane in [
        "two words".to_owned(),
        "q\"uote".to_owned(),
        "x".repeat(129),
    ] {
        let replaced = id_of(&sent(insane.clone()).await);
        assert_ne!(replaced, insane);
        assert!(uuid::Uuid::parse_str(&replaced).is_ok(), "{replaced}");
    }
}
