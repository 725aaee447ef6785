//! Filtering, sorting, paging, projection and `.search` (RFC 7644 §3.4.2, §3.4.3;
//! RFC 9865), pushed down to SQL on both stores.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Tenant, TestServer, UserBuilder, assert_scim_error, read, scim_body};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ROSTER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";

on_both_backends!(
    user_name_eq_matches_case_insensitively,
    external_id_eq_is_case_exact,
    emails_value_and_value_filters_match_one_email,
    emails_value_eq_lists_each_matching_user_once_in_every_window,
    equality_look_ups_on_different_indexed_attributes_each_find_their_own_user,
    enterprise_attributes_filter_by_full_urn,
    custom_data_members_can_be_filtered,
    last_modified_gt_compares_times,
    logical_operators_and_not_combine,
    bad_filters_are_invalid_filter_with_a_position,
    unknown_attributes_in_filters_are_invalid_filter,
    unknown_user_name_gives_an_empty_list,
    sort_by_orders_case_insensitively_with_missing_values_last,
    sort_by_a_multi_valued_attribute_uses_the_primary_value,
    index_paging_through_a_filter_counts_only_matches,
    total_results_counts_every_match_whatever_the_window,
    cursor_paging_walks_every_user_exactly_once,
    cursor_paging_with_sort_walks_every_user_exactly_once,
    a_foreign_or_forged_cursor_is_invalid_cursor,
    attributes_parameter_returns_exactly_those_attributes,
    excluded_attributes_parameter_removes_attributes,
    search_endpoints_accept_a_search_request,
    service_provider_config_advertises_filter_sort_and_pagination,
);

/// Creates users `name0..nameN` and returns them in creation order.
async fn users(tenant: &Tenant, bodies: Vec<Value>) -> Vec<Value> {
    let mut created = Vec::new();
    for body in bodies {
        created.push(tenant.create_user(&body).await);
    }
    created
}

async fn filtered(tenant: &Tenant, filter: &str) -> Vec<String> {
    let (status, list) = tenant
        .get(&format!("/Users?count=1000&filter={}", urlencode(filter)))
        .await;
    assert_eq!(status, StatusCode::OK, "{filter}: {list}");
    let names: Vec<String> = user_names(&list).into_iter().map(str::to_owned).collect();
    assert_eq!(list["totalResults"], names.len(), "{filter}");
    names
}

/// The `userName` of each resource of a list response, in order.
fn user_names(list: &Value) -> Vec<&str> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect()
}

pub fn urlencode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

