//! `POST /scim/v2/Bulk` (RFC 7644 §3.7): bulkId references both ways, cycles,
//! failOnErrors, limits, scope per operation, and a server killed in the middle.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{
    Tenant, TestServer, UserBuilder, assert_scim_error, read, scim_body, serve_binary as serve,
};

on_both_backends!(
    backward_references_fill_in_members_and_managers,
    a_group_created_before_its_users_gets_them_as_members,
    later_operations_reach_a_new_resource_through_its_bulk_id,
    circular_references_are_409_for_each_operation_and_the_rest_runs,
    references_to_failed_or_unknown_bulk_ids_fail_alone,
    without_fail_on_errors_every_operation_runs_and_reports,
    fail_on_errors_stops_after_that_many_errors,
    too_many_operations_is_413_naming_the_limit,
    a_body_over_max_payload_size_is_413_naming_the_limit,
    service_provider_config_advertises_the_limits,
    an_application_token_is_held_to_its_scope_in_each_operation,
    another_tenants_ids_read_like_unknown_ones,
    each_operation_is_audited_like_a_single_request,
    malformed_requests_and_operations_are_refused_clearly,
    a_server_killed_during_bulk_requests_keeps_whole_operations_in_order,
    a_patch_setting_a_password_is_refused_alone,
);

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async fn bulk_as(tenant: &Tenant, token: &str, body: &Value) -> (StatusCode, Value) {
    let request = tenant
        .client
        .post(format!("{}/scim/v2/Bulk", tenant.base))
        .bearer_auth(token);
    read(scim_body(request, body).send().await.expect("request")).await
}

/// Sends `operations` as the tenant's Management Application; asserts a 200
/// BulkResponse and returns its operations.
async fn bulk(tenant: &Tenant, operations: Value) -> Vec<Value> {
    bulk_with(
        tenant,
        tenant.token(),
        json!({"schemas": [BULK_REQUEST], "Operations": operations}),
    )
    .await
}

async fn bulk_with(tenant: &Tenant, token: &str, body: Value) -> Vec<Value> {
    let (status, response) = bulk_as(tenant, token, &body).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["schemas"], json!([BULK_RESPONSE]), "{response}");
    response["Operations"]
        .as_array()
        .expect("Operations")
        .clone()
}

fn post_user(bulk_id: &str, user_name: &str) -> Value {
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id,
           "data": UserBuilder::new(user_name).build()})
}

/// `count` POSTs of users named `prefix0`, `prefix1`, …
fn user_creations(prefix: &str, count: usize) -> Vec<Value> {
    (0..count)
        .map(|n| post_user(&n.to_string(), &format!("{prefix}{n}")))
        .collect()
}

fn post_user_managed_by(bulk_id: &str, user_name: &str, manager: &str) -> Value {
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id,
           "data": UserBuilder::new(user_name)
               .enterprise(json!({"manager": {"value": manager}}))
               .build()})
}

fn post_group(bulk_id: &str, name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"method": "POST", "path": "/Groups", "bulkId": bulk_id,
           "data": {"schemas": [GROUP], "displayName": name, "members": members}})
}

