//! The HTTP edge: actix-web routes, the bearer-token extractor, SCIM media types,
//! body limits, and the conversion of every error into a SCIM Error response.
//! Handlers are thin: read the request, call `scim`/`domain`, write the response.

mod auth;
mod body;
mod discovery;
mod error;
mod groups;
mod health;
mod management;
mod oauth;
mod params;
mod response;
mod search;
mod users;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};

use crate::scim::list::PageLimits;
use crate::store::Store;

pub use error::not_found_fallback;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    pub page_limits: PageLimits,
    /// Most operations accepted in one PATCH request.
    pub max_patch_operations: usize,
    /// Public base URL of the service (scheme, host, optional path prefix), used in
    /// `meta.location`; derived from each request's Host header when unset.
    pub public_url: Option<String>,
}

/// Shared state of every worker.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: HttpSettings,
    /// Verified bearer tokens, shared by all workers.
    pub tokens: std::sync::Arc<crate::auth::TokenCache>,
}

impl AppState {
    pub fn new(store: Store, settings: HttpSettings) -> Self {
        // Revoked tokens stop working within 30 seconds on every instance.
        let tokens = crate::auth::TokenCache::new(std::time::Duration::from_secs(30), 100_000);
        AppState {
            store,
            settings,
            tokens: std::sync::Arc::new(tokens),
        }
    }
}

/// Registers every route of the service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)))
        .service(
            web::resource("/oauth2/token")
                .route(web::post().to(oauth::token))
                .default_service(web::to(error::method_not_allowed)),
        )
        .service(
            web::scope("/v1")
                .configure(management::configure)
                .default_service(web::to(error::not_found_fallback)),
        )
        .service(
            // The router tries resources in this order, and each `{id}` pattern it
            // tries costs a regex match: the busiest routes come first.
            web::scope("/scim/v2")
                .configure(users::configure)
                .configure(groups::configure)
                .configure(search::configure)
                .configure(discovery::configure)
                .default_service(web::to(error::not_found_fallback)),
        );
}

/// Starts serving on `listener`; the returned server runs until stopped.
pub fn serve(listener: TcpListener, state: AppState, workers: usize) -> std::io::Result<Server> {
    let data = web::Data::new(state);
    // Formatting an access-log line costs as much as routing the request: skip the
    // middleware altogether when its lines would be filtered out anyway.
    let access_log =
        tracing::enabled!(target: "actix_web::middleware::logger", tracing::Level::INFO);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(data.settings.max_body_bytes))
            .wrap(actix_web::middleware::Condition::new(
                access_log,
                request_logger(),
            ))
            .configure(configure)
            .default_service(web::to(error::not_found_fallback))
    })
    .workers(workers.max(1))
    .listen(listener)?
    .run();
    Ok(server)
}

fn request_logger() -> actix_web::middleware::Logger {
    actix_web::middleware::Logger::new("%a \"%r\" %s %b %Dms")
}
