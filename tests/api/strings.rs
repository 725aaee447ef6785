//! The text rules of users and groups (indexed lengths, control and invisible
//! characters, look-alike userNames), the re-fold of stored keys, and tokens of
//! deleted applications: the same answers on both stores.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use roster::domain::DomainError;
use roster::domain::users::{UserInput, create_user};
use roster::store::Scope;
use roster::store::refold::refold_if_needed;

use crate::on_both_backends;
use crate::queries::urlencode;
use crate::support::{Tenant, TestServer, UserBuilder, assert_scim_error, read, scim_body};

/// `roster::text_rules::MAX_INDEXED_CHARS`, as documented in the README.
const MAX_INDEXED_CHARS: usize = 1024;
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

on_both_backends!(
    indexed_strings_over_the_limit_are_invalid_value_everywhere,
    indexed_strings_at_the_limit_are_stored,
    control_characters_are_invalid_value_except_line_breaks_in_formatted_addresses,
    look_alike_user_names_are_one_user_and_invisible_characters_are_refused,
    stored_keys_of_an_earlier_fold_are_refolded,
    a_deleted_applications_tokens_answer_401,
    nul_in_ids_sign_ins_and_app_names_is_a_client_error,
);

/// An application that allows sign-up on sign-in: its id and a SCIM token of its own.
async fn app(tenant: &Tenant) -> (String, String) {
    let (app, token) = tenant.create_app("Portal", true).await;
    (app["id"].as_str().expect("app id").to_owned(), token)
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

fn group(name: &str) -> Value {
    json!({"schemas": [GROUP], "displayName": name})
}

fn assert_invalid_value_naming(status: StatusCode, body: &Value, attribute: &str) {
    assert_scim_error(status, body, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(&format!("'{attribute}'")), "{detail}");
}

async fn healthy(server: &TestServer) {
    let response = server.anonymous(Method::GET, "/healthz").send().await;
    assert_eq!(response.expect("answers").status(), StatusCode::OK);
}

async fn indexed_strings_over_the_limit_are_invalid_value_everywhere(server: TestServer) {
    let tenant = server.tenant().await;
    let long = "x".repeat(10_000);
    let just_over = "y".repeat(MAX_INDEXED_CHARS + 1);
    for (body, attribute) in [
        (UserBuilder::new(&long).build(), "userName"),
        (UserBuilder::new(&just_over).build(), "userName"),
        (
            UserBuilder::new("u1")
                .with("externalId", json!(long))
                .build(),
            "externalId",
        ),
        (
            UserBuilder::new("u2")
                .email(&format!("{long}@x.org"), "work")
                .build(),
            "emails.value",
        ),
        (
            UserBuilder::new("u3")
                .with("roles", json!([{"value": long}]))
                .build(),
            "roles.value",
        ),
        (
            UserBuilder::new("u4")
                .with("userName", json!("é".repeat(MAX_INDEXED_CHARS + 1)))
                .build(),
            "userName",
        ),
    ] {
        let (status, answer) = tenant.post("/Users", &body).await;
        assert_invalid_value_naming(status, &answer, attribute);
    }
    for (body, attribute) in [
        (group(&long), "displayName"),
        (
            json!({"schemas": [GROUP], "displayName": "g", "externalId": long}),
            "externalId",
        ),
    ] {
        let (status, answer) = tenant.post("/Groups", &body).await;
        assert_invalid_value_naming(status, &answer, attribute);
    }
    let user = tenant.create_user(&UserBuilder::new("kept").build()).await;
    let user_path = format!("/Users/{}", user["id"].as_str().unwrap_or_default());
    let (status, answer) = tenant
        .put(&user_path, &UserBuilder::new(&long).build())
        .await;
    assert_invalid_value_naming(status, &answer, "userName");
    let (status, answer) = patch(
        &tenant,
        &user_path,
        json!([{"op": "add", "path": "emails", "value": [{"value": long}]}]),
    )
    .await;
    assert_invalid_value_naming(status, &answer, "emails.value");
    let (status, created) = tenant.post("/Groups", &group("team")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let group_path = format!("/Groups/{}", created["id"].as_str().unwrap_or_default());
    let (status, answer) = patch(
        &tenant,
        &group_path,
        json!([{"op": "replace", "path": "displayName", "value": long}]),
    )
    .await;
    assert_invalid_value_naming(status, &answer, "displayName");
    let (_, token) = app(&tenant).await;
    let (status, answer) = tenant
        .v1_as(
            &token,
            Method::POST,
            "/signins",
            Some(json!({"user_name": long})),
        )
        .await;
    assert_invalid_value_naming(status, &answer, "userName");
    let (status, answer) = tenant
        .v1_as(
            &token,
            Method::POST,
            "/signins",
            Some(json!({"email": format!("{long}@x.org")})),
        )
        .await;
    assert_scim_error(
        status,
        &answer,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    );
    let (_, list) = tenant.get("/Users").await;
    assert_eq!(list["totalResults"], 1, "only 'kept' was written: {list}");
    assert_eq!(tenant.get(&user_path).await.1["userName"], "kept");
    healthy(&server).await;
}

async fn indexed_strings_at_the_limit_are_stored(server: TestServer) {
    let tenant = server.tenant().await;
    // Two bytes a character: the most bytes a folded indexed string may have.
    let accented = "é".repeat(MAX_INDEXED_CHARS);
    let at_limit = "a".repeat(MAX_INDEXED_CHARS);
    let user = tenant
        .create_user(
            &UserBuilder::new(&accented)
                .with("externalId", json!(accented))
                .email(
                    &format!("{}@x.org", "b".repeat(MAX_INDEXED_CHARS - 6)),
                    "work",
                )
                .build(),
        )
        .await;
    assert_eq!(user["userName"], accented.as_str());
    tenant
        .create_user(&UserBuilder::new(&at_limit).build())
        .await;
    let (status, created) = tenant.post("/Groups", &group(&accented)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let filter = urlencode(&format!("userName eq \"{}\"", accented.to_uppercase()));
    let (status, found) = tenant.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["totalResults"], 1, "{found}");
}

async fn control_characters_are_invalid_value_except_line_breaks_in_formatted_addresses(
    server: TestServer,
) {
    let tenant = server.tenant().await;
    for (body, attribute) in [
        (UserBuilder::new("nul\u{0}name").build(), "userName"),
        (
            UserBuilder::new("n1")
                .with("title", json!("a\u{0}b"))
                .build(),
            "title",
        ),
        (
            UserBuilder::new("n2").name("Bar\u{0}bara", "J").build(),
            "name.givenName",
        ),
        (
            UserBuilder::new("n3").email("a\u{0}@x.org", "work").build(),
            "emails.value",
        ),
        (
            UserBuilder::new("n4")
                .with("externalId", json!("e\u{1b}"))
                .build(),
            "externalId",
        ),
        (
            UserBuilder::new("n5")
                .with("displayName", json!("two\nlines"))
                .build(),
            "displayName",
        ),
        (
            UserBuilder::new("n6")
                .with("addresses", json!([{"streetAddress": "1 Main\u{0} St"}]))
                .build(),
            "addresses.streetAddress",
        ),
    ] {
        let (status, answer) = tenant.post("/Users", &body).await;
        assert_invalid_value_naming(status, &answer, attribute);
    }
    let (status, answer) = tenant.post("/Groups", &group("g\u{0}")).await;
    assert_invalid_value_naming(status, &answer, "displayName");
    let user = tenant
        .create_user(
            &UserBuilder::new("mailing")
                .with(
                    "addresses",
                    json!([{"formatted": "1 Main St\r\nSpringfield\tIL"}]),
                )
                .build(),
        )
        .await;
    assert_eq!(
        user["addresses"][0]["formatted"],
        "1 Main St\r\nSpringfield\tIL"
    );
    let user_path = format!("/Users/{}", user["id"].as_str().unwrap_or_default());
    let (status, answer) = patch(
        &tenant,
        &user_path,
        json!([{"op": "replace", "path": "nickName", "value": "\u{0}"}]),
    )
    .await;
    assert_invalid_value_naming(status, &answer, "nickName");
    let filter = urlencode("userName eq \"a\\u0000b\"");
    let (status, answer) = tenant.get(&format!("/Users?filter={filter}")).await;
    assert_scim_error(
        status,
        &answer,
        StatusCode::BAD_REQUEST,
        Some("invalidFilter"),
    );
    healthy(&server).await;
}

async fn look_alike_user_names_are_one_user_and_invisible_characters_are_refused(
    server: TestServer,
) {
    let tenant = server.tenant().await;
    tenant.create_user(&UserBuilder::new("josé").build()).await;
    tenant.create_user(&UserBuilder::new("admin").build()).await;
    for look_alike in ["jose\u{301}", "JOSE\u{301}", "ａdmin", "ＡＤＭＩＮ"] {
        let (status, answer) = tenant
            .post("/Users", &UserBuilder::new(look_alike).build())
            .await;
        assert_scim_error(status, &answer, StatusCode::CONFLICT, Some("uniqueness"));
    }
    for invisible in [
        "ali\u{200b}ce",
        "admin\u{200d}",
        "\u{202e}nimda",
        "ad\u{ad}min",
        "admin\u{fe0f}",
    ] {
        let (status, answer) = tenant
            .post("/Users", &UserBuilder::new(invisible).build())
            .await;
        assert_invalid_value_naming(status, &answer, "userName");
        assert!(
            answer["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("invisible"),
            "{answer}"
        );
    }
    // "admin" with a space at an end, or a space that only looks like U+0020.
    for spaced in ["admin ", " admin", "ad\u{a0}min", "ad\u{2009}min", "   "] {
        let (status, answer) = tenant
            .post("/Users", &UserBuilder::new(spaced).build())
            .await;
        assert_invalid_value_naming(status, &answer, "userName");
        assert!(
            answer["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("plain space"),
            "{answer}"
        );
    }
    for (filter, expected) in [
        ("userName eq \"ＡDMIN\"", "admin"),
        ("userName eq \"JOSE\u{301}\"", "josé"),
        ("userName sw \"Ｊos\"", "josé"),
    ] {
        let (status, found) = tenant
            .get(&format!("/Users?filter={}", urlencode(filter)))
            .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found["totalResults"], 1, "{filter}: {found}");
        assert_eq!(found["Resources"][0]["userName"], expected);
    }
    let (status, _) = tenant.post("/Groups", &group("Ｅngineering")).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, answer) = tenant.post("/Groups", &group("engineering")).await;
    assert_scim_error(status, &answer, StatusCode::CONFLICT, Some("uniqueness"));
    let (_, token) = app(&tenant).await;
    let (status, signed_in) = tenant
        .v1_as(
            &token,
            Method::POST,
            "/signins",
            Some(json!({"user_name": "ＪＯＳＥ\u{301}"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    assert_eq!(signed_in["user"]["userName"], "josé");
    let (status, answer) = tenant
        .v1_as(
            &token,
            Method::POST,
            "/signins",
            Some(json!({"user_name": "bo\u{200b}b"})),
        )
        .await;
    assert_invalid_value_naming(status, &answer, "userName");
}

/// Runs `sql` in the test's store.
fn execute(server: &TestServer, sql: &str) {
    use diesel::RunQueryDsl;
    let sql = sql.to_owned();
    server
        .store
        .write_blocking(move |conn| {
            roster::with_conn!(conn, c => diesel::sql_query(&sql).execute(c))
                .map_err(roster::store::StoreError::from)
        })
        .expect("statement runs");
}

async fn stored_keys_of_an_earlier_fold_are_refolded(server: TestServer) {
    let tenant = server.tenant().await;
    let composed = tenant
        .create_user(
            &UserBuilder::new("Renée")
                .email("Renée@x.org", "work")
                .build(),
        )
        .await;
    let wide = tenant
        .create_user(&UserBuilder::new("ｗｉｄｅ").build())
        .await;
    let (_, team) = tenant.post("/Groups", &group("Équipe")).await;
    // What the earlier fold (lower case alone) wrote: decomposed and wide keys.
    let renee_id = composed["id"].as_str().unwrap_or_default();
    let wide_id = wide["id"].as_str().unwrap_or_default();
    let team_id = team["id"].as_str().unwrap_or_default();
    execute(
        &server,
        &format!("UPDATE users SET user_name_ci = 'rene\u{301}e' WHERE id = '{renee_id}'"),
    );
    execute(
        &server,
        &format!(
            "UPDATE user_values SET value_ci = 'rene\u{301}e@x.org' WHERE user_id = '{renee_id}'"
        ),
    );
    execute(
        &server,
        &format!("UPDATE users SET user_name_ci = 'ｗｉｄｅ' WHERE id = '{wide_id}'"),
    );
    execute(
        &server,
        &format!("UPDATE groups SET display_name_ci = 'e\u{301}quipe' WHERE id = '{team_id}'"),
    );
    let count = |filter: &str| {
        let tenant = tenant.clone();
        let path = format!("/Users?filter={}", urlencode(filter));
        async move { tenant.get(&path).await.1["totalResults"].clone() }
    };
    assert_eq!(
        count("userName eq \"renée\"").await,
        0,
        "the stale key is not found"
    );
    // The recorded fold is the current one: nothing to do until the record says otherwise.
    let store = server.store.clone();
    let refold = move || {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.write_blocking(refold_if_needed))
    };
    assert_eq!(refold().await.expect("join").expect("refold"), None);
    execute(&server, "DELETE FROM store_settings");
    let refolded = refold().await.expect("join").expect("refold").expect("ran");
    assert_eq!(
        (refolded.users, refolded.groups, refolded.conflicts),
        (2, 1, 0)
    );
    assert_eq!(count("userName eq \"RENÉE\"").await, 1);
    assert_eq!(count("emails.value eq \"renée@x.org\"").await, 1);
    assert_eq!(count("userName eq \"wide\"").await, 1);
    let (status, answer) = tenant.post("/Groups", &group("équipe")).await;
    assert_scim_error(status, &answer, StatusCode::CONFLICT, Some("uniqueness"));
    // Two users the new fold makes one: the second keeps its old key and stays readable.
    let twin = tenant.create_user(&UserBuilder::new("twin").build()).await;
    let twin_id = twin["id"].as_str().unwrap_or_default();
    execute(
        &server,
        &format!(
            "UPDATE users SET attributes = replace(attributes, '\"twin\"', '\"Renée\"'), user_name_ci = 'renée-old' WHERE id = '{twin_id}'"
        ),
    );
    execute(&server, "DELETE FROM store_settings");
    let refolded = refold().await.expect("join").expect("refold").expect("ran");
    assert_eq!(refolded.conflicts, 1, "{refolded:?}");
    assert_eq!(
        tenant.get(&format!("/Users/{twin_id}")).await.0,
        StatusCode::OK
    );
    assert_eq!(refold().await.expect("join").expect("refold"), None);
}

async fn a_deleted_applications_tokens_answer_401(server: TestServer) {
    let tenant = server.tenant().await;
    let (app_id, token) = app(&tenant).await;
    let post = |name: &'static str| {
        let tenant = tenant.clone();
        let token = token.clone();
        async move {
            let request = tenant
                .client
                .request(Method::POST, format!("{}/scim/v2/Users", tenant.base))
                .bearer_auth(&token);
            read(
                scim_body(request, &UserBuilder::new(name).build())
                    .send()
                    .await
                    .expect("request"),
            )
            .await
        }
    };
    let (status, created) = post("before").await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, _) = tenant
        .v1_as(
            tenant.token(),
            Method::DELETE,
            &format!("/apps/{app_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, answer) = post("after").await;
    assert_scim_error(status, &answer, StatusCode::UNAUTHORIZED, None);
    // Another instance may still hold the token in its cache: the write itself refuses.
    let scope = Scope::new(
        tenant.credentials.tenant_id.as_str().into(),
        app_id.as_str().into(),
        false,
    );
    let input = UserInput {
        attributes: json!({"userName": "cached"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        password: None,
        roster: None,
    };
    let result = create_user(&server.store, &scope, input).await;
    assert!(
        matches!(result, Err(DomainError::Unauthorized(_))),
        "{result:?}"
    );
    let filter = urlencode("userName eq \"cached\" or userName eq \"after\"");
    let (_, list) = tenant.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(list["totalResults"], 0, "{list}");
}

async fn nul_in_ids_sign_ins_and_app_names_is_a_client_error(server: TestServer) {
    let tenant = server.tenant().await;
    for path in ["/Users/a%00b", "/Groups/a%00b"] {
        let (status, answer) = tenant.get(path).await;
        assert_scim_error(status, &answer, StatusCode::NOT_FOUND, None);
        let (status, answer) = patch(
            &tenant,
            path,
            json!([{"op": "replace", "path": "displayName", "value": "x"}]),
        )
        .await;
        assert_scim_error(status, &answer, StatusCode::NOT_FOUND, None);
        assert_eq!(tenant.delete(path).await, StatusCode::NOT_FOUND);
    }
    let (status, answer) = tenant
        .v1_as(tenant.token(), Method::GET, "/apps/a%00b", None)
        .await;
    assert_scim_error(status, &answer, StatusCode::NOT_FOUND, None);
    let (status, answer) = tenant
        .v1_as(
            tenant.token(),
            Method::POST,
            "/apps",
            Some(json!({"name": "bad\u{0}name"})),
        )
        .await;
    assert_scim_error(
        status,
        &answer,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    );
    let (status, answer) = tenant
        .v1_as(
            tenant.token(),
            Method::GET,
            "/audit-events?resource_id=a%00b",
            None,
        )
        .await;
    assert_scim_error(
        status,
        &answer,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    );
    // A cursor rebuilt with NUL in its position is refused like any forged cursor.
    tenant.create_user(&UserBuilder::new("c1").build()).await;
    tenant.create_user(&UserBuilder::new("c2").build()).await;
    let (status, page) = tenant.get("/Users?cursor=&count=1").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let issued = page["nextCursor"].as_str().unwrap_or_default();
    let decoded = URL_SAFE_NO_PAD.decode(issued).unwrap_or_default();
    let mut position: Value = serde_json::from_slice(&decoded).unwrap_or_default();
    position["i"] = json!("a\u{0}b");
    let forged = URL_SAFE_NO_PAD.encode(position.to_string());
    let (status, answer) = tenant.get(&format!("/Users?count=1&cursor={forged}")).await;
    assert_scim_error(
        status,
        &answer,
        StatusCode::BAD_REQUEST,
        Some("invalidCursor"),
    );
    let (_, token) = app(&tenant).await;
    for body in [
        json!({"user_name": "a\u{0}b"}),
        json!({"email": "a\u{0}@x.org"}),
        json!({"user_id": "a\u{0}b"}),
    ] {
        let (status, answer) = tenant
            .v1_as(&token, Method::POST, "/signins", Some(body))
            .await;
        assert_scim_error(
            status,
            &answer,
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
        );
    }
    healthy(&server).await;
}
