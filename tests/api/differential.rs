//! The SQL translation agrees with the in-memory matcher: for generated users and
//! generated filters, what the server answers over HTTP is exactly what the matcher
//! selects from the same users' JSON.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};

use roster::filter::parse_filter;
use roster::schema::matcher::matches;
use roster::schema::resolve;
use roster::schema::{GROUP_RESOURCE, ResourceTypeDef, USER_RESOURCE};

use crate::on_both_backends;
use crate::queries::urlencode;
use crate::support::{Tenant, TestServer, UserBuilder};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ROSTER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";

on_both_backends!(
    sql_answers_equal_the_matcher_for_generated_filters,
    sql_answers_equal_the_matcher_for_group_schemas_filters,
);

const GIVEN: &[&str] = &[
    "Ann", "bob", "José", "ÉMILE", "Zoë", "li", "O'Neil", "Ærø", "straße", "ann",
];
const FAMILY: &[&str] = &[
    "Smith",
    "smith",
    "Østergård",
    "Lee",
    "DE LA CRUZ",
    "Nguyễn",
    "a_b%c",
    "Ünal",
];
const TITLES: &[&str] = &["Engineer", "engineer", "Manager", "CTO", "Tour Guide", ""];
const DEPARTMENTS: &[&str] = &["Sales", "sales", "R&D", "Support"];
const TYPES: &[&str] = &["work", "home", "Other"];
const PLANS: &[&str] = &["gold", "Gold", "free", "trial"];
const DOMAINS: &[&str] = &["example.com", "Example.ORG", "mail.test", "exämple.de"];

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn generated_user(rng: &mut StdRng, index: usize) -> Value {
    let given = pick(rng, GIVEN);
    let family = pick(rng, FAMILY);
    let mut builder = UserBuilder::new(&format!("{given}.{family}.{index}@{}", pick(rng, DOMAINS)));
    if rng.random_bool(0.8) {
        builder = builder.with("name", json!({"givenName": given, "familyName": family}));
    }
    if rng.random_bool(0.7) {
        builder = builder.with("displayName", json!(format!("{given} {family}")));
    }
    if rng.random_bool(0.6) {
        builder = builder.with("title", json!(pick(rng, TITLES)));
    }
    if rng.random_bool(0.5) {
        builder = builder.with(
            "externalId",
            json!(format!("EXT-{}", rng.random_range(0..40))),
        );
    }
    builder = builder.with("active", json!(rng.random_bool(0.7)));
    let email_count = rng.random_range(0..3);
    if email_count > 0 {
        let emails: Vec<Value> = (0..email_count)
            .map(|n| {
                json!({"value": format!("{}{n}@{}", given.to_lowercase(), pick(rng, DOMAINS)),
                       "type": pick(rng, TYPES), "primary": n == 0 && rng.random_bool(0.5)})
            })
            .collect();
        builder = builder.with("emails", Value::Array(emails));
    }
    if rng.random_bool(0.4) {
        builder = builder.with("phoneNumbers", json!([{"value": format!("+1 555 {:04}", rng.random_range(0..50)), "type": pick(rng, TYPES)}]));
    }
    if rng.random_bool(0.3) {
        builder = builder.with("addresses", json!([{"locality": pick(rng, &["Oslo", "oslo", "Zürich", "Lima"]), "country": pick(rng, &["NO", "CH", "PE"])}]));
    }
    if rng.random_bool(0.5) {
        builder = builder.enterprise(json!({"employeeNumber": format!("{}", rng.random_range(100..140)), "department": pick(rng, DEPARTMENTS)}));
    }
    if rng.random_bool(0.5) {
        let mut custom = json!({"plan": pick(rng, PLANS), "seats": rng.random_range(0..20)});
        if rng.random_bool(0.4) {
            custom["tags"] = json!([pick(rng, &["vip", "beta", "VIP"]), "all"]);
        }
        if rng.random_bool(0.2) {
            custom["beta"] = json!(rng.random_bool(0.5));
        }
        builder = builder.roster(json!({"customData": custom}));
    }
    builder.build()
}

