//! Applications, app-scoped access, per-app data, status and sign-ins.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Tenant, TestServer, UserBuilder, assert_scim_error};

const ROSTER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";

on_both_backends!(
    creating_an_app_shows_its_secret_once,
    only_management_tokens_manage_apps,
    the_management_application_cannot_be_deleted,
    rotating_the_secret_retires_the_old_one,
    an_app_token_sees_only_its_assigned_users,
    a_user_created_through_an_app_is_assigned_to_it,
    an_apps_delete_unassigns_and_the_last_one_deletes_the_identity,
    management_assigns_apps_with_patch_and_each_app_sees_only_its_entry,
    an_app_writes_only_its_own_entry,
    custom_app_data_limit_is_exact,
    assigning_a_foreign_app_is_refused,
    sign_in_makes_a_pending_user_active,
    disabled_users_cannot_sign_in,
    unknown_users_sign_up_only_where_the_app_allows,
    unassigned_users_are_assigned_only_where_the_app_allows,
    social_sign_in_links_the_account_and_finds_the_user_again,
    a_look_up_and_a_list_page_show_a_user_alike,
    sign_in_claims_carry_the_identity,
    sign_ins_cannot_reach_another_tenants_users,
);

/// A regular application and a SCIM token of its own.
async fn app(tenant: &Tenant, name: &str, signup: bool) -> (Value, String) {
    tenant.create_app(name, signup).await
}

fn patch_ops(operations: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
}

