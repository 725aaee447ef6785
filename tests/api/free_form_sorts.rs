//! Sorting by a `customData` member of users with large custom data: the order,
//! missing values, index and cursor paging, and sort keys that stay small (only the
//! first characters of a free-form value sort; ids break ties).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use roster::store::query::FREE_FORM_SORT_KEY_CHARS;

use crate::on_both_backends;
use crate::support::{Tenant, TestServer, UserBuilder, scim_body};

on_both_backends!(
    sorting_by_a_custom_data_member_orders_large_users,
    index_paging_sorted_by_a_custom_data_member_walks_every_user_once,
    cursor_paging_sorted_by_a_custom_data_member_carries_small_cursors,
);

const SORT_BY: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User:customData.k";
/// Bytes of padding in every user's custom data.
const PAD_BYTES: usize = 200_000;
/// Characters of the long sort values: far more than a sort compares.
const LONG_VALUE_CHARS: usize = 300_000;

/// The users, named by their sort value, with their ids.
struct SortedUsers {
    number: String,
    a: String,
    long_b: String,
    longer_b: String,
    c: String,
    object: String,
    missing: String,
}

async fn create(tenant: &Tenant, name: &str, k: Option<Value>) -> String {
    let mut custom = json!({"pad": "p".repeat(PAD_BYTES)});
    if let Some(k) = k {
        custom["k"] = k;
    }
    let body = UserBuilder::new(name)
        .roster(json!({"customData": custom}))
        .build();
    tenant.create_user(&body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn sorted_users(tenant: &Tenant) -> SortedUsers {
    let long_b = format!("b{}", "x".repeat(LONG_VALUE_CHARS));
    SortedUsers {
        c: create(tenant, "c", Some(json!("c"))).await,
        missing: create(tenant, "missing", None).await,
        object: create(
            tenant,
            "object",
            Some(json!({"z": "y".repeat(LONG_VALUE_CHARS)})),
        )
        .await,
        longer_b: create(tenant, "longer-b", Some(json!(format!("{long_b}a")))).await,
        a: create(tenant, "a", Some(json!("a"))).await,
        number: create(tenant, "number", Some(json!(5))).await,
        long_b: create(tenant, "long-b", Some(json!(long_b))).await,
    }
}

/// The ids in ascending order: numbers print before letters and an object's JSON
/// text (`{…`) after them; the two long values agree on every character a sort
/// compares, so their ids order them; the missing value comes last.
fn ascending(users: &SortedUsers) -> Vec<String> {
    let mut tied = [users.long_b.clone(), users.longer_b.clone()];
    tied.sort();
    let mut ids = vec![users.number.clone(), users.a.clone()];
    ids.extend(tied);
    ids.extend([users.c.clone(), users.object.clone(), users.missing.clone()]);
    ids
}

fn ids_of(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("Resources in {}", list["detail"]))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn sorting_by_a_custom_data_member_orders_large_users(server: TestServer) {
    let tenant = server.tenant().await;
    let users = sorted_users(&tenant).await;
    let expected = ascending(&users);
    let (status, list) = tenant.get(&format!("/Users?sortBy={SORT_BY}")).await;
    assert_eq!(status, StatusCode::OK, "{}", list["detail"]);
    assert_eq!(ids_of(&list), expected);
    let (status, list) = tenant
        .get(&format!("/Users?sortBy={SORT_BY}&sortOrder=descending"))
        .await;
    assert_eq!(status, StatusCode::OK, "{}", list["detail"]);
    let descending: Vec<String> = expected.iter().rev().cloned().collect();
    assert_eq!(ids_of(&list), descending);
    let (status, list) = tenant
        .post(
            "/Users/.search",
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "sortBy": SORT_BY,
                "sortOrder": "descending",
                "startIndex": 2,
                "count": 3,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{}", list["detail"]);
    assert_eq!(ids_of(&list), descending[1..4]);
}

async fn index_paging_sorted_by_a_custom_data_member_walks_every_user_once(server: TestServer) {
    let tenant = server.tenant().await;
    let users = sorted_users(&tenant).await;
    let expected = ascending(&users);
    for (order, expected) in [
        ("ascending", expected.clone()),
        ("descending", expected.iter().rev().cloned().collect()),
    ] {
        let mut walked = Vec::new();
        for start in (1..=expected.len()).step_by(2) {
            let (status, page) = tenant
                .get(&format!(
                    "/Users?sortBy={SORT_BY}&sortOrder={order}&startIndex={start}&count=2"
                ))
                .await;
            assert_eq!(status, StatusCode::OK, "{}", page["detail"]);
            assert_eq!(page["totalResults"], expected.len());
            walked.extend(ids_of(&page));
        }
        assert_eq!(walked, expected, "{order}");
    }
}

async fn cursor_paging_sorted_by_a_custom_data_member_carries_small_cursors(server: TestServer) {
    let tenant = server.tenant().await;
    let users = sorted_users(&tenant).await;
    let expected = ascending(&users);
    // A cursor holds the last sort key of its page: at most the compared characters.
    let longest_cursor = 4 * (FREE_FORM_SORT_KEY_CHARS + 200) / 3;
    let whole_custom_data = "urn:ietf:params:scim:schemas:extension:roster:2.0:User:customData";
    for (sort_by, order, expected) in [
        (SORT_BY, "ascending", Some(expected.clone())),
        (
            SORT_BY,
            "descending",
            Some(expected.iter().rev().cloned().collect()),
        ),
        (whole_custom_data, "ascending", None),
    ] {
        let mut walked = Vec::new();
        let mut cursor = String::new();
        loop {
            let request = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "sortBy": sort_by,
                "sortOrder": order,
                "cursor": cursor,
                "count": 1,
            });
            let response = scim_body(tenant.scim(Method::POST, "/Users/.search"), &request)
                .send()
                .await
                .unwrap();
            let (status, page) = crate::support::read(response).await;
            assert_eq!(status, StatusCode::OK, "{}", page["detail"]);
            walked.extend(ids_of(&page));
            match page["nextCursor"].as_str() {
                Some(next) => {
                    assert!(
                        next.len() <= longest_cursor,
                        "{sort_by} {order}: a cursor of {} characters",
                        next.len()
                    );
                    cursor = next.to_owned();
                }
                None => break,
            }
        }
        match expected {
            Some(expected) => assert_eq!(walked, expected, "{sort_by} {order}"),
            None => {
                let mut every = ascending(&users);
                every.sort();
                walked.sort();
                assert_eq!(walked, every, "{sort_by}: each user once");
            }
        }
    }
}