/// A random literal drawn from the data, with random case and substrings.
fn text_literal(rng: &mut StdRng, pool: &[&str]) -> String {
    let base = pick(rng, pool).to_owned();
    let chars: Vec<char> = base.chars().collect();
    let mut text = match rng.random_range(0..4) {
        0 if chars.len() > 2 => {
            let start = rng.random_range(0..chars.len() - 1);
            let end = rng.random_range(start + 1..=chars.len());
            chars[start..end].iter().collect()
        }
        _ => base,
    };
    match rng.random_range(0..3) {
        0 => text = text.to_uppercase(),
        1 => text = text.to_lowercase(),
        _ => {}
    }
    text
}

fn quoted(text: &str) -> String {
    Value::from(text).to_string()
}

fn string_op(rng: &mut StdRng) -> &'static str {
    pick(rng, &["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"])
}

fn atom(rng: &mut StdRng, times: &[String]) -> String {
    let all_names: Vec<&str> = GIVEN.iter().chain(FAMILY).copied().collect();
    match rng.random_range(0..20) {
        0 => format!(
            "userName {} {}",
            string_op(rng),
            quoted(&text_literal(rng, &all_names))
        ),
        1 => format!(
            "name.givenName {} {}",
            string_op(rng),
            quoted(&text_literal(rng, GIVEN))
        ),
        2 => format!(
            "name.familyName {} {}",
            string_op(rng),
            quoted(&text_literal(rng, FAMILY))
        ),
        3 => format!(
            "displayName {} {}",
            string_op(rng),
            quoted(&text_literal(rng, &all_names))
        ),
        4 => format!(
            "title {} {}",
            string_op(rng),
            quoted(&text_literal(rng, TITLES))
        ),
        5 => format!(
            "active {} {}",
            pick(rng, &["eq", "ne"]),
            pick(rng, &["true", "false"])
        ),
        6 => format!(
            "emails.value {} {}",
            string_op(rng),
            quoted(&text_literal(rng, DOMAINS))
        ),
        7 => format!(
            "emails[type {} {} {} value {} {}]",
            pick(rng, &["eq", "ne", "sw"]),
            quoted(&text_literal(rng, TYPES)),
            pick(rng, &["and", "or"]),
            pick(rng, &["co", "ew", "eq"]),
            quoted(&text_literal(rng, DOMAINS))
        ),
        8 => format!("emails.primary eq {}", pick(rng, &["true", "false"])),
        9 => format!(
            "externalId {} {}",
            string_op(rng),
            quoted(&format!("EXT-{}", rng.random_range(0..45)))
        ),
        10 => format!(
            "{} pr",
            pick(
                rng,
                &[
                    "title",
                    "name",
                    "emails",
                    "externalId",
                    "phoneNumbers",
                    "displayName",
                    "addresses.locality"
                ]
            )
        ),
        11 => format!(
            "{ENTERPRISE}:department {} {}",
            string_op(rng),
            quoted(&text_literal(rng, DEPARTMENTS))
        ),
        12 => format!(
            "{ENTERPRISE}:employeeNumber {} \"{}\"",
            string_op(rng),
            rng.random_range(95..145)
        ),
        13 => format!(
            "{ROSTER}:customData.plan {} {}",
            string_op(rng),
            quoted(&text_literal(rng, PLANS))
        ),
        14 => format!(
            "{ROSTER}:customData.seats {} {}",
            pick(rng, &["eq", "ne", "gt", "ge", "lt", "le"]),
            rng.random_range(0..20)
        ),
        15 => format!(
            "{ROSTER}:customData.tags {} {}",
            pick(rng, &["eq", "co", "sw"]),
            quoted(&text_literal(rng, &["vip", "VIP", "beta", "all"]))
        ),
        16 => format!(
            "meta.{} {} {}",
            pick(rng, &["created", "lastModified"]),
            pick(rng, &["eq", "gt", "ge", "lt", "le", "ne"]),
            quoted(&times[rng.random_range(0..times.len())])
        ),
        17 => format!(
            "addresses[locality {} {}]",
            string_op(rng),
            quoted(&text_literal(rng, &["Oslo", "Zürich", "Lima"]))
        ),
        18 => format!(
            "{} eq null",
            pick(rng, &["title", "nickName", "externalId"])
        ),
        _ => format!(
            "{ROSTER}:status eq {}",
            quoted(pick(rng, &["pending", "disabled", "active"]))
        ),
    }
}

