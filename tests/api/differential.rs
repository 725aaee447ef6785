//! The SQL translation agrees with the in-memory matcher: for generated users and
//! generated filters, what the server answers over HTTP is exactly what the matcher
//! selects from the same users' JSON.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};

use roster::filter::parse_filter;
use roster::schema::USER_RESOURCE;
use roster::schema::matcher::matches;
use roster::schema::resolve;

use crate::on_both_backends;
use crate::queries::urlencode;
use crate::support::{Tenant, TestServer, UserBuilder};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ROSTER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";

on_both_backends!(sql_answers_equal_the_matcher_for_generated_filters);

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
    let (status, list) = tenant.get("/Users?count=1000").await;
    assert_eq!(status, StatusCode::OK);
    list["Resources"].as_array().unwrap().clone()
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
}
