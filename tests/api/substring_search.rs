//! Substring filters (`co`, `sw`, `ew`) and the search box's `or` of them, answered
//! from the trigram indexes: every answer, count and page agrees with the in-memory
//! matcher, for fragments of any length, with LIKE's and FTS5's special characters,
//! in an application's scope, and after the users change.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use roster::filter::parse_filter;
use roster::schema::matcher::matches;
use roster::schema::resolve;
use roster::schema::{GROUP_RESOURCE, ResourceTypeDef, USER_RESOURCE};

use crate::on_both_backends;
use crate::queries::urlencode;
use crate::support::{Tenant, TestServer, UserBuilder};

on_both_backends!(
    substring_searches_agree_with_the_matcher_on_every_page,
    substring_searches_follow_changes_and_deletions,
    substring_searches_stay_in_an_applications_scope,
    group_display_name_substrings_agree_with_the_matcher,
);

const GIVEN: &[&str] = &["Ann", "José", "ÉMILE", "Zoë", "Li", "O\"Neil", "straße"];
const FAMILY: &[&str] = &[
    "Smith",
    "Smithson",
    "Nguyễn",
    "a_b%c",
    "back\\slash",
    "Ünal",
    "de la Cruz",
];
const DOMAINS: &[&str] = &["example.com", "Mail.Test", "exämple.de"];

/// The attributes whose substrings the indexes answer.
const ATTRIBUTES: &[&str] = &[
    "userName",
    "displayName",
    "name.formatted",
    "name.givenName",
    "name.familyName",
    "emails.value",
    "externalId",
];

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn generated_user(rng: &mut StdRng, index: usize) -> Value {
    let given = pick(rng, GIVEN);
    let family = pick(rng, FAMILY);
    let login = format!("{given}.{family}.{index}");
    let mut builder = UserBuilder::new(&format!("{login}@{}", pick(rng, DOMAINS)));
    if rng.random_bool(0.85) {
        builder = builder.with(
            "name",
            json!({"givenName": given, "familyName": family, "formatted": format!("{given} {family}")}),
        );
    }
    if rng.random_bool(0.7) {
        builder = builder.with("displayName", json!(format!("{given} {family}")));
    }
    if rng.random_bool(0.6) {
        builder = builder.with(
            "externalId",
            json!(format!("HR-{}", rng.random_range(0..60))),
        );
    }
    builder = builder.with("active", json!(rng.random_bool(0.8)));
    let emails: Vec<Value> = (0..rng.random_range(0..3))
        .map(|n| json!({"value": format!("{login}.{n}@{}", pick(rng, DOMAINS)), "type": "work"}))
        .collect();
    if !emails.is_empty() {
        builder = builder.with("emails", Value::Array(emails));
    }
    builder.build()
}

/// Fragments to search for: pieces of the stored values of every length from one
/// character, in changed case, and the fixed ones that test escaping and extremes.
fn fragments(rng: &mut StdRng, users: &[Value]) -> Vec<String> {
    let mut found = vec![
        "%".to_owned(),
        "_".to_owned(),
        "\\".to_owned(),
        "_b%".to_owned(),
        "k\\s".to_owned(),
        "\"".to_owned(),
        "o\"n".to_owned(),
        "ß".to_owned(),
        "SS".to_owned(),
        "ễ".to_owned(),
        "no such text".to_owned(),
        "@".to_owned(),
        ".".to_owned(),
        "smith".to_owned(),
        "HR-1".to_owned(),
        "hr-1".to_owned(),
    ];
    for _ in 0..24 {
        let user = &users[rng.random_range(0..users.len())];
        let text = user["userName"].as_str().unwrap();
        let chars: Vec<char> = text.chars().collect();
        let length = rng.random_range(1..=6.min(chars.len()));
        let start = rng.random_range(0..=chars.len() - length);
        let piece: String = chars[start..start + length].iter().collect();
        found.push(match rng.random_range(0..3) {
            0 => piece.to_uppercase(),
            _ => piece,
        });
    }
    found
}