fn generated_filter(rng: &mut StdRng, times: &[String], depth: u32) -> String {
    if depth >= 3 || rng.random_bool(0.45) {
        return atom(rng, times);
    }
    match rng.random_range(0..3) {
        0 => format!(
            "{} and {}",
            generated_filter(rng, times, depth + 1),
            generated_filter(rng, times, depth + 1)
        ),
        1 => format!(
            "({} or {})",
            generated_filter(rng, times, depth + 1),
            generated_filter(rng, times, depth + 1)
        ),
        _ => format!("not ({})", generated_filter(rng, times, depth + 1)),
    }
}

async fn all_users(tenant: &Tenant) -> Vec<Value> {
    all_of(tenant, "/Users").await
}

async fn all_of(tenant: &Tenant, endpoint: &str) -> Vec<Value> {
    let (status, list) = tenant.get(&format!("{endpoint}?count=1000")).await;
    assert_eq!(status, StatusCode::OK);
    list["Resources"].as_array().unwrap().clone()
}

/// `schemas` comparisons (RFC 7644 §3.4.2.2), in any case, with URNs a resource
/// may or may not carry.
fn schemas_atom(rng: &mut StdRng) -> String {
    let urn = pick(
        rng,
        &[
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            ENTERPRISE,
            ROSTER,
            "urn:ietf:params:scim:schemas:extension:roster:2.0:Group",
            "urn:example:unknown",
        ],
    );
    let urn = match rng.random_range(0..3) {
        0 => urn.to_uppercase(),
        1 => urn.to_owned(),
        _ => urn[rng.random_range(0..urn.len())..].to_owned(),
    };
    match rng.random_range(0..4) {
        0 => "schemas pr".to_owned(),
        1 => format!("schemas {} {}", string_op(rng), quoted(&urn)),
        2 => format!("schemas ne {}", quoted(&urn)),
        _ => format!("schemas eq {}", quoted(&urn)),
    }
}

