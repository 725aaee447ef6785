//! Hostile input within the body and header limits: long and deep filters, PATCH
//! paths, JSON and attribute lists get a SCIM Error (or an answer), never a crashed
//! process, on both stores. Each test checks that the server still answers afterwards.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::queries::urlencode;
use crate::support::{Tenant, TestServer, UserBuilder, assert_scim_error, read, scim_body};

/// `roster::filter::MAX_TERMS`, as documented in the README.
const MAX_TERMS: usize = 200;
const ROSTER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";

on_both_backends!(
    filters_at_the_term_limit_answer_in_every_worst_case_shape,
    filters_past_the_term_limit_are_invalid_filter_in_query_and_search_body,
    deeply_nested_filters_are_invalid_filter,
    patch_paths_past_the_term_limit_are_refused,
    deeply_nested_json_is_refused_in_bodies_and_patch_values,
    long_attribute_lists_sort_keys_and_paths_are_answered,
    multi_byte_characters_across_prefix_ends_are_refused,
);

async fn assert_still_answers(server: &TestServer) {
    let (status, _) = read(
        server
            .anonymous(Method::GET, "/healthz")
            .send()
            .await
            .expect("the server still answers"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

fn chain(terms: usize, joiner: &str, term: impl Fn(usize) -> String) -> String {
    (0..terms).map(term).collect::<Vec<_>>().join(joiner)
}

fn email_co(n: usize) -> String {
    format!("emails.value co \"{n}@\"")
}

async fn list(tenant: &Tenant, filter: &str) -> (StatusCode, Value) {
    tenant
        .get(&format!("/Users?filter={}", urlencode(filter)))
        .await
}

async fn search(tenant: &Tenant, filter: &str) -> (StatusCode, Value) {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": filter,
    });
    read(
        scim_body(tenant.scim(Method::POST, "/Users/.search"), &body)
            .send()
            .await
            .expect("request"),
    )
    .await
}

async fn patch(tenant: &Tenant, path: &str, operations: Value) -> (StatusCode, Value) {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations,
    });
    read(
        scim_body(tenant.scim(Method::PATCH, path), &body)
            .send()
            .await
            .expect("request"),
    )
    .await
}

async fn filters_at_the_term_limit_answer_in_every_worst_case_shape(server: TestServer) {
    let tenant = server.tenant().await;
    let last = MAX_TERMS - 1;
    tenant
        .create_user(
            &UserBuilder::new("target")
                .email(&format!("{last}@example.com"), "work")
                .build(),
        )
        .await;
    let nested_nots = format!(
        "{}{}{}",
        "not (".repeat(63),
        chain(MAX_TERMS, " and ", email_co),
        ")".repeat(63)
    );
    let shapes = [
        chain(MAX_TERMS, " or ", email_co),
        format!(
            "userName pr and ({})",
            chain(MAX_TERMS - 1, " or ", email_co)
        ),
        format!(
            "emails[{}]",
            chain(MAX_TERMS, " or ", |n| format!("value co \"{n}@\""))
        ),
        chain(MAX_TERMS / 2, " or ", |n| {
            format!("emails[type eq \"work\" and value co \"{}@\"]", n * 2 + 1)
        }),
        chain(MAX_TERMS / 2, " or ", |n| {
            format!("not (userName eq \"x{n}\" and emails.value ew \"{n}@example.com\")")
        }),
        chain(MAX_TERMS, " or ", |n| {
            format!("{ROSTER}:customData.plan.tier{n} eq \"gold\"")
        }),
    ];
    for filter in &shapes {
        for (status, body) in [list(&tenant, filter).await, search(&tenant, filter).await] {
            assert_eq!(status, StatusCode::OK, "{}: {body}", &filter[..60]);
        }
    }
    let group_terms = chain(MAX_TERMS, " or ", |n| format!("groups.value eq \"g{n}\""));
    let (status, body) = list(&tenant, &group_terms).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let member_terms = format!(
        "{}{}{}",
        "not (".repeat(63),
        chain(MAX_TERMS, " and ", |n| format!("members.value eq \"m{n}\"")),
        ")".repeat(63)
    );
    let (status, body) = tenant
        .get(&format!("/Groups?filter={}", urlencode(&member_terms)))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, found) = list(&tenant, &shapes[0]).await;
    assert_eq!(found["totalResults"], 1, "{found}");
    let (status, body) = list(&tenant, &nested_nots).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["totalResults"], 1, "{body}");
    assert_still_answers(&server).await;
}

