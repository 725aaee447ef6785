//! SCIM Groups: CRUD, members as rows, nesting, User.groups, filters and scope.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::queries::urlencode;
use roster::domain::seed::{SeedPlan, seed};

use crate::support::{Tenant, TestServer, UserBuilder, assert_scim_error, read, scim_body};

on_both_backends!(
    create_group_with_user_members_shows_them,
    display_name_is_unique_case_insensitively,
    excluded_members_are_not_returned,
    unknown_or_foreign_members_are_refused_and_nothing_is_applied,
    nested_groups_show_in_user_groups_as_direct_and_indirect,
    user_groups_follow_membership_changes_and_deletions,
    cycles_of_nested_groups_are_refused,
    patch_adds_members_idempotently_and_removes_by_filter,
    patch_removes_members_named_in_value_and_replaces_the_list,
    patch_without_path_renames_and_ignores_the_id,
    put_replaces_members_and_keeps_the_roster_extension,
    groups_filter_by_display_name_and_member,
    users_filter_by_group_membership_including_nested,
    an_app_token_sees_and_changes_only_members_in_its_scope,
    deleting_a_group_leaves_its_members,
    a_big_group_streams_every_member_once_in_id_order,
    a_streamed_group_honours_member_sub_attribute_projection,
    a_streamed_group_answers_if_none_match_with_304,
    an_app_token_streams_only_the_members_in_its_scope,
);

/// Members in one streamed page; the big-group tests cross several pages.
const MEMBERS_PER_STREAMED_PAGE: usize = 1000;

/// A tenant with `users` seeded users and a group holding all of them; returns the
/// group's id and its member ids, sorted.
async fn big_group(server: &TestServer, tenant: &Tenant, users: u64) -> (String, Vec<String>) {
    seed(
        &server.store,
        SeedPlan {
            tenant: tenant.name.clone(),
            users,
            groups: 0,
            max_group_size: 0,
            seed: 11,
        },
    )
    .await
    .expect("seeded");
    let mut members = visible_user_ids(tenant, tenant.token()).await;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Everyone",
        "members": members.iter().map(|id| json!({"value": id})).collect::<Vec<_>>(),
    });
    let (status, created) = tenant
        .post("/Groups?excludedAttributes=members", &body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    members.sort();
    (created["id"].as_str().unwrap().to_owned(), members)
}

/// The ids of every user `token` may see, walked with cursors.
async fn visible_user_ids(tenant: &Tenant, token: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = read(
            tenant
                .client
                .get(format!(
                    "{}/scim/v2/Users?attributes=id&count=1000&cursor={cursor}",
                    tenant.base
                ))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        ids.extend(
            page["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_owned()),
        );
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return ids,
        }
    }
}

/// A new SCIM token of application `app_id`, issued by the management token.
async fn app_token(tenant: &Tenant, app_id: &Value) -> String {
    tenant.app_token(app_id.as_str().expect("app id")).await
}

fn member_values_in_order(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_owned())
        .collect()
}

fn group(name: &str, members: &[&Value]) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "members": members.iter().map(|m| json!({"value": m["id"]})).collect::<Vec<_>>(),
    })
}

