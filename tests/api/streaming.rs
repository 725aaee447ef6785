//! Lists streamed out as they are read: users with large custom data, groups with
//! more members than one streamed page, `.search` at every endpoint, projection,
//! paging, and errors that answer before any byte of the list.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use roster::domain::seed::{SeedPlan, seed};

use crate::on_both_backends;
use crate::queries::urlencode;
use crate::support::{Tenant, TestServer, UserBuilder, assert_scim_error, read, scim_body};

on_both_backends!(
    users_with_large_custom_data_are_listed_whole_in_a_streamed_body,
    users_search_projects_each_streamed_user,
    index_and_cursor_paging_walk_heavy_users,
    a_look_up_matching_many_users_lists_them_all,
    group_lists_show_every_visible_member_of_big_groups,
    an_app_token_lists_only_the_members_in_its_scope,
    root_search_streams_users_then_groups,
    bad_list_requests_fail_before_the_list_starts,
);

/// Users whose custom data together exceed several read batches (1 MiB each).
const HEAVY_USERS: usize = 9;
/// Bytes of custom data per heavy user.
const CUSTOM_DATA_BYTES: usize = 300_000;

/// Creates the heavy users; returns their ids in creation (and so id) order.
async fn heavy_users(tenant: &Tenant) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 0..HEAVY_USERS {
        let body = UserBuilder::new(&format!("heavy{n}"))
            .email("shared@example.com", "work")
            .roster(json!({"customData": {"n": n, "blob": blob(n)}}))
            .build();
        let created = tenant.create_user(&body).await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    ids
}

/// The custom data blob of heavy user `n`: its own, so that a mix-up shows.
fn blob(n: usize) -> String {
    let letter = char::from(b'a' + (n % 26) as u8);
    letter.to_string().repeat(CUSTOM_DATA_BYTES)
}