async fn user_name_eq_matches_case_insensitively(server: TestServer) {
    let tenant = server.tenant().await;
    users(
        &tenant,
        vec![
            UserBuilder::new("Alice@Example.com").build(),
            UserBuilder::new("bob@example.com").build(),
        ],
    )
    .await;
    assert_eq!(
        filtered(&tenant, r#"userName eq "alice@example.COM""#).await,
        ["Alice@Example.com"]
    );
    assert_eq!(
        filtered(&tenant, r#"USERNAME Eq "BOB@example.com""#).await,
        ["bob@example.com"]
    );
}

async fn external_id_eq_is_case_exact(server: TestServer) {
    let tenant = server.tenant().await;
    users(
        &tenant,
        vec![
            UserBuilder::new("a")
                .with("externalId", json!("Ext-9"))
                .build(),
        ],
    )
    .await;
    assert_eq!(filtered(&tenant, r#"externalId eq "Ext-9""#).await, ["a"]);
    assert!(
        filtered(&tenant, r#"externalId eq "ext-9""#)
            .await
            .is_empty()
    );
}

async fn emails_value_and_value_filters_match_one_email(server: TestServer) {
    let tenant = server.tenant().await;
    users(
        &tenant,
        vec![
            UserBuilder::new("w")
                .email("w@work.example", "work")
                .email("w@home.example", "home")
                .build(),
            UserBuilder::new("h")
                .email("h@home.example", "work")
                .build(),
        ],
    )
    .await;
    assert_eq!(
        filtered(&tenant, r#"emails.value eq "W@HOME.example""#).await,
        ["w"]
    );
    assert_eq!(
        filtered(&tenant, r#"emails co "home.example""#).await,
        ["w", "h"]
    );
    // The type and the domain must hold for the same email.
    assert_eq!(
        filtered(
            &tenant,
            r#"emails[type eq "work" and value ew "home.example"]"#
        )
        .await,
        ["h"]
    );
    assert_eq!(
        filtered(
            &tenant,
            r#"emails[type eq "work"].value eq "w@work.example""#
        )
        .await,
        ["w"]
    );
    assert_eq!(filtered(&tenant, r#"emails[type eq "home"]"#).await, ["w"]);
}

async fn emails_value_eq_lists_each_matching_user_once_in_every_window(server: TestServer) {
    let tenant = server.tenant().await;
    let shared = "shared@example.com";
    let mut bodies: Vec<Value> = (0..5)
        .map(|i| {
            UserBuilder::new(&format!("s{i}"))
                .email(shared, "work")
                .build()
        })
        .collect();
    // s0 holds the address twice; it is still one user.
    bodies[0] = UserBuilder::new("s0")
        .email(shared, "work")
        .email(shared, "home")
        .build();
    bodies.push(
        UserBuilder::new("other")
            .email("other@example.com", "work")
            .build(),
    );
    users(&tenant, bodies).await;
    let stranger = server.tenant().await;
    users(
        &stranger,
        vec![UserBuilder::new("foreign").email(shared, "work").build()],
    )
    .await;
    let expected = ["s0", "s1", "s2", "s3", "s4"];

    let filter = urlencode(r#"emails.value eq "SHARED@example.com""#);
    assert_eq!(
        filtered(&tenant, r#"emails.value eq "SHARED@example.com""#).await,
        expected
    );
    let (_, page) = tenant
        .get(&format!("/Users?filter={filter}&startIndex=2&count=2"))
        .await;
    assert_eq!(page["totalResults"], 5);
    let names = user_names(&page);
    assert_eq!(names, ["s1", "s2"]);
    assert_eq!(
        walk_with_cursor(&tenant, &format!("filter={filter}")).await,
        expected
    );
}

/// Each indexed attribute's look-up has a prepared statement of its own; run one
/// after another on the same connections, none may answer with another's.
async fn equality_look_ups_on_different_indexed_attributes_each_find_their_own_user(
    server: TestServer,
) {
    let tenant = server.tenant().await;
    let created = users(
        &tenant,
        vec![
            UserBuilder::new("by-name").build(),
            UserBuilder::new("by-external")
                .with("externalId", json!("ext-1"))
                .build(),
            UserBuilder::new("by-email")
                .email("mail@example.com", "work")
                .build(),
            UserBuilder::new("by-phone")
                .with("phoneNumbers", json!([{"value": "+1 555 0100"}]))
                .build(),
        ],
    )
    .await;
    let by_id = format!(r#"id eq "{}""#, created[0]["id"].as_str().unwrap());
    for _ in 0..2 {
        assert_eq!(filtered(&tenant, &by_id).await, ["by-name"]);
        assert_eq!(
            filtered(&tenant, r#"userName eq "by-name""#).await,
            ["by-name"]
        );
        assert_eq!(
            filtered(&tenant, r#"externalId eq "ext-1""#).await,
            ["by-external"]
        );
        assert_eq!(
            filtered(&tenant, r#"emails.value eq "mail@example.com""#).await,
            ["by-email"]
        );
        assert_eq!(
            filtered(&tenant, r#"phoneNumbers.value eq "+1 555 0100""#).await,
            ["by-phone"]
        );
        assert!(filtered(&tenant, r#"userName eq "ext-1""#).await.is_empty());
    }
}

async fn enterprise_attributes_filter_by_full_urn(server: TestServer) {
    let tenant = server.tenant().await;
    let created = users(
        &tenant,
        vec![
            UserBuilder::new("boss").build(),
            UserBuilder::new("e1")
                .enterprise(json!({"employeeNumber": "1234567", "department": "Sales"}))
                .build(),
        ],
    )
    .await;
    let boss_id = created[0]["id"].as_str().unwrap();
    users(
        &tenant,
        vec![
            UserBuilder::new("e2")
                .enterprise(json!({"manager": {"value": boss_id}}))
                .build(),
        ],
    )
    .await;
    assert_eq!(
        filtered(
            &tenant,
            &format!("{ENTERPRISE}:employeeNumber eq \"1234567\"")
        )
        .await,
        ["e1"]
    );
    assert_eq!(
        filtered(&tenant, &format!("{ENTERPRISE}:department eq \"sales\"")).await,
        ["e1"]
    );
    assert_eq!(
        filtered(
            &tenant,
            &format!("{ENTERPRISE}:manager.value eq \"{boss_id}\"")
        )
        .await,
        ["e2"]
    );
    assert_eq!(
        filtered(&tenant, &format!("{ENTERPRISE}:manager pr")).await,
        ["e2"]
    );
}

async fn custom_data_members_can_be_filtered(server: TestServer) {
    let tenant = server.tenant().await;
    users(
        &tenant,
        vec![
            UserBuilder::new("gold")
                .roster(json!({"customData": {"plan": "gold", "seats": 10, "tags": ["vip"]}}))
                .build(),
            UserBuilder::new("free")
                .roster(json!({"customData": {"plan": "free", "seats": 1}}))
                .build(),
            UserBuilder::new("none").build(),
        ],
    )
    .await;
    assert_eq!(
        filtered(&tenant, &format!("{ROSTER}:customData.plan eq \"gold\"")).await,
        ["gold"]
    );
    assert_eq!(
        filtered(&tenant, &format!("{ROSTER}:customData.seats gt 5")).await,
        ["gold"]
    );
    assert_eq!(
        filtered(&tenant, &format!("{ROSTER}:customData.tags eq \"vip\"")).await,
        ["gold"]
    );
    assert_eq!(
        filtered(&tenant, &format!("{ROSTER}:customData.plan pr")).await,
        ["gold", "free"]
    );
    assert_eq!(
        filtered(&tenant, &format!("not ({ROSTER}:customData.plan pr)")).await,
        ["none"]
    );
}

async fn last_modified_gt_compares_times(server: TestServer) {
    let tenant = server.tenant().await;
    let created = users(&tenant, vec![UserBuilder::new("old").build()]).await;
    let stamp = created[0]["meta"]["lastModified"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    users(&tenant, vec![UserBuilder::new("new").build()]).await;
    assert_eq!(
        filtered(&tenant, &format!("meta.lastModified gt \"{stamp}\"")).await,
        ["new"]
    );
    assert_eq!(
        filtered(&tenant, &format!("meta.lastModified le \"{stamp}\"")).await,
        ["old"]
    );
    assert_eq!(
        filtered(&tenant, &format!("meta.created eq \"{stamp}\"")).await,
        ["old"]
    );
}

async fn logical_operators_and_not_combine(server: TestServer) {
    let tenant = server.tenant().await;
    users(
        &tenant,
        vec![
            UserBuilder::new("a")
                .with("title", json!("Engineer"))
                .with("active", json!(true))
                .build(),
            UserBuilder::new("b")
                .with("title", json!("Manager"))
                .with("active", json!(false))
                .build(),
            UserBuilder::new("c").build(),
        ],
    )
    .await;
    assert_eq!(
        filtered(&tenant, r#"title eq "engineer" or active eq false"#).await,
        ["a", "b"]
    );
    assert_eq!(
        filtered(&tenant, r#"title pr and not (active eq false)"#).await,
        ["a"]
    );
    assert_eq!(
        filtered(&tenant, r#"not (title eq "manager")"#).await,
        ["a", "c"]
    );
    assert_eq!(filtered(&tenant, r#"title ne "manager""#).await, ["a"]);
}

async fn bad_filters_are_invalid_filter_with_a_position(server: TestServer) {
    let tenant = server.tenant().await;
    for filter in [
        r#"userName eq"#,
        r#"userName zz "x""#,
        r#"(userName pr"#,
        r#"userName eq "x" and"#,
        "emails[type eq \"work\"",
    ] {
        let (status, body) = tenant
            .get(&format!("/Users?filter={}", urlencode(filter)))
            .await;
        assert_scim_error(
            status,
            &body,
            StatusCode::BAD_REQUEST,
            Some("invalidFilter"),
        );
        assert!(
            body["detail"].as_str().unwrap().contains("character"),
            "{filter}: {body}"
        );
    }
}

async fn unknown_attributes_in_filters_are_invalid_filter(server: TestServer) {
    let tenant = server.tenant().await;
    for filter in [
        r#"shoeSize eq "44""#,
        r#"urn:example:ext:foo eq "x""#,
        r#"userName gt 5"#,
    ] {
        let (status, body) = tenant
            .get(&format!("/Users?filter={}", urlencode(filter)))
            .await;
        assert_scim_error(
            status,
            &body,
            StatusCode::BAD_REQUEST,
            Some("invalidFilter"),
        );
    }
}

async fn unknown_user_name_gives_an_empty_list(server: TestServer) {
    // Entra ID's "test connection": no SCIM headers, a random GUID.
    let tenant = server.tenant().await;
    let response = tenant
        .client
        .get(format!(
            "{}/scim/v2/Users?filter={}",
            tenant.base,
            urlencode(&format!("userName eq \"{}\"", uuid::Uuid::new_v4()))
        ))
        .header("Authorization", format!("Bearer {}", tenant.token()))
        .send()
        .await
        .unwrap();
    let (status, list) = read(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["totalResults"], 0);
    assert_eq!(list["Resources"], json!([]));
}

async fn sorted(tenant: &Tenant, query: &str) -> Vec<String> {
    let (status, list) = tenant.get(&format!("/Users?count=100&{query}")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    user_names(&list).into_iter().map(str::to_owned).collect()
}

async fn sort_by_orders_case_insensitively_with_missing_values_last(server: TestServer) {
    let tenant = server.tenant().await;
    users(
        &tenant,
        vec![
            UserBuilder::new("u1")
                .with("displayName", json!("bravo"))
                .build(),
            UserBuilder::new("u2").build(),
            UserBuilder::new("u3")
                .with("displayName", json!("Alpha"))
                .build(),
            UserBuilder::new("u4")
                .with("displayName", json!("Charlie"))
                .build(),
        ],
    )
    .await;
    assert_eq!(
        sorted(&tenant, "sortBy=displayName").await,
        ["u3", "u1", "u4", "u2"]
    );
    assert_eq!(
        sorted(&tenant, "sortBy=displayName&sortOrder=descending").await,
        ["u2", "u4", "u1", "u3"]
    );
    assert_eq!(
        sorted(&tenant, "sortBy=userName&sortOrder=DESCENDING").await,
        ["u4", "u3", "u2", "u1"]
    );
    let (status, body) = tenant
        .get("/Users?sortBy=displayName&sortOrder=sideways")
        .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
}

async fn sort_by_a_multi_valued_attribute_uses_the_primary_value(server: TestServer) {
    let tenant = server.tenant().await;
    users(
        &tenant,
        vec![
            UserBuilder::new("x")
                .with(
                    "emails",
                    json!([{"value": "a@x"}, {"value": "z@x", "primary": true}]),
                )
                .build(),
            UserBuilder::new("y")
                .with("emails", json!([{"value": "m@x"}]))
                .build(),
        ],
    )
    .await;
    assert_eq!(sorted(&tenant, "sortBy=emails").await, ["y", "x"]);
    assert_eq!(
        sorted(&tenant, "sortBy=emails.value&sortOrder=descending").await,
        ["x", "y"]
    );
}

async fn index_paging_through_a_filter_counts_only_matches(server: TestServer) {
    let tenant = server.tenant().await;
    let bodies = (0..9)
        .map(|i| {
            UserBuilder::new(&format!("p{i}"))
                .with("title", json!(if i % 3 == 0 { "odd" } else { "even" }))
                .build()
        })
        .collect();
    users(&tenant, bodies).await;
    let (_, page) = tenant
        .get(&format!(
            "/Users?filter={}&startIndex=2&count=2",
            urlencode(r#"title eq "even""#)
        ))
        .await;
    assert_eq!(page["totalResults"], 6);
    assert_eq!(page["startIndex"], 2);
    assert_eq!(page["itemsPerPage"], 2);
    let names = user_names(&page);
    assert_eq!(names, ["p2", "p4"]);
}

async fn total_results_counts_every_match_whatever_the_window(server: TestServer) {
    let tenant = server.tenant().await;
    let bodies = (0..8)
        .map(|i| {
            UserBuilder::new(&format!("t{i}"))
                .with("title", json!(if i < 5 { "match" } else { "other" }))
                .build()
        })
        .collect();
    users(&tenant, bodies).await;
    let filter = urlencode(r#"title eq "match""#);
    // A page holding every match, one exactly full, a partial one, a later one, and
    // the first and a later cursor page.
    for (window, items) in [
        ("count=10", 5),
        ("count=5", 5),
        ("count=2", 2),
        ("startIndex=5&count=10", 1),
        ("startIndex=9&count=10", 0),
        ("count=10&cursor=", 5),
        ("count=2&cursor=", 2),
    ] {
        let (status, page) = tenant
            .get(&format!("/Users?filter={filter}&{window}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{window}: {page}");
        assert_eq!(page["totalResults"], 5, "{window}");
        assert_eq!(
            page["Resources"].as_array().unwrap().len(),
            items,
            "{window}"
        );
    }
    let (_, first) = tenant
        .get(&format!("/Users?filter={filter}&count=2&cursor="))
        .await;
    let next = first["nextCursor"].as_str().unwrap();
    let (_, second) = tenant
        .get(&format!("/Users?filter={filter}&count=10&cursor={next}"))
        .await;
    assert_eq!(second["totalResults"], 5);
    assert_eq!(second["Resources"].as_array().unwrap().len(), 3);
}

async fn walk_with_cursor(tenant: &Tenant, query: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..100 {
        let (status, page) = tenant
            .get(&format!("/Users?count=3&cursor={cursor}&{query}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page["Resources"].as_array().unwrap().len() <= 3);
        seen.extend(user_names(&page).into_iter().map(str::to_owned));
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return seen,
        }
    }
    panic!("the cursor walk did not end");
}

async fn cursor_paging_walks_every_user_exactly_once(server: TestServer) {
    let tenant = server.tenant().await;
    let created = users(
        &tenant,
        (0..10)
            .map(|i| UserBuilder::new(&format!("c{i}")).build())
            .collect(),
    )
    .await;
    let names: Vec<String> = created
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(walk_with_cursor(&tenant, "").await, names);
    // 9 users: three full pages and no empty fourth one.
    tenant
        .delete(&format!("/Users/{}", created[9]["id"].as_str().unwrap()))
        .await;
    assert_eq!(walk_with_cursor(&tenant, "").await, names[..9]);
}

async fn cursor_paging_with_sort_walks_every_user_exactly_once(server: TestServer) {
    let tenant = server.tenant().await;
    let titles = ["b", "a", "", "c", "a", "", "b", "d"];
    let bodies = titles
        .iter()
        .enumerate()
        .map(|(i, title)| {
            let builder = UserBuilder::new(&format!("s{i}"));
            if title.is_empty() {
                builder.build()
            } else {
                builder.with("title", json!(title)).build()
            }
        })
        .collect();
    users(&tenant, bodies).await;
    for order in ["ascending", "descending"] {
        let query = format!("sortBy=title&sortOrder={order}");
        let walked = walk_with_cursor(&tenant, &query).await;
        assert_eq!(walked, sorted(&tenant, &query).await, "{order}");
        assert_eq!(walked.len(), titles.len());
    }
}

async fn a_foreign_or_forged_cursor_is_invalid_cursor(server: TestServer) {
    let tenant = server.tenant().await;
    users(
        &tenant,
        (0..4)
            .map(|i| UserBuilder::new(&format!("f{i}")).build())
            .collect(),
    )
    .await;
    let (_, page) = tenant.get("/Users?count=2&cursor=&sortBy=userName").await;
    let cursor = page["nextCursor"].as_str().unwrap().to_owned();
    let (status, body) = tenant
        .get(&format!("/Users?count=2&cursor={cursor}&sortBy=title"))
        .await;
    assert_scim_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("invalidCursor"),
    );
    let (status, body) = tenant.get("/Users?count=2&cursor=not-a-cursor").await;
    assert_scim_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("invalidCursor"),
    );
}

async fn attributes_parameter_returns_exactly_those_attributes(server: TestServer) {
    let tenant = server.tenant().await;
    let created = users(
        &tenant,
        vec![
            UserBuilder::new("proj")
                .name("Pro", "Jection")
                .email("p@x.org", "work")
                .with("title", json!("T"))
                .build(),
        ],
    )
    .await;
    let id = created[0]["id"].as_str().unwrap();
    let (_, user) = tenant
        .get(&format!(
            "/Users/{id}?attributes=userName,name.familyName,emails.value"
        ))
        .await;
    let mut keys: Vec<&String> = user.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["emails", "id", "name", "schemas", "userName"]);
    assert_eq!(user["name"], json!({"familyName": "Jection"}));
    assert_eq!(user["emails"], json!([{"value": "p@x.org"}]));
    let (_, list) = tenant.get("/Users?attributes=title").await;
    let first = &list["Resources"][0];
    assert_eq!(first.as_object().unwrap().len(), 3, "{first}");
    assert_eq!(first["title"], "T");
}

async fn excluded_attributes_parameter_removes_attributes(server: TestServer) {
    let tenant = server.tenant().await;
    let created = users(
        &tenant,
        vec![
            UserBuilder::new("ex")
                .email("e@x.org", "work")
                .with("title", json!("T"))
                .build(),
        ],
    )
    .await;
    let id = created[0]["id"].as_str().unwrap();
    let response = tenant
        .scim(
            Method::GET,
            &format!("/Users/{id}?excludedAttributes=emails,meta"),
        )
        .send()
        .await
        .unwrap();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let (_, user) = read(response).await;
    assert!(user.get("emails").is_none() && user.get("meta").is_none());
    assert_eq!(user["title"], "T");
    assert_eq!(etag, "W/\"1\"", "the ETag header survives projection");
}

async fn search_endpoints_accept_a_search_request(server: TestServer) {
    let tenant = server.tenant().await;
    users(
        &tenant,
        vec![
            UserBuilder::new("s1").build(),
            UserBuilder::new("s2").with("title", json!("x")).build(),
        ],
    )
    .await;
    let request = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "title pr", "attributes": ["userName"], "startIndex": 1, "count": 10
    });
    for path in ["/Users/.search", "/.search"] {
        let (status, list) = read(
            scim_body(tenant.scim(Method::POST, path), &request)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{path}: {list}");
        assert_eq!(list["totalResults"], 1);
        assert_eq!(list["Resources"][0]["userName"], "s2");
        assert!(list["Resources"][0].get("title").is_none());
    }
    let (status, body) = read(
        scim_body(
            tenant.scim(Method::POST, "/Users/.search"),
            &json!({"filter": "title zz 1"}),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_scim_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("invalidFilter"),
    );
}

async fn service_provider_config_advertises_filter_sort_and_pagination(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, config) = tenant.get("/ServiceProviderConfig").await;
    assert_eq!(config["filter"]["supported"], true);
    assert_eq!(config["filter"]["maxResults"], 1000);
    assert_eq!(config["sort"]["supported"], true);
    assert_eq!(config["pagination"]["cursor"], true);
    assert_eq!(config["pagination"]["index"], true);
    assert_eq!(config["pagination"]["defaultPaginationMethod"], "index");
}
