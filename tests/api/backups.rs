//! `roster backup`: an online copy of a SQLite store taken while users are being
//! written through HTTP holds every user acknowledged before it started, and serves
//! as a store of its own; for PostgreSQL the command points to pg_dump.

use std::collections::BTreeSet;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::StatusCode;
use roster::store::Backend;

use crate::on_both_backends;
use crate::support::{ServedProcess, TestServer, UserBuilder};

on_both_backends!(a_backup_taken_during_writes_holds_every_acknowledged_user);

fn backup(to: &std::path::Path, database_url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["backup", "--to"])
        .arg(to)
        .args(["--database-url", database_url])
        .output()
        .expect("roster runs")
}

async fn a_backup_taken_during_writes_holds_every_acknowledged_user(server: TestServer) {
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("copy.db");
    if server.backend == Backend::Postgres {
        let output = backup(&copy, server.database.url());
        assert!(!output.status.success());
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("pg_dump"),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!copy.exists());
        return;
    }
    let tenant = server.tenant().await;
    let mut acknowledged = BTreeSet::new();
    for i in 0..20 {
        let name = format!("before-{i}");
        tenant.create_user(&UserBuilder::new(&name).build()).await;
        acknowledged.insert(name);
    }
    // A writer keeps creating users while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let (acks, mut acked) = tokio::sync::mpsc::unbounded_channel();
    let writer = tokio::spawn({
        let (tenant, stop) = (tenant.clone(), stop.clone());
        async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let name = format!("during-{i}");
                let (status, body) = tenant
                    .post("/Users", &UserBuilder::new(&name).build())
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
                let _ = acks.send(name);
                i += 1;
            }
            i
        }
    });
    for _ in 0..5 {
        acknowledged.insert(acked.recv().await.expect("the writer writes"));
    }
    while let Ok(name) = acked.try_recv() {
        acknowledged.insert(name);
    }
    let url = server.database.url().to_owned();
    let output = {
        let (copy, url) = (copy.clone(), url.clone());
        tokio::task::spawn_blocking(move || backup(&copy, &url))
            .await
            .expect("join")
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let size = std::fs::metadata(&copy).expect("the copy exists").len();
    assert_eq!(report["bytes"], size);
    stop.store(true, Ordering::Relaxed);
    let attempted = writer.await.expect("the writer ends");
    assert!(attempted >= 5);

    let again = backup(&copy, &url);
    assert!(!again.status.success(), "an existing file is overwritten");
    assert_eq!(std::fs::metadata(&copy).expect("still there").len(), size);

    let served = ServedProcess::start(&format!("sqlite://{}", copy.display()), &[]).await;
    let (status, list) = crate::support::read(
        tenant
            .client
            .get(format!("{}/scim/v2/Users?count=1000", served.base))
            .bearer_auth(tenant.token())
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let restored: BTreeSet<String> = list["Resources"]
        .as_array()
        .expect("users")
        .iter()
        .map(|user| user["userName"].as_str().unwrap_or_default().to_owned())
        .collect();
    let missing: Vec<&String> = acknowledged.difference(&restored).collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup, missing: {missing:?}"
    );
    let written: BTreeSet<String> = (0..attempted).map(|i| format!("during-{i}")).collect();
    let unknown: Vec<&String> = restored
        .iter()
        .filter(|name| !name.starts_with("before-") && !written.contains(*name))
        .collect();
    assert!(unknown.is_empty(), "{unknown:?}");
}
