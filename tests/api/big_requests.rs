//! Requests near the size limits: PATCH operation lists at and over their limit,
//! member changes of tens of thousands of members in one request, and the service
//! answering other requests while such a request runs.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Tenant, TestServer, UserBuilder, assert_scim_error, read, scim_body};
use diesel::prelude::*;
use roster::scim::patch::DEFAULT_MAX_PATCH_OPERATIONS;
use roster::store::assignments::AssignmentRow;
use roster::store::users::{NewUserRow, UserLookupColumns};
use roster::store::{StoreError, schema};
use roster::text_rules::MAX_VALUES;
use roster::with_conn;

on_both_backends!(
    a_patch_over_the_operation_limit_is_refused_and_changes_nothing,
    a_patch_at_the_operation_limit_applies_every_operation,
    tens_of_thousands_of_members_are_added_and_removed_in_one_patch,
    an_app_token_adds_and_removes_only_the_members_it_sees,
    health_answers_while_a_big_patch_runs,
    a_user_with_thousands_of_emails_is_written_and_found_by_each,
    a_multi_valued_attribute_past_its_value_limit_is_refused_and_changes_nothing,
);

fn patch_op(operations: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations,
    })
}

async fn patch_with(tenant: &Tenant, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
    read(
        scim_body(
            tenant
                .client
                .request(Method::PATCH, format!("{}/scim/v2{path}", tenant.base))
                .bearer_auth(token),
            body,
        )
        .send()
        .await
        .expect("request"),
    )
    .await
}

/// Members in the big requests: more than one chunk of ids per statement (5,000),
/// few enough for a debug build to run quickly.
const MANY_MEMBERS: usize = 12_000;

/// Creates `users` users straight in the store, assigning every other one to a
/// new application (set-up only: the seeder is too slow for tens of thousands in
/// a debug build); returns all their ids, sorted, and the application's id.
async fn seeded(server: &TestServer, tenant: &Tenant, users: usize) -> (Vec<String>, String) {
    let (status, app) = read(
        tenant
            .client
            .post(format!("{}/v1/apps", tenant.base))
            .bearer_auth(tenant.token())
            .body(json!({"name": "Half"}).to_string())
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let app_id = app["id"].as_str().expect("app id").to_owned();
    let tenant_id = tenant.credentials.tenant_id.clone();
    let now = chrono::Utc::now().naive_utc();
    let rows: Vec<NewUserRow> = (0..users)
        .map(|n| {
            let name = format!("bulk{n}");
            let attributes = json!({ "userName": name });
            NewUserRow {
                id: uuid::Uuid::now_v7().to_string(),
                tenant_id: tenant_id.clone(),
                attributes: attributes.to_string(),
                password_hash: None,
                status: "pending".into(),
                custom_data: None,
                birthday: None,
                created_at: now,
                last_modified: now,
                version: 1,
                lookup: UserLookupColumns::from_attributes(&attributes),
            }
        })
        .collect();
    let assignments: Vec<AssignmentRow> = rows
        .iter()
        .step_by(2)
        .map(|row| AssignmentRow {
            user_id: row.id.clone(),
            app_id: app_id.clone(),
            tenant_id: tenant_id.clone(),
            external_account_id: None,
            custom_app_data: None,
            consents: None,
            assigned_at: now,
            last_sign_in: None,
        })
        .collect();
    let mut ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let store = server.store.clone();
    tokio::task::spawn_blocking(move || {
        store.write_blocking(|conn| {
            for chunk in rows.chunks(500) {
                with_conn!(conn, c => diesel::insert_into(schema::users::table).values(chunk).execute(c))?;
            }
            for chunk in assignments.chunks(1000) {
                with_conn!(conn, c => diesel::insert_into(schema::user_apps::table).values(chunk).execute(c))?;
            }
            with_conn!(conn, c => diesel::update(schema::tenants::table.filter(schema::tenants::id.eq(&tenant_id)))
                .set(schema::tenants::user_count.eq(schema::tenants::user_count + users as i64))
                .execute(c))?;
            Ok::<_, StoreError>(())
        })
    })
    .await
    .expect("joins")
    .expect("users inserted");
    ids.sort();
    (ids, app_id)
}

/// The ids of every user `token` may see, walked with cursors, sorted.
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
                .expect("request"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        ids.extend(
            page["Resources"]
                .as_array()
                .expect("resources")
                .iter()
                .map(|u| u["id"].as_str().expect("id").to_owned()),
        );
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => {
                ids.sort();
                return ids;
            }
        }
    }
}