async fn filters_past_the_term_limit_are_invalid_filter_in_query_and_search_body(
    server: TestServer,
) {
    let tenant = server.tenant().await;
    let just_past = chain(MAX_TERMS + 1, " or ", email_co);
    let long_and = chain(3_000, " and ", |_| "title pr".to_owned());
    // A 30 KB query string: within the URI length every HTTP client allows.
    let long_or = chain(3_100, " or ", |_| "a eq 1".to_owned());
    assert!(long_or.len() >= 30_000);
    for filter in [&just_past, &long_and, &long_or] {
        for (status, body) in [list(&tenant, filter).await, search(&tenant, filter).await] {
            assert_scim_error(
                status,
                &body,
                StatusCode::BAD_REQUEST,
                Some("invalidFilter"),
            );
            let detail = body["detail"].as_str().unwrap_or_default();
            assert!(
                detail.contains(&format!("more than {MAX_TERMS} terms")),
                "{detail}"
            );
        }
    }
    let huge_search = chain(30_000, " or ", |n| format!("userName eq \"{n}\""));
    let (status, body) = search(&tenant, &huge_search).await;
    assert_scim_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("invalidFilter"),
    );
    assert_still_answers(&server).await;
}

async fn deeply_nested_filters_are_invalid_filter(server: TestServer) {
    let tenant = server.tenant().await;
    for depth in [65, 5_000] {
        for (open, close) in [("(", ")"), ("not (", ")")] {
            let filter = format!("{}title pr{}", open.repeat(depth), close.repeat(depth));
            for (status, body) in [list(&tenant, &filter).await, search(&tenant, &filter).await] {
                assert_scim_error(
                    status,
                    &body,
                    StatusCode::BAD_REQUEST,
                    Some("invalidFilter"),
                );
            }
        }
    }
    let within = format!("{}title pr{}", "(".repeat(63), ")".repeat(63));
    let (status, body) = list(&tenant, &within).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_still_answers(&server).await;
}

