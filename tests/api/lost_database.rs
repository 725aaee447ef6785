//! A lost database: `roster serve` answers 503 with `Retry-After` and a SCIM error
//! within 2 seconds, `/readyz` says not ready and `/healthz` stays up; service
//! resumes by itself when the database is back.
//!
//! PostgreSQL: the shared server cannot be stopped, so Roster reaches it through a
//! relay that the test cuts (every connection closed, new ones closed on accept) and
//! mends. SQLite: a root test process cannot make a file unwritable by permissions,
//! so the test lowers the server's file-size limit to 0 (`prlimit`): no file can
//! grow, and SQLite's writes fail as on a full disk (reads go on).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use roster::store::Backend;

use crate::support::relay::{Relay, host_and_port};
use crate::support::{ServedProcess, TestDatabase, assert_scim_error, tenant_in};

/// The longest a request may take while the database is lost.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);

/// A request to `served` with `token`; its status, `Retry-After`, JSON body and time.
async fn call(
    served: &ServedProcess,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value, Duration) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", served.base))
        .bearer_auth(token)
        .timeout(Duration::from_secs(30));
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/scim+json")
            .body(body.to_string());
    }
    let started = Instant::now();
    let response = request.send().await.expect("an answer");
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.expect("body");
    let elapsed = started.elapsed();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, retry_after, body, elapsed)
}

fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
    })
}

/// Asserts a prompt 503 with `Retry-After` and a SCIM error body.
fn assert_lost(answer: &(StatusCode, Option<String>, Value, Duration), what: &str) {
    let (status, retry_after, body, elapsed) = answer;
    assert!(*elapsed < ANSWER_WITHIN, "{what} took {elapsed:?}");
    assert_scim_error(*status, body, StatusCode::SERVICE_UNAVAILABLE, None);
    assert_eq!(retry_after.as_deref(), Some("1"), "{what}: {body}");
}

/// Polls `path` until it answers `expected`, for at most `within`.
async fn await_status(
    served: &ServedProcess,
    token: &str,
    path: &str,
    expected: StatusCode,
    within: Duration,
) {
    let deadline = Instant::now() + within;
    loop {
        let (status, _, body, _) = call(served, token, reqwest::Method::GET, path, None).await;
        if status == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{path} still answers {status} after {within:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    roster_pg_tests_off,
    ignore = "PostgreSQL tests are off: ROSTER_TEST_PG_URL=none"
)]
async fn a_lost_postgresql_answers_503_promptly_and_service_resumes_when_it_is_back() {
    let database = TestDatabase::create(Backend::Postgres);
    let token = tenant_in(database.url()).await.scim_token;
    let relay = Relay::start(host_and_port(database.url())).await;
    // The defaults of `roster serve`: what an operator gets.
    let served = ServedProcess::start(&relay.url_through(database.url()), &[]).await;
    let get = |path: &'static str| call(&served, &token, reqwest::Method::GET, path, None);
    let (status, _, body, _) = get("/scim/v2/Users?count=1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(get("/readyz").await.0, StatusCode::OK);

    relay.cut();
    // Under load: every one of many requests at once answers promptly.
    let burst =
        futures_util::future::join_all((0..32).map(|_| get("/scim/v2/Users?count=1"))).await;
    for answer in &burst {
        assert_lost(answer, "a list among 32 at once");
    }
    for round in 0..3 {
        assert_lost(&get("/scim/v2/Users?count=1").await, "a list");
        let created = call(
            &served,
            &token,
            reqwest::Method::POST,
            "/scim/v2/Users",
            Some(user(&format!("lost-{round}"))),
        )
        .await;
        assert_lost(&created, "a create");
        assert_lost(&get("/readyz").await, "/readyz");
        let (status, _, _, elapsed) = get("/healthz").await;
        assert_eq!(status, StatusCode::OK);
        assert!(elapsed < ANSWER_WITHIN);
    }

    relay.mend();
    await_status(
        &served,
        &token,
        "/readyz",
        StatusCode::OK,
        Duration::from_secs(10),
    )
    .await;
    let (status, _, body, _) = call(
        &served,
        &token,
        reqwest::Method::POST,
        "/scim/v2/Users",
        Some(user("back")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _, body, _) = get("/scim/v2/Users?filter=userName%20eq%20%22back%22").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["totalResults"], 1, "{body}");
}

/// Sets the soft file-size limit of process `pid`.
fn limit_file_size(pid: u32, bytes: libc::rlim_t) {
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: reads the limit into `old`; the pointer is valid for the call.
    let read = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_FSIZE,
            std::ptr::null(),
            &mut old,
        )
    };
    assert_eq!(read, 0, "prlimit read: {}", std::io::Error::last_os_error());
    let new = libc::rlimit {
        rlim_cur: bytes.min(old.rlim_max),
        rlim_max: old.rlim_max,
    };
    // SAFETY: sets the limit from `new`; the pointer is valid for the call.
    let set = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_FSIZE,
            &new,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(set, 0, "prlimit set: {}", std::io::Error::last_os_error());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_sqlite_file_answers_503_promptly_and_service_resumes_when_it_is_writable() {
    let database = TestDatabase::create(Backend::Sqlite);
    let token = tenant_in(database.url()).await.scim_token;
    let served = ServedProcess::start(database.url(), &[]).await;
    let post = |name: String| {
        call(
            &served,
            &token,
            reqwest::Method::POST,
            "/scim/v2/Users",
            Some(user(&name)),
        )
    };
    assert_eq!(post("before".into()).await.0, StatusCode::CREATED);

    limit_file_size(served.id(), 0);
    // Writes that still fit the write-ahead log's length succeed; the first that
    // must grow a file fails.
    let mut refused = None;
    for attempt in 0..500 {
        let answer = post(format!("blocked-{attempt}")).await;
        if answer.0 != StatusCode::CREATED {
            refused = Some(answer);
            break;
        }
    }
    let refused = refused.expect("a write that grows the file is refused");
    assert_lost(&refused, "a create");
    let get = |path: &'static str| call(&served, &token, reqwest::Method::GET, path, None);
    let (status, _, body, _) = get("/scim/v2/Users?filter=userName%20eq%20%22before%22").await;
    assert_eq!(status, StatusCode::OK, "reads go on: {body}");
    assert_lost(&get("/readyz").await, "/readyz");
    assert_lost(&post("blocked-again".into()).await, "another create");
    assert_eq!(get("/healthz").await.0, StatusCode::OK);

    limit_file_size(served.id(), libc::RLIM_INFINITY);
    await_status(
        &served,
        &token,
        "/readyz",
        StatusCode::OK,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(post("after".into()).await.0, StatusCode::CREATED);
    let (status, _, body, _) = get("/scim/v2/Users?filter=userName%20eq%20%22after%22").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["totalResults"], 1, "{body}");
}
