//! SCIM Users CRUD (RFC 7644 §3.3, §3.4.1, §3.5.1, §3.6).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{TestServer, UserBuilder, assert_scim_error, read};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ROSTER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";

on_both_backends!(
    create_returns_201_with_id_meta_location_and_etag,
    get_returns_what_create_returned,
    full_core_schema_round_trips,
    enterprise_manager_must_be_a_user_and_gets_its_display_name,
    put_replaces_attributes_and_bumps_version,
    put_with_identical_body_keeps_version,
    delete_removes_the_user,
    user_name_is_unique_case_insensitively,
    put_to_a_taken_user_name_is_a_conflict,
    password_is_stored_hashed_and_never_returned,
    client_sent_id_and_meta_are_ignored,
    list_pages_with_start_index_and_count,
    custom_data_and_birthday_round_trip,
    custom_data_at_the_limit_is_accepted_and_one_byte_over_is_refused,
    put_without_roster_schema_keeps_roster_fields,
    changes_are_recorded_in_the_audit_log,
    if_match_with_a_stale_version_is_refused,
);

async fn create_returns_201_with_id_meta_location_and_etag(server: TestServer) {
    let tenant = server.tenant().await;
    let response = crate::support::scim_body(
        tenant.scim(Method::POST, "/Users"),
        &UserBuilder::new("bjensen").build(),
    )
    .send()
    .await
    .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let (status, user) = read(response).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = user["id"].as_str().expect("id");
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_eq!(user["userName"], "bjensen");
    assert_eq!(user["meta"]["resourceType"], "User");
    assert_eq!(user["meta"]["location"], location);
    assert!(location.ends_with(&format!("/scim/v2/Users/{id}")));
    assert_eq!(user["meta"]["version"], etag);
    assert_eq!(etag, "W/\"1\"");
    assert_eq!(user["meta"]["created"], user["meta"]["lastModified"]);
    assert_eq!(content_type, "application/scim+json");
    assert_eq!(user[ROSTER]["status"], "pending");
}

async fn get_returns_what_create_returned(server: TestServer) {
    let tenant = server.tenant().await;
    let created = tenant
        .create_user(
            &UserBuilder::new("alice")
                .name("Alice", "Liddell")
                .email("alice@example.com", "work")
                .build(),
        )
        .await;
    let (status, fetched) = tenant
        .get(&format!("/Users/{}", created["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, created);
}

fn full_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": "bjensen@example.com",
        "externalId": "701984",
        "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen", "givenName": "Barbara",
                 "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"},
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "profileUrl": "https://login.example.com/bjensen",
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                   {"value": "babs@jensen.org", "type": "home"}],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
                       "region": "CA", "postalCode": "91608", "country": "USA",
                       "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA", "primary": true}],
        "phoneNumbers": [{"value": "555-555-5555", "type": "work"}, {"value": "555-555-4444", "type": "mobile"}],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "photos": [{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"}],
        "userType": "Employee",
        "title": "Tour Guide",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": true,
        "entitlements": [{"value": "Standard", "display": "Standard"}],
        "roles": [{"value": "Manager", "type": "job", "primary": true}],
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}],
        ENTERPRISE: {"employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
                     "division": "Theme Park", "department": "Tour Operations"}
    })
}