async fn creating_an_app_shows_its_secret_once(server: TestServer) {
    let tenant = server.tenant().await;
    let (status, created) = tenant
        .v1_as(
            tenant.token(),
            Method::POST,
            "/apps",
            Some(json!({"name": "Portal", "allow_signup_on_signin": true})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for key in [
        "id",
        "name",
        "client_id",
        "client_secret",
        "allow_signup_on_signin",
        "management",
    ] {
        assert!(created.get(key).is_some(), "{key} missing: {created}");
    }
    assert_eq!(created["management"], false);
    let (_, list) = tenant
        .v1_as(tenant.token(), Method::GET, "/apps", None)
        .await;
    let apps = list["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 2);
    assert!(apps.iter().all(|a| a.get("client_secret").is_none()));
    assert_eq!(apps[0]["management"], true);
    let (status, body) = tenant
        .v1_as(
            tenant.token(),
            Method::POST,
            "/apps",
            Some(json!({"name": ""})),
        )
        .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
}

async fn only_management_tokens_manage_apps(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, token) = app(&tenant, "Regular", false).await;
    let (status, body) = tenant.v1_as(&token, Method::GET, "/apps", None).await;
    assert_scim_error(status, &body, StatusCode::FORBIDDEN, None);
    let (status, body) = tenant
        .v1_as(&token, Method::POST, "/apps", Some(json!({"name": "x"})))
        .await;
    assert_scim_error(status, &body, StatusCode::FORBIDDEN, None);
}

async fn the_management_application_cannot_be_deleted(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, list) = tenant
        .v1_as(tenant.token(), Method::GET, "/apps", None)
        .await;
    let management_id = list["apps"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = tenant
        .v1_as(
            tenant.token(),
            Method::DELETE,
            &format!("/apps/{management_id}"),
            None,
        )
        .await;
    assert_scim_error(status, &body, StatusCode::FORBIDDEN, None);
    let (regular, _) = app(&tenant, "Gone", false).await;
    let (status, _) = tenant
        .v1_as(
            tenant.token(),
            Method::DELETE,
            &format!("/apps/{}", regular["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

async fn rotating_the_secret_retires_the_old_one(server: TestServer) {
    let tenant = server.tenant().await;
    let (created, _) = app(&tenant, "Rotating", false).await;
    let token_with = |secret: String| {
        let client = tenant.client.clone();
        let url = format!("{}/oauth2/token", tenant.base);
        let client_id = created["client_id"].as_str().unwrap().to_owned();
        async move {
            client
                .post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(format!(
                    "grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
                ))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let old = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(token_with(old.clone()).await, StatusCode::OK);
    let (status, rotated) = tenant
        .v1_as(
            tenant.token(),
            Method::POST,
            &format!("/apps/{}/rotate-secret", created["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(token_with(old).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        token_with(rotated["client_secret"].as_str().unwrap().to_owned()).await,
        StatusCode::OK
    );
}

async fn an_app_token_sees_only_its_assigned_users(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, token) = app(&tenant, "Scoped", false).await;
    let outsider = tenant
        .create_user(&UserBuilder::new("outsider").build())
        .await;
    let (status, mine) = tenant
        .scim_as(
            &token,
            Method::POST,
            "/Users",
            Some(UserBuilder::new("mine").build()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{mine}");
    let (_, list) = tenant.scim_as(&token, Method::GET, "/Users", None).await;
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["Resources"][0]["userName"], "mine");
    let (_, filtered) = tenant
        .scim_as(
            &token,
            Method::GET,
            "/Users?filter=userName%20eq%20%22outsider%22",
            None,
        )
        .await;
    assert_eq!(filtered["totalResults"], 0);
    let outsider_path = format!("/Users/{}", outsider["id"].as_str().unwrap());
    let (status, _) = tenant
        .scim_as(&token, Method::GET, &outsider_path, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = tenant
        .scim_as(
            &token,
            Method::PUT,
            &outsider_path,
            Some(UserBuilder::new("outsider").build()),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = tenant
        .scim_as(
            &token,
            Method::PATCH,
            &outsider_path,
            Some(patch_ops(
                json!([{"op": "replace", "path": "title", "value": "x"}]),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = tenant
        .scim_as(&token, Method::DELETE, &outsider_path, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, all) = tenant.get("/Users").await;
    assert_eq!(
        all["totalResults"], 2,
        "the Management Application sees everyone"
    );
}

async fn a_user_created_through_an_app_is_assigned_to_it(server: TestServer) {
    let tenant = server.tenant().await;
    let (created_app, token) = app(&tenant, "Creator", false).await;
    let (_, user) = tenant
        .scim_as(
            &token,
            Method::POST,
            "/Users",
            Some(UserBuilder::new("assigned").build()),
        )
        .await;
    assert_eq!(user[ROSTER]["apps"][0]["value"], created_app["id"]);
    assert_eq!(user[ROSTER]["apps"][0]["display"], "Creator");
    assert!(user[ROSTER]["apps"][0]["assignedAt"].is_string());
}

async fn an_apps_delete_unassigns_and_the_last_one_deletes_the_identity(server: TestServer) {
    let tenant = server.tenant().await;
    let (first, first_token) = app(&tenant, "First", false).await;
    let (second, second_token) = app(&tenant, "Second", false).await;
    let user = tenant
        .create_user(
            &UserBuilder::new("shared")
                .roster(json!({"apps": [{"value": first["id"]}, {"value": second["id"]}]}))
                .build(),
        )
        .await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    let (status, _) = tenant
        .scim_as(&first_token, Method::DELETE, &path, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = tenant.scim_as(&first_token, Method::GET, &path, None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "unassigned from the first app"
    );
    let (status, remaining) = tenant.get(&path).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the identity stays while an assignment is left"
    );
    assert_eq!(remaining[ROSTER]["apps"].as_array().unwrap().len(), 1);
    let (status, _) = tenant
        .scim_as(&second_token, Method::DELETE, &path, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = tenant.get(&path).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the last assignment took the identity"
    );
}

async fn management_assigns_apps_with_patch_and_each_app_sees_only_its_entry(server: TestServer) {
    let tenant = server.tenant().await;
    let (a, a_token) = app(&tenant, "A", false).await;
    let (b, _) = app(&tenant, "B", false).await;
    let user = tenant.create_user(&UserBuilder::new("multi").build()).await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    let (status, patched) = tenant.scim_as(tenant.token(),
        Method::PATCH,
        &path,
        Some(patch_ops(json!([{"op": "add", "path": format!("{ROSTER}:apps"), "value": [
            {"value": a["id"], "externalAccountId": "a-1"}, {"value": b["id"], "customAppData": {"tier": 2}}
        ]}]))),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched[ROSTER]["apps"].as_array().unwrap().len(), 2);
    let (_, seen_by_a) = tenant.scim_as(&a_token, Method::GET, &path, None).await;
    let entries = seen_by_a[ROSTER]["apps"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["externalAccountId"], "a-1");
    let (status, removed) = tenant.scim_as(tenant.token(),
        Method::PATCH,
        &path,
        Some(patch_ops(json!([{"op": "remove", "path": format!("{ROSTER}:apps[value eq \"{}\"]", a["id"].as_str().unwrap())}]))),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(
        removed[ROSTER]["apps"].as_array().map(Vec::len),
        Some(1),
        "{removed}"
    );
    let (status, _) = tenant.scim_as(&a_token, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn an_app_writes_only_its_own_entry(server: TestServer) {
    let tenant = server.tenant().await;
    let (a, a_token) = app(&tenant, "Writer", false).await;
    let (b, _) = app(&tenant, "Other", false).await;
    let (_, user) = tenant
        .scim_as(
            &a_token,
            Method::POST,
            "/Users",
            Some(UserBuilder::new("w").build()),
        )
        .await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    let entry = format!(
        "{ROSTER}:apps[value eq \"{}\"].customAppData",
        a["id"].as_str().unwrap()
    );
    let (status, patched) = tenant
        .scim_as(
            &a_token,
            Method::PATCH,
            &path,
            Some(patch_ops(
                json!([{"op": "replace", "path": entry, "value": {"theme": "dark"}}]),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        patched[ROSTER]["apps"][0]["customAppData"],
        json!({"theme": "dark"})
    );
    let (status, body) = tenant.scim_as(&a_token,
        Method::PATCH,
        &path,
        Some(patch_ops(
            json!([{"op": "add", "path": format!("{ROSTER}:apps"), "value": [{"value": b["id"]}]}]),
        )),
    )
    .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
}

async fn custom_app_data_limit_is_exact(server: TestServer) {
    let tenant = server.tenant().await;
    let (a, _) = app(&tenant, "Big", false).await;
    let sized = |size: usize| {
        let overhead = json!({"blob": ""}).to_string().len();
        json!({"blob": "x".repeat(size - overhead)})
    };
    let ok = tenant
        .create_user(
            &UserBuilder::new("fits")
                .roster(json!({"apps": [{"value": a["id"], "customAppData": sized(512_000)}]}))
                .build(),
        )
        .await;
    assert_eq!(
        ok[ROSTER]["apps"][0]["customAppData"].to_string().len(),
        512_000
    );
    let (status, body) = tenant
        .post(
            "/Users",
            &UserBuilder::new("over")
                .roster(json!({"apps": [{"value": a["id"], "customAppData": sized(512_001)}]}))
                .build(),
        )
        .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(body["detail"].as_str().unwrap().contains("512000"));
    let (_, list) = tenant.get("/Users?filter=userName%20eq%20%22over%22").await;
    assert_eq!(list["totalResults"], 0, "nothing is stored");
}

async fn assigning_a_foreign_app_is_refused(server: TestServer) {
    let (a, b) = (server.tenant().await, server.tenant().await);
    let (foreign, _) = app(&b, "Foreign", false).await;
    let (status, body) = a
        .post(
            "/Users",
            &UserBuilder::new("x")
                .roster(json!({"apps": [{"value": foreign["id"]}]}))
                .build(),
        )
        .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
}

async fn sign_in_makes_a_pending_user_active(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, token) = app(&tenant, "Login", false).await;
    let (_, user) = tenant
        .scim_as(
            &token,
            Method::POST,
            "/Users",
            Some(UserBuilder::new("life").build()),
        )
        .await;
    assert_eq!(user[ROSTER]["status"], "pending");
    let (status, signed_in) = tenant
        .v1_as(
            &token,
            Method::POST,
            "/signins",
            Some(json!({"user_name": "LIFE"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_eq!(signed_in["user"][ROSTER]["status"], "active");
    assert!(signed_in["user"][ROSTER]["lastSignIn"].is_string());
    assert!(signed_in["user"][ROSTER]["apps"][0]["lastSignIn"].is_string());
    let (_, fetched) = tenant
        .get(&format!("/Users/{}", user["id"].as_str().unwrap()))
        .await;
    assert_eq!(fetched[ROSTER]["status"], "active");
    assert_eq!(
        fetched[ROSTER]["lastSignIn"],
        signed_in["user"][ROSTER]["lastSignIn"]
    );
}

async fn disabled_users_cannot_sign_in(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, token) = app(&tenant, "Login", true).await;
    let (_, user) = tenant
        .scim_as(
            &token,
            Method::POST,
            "/Users",
            Some(UserBuilder::new("off").with("active", json!(false)).build()),
        )
        .await;
    assert_eq!(user[ROSTER]["status"], "disabled");
    let (status, body) = tenant
        .v1_as(
            &token,
            Method::POST,
            "/signins",
            Some(json!({"user_id": user["id"]})),
        )
        .await;
    assert_scim_error(status, &body, StatusCode::FORBIDDEN, None);
}

async fn unknown_users_sign_up_only_where_the_app_allows(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, closed) = app(&tenant, "Closed", false).await;
    let (_, open) = app(&tenant, "Open", true).await;
    let (status, body) = tenant
        .v1_as(
            &closed,
            Method::POST,
            "/signins",
            Some(json!({"email": "new@x.org"})),
        )
        .await;
    assert_scim_error(status, &body, StatusCode::NOT_FOUND, None);
    let (status, signed_up) = tenant
        .v1_as(
            &open,
            Method::POST,
            "/signins",
            Some(json!({"email": "new@x.org"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed_up}");
    assert_eq!(signed_up["user"]["userName"], "new@x.org");
    assert_eq!(signed_up["user"][ROSTER]["status"], "active");
    let (status, _) = tenant
        .v1_as(
            &open,
            Method::POST,
            "/signins",
            Some(json!({"email": "NEW@x.org"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = tenant.get("/Users").await;
    assert_eq!(
        list["totalResults"], 1,
        "the second sign-in finds the same user"
    );
}

async fn unassigned_users_are_assigned_only_where_the_app_allows(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, closed) = app(&tenant, "Closed", false).await;
    let (_, open) = app(&tenant, "Open", true).await;
    tenant.create_user(&UserBuilder::new("known").build()).await;
    let disabled = tenant.create_user(&UserBuilder::new("gone").build()).await;
    let (status, _) = tenant
        .put(
            &format!("/Users/{}", disabled["id"].as_str().expect("id")),
            &json!({"userName": "gone", "active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // A user the closed application cannot see is answered like one that does not
    // exist, whether it is enabled or not.
    let sign_in = |name: &'static str| {
        tenant.v1_as(
            &closed,
            Method::POST,
            "/signins",
            Some(json!({ "user_name": name })),
        )
    };
    let (status, nobody) = sign_in("nobody").await;
    assert_scim_error(status, &nobody, StatusCode::NOT_FOUND, None);
    for name in ["known", "gone"] {
        let (status, body) = sign_in(name).await;
        assert_eq!((status, &body), (StatusCode::NOT_FOUND, &nobody), "{name}");
    }
    let (status, signed_in) = tenant
        .v1_as(
            &open,
            Method::POST,
            "/signins",
            Some(json!({"user_name": "known"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(signed_in["user"][ROSTER]["apps"][0]["display"], "Open");
}

/// A sign-in body for a verified Google account.
fn google_sign_in(subject: &str, email: &str) -> Value {
    json!({"social": {"provider": "google", "subject": subject, "email": email,
        "email_verified": true, "given_name": "Gee", "family_name": "Mail"}})
}

async fn social_sign_in_links_the_account_and_finds_the_user_again(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, open) = app(&tenant, "Social", true).await;
    let social = google_sign_in("1234567890", "g@gmail.test");
    let (status, first) = tenant
        .v1_as(&open, Method::POST, "/signins", Some(social.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let accounts = &first["user"][ROSTER]["socialAccounts"];
    assert_eq!(accounts[0]["provider"], "google");
    assert_eq!(accounts[0]["subject"], "1234567890");
    let (_, second) = tenant
        .v1_as(&open, Method::POST, "/signins", Some(social))
        .await;
    assert_eq!(second["user"]["id"], first["user"]["id"]);
    assert_eq!(
        second["user"][ROSTER]["socialAccounts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// A point read (by id, or a filter an index answers) reads a user's assignments,
/// social accounts and groups with its row; a list page loads them in batches.
/// Both must render the same resource.
async fn a_look_up_and_a_list_page_show_a_user_alike(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, social_token) = app(&tenant, "Social", true).await;
    let (other, _) = app(&tenant, "Other", false).await;
    let social = google_sign_in("alike-1", "alike@gmail.test");
    let (status, signed_in) = tenant
        .v1_as(&social_token, Method::POST, "/signins", Some(social))
        .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let id = signed_in["user"]["id"].as_str().unwrap().to_owned();
    let user_name = signed_in["user"]["userName"].as_str().unwrap().to_owned();
    let (status, patched) = tenant
        .scim_as(
            tenant.token(),
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(patch_ops(
                json!([{"op": "add", "path": format!("{ROSTER}:apps"), "value": [
                    {"value": other["id"], "customAppData": {"tier": 2}, "consents": {"news": true}}
                ]}]),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let (status, group) = tenant
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Alike", "members": [{"value": id}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");

    let (_, by_id) = tenant.get(&format!("/Users/{id}")).await;
    let filtered = |filter: String| {
        let tenant = &tenant;
        async move {
            let (status, page) = tenant
                .get(&format!(
                    "/Users?filter={}",
                    crate::queries::urlencode(&filter)
                ))
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            assert_eq!(page["totalResults"], 1, "{filter}: {page}");
            page["Resources"][0].clone()
        }
    };
    let by_user_name = filtered(format!("userName eq \"{user_name}\"")).await;
    let from_a_scan = filtered(format!("userName sw \"{user_name}\"")).await;
    let extension = &by_id[ROSTER];
    assert_eq!(
        extension["apps"].as_array().map(Vec::len),
        Some(2),
        "{by_id}"
    );
    assert_eq!(
        extension["apps"][1]["customAppData"],
        json!({"tier": 2}),
        "{by_id}"
    );
    assert_eq!(
        extension["socialAccounts"][0]["subject"], "alike-1",
        "{by_id}"
    );
    assert_eq!(by_id["groups"][0]["value"], group["id"], "{by_id}");
    assert_eq!(by_user_name, by_id);
    assert_eq!(from_a_scan, by_id);
}

async fn sign_in_claims_carry_the_identity(server: TestServer) {
    let tenant = server.tenant().await;
    let (_, token) = app(&tenant, "Claims", false).await;
    let body = UserBuilder::new("claims@x.org")
        .name("Clara", "Ims")
        .email("clara@x.org", "work")
        .with(
            "phoneNumbers",
            json!([{"value": "+1 555 0101", "primary": true}]),
        )
        .roster(json!({"birthday": "1990-04-01"}))
        .build();
    let (_, user) = tenant
        .scim_as(&token, Method::POST, "/Users", Some(body))
        .await;
    let (_, signed_in) = tenant
        .v1_as(
            &token,
            Method::POST,
            "/signins",
            Some(json!({"user_id": user["id"]})),
        )
        .await;
    let claims = &signed_in["claims"];
    assert_eq!(claims["sub"], user["id"]);
    assert_eq!(claims["name"], "Clara Ims");
    assert_eq!(claims["given_name"], "Clara");
    assert_eq!(claims["family_name"], "Ims");
    assert_eq!(claims["email"], "clara@x.org");
    assert_eq!(claims["email_verified"], false);
    assert_eq!(claims["phone_number"], "+1 555 0101");
    assert_eq!(claims["birthdate"], "1990-04-01");
    assert_eq!(claims["preferred_username"], "claims@x.org");
    assert!(claims["groups"].is_array());
    let (status, body) = tenant
        .v1_as(
            &token,
            Method::POST,
            "/signins",
            Some(json!({"user_id": user["id"], "email": "x"})),
        )
        .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
}

async fn sign_ins_cannot_reach_another_tenants_users(server: TestServer) {
    let (a, b) = (server.tenant().await, server.tenant().await);
    let (_, b_open) = app(&b, "Open", true).await;
    let user = a.create_user(&UserBuilder::new("a-user").build()).await;
    let (status, body) = b
        .v1_as(
            &b_open,
            Method::POST,
            "/signins",
            Some(json!({"user_id": user["id"]})),
        )
        .await;
    assert_scim_error(status, &body, StatusCode::NOT_FOUND, None);
    let (status, signed_up) = b
        .v1_as(
            &b_open,
            Method::POST,
            "/signins",
            Some(json!({"user_name": "a-user"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(
        signed_up["user"]["id"], user["id"],
        "a tenant's user is never another's"
    );
}
