//! The audit log (issue #23): what is recorded, what an event holds, filters and
//! cursors, the NDJSON export, an application's reach, the purge, and that no
//! password, secret, token or free-form value ever reaches an event or the table.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Tenant, TestServer, UserBuilder, read, scim_body};

on_both_backends!(
    a_users_history_outlives_it_and_names_what_changed,
    groups_and_their_members_are_recorded,
    a_change_that_fails_leaves_no_event,
    filters_select_and_cursors_walk_newest_first,
    invalid_parameters_are_400_with_a_detail,
    sign_ins_and_refused_authentications_are_recorded,
    an_application_sees_its_users_events_and_its_own_actions,
    the_export_streams_every_matching_event_as_ndjson,
    a_purge_deletes_old_events_in_batches_and_records_itself,
    no_secret_or_free_form_value_reaches_an_event_or_the_table,
    an_applications_read_of_a_large_log_is_bounded_and_walks_on,
);

const ROSTER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// `GET /v1/audit-events{query}` as the tenant's Management Application.
async fn log(tenant: &Tenant, query: &str) -> (StatusCode, Value) {
    log_as(tenant, tenant.token(), query).await
}

async fn log_as(tenant: &Tenant, token: &str, query: &str) -> (StatusCode, Value) {
    tenant
        .v1_as(token, Method::GET, &format!("/audit-events{query}"), None)
        .await
}

/// The events of one page, asserting 200.
async fn events(tenant: &Tenant, query: &str) -> Vec<Value> {
    let (status, body) = log(tenant, query).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body["events"].as_array().unwrap().clone()
}