async fn full_core_schema_round_trips(server: TestServer) {
    let tenant = server.tenant().await;
    let sent = full_user();
    let created = tenant.create_user(&sent).await;
    for (key, value) in sent.as_object().unwrap() {
        if key == "schemas" {
            continue;
        }
        assert_eq!(&created[key], value, "attribute {key} changed on the way");
    }
    assert!(
        created["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!(ENTERPRISE))
    );
}

async fn enterprise_manager_must_be_a_user_and_gets_its_display_name(server: TestServer) {
    let tenant = server.tenant().await;
    let boss = tenant
        .create_user(
            &UserBuilder::new("boss")
                .with("displayName", json!("The Boss"))
                .build(),
        )
        .await;
    let boss_id = boss["id"].as_str().unwrap();
    let employee = tenant
        .create_user(
            &UserBuilder::new("employee")
                .enterprise(json!({"manager": {"value": boss_id}}))
                .build(),
        )
        .await;
    assert_eq!(employee[ENTERPRISE]["manager"]["value"], boss_id);
    assert_eq!(employee[ENTERPRISE]["manager"]["displayName"], "The Boss");

    let (status, body) = tenant
        .post(
            "/Users",
            &UserBuilder::new("orphan")
                .enterprise(json!({"manager": {"value": "no-such-user"}}))
                .build(),
        )
        .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(body["detail"].as_str().unwrap().contains("manager"));
}

async fn put_replaces_attributes_and_bumps_version(server: TestServer) {
    let tenant = server.tenant().await;
    let created = tenant
        .create_user(
            &UserBuilder::new("carol")
                .with("title", json!("Engineer"))
                .email("c@x.org", "work")
                .build(),
        )
        .await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let (status, replaced) = tenant
        .put(
            &path,
            &UserBuilder::new("carol")
                .with("displayName", json!("Carol"))
                .build(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["displayName"], "Carol");
    assert!(
        replaced.get("title").is_none(),
        "PUT must clear attributes it does not carry"
    );
    assert!(replaced.get("emails").is_none());
    assert_eq!(replaced["meta"]["version"], "W/\"2\"");
    assert_eq!(replaced["meta"]["created"], created["meta"]["created"]);
    let (_, fetched) = tenant.get(&path).await;
    assert_eq!(fetched, replaced);
}

async fn put_with_identical_body_keeps_version(server: TestServer) {
    let tenant = server.tenant().await;
    let body = UserBuilder::new("dave")
        .with("title", json!("Chef"))
        .build();
    let created = tenant.create_user(&body).await;
    let (status, replaced) = tenant
        .put(
            &format!("/Users/{}", created["id"].as_str().unwrap()),
            &body,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replaced["meta"]["version"], created["meta"]["version"]);
}

async fn delete_removes_the_user(server: TestServer) {
    let tenant = server.tenant().await;
    let created = tenant.create_user(&UserBuilder::new("erin").build()).await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    assert_eq!(tenant.delete(&path).await, StatusCode::NO_CONTENT);
    let (status, body) = tenant.get(&path).await;
    assert_scim_error(status, &body, StatusCode::NOT_FOUND, None);
    assert_eq!(tenant.delete(&path).await, StatusCode::NOT_FOUND);
    // The userName is free again.
    tenant.create_user(&UserBuilder::new("erin").build()).await;
}

async fn user_name_is_unique_case_insensitively(server: TestServer) {
    let tenant = server.tenant().await;
    tenant
        .create_user(&UserBuilder::new("Frank@Example.com").build())
        .await;
    let (status, body) = tenant
        .post("/Users", &UserBuilder::new("frank@EXAMPLE.com").build())
        .await;
    assert_scim_error(status, &body, StatusCode::CONFLICT, Some("uniqueness"));
    let (_, list) = tenant.get("/Users").await;
    assert_eq!(list["totalResults"], 1, "nothing half-written may stay");
}

async fn put_to_a_taken_user_name_is_a_conflict(server: TestServer) {
    let tenant = server.tenant().await;
    tenant.create_user(&UserBuilder::new("gina").build()).await;
    let other = tenant.create_user(&UserBuilder::new("hank").build()).await;
    let path = format!("/Users/{}", other["id"].as_str().unwrap());
    let (status, body) = tenant.put(&path, &UserBuilder::new("GINA").build()).await;
    assert_scim_error(status, &body, StatusCode::CONFLICT, Some("uniqueness"));
    let (_, fetched) = tenant.get(&path).await;
    assert_eq!(fetched["userName"], "hank");
}

async fn password_is_stored_hashed_and_never_returned(server: TestServer) {
    let tenant = server.tenant().await;
    let created = tenant
        .create_user(
            &UserBuilder::new("ivan")
                .with("password", json!("t1meToRock!"))
                .build(),
        )
        .await;
    assert!(created.get("password").is_none());
    let id = created["id"].as_str().unwrap().to_owned();
    let (_, fetched) = tenant.get(&format!("/Users/{id}")).await;
    assert!(fetched.get("password").is_none());
    let stored = stored_password_hash(&server, &id)
        .await
        .expect("a hash is stored");
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains("t1meToRock!"));
}

async fn stored_password_hash(server: &TestServer, id: &str) -> Option<String> {
    use diesel::prelude::*;
    use roster::store::schema::users;
    let id = id.to_owned();
    server
        .store
        .read(move |conn| {
            let hash: Option<String> = roster::with_conn!(conn, c => users::table
                .filter(users::id.eq(&id))
                .select(users::password_hash)
                .first(c))
            .map_err(roster::store::StoreError::from)?;
            Ok::<_, roster::store::StoreError>(hash)
        })
        .await
        .expect("read")
}

async fn client_sent_id_and_meta_are_ignored(server: TestServer) {
    let tenant = server.tenant().await;
    let created = tenant
        .create_user(
            &UserBuilder::new("judy")
                .with("id", json!("my-own-id"))
                .with(
                    "meta",
                    json!({"resourceType": "User", "created": "2001-01-01T00:00:00Z"}),
                )
                .build(),
        )
        .await;
    assert_ne!(created["id"], "my-own-id");
    assert_ne!(created["meta"]["created"], "2001-01-01T00:00:00Z");
}

async fn list_pages_with_start_index_and_count(server: TestServer) {
    let tenant = server.tenant().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let user = tenant
            .create_user(&UserBuilder::new(&format!("user{i}")).build())
            .await;
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let (status, page) = tenant
            .get(&format!("/Users?startIndex={start}&count=3"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            page["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:ListResponse"
        );
        assert_eq!(page["totalResults"], 7);
        assert_eq!(page["startIndex"], start);
        let resources = page["Resources"].as_array().unwrap();
        assert_eq!(page["itemsPerPage"], resources.len());
        if resources.is_empty() {
            break;
        }
        seen.extend(
            resources
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned()),
        );
        start += 3;
    }
    assert_eq!(seen, ids, "every user once, in creation order");
    let (_, counted) = tenant.get("/Users?count=0").await;
    assert_eq!(counted["totalResults"], 7);
    assert_eq!(counted["Resources"], json!([]));
}

async fn custom_data_and_birthday_round_trip(server: TestServer) {
    let tenant = server.tenant().await;
    let custom = json!({"plan": "gold", "limits": {"seats": 5}, "tags": ["a", "b"]});
    let created = tenant
        .create_user(
            &UserBuilder::new("kim")
                .roster(json!({"customData": custom, "birthday": "1990-04-01"}))
                .build(),
        )
        .await;
    assert_eq!(created[ROSTER]["customData"], custom);
    assert_eq!(created[ROSTER]["birthday"], "1990-04-01");
    let (_, fetched) = tenant
        .get(&format!("/Users/{}", created["id"].as_str().unwrap()))
        .await;
    assert_eq!(fetched[ROSTER]["customData"], custom);
}

/// A customData object whose compact JSON is exactly `size` bytes.
fn custom_data_of_size(size: usize) -> Value {
    let overhead = json!({"blob": ""}).to_string().len();
    json!({"blob": "x".repeat(size - overhead)})
}

async fn custom_data_at_the_limit_is_accepted_and_one_byte_over_is_refused(server: TestServer) {
    let tenant = server.tenant().await;
    let at_limit = custom_data_of_size(512_000);
    assert_eq!(at_limit.to_string().len(), 512_000);
    let created = tenant
        .create_user(
            &UserBuilder::new("big")
                .roster(json!({"customData": at_limit}))
                .build(),
        )
        .await;
    assert_eq!(created[ROSTER]["customData"].to_string().len(), 512_000);

    let (status, body) = tenant
        .post(
            "/Users",
            &UserBuilder::new("bigger")
                .roster(json!({"customData": custom_data_of_size(512_001)}))
                .build(),
        )
        .await;
    assert_scim_error(status, &body, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert!(
        body["detail"].as_str().unwrap().contains("512000"),
        "{body}"
    );
    let (_, list) = tenant.get("/Users").await;
    assert_eq!(list["totalResults"], 1);
}

async fn put_without_roster_schema_keeps_roster_fields(server: TestServer) {
    let tenant = server.tenant().await;
    let created = tenant
        .create_user(
            &UserBuilder::new("lee")
                .roster(json!({"customData": {"k": 1}, "birthday": "2000-02-29"}))
                .build(),
        )
        .await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let (status, replaced) = tenant
        .put(
            &path,
            &UserBuilder::new("lee").with("title", json!("Boss")).build(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replaced[ROSTER]["customData"], json!({"k": 1}));
    assert_eq!(replaced[ROSTER]["birthday"], "2000-02-29");
    assert_eq!(replaced["title"], "Boss");

    let (_, cleared) = tenant
        .put(
            &path,
            &UserBuilder::new("lee")
                .roster(json!({"customData": {"k": 2}}))
                .build(),
        )
        .await;
    assert_eq!(cleared[ROSTER]["customData"], json!({"k": 2}));
    assert!(
        cleared[ROSTER].get("birthday").is_none(),
        "naming the extension replaces it"
    );
}

async fn changes_are_recorded_in_the_audit_log(server: TestServer) {
    let tenant = server.tenant().await;
    let created = tenant.create_user(&UserBuilder::new("mia").build()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    tenant
        .put(&format!("/Users/{id}"), &UserBuilder::new("mia2").build())
        .await;
    tenant.delete(&format!("/Users/{id}")).await;
    let (status, body) = tenant
        .v1_as(
            tenant.token(),
            reqwest::Method::GET,
            &format!("/audit-events?resource_id={id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let actions: Vec<&str> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["user.deleted", "user.replaced", "user.created"]);
}

async fn if_match_with_a_stale_version_is_refused(server: TestServer) {
    let tenant = server.tenant().await;
    let created = tenant.create_user(&UserBuilder::new("ned").build()).await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let response = crate::support::scim_body(
        tenant.scim(Method::PUT, &path),
        &UserBuilder::new("ned2").build(),
    )
    .header("If-Match", "W/\"7\"")
    .send()
    .await
    .unwrap();
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, StatusCode::PRECONDITION_FAILED, None);
    let (_, fetched) = tenant.get(&path).await;
    assert_eq!(fetched["userName"], "ned");
}
