//! The access log: one event per request (target `roster::access`) with the request
//! id, the tenant that authenticated, the route template, method, status and time,
//! the client's address and the request target with credential-like query values
//! redacted. With `--log-format json` each is one JSON object with these fields.

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};

use super::AppState;
use super::prometheus::RouteTemplate;
use super::request_id::RequestId;
use super::{proxy, redact};

/// The tenant a request authenticated as, in its extensions.
#[derive(Debug, Clone)]
pub struct AuthenticatedTenant(pub Arc<str>);

/// Whether access-log events would be written: when not, the middleware is left out
/// (formatting one costs about as much as routing the request).
pub fn enabled() -> bool {
    tracing::enabled!(target: "roster::access", tracing::Level::INFO)
}

/// The middleware: serves the request, then writes its event.
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let client = req
        .app_data::<web::Data<AppState>>()
        .and_then(|state| proxy::client_address(req.request(), &state.settings.trusted_proxies))
        .map(|address| address.to_string());
    let method = req.method().clone();
    let uri = req
        .uri()
        .path_and_query()
        .map_or(req.path(), |target| target.as_str());
    let uri = redact::redact_target(uri).into_owned();
    let request_id = req.extensions().get::<RequestId>().map(|id| id.0.clone());
    let answered = next.call(req).await;
    let duration_ms = started.elapsed().as_micros() as f64 / 1000.0;
    let (status, bytes) = match &answered {
        Ok(response) => (
            response.status().as_u16(),
            match response.response().body().size() {
                BodySize::Sized(bytes) => Some(bytes),
                _ => None,
            },
        ),
        Err(error) => (error.as_response_error().status_code().as_u16(), None),
    };
    let request = answered.as_ref().ok().map(ServiceResponse::request);
    let extensions = request.map(|request| request.extensions());
    let tenant_id = extensions.as_ref().and_then(|extensions| {
        extensions
            .get::<AuthenticatedTenant>()
            .map(|tenant| tenant.0.clone())
    });
    let route =
        request.and_then(|request| request.app_data::<RouteTemplate>().map(|t| t.0.clone()));
    tracing::info!(
        target: "roster::access",
        request_id = request_id.as_deref(),
        tenant_id = tenant_id.as_deref(),
        route = route.as_deref(),
        method = method.as_str(),
        uri,
        status,
        duration_ms,
        bytes,
        client = client.as_deref(),
    );
    drop(extensions);
    answered
}