/// Asserts that `filter` selects over HTTP exactly the `resources` of `endpoint`
/// that the matcher selects; returns how many that is.
async fn assert_agrees(
    tenant: &Tenant,
    resource_type: &ResourceTypeDef,
    resources: &[Value],
    filter: &str,
) -> usize {
    let resolved = resolve(
        &parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}")),
        resource_type,
    )
    .unwrap_or_else(|e| panic!("{filter}: {e}"));
    let mut expected: Vec<&str> = resources
        .iter()
        .filter(|r| matches(&resolved, r))
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let (status, list) = tenant
        .get(&format!(
            "{}?count=1000&attributes=id&filter={}",
            resource_type.endpoint,
            urlencode(filter)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{filter}: {list}");
    let mut actual: Vec<&str> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    expected.sort_unstable();
    actual.sort_unstable();
    assert_eq!(actual, expected, "SQL and matcher disagree on: {filter}");
    assert_eq!(list["totalResults"], expected.len(), "{filter}");
    expected.len()
}

async fn sql_answers_equal_the_matcher_for_generated_filters(server: TestServer) {
    let tenant = server.tenant().await;
    let mut rng = StdRng::seed_from_u64(0x5C1A_2026);
    for index in 0..240 {
        tenant.create_user(&generated_user(&mut rng, index)).await;
    }
    let users = all_users(&tenant).await;
    assert_eq!(users.len(), 240);
    let times: Vec<String> = users
        .iter()
        .step_by(17)
        .map(|u| u["meta"]["created"].as_str().unwrap().to_owned())
        .collect();

    let mut non_trivial = 0;
    for round in 0..320 {
        let filter = generated_filter(&mut rng, &times, 0);
        let resolved = resolve(
            &parse_filter(&filter).unwrap_or_else(|e| panic!("{filter}: {e}")),
            &USER_RESOURCE,
        )
        .unwrap_or_else(|e| panic!("{filter}: {e}"));
        let mut expected: Vec<&str> = users
            .iter()
            .filter(|u| matches(&resolved, u))
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        let (status, list) = tenant
            .get(&format!(
                "/Users?count=1000&attributes=id&filter={}",
                urlencode(&filter)
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "round {round}: {filter}: {list}");
        let mut actual: Vec<&str> = list["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        expected.sort_unstable();
        actual.sort_unstable();
        assert_eq!(
            actual, expected,
            "round {round}: SQL and matcher disagree on: {filter}"
        );
        assert_eq!(list["totalResults"], expected.len(), "{filter}");
        if !expected.is_empty() && expected.len() < users.len() {
            non_trivial += 1;
        }
    }
    assert!(
        non_trivial > 100,
        "too few filters selected a proper subset: {non_trivial}"
    );

    // `schemas` alone and combined with the generated filters.
    let mut proper_subsets = 0;
    for _ in 0..80 {
        let schemas = schemas_atom(&mut rng);
        let filter = match rng.random_range(0..4) {
            0 => schemas,
            1 => format!("not ({schemas})"),
            2 => format!("{schemas} and ({})", generated_filter(&mut rng, &times, 1)),
            _ => format!("{schemas} or ({})", generated_filter(&mut rng, &times, 1)),
        };
        let selected = assert_agrees(&tenant, &USER_RESOURCE, &users, &filter).await;
        if selected > 0 && selected < users.len() {
            proper_subsets += 1;
        }
    }
    let enterprise = format!("schemas eq \"{ENTERPRISE}\"");
    let selected = assert_agrees(&tenant, &USER_RESOURCE, &users, &enterprise).await;
    assert!(selected > 0 && selected < users.len(), "{selected}");
    assert!(proper_subsets > 10, "{proper_subsets}");
}

async fn sql_answers_equal_the_matcher_for_group_schemas_filters(server: TestServer) {
    let tenant = server.tenant().await;
    let mut rng = StdRng::seed_from_u64(0x6A0F_2026);
    for index in 0..24 {
        let mut body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": format!("{} {index}", pick(&mut rng, DEPARTMENTS)),
        });
        let mut roster = serde_json::Map::new();
        if rng.random_bool(0.4) {
            roster.insert("description".into(), json!(pick(&mut rng, TITLES)));
        }
        if rng.random_bool(0.4) {
            roster.insert("customData".into(), json!({"plan": pick(&mut rng, PLANS)}));
        }
        if !roster.is_empty() {
            body["urn:ietf:params:scim:schemas:extension:roster:2.0:Group"] = Value::Object(roster);
        }
        let (status, created) = tenant.post("/Groups", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
    let groups = all_of(&tenant, "/Groups").await;
    assert_eq!(groups.len(), 24);
    let roster_group = "schemas eq \"urn:ietf:params:scim:schemas:extension:roster:2.0:Group\"";
    let selected = assert_agrees(&tenant, &GROUP_RESOURCE, &groups, roster_group).await;
    assert!(selected > 0 && selected < groups.len(), "{selected}");
    for _ in 0..60 {
        let schemas = schemas_atom(&mut rng);
        let filter = match rng.random_range(0..4) {
            0 => schemas,
            1 => format!("not ({schemas})"),
            2 => format!(
                "{schemas} and displayName {} {}",
                string_op(&mut rng),
                quoted(&text_literal(&mut rng, DEPARTMENTS))
            ),
            _ => format!(
                "{schemas} or displayName sw {}",
                quoted(&text_literal(&mut rng, DEPARTMENTS))
            ),
        };
        assert_agrees(&tenant, &GROUP_RESOURCE, &groups, &filter).await;
    }
}