async fn patch_paths_past_the_term_limit_are_refused(server: TestServer) {
    let tenant = server.tenant().await;
    let user = tenant
        .create_user(&UserBuilder::new("p").email("0@x.example", "work").build())
        .await;
    let user_path = format!("/Users/{}", user["id"].as_str().unwrap_or_default());
    let value_term = |n: usize| format!("value eq \"{n}@x.example\"");
    let at_limit = format!("emails[{}].type", chain(MAX_TERMS, " or ", value_term));
    let (status, body) = patch(
        &tenant,
        &user_path,
        json!([{"op": "replace", "path": at_limit, "value": "home"}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["emails"][0]["type"], "home", "{body}");
    for terms in [MAX_TERMS + 1, 5_000] {
        let path = format!("emails[{}].type", chain(terms, " or ", value_term));
        let (status, body) = patch(
            &tenant,
            &user_path,
            json!([{"op": "replace", "path": path, "value": "x"}]),
        )
        .await;
        assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidPath"));
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("terms")
        );
    }
    let (status, group) = tenant
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "g"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let group_path = format!("/Groups/{}", group["id"].as_str().unwrap_or_default());
    let members = format!("members[{}]", chain(5_000, " or ", value_term));
    let (status, body) = patch(
        &tenant,
        &group_path,
        json!([{"op": "remove", "path": members}]),
    )
    .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidPath"));
    assert_still_answers(&server).await;
}

fn nested_json(depth: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
}

async fn deeply_nested_json_is_refused_in_bodies_and_patch_values(server: TestServer) {
    let tenant = server.tenant().await;
    for depth in [200, 100_000] {
        let body = format!(
            r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"deep{depth}","{ROSTER}":{{"customData":{}}}}}"#,
            nested_json(depth)
        );
        let (status, answer) = read(
            tenant
                .scim(Method::POST, "/Users")
                .header("Content-Type", "application/scim+json")
                .body(body)
                .send()
                .await
                .expect("request"),
        )
        .await;
        assert_scim_error(
            status,
            &answer,
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
        );
    }
    let user = tenant
        .create_user(&UserBuilder::new("shallow").build())
        .await;
    let user_path = format!("/Users/{}", user["id"].as_str().unwrap_or_default());
    let patch_body = format!(
        r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"add","path":"{ROSTER}:customData","value":{}}}]}}"#,
        nested_json(100_000)
    );
    let (status, answer) = read(
        tenant
            .scim(Method::PATCH, &user_path)
            .header("Content-Type", "application/scim+json")
            .body(patch_body)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_scim_error(
        status,
        &answer,
        StatusCode::BAD_REQUEST,
        Some("invalidSyntax"),
    );
    // Deep customData built from a long path plus a nested value is refused too, so
    // what is stored always reads back.
    let long_path = format!("{ROSTER}:customData.{}", vec!["a"; 5_000].join("."));
    let (status, answer) = patch(
        &tenant,
        &user_path,
        json!([{"op": "add", "path": long_path, "value": 1}]),
    )
    .await;
    assert_scim_error(
        status,
        &answer,
        StatusCode::BAD_REQUEST,
        Some("invalidPath"),
    );
    let deep_value: Value = serde_json::from_str(&nested_json(100)).expect("within serde's limit");
    let path_of_40 = format!("{ROSTER}:customData.{}", vec!["a"; 40].join("."));
    let (status, answer) = patch(
        &tenant,
        &user_path,
        json!([{"op": "add", "path": path_of_40, "value": deep_value}]),
    )
    .await;
    assert_scim_error(
        status,
        &answer,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    );
    assert!(
        answer["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("nests deeper")
    );
    let (status, answer) = tenant.get(&user_path).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let long_filter = format!("{ROSTER}:customData.{} eq 1", vec!["a"; 5_000].join("."));
    let (status, answer) = list(&tenant, &long_filter).await;
    assert_scim_error(
        status,
        &answer,
        StatusCode::BAD_REQUEST,
        Some("invalidFilter"),
    );
    assert_still_answers(&server).await;
}

async fn long_attribute_lists_sort_keys_and_paths_are_answered(server: TestServer) {
    let tenant = server.tenant().await;
    tenant
        .create_user(&UserBuilder::new("listed").build())
        .await;
    let many = vec!["userName"; 3_000].join(",");
    let (status, body) = tenant
        .get(&format!("/Users?attributes={}", urlencode(&many)))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["Resources"][0]["userName"], "listed", "{body}");
    let distinct: Vec<String> = (0..3_000)
        .map(|n| format!("{ROSTER}:customData.k{n}"))
        .collect();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "attributes": distinct,
        "excludedAttributes": distinct,
    });
    let (status, answer) = read(
        scim_body(tenant.scim(Method::POST, "/Users/.search"), &body)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert!(
        status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
        "{status}: {answer}"
    );
    let long_sort = format!("name.{}", vec!["givenName"; 2_000].join("."));
    let (status, answer) = tenant
        .get(&format!("/Users?sortBy={}", urlencode(&long_sort)))
        .await;
    assert_scim_error(status, &answer, StatusCode::BAD_REQUEST, None);
    assert_still_answers(&server).await;
}

/// Attribute names and PATCH paths whose multi-byte character spans the end of a
/// prefix the server compares (`urn:`, `members`), found by fuzzing.
async fn multi_byte_characters_across_prefix_ends_are_refused(server: TestServer) {
    let tenant = server.tenant().await;
    // 'Ä' is two bytes, '𐀀' four: byte 4 falls inside '𐀀'.
    let (status, body) = tenant
        .post("/Users", &json!({"userName": "mb", "Ä𐀀": 1}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = tenant
        .post("/Groups", &json!({"displayName": "mb", "Ä𐀀": 1}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, group) = tenant.post("/Groups", &json!({"displayName": "mb"})).await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let id = group["id"].as_str().unwrap();
    // "member" is six bytes: byte 7 falls inside '𐀀'.
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "member𐀀", "value": "x"}],
    });
    let (status, body) = read(
        scim_body(tenant.scim(Method::PATCH, &format!("/Groups/{id}")), &patch)
            .send()
            .await
            .expect("the server answers"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_still_answers(&server).await;
}