async fn create_group(tenant: &Tenant, body: &Value) -> Value {
    let (status, created) = tenant.post("/Groups", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

async fn patch(tenant: &Tenant, path: &str, operations: Value) -> (StatusCode, Value) {
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations});
    read(
        scim_body(tenant.scim(Method::PATCH, path), &body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn ids(users: &[&Value]) -> Vec<String> {
    let mut ids: Vec<String> = users
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn create_group_with_user_members_shows_them(server: TestServer) {
    let tenant = server.tenant().await;
    let alice = tenant
        .create_user(
            &UserBuilder::new("alice")
                .with("displayName", json!("Alice A"))
                .build(),
        )
        .await;
    let bob = tenant.create_user(&UserBuilder::new("bob").build()).await;
    let created = create_group(&tenant, &group("Engineering", &[&alice, &bob])).await;
    assert_eq!(created["displayName"], "Engineering");
    assert_eq!(created["meta"]["resourceType"], "Group");
    assert_eq!(member_ids(&created), ids(&[&alice, &bob]));
    let alice_entry = created["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["value"] == alice["id"])
        .unwrap();
    assert_eq!(alice_entry["type"], "User");
    assert_eq!(alice_entry["display"], "Alice A");
    assert!(
        alice_entry["$ref"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/Users/{}", alice["id"].as_str().unwrap()))
    );
    let (status, fetched) = tenant
        .get(&format!("/Groups/{}", created["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, created);
}

async fn display_name_is_unique_case_insensitively(server: TestServer) {
    let tenant = server.tenant().await;
    create_group(&tenant, &group("Sales", &[])).await;
    let (status, body) = tenant.post("/Groups", &group("SALES", &[])).await;
    assert_scim_error(status, &body, StatusCode::CONFLICT, Some("uniqueness"));
    let (status, body) = tenant
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]}),
        )
        .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
}

async fn excluded_members_are_not_returned(server: TestServer) {
    let tenant = server.tenant().await;
    let user = tenant.create_user(&UserBuilder::new("m").build()).await;
    let created = create_group(&tenant, &group("Big", &[&user])).await;
    let path = format!(
        "/Groups/{}?excludedAttributes=members",
        created["id"].as_str().unwrap()
    );
    let (_, fetched) = tenant.get(&path).await;
    assert!(fetched.get("members").is_none());
    assert_eq!(fetched["displayName"], "Big");
    let (_, list) = tenant
        .get("/Groups?excludedAttributes=members&filter=displayName%20eq%20%22big%22")
        .await;
    assert_eq!(list["totalResults"], 1);
    assert!(list["Resources"][0].get("members").is_none());
}

async fn unknown_or_foreign_members_are_refused_and_nothing_is_applied(server: TestServer) {
    let (tenant, other) = (server.tenant().await, server.tenant().await);
    let mine = tenant.create_user(&UserBuilder::new("mine").build()).await;
    let foreign = other
        .create_user(&UserBuilder::new("foreign").build())
        .await;
    let (status, body) = tenant
        .post("/Groups", &group("Mixed", &[&mine, &foreign]))
        .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains(foreign["id"].as_str().unwrap())
    );
    let (_, list) = tenant.get("/Groups").await;
    assert_eq!(list["totalResults"], 0, "the group was not created");
    let created = create_group(&tenant, &group("Clean", &[&mine])).await;
    let path = format!("/Groups/{}", created["id"].as_str().unwrap());
    let (status, _) = patch(
        &tenant,
        &path,
        json!([{"op": "add", "path": "members", "value": [{"value": foreign["id"]}]}]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, fetched) = tenant.get(&path).await;
    assert_eq!(member_ids(&fetched), ids(&[&mine]));
}

async fn nested_groups_show_in_user_groups_as_direct_and_indirect(server: TestServer) {
    let tenant = server.tenant().await;
    let user = tenant
        .create_user(&UserBuilder::new("nested").build())
        .await;
    let inner = create_group(&tenant, &group("Inner", &[&user])).await;
    let outer = create_group(&tenant, &group("Outer", &[&inner])).await;
    assert_eq!(outer["members"][0]["type"], "Group");
    assert_eq!(outer["members"][0]["display"], "Inner");
    let (_, fetched) = tenant
        .get(&format!("/Users/{}", user["id"].as_str().unwrap()))
        .await;
    let groups = fetched["groups"].as_array().unwrap();
    let kind_of = |id: &Value| {
        groups
            .iter()
            .find(|g| g["value"] == *id)
            .map(|g| g["type"].clone())
    };
    assert_eq!(kind_of(&inner["id"]), Some(json!("direct")));
    assert_eq!(kind_of(&outer["id"]), Some(json!("indirect")));
    assert_eq!(groups.len(), 2);
}

async fn user_groups_follow_membership_changes_and_deletions(server: TestServer) {
    let tenant = server.tenant().await;
    let user = tenant.create_user(&UserBuilder::new("mover").build()).await;
    let user_path = format!("/Users/{}", user["id"].as_str().unwrap());
    let inner = create_group(&tenant, &group("In", &[&user])).await;
    let outer = create_group(&tenant, &group("Out", &[&inner])).await;
    let outer_path = format!("/Groups/{}", outer["id"].as_str().unwrap());
    let (status, _) = patch(&tenant, &outer_path, json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", inner["id"].as_str().unwrap())}])).await;
    assert_eq!(status, StatusCode::OK);
    let (_, fetched) = tenant.get(&user_path).await;
    assert_eq!(fetched["groups"].as_array().unwrap().len(), 1);
    assert_eq!(
        tenant
            .delete(&format!("/Groups/{}", inner["id"].as_str().unwrap()))
            .await,
        StatusCode::NO_CONTENT
    );
    let (_, fetched) = tenant.get(&user_path).await;
    assert!(fetched.get("groups").is_none(), "{fetched}");
    let team = create_group(&tenant, &group("Team", &[&user])).await;
    assert_eq!(tenant.delete(&user_path).await, StatusCode::NO_CONTENT);
    let (_, team) = tenant
        .get(&format!("/Groups/{}", team["id"].as_str().unwrap()))
        .await;
    assert!(
        member_ids(&team).is_empty(),
        "a deleted user leaves every group"
    );
}

async fn cycles_of_nested_groups_are_refused(server: TestServer) {
    let tenant = server.tenant().await;
    let a = create_group(&tenant, &group("A", &[])).await;
    let b = create_group(&tenant, &group("B", &[&a])).await;
    let c = create_group(&tenant, &group("C", &[&b])).await;
    let a_path = format!("/Groups/{}", a["id"].as_str().unwrap());
    for member in [&c, &b, &a] {
        let (status, body) = patch(&tenant, &a_path, json!([{"op": "add", "path": "members", "value": [{"value": member["id"], "type": "Group"}]}])).await;
        assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
    }
}

async fn patch_adds_members_idempotently_and_removes_by_filter(server: TestServer) {
    let tenant = server.tenant().await;
    let (u1, u2) = (
        tenant.create_user(&UserBuilder::new("u1").build()).await,
        tenant.create_user(&UserBuilder::new("u2").build()).await,
    );
    let created = create_group(&tenant, &group("P", &[&u1])).await;
    let path = format!("/Groups/{}", created["id"].as_str().unwrap());
    let (status, same) = patch(
        &tenant,
        &path,
        json!([{"op": "Add", "path": "members", "value": [{"value": u1["id"], "$ref": null}]}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(
        same["meta"]["version"], "W/\"1\"",
        "re-adding a member changes nothing"
    );
    let (_, added) = patch(
        &tenant,
        &path,
        json!([{"op": "add", "path": "members", "value": [{"value": u2["id"]}]}]),
    )
    .await;
    assert_eq!(member_ids(&added), ids(&[&u1, &u2]));
    assert_eq!(added["meta"]["version"], "W/\"2\"");
    let (_, removed) = patch(&tenant, &path, json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", u1["id"].as_str().unwrap())}])).await;
    assert_eq!(member_ids(&removed), ids(&[&u2]));
}

async fn patch_removes_members_named_in_value_and_replaces_the_list(server: TestServer) {
    let tenant = server.tenant().await;
    let users: Vec<Value> = futures_collect(&tenant, 3).await;
    let created = create_group(&tenant, &group("R", &[&users[0], &users[1]])).await;
    let path = format!("/Groups/{}", created["id"].as_str().unwrap());
    let (_, removed) = patch(
        &tenant,
        &path,
        json!([{"op": "Remove", "path": "members", "value": [{"value": users[0]["id"]}]}]),
    )
    .await;
    assert_eq!(member_ids(&removed), ids(&[&users[1]]));
    let (_, replaced) = patch(&tenant, &path, json!([{"op": "replace", "path": "members", "value": [{"value": users[2]["id"]}, {"value": users[0]["id"]}]}])).await;
    assert_eq!(member_ids(&replaced), ids(&[&users[0], &users[2]]));
    let (_, emptied) = patch(&tenant, &path, json!([{"op": "remove", "path": "members"}])).await;
    assert!(member_ids(&emptied).is_empty());
}

async fn futures_collect(tenant: &Tenant, count: usize) -> Vec<Value> {
    let mut users = Vec::new();
    for i in 0..count {
        users.push(
            tenant
                .create_user(&UserBuilder::new(&format!("member{i}")).build())
                .await,
        );
    }
    users
}

async fn patch_without_path_renames_and_ignores_the_id(server: TestServer) {
    let tenant = server.tenant().await;
    let user = tenant.create_user(&UserBuilder::new("okta").build()).await;
    let created = create_group(&tenant, &group("Old name", &[])).await;
    let path = format!("/Groups/{}", created["id"].as_str().unwrap());
    let (status, renamed) = patch(
        &tenant,
        &path,
        json!([
            {"op": "replace", "value": {"id": created["id"], "displayName": "New name"}},
            {"op": "add", "path": "members", "value": [{"value": user["id"], "display": "okta"}]}
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["displayName"], "New name");
    assert_eq!(member_ids(&renamed), ids(&[&user]));
}

async fn put_replaces_members_and_keeps_the_roster_extension(server: TestServer) {
    let tenant = server.tenant().await;
    let (a, b) = (
        tenant.create_user(&UserBuilder::new("pa").build()).await,
        tenant.create_user(&UserBuilder::new("pb").build()).await,
    );
    let mut body = group("Put", &[&a]);
    body["schemas"].as_array_mut().unwrap().push(json!(
        "urn:ietf:params:scim:schemas:extension:roster:2.0:Group"
    ));
    body["urn:ietf:params:scim:schemas:extension:roster:2.0:Group"] =
        json!({"description": "the team", "customData": {"k": 1}});
    let created = create_group(&tenant, &body).await;
    let path = format!("/Groups/{}", created["id"].as_str().unwrap());
    let (status, replaced) = tenant.put(&path, &group("Put", &[&b])).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(member_ids(&replaced), ids(&[&b]));
    let roster = &replaced["urn:ietf:params:scim:schemas:extension:roster:2.0:Group"];
    assert_eq!(roster["description"], "the team");
    assert_eq!(roster["customData"], json!({"k": 1}));
}

async fn groups_filter_by_display_name_and_member(server: TestServer) {
    let tenant = server.tenant().await;
    let user = tenant.create_user(&UserBuilder::new("fm").build()).await;
    create_group(&tenant, &group("Alpha", &[&user])).await;
    create_group(&tenant, &group("Beta", &[])).await;
    let (_, by_name) = tenant
        .get(&format!(
            "/Groups?filter={}",
            urlencode("displayName eq \"ALPHA\"")
        ))
        .await;
    assert_eq!(by_name["totalResults"], 1);
    let (_, by_member) = tenant
        .get(&format!(
            "/Groups?filter={}&attributes=displayName",
            urlencode(&format!(
                "members.value eq \"{}\"",
                user["id"].as_str().unwrap()
            ))
        ))
        .await;
    assert_eq!(by_member["totalResults"], 1);
    assert_eq!(by_member["Resources"][0]["displayName"], "Alpha");
    let (_, sorted) = tenant
        .get("/Groups?sortBy=displayName&sortOrder=descending")
        .await;
    assert_eq!(sorted["Resources"][0]["displayName"], "Beta");
    let (status, body) = tenant
        .get(&format!("/Groups?filter={}", urlencode("displayName eq")))
        .await;
    assert_scim_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("invalidFilter"),
    );
}

async fn users_filter_by_group_membership_including_nested(server: TestServer) {
    let tenant = server.tenant().await;
    let direct = tenant
        .create_user(&UserBuilder::new("direct").build())
        .await;
    let deep = tenant.create_user(&UserBuilder::new("deep").build()).await;
    tenant
        .create_user(&UserBuilder::new("outside").build())
        .await;
    let inner = create_group(&tenant, &group("Inner2", &[&deep])).await;
    let mut outer_body = group("Outer2", &[&direct]);
    outer_body["members"]
        .as_array_mut()
        .unwrap()
        .push(json!({"value": inner["id"], "type": "Group"}));
    let outer = create_group(&tenant, &outer_body).await;
    let (_, list) = tenant
        .get(&format!(
            "/Users?filter={}",
            urlencode(&format!(
                "groups.value eq \"{}\"",
                outer["id"].as_str().unwrap()
            ))
        ))
        .await;
    let mut names: Vec<&str> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["deep", "direct"]);

    let (status, list) = tenant
        .get(&format!(
            "/Users?filter={}",
            urlencode(&format!(
                "groups.value eq \"{}\" or groups.value eq \"no-such-group\"",
                inner["id"].as_str().unwrap()
            ))
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let names: Vec<&str> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["deep"]);
}

async fn an_app_token_sees_and_changes_only_members_in_its_scope(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, app) = read(
        tenant
            .client
            .post(format!("{}/v1/apps", tenant.base))
            .bearer_auth(tenant.token())
            .body(json!({"name": "Scoped"}).to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = app_token(&tenant, &app["id"]).await;
    let hidden = tenant
        .create_user(&UserBuilder::new("hidden").build())
        .await;
    let (_, visible) = read(
        scim_body(
            tenant
                .client
                .post(format!("{}/scim/v2/Users", tenant.base))
                .bearer_auth(&token),
            &UserBuilder::new("visible").build(),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let created = create_group(&tenant, &group("Scope", &[&hidden, &visible])).await;
    let path = format!(
        "{}/scim/v2/Groups/{}",
        tenant.base,
        created["id"].as_str().unwrap()
    );
    let (_, seen) = read(
        tenant
            .client
            .get(&path)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(member_ids(&seen), ids(&[&visible]));
    let (status, replaced) = read(
        scim_body(
            tenant.client.put(&path).bearer_auth(&token),
            &group("Scope", &[]),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    let (_, all) = tenant
        .get(&format!("/Groups/{}", created["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        member_ids(&all),
        ids(&[&hidden]),
        "members it could not see stay"
    );
}

async fn deleting_a_group_leaves_its_members(server: TestServer) {
    let tenant = server.tenant().await;
    let user = tenant.create_user(&UserBuilder::new("stays").build()).await;
    let created = create_group(&tenant, &group("Temp", &[&user])).await;
    let path = format!("/Groups/{}", created["id"].as_str().unwrap());
    assert_eq!(tenant.delete(&path).await, StatusCode::NO_CONTENT);
    assert_eq!(tenant.get(&path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        tenant
            .get(&format!("/Users/{}", user["id"].as_str().unwrap()))
            .await
            .0,
        StatusCode::OK
    );
}

async fn a_big_group_streams_every_member_once_in_id_order(server: TestServer) {
    let tenant = server.tenant().await;
    let users = (2 * MEMBERS_PER_STREAMED_PAGE + 17) as u64;
    let (id, members) = big_group(&server, &tenant, users).await;
    let response = tenant
        .scim(Method::GET, &format!("/Groups/{id}"))
        .send()
        .await
        .unwrap();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let (status, group) = read(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(member_values_in_order(&group), members);
    assert_eq!(group["displayName"], "Everyone");
    assert_eq!(group["meta"]["version"], etag.as_str());
    let first = &group["members"][0];
    assert_eq!(first["type"], "User");
    assert!(first["display"].is_string(), "{first}");
    assert!(
        first["$ref"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/scim/v2/Users/{}", members[0]))
    );
}

async fn a_streamed_group_honours_member_sub_attribute_projection(server: TestServer) {
    let tenant = server.tenant().await;
    let (id, members) = big_group(&server, &tenant, 1_200).await;
    let (status, group) = tenant
        .get(&format!("/Groups/{id}?attributes=members.value"))
        .await;
    assert_eq!(status, StatusCode::OK, "{group}");
    assert_eq!(member_values_in_order(&group), members);
    assert!(
        group.get("displayName").is_none(),
        "{}",
        group["displayName"]
    );
    assert!(
        group["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m.as_object().unwrap().len() == 1)
    );
    let (_, without_display) = tenant
        .get(&format!("/Groups/{id}?excludedAttributes=members.display"))
        .await;
    assert_eq!(member_values_in_order(&without_display), members);
    assert!(without_display["members"][0].get("display").is_none());
    assert_eq!(without_display["displayName"], "Everyone");
}

async fn a_streamed_group_answers_if_none_match_with_304(server: TestServer) {
    let tenant = server.tenant().await;
    let member = tenant.create_user(&UserBuilder::new("solo").build()).await;
    let created = create_group(&tenant, &group("Solo", &[&member])).await;
    let path = format!("/Groups/{}", created["id"].as_str().unwrap());
    let version = created["meta"]["version"].as_str().unwrap();
    let response = tenant
        .scim(Method::GET, &path)
        .header("If-None-Match", version)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    patch(&tenant, &path, json!([{"op": "remove", "path": "members"}])).await;
    let (status, changed) = read(
        tenant
            .scim(Method::GET, &path)
            .header("If-None-Match", version)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(changed["members"], json!([]));
}

async fn an_app_token_streams_only_the_members_in_its_scope(server: TestServer) {
    let tenant = server.tenant().await;
    let (id, _) = big_group(&server, &tenant, 1_100).await;
    // The seeder assigns about half of its users to the application it creates.
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
    let token = app_token(&tenant, &seeded_app["id"]).await;
    let mut in_scope = visible_user_ids(&tenant, &token).await;
    in_scope.sort();
    assert!(
        in_scope.len() > 100 && in_scope.len() < 1_000,
        "{}",
        in_scope.len()
    );
    let (status, seen) = read(
        tenant
            .client
            .get(format!("{}/scim/v2/Groups/{id}", tenant.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(member_values_in_order(&seen), in_scope);
}
