//! A slow database or a full connection pool: requests answer 503 with
//! `Retry-After` instead of waiting without end or failing with 500.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use reqwest::{Method, StatusCode};
use roster::store::{Backend, StoreTimeouts};

use crate::support::{TestServer, assert_scim_error, read};

/// A connection of the test's own that holds an exclusive lock on `users` until
/// dropped: every statement that reads users waits for it.
struct UsersLock(PgConnection);

impl UsersLock {
    fn take(server: &TestServer) -> UsersLock {
        let mut conn = PgConnection::establish(server.database.url()).expect("connects");
        conn.batch_execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            .expect("locks users");
        UsersLock(conn)
    }

    /// How many statements wait for the lock.
    fn waiters(&mut self) -> i64 {
        #[derive(QueryableByName)]
        struct Waiters {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            count: i64,
        }
        diesel::sql_query(
            "SELECT count(*) AS count FROM pg_locks \
             WHERE NOT granted AND relation = 'users'::regclass",
        )
        .get_result::<Waiters>(&mut self.0)
        .expect("pg_locks")
        .count
    }

    /// Returns once a statement waits for the lock.
    async fn await_waiter(&mut self) {
        for _ in 0..500 {
            if self.waiters() > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no statement came to wait for the lock on users");
    }
}

impl Drop for UsersLock {
    fn drop(&mut self) {
        let _ = self.0.batch_execute("ROLLBACK");
    }
}

fn assert_retry_later(response: &reqwest::Response) {
    assert_eq!(
        response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()),
        Some("1"),
        "{} without Retry-After: {:?}",
        response.status(),
        response.headers()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    roster_pg_tests_off,
    ignore = "PostgreSQL tests are off: ROSTER_TEST_PG_URL=none"
)]
async fn a_statement_past_the_statement_timeout_answers_503_and_frees_its_connection() {
    let timeouts = StoreTimeouts {
        statement: Some(Duration::from_secs(2)),
        ..StoreTimeouts::default()
    };
    // One connection: the next request can only succeed if the cancelled one gave
    // its connection back.
    let server = TestServer::start_with_store(Backend::Postgres, 1, timeouts, |_| {}).await;
    let tenant = server.tenant().await;
    let (status, _) = tenant.get("/Users?count=1").await;
    assert_eq!(status, StatusCode::OK);

    let lock = UsersLock::take(&server);
    let response = tenant
        .scim(Method::GET, "/Users?filter=userName%20eq%20%22ada%22")
        .send()
        .await
        .expect("request");
    assert_retry_later(&response);
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, StatusCode::SERVICE_UNAVAILABLE, None);
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("took too long")),
        "{body}"
    );
    drop(lock);

    let (status, body) = tenant.get("/Users?filter=userName%20eq%20%22ada%22").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["totalResults"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    roster_pg_tests_off,
    ignore = "PostgreSQL tests are off: ROSTER_TEST_PG_URL=none"
)]
async fn a_request_that_finds_no_free_connection_answers_503() {
    let timeouts = StoreTimeouts {
        checkout: Duration::from_millis(300),
        ..StoreTimeouts::default()
    };
    let server = TestServer::start_with_store(Backend::Postgres, 1, timeouts, |_| {}).await;
    let (slow, other) = (server.tenant().await, server.tenant().await);
    for tenant in [&slow, &other] {
        let (status, _) = tenant.get("/Users?count=1").await;
        assert_eq!(status, StatusCode::OK);
    }

    let mut lock = UsersLock::take(&server);
    let held = tokio::spawn(async move { slow.get("/Users?count=1").await });
    // The slow request now holds the pool's only connection.
    lock.await_waiter().await;

    let response = other
        .scim(Method::GET, "/Users?count=1")
        .send()
        .await
        .expect("request");
    assert_retry_later(&response);
    let (status, body) = read(response).await;
    assert_scim_error(status, &body, StatusCode::SERVICE_UNAVAILABLE, None);
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains("busy")),
        "{body}"
    );
    let ready = server
        .anonymous(Method::GET, "/readyz")
        .send()
        .await
        .expect("request");
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_retry_later(&ready);

    drop(lock);
    let (status, body) = held.await.expect("joins");
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = other.get("/Users?count=1").await;
    assert_eq!(status, StatusCode::OK);
}