fn actions(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

fn id_of(resource: &Value) -> String {
    resource["id"].as_str().unwrap().to_owned()
}

async fn patch(tenant: &Tenant, path: &str, operations: Value, request_id: &str) -> Value {
    let response = scim_body(
        tenant.scim(Method::PATCH, path),
        &json!({"schemas": [PATCH_OP], "Operations": operations}),
    )
    .header("X-Request-Id", request_id)
    .send()
    .await
    .unwrap();
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The management application's id, as `/v1/apps` lists it.
async fn manager_id(tenant: &Tenant) -> String {
    let (_, apps) = tenant
        .v1_as(tenant.token(), Method::GET, "/apps", None)
        .await;
    apps["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|app| app["management"] == true)
        .map(id_of)
        .unwrap()
}

async fn a_users_history_outlives_it_and_names_what_changed(server: TestServer) {
    let tenant = server.tenant().await;
    let manager = manager_id(&tenant).await;
    let user = tenant
        .create_user(
            &UserBuilder::new("ada")
                .with("displayName", json!("Ada"))
                .with("password", json!("first-Passw0rd!"))
                .roster(json!({"customData": {"plan": "gold"}}))
                .build(),
        )
        .await;
    let id = id_of(&user);
    patch(
        &tenant,
        &format!("/Users/{id}"),
        json!([
            {"op": "replace", "path": "displayName", "value": "Ada L."},
            {"op": "replace", "path": "password", "value": "second-Passw0rd!"},
            {"op": "replace", "path": format!("{ROSTER}:customData"), "value": {"plan": "silver"}},
            {"op": "add", "path": "emails", "value": [{"value": "ada@x.org", "type": "work"}]},
        ]),
        "audit-test-request-1",
    )
    .await;
    assert_eq!(tenant.delete(&format!("/Users/{id}")).await, 204);

    let history = events(&tenant, &format!("?resource_id={id}")).await;
    assert_eq!(
        actions(&history),
        ["user.deleted", "user.patched", "user.created"],
        "a deleted user's history stays, newest first"
    );
    let patched = &history[1];
    assert_eq!(
        patched["changed"],
        json!([
            "displayName",
            "emails",
            "password",
            format!("{ROSTER}:customData")
        ])
    );
    assert_eq!(patched["request_id"], "audit-test-request-1");
    assert_eq!(
        patched["actor"],
        json!({"type": "application", "app_id": manager, "management": true})
    );
    assert_eq!(patched["resource_type"], "User");
    assert_eq!(patched["resource_id"], id.as_str());
    for event in &history {
        let request_id = event["request_id"].as_str().unwrap();
        assert!(!request_id.is_empty(), "{event}");
        assert!(event["occurred_at"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(history[0]["changed"], json!([]));
    let (_, gone) = tenant.get(&format!("/Users/{id}")).await;
    assert_eq!(gone["status"], "404");
}

async fn groups_and_their_members_are_recorded(server: TestServer) {
    let tenant = server.tenant().await;
    let ann = id_of(&tenant.create_user(&UserBuilder::new("ann").build()).await);
    let bob = id_of(&tenant.create_user(&UserBuilder::new("bob").build()).await);
    let (status, group) = tenant
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "Crew",
                "members": [{"value": ann}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let group_id = id_of(&group);
    patch(
        &tenant,
        &format!("/Groups/{group_id}"),
        json!([
            {"op": "add", "path": "members", "value": [{"value": bob}, {"value": ann}]},
            {"op": "remove", "path": format!("members[value eq \"{ann}\"]")},
            {"op": "replace", "path": "displayName", "value": "Crew 2"},
        ]),
        "group-request",
    )
    .await;
    assert_eq!(tenant.delete(&format!("/Groups/{group_id}")).await, 204);

    let history = events(&tenant, &format!("?resource_id={group_id}")).await;
    assert_eq!(
        actions(&history),
        ["group.deleted", "group.patched", "group.created"]
    );
    assert_eq!(history[1]["changed"], json!(["displayName", "members"]));
    let ann_history = events(&tenant, &format!("?resource_id={ann}")).await;
    assert_eq!(
        actions(&ann_history),
        ["group.member_removed", "group.member_added", "user.created"]
    );
    assert_eq!(ann_history[0]["detail"]["group"], group_id.as_str());
    assert_eq!(ann_history[0]["request_id"], "group-request");
    let bob_history = events(&tenant, &format!("?resource_id={bob}")).await;
    assert_eq!(
        actions(&bob_history),
        ["group.member_added", "user.created"],
        "bob was added once; ann's re-add changed nothing"
    );
}

async fn a_change_that_fails_leaves_no_event(server: TestServer) {
    let tenant = server.tenant().await;
    tenant.create_user(&UserBuilder::new("taken").build()).await;
    let other = id_of(&tenant.create_user(&UserBuilder::new("other").build()).await);
    let (status, body) = tenant
        .put(
            &format!("/Users/{other}"),
            &UserBuilder::new("TAKEN").build(),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = tenant
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "G",
                "members": [{"value": "no-such-member"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let all = events(&tenant, "").await;
    assert_eq!(actions(&all), ["user.created", "user.created"], "{all:?}");
}

async fn filters_select_and_cursors_walk_newest_first(server: TestServer) {
    let tenant = server.tenant().await;
    let manager = manager_id(&tenant).await;
    let (app, app_token) = tenant.create_app("Filtered", false).await;
    let app_id = id_of(&app);
    let mut created = Vec::new();
    for n in 0..7 {
        created.push(id_of(
            &tenant
                .create_user(&UserBuilder::new(&format!("walker{n}")).build())
                .await,
        ));
    }
    let (status, by_app) = tenant
        .scim_as(
            &app_token,
            Method::POST,
            "/Users",
            Some(UserBuilder::new("made-by-app").build()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{by_app}");
    assert_eq!(tenant.delete(&format!("/Users/{}", created[0])).await, 204);

    // Cursor walk over one action: every event once, newest first.
    let mut seen = Vec::new();
    let mut query = "?action=user.created&limit=3".to_owned();
    let mut pages = 0;
    loop {
        let (status, page) = log(&tenant, &query).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let events = page["events"].as_array().unwrap();
        assert!(events.len() <= 3);
        seen.extend(events.iter().cloned());
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?action=user.created&limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 8);
    assert!(seen.iter().all(|e| e["action"] == "user.created"));
    let mut expected: Vec<String> = created.clone();
    expected.push(id_of(&by_app));
    expected.reverse();
    let walked: Vec<&str> = seen
        .iter()
        .map(|e| e["resource_id"].as_str().unwrap())
        .collect();
    assert_eq!(walked, expected, "newest first, no event twice");

    // Several actions.
    let both = events(&tenant, "?action=user.deleted,application.created&limit=50").await;
    assert_eq!(actions(&both), ["user.deleted", "application.created"]);
    let repeated = events(
        &tenant,
        "?action=user.deleted&action=application.created&limit=50",
    )
    .await;
    assert_eq!(repeated, both);

    // By actor.
    let by_the_app = events(&tenant, &format!("?actor={app_id}")).await;
    assert_eq!(actions(&by_the_app), ["user.created", "user.assigned"]);
    assert!(
        by_the_app
            .iter()
            .all(|e| e["actor"]["app_id"] == app_id.as_str() && e["actor"]["management"] == false)
    );
    let by_manager = events(&tenant, &format!("?actor={manager}&limit=1000")).await;
    assert_eq!(by_manager.len(), 10, "{:?}", actions(&by_manager));

    // By time: since is inclusive, until exclusive.
    let all = events(&tenant, "?limit=1000").await;
    let middle = all[all.len() / 2]["occurred_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let since = events(&tenant, &format!("?since={middle}&limit=1000")).await;
    let until = events(&tenant, &format!("?until={middle}&limit=1000")).await;
    assert!(!since.is_empty() && !until.is_empty());
    assert_eq!(since.len() + until.len(), all.len());
    assert!(
        since
            .iter()
            .all(|e| e["occurred_at"].as_str().unwrap() >= middle.as_str())
    );
    assert!(
        until
            .iter()
            .all(|e| e["occurred_at"].as_str().unwrap() < middle.as_str())
    );
    let none = events(
        &tenant,
        "?since=2001-01-01T00:00:00Z&until=2001-01-02T00:00:00%2B01:00",
    )
    .await;
    assert!(none.is_empty());

    // Filters together.
    let deleted = events(
        &tenant,
        &format!(
            "?resource_id={}&actor={manager}&action=user.deleted",
            created[0]
        ),
    )
    .await;
    assert_eq!(actions(&deleted), ["user.deleted"]);
}

async fn invalid_parameters_are_400_with_a_detail(server: TestServer) {
    let tenant = server.tenant().await;
    let too_many = (0..21)
        .map(|n| format!("a{n}"))
        .collect::<Vec<_>>()
        .join(",");
    for (query, says) in [
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?limit=ten", "limit"),
        ("?since=yesterday", "since"),
        ("?until=2026-13-01T00:00:00Z", "until"),
        (
            "?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
            "since",
        ),
        ("?cursor=not-a-cursor", "cursor"),
        ("?cursor=", "cursor"),
        ("?resource_id=a%00b", "resource_id"),
        ("?actor=", "actor"),
        (&format!("?action={too_many}"), "action"),
        ("?colour=red", "colour"),
    ] {
        let (status, body) = log(&tenant, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(says), "{query}: {body}");
    }
}

async fn request_token(server: &TestServer, client_id: &str, secret: &str) -> (StatusCode, Value) {
    let response = server
        .anonymous(Method::POST, "/oauth2/token")
        .basic_auth(client_id, Some(secret))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    read(response).await
}

async fn sign_ins_and_refused_authentications_are_recorded(server: TestServer) {
    let tenant = server.tenant().await;
    let (app, app_token) = tenant.create_app("Portal", true).await;
    let app_id = id_of(&app);
    let (status, renamed) = tenant
        .v1_as(
            tenant.token(),
            Method::PATCH,
            &format!("/apps/{app_id}"),
            Some(json!({"name": "Portal 2", "allow_signup_on_signin": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    let updated = events(
        &tenant,
        &format!("?resource_id={app_id}&action=application.updated"),
    )
    .await;
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0]["changed"], json!(["name"]));
    let (status, signed_in) = tenant
        .v1_as(
            &app_token,
            Method::POST,
            "/signins",
            Some(json!({"social": {"provider": "github", "subject": "gh-1",
                "email": "new@x.org", "email_verified": true}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let user_id = id_of(&signed_in["user"]);
    let history = events(&tenant, &format!("?resource_id={user_id}")).await;
    let history_actions = actions(&history);
    for action in [
        "user.created",
        "user.assigned",
        "user.social_linked",
        "user.signed_in",
    ] {
        assert!(history_actions.contains(&action), "{history_actions:?}");
    }
    let signed = history
        .iter()
        .find(|e| e["action"] == "user.signed_in")
        .unwrap();
    assert_eq!(signed["detail"]["app"], app_id.as_str());
    assert_eq!(signed["detail"]["provider"], "github");
    assert_eq!(signed["actor"]["app_id"], app_id.as_str());

    // A wrong client secret for this tenant's client id.
    let (status, _) = request_token(&server, app["client_id"].as_str().unwrap(), "rcs_wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // An expired access token of this tenant.
    let (status, issued) = request_token(
        &server,
        &tenant.credentials.client_id,
        &tenant.credentials.client_secret,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let access_token = issued["access_token"].as_str().unwrap().to_owned();
    run_sql(
        &server,
        "UPDATE api_tokens SET expires_at = '2020-01-01 00:00:00' WHERE expires_at IS NOT NULL",
    );
    let response = tenant
        .client
        .get(format!("{}/scim/v2/Users", tenant.base))
        .bearer_auth(&access_token)
        .header("X-Request-Id", "expired-token-request")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let failed = events(&tenant, "?action=auth.failed").await;
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(
        failed
            .iter()
            .all(|e| e["actor"] == json!({"type": "anonymous"}))
    );
    assert_eq!(failed[0]["detail"]["reason"], "expired token");
    assert_eq!(failed[0]["request_id"], "expired-token-request");
    assert_eq!(failed[1]["detail"]["reason"], "wrong client secret");
    assert_eq!(failed[1]["resource_id"], app_id.as_str());
    let by_anonymous = events(&tenant, "?actor=anonymous").await;
    assert_eq!(by_anonymous, failed);
}

/// Runs a statement on the test's store.
fn run_sql(server: &TestServer, sql: &str) -> usize {
    use diesel::RunQueryDsl;
    let sql = sql.to_owned();
    server
        .store
        .write_blocking(move |conn| {
            roster::with_conn!(conn, c => diesel::sql_query(&sql).execute(c))
                .map_err(roster::store::StoreError::from)
        })
        .expect("statement runs")
}

async fn an_application_sees_its_users_events_and_its_own_actions(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, mine_token) = tenant.create_app("Mine", false).await;
    let (_, theirs_token) = tenant.create_app("Theirs", false).await;
    let (_, mine_user) = tenant
        .scim_as(
            &mine_token,
            Method::POST,
            "/Users",
            Some(UserBuilder::new("mine").build()),
        )
        .await;
    let (_, their_user) = tenant
        .scim_as(
            &theirs_token,
            Method::POST,
            "/Users",
            Some(UserBuilder::new("theirs").build()),
        )
        .await;
    let managed = tenant
        .create_user(&UserBuilder::new("managed").build())
        .await;
    // The manager changes the app's user: an event about a user the app sees.
    patch(
        &tenant,
        &format!("/Users/{}", id_of(&mine_user)),
        json!([{"op": "replace", "path": "displayName", "value": "Mine"}]),
        "manager-changes-mine",
    )
    .await;
    // A refused sign-in of a user the app cannot see is recorded with that user's id,
    // but the app that caused it does not see the event.
    let (status, body) = tenant
        .v1_as(
            &mine_token,
            Method::POST,
            "/signins",
            Some(json!({"user_name": "managed"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // Another app that comes to share the user: its sign-in and its assignment are
    // its own business.
    let (_, shared_token) = tenant.create_app("Shared", true).await;
    let (status, body) = tenant
        .v1_as(
            &shared_token,
            Method::POST,
            "/signins",
            Some(json!({"user_name": "mine"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = log_as(&tenant, &mine_token, "?limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let seen: HashSet<&str> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource_id"].as_str().unwrap())
        .collect();
    assert_eq!(seen, HashSet::from([id_of(&mine_user).as_str()]));
    assert_eq!(body["events"].as_array().unwrap().len(), 3, "{body}");
    for hidden in [id_of(&their_user), id_of(&managed)] {
        let (status, body) = log_as(&tenant, &mine_token, &format!("?resource_id={hidden}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["events"], json!([]), "{body}");
    }
    // The export answers the same selection.
    let exported = export(&tenant, &mine_token, "").await;
    assert_eq!(exported.len(), 3);
    // The Management Application sees everything.
    let all = events(&tenant, "?limit=1000").await;
    assert!(all.len() > 3);
}

/// The NDJSON export of `query`, parsed line by line.
async fn export(tenant: &Tenant, token: &str, query: &str) -> Vec<Value> {
    let response = tenant
        .client
        .get(format!("{}/v1/audit-events{query}", tenant.base))
        .bearer_auth(token)
        .header("Accept", "application/x-ndjson")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/x-ndjson"
    );
    let text = response.text().await.unwrap();
    assert!(text.is_empty() || text.ends_with('\n'));
    text.lines()
        .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
        .collect()
}

/// Inserts `count` events of the tenant straight into the table: `at` times in turn,
/// so that many share an instant and the cursor must break ties by id.
fn insert_events(server: &TestServer, tenant_id: &str, count: usize, times: &[&str]) {
    for chunk in (0..count).collect::<Vec<_>>().chunks(500) {
        let values: Vec<String> = chunk
            .iter()
            .map(|n| {
                format!(
                    "('{}', '{tenant_id}', '{}', 'cli', {}, 'seeded.event', 'User', 'seeded-{n}')",
                    uuid::Uuid::now_v7(),
                    times[n % times.len()],
                    if server.backend == roster::store::Backend::Sqlite {
                        "0"
                    } else {
                        "false"
                    },
                )
            })
            .collect();
        run_sql(
            server,
            &format!(
                "INSERT INTO audit_events (id, tenant_id, occurred_at, actor, actor_management, \
                 action, resource_type, resource_id) VALUES {}",
                values.join(", ")
            ),
        );
    }
}

/// An application that sees few events of a large log: each read examines a bounded
/// stretch of it, a page may come back short or empty with a cursor, and walking the
/// cursors (or exporting) finds exactly the events it may see.
async fn an_applications_read_of_a_large_log_is_bounded_and_walks_on(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, app_token) = tenant.create_app("Sparse", false).await;
    let mut visible = HashSet::new();
    for name in ["sparse-1", "sparse-2", "sparse-3"] {
        let (status, user) = tenant
            .scim_as(
                &app_token,
                Method::POST,
                "/Users",
                Some(UserBuilder::new(name).build()),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        visible.insert(id_of(&user));
    }
    // 25,000 newer events about users it cannot see.
    insert_events(
        &server,
        &tenant.credentials.tenant_id,
        25_000,
        &["2099-01-01 00:00:00", "2099-01-02 00:00:00"],
    );
    let (status, first) = log_as(&tenant, &app_token, "?limit=100").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        first["events"],
        json!([]),
        "the first stretch holds none of its events"
    );
    assert!(first["next_cursor"].is_string(), "{first}");

    let mut walked = Vec::new();
    let mut cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let mut pages = 1;
    loop {
        pages += 1;
        assert!(pages < 20, "the walk does not end");
        let (status, page) =
            log_as(&tenant, &app_token, &format!("?limit=100&cursor={cursor}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        walked.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert!(pages >= 3, "{pages} pages");
    let seen: HashSet<String> = walked
        .iter()
        .map(|e| e["resource_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, visible);
    // Each user: created and assigned, by the app itself.
    assert_eq!(walked.len(), 6, "{walked:?}");
    let exported = export(&tenant, &app_token, "").await;
    assert_eq!(exported, walked);
}

async fn the_export_streams_every_matching_event_as_ndjson(server: TestServer) {
    let tenant = server.tenant().await;
    let other = server.tenant().await;
    insert_events(
        &server,
        &tenant.credentials.tenant_id,
        2_345,
        &[
            "2026-01-01 00:00:00",
            "2026-01-01 00:00:01.500",
            "2026-01-02 00:00:00",
        ],
    );
    insert_events(
        &server,
        &other.credentials.tenant_id,
        10,
        &["2026-01-01 00:00:00"],
    );
    tenant.create_user(&UserBuilder::new("last").build()).await;

    let exported = export(&tenant, tenant.token(), "").await;
    assert_eq!(exported.len(), 2_346);
    let ids: HashSet<&str> = exported.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2_346, "no event twice");
    assert_eq!(exported[0]["action"], "user.created", "newest first");
    let order: Vec<(&str, &str)> = exported
        .iter()
        .map(|e| {
            (
                e["occurred_at"].as_str().unwrap(),
                e["id"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] > w[1]),
        "strictly newest first"
    );

    let seeded = export(
        &tenant,
        tenant.token(),
        "?action=seeded.event&until=2026-01-02T00:00:00Z",
    )
    .await;
    assert_eq!(seeded.len(), 1_564);

    // Pages walk the same events in the same order across ties.
    let mut walked = Vec::new();
    let mut query = "?limit=1000".to_owned();
    loop {
        let (status, page) = log(&tenant, &query).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        walked.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=1000&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(walked, exported);
}

async fn a_purge_deletes_old_events_in_batches_and_records_itself(server: TestServer) {
    let tenant = server.tenant().await;
    let other = server.tenant().await;
    insert_events(
        &server,
        &tenant.credentials.tenant_id,
        12_001,
        &["2020-01-01 00:00:00"],
    );
    insert_events(
        &server,
        &other.credentials.tenant_id,
        3,
        &["2020-06-01 00:00:00"],
    );
    let kept = id_of(&tenant.create_user(&UserBuilder::new("kept").build()).await);

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["audit", "purge", "--older-than", "90d", "--database-url"])
        .arg(server.database.url())
        .output()
        .expect("roster runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(report["deleted"], 12_004);

    let left = events(&tenant, "?limit=1000").await;
    assert_eq!(actions(&left), ["audit.purged", "user.created"]);
    assert_eq!(left[1]["resource_id"], kept.as_str());
    let purge = &left[0];
    assert_eq!(purge["actor"], json!({"type": "cli"}));
    assert_eq!(purge["detail"]["deleted"], 12_001);
    assert_eq!(events(&tenant, "?actor=cli").await, vec![purge.clone()]);
    let other_left = events(&other, "?limit=1000").await;
    assert_eq!(actions(&other_left), ["audit.purged"]);
    assert_eq!(other_left[0]["detail"]["deleted"], 3);

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["audit", "purge", "--older-than", "0d", "--database-url"])
        .arg(server.database.url())
        .output()
        .expect("roster runs");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("90d"));
}

async fn no_secret_or_free_form_value_reaches_an_event_or_the_table(server: TestServer) {
    let tenant = server.tenant().await;
    let (app, app_token) = tenant.create_app("Vault", true).await;
    let app_id = id_of(&app);
    let client_secret = app["client_secret"].as_str().unwrap().to_owned();
    let password = "Pa55word-value-9173";
    let second_password = "Pa55word-value-2840";
    let custom = "customData-value-5521";
    let custom_app = "customAppData-value-6630";
    let group_custom = "groupCustomData-value-7742";
    let guessed_secret = "rcs_guessed-value-8801";
    let user = tenant
        .create_user(
            &UserBuilder::new("vaulted")
                .with("password", json!(password))
                .roster(json!({"customData": {"k": custom},
                    "apps": [{"value": app_id, "customAppData": {"k": custom_app}}]}))
                .build(),
        )
        .await;
    let id = id_of(&user);
    patch(
        &tenant,
        &format!("/Users/{id}"),
        json!([
            {"op": "replace", "path": "password", "value": second_password},
            {"op": "replace", "path": format!("{ROSTER}:customData"), "value": {"k": format!("{custom}-2")}},
        ]),
        "secret-search",
    )
    .await;
    let (status, group) = tenant
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA, "urn:ietf:params:scim:schemas:extension:roster:2.0:Group"],
                "displayName": "Vault group",
                "urn:ietf:params:scim:schemas:extension:roster:2.0:Group": {"customData": {"k": group_custom}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let (status, rotated) = tenant
        .v1_as(
            tenant.token(),
            Method::POST,
            &format!("/apps/{app_id}/rotate-secret"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let rotated_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    let new_token = tenant.app_token(&app_id).await;
    let (status, _) =
        request_token(&server, app["client_id"].as_str().unwrap(), guessed_secret).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, issued) =
        request_token(&server, app["client_id"].as_str().unwrap(), &rotated_secret).await;
    assert_eq!(status, StatusCode::OK);
    let access_token = issued["access_token"].as_str().unwrap().to_owned();
    let (status, _) = tenant
        .v1_as(
            &app_token,
            Method::POST,
            "/signins",
            Some(json!({"user_id": id})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let secrets = [
        password,
        second_password,
        custom,
        custom_app,
        group_custom,
        guessed_secret,
        &client_secret,
        &rotated_secret,
        &new_token,
        &app_token,
        &access_token,
        tenant.token(),
        &tenant.credentials.client_secret,
    ];
    let every_event = export(&tenant, tenant.token(), "").await;
    assert!(every_event.len() >= 10, "{every_event:?}");
    let names: Vec<&str> = actions(&every_event);
    for action in [
        "application.secret_rotated",
        "token.created",
        "auth.failed",
        "user.patched",
        "user.signed_in",
        "group.created",
    ] {
        assert!(names.contains(&action), "{names:?}");
    }
    let text = serde_json::to_string(&every_event).unwrap();
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} in the log");
    }
    let changed: Vec<&Value> = every_event
        .iter()
        .filter(|e| e["action"] == "user.patched")
        .map(|e| &e["changed"])
        .collect();
    assert_eq!(
        changed,
        [&json!(["password", format!("{ROSTER}:customData")])]
    );

    // The raw table, every column as text.
    let raw = raw_audit_table(&server);
    assert!(raw.len() >= every_event.len());
    let raw_text = raw.join("\n");
    for secret in secrets {
        assert!(!raw_text.contains(secret), "{secret} in the audit table");
    }
}

/// Every row of `audit_events`, all columns as one text each.
fn raw_audit_table(server: &TestServer) -> Vec<String> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        row: String,
    }
    let sql = match server.backend {
        roster::store::Backend::Sqlite => {
            "SELECT id || '|' || tenant_id || '|' || occurred_at || '|' || actor || '|' || action \
             || '|' || resource_type || '|' || resource_id || '|' || COALESCE(request_id, '') \
             || '|' || COALESCE(changed, '') || '|' || COALESCE(detail, '') AS row FROM audit_events"
        }
        roster::store::Backend::Postgres => "SELECT audit_events::text AS row FROM audit_events",
    };
    server
        .store
        .read_blocking(move |conn| {
            roster::with_conn!(conn, c => diesel::sql_query(sql).load::<Row>(c))
                .map_err(roster::store::StoreError::from)
        })
        .expect("the table reads")
        .into_iter()
        .map(|r| r.row)
        .collect()
}