fn statuses(operations: &[Value]) -> Vec<String> {
    operations
        .iter()
        .map(|op| op["status"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// The id at the end of an operation's `location`.
fn id_of(operation: &Value) -> String {
    let location = operation["location"]
        .as_str()
        .unwrap_or_else(|| panic!("no location: {operation}"));
    location.rsplit('/').next().unwrap().to_owned()
}

fn member_ids(group: &Value) -> BTreeSet<String> {
    group["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn backward_references_fill_in_members_and_managers(server: TestServer) {
    let tenant = server.tenant().await;
    let ops = bulk(
        &tenant,
        json!([
            post_user("alice", "alice"),
            post_user_managed_by("bob", "bob", "bulkId:alice"),
            post_group("guides", "Tour Guides", &["bulkId:alice", "bulkId:bob"]),
        ]),
    )
    .await;
    assert_eq!(statuses(&ops), ["201", "201", "201"], "{ops:?}");
    for (op, bulk_id) in ops.iter().zip(["alice", "bob", "guides"]) {
        assert_eq!(op["method"], "POST");
        assert_eq!(op["bulkId"], bulk_id);
        assert!(op["version"].as_str().unwrap().starts_with("W/\""), "{op}");
    }
    let (alice, bob, guides) = (id_of(&ops[0]), id_of(&ops[1]), id_of(&ops[2]));
    assert!(
        ops[0]["location"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/scim/v2/Users/{alice}"))
    );
    assert!(
        ops[2]["location"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/scim/v2/Groups/{guides}"))
    );
    let (status, user) = tenant.get(&format!("/Users/{bob}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        user[ENTERPRISE]["manager"]["value"],
        alice.as_str(),
        "{user}"
    );
    let (_, group) = tenant.get(&format!("/Groups/{guides}")).await;
    assert_eq!(member_ids(&group), BTreeSet::from([alice, bob]));
}

async fn a_group_created_before_its_users_gets_them_as_members(server: TestServer) {
    let tenant = server.tenant().await;
    let ops = bulk(
        &tenant,
        json!([
            post_group("team", "Team", &["bulkId:carol", "bulkId:dave"]),
            post_user_managed_by("carol", "carol", "bulkId:dave"),
            post_user("dave", "dave"),
        ]),
    )
    .await;
    // The response keeps the request's order, whatever order the operations ran in.
    assert_eq!(statuses(&ops), ["201", "201", "201"], "{ops:?}");
    assert_eq!(
        ops.iter()
            .map(|op| op["bulkId"].clone())
            .collect::<Vec<_>>(),
        ["team", "carol", "dave"]
    );
    let (team, carol, dave) = (id_of(&ops[0]), id_of(&ops[1]), id_of(&ops[2]));
    let (_, group) = tenant.get(&format!("/Groups/{team}")).await;
    assert_eq!(
        member_ids(&group),
        BTreeSet::from([carol.clone(), dave.clone()])
    );
    let (_, user) = tenant.get(&format!("/Users/{carol}")).await;
    assert_eq!(user[ENTERPRISE]["manager"]["value"], dave.as_str());
}

async fn later_operations_reach_a_new_resource_through_its_bulk_id(server: TestServer) {
    let tenant = server.tenant().await;
    let ops = bulk(
        &tenant,
        json!([
            {"method": "PATCH", "path": "/Users/bulkId:erin",
             "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]}},
            post_user("erin", "erin"),
            post_user("frank", "frank"),
            {"method": "PUT", "path": "/Users/bulkId:frank",
             "data": UserBuilder::new("frank").with("displayName", json!("Frank F")).build()},
            {"method": "DELETE", "path": "/Users/bulkId:frank"},
        ]),
    )
    .await;
    assert_eq!(
        statuses(&ops),
        ["200", "201", "201", "200", "204"],
        "{ops:?}"
    );
    let erin = id_of(&ops[1]);
    assert_eq!(
        id_of(&ops[0]),
        erin,
        "the PATCH's location names the new user"
    );
    assert_eq!(ops[0]["version"], "W/\"2\"");
    let (_, user) = tenant.get(&format!("/Users/{erin}")).await;
    assert_eq!(user["title"], "Boss");
    let frank = id_of(&ops[2]);
    assert_eq!(id_of(&ops[4]), frank);
    assert_eq!(
        tenant.get(&format!("/Users/{frank}")).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn circular_references_are_409_for_each_operation_and_the_rest_runs(server: TestServer) {
    let tenant = server.tenant().await;
    let ops = bulk(
        &tenant,
        json!([
            post_user_managed_by("a", "cyc-a", "bulkId:b"),
            post_user_managed_by("b", "cyc-b", "bulkId:a"),
            post_user("c", "cyc-c"),
            post_user_managed_by("d", "cyc-d", "bulkId:d"),
        ]),
    )
    .await;
    assert_eq!(statuses(&ops), ["409", "409", "201", "409"], "{ops:?}");
    for op in [&ops[0], &ops[1], &ops[3]] {
        assert!(
            op.get("location").is_none(),
            "a failed POST has no location: {op}"
        );
        assert_eq!(op["response"]["status"], "409");
        assert!(
            op["response"]["detail"]
                .as_str()
                .unwrap()
                .contains("lead back"),
            "{op}"
        );
    }
    let (_, list) = tenant.get("/Users?filter=userName%20sw%20%22cyc-%22").await;
    assert_eq!(list["totalResults"], 1, "{list}");
}

async fn references_to_failed_or_unknown_bulk_ids_fail_alone(server: TestServer) {
    let tenant = server.tenant().await;
    tenant.create_user(&UserBuilder::new("taken").build()).await;
    let ops = bulk(
        &tenant,
        json!([
            post_user("dup", "taken"),
            post_group("g1", "G1", &["bulkId:dup"]),
            post_group("g2", "G2", &["bulkId:nowhere"]),
            post_group("g3", "G3", &[]),
        ]),
    )
    .await;
    assert_eq!(statuses(&ops), ["409", "400", "400", "201"], "{ops:?}");
    assert_eq!(ops[0]["response"]["scimType"], "uniqueness");
    assert!(
        ops[1]["response"]["detail"]
            .as_str()
            .unwrap()
            .contains("bulkId:dup")
    );
    assert!(
        ops[2]["response"]["detail"]
            .as_str()
            .unwrap()
            .contains("bulkId:nowhere")
    );
}

async fn without_fail_on_errors_every_operation_runs_and_reports(server: TestServer) {
    let tenant = server.tenant().await;
    let existing = tenant.create_user(&UserBuilder::new("old").build()).await;
    let id = existing["id"].as_str().unwrap();
    let ops = bulk(
        &tenant,
        json!([
            post_user("x", "new-1"),
            {"method": "PUT", "path": format!("/Users/{id}"), "version": "W/\"7\"",
             "data": UserBuilder::new("old").build()},
            {"method": "DELETE", "path": "/Users/00000000-0000-7000-8000-000000000000"},
            {"method": "POST", "path": "/Users", "bulkId": "bad", "data": {"schemas": []}},
            post_user("y", "new-2"),
        ]),
    )
    .await;
    assert_eq!(
        statuses(&ops),
        ["201", "412", "404", "400", "201"],
        "{ops:?}"
    );
    assert!(
        ops[1]["location"].as_str().unwrap().ends_with(id),
        "{}",
        ops[1]
    );
    assert_eq!(
        ops[1]["response"]["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert_eq!(ops[3]["response"]["scimType"], "invalidValue", "{}", ops[3]);
}

/// Hashing a password is slow on purpose, and a PATCH's password is known only inside
/// the write: a PATCH in /Bulk that sets one is refused, and the others run.
async fn a_patch_setting_a_password_is_refused_alone(server: TestServer) {
    let tenant = server.tenant().await;
    let existing = tenant.create_user(&UserBuilder::new("pw").build()).await;
    let id = existing["id"].as_str().unwrap();
    let ops = bulk(
        &tenant,
        json!([
            {"method": "PATCH", "path": format!("/Users/{id}"), "data": {"schemas": [PATCH_OP],
             "Operations": [{"op": "replace", "path": "password", "value": "s3cret-Passw0rd"}]}},
            {"method": "PATCH", "path": format!("/Users/{id}"), "data": {"schemas": [PATCH_OP],
             "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]}},
        ]),
    )
    .await;
    assert_eq!(statuses(&ops), ["400", "200"], "{ops:?}");
    assert!(
        ops[0]["response"]["detail"]
            .as_str()
            .unwrap()
            .contains("password"),
        "{}",
        ops[0]
    );
    let (_, user) = tenant.get(&format!("/Users/{id}")).await;
    assert_eq!(user["title"], "Boss");
}

async fn fail_on_errors_stops_after_that_many_errors(server: TestServer) {
    let tenant = server.tenant().await;
    tenant
        .create_user(&UserBuilder::new("stop-taken").build())
        .await;
    let operations = json!([
        post_user("1", "stop-1"),
        post_user("2", "stop-taken"),
        post_user("3", "stop-3"),
        post_user("4", "stop-taken"),
        post_user("5", "stop-5"),
    ]);
    let ops = bulk_with(
        &tenant,
        tenant.token(),
        json!({"schemas": [BULK_REQUEST], "failOnErrors": 2, "Operations": operations}),
    )
    .await;
    assert_eq!(statuses(&ops), ["201", "409", "201", "409"], "{ops:?}");
    assert_eq!(
        tenant
            .get("/Users?filter=userName%20eq%20%22stop-5%22")
            .await
            .1["totalResults"],
        0
    );
    assert_eq!(
        tenant
            .get("/Users?filter=userName%20eq%20%22stop-3%22")
            .await
            .1["totalResults"],
        1
    );
    let (status, body) = bulk_as(
        &tenant,
        tenant.token(),
        &json!({"schemas": [BULK_REQUEST], "failOnErrors": 0, "Operations": []}),
    )
    .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
}

/// Sends `operations` and asserts a 413 naming `limit`, and that nothing was applied.
async fn refused_whole(tenant: &Tenant, operations: Vec<Value>, limit: &str) {
    let (status, body) = bulk_as(
        tenant,
        tenant.token(),
        &json!({"schemas": [BULK_REQUEST], "Operations": operations}),
    )
    .await;
    assert_scim_error(status, &body, StatusCode::PAYLOAD_TOO_LARGE, None);
    assert!(body["detail"].as_str().unwrap().contains(limit), "{body}");
    assert_eq!(
        tenant.get("/Users").await.1["totalResults"],
        0,
        "nothing applied"
    );
}

async fn too_many_operations_is_413_naming_the_limit(server: TestServer) {
    let tenant = server.tenant().await;
    refused_whole(
        &tenant,
        user_creations("many-", 1001),
        "maxOperations (1000)",
    )
    .await;
    // 1,000 creations fit.
    let operations = user_creations("many-", 1000);
    let ops = bulk(&tenant, json!(operations)).await;
    assert!(ops.iter().all(|op| op["status"] == "201"));
    assert_eq!(tenant.get("/Users?count=0").await.1["totalResults"], 1000);
}

async fn a_body_over_max_payload_size_is_413_naming_the_limit(server: TestServer) {
    let backend = server.backend;
    drop(server);
    let server = TestServer::start_with(backend, |settings| {
        settings.bulk_limits.max_payload_bytes = 2000;
        settings.max_body_bytes = 1000;
    })
    .await;
    let tenant = server.tenant().await;
    refused_whole(
        &tenant,
        user_creations("big-", 20),
        "maxPayloadSize (2000 bytes)",
    )
    .await;
    // Under maxPayloadSize but over the ordinary body limit: Bulk has its own limit.
    let operations = user_creations("b", 8);
    let body = json!({"schemas": [BULK_REQUEST], "Operations": operations});
    assert!(body.to_string().len() > 1000 && body.to_string().len() < 2000);
    let ops = bulk_with(&tenant, tenant.token(), body).await;
    assert_eq!(ops.len(), 8);
}

async fn service_provider_config_advertises_the_limits(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, config) = tenant.get("/ServiceProviderConfig").await;
    assert_eq!(
        config["bulk"],
        json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 4194304})
    );
}

async fn an_application_token_is_held_to_its_scope_in_each_operation(server: TestServer) {
    let tenant = server.tenant().await;
    let (app, token) = tenant.create_app("hr", false).await;
    let app_id = app["id"].as_str().unwrap();
    let hidden = tenant
        .create_user(&UserBuilder::new("hidden").build())
        .await;
    let hidden = hidden["id"].as_str().unwrap();
    let (_, managed_group) = tenant
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "admins"}),
        )
        .await;
    let managed_group = managed_group["id"].as_str().unwrap();
    let ops = bulk_with(
        &tenant,
        &token,
        json!({"schemas": [BULK_REQUEST], "Operations": [
            post_user("mine", "mine"),
            {"method": "PATCH", "path": format!("/Users/{hidden}"),
             "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]}},
            {"method": "DELETE", "path": format!("/Users/{hidden}")},
            post_user_managed_by("sub", "sub", hidden),
            post_group("own", "own", &["bulkId:mine", hidden]),
            post_group("own2", "own2", &["bulkId:mine"]),
            {"method": "DELETE", "path": format!("/Groups/{managed_group}")},
        ]}),
    )
    .await;
    assert_eq!(
        statuses(&ops),
        ["201", "404", "404", "400", "400", "201", "403"],
        "{ops:?}"
    );
    let mine = id_of(&ops[0]);
    let (_, user) = tenant.get(&format!("/Users/{mine}")).await;
    let apps: Vec<&str> = user["urn:ietf:params:scim:schemas:extension:roster:2.0:User"]["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["value"].as_str().unwrap())
        .collect();
    assert_eq!(apps, [app_id], "a user an app creates is assigned to it");
    let (_, untouched) = tenant.get(&format!("/Users/{hidden}")).await;
    assert!(untouched.get("title").is_none(), "{untouched}");
    assert_eq!(
        tenant.get(&format!("/Groups/{managed_group}")).await.0,
        StatusCode::OK
    );
}

async fn another_tenants_ids_read_like_unknown_ones(server: TestServer) {
    let home = server.tenant().await;
    let foreign = server.tenant().await;
    let theirs = foreign
        .create_user(&UserBuilder::new("theirs").build())
        .await;
    let theirs = theirs["id"].as_str().unwrap();
    let (_, their_group) = foreign
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "their"}),
        )
        .await;
    let their_group = their_group["id"].as_str().unwrap();
    let before = (
        foreign.get(&format!("/Users/{theirs}")).await,
        foreign.get(&format!("/Groups/{their_group}")).await,
    );
    let ops = bulk(
        &home,
        json!([
            {"method": "PUT", "path": format!("/Users/{theirs}"), "data": UserBuilder::new("mine-now").build()},
            {"method": "PATCH", "path": format!("/Groups/{their_group}"),
             "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "x"}]}},
            {"method": "DELETE", "path": format!("/Users/{theirs}")},
            post_group("g", "g", &[theirs]),
            post_user_managed_by("u", "u", theirs),
        ]),
    )
    .await;
    assert_eq!(
        statuses(&ops),
        ["404", "404", "404", "400", "400"],
        "{ops:?}"
    );
    let after = (
        foreign.get(&format!("/Users/{theirs}")).await,
        foreign.get(&format!("/Groups/{their_group}")).await,
    );
    assert_eq!(before, after);
}

async fn each_operation_is_audited_like_a_single_request(server: TestServer) {
    let tenant = server.tenant().await;
    let ops = bulk(
        &tenant,
        json!([
            post_user("u", "audited"),
            {"method": "PATCH", "path": "/Users/bulkId:u",
             "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "T"}]}},
            post_group("g", "audited-group", &["bulkId:u"]),
        ]),
    )
    .await;
    let user = id_of(&ops[0]);
    let (status, events) = tenant
        .v1_as(
            tenant.token(),
            Method::GET,
            &format!("/audit-events?resource_id={user}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{events}");
    let mut actions: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    actions.sort();
    assert_eq!(
        actions,
        ["group.member_added", "user.created", "user.patched"]
    );
    let changed = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "user.patched")
        .map(|e| e["changed"].clone());
    assert_eq!(changed, Some(json!(["title"])));
}

async fn malformed_requests_and_operations_are_refused_clearly(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, body) =
        bulk_as(&tenant, tenant.token(), &json!({"schemas": [BULK_REQUEST]})).await;
    assert_scim_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        Some("invalidSyntax"),
    );
    let (status, body) = bulk_as(
        &tenant,
        tenant.token(),
        &json!({"Operations": [post_user("same", "s1"), post_user("same", "s2")]}),
    )
    .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(
        body["detail"].as_str().unwrap().contains("'same'"),
        "{body}"
    );
    let ops = bulk(
        &tenant,
        json!([
            {"method": "GET", "path": "/Users"},
            {"method": "POST", "path": "/Apps", "data": {}},
            {"method": "POST", "path": "/Users/abc", "data": {}},
            {"method": "PATCH", "path": "/Users"},
            {"method": "DELETE", "path": "/Groups/"},
        ]),
    )
    .await;
    assert_eq!(
        statuses(&ops),
        ["400", "400", "400", "400", "400"],
        "{ops:?}"
    );
    assert_eq!(ops[0]["method"], "GET");
    let (status, _) = read(
        tenant
            .client
            .post(format!("{}/scim/v2/Bulk", tenant.base))
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Every user name of the tenant, read through the server at `base`.
async fn user_names(base: &str, token: &str) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut names = Vec::new();
    let mut cursor = String::new();
    loop {
        let url =
            format!("{base}/scim/v2/Users?attributes=userName,emails&count=1000&cursor={cursor}");
        let (status, page) = read(client.get(url).bearer_auth(token).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for user in page["Resources"].as_array().unwrap() {
            let name = user["userName"].as_str().unwrap().to_owned();
            // Whole operations only: the user's email rows came with it.
            assert_eq!(
                user["emails"][0]["value"],
                format!("{name}@example.com"),
                "{user}"
            );
            names.push(name);
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return names,
        }
    }
}

async fn a_server_killed_during_bulk_requests_keeps_whole_operations_in_order(server: TestServer) {
    let tenant = server.tenant().await;
    let url = server.database.url().to_owned();
    let (mut child, base) = serve(&url).await;
    const REQUESTS: usize = 12;
    const PER_REQUEST: usize = 1000;
    let client = reqwest::Client::new();
    let mut senders = Vec::new();
    for stream in 0..3 {
        let (client, base, token) = (client.clone(), base.clone(), tenant.token().to_owned());
        senders.push(tokio::spawn(async move {
            let mut answered = 0;
            for request in (stream..REQUESTS).step_by(3) {
                let operations: Vec<Value> = (0..PER_REQUEST)
                    .map(|n| {
                        let name = format!("k{request:02}-{n:04}");
                        json!({"method": "POST", "path": "/Users", "bulkId": name,
                               "data": UserBuilder::new(&name).email(&format!("{name}@example.com"), "work").build()})
                    })
                    .collect();
                let body = json!({"schemas": [BULK_REQUEST], "Operations": operations});
                let sent = scim_body(client.post(format!("{base}/scim/v2/Bulk")).bearer_auth(&token), &body)
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == StatusCode::OK => answered += 1,
                    _ => break,
                }
            }
            answered
        }));
    }
    // Kill once some requests were answered and others are under way.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, page) = read(
            client
                .get(format!("{base}/scim/v2/Users?count=0"))
                .bearer_auth(tenant.token())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        if page["totalResults"].as_u64().unwrap() >= 1500 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("kill");
    child.wait().expect("reaped");
    for sender in senders {
        sender.await.unwrap();
    }
    let (mut child, base) = serve(&url).await;
    let names = user_names(&base, tenant.token()).await;
    child.kill().expect("kill");
    child.wait().expect("reaped");
    let mut per_request: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for name in &names {
        let (request, n) = name[1..].split_once('-').unwrap();
        per_request
            .entry(request.parse().unwrap())
            .or_default()
            .push(n.parse().unwrap());
    }
    assert!(names.len() >= 1500, "{} users", names.len());
    for (request, mut created) in per_request {
        created.sort();
        let prefix: Vec<usize> = (0..created.len()).collect();
        assert_eq!(
            created, prefix,
            "request {request} kept operations that are no prefix"
        );
    }
}