/// The ids, in order, that `filter` selects among `resources` by the matcher.
fn expected_ids(resource_type: &ResourceTypeDef, resources: &[Value], filter: &str) -> Vec<String> {
    let resolved = resolve(
        &parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}")),
        resource_type,
    )
    .unwrap_or_else(|e| panic!("{filter}: {e}"));
    let mut ids: Vec<String> = resources
        .iter()
        .filter(|r| matches(&resolved, r))
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort_unstable();
    ids
}

/// Asserts that `filter` on `endpoint` answers `expected` (ids in id order), in one
/// page, in small cursor pages and in small `startIndex` pages, each with the exact
/// total.
async fn assert_answers(
    tenant: &Tenant,
    token: &str,
    endpoint: &str,
    filter: &str,
    expected: &[String],
) {
    let get = |query: String| async move {
        let (status, page) = tenant
            .scim_as(
                token,
                Method::GET,
                &format!(
                    "{endpoint}?attributes=id&filter={}&{query}",
                    urlencode(filter)
                ),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{filter}: {page}");
        assert_eq!(page["totalResults"], expected.len(), "{filter} ({query})");
        let ids: Vec<String> = page["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        (ids, page["nextCursor"].as_str().map(str::to_owned))
    };
    let (all, _) = get("count=1000".into()).await;
    assert_eq!(all, expected, "one page of {filter}");

    let mut walked = Vec::new();
    let mut cursor = String::new();
    for _ in 0..=expected.len() / 4 + 1 {
        let (ids, next) = get(format!("count=4&cursor={cursor}")).await;
        walked.extend(ids);
        match next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    assert_eq!(walked, expected, "cursor pages of {filter}");

    for start in [1, 4, expected.len().max(1)] {
        let (ids, _) = get(format!("count=3&startIndex={start}")).await;
        let from = (start - 1).min(expected.len());
        let to = (from + 3).min(expected.len());
        assert_eq!(ids, expected[from..to], "startIndex={start} of {filter}");
    }
}

async fn create_users(tenant: &Tenant, rng: &mut StdRng, count: usize) {
    for index in 0..count {
        tenant.create_user(&generated_user(rng, index)).await;
    }
}

async fn all_users(tenant: &Tenant) -> Vec<Value> {
    let (status, list) = tenant.get("/Users?count=1000").await;
    assert_eq!(status, StatusCode::OK);
    list["Resources"].as_array().unwrap().clone()
}

async fn substring_searches_agree_with_the_matcher_on_every_page(server: TestServer) {
    let tenant = server.tenant().await;
    let mut rng = StdRng::seed_from_u64(0x7216_2026);
    create_users(&tenant, &mut rng, 90).await;
    let users = all_users(&tenant).await;
    assert_eq!(users.len(), 90);
    let (mut empty, mut most) = (0, 0);
    for fragment in fragments(&mut rng, &users) {
        let literal = Value::from(fragment.as_str()).to_string();
        for attribute in ATTRIBUTES {
            for op in ["co", "sw", "ew"] {
                let filter = format!("{attribute} {op} {literal}");
                let expected = expected_ids(&USER_RESOURCE, &users, &filter);
                if expected.is_empty() {
                    empty += 1;
                } else if expected.len() > users.len() / 2 {
                    most += 1;
                }
                if op == "co" || rng.random_bool(0.3) {
                    assert_answers(&tenant, tenant.token(), "/Users", &filter, &expected).await;
                } else {
                    let (status, page) = tenant
                        .get(&format!(
                            "/Users?attributes=id&count=1000&filter={}",
                            urlencode(&filter)
                        ))
                        .await;
                    assert_eq!(status, StatusCode::OK, "{filter}: {page}");
                    assert_eq!(page["totalResults"], expected.len(), "{filter}");
                }
            }
        }
        // What a search box sends, and the same terms mixed with others.
        let search_box = format!(
            "userName co {literal} or emails.value co {literal} or name.formatted co {literal}"
        );
        let expected = expected_ids(&USER_RESOURCE, &users, &search_box);
        assert_answers(&tenant, tenant.token(), "/Users", &search_box, &expected).await;
        for filter in [
            format!("displayName co {literal} and userName ew {literal}"),
            format!("(externalId sw {literal} or name.givenName co {literal}) and active eq true"),
            format!("not (userName co {literal}) and emails.value co {literal}"),
            format!("emails[value co {literal}] or name.familyName ew {literal}"),
        ] {
            let expected = expected_ids(&USER_RESOURCE, &users, &filter);
            assert_answers(&tenant, tenant.token(), "/Users", &filter, &expected).await;
        }
    }
    // The largest startIndex a client can send: an empty page and the whole count.
    let filter = "userName co \"smith\"";
    let (status, page) = tenant
        .get(&format!(
            "/Users?filter={}&count=5&startIndex={}",
            urlencode(filter),
            i64::MAX
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["Resources"], json!([]), "{page}");
    let expected = expected_ids(&USER_RESOURCE, &users, filter);
    assert_eq!(page["totalResults"], expected.len());
    assert!(empty > 50, "too few fragments matched nothing: {empty}");
    assert!(most > 5, "too few fragments matched most users: {most}");
}

async fn substring_searches_follow_changes_and_deletions(server: TestServer) {
    let tenant = server.tenant().await;
    let mut rng = StdRng::seed_from_u64(0x7217_2026);
    create_users(&tenant, &mut rng, 30).await;
    let users = all_users(&tenant).await;
    for (n, user) in users.iter().enumerate().take(12) {
        let id = user["id"].as_str().unwrap();
        match n % 3 {
            0 => {
                let patch = json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [
                        {"op": "replace", "path": "userName", "value": format!("renamed-quokka-{n}")},
                        {"op": "replace", "path": "emails", "value": [{"value": format!("wombat{n}@zoo.test")}]},
                    ]
                });
                let (status, body) = tenant
                    .scim_as(
                        tenant.token(),
                        Method::PATCH,
                        &format!("/Users/{id}"),
                        Some(patch),
                    )
                    .await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
            1 => {
                let mut body = user.clone();
                body["displayName"] = json!(format!("Platypus {n}"));
                body["name"] = json!({"formatted": "Echidna Spiny", "familyName": "Spiny"});
                let (status, body) = tenant.put(&format!("/Users/{id}"), &body).await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
            _ => assert_eq!(
                tenant.delete(&format!("/Users/{id}")).await,
                StatusCode::NO_CONTENT
            ),
        }
    }
    // Users written through /Bulk are indexed too.
    let operations: Vec<Value> = (0..3)
        .map(|n| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("b{n}"),
                   "data": UserBuilder::new(&format!("bulk-numbat-{n}")).build()})
        })
        .collect();
    let (status, body) = tenant
        .post(
            "/Bulk",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                    "Operations": operations}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after = all_users(&tenant).await;
    assert_eq!(after.len(), 29);
    let expected = expected_ids(&USER_RESOURCE, &after, "userName co \"numbat\"");
    assert_eq!(expected.len(), 3);
    assert_answers(
        &tenant,
        tenant.token(),
        "/Users",
        "userName co \"numbat\"",
        &expected,
    )
    .await;
    for filter in [
        "userName co \"quokka\"",
        "emails.value co \"wombat\"",
        "emails.value co \"zoo.t\"",
        "displayName co \"platypus\"",
        "name.formatted co \"echidna\"",
        "name.familyName sw \"spin\"",
        "userName co \"smith\" or emails.value co \"smith\" or name.formatted co \"smith\"",
    ] {
        let expected = expected_ids(&USER_RESOURCE, &after, filter);
        assert!(!expected.is_empty(), "{filter}");
        assert_answers(&tenant, tenant.token(), "/Users", filter, &expected).await;
    }
    // The old values and the deleted users are gone from the answers.
    for (n, user) in users.iter().enumerate().take(12) {
        let old_name = Value::from(user["userName"].as_str().unwrap()).to_string();
        let filter = format!("userName co {old_name}");
        let (_, page) = tenant
            .get(&format!(
                "/Users?attributes=id&filter={}",
                urlencode(&filter)
            ))
            .await;
        let expected = if n % 3 == 1 { 1 } else { 0 };
        assert_eq!(page["totalResults"], expected, "{filter}");
    }
}

async fn substring_searches_stay_in_an_applications_scope(server: TestServer) {
    let tenant = server.tenant().await;
    let mut rng = StdRng::seed_from_u64(0x7218_2026);
    create_users(&tenant, &mut rng, 30).await;
    let (_, app_token) = tenant.create_app("hr-portal", false).await;
    for index in 100..125 {
        let (status, body) = tenant
            .scim_as(
                &app_token,
                Method::POST,
                "/Users",
                Some(generated_user(&mut rng, index)),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // The application's users, as it sees them.
    let (status, list) = tenant
        .scim_as(&app_token, Method::GET, "/Users?count=1000", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let visible = list["Resources"].as_array().unwrap().clone();
    assert_eq!(visible.len(), 25);
    for filter in [
        "userName co \"smith\"",
        "userName co \"a\"",
        "emails.value co \".1\"",
        "userName co \"ann\" or emails.value co \"ann\" or name.formatted co \"ann\"",
        "displayName sw \"zo\"",
        "externalId ew \"1\"",
    ] {
        let expected = expected_ids(&USER_RESOURCE, &visible, filter);
        assert_answers(&tenant, &app_token, "/Users", filter, &expected).await;
    }
    // Another tenant's users with the same names are not counted either.
    let other = server.tenant().await;
    create_users(&other, &mut StdRng::seed_from_u64(0x7218_2026), 30).await;
    let mine = all_users(&tenant).await;
    let expected = expected_ids(&USER_RESOURCE, &mine, "userName co \"smith\"");
    assert_answers(
        &tenant,
        tenant.token(),
        "/Users",
        "userName co \"smith\"",
        &expected,
    )
    .await;
}

async fn group_display_name_substrings_agree_with_the_matcher(server: TestServer) {
    let tenant = server.tenant().await;
    let names = [
        "Sales EMEA",
        "sales Americas",
        "Ünal's team",
        "100% remote",
        "under_score",
        "Back\\slash",
        "Straße crew",
        "R&D",
    ];
    for name in names {
        let (status, body) = tenant
            .post(
                "/Groups",
                &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, list) = tenant.get("/Groups?count=1000").await;
    let mut groups = list["Resources"].as_array().unwrap().clone();
    for fragment in [
        "sales", "SALES", "emea", "ünal", "%", "_", "\\", "0% r", "r_s", "ss", "ß", "a", "es",
        "no such", "&",
    ] {
        let literal = Value::from(fragment).to_string();
        for op in ["co", "sw", "ew"] {
            let filter = format!("displayName {op} {literal}");
            let expected = expected_ids(&GROUP_RESOURCE, &groups, &filter);
            assert_answers(&tenant, tenant.token(), "/Groups", &filter, &expected).await;
        }
    }
    // A renamed group is found by its new name only.
    let id = groups[0]["id"].as_str().unwrap().to_owned();
    let mut renamed = groups[0].clone();
    renamed["displayName"] = json!("Kangaroo Court");
    let (status, body) = tenant.put(&format!("/Groups/{id}"), &renamed).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    groups[0] = renamed;
    for filter in ["displayName co \"kangaroo\"", "displayName co \"sales\""] {
        let expected = expected_ids(&GROUP_RESOURCE, &groups, filter);
        assert_answers(&tenant, tenant.token(), "/Groups", filter, &expected).await;
    }
}
