//! The test harness: a real Roster server on a free port against a fresh store
//! (a temporary SQLite file, or a private schema in PostgreSQL), and small builders.

pub mod browser;
pub mod builders;

use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

use roster::domain::tenants::{TenantCredentials, create_tenant};
use roster::http::{AppState, HttpSettings, serve};
use roster::scim::list::PageLimits;
use roster::store::{Backend, PoolSizes, Store, StoreTimeouts};

pub use builders::UserBuilder;

/// Defines each listed test once per backend: `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::TestServer::start(roster::store::Backend::Sqlite).await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(roster_pg_tests_off, ignore = "PostgreSQL tests are off: ROSTER_TEST_PG_URL=none")]
                async fn $name() {
                    super::$name($crate::support::TestServer::start(roster::store::Backend::Postgres).await).await
                }
            )*
        }
    };
}

/// The PostgreSQL server tests use. `ROSTER_TEST_PG_URL=none` at build time turns
/// the PostgreSQL tests off (build.rs), and libtest reports them as ignored.
pub fn postgres_base_url() -> String {
    match std::env::var("ROSTER_TEST_PG_URL") {
        Ok(url) if url == "none" => panic!(
            "ROSTER_TEST_PG_URL=none at run time but not at build time; run the tests through cargo"
        ),
        Ok(url) => url,
        Err(_) => "postgres://postgres@127.0.0.1:5432/postgres".to_owned(),
    }
}

#[test]
fn postgres_tests_are_not_off_in_ci() {
    assert!(
        !(cfg!(roster_pg_tests_off) && std::env::var_os("CI").is_some()),
        "PostgreSQL tests cannot be turned off in CI (ROSTER_TEST_PG_URL=none)"
    );
}

/// A store of its own for one test; cleaned up on drop.
pub enum TestDatabase {
    Sqlite(#[allow(dead_code)] tempfile::TempDir, String),
    Postgres {
        base_url: String,
        schema: String,
        url: String,
    },
}

impl TestDatabase {
    pub fn create(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("roster.db").display());
                TestDatabase::Sqlite(dir, url)
            }
            Backend::Postgres => {
                let base_url = postgres_base_url();
                let schema = unique_name("t");
                let mut conn = PgConnection::establish(&base_url)
                    .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {base_url}: {e}"));
                ensure_trigram_extension(&mut conn);
                conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create schema");
                let separator = if base_url.contains('?') { '&' } else { '?' };
                let url = format!("{base_url}{separator}options=-csearch_path%3D{schema}");
                TestDatabase::Postgres {
                    base_url,
                    schema,
                    url,
                }
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDatabase::Sqlite(_, url) => url,
            TestDatabase::Postgres { url, .. } => url,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres {
            base_url, schema, ..
        } = self
            && let Ok(mut conn) = PgConnection::establish(base_url)
        {
            let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// Creates pg_trgm once, before any test's migrations do: concurrent
/// `CREATE EXTENSION IF NOT EXISTS` in several schemas' migrations would race.
fn ensure_trigram_extension(conn: &mut PgConnection) {
    static CREATED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut created = CREATED.lock().unwrap_or_else(|e| e.into_inner());
    if !*created {
        conn.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
            .expect("pg_trgm extension");
        *created = true;
    }
}

/// A name no other test in this run (or a concurrent run) uses.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .get(..8)
            .unwrap_or("x")
    )
}

/// A running server and what a test needs to talk to it.
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub backend: Backend,
    pub database: TestDatabase,
    handle: actix_web::dev::ServerHandle,
}

/// A tenant's credentials plus a client bound to its SCIM token.
#[derive(Clone)]
pub struct Tenant {
    pub name: String,
    pub credentials: TenantCredentials,
    pub base: String,
    pub client: reqwest::Client,
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts a server after letting the test adjust its settings.
    pub async fn start_with(
        backend: Backend,
        adjust: impl FnOnce(&mut HttpSettings),
    ) -> TestServer {
        Self::start_with_store(backend, 4, StoreTimeouts::default(), adjust).await
    }

    /// Starts a server on a store of `readers` pooled connections with `timeouts`.
    pub async fn start_with_store(
        backend: Backend,
        readers: u32,
        timeouts: StoreTimeouts,
        adjust: impl FnOnce(&mut HttpSettings),
    ) -> TestServer {
        let database = TestDatabase::create(backend);
        let url = database.url().to_owned();
        let store = tokio::task::spawn_blocking(move || {
            Store::connect_with_timeouts(
                &url,
                PoolSizes {
                    readers,
                    lookups: 2,
                },
                timeouts,
            )
        })
        .await
        .expect("join")
        .expect("store opens and migrates");
        let mut settings = HttpSettings {
            max_body_bytes: 4 * 1024 * 1024,
            page_limits: PageLimits {
                default_count: 100,
                max_count: 1000,
            },
            max_patch_operations: roster::scim::patch::DEFAULT_MAX_PATCH_OPERATIONS,
            bulk_limits: Default::default(),
            public_url: None,
            trusted_proxies: Default::default(),
            auth_failure_quotas: Default::default(),
            portal_sessions: Default::default(),
        };
        adjust(&mut settings);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = AppState::new(store.clone(), settings);
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = serve(listener, state, 1).expect("server starts");
                sender.send(server.handle()).expect("send handle");
                let _ = server.await;
            })
        });
        let handle = receiver.recv().expect("server handle");
        TestServer {
            base,
            client: reqwest::Client::new(),
            store,
            backend,
            database,
            handle,
        }
    }

    /// Creates a tenant through the domain, as `roster tenant create` does.
    pub async fn tenant(&self) -> Tenant {
        let store = self.store.clone();
        let name = unique_name("tenant");
        let tenant_name = name.clone();
        let credentials = tokio::task::spawn_blocking(move || {
            store.write_blocking(|conn| create_tenant(conn, &tenant_name))
        })
        .await
        .expect("join")
        .expect("tenant created");
        Tenant {
            name,
            credentials,
            base: self.base.clone(),
            client: self.client.clone(),
        }
    }

    /// A request without credentials.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Stop accepting and drop connections so the store can be removed.
        drop(self.handle.stop(false));
    }
}