async fn app_token(tenant: &Tenant, app_id: &str) -> String {
    tenant.app_token(app_id).await
}

/// The sorted member ids of group `id` as `token` sees them.
async fn member_ids(tenant: &Tenant, token: &str, id: &str) -> Vec<String> {
    let (status, group) = read(
        tenant
            .client
            .get(format!("{}/scim/v2/Groups/{id}", tenant.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{group}");
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .map(|m| m["value"].as_str().expect("value").to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

async fn empty_group(tenant: &Tenant, name: &str) -> String {
    let (status, created) = tenant
        .post(
            "/Groups",
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": name,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().expect("id").to_owned()
}

fn member_values(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"value": id})).collect())
}

async fn a_patch_over_the_operation_limit_is_refused_and_changes_nothing(server: TestServer) {
    let tenant = server.tenant().await;
    let user = tenant
        .create_user(&UserBuilder::new("limited").build())
        .await;
    let path = format!("/Users/{}", user["id"].as_str().expect("id"));
    let operations: Vec<Value> = (0..=DEFAULT_MAX_PATCH_OPERATIONS)
        .map(
            |i| json!({"op": "add", "path": "emails", "value": [{"value": format!("e{i}@x.org")}]}),
        )
        .collect();
    let (status, error) = patch_with(&tenant, tenant.token(), &path, &patch_op(operations)).await;
    assert_scim_error(
        status,
        &error,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    );
    let detail = error["detail"].as_str().expect("detail");
    assert!(
        detail.contains(&format!("at most {DEFAULT_MAX_PATCH_OPERATIONS}")),
        "{detail}"
    );
    let (_, after) = tenant.get(&path).await;
    assert_eq!(after["emails"], user["emails"]);
    assert_eq!(after["meta"]["version"], user["meta"]["version"]);

    // RFC 7643 §5 gives `patch` one member; strict clients refuse any other.
    let (status, config) = tenant.get("/ServiceProviderConfig").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["patch"], json!({"supported": true}));
}

async fn a_patch_at_the_operation_limit_applies_every_operation(server: TestServer) {
    let tenant = server.tenant().await;
    let user = tenant.create_user(&UserBuilder::new("many").build()).await;
    let path = format!("/Users/{}", user["id"].as_str().expect("id"));
    // A tenth of the operations repeat an address added before: no duplicates.
    let distinct = DEFAULT_MAX_PATCH_OPERATIONS * 9 / 10;
    let operations: Vec<Value> = (0..DEFAULT_MAX_PATCH_OPERATIONS)
        .map(|i| {
            json!({"op": "add", "path": "emails", "value": [{"value": format!("e{}@x.org", i % distinct), "type": "work"}]})
        })
        .collect();
    let (status, patched) = patch_with(&tenant, tenant.token(), &path, &patch_op(operations)).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let before = user["emails"].as_array().map_or(0, Vec::len);
    let emails = patched["emails"].as_array().expect("emails");
    assert_eq!(emails.len(), before + distinct);
    assert_eq!(emails[before]["value"], "e0@x.org");
    assert_eq!(
        emails[before + distinct - 1]["value"],
        format!("e{}@x.org", distinct - 1)
    );
    let (_, stored) = tenant.get(&path).await;
    assert_eq!(stored["emails"], patched["emails"]);

    // As many one-member operations on a group.
    let tenant = server.tenant().await;
    let (ids, _) = seeded(&server, &tenant, DEFAULT_MAX_PATCH_OPERATIONS).await;
    let group = empty_group(&tenant, "One by one").await;
    let group_path = format!("/Groups/{group}?excludedAttributes=members");
    let operations: Vec<Value> = ids
        .iter()
        .map(|id| json!({"op": "add", "path": "members", "value": [{"value": id}]}))
        .collect();
    let (status, body) =
        patch_with(&tenant, tenant.token(), &group_path, &patch_op(operations)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(member_ids(&tenant, tenant.token(), &group).await, ids);
    let operations: Vec<Value> = ids
        .iter()
        .skip(1)
        .map(|id| json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")}))
        .collect();
    let (status, body) =
        patch_with(&tenant, tenant.token(), &group_path, &patch_op(operations)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(member_ids(&tenant, tenant.token(), &group).await, ids[..1]);
}

async fn tens_of_thousands_of_members_are_added_and_removed_in_one_patch(server: TestServer) {
    let tenant = server.tenant().await;
    let (ids, _) = seeded(&server, &tenant, MANY_MEMBERS).await;
    let group = empty_group(&tenant, "Everyone").await;
    let path = format!("/Groups/{group}?excludedAttributes=members");
    let add = patch_op(vec![
        json!({"op": "add", "path": "members", "value": member_values(&ids)}),
    ]);
    let (status, body) = patch_with(&tenant, tenant.token(), &path, &add).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(member_ids(&tenant, tenant.token(), &group).await, ids);

    // Adding them again changes nothing; removing half by value (Entra ID) leaves
    // the other half.
    let (status, body) = patch_with(&tenant, tenant.token(), &path, &add).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (removed, kept) = ids.split_at(MANY_MEMBERS / 2);
    let remove = patch_op(vec![
        json!({"op": "remove", "path": "members", "value": member_values(removed)}),
    ]);
    let (status, body) = patch_with(&tenant, tenant.token(), &path, &remove).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(member_ids(&tenant, tenant.token(), &group).await, kept);

    let remove_all = patch_op(vec![json!({"op": "remove", "path": "members"})]);
    let (status, body) = patch_with(&tenant, tenant.token(), &path, &remove_all).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(member_ids(&tenant, tenant.token(), &group).await.is_empty());

    // A replace of the whole list by all of them, then by the removed half.
    let replace = |members: &[String]| {
        patch_op(vec![
            json!({"op": "replace", "path": "members", "value": member_values(members)}),
        ])
    };
    let (status, body) = patch_with(&tenant, tenant.token(), &path, &replace(&ids)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = patch_with(&tenant, tenant.token(), &path, &replace(removed)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(member_ids(&tenant, tenant.token(), &group).await, removed);
}

async fn an_app_token_adds_and_removes_only_the_members_it_sees(server: TestServer) {
    let tenant = server.tenant().await;
    let (all, app_id) = seeded(&server, &tenant, 8_000).await;
    let token = app_token(&tenant, &app_id).await;
    let assigned = visible_user_ids(&tenant, &token).await;
    let hidden: Vec<String> = all
        .iter()
        .filter(|id| assigned.binary_search(id).is_err())
        .cloned()
        .collect();
    assert!(!assigned.is_empty() && !hidden.is_empty());
    let group = empty_group(&tenant, "Mixed").await;
    let path = format!("/Groups/{group}?excludedAttributes=members");

    // The application adds the members it sees; one it does not see is refused,
    // and then nothing of that request is applied.
    let mut with_hidden = assigned.clone();
    with_hidden.push(hidden[hidden.len() / 2].clone());
    let add = |members: &[String]| {
        patch_op(vec![
            json!({"op": "add", "path": "members", "value": member_values(members)}),
        ])
    };
    let (status, error) = patch_with(&tenant, &token, &path, &add(&with_hidden)).await;
    assert_scim_error(
        status,
        &error,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    );
    assert!(member_ids(&tenant, tenant.token(), &group).await.is_empty());
    let (status, body) = patch_with(&tenant, &token, &path, &add(&assigned)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The management token adds everyone; the application's remove-all removes only
    // the members it sees, and its remove by value skips those it does not see.
    let (status, body) = patch_with(&tenant, tenant.token(), &path, &add(&all)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(member_ids(&tenant, &token, &group).await, assigned);
    let remove_named = patch_op(vec![
        json!({"op": "remove", "path": "members", "value": member_values(&all[..all.len() / 2])}),
    ]);
    let (status, body) = patch_with(&tenant, &token, &path, &remove_named).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let expected: Vec<String> = all
        .iter()
        .enumerate()
        .filter(|(i, id)| *i >= all.len() / 2 || hidden.binary_search(id).is_ok())
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(member_ids(&tenant, tenant.token(), &group).await, expected);
    let remove_all = patch_op(vec![json!({"op": "remove", "path": "members"})]);
    let (status, body) = patch_with(&tenant, &token, &path, &remove_all).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(member_ids(&tenant, &token, &group).await.is_empty());
    assert_eq!(member_ids(&tenant, tenant.token(), &group).await, hidden);
}

async fn health_answers_while_a_big_patch_runs(server: TestServer) {
    let tenant = server.tenant().await;
    let (ids, _) = seeded(&server, &tenant, MANY_MEMBERS).await;
    let group = empty_group(&tenant, "Busy").await;
    let path = format!("/Groups/{group}");
    let add = patch_op(vec![
        json!({"op": "add", "path": "members", "value": member_values(&ids)}),
    ]);
    let writer = tenant.clone();
    let big = tokio::spawn(async move { patch_with(&writer, writer.token(), &path, &add).await });
    let (status, health) = read(
        server
            .anonymous(Method::GET, "/healthz")
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{health}");
    let (status, body) = big.await.expect("joins");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["members"].as_array().map(Vec::len), Some(MANY_MEMBERS));
}

async fn a_user_with_thousands_of_emails_is_written_and_found_by_each(server: TestServer) {
    let tenant = server.tenant().await;
    let user = tenant
        .create_user(&UserBuilder::new("mailer").build())
        .await;
    let id = user["id"].as_str().expect("id");
    let path = format!("/Users/{id}");
    // More rows of searchable values than one statement may bind on either store.
    let emails: Vec<Value> = (0..9_000)
        .map(|i| json!({"value": format!("m{i}@x.org"), "type": "work", "display": format!("M {i}")}))
        .collect();
    let add = patch_op(vec![
        json!({"op": "add", "path": "emails", "value": emails}),
    ]);
    let (status, patched) = patch_with(&tenant, tenant.token(), &path, &add).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let again = patch_op(vec![
        json!({"op": "replace", "path": "title", "value": "Sender"}),
    ]);
    let (status, patched) = patch_with(&tenant, tenant.token(), &path, &again).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    for email in ["m0@x.org", "M8999@X.org"] {
        let filter = format!("emails.value eq \"{email}\"");
        let (status, found) = tenant
            .get(&format!(
                "/Users?filter={}",
                crate::queries::urlencode(&filter)
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found["totalResults"], 1, "{email}: {found}");
        assert_eq!(found["Resources"][0]["id"], id);
    }
}

async fn a_multi_valued_attribute_past_its_value_limit_is_refused_and_changes_nothing(
    server: TestServer,
) {
    let tenant = server.tenant().await;
    let user = tenant
        .create_user(&UserBuilder::new("collector").build())
        .await;
    let id = user["id"].as_str().expect("id");
    let path = format!("/Users/{id}");
    let emails = |from: usize, to: usize| -> Vec<Value> {
        (from..to)
            .map(|i| json!({"value": format!("c{i}@x.org")}))
            .collect()
    };
    let add = |values: Vec<Value>| {
        patch_op(vec![
            json!({"op": "add", "path": "emails", "value": values}),
        ])
    };
    let (status, patched) = patch_with(
        &tenant,
        tenant.token(),
        &path,
        &add(emails(0, MAX_VALUES - 1)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    // Two more values take the attribute one past the limit.
    let (status, refused) = patch_with(
        &tenant,
        tenant.token(),
        &path,
        &add(emails(MAX_VALUES - 1, MAX_VALUES + 1)),
    )
    .await;
    assert_scim_error(
        status,
        &refused,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    );
    let detail = refused["detail"].as_str().expect("detail");
    assert!(
        detail.contains("'emails'") && detail.contains(&MAX_VALUES.to_string()),
        "{detail}"
    );
    let (status, found) = tenant.get(&format!("{path}?attributes=emails")).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(
        found["emails"].as_array().map(Vec::len),
        Some(MAX_VALUES - 1)
    );
    // A POST is held to the same limit.
    let (status, refused) = tenant
        .post(
            "/Users",
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "hoarder",
                "emails": emails(0, MAX_VALUES + 1),
            }),
        )
        .await;
    assert_scim_error(
        status,
        &refused,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    );
}
