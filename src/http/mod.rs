//! The HTTP edge: actix-web routes, the bearer-token extractor that yields the
//! caller's `Scope`, SCIM media types, body limits, and the conversion of every
//! error into a SCIM Error response.
//! Handlers are thin: read the request, call `scim`/`domain`, write the response.

mod access_log;
mod audit;
mod auth;
mod body;
mod bulk;
mod discovery;
mod error;
mod groups;
mod health;
mod listing;
mod management;
mod oauth;
mod openapi;
mod params;
pub mod portal;
pub mod prometheus;
pub mod proxy;
pub mod redact;
mod request_id;
mod resources;
mod response;
mod routes;
mod search;
pub mod throttle;
pub mod tls;
mod users;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::http::Method;
use actix_web::{App, HttpServer, web};

use crate::scim::list::PageLimits;
use crate::store::Store;

pub use error::not_found_fallback;

use routes::{Endpoint, Routes};

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    pub page_limits: PageLimits,
    /// Most operations accepted in one PATCH request.
    pub max_patch_operations: usize,
    /// Public base URL of the service (scheme, host, optional path prefix), used in
    /// `meta.location`; derived from each request's Host header (or a trusted proxy's
    /// forwarded host) when unset.
    pub public_url: Option<String>,
    /// Peers whose `Forwarded` / `X-Forwarded-*` headers are believed.
    pub trusted_proxies: proxy::TrustedProxies,
    /// Most operations and bytes of one `/Bulk` request.
    pub bulk_limits: crate::scim::bulk::BulkLimits,
    /// Failed client authentications allowed per minute at `/oauth2/token` and at
    /// the portal's sign-in.
    pub auth_failure_quotas: throttle::AuthFailureQuotas,
    /// How long Admin Portal sessions last.
    pub portal_sessions: portal::SessionPolicy,
}

/// Shared state of every worker.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: HttpSettings,
    /// Verified bearer tokens, shared by all workers.
    pub tokens: std::sync::Arc<crate::auth::TokenCache>,
    /// Failed client authentications, shared by all workers.
    pub auth_failures: std::sync::Arc<throttle::AuthFailureLimits>,
    /// Renders the process's metrics.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
}

impl AppState {
    pub fn new(store: Store, settings: HttpSettings) -> Self {
        // First, so that what is made below counts into it.
        let metrics = prometheus::recorder();
        let tokens = crate::auth::TokenCache::new(crate::auth::TOKEN_CACHE_TTL, 100_000);
        let auth_failures = throttle::AuthFailureLimits::new(settings.auth_failure_quotas);
        AppState {
            store,
            settings,
            tokens: std::sync::Arc::new(tokens),
            auth_failures: std::sync::Arc::new(auth_failures),
            metrics,
        }
    }
}

/// Registers every route of the service, `/metrics` included.
pub fn configure(cfg: &mut web::ServiceConfig) {
    routes(&mut Routes::router(cfg), true);
}

/// Every method and full path pattern the router serves (`/scim/v2/Users/{id}`), in
/// routing order: what [`configure`] registers, from the same definitions.
pub fn route_table() -> Vec<(Method, String)> {
    let mut table = Vec::new();
    routes(&mut Routes::table(&mut table), true);
    table
}

/// The routes; `/metrics` among them unless it has a listener of its own.
fn routes(r: &mut Routes<'_>, with_metrics: bool) {
    r.add(Endpoint::new("/healthz").get(health::healthz))
        .add(Endpoint::new("/readyz").get(health::readyz));
    if with_metrics {
        metrics_route(r);
    }
    r.add(Endpoint::new("/openapi.json").get(openapi::document))
        .add(Endpoint::new("/oauth2/token").post(oauth::token))
        .scope("/v1", management::routes)
        .scope(portal::PORTAL_PATH, portal::routes)
        // The router tries resources in this order, and each `{id}` pattern it
        // tries costs a regex match: the busiest routes come first.
        .scope("/scim/v2", |r| {
            resources::routes::<users::Users>(r);
            resources::routes::<groups::Groups>(r);
            search::routes(r);
            bulk::routes(r);
            discovery::routes(r);
        });
}

fn metrics_route(r: &mut Routes<'_>) {
    r.add(Endpoint::new("/metrics").get(prometheus::render));
}

/// Starts serving on `listener`, `/metrics` included; the returned server runs
/// until stopped.
pub fn serve(listener: TcpListener, state: AppState, workers: usize) -> std::io::Result<Server> {
    serve_with(listener, None, None, state, workers)
}

/// Starts serving on `listener`, over HTTPS with `tls` when given (responses then
/// carry HSTS), and `/metrics` on `metrics_listener` alone (plain HTTP) when given
/// (then not on `listener`). Call it inside the actix system that runs the
/// returned server: the metrics server is spawned onto it and stops with it.
pub fn serve_with(
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    state: AppState,
    workers: usize,
) -> std::io::Result<Server> {
    let data = web::Data::new(state);
    let metrics_apart = metrics_listener.is_some();
    if let Some(metrics_listener) = metrics_listener {
        let data = data.clone();
        let metrics_server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .configure(|cfg| metrics_route(&mut Routes::router(cfg)))
                .default_service(web::to(error::not_found_fallback))
        })
        .workers(1)
        .listen(metrics_listener)?
        .run();
        actix_web::rt::spawn(metrics_server);
    }
    let access_log = access_log::enabled();
    let https = tls.is_some();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(data.settings.max_body_bytes))
            .wrap(actix_web::middleware::from_fn(prometheus::record_request))
            .wrap(actix_web::middleware::Condition::new(
                access_log,
                actix_web::middleware::from_fn(access_log::log_request),
            ))
            .wrap(actix_web::middleware::Condition::new(
                https,
                actix_web::middleware::DefaultHeaders::new().add(tls::HSTS),
            ))
            // Outermost, so that the access log and every error carry the id.
            .wrap(actix_web::middleware::from_fn(request_id::tag_request))
            .configure(|cfg| routes(&mut Routes::router(cfg), !metrics_apart))
            .default_service(web::to(error::not_found_fallback))
    })
    .workers(workers.max(1))
    // A streamed list is written in many small chunks: without TCP_NODELAY each one
    // after the first waits for the client's delayed ACK (about 40 ms).
    .tcp_nodelay(true);
    let server = match tls {
        Some(config) => {
            server.listen_rustls_0_23(listener, std::sync::Arc::unwrap_or_clone(config))?
        }
        None => server.listen(listener)?,
    };
    Ok(server.run())
}
