//! `roster import`: NDJSON and CSV files with good and bad records, re-runs and dry
//! runs, run as the command line runs.

use std::path::Path;
use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Tenant, TestServer, UserBuilder};

on_both_backends!(
    an_ndjson_import_creates_refuses_and_a_rerun_changes_nothing,
    a_csv_import_maps_columns_and_updates_only_what_changed,
    a_dry_run_counts_and_writes_nothing,
);

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ROSTER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";

/// Runs `roster import` with `args` on the server's store; returns its JSON summary.
fn import(server: &TestServer, tenant: &Tenant, file: &Path, args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("import")
        .arg(file)
        .args([
            "--tenant",
            &tenant.name,
            "--database-url",
            server.database.url(),
        ])
        .args(args)
        .output()
        .expect("roster runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON object")
}

fn counts(summary: &Value) -> [u64; 4] {
    ["created", "updated", "unchanged", "refused"].map(|k| summary[k].as_u64().unwrap())
}

async fn user_by_external_id(tenant: &Tenant, external_id: &str) -> Option<Value> {
    let (status, list) = tenant
        .get(&format!(
            "/Users?filter=externalId%20eq%20%22{external_id}%22"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["Resources"]
        .as_array()
        .and_then(|r| r.first().cloned())
}

async fn an_ndjson_import_creates_refuses_and_a_rerun_changes_nothing(server: TestServer) {
    let tenant = server.tenant().await;
    tenant
        .create_user(
            &UserBuilder::new("old@x.test")
                .with("externalId", json!("E0"))
                .build(),
        )
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.ndjson");
    let lines = [
        UserBuilder::new("ann@x.test")
            .with("externalId", json!("E1"))
            .with("title", json!("Eng"))
            .build()
            .to_string(),
        "not json".to_owned(),
        json!({"userName": "nokey@x.test"}).to_string(),
        String::new(),
        UserBuilder::new("ann2@x.test")
            .with("externalId", json!("E1"))
            .build()
            .to_string(),
        UserBuilder::new("old@x.test")
            .with("externalId", json!("E0"))
            .with("title", json!("Boss"))
            .build()
            .to_string(),
        UserBuilder::new("taken@x.test")
            .with("externalId", json!("E2"))
            .build()
            .to_string(),
        UserBuilder::new("TAKEN@x.test")
            .with("externalId", json!("E3"))
            .build()
            .to_string(),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let summary = import(&server, &tenant, &file, &[]);
    assert_eq!(counts(&summary), [2, 1, 0, 4], "{summary}");
    let report = std::fs::read_to_string(dir.path().join("users.ndjson.refused.ndjson")).unwrap();
    let refused: Vec<Value> = report
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lines_refused: Vec<u64> = refused
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines_refused, [2, 3, 5, 8], "{report}");
    assert!(
        refused[0]["reason"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert!(
        refused[2]["reason"]
            .as_str()
            .unwrap()
            .contains("repeats the externalId 'E1' of line 1")
    );
    assert!(
        refused[3]["reason"]
            .as_str()
            .unwrap()
            .contains("already in use"),
        "{report}"
    );
    assert_eq!(
        user_by_external_id(&tenant, "E1").await.unwrap()["title"],
        "Eng"
    );
    let updated = user_by_external_id(&tenant, "E0").await.unwrap();
    assert_eq!(updated["title"], "Boss");
    // Created by the command line: so says the audit log.
    let (_, events) = tenant
        .v1_as(
            tenant.token(),
            Method::GET,
            &format!(
                "/audit-events?resource_id={}",
                updated["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    let patched = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "user.patched")
        .cloned();
    assert_eq!(
        patched.map(|e| e["actor"].clone()),
        Some(json!({"type": "cli"})),
        "{events}"
    );
    let version = updated["meta"]["version"].clone();

    let again = import(&server, &tenant, &file, &[]);
    assert_eq!(counts(&again), [0, 0, 3, 4], "{again}");
    let same = user_by_external_id(&tenant, "E0").await.unwrap();
    assert_eq!(same["meta"]["version"], version, "a re-run writes nothing");
}

async fn a_csv_import_maps_columns_and_updates_only_what_changed(server: TestServer) {
    let tenant = server.tenant().await;
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("mapping.toml");
    std::fs::write(
        &mapping,
        r#"
[columns]
id = "externalId"
login = "userName"
first = "name.givenName"
last = "name.familyName"
mail = "emails.work"
home = "emails.home"
dept = "enterprise.department"
plan = "customData.plan"
active = "active"
"#,
    )
    .unwrap();
    let file = dir.path().join("hr.csv");
    let csv = |rows: &[&str]| {
        let mut text = String::from("id,login,first,last,mail,home,dept,plan,active\n");
        for row in rows {
            text.push_str(row);
            text.push('\n');
        }
        std::fs::write(&file, text).unwrap();
    };
    csv(&[
        "E1,ann@x.test,Ann,Lee,ann@x.test,ann@home.test,Sales,gold,yes",
        "E2,\"bob, jr@x.test\",Bob,Ray,bob@x.test,,R&D,,no",
        "E3,carl@x.test,Carl,Doe,carl@x.test,,Ops,silver,maybe",
        "E4,dan@x.test,Dan",
    ]);
    let summary = import(
        &server,
        &tenant,
        &file,
        &["--mapping", mapping.to_str().unwrap()],
    );
    assert_eq!(counts(&summary), [2, 0, 0, 2], "{summary}");
    let ann = user_by_external_id(&tenant, "E1").await.unwrap();
    assert_eq!(ann["name"]["givenName"], "Ann");
    assert_eq!(ann["emails"].as_array().unwrap().len(), 2, "{ann}");
    assert_eq!(ann[ENTERPRISE]["department"], "Sales");
    assert_eq!(ann[ROSTER]["customData"], json!({"plan": "gold"}));
    assert_eq!(ann["active"], true);
    let bob = user_by_external_id(&tenant, "E2").await.unwrap();
    assert_eq!(bob["userName"], "bob, jr@x.test");
    assert_eq!(bob["active"], false);
    // Another member of customData, set through the API, stays.
    let (status, _) = tenant
        .scim_as(tenant.token(), Method::PATCH, &format!("/Users/{}", ann["id"].as_str().unwrap()), Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": format!("{ROSTER}:customData"), "value": {"plan": "gold", "seats": 3}}]})))
        .await;
    assert_eq!(status, StatusCode::OK);
    csv(&[
        "E1,ann@x.test,Ann,Lee,ann@x.test,ann@home.test,Sales,platinum,yes",
        "E2,\"bob, jr@x.test\",Bob,Ray,bob@x.test,,R&D,,no",
    ]);
    let summary = import(
        &server,
        &tenant,
        &file,
        &["--mapping", mapping.to_str().unwrap()],
    );
    assert_eq!(counts(&summary), [0, 1, 1, 0], "{summary}");
    assert!(
        summary["samples"][0]
            .as_str()
            .unwrap()
            .contains("customData"),
        "{summary}"
    );
    let ann = user_by_external_id(&tenant, "E1").await.unwrap();
    assert_eq!(
        ann[ROSTER]["customData"],
        json!({"plan": "platinum", "seats": 3})
    );
    let again = import(
        &server,
        &tenant,
        &file,
        &["--mapping", mapping.to_str().unwrap()],
    );
    assert_eq!(counts(&again), [0, 0, 2, 0], "{again}");
}

async fn a_dry_run_counts_and_writes_nothing(server: TestServer) {
    let tenant = server.tenant().await;
    tenant
        .create_user(
            &UserBuilder::new("kept@x.test")
                .with("externalId", json!("K"))
                .build(),
        )
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.ndjson");
    let lines = [
        UserBuilder::new("new@x.test")
            .with("externalId", json!("N"))
            .build()
            .to_string(),
        UserBuilder::new("kept@x.test")
            .with("externalId", json!("K"))
            .with("title", json!("T"))
            .build()
            .to_string(),
        "{".to_owned(),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let summary = import(&server, &tenant, &file, &["--dry-run"]);
    assert_eq!(counts(&summary), [1, 1, 0, 1], "{summary}");
    assert_eq!(summary["dry_run"], true);
    assert_eq!(
        summary["samples"],
        json!(["line 1 (N): new user", "line 2 (K): title"])
    );
    assert!(user_by_external_id(&tenant, "N").await.is_none());
    assert!(
        user_by_external_id(&tenant, "K")
            .await
            .unwrap()
            .get("title")
            .is_none()
    );
    assert!(!dir.path().join("users.ndjson.refused.ndjson").exists());
    let by_name = import(
        &server,
        &tenant,
        &file,
        &["--dry-run", "--match", "user-name"],
    );
    assert_eq!(counts(&by_name), [1, 1, 0, 1], "{by_name}");
}