/// The body of a streamed list, read chunk by chunk; asserts 200 and that the body
/// came without a length known in advance (it was written as it was read).
async fn read_streamed(response: Response) -> Value {
    let status = response.status();
    assert_eq!(
        response
            .headers()
            .get("transfer-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("chunked"),
        "status {status}: a streamed list has no Content-Length"
    );
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.expect("a chunk of the body") {
        body.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(body).expect("UTF-8");
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the body is not JSON ({e})"))
}

async fn get_streamed(tenant: &Tenant, path: &str) -> Value {
    read_streamed(tenant.scim(Method::GET, path).send().await.unwrap()).await
}

async fn search_streamed(tenant: &Tenant, path: &str, body: &Value) -> Value {
    read_streamed(
        scim_body(tenant.scim(Method::POST, path), body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn resource_ids(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_heavy_user(user: &Value, n: usize) {
    let custom = &user["urn:ietf:params:scim:schemas:extension:roster:2.0:User"]["customData"];
    assert_eq!(custom["n"], n, "user {}", user["id"]);
    assert!(
        custom["blob"].as_str() == Some(blob(n).as_str()),
        "user {n}'s blob"
    );
    assert_eq!(user["userName"], format!("heavy{n}"));
}

async fn users_with_large_custom_data_are_listed_whole_in_a_streamed_body(server: TestServer) {
    let tenant = server.tenant().await;
    let ids = heavy_users(&tenant).await;
    let list = get_streamed(&tenant, "/Users?count=100").await;
    assert_eq!(list["totalResults"], HEAVY_USERS);
    assert_eq!(list["itemsPerPage"], HEAVY_USERS);
    assert_eq!(list["startIndex"], 1);
    assert_eq!(
        list["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert_eq!(resource_ids(&list), ids);
    for (n, user) in list["Resources"].as_array().unwrap().iter().enumerate() {
        assert_heavy_user(user, n);
        assert_eq!(user["meta"]["resourceType"], "User");
    }
}

async fn users_search_projects_each_streamed_user(server: TestServer) {
    let tenant = server.tenant().await;
    let ids = heavy_users(&tenant).await;
    let list = search_streamed(
        &tenant,
        "/Users/.search",
        &json!({"filter": "userName sw \"heavy\"", "attributes": ["userName"], "count": 50}),
    )
    .await;
    assert_eq!(list["totalResults"], HEAVY_USERS);
    assert_eq!(resource_ids(&list), ids);
    for (n, user) in list["Resources"].as_array().unwrap().iter().enumerate() {
        let mut keys: Vec<&str> = user
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(keys, ["id", "schemas", "userName"], "{n}");
        assert_eq!(user["userName"], format!("heavy{n}"));
    }
    let list = get_streamed(
        &tenant,
        "/Users?excludedAttributes=urn:ietf:params:scim:schemas:extension:roster:2.0:User:customData",
    )
    .await;
    assert_eq!(resource_ids(&list), ids);
    let roster = &list["Resources"][0]["urn:ietf:params:scim:schemas:extension:roster:2.0:User"];
    assert!(roster.get("customData").is_none(), "{roster}");
    assert_eq!(roster["status"], "pending");
}

async fn index_and_cursor_paging_walk_heavy_users(server: TestServer) {
    let tenant = server.tenant().await;
    let ids = heavy_users(&tenant).await;
    let page = get_streamed(&tenant, "/Users?startIndex=4&count=3").await;
    assert_eq!(page["totalResults"], HEAVY_USERS);
    assert_eq!(page["startIndex"], 4);
    assert_eq!(page["itemsPerPage"], 3);
    assert_eq!(resource_ids(&page), ids[3..6]);
    assert_heavy_user(&page["Resources"][0], 3);

    let mut walked = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let page = get_streamed(&tenant, &format!("/Users?count=4&cursor={cursor}")).await;
        pages += 1;
        assert_eq!(page["totalResults"], HEAVY_USERS);
        assert!(page.get("startIndex").is_none(), "{}", page["startIndex"]);
        for user in page["Resources"].as_array().unwrap() {
            assert_heavy_user(user, walked.len());
            walked.push(user["id"].as_str().unwrap().to_owned());
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(walked, ids);
    assert_eq!(pages, HEAVY_USERS.div_ceil(4));
}

async fn a_look_up_matching_many_users_lists_them_all(server: TestServer) {
    let tenant = server.tenant().await;
    let ids = heavy_users(&tenant).await;
    let filter = urlencode("emails.value eq \"shared@example.com\"");
    let (status, list) = tenant.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["totalResults"], HEAVY_USERS);
    assert_eq!(resource_ids(&list), ids);
    assert_heavy_user(&list["Resources"][HEAVY_USERS - 1], HEAVY_USERS - 1);
    // A page of a few matches, then the rest.
    let (_, first) = tenant
        .get(&format!("/Users?filter={filter}&count=2&cursor="))
        .await;
    assert_eq!(resource_ids(&first), ids[..2]);
    let next = first["nextCursor"].as_str().expect("a next page");
    let (_, rest) = tenant
        .get(&format!("/Users?filter={filter}&count=100&cursor={next}"))
        .await;
    assert_eq!(resource_ids(&rest), ids[2..]);
    assert!(rest.get("nextCursor").is_none());
    let (_, one) = tenant
        .get(&format!(
            "/Users?filter={}",
            urlencode("userName eq \"HEAVY3\"")
        ))
        .await;
    assert_eq!(one["totalResults"], 1);
    assert_heavy_user(&one["Resources"][0], 3);
}

/// Seeds the tenant with users and three groups, the largest of more members than
/// one streamed page holds (1,000).
async fn seeded_groups(server: &TestServer, tenant: &Tenant) {
    seed(
        &server.store,
        SeedPlan {
            tenant: tenant.name.clone(),
            users: 2_300,
            groups: 3,
            max_group_size: 2_300,
            seed: 5,
        },
    )
    .await
    .expect("seeded");
}

async fn members_of(tenant: &Tenant, token: &str, id: &str) -> Value {
    let (status, group) = read(
        tenant
            .client
            .get(format!("{}/scim/v2/Groups/{id}", tenant.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{group}");
    group["members"].clone()
}

/// Every group of `list` carries the members a single GET shows `token`.
async fn assert_groups_carry_their_members(tenant: &Tenant, token: &str, list: &Value) -> usize {
    let mut largest = 0;
    for group in list["Resources"].as_array().unwrap() {
        let id = group["id"].as_str().unwrap();
        let members = members_of(tenant, token, id).await;
        assert_eq!(group["members"], members, "group {id}");
        largest = largest.max(members.as_array().unwrap().len());
    }
    largest
}

async fn group_lists_show_every_visible_member_of_big_groups(server: TestServer) {
    let tenant = server.tenant().await;
    seeded_groups(&server, &tenant).await;
    let list = get_streamed(&tenant, "/Groups").await;
    assert_eq!(list["totalResults"], 3);
    assert_eq!(list["itemsPerPage"], 3);
    let largest = assert_groups_carry_their_members(&tenant, tenant.token(), &list).await;
    assert!(largest > 1_000, "the largest group has {largest} members");
    for group in list["Resources"].as_array().unwrap() {
        assert_eq!(group["meta"]["resourceType"], "Group");
        assert!(group["displayName"].is_string(), "{}", group["id"]);
    }

    let names = search_streamed(
        &tenant,
        "/Groups/.search",
        &json!({"attributes": ["displayName"], "sortBy": "displayName"}),
    )
    .await;
    let shown: Vec<&str> = names["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            assert!(g.get("members").is_none(), "{g}");
            g["displayName"].as_str().unwrap()
        })
        .collect();
    let mut sorted = shown.clone();
    sorted.sort_by_key(|name| name.to_lowercase());
    assert_eq!(shown, sorted);

    let values = get_streamed(&tenant, "/Groups?attributes=members.value&count=2").await;
    assert_eq!(values["totalResults"], 3);
    assert_eq!(values["itemsPerPage"], 2);
    for group in values["Resources"].as_array().unwrap() {
        assert!(
            group.get("displayName").is_none(),
            "{}",
            group["displayName"]
        );
        let members = members_of(&tenant, tenant.token(), group["id"].as_str().unwrap()).await;
        let expected: Vec<Value> = members
            .as_array()
            .unwrap()
            .iter()
            .map(|m| json!({"value": m["value"]}))
            .collect();
        assert_eq!(group["members"], Value::Array(expected));
    }

    let first = get_streamed(
        &tenant,
        "/Groups?count=2&cursor=&excludedAttributes=members",
    )
    .await;
    let next = first["nextCursor"].as_str().expect("a second page");
    let second = get_streamed(
        &tenant,
        &format!("/Groups?count=2&cursor={next}&excludedAttributes=members"),
    )
    .await;
    let mut walked = resource_ids(&first);
    walked.extend(resource_ids(&second));
    assert_eq!(walked, resource_ids(&list));
    assert!(second.get("nextCursor").is_none());
}

async fn an_app_token_lists_only_the_members_in_its_scope(server: TestServer) {
    let tenant = server.tenant().await;
    seeded_groups(&server, &tenant).await;
    let (_, apps) = read(
        tenant
            .client
            .get(format!("{}/v1/apps", tenant.base))
            .bearer_auth(tenant.token())
            .send()
            .await
            .unwrap(),
    )
    .await;
    let seeded_app = apps["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|app| app["name"].as_str().unwrap_or("").starts_with("Seeded app"))
        .cloned()
        .expect("the seeded application");
    let (status, token) = read(
        tenant
            .client
            .post(format!("{}/v1/tokens", tenant.base))
            .bearer_auth(tenant.token())
            .body(json!({ "app_id": seeded_app["id"] }).to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    let token = token["scim_token"].as_str().unwrap();
    let everyone = get_streamed(&tenant, "/Groups").await;
    let list = read_streamed(
        tenant
            .client
            .get(format!("{}/scim/v2/Groups", tenant.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(resource_ids(&list), resource_ids(&everyone));
    assert_groups_carry_their_members(&tenant, token, &list).await;
    let seen: usize = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["members"].as_array().unwrap().len())
        .sum();
    let all: usize = everyone["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["members"].as_array().unwrap().len())
        .sum();
    assert!(seen > 0 && seen < all, "{seen} of {all} members seen");
}

async fn root_search_streams_users_then_groups(server: TestServer) {
    let tenant = server.tenant().await;
    let ids = heavy_users(&tenant).await;
    let member = json!({"value": ids[0]});
    for name in ["Alpha", "Beta"] {
        let (status, created) = tenant
            .post(
                "/Groups",
                &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": name, "members": [member]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
    let all = search_streamed(&tenant, "/.search", &json!({"count": 100})).await;
    assert_eq!(all["totalResults"], HEAVY_USERS + 2);
    assert_eq!(all["itemsPerPage"], HEAVY_USERS + 2);
    let resources = all["Resources"].as_array().unwrap();
    assert_eq!(resource_ids(&all)[..HEAVY_USERS], ids);
    assert_heavy_user(&resources[HEAVY_USERS - 1], HEAVY_USERS - 1);
    let groups = &resources[HEAVY_USERS..];
    assert_eq!(groups[0]["displayName"], "Alpha");
    assert_eq!(groups[1]["members"][0]["value"], ids[0].as_str());

    // A page across the end of the users and into the groups.
    let page = search_streamed(
        &tenant,
        "/.search",
        &json!({"startIndex": HEAVY_USERS, "count": 2, "attributes": ["userName", "displayName"]}),
    )
    .await;
    assert_eq!(page["totalResults"], HEAVY_USERS + 2);
    assert_eq!(page["startIndex"], HEAVY_USERS);
    assert_eq!(page["itemsPerPage"], 2);
    let resources = page["Resources"].as_array().unwrap();
    assert_eq!(
        resources[0]["userName"],
        format!("heavy{}", HEAVY_USERS - 1)
    );
    assert!(
        resources[0]
            .get("urn:ietf:params:scim:schemas:extension:roster:2.0:User")
            .is_none()
    );
    assert_eq!(resources[1]["displayName"], "Alpha");
    assert!(resources[1].get("members").is_none());

    let groups_only = search_streamed(
        &tenant,
        "/.search",
        &json!({"filter": "displayName eq \"Beta\" and members.value pr"}),
    )
    .await;
    assert_eq!(groups_only["totalResults"], 1);
    assert_eq!(groups_only["Resources"][0]["displayName"], "Beta");
}

async fn bad_list_requests_fail_before_the_list_starts(server: TestServer) {
    let tenant = server.tenant().await;
    heavy_users(&tenant).await;
    for path in [
        "/Users?filter=userName%20eq",
        "/Groups?filter=displayName%20zz%20%22x%22",
        "/Users?sortBy=userName&sortOrder=sideways",
        "/Groups?count=ten",
    ] {
        let response = tenant.scim(Method::GET, path).send().await.unwrap();
        assert!(response.content_length().is_some(), "{path}: a whole error");
        let (status, body) = read(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_scim_error(status, &body, StatusCode::BAD_REQUEST, None);
    }
    let (status, body) = tenant.get("/Users?count=2&cursor=garbage").await;
    assert_scim_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("invalidCursor"),
    );
    let (status, body) = tenant
        .post("/.search", &json!({"filter": "nonsense eq"}))
        .await;
    assert_scim_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("invalidFilter"),
    );
    let (status, body) = tenant
        .post("/Groups/.search", &json!({"filter": "userName eq \"x\""}))
        .await;
    assert_scim_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("invalidFilter"),
    );
}