impl Tenant {
    pub fn token(&self) -> &str {
        &self.credentials.scim_token
    }

    /// A request to `/scim/v2{path}` with this tenant's bearer token.
    pub fn scim(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}/scim/v2{path}", self.base))
            .bearer_auth(self.token())
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        read(self.scim(Method::GET, path).send().await.expect("request")).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        read(
            scim_body(self.scim(Method::POST, path), body)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        read(
            scim_body(self.scim(Method::PUT, path), body)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> StatusCode {
        self.scim(Method::DELETE, path)
            .send()
            .await
            .expect("request")
            .status()
    }

    /// A request to `/v1{path}` with `token`, and its status and JSON body.
    pub async fn v1_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}/v1{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        read(request.send().await.expect("request")).await
    }

    /// A request to `/scim/v2{path}` with `token`, and its status and JSON body.
    pub async fn scim_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}/scim/v2{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = scim_body(request, &body);
        }
        read(request.send().await.expect("request")).await
    }

    /// Creates a regular application; returns it (as `POST /v1/apps` answered) and a
    /// SCIM token of its own.
    pub async fn create_app(&self, name: &str, signup: bool) -> (Value, String) {
        let (status, app) = self
            .v1_as(
                self.token(),
                Method::POST,
                "/apps",
                Some(serde_json::json!({"name": name, "allow_signup_on_signin": signup})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{app}");
        let token = self.app_token(app["id"].as_str().expect("app id")).await;
        (app, token)
    }

    /// A new SCIM token of application `app_id`, issued by the management token.
    pub async fn app_token(&self, app_id: &str) -> String {
        let (status, token) = self
            .v1_as(
                self.token(),
                Method::POST,
                "/tokens",
                Some(serde_json::json!({ "app_id": app_id })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{token}");
        token["scim_token"].as_str().expect("token").to_owned()
    }

    /// Creates a user and returns its JSON, asserting 201.
    pub async fn create_user(&self, body: &Value) -> Value {
        let (status, created) = self.post("/Users", body).await;
        assert_eq!(status, StatusCode::CREATED, "create failed: {created}");
        created
    }
}

/// A loopback address with a port free a moment ago.
pub fn free_address() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    format!("127.0.0.1:{port}")
}

/// `roster serve` run as a process of its own on a store, stopped on drop.
pub struct ServedProcess {
    child: std::process::Child,
    pub base: String,
}

impl ServedProcess {
    /// Starts `roster serve` with `extra_args` and waits until /healthz answers.
    pub async fn start(database_url: &str, extra_args: &[&str]) -> ServedProcess {
        let listen = free_address();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(["serve", "--listen", &listen, "--database-url", database_url])
            .args(extra_args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("serve starts");
        let served = ServedProcess {
            child,
            base: format!("http://{listen}"),
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let client = reqwest::Client::new();
        while client
            .get(format!("{}/healthz", served.base))
            .send()
            .await
            .is_err()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "roster serve did not come up"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        served
    }
}

impl Drop for ServedProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Attaches a JSON body with the SCIM media type.
pub fn scim_body(request: RequestBuilder, body: &Value) -> RequestBuilder {
    request
        .header("Content-Type", "application/scim+json")
        .body(body.to_string())
}

/// Status and JSON body of a response (`Null` for an empty body).
pub async fn read(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"))
    };
    (status, body)
}

/// Asserts a SCIM Error response with this status (and `scimType`, when given).
pub fn assert_scim_error(
    status: StatusCode,
    body: &Value,
    expected: StatusCode,
    scim_type: Option<&str>,
) {
    assert_eq!(status, expected, "unexpected status; body: {body}");
    assert_eq!(
        body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "{body}"
    );
    assert_eq!(body["status"], expected.as_u16().to_string(), "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "no detail: {body}"
    );
    if let Some(scim_type) = scim_type {
        assert_eq!(body["scimType"], scim_type, "{body}");
    }
}

/// `roster serve` on `database_url`, started once `/healthz` answers, with its stdout
/// piped when `stdout` is; returns the process and its base URL.
pub async fn serve_binary_with(
    database_url: &str,
    stdout: std::process::Stdio,
) -> (std::process::Child, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["serve", "--listen", &listen, "--database-url", database_url])
        .stdout(stdout)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let client = reqwest::Client::new();
    while client
        .get(format!("http://{listen}/healthz"))
        .send()
        .await
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "roster serve did not come up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    (child, format!("http://{listen}"))
}

/// [`serve_binary_with`] its stdout dropped.
pub async fn serve_binary(database_url: &str) -> (std::process::Child, String) {
    serve_binary_with(database_url, std::process::Stdio::null()).await
}
