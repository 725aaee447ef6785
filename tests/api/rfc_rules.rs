//! RFC 7644 rules for PATCH (§3.5.2) and the `schemas` filter (§3.4.2.2), built
//! from the RFC's own examples.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::queries::urlencode;
use crate::support::{Tenant, TestServer, UserBuilder, assert_scim_error, read, scim_body};

const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ROSTER_USER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";
const ROSTER_GROUP: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:Group";

on_both_backends!(
    patch_setting_a_primary_clears_the_other_primaries,
    two_primaries_in_one_body_are_refused,
    removing_a_required_attribute_is_a_mutability_error,
    a_patch_value_may_repeat_the_own_id_but_not_change_it,
    users_filter_by_the_schemas_they_carry,
    groups_filter_by_the_schemas_they_carry,
);

async fn patch(tenant: &Tenant, path: &str, operations: Value) -> (StatusCode, Value) {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations
    });
    read(
        scim_body(tenant.scim(Method::PATCH, path), &body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The `value`s of the emails marked primary, and how many emails there are.
fn primary_emails(user: &Value) -> (Vec<&str>, usize) {
    let emails = user["emails"].as_array().expect("emails");
    let primaries = emails
        .iter()
        .filter(|e| e["primary"] == true)
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    (primaries, emails.len())
}

/// The ids a filter selects on `endpoint`, sorted.
async fn selected(tenant: &Tenant, endpoint: &str, filter: &str) -> Vec<String> {
    let (status, list) = tenant
        .get(&format!(
            "{endpoint}?count=100&attributes=id&filter={}",
            urlencode(filter)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{filter}: {list}");
    let mut ids: Vec<String> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(list["totalResults"], ids.len(), "{filter}");
    ids.sort();
    ids
}

fn ids(resources: &[&Value]) -> Vec<String> {
    let mut ids: Vec<String> = resources
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn patch_setting_a_primary_clears_the_other_primaries(server: TestServer) {
    let tenant = server.tenant().await;
    let created = tenant
        .create_user(
            &UserBuilder::new("bjensen")
                .with(
                    "emails",
                    json!([
                        {"value": "bjensen@example.com", "type": "work", "primary": true},
                        {"value": "babs@jensen.org", "type": "home"}
                    ]),
                )
                .build(),
        )
        .await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let primary_is = |value: &str| format!("emails[primary eq true and value eq \"{value}\"]");

    let (status, user) = patch(
        &tenant,
        &path,
        json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(primary_emails(&user), (vec!["babs@jensen.org"], 2));
    assert_eq!(user["emails"][0]["primary"], false);
    // The stored look-up rows follow.
    let home = selected(&tenant, "/Users", &primary_is("babs@jensen.org")).await;
    assert_eq!(home, ids(&[&created]));
    let work = selected(&tenant, "/Users", &primary_is("bjensen@example.com")).await;
    assert!(work.is_empty());

    let (status, user) = patch(
        &tenant,
        &path,
        json!([{"op": "add", "path": "emails[type eq \"work\"].primary", "value": true}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(primary_emails(&user), (vec!["bjensen@example.com"], 2));

    let (status, user) = patch(
        &tenant,
        &path,
        json!([{"op": "add", "path": "emails", "value": [
            {"value": "barbara@example.org", "type": "other", "primary": true}
        ]}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(primary_emails(&user), (vec!["barbara@example.org"], 3));

    // Without a path (Entra ID, Okta), marking an existing value primary.
    let (status, user) = patch(
        &tenant,
        &path,
        json!([{"op": "add", "value": {"emails": [
            {"value": "babs@jensen.org", "type": "home", "primary": true}
        ]}}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(primary_emails(&user), (vec!["babs@jensen.org"], 3));
    let (_, fetched) = tenant.get(&path).await;
    assert_eq!(primary_emails(&fetched), (vec!["babs@jensen.org"], 3));
    let home = selected(&tenant, "/Users", &primary_is("babs@jensen.org")).await;
    assert_eq!(home, ids(&[&created]));
}

async fn two_primaries_in_one_body_are_refused(server: TestServer) {
    let tenant = server.tenant().await;
    let two = json!([
        {"value": "a@example.com", "primary": true},
        {"value": "b@example.com", "primary": true}
    ]);
    // RFC 7643 §2.4: at most one value of a body is primary.
    let (status, body) = tenant
        .post(
            "/Users",
            &UserBuilder::new("two").with("emails", two.clone()).build(),
        )
        .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let created = tenant.create_user(&UserBuilder::new("one").build()).await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    for operation in [
        json!({"op": "add", "path": "emails", "value": two}),
        json!({"op": "replace", "value": {"emails": two}}),
    ] {
        let (status, body) = patch(&tenant, &path, json!([operation])).await;
        assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
    }
}

async fn removing_a_required_attribute_is_a_mutability_error(server: TestServer) {
    let tenant = server.tenant().await;
    let created = tenant
        .create_user(&UserBuilder::new("required").build())
        .await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    for target in ["userName", &format!("{CORE_USER}:userName")] {
        let (status, body) = patch(&tenant, &path, json!([{"op": "remove", "path": target}])).await;
        assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("mutability"));
    }
    let (_, fetched) = tenant.get(&path).await;
    assert_eq!(fetched["userName"], "required");

    let (status, group) = tenant
        .post(
            "/Groups",
            &json!({"schemas": [CORE_GROUP], "displayName": "Tour Guides"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());
    let (status, body) = patch(
        &tenant,
        &path,
        json!([{"op": "remove", "path": "displayName"}]),
    )
    .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("mutability"));
    let (_, fetched) = tenant.get(&path).await;
    assert_eq!(fetched["displayName"], "Tour Guides");
}

async fn a_patch_value_may_repeat_the_own_id_but_not_change_it(server: TestServer) {
    let tenant = server.tenant().await;
    let created = tenant.create_user(&UserBuilder::new("okta").build()).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/Users/{id}");
    let (status, user) = patch(
        &tenant,
        &path,
        json!([{"op": "replace", "value": {"id": id, "title": "Tour Guide"}}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["title"], "Tour Guide");
    let other = uuid::Uuid::new_v4().to_string();
    for operation in [
        json!({"op": "replace", "value": {"id": other, "title": "CTO"}}),
        json!({"op": "add", "value": {"id": other}}),
        json!({"op": "replace", "path": "id", "value": other}),
        json!({"op": "replace", "path": "id", "value": id}),
    ] {
        let (status, body) = patch(&tenant, &path, json!([operation])).await;
        assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("mutability"));
    }
    let (_, fetched) = tenant.get(&path).await;
    assert_eq!(fetched["id"], id);
    assert_eq!(fetched["title"], "Tour Guide");

    let (status, group) = tenant
        .post(
            "/Groups",
            &json!({"schemas": [CORE_GROUP], "displayName": "Okta"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let group_id = group["id"].as_str().unwrap();
    let path = format!("/Groups/{group_id}");
    let (status, body) = patch(
        &tenant,
        &path,
        json!([{"op": "replace", "value": {"id": other, "displayName": "Renamed"}}]),
    )
    .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("mutability"));
    let (status, renamed) = patch(
        &tenant,
        &path,
        json!([{"op": "replace", "value": {"id": group_id, "displayName": "Renamed"}}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["id"], group_id);
    assert_eq!(renamed["displayName"], "Renamed");
}

async fn users_filter_by_the_schemas_they_carry(server: TestServer) {
    let tenant = server.tenant().await;
    let plain = tenant.create_user(&UserBuilder::new("plain").build()).await;
    let employee = tenant
        .create_user(
            &UserBuilder::new("employee")
                .enterprise(json!({"employeeNumber": "701984"}))
                .build(),
        )
        .await;
    let both = ids(&[&plain, &employee]);
    let only_employee = ids(&[&employee]);
    let cases: Vec<(String, &Vec<String>)> = vec![
        (format!("schemas eq \"{CORE_USER}\""), &both),
        (format!("schemas eq \"{ROSTER_USER}\""), &both),
        // RFC 7644 §3.4.2.2's own example.
        (format!("schemas eq \"{ENTERPRISE}\""), &only_employee),
        (
            format!("SCHEMAS EQ \"{}\"", ENTERPRISE.to_uppercase()),
            &only_employee,
        ),
        ("schemas co \"enterprise\"".into(), &only_employee),
        ("schemas pr".into(), &both),
        (
            format!("schemas eq \"{ENTERPRISE}\" and userName sw \"emp\""),
            &only_employee,
        ),
        (
            format!("schemas eq \"{ENTERPRISE}\" or userName eq \"plain\""),
            &both,
        ),
    ];
    for (filter, expected) in &cases {
        assert_eq!(
            &selected(&tenant, "/Users", filter).await,
            *expected,
            "{filter}"
        );
    }
    let none: Vec<String> = Vec::new();
    for filter in [
        format!("not (schemas eq \"{CORE_USER}\")"),
        format!("schemas eq \"{CORE_GROUP}\""),
        "schemas eq \"urn:example:unknown\"".to_owned(),
    ] {
        assert_eq!(selected(&tenant, "/Users", &filter).await, none, "{filter}");
    }
    let not_enterprise = format!("not (schemas eq \"{ENTERPRISE}\")");
    assert_eq!(
        selected(&tenant, "/Users", &not_enterprise).await,
        ids(&[&plain])
    );

    // `.search` takes the same filter, and the answer follows the document.
    let search = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": format!("schemas eq \"{ENTERPRISE}\""),
    });
    let (status, list) = tenant.post("/Users/.search", &search).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["totalResults"], 1);
    let path = format!("/Users/{}", employee["id"].as_str().unwrap());
    let (status, body) = patch(
        &tenant,
        &path,
        json!([{"op": "remove", "path": ENTERPRISE}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let enterprise = format!("schemas eq \"{ENTERPRISE}\"");
    assert_eq!(selected(&tenant, "/Users", &enterprise).await, none);

    // `schemas` holds strings: a number is no literal for it.
    let (status, body) = tenant.get("/Users?filter=schemas%20eq%201").await;
    assert_scim_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("invalidFilter"),
    );
}

async fn groups_filter_by_the_schemas_they_carry(server: TestServer) {
    let tenant = server.tenant().await;
    let mut created = Vec::new();
    for (name, roster) in [
        ("Plain", None),
        ("Described", Some(json!({"description": "the team"}))),
        ("Custom", Some(json!({"customData": {"plan": "gold"}}))),
    ] {
        let mut body = json!({"schemas": [CORE_GROUP], "displayName": name});
        if let Some(roster) = roster {
            body[ROSTER_GROUP] = roster;
        }
        let (status, group) = tenant.post("/Groups", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{group}");
        created.push(group);
    }
    let [plain, described, custom] = [&created[0], &created[1], &created[2]];
    let roster = format!("schemas eq \"{ROSTER_GROUP}\"");
    assert_eq!(
        selected(&tenant, "/Groups", &roster).await,
        ids(&[described, custom])
    );
    assert_eq!(
        selected(&tenant, "/Groups", &format!("not ({roster})")).await,
        ids(&[plain])
    );
    let core = format!("schemas eq \"{}\"", CORE_GROUP.to_lowercase());
    assert_eq!(
        selected(&tenant, "/Groups", &core).await,
        ids(&[plain, described, custom])
    );
    let user_schema = format!("schemas eq \"{CORE_USER}\"");
    assert!(selected(&tenant, "/Groups", &user_schema).await.is_empty());
    // Each rendered group lists what the filter reads.
    let (_, fetched) = tenant
        .get(&format!("/Groups/{}", custom["id"].as_str().unwrap()))
        .await;
    assert_eq!(fetched["schemas"], json!([CORE_GROUP, ROSTER_GROUP]));
}
